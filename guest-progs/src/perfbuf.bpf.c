// SPDX-License-Identifier: GPL-2.0
/*
 * perfbuf.bpf.c — BPF_MAP_TYPE_PERF_EVENT_ARRAY producers using
 * bpf_perf_event_output() with BPF_F_CURRENT_CPU (the record goes to the
 * perf buffer of the CPU the program runs on):
 *
 *   - perf_event:  one `struct perf_sample` per run (tag from the ctx);
 *   - perf_bench:  a batch of `batch_cnt` 8-byte records per run, plain
 *                  bounded loop (the perf-buffer side of the bench);
 *   - perf_kprobe: the classic tracing producer, a kprobe on
 *                  do_sys_openat2 (BPF_KPROBE() from <bpf/bpf_tracing.h>
 *                  reads the arguments from struct pt_regs) sending the
 *                  dfd argument and the pid.
 *
 * perf_event and perf_bench are raw tracepoint programs on sys_enter
 * (the tag is the tracepoint's first argument): not SEC("syscall"), whose
 * programs libbpf loads sleepable, and sleepable programs may not use a
 * perf event array (check_map_prog_compatibility(): "Sleepable programs
 * can only use array, hash, ringbuf and local storage maps"). `samples`
 * leaves max_entries out, as most programs do: libbpf sizes a perf event
 * array to the number of possible CPUs.
 * Used by: emu/user/tests/guest_objects.rs (load, verify, program types).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MAX_BATCH 1024

struct perf_sample {
	__u64 tag;
	__u32 pid;
	__u32 cpu;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} samples SEC(".maps");

const volatile __u32 batch_cnt = 100;

long sent;
long lost;

SEC("raw_tp/sys_enter")
int perf_event(__u64 *args)
{
	struct perf_sample s = {
		.tag = args[0],
		.pid = bpf_get_current_pid_tgid() >> 32,
		.cpu = bpf_get_smp_processor_id(),
	};

	if (bpf_perf_event_output(args, &samples, BPF_F_CURRENT_CPU, &s, sizeof(s))) {
		__sync_fetch_and_add(&lost, 1);
		return -1;
	}
	__sync_fetch_and_add(&sent, 1);
	return 0;
}

SEC("raw_tp/sys_enter")
int perf_bench(void *ctx)
{
	__u32 i;

	for (i = 0; i < batch_cnt && i < MAX_BATCH; i++) {
		__u64 rec = i;

		if (bpf_perf_event_output(ctx, &samples, BPF_F_CURRENT_CPU, &rec, sizeof(rec)))
			__sync_fetch_and_add(&lost, 1);
		else
			__sync_fetch_and_add(&sent, 1);
	}
	return 0;
}

SEC("kprobe/do_sys_openat2")
int BPF_KPROBE(perf_kprobe, int dfd, const char *filename)
{
	struct perf_sample s = {
		.tag = (__u32)dfd,
		.pid = bpf_get_current_pid_tgid() >> 32,
		.cpu = bpf_get_smp_processor_id(),
	};

	if (bpf_perf_event_output(ctx, &samples, BPF_F_CURRENT_CPU, &s, sizeof(s)))
		__sync_fetch_and_add(&lost, 1);
	else
		__sync_fetch_and_add(&sent, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
