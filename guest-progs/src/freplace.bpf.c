// SPDX-License-Identifier: GPL-2.0
/*
 * freplace.bpf.c — an extension program (BPF_PROG_TYPE_EXT) for
 * global_funcs.bpf.o: new_clamp_add replaces that object's global
 * function clamp_add(a, b, limit) while linked, returning a * b + limit
 * instead, so use_funcs({a = 40, b = 30, limit = 50}) returns
 * twice(1250) = 2500 (100 before the link and after it is closed).
 *
 * Used by: emu/user/tests/guest_objects.rs (loaded with the target set by
 * set_attach_target_prog to use_funcs of global_funcs.bpf.o, linked,
 * run).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("freplace/clamp_add")
int new_clamp_add(int a, int b, int limit)
{
	return a * b + limit;
}

char LICENSE[] SEC("license") = "GPL";
