// SPDX-License-Identifier: GPL-2.0
/*
 * raw_tp.bpf.c — a raw_tracepoint program and a tp_btf program on the
 * bpf_test_finish tracepoint (include/trace/events/bpf_test_run.h,
 * TP_PROTO(int *err)), which net/bpf/test_run.c fires at the end of a
 * BPF_PROG_TEST_RUN of an skb, XDP or flow dissector program, and an XDP
 * program to fire it with. counts[0] counts the raw_tracepoint program's
 * runs, counts[1] sums the *err it read, counts[2] counts the tp_btf
 * program's runs.
 *
 * Used by: emu/user/tests/guest_objects.rs (loaded: SEC("tp_btf/...")
 * resolves the btf_trace_bpf_test_finish typedef; attached with
 * BPF_RAW_TRACEPOINT_OPEN and BPF_LINK_CREATE; fired by test runs of
 * pass).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __s64);
} counts SEC(".maps");

static __always_inline void add(__u32 slot, __s64 v)
{
	__s64 *c = bpf_map_lookup_elem(&counts, &slot);

	if (c)
		__sync_fetch_and_add(c, v);
}

SEC("raw_tp/bpf_test_finish")
int count_raw(unsigned long long *ctx)
{
	int err = 0;

	bpf_probe_read_kernel(&err, sizeof(err), (void *)ctx[0]);
	add(0, 1);
	add(1, err);
	return 0;
}

SEC("tp_btf/bpf_test_finish")
int count_btf(unsigned long long *ctx)
{
	add(2, 1);
	return 0;
}

SEC("xdp")
int pass(struct xdp_md *ctx)
{
	return 2; /* XDP_PASS */
}

char LICENSE[] SEC("license") = "GPL";
