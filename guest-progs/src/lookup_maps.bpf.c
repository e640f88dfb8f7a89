// SPDX-License-Identifier: GPL-2.0
/*
 * lookup_maps.bpf.c — the key-less and prefix maps: an LPM trie of IPv4
 * routes, a queue and a stack of u32 values, and a bloom filter, driven
 * by SEC("syscall") programs (BPF_PROG_TEST_RUN with a `struct lm_op`
 * context; results go back into the context):
 *
 *   - route: longest-prefix lookup of op->addr (network order) in `routes`;
 *     op->value = the route's value, return 0, or -1 without a route;
 *   - queue_push / stack_push: bpf_map_push_elem(op->value, op->flags);
 *   - queue_pop / stack_pop: bpf_map_pop_elem into op->value;
 *   - seen: bloom filter test-and-add: op->found = whether op->value was
 *     (maybe) already in `seen_values`, then it is added.
 *
 * Used by: emu/user/tests/guest_objects.rs (load, verify, and runs of
 * every program checked against the map contents).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct lm_op {
	__u32 addr;
	__u32 value;
	__u32 flags;
	__u32 found;
};

struct route_key {
	__u32 prefixlen;
	__u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct route_key);
	__type(value, __u32);
} routes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 4);
	__type(value, __u32);
} fifo SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 4);
	__type(value, __u32);
} lifo SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 64);
	__uint(map_extra, 3);
	__type(value, __u32);
} seen_values SEC(".maps");

SEC("syscall")
int route(struct lm_op *op)
{
	struct route_key key = { .prefixlen = 32, .addr = op->addr };
	__u32 *v = bpf_map_lookup_elem(&routes, &key);

	if (!v)
		return -1;
	op->value = *v;
	return 0;
}

static __always_inline int push(void *map, struct lm_op *op)
{
	__u32 v = op->value;

	return bpf_map_push_elem(map, &v, op->flags);
}

static __always_inline int pop(void *map, struct lm_op *op)
{
	__u32 v;
	long err = bpf_map_pop_elem(map, &v);

	op->value = v;
	return err;
}

SEC("syscall")
int queue_push(struct lm_op *op)
{
	return push(&fifo, op);
}

SEC("syscall")
int queue_pop(struct lm_op *op)
{
	return pop(&fifo, op);
}

SEC("syscall")
int stack_push(struct lm_op *op)
{
	return push(&lifo, op);
}

SEC("syscall")
int stack_pop(struct lm_op *op)
{
	return pop(&lifo, op);
}

SEC("syscall")
int seen(struct lm_op *op)
{
	__u32 v = op->value;

	op->found = bpf_map_peek_elem(&seen_values, &v) == 0;
	return bpf_map_push_elem(&seen_values, &v, BPF_ANY);
}

char LICENSE[] SEC("license") = "GPL";
