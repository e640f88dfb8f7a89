// verify: --type syscall
// bpf_loop with a callback: adds the indices 0..9 into a counter the
// caller keeps on its stack (passed as the callback's ctx); returns 45.
	r1 = 0
	*(u64 *)(r10 -8) = r1
	r1 = 10
	r2 = subprog[+7]
	r3 = r10
	r3 += -8
	r4 = 0
	call bpf_loop#181
	r0 = *(u64 *)(r10 -8)
	exit
// the callback: r1 = index, r2 = ctx (the caller's counter)
	r3 = *(u64 *)(r2 +0)
	r3 += r1
	*(u64 *)(r2 +0) = r3
	r0 = 0
	exit
