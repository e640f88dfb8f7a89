// verify: --type syscall --map hash:4:8:64
// Reads a u32 key and a u64 amount from its ctx (needs 16 bytes of ctx),
// adds the amount to the hash map (map[fd:3]) entry of the key, creating
// it when missing; returns the new total, or the update's error.
	r6 = r1
	r1 = *(u32 *)(r6 +0)
	*(u32 *)(r10 -4) = r1
	r7 = *(u64 *)(r6 +8)
	r2 = r10
	r2 += -4
	r1 = map[fd:3]
	call bpf_map_lookup_elem#1
	if r0 == 0 goto create
	lock *(u64 *)(r0 +0) += r7
	r0 = *(u64 *)(r0 +0)
	exit
create:
	*(u64 *)(r10 -16) = r7
	r2 = r10
	r2 += -4
	r3 = r10
	r3 += -16
	r1 = map[fd:3]
	r4 = 1
	call bpf_map_update_elem#2
	if r0 != 0 goto out
	r0 = r7
out:
	exit
