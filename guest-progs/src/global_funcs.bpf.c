// SPDX-License-Identifier: GPL-2.0
/*
 * global_funcs.bpf.c — a global (non-static) BPF function next to a static
 * one. The kernel verifies a global function once, on its own, from its
 * BTF prototype (func_info), and checks calls to it against that
 * prototype; a static function is verified inline per call site.
 *
 *   - clamp_add (global, __noinline): a + b clamped to [0, limit];
 *   - twice (static, __noinline): 2 * v;
 *   - use_funcs (SEC("syscall"), ctx `struct gf_args`): returns
 *     twice(clamp_add(a, b, limit)); for {a = 40, b = 30, limit = 50}: 100.
 *
 * Used by: emu/user/tests/guest_objects.rs (load, verify, run).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct gf_args {
	__s32 a;
	__s32 b;
	__s32 limit;
	__s32 pad;
};

__noinline int clamp_add(int a, int b, int limit)
{
	int s = a + b;

	if (s < 0)
		return 0;
	if (s > limit)
		return limit;
	return s;
}

static __noinline int twice(int v)
{
	return v * 2;
}

SEC("syscall")
int use_funcs(struct gf_args *args)
{
	return twice(clamp_add(args->a, args->b, args->limit));
}

char LICENSE[] SEC("license") = "GPL";
