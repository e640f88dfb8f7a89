// SPDX-License-Identifier: GPL-2.0
/*
 * ringbuf.bpf.c — BPF_MAP_TYPE_RINGBUF producers, one program per API:
 *
 *   - rb_submit:  bpf_ringbuf_reserve() + bpf_ringbuf_submit();
 *   - rb_discard: reserve, then bpf_ringbuf_discard() when the caller asks
 *                 (args->discard), submit otherwise;
 *   - rb_output:  bpf_ringbuf_output() of a stack copy, with the wakeup
 *                 flag given by the caller (0, BPF_RB_NO_WAKEUP or
 *                 BPF_RB_FORCE_WAKEUP);
 *   - rb_query:   bpf_ringbuf_query() of BPF_RB_AVAIL_DATA, RING_SIZE,
 *                 CONS_POS and PROD_POS into the global `query`.
 *
 * All are SEC("syscall") so BPF_PROG_TEST_RUN can drive them with a
 * `struct rb_args` context. NOT LOADABLE YET: the emulated kernel has no
 * ring buffer (BPF_MAP_CREATE answers EINVAL for RINGBUF).
 * Used by: emu/user/tests/guest_objects.rs (allowlist); meant for issue
 * 9's ring-buffer scenarios.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct rb_args {
	__u64 tag;
	__u32 discard;
	__u32 wakeup;
};

struct rb_event {
	__u64 seq;
	__u64 tag;
	__u32 pid;
	__u32 cpu;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 4096);
} events SEC(".maps");

__u64 seq;
__u64 dropped;
__u64 query[4];

static __always_inline void fill(struct rb_event *e, __u64 tag)
{
	e->seq = __sync_fetch_and_add(&seq, 1);
	e->tag = tag;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->cpu = bpf_get_smp_processor_id();
}

SEC("syscall")
int rb_submit(struct rb_args *args)
{
	struct rb_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&dropped, 1);
		return -1;
	}
	fill(e, args->tag);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("syscall")
int rb_discard(struct rb_args *args)
{
	struct rb_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&dropped, 1);
		return -1;
	}
	fill(e, args->tag);
	if (args->discard) {
		bpf_ringbuf_discard(e, 0);
		return 1;
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("syscall")
int rb_output(struct rb_args *args)
{
	struct rb_event e = {};

	fill(&e, args->tag);
	if (bpf_ringbuf_output(&events, &e, sizeof(e), args->wakeup)) {
		__sync_fetch_and_add(&dropped, 1);
		return -1;
	}
	return 0;
}

SEC("syscall")
int rb_query(void *ctx)
{
	query[0] = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	query[1] = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE);
	query[2] = bpf_ringbuf_query(&events, BPF_RB_CONS_POS);
	query[3] = bpf_ringbuf_query(&events, BPF_RB_PROD_POS);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
