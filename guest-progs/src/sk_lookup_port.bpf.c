// SPDX-License-Identifier: GPL-2.0
/*
 * sk_lookup_port.bpf.c — BPF_PROG_TYPE_SK_LOOKUP programs deciding by
 * destination port (`SEC("sk_lookup")`, expected attach type
 * BPF_SK_LOOKUP), without selecting a socket:
 *
 *   - drop_port: SK_DROP for connections to `blocked_port` (a `const
 *     volatile` set before load), SK_PASS otherwise;
 *   - port_verdict: looks the local port up in the hash map `verdicts`
 *     (port -> SK_PASS / SK_DROP, filled by user space); unknown ports pass.
 *     Counts decisions in `hits` (.bss).
 *
 * Both use only what the emulated kernel verifies today (ctx reads,
 * hash-map lookups). Used by: emu/user/tests/guest_objects.rs (load +
 * verify); the netns sk_lookup scenarios of issue 8 (attach with
 * BPF_LINK_CREATE on a netns fd).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile __u32 blocked_port = 7007;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} verdicts SEC(".maps");

__u64 hits[2];

SEC("sk_lookup")
int drop_port(struct bpf_sk_lookup *ctx)
{
	if (ctx->local_port == blocked_port)
		return SK_DROP;
	return SK_PASS;
}

SEC("sk_lookup")
int port_verdict(struct bpf_sk_lookup *ctx)
{
	__u32 port = ctx->local_port;
	__u32 *verdict = bpf_map_lookup_elem(&verdicts, &port);
	int ret = SK_PASS;

	if (verdict && *verdict == SK_DROP)
		ret = SK_DROP;
	__sync_fetch_and_add(&hits[ret], 1);
	return ret;
}

char LICENSE[] SEC("license") = "GPL";
