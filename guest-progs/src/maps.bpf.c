// SPDX-License-Identifier: GPL-2.0
/*
 * maps.bpf.c — map users: hash, array, per-CPU array, per-CPU hash and LRU
 * hash maps driven by SEC("syscall") programs (BPF_PROG_TEST_RUN with a
 * `struct map_op` context; results go back into the context and into
 * globals):
 *
 *   - hash_update / hash_lookup / hash_delete: one map operation on `hash`
 *     (u32 -> u64), return value = the helper's result;
 *   - array_add: atomically adds op->value to `array[op->key]`;
 *   - percpu_add: adds op->value to this CPU's slot of `pcpu_array[op->key]`
 *     and mirrors it into `pcpu_hash` (created when missing);
 *   - lru_touch: inserts op->key into the 4-entry `lru` hash;
 *   - hash_sum: bpf_for_each_map_elem() over `hash`, summing values whose
 *     key is >= op->key into op->value; returns the number of elements
 *     visited (the helper's return);
 *   - hash_sum_stop: same walk, stopping after op->key elements (the
 *     callback returns 1).
 *
 * Used by: emu/user/tests/guest_objects.rs (load, verify, and runs of
 * hash_update / hash_lookup / hash_sum / array_add checked against map
 * contents).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct map_op {
	__u32 key;
	__u32 found;
	__u64 value;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} pcpu_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} pcpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} lru SEC(".maps");

SEC("syscall")
int hash_update(struct map_op *op)
{
	__u32 key = op->key;
	__u64 value = op->value;

	return bpf_map_update_elem(&hash, &key, &value, BPF_ANY);
}

SEC("syscall")
int hash_lookup(struct map_op *op)
{
	__u32 key = op->key;
	__u64 *value = bpf_map_lookup_elem(&hash, &key);

	if (!value) {
		op->found = 0;
		return -2; /* -ENOENT */
	}
	op->found = 1;
	op->value = *value;
	return 0;
}

SEC("syscall")
int hash_delete(struct map_op *op)
{
	__u32 key = op->key;

	return bpf_map_delete_elem(&hash, &key);
}

SEC("syscall")
int array_add(struct map_op *op)
{
	__u32 key = op->key;
	__u64 *slot = bpf_map_lookup_elem(&array, &key);

	if (!slot)
		return -7; /* -E2BIG: index out of range */
	__sync_fetch_and_add(slot, op->value);
	op->value = *slot;
	return 0;
}

SEC("syscall")
int percpu_add(struct map_op *op)
{
	__u32 key = op->key;
	__u64 *slot = bpf_map_lookup_elem(&pcpu_array, &key);
	__u64 *mirror;

	if (!slot)
		return -7;
	*slot += op->value;
	mirror = bpf_map_lookup_elem(&pcpu_hash, &key);
	if (mirror) {
		*mirror = *slot;
		return 0;
	}
	return bpf_map_update_elem(&pcpu_hash, &key, slot, BPF_NOEXIST);
}

SEC("syscall")
int lru_touch(struct map_op *op)
{
	__u32 key = op->key;
	__u64 value = op->value;

	return bpf_map_update_elem(&lru, &key, &value, BPF_ANY);
}

struct sum_ctx {
	__u32 min_key;
	__u32 left;	/* elements still to visit; 0: all of them */
	__u64 sum;
};

/*
 * Since Linux 6.7 the verifier walks the callback once per possible call,
 * each time from the state the previous call left, until the states repeat.
 * A count compared with the limit would stay exact (the comparison makes it
 * precise) and never repeat; a countdown of an unknown start does not.
 */
static long add_value(void *map, __u32 *key, __u64 *value, struct sum_ctx *sc)
{
	if (*key >= sc->min_key)
		sc->sum += *value;
	if (sc->left && --sc->left == 0)
		return 1;
	return 0;
}

SEC("syscall")
int hash_sum(struct map_op *op)
{
	struct sum_ctx sc = { .min_key = op->key };
	long n = bpf_for_each_map_elem(&hash, add_value, &sc, 0);

	op->value = sc.sum;
	return n;
}

SEC("syscall")
int hash_sum_stop(struct map_op *op)
{
	struct sum_ctx sc = { .left = op->key };
	long n = bpf_for_each_map_elem(&hash, add_value, &sc, 0);

	op->value = sc.sum;
	return n;
}

char LICENSE[] SEC("license") = "GPL";
