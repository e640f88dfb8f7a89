// SPDX-License-Identifier: GPL-2.0
/*
 * dynptr.bpf.c — dynptrs from C (libbpf's struct bpf_dynptr and helper
 * declarations against the emulated kernel's vmlinux.h):
 *
 *   - dp_ringbuf: bpf_ringbuf_reserve_dynptr() of a struct dp_event,
 *                 bpf_dynptr_write() of its tag, the rest through a
 *                 bpf_dynptr_data() slice, then submit or discard (the
 *                 caller's args->discard); a failed reservation still
 *                 goes to submit (the dynptr is null then);
 *   - dp_local:   bpf_dynptr_from_mem() over the array map's value, a
 *                 write at args->off and a read back (-E2BIG beyond the
 *                 value's 16 bytes).
 *
 * SEC("syscall") programs driven by BPF_PROG_TEST_RUN with a struct
 * dp_args context.
 * Used by: emu/user/tests/guest_objects.rs (dynptr_object_writes_records_and_values).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct dp_args {
	__u64 tag;
	__u32 discard;
	__u32 off;
};

struct dp_event {
	__u64 tag;
	__u64 magic;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64[2]);
} vals SEC(".maps");

SEC("syscall")
int dp_ringbuf(struct dp_args *args)
{
	struct bpf_dynptr ptr;
	__u64 tag = args->tag;
	__u64 *magic;
	long err;

	err = bpf_ringbuf_reserve_dynptr(&events, sizeof(struct dp_event), 0, &ptr);
	if (!err)
		err = bpf_dynptr_write(&ptr, 0, &tag, sizeof(tag), 0);
	magic = bpf_dynptr_data(&ptr, 8, sizeof(*magic));
	if (magic)
		*magic = 0xd1d1;
	if (args->discard)
		bpf_ringbuf_discard_dynptr(&ptr, 0);
	else
		bpf_ringbuf_submit_dynptr(&ptr, 0);
	return err;
}

SEC("syscall")
int dp_local(struct dp_args *args)
{
	struct bpf_dynptr ptr;
	__u64 tag = args->tag, back = 0;
	__u32 key = 0;
	__u64 *v;
	long err;

	v = bpf_map_lookup_elem(&vals, &key);
	if (!v)
		return -1;
	bpf_dynptr_from_mem(v, 2 * sizeof(__u64), 0, &ptr);
	err = bpf_dynptr_write(&ptr, args->off, &tag, sizeof(tag), 0);
	if (err)
		return err;
	err = bpf_dynptr_read(&back, sizeof(back), &ptr, args->off, 0);
	if (err)
		return err;
	return back == tag ? 0 : 1;
}

char LICENSE[] SEC("license") = "GPL";
