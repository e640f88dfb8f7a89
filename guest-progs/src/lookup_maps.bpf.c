// SPDX-License-Identifier: GPL-2.0
/*
 * lookup_maps.bpf.c — the key-less and prefix maps: an LPM trie of IPv4
 * routes, a queue and a stack of u32 values, and a bloom filter:
 *
 *   - route (XDP): longest-prefix lookup of the packet's IPv4 destination
 *     in `routes`; `last_route` = the route's value, XDP_PASS, or
 *     XDP_DROP without a route (or for a frame too short);
 *   - seen (XDP): bloom filter test-and-add of the IPv4 source:
 *     `was_seen` = whether it was (maybe) already in `seen_values`;
 *   - queue_push / stack_push (syscall, `struct lm_op` ctx):
 *     bpf_map_push_elem(op->value, op->flags);
 *   - queue_pop / stack_pop: bpf_map_pop_elem into op->value.
 *
 * The LPM trie and the bloom filter are used from XDP programs because
 * SEC("syscall") programs are loaded sleepable and sleepable programs may
 * only use array, hash, ring buffer, local storage, queue and stack maps
 * (check_map_prog_compatibility()).
 *
 * Used by: emu/user/tests/guest_objects.rs (load, verify, and runs of
 * every program checked against the map contents).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* enum xdp_action (uapi); the emulated kernel's BTF does not carry it. */
#define XDP_DROP 1
#define XDP_PASS 2

struct lm_op {
	__u32 value;
	__u32 flags;
};

__u32 last_route;
__u32 was_seen;

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

/* The IPv4 header of an Ethernet frame, or NULL if the frame is short. */
static __always_inline struct iphdr *ipv4(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);

	if ((void *)(ip + 1) > end)
		return NULL;
	return ip;
}

SEC("xdp")
int route(struct xdp_md *ctx)
{
	struct iphdr *ip = ipv4(ctx);
	struct route_key key = { .prefixlen = 32 };
	__u32 *v;

	if (!ip)
		return XDP_DROP;
	key.addr = ip->daddr;
	v = bpf_map_lookup_elem(&routes, &key);
	if (!v)
		return XDP_DROP;
	last_route = *v;
	return XDP_PASS;
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

SEC("xdp")
int seen(struct xdp_md *ctx)
{
	struct iphdr *ip = ipv4(ctx);
	__u32 v;

	if (!ip)
		return XDP_DROP;
	v = ip->saddr;
	was_seen = bpf_map_peek_elem(&seen_values, &v) == 0;
	bpf_map_push_elem(&seen_values, &v, BPF_ANY);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
