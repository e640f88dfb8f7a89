// SPDX-License-Identifier: GPL-2.0
/*
 * kfuncs.bpf.c — kfunc calls through `__ksym` externs resolved against the
 * emulated kernel's vmlinux BTF: bpf_task_from_pid (KF_ACQUIRE |
 * KF_RET_NULL), bpf_task_acquire (KF_ACQUIRE | KF_RCU | KF_RET_NULL),
 * bpf_task_release (KF_RELEASE) and the RCU read-section kfuncs.
 *
 * The program `task_info` (SEC("syscall"), ctx `struct task_args`) looks
 * up the task of args->pid, reads its tgid and first comm byte (CO-RE
 * field accesses on the PTR_TO_BTF_ID), takes a second reference to read
 * its pid, releases both and returns 0; a pid with no task returns 1 and
 * leaves the outputs zero.
 *
 * Used by: emu/user/tests/guest_objects.rs (load, verify, run for the
 * current pid and for a pid with no task).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

struct task_args {
	__s32 pid;
	__s32 out_pid;
	__s32 out_tgid;
	__u32 comm0;
};

SEC("syscall")
int task_info(struct task_args *args)
{
	struct task_struct *t, *again;

	t = bpf_task_from_pid(args->pid);
	if (!t)
		return 1;
	args->out_tgid = t->tgid;
	args->comm0 = t->comm[0];
	bpf_rcu_read_lock();
	again = bpf_task_acquire(t);
	bpf_rcu_read_unlock();
	if (again) {
		args->out_pid = again->pid;
		bpf_task_release(again);
	}
	bpf_task_release(t);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
