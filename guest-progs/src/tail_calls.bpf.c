// SPDX-License-Identifier: GPL-2.0
/*
 * tail_calls.bpf.c — tail calls through a BPF_MAP_TYPE_PROG_ARRAY that the
 * object fills itself with a `.values` initialiser (libbpf sets the slots
 * after loading the programs). Slot 1 is deliberately left empty.
 *
 *   - tc_entry: records itself in trail[0], tail-calls slot args->slot;
 *     when the slot is empty (or out of range) the call falls through and
 *     tc_entry returns 100;
 *   - tc_stage0 (slot 0): records trail[1], tail-calls slot 2, returns 1
 *     if that fails;
 *   - tc_stage2 (slot 2): records trail[2] and returns 2 + args->slot;
 *   - tc_loop (slot 3): tail-calls itself and returns how many times it
 *     ran before; the kernel allows 33 tail calls per run
 *     (MAX_TAIL_CALL_CNT), so from tc_entry with slot 3 it runs 33 times
 *     (trail[3] += 33) and the last run returns 32 more than the first.
 *
 * SEC("syscall") (test-runnable). Used by: emu/user/tests/guest_objects.rs
 * (load, verify, runs checking return values and trail[]).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct tc_args {
	__u32 slot;
	__u32 pad;
};

int tc_stage0(struct tc_args *args);
int tc_stage2(struct tc_args *args);
int tc_loop(struct tc_args *args);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int (struct tc_args *));
} chain SEC(".maps") = {
	.values = {
		[0] = (void *)&tc_stage0,
		[2] = (void *)&tc_stage2,
		[3] = (void *)&tc_loop,
	},
};

__u64 trail[4];

SEC("syscall")
int tc_entry(struct tc_args *args)
{
	__sync_fetch_and_add(&trail[0], 1);
	bpf_tail_call(args, &chain, args->slot);
	return 100;
}

SEC("syscall")
int tc_stage0(struct tc_args *args)
{
	__sync_fetch_and_add(&trail[1], 1);
	bpf_tail_call(args, &chain, 2);
	return 1;
}

SEC("syscall")
int tc_stage2(struct tc_args *args)
{
	__sync_fetch_and_add(&trail[2], 1);
	return 2 + args->slot;
}

SEC("syscall")
int tc_loop(struct tc_args *args)
{
	__u64 n = __sync_fetch_and_add(&trail[3], 1);

	bpf_tail_call(args, &chain, 3);
	return n;
}

char LICENSE[] SEC("license") = "GPL";
