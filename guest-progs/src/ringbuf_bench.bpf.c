// SPDX-License-Identifier: GPL-2.0
/*
 * ringbuf_bench.bpf.c — the ring-buffer benchmark producer: each run emits
 * a batch of `batch_cnt` 8-byte records (the counter value) into the ring
 * buffer `rb`, with a plain bounded loop (no bpf_loop), counting records
 * written (`hits`) and refused for lack of space (`drops`).
 *
 *   - bench_reserve: bpf_ringbuf_reserve() + bpf_ringbuf_submit() per record;
 *   - bench_output:  bpf_ringbuf_output() of a stack copy per record.
 *
 * `batch_cnt` (<= MAX_BATCH) and `wakeup_flags` are `const volatile`,
 * fixed before load. SEC("syscall") so the bench harness runs it with
 * BPF_PROG_TEST_RUN (the kernel's own bench attaches to a syscall entry
 * instead). NOT LOADABLE YET (no RINGBUF map).
 * Used by: emu/user/tests/guest_objects.rs (allowlist); meant for issue
 * 9's `bench` command.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define MAX_BATCH 1024

const volatile __u32 batch_cnt = 100;
const volatile __u64 wakeup_flags = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

long hits;
long drops;

SEC("syscall")
int bench_reserve(void *ctx)
{
	__u32 i;

	for (i = 0; i < batch_cnt && i < MAX_BATCH; i++) {
		__u64 *rec = bpf_ringbuf_reserve(&rb, sizeof(*rec), 0);

		if (!rec) {
			__sync_fetch_and_add(&drops, 1);
			continue;
		}
		*rec = i;
		bpf_ringbuf_submit(rec, wakeup_flags);
		__sync_fetch_and_add(&hits, 1);
	}
	return 0;
}

SEC("syscall")
int bench_output(void *ctx)
{
	__u32 i;

	for (i = 0; i < batch_cnt && i < MAX_BATCH; i++) {
		__u64 rec = i;

		if (bpf_ringbuf_output(&rb, &rec, sizeof(rec), wakeup_flags)) {
			__sync_fetch_and_add(&drops, 1);
			continue;
		}
		__sync_fetch_and_add(&hits, 1);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
