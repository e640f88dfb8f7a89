// verify: --type syscall --map array:4:8:1
// Counts its runs in slot 0 of an array map (map[fd:3]) and returns the new
// count: lookup, null check, atomic add, the classic BPF counter.
	*(u32 *)(r10 -4) = 0
	r2 = r10
	r2 += -4
	r1 = map[fd:3]
	call bpf_map_lookup_elem#1
	if r0 == 0 goto miss
	r1 = 1
	lock *(u64 *)(r0 +0) += r1
	r0 = *(u64 *)(r0 +0)
	exit
miss:
	r0 = 0
	exit
