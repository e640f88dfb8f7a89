// SPDX-License-Identifier: GPL-2.0
/*
 * lsm.bpf.c — a BPF LSM program (SEC("lsm/..."), BPF_PROG_TYPE_LSM,
 * BPF_LSM_MAC) on the bpf syscall's own hook bpf_lsm_bpf_map_create:
 * while linked, BPF_MAP_CREATE of a map of type denied_map_type (hash
 * unless the loader changes .rodata) fails with -EPERM; every call of the
 * hook is counted in calls (.bss).
 *
 * Used by: emu/user/tests/guest_objects.rs (loaded, attached with
 * Program::attach, maps created through the kernel's bpf(), link
 * destroyed).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define EPERM 1

const volatile __u32 denied_map_type = BPF_MAP_TYPE_HASH;
__u64 calls = 0;

SEC("lsm/bpf_map_create")
int BPF_PROG(deny_map_type, struct bpf_map *map, union bpf_attr *attr,
	     struct bpf_token *token, bool kernel)
{
	__sync_fetch_and_add(&calls, 1);
	if (attr->map_type == denied_map_type)
		return -EPERM;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
