// SPDX-License-Identifier: GPL-2.0
/*
 * sk_lookup_steer.bpf.c — a BPF_PROG_TYPE_SK_LOOKUP program that steers
 * connections for a port range to one listening socket, written to the
 * real kernel API: the socket sits in a BPF_MAP_TYPE_SOCKMAP (slot 0, put
 * there by user space), the program looks it up, selects it with
 * bpf_sk_assign() and releases its reference with bpf_sk_release().
 *
 * Loads on the emulated kernel (SOCKMAP in emu/kernel/src/map/sockmap.rs,
 * bpf_sk_assign / bpf_sk_release for sk_lookup programs).
 * Used by: emu/user/tests/guest_objects.rs (loads, attach type, and
 * sk_lookup_steer_object_steers_a_port_range_through_its_sockmap, which
 * attaches it to a namespace and checks the steering).
 *
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile __u32 first_port = 8000;
const volatile __u32 last_port = 8099;

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} target SEC(".maps");

SEC("sk_lookup")
int steer(struct bpf_sk_lookup *ctx)
{
	struct bpf_sock *sk;
	__u32 slot = 0;
	long err;

	if (ctx->local_port < first_port || ctx->local_port > last_port)
		return SK_PASS; /* not ours: regular lookup */

	sk = bpf_map_lookup_elem(&target, &slot);
	if (!sk)
		return SK_DROP; /* no service socket registered */
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	return err ? SK_DROP : SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
