// verify: --type syscall --map array:4:64:1
// A bounded loop over a 64-byte map value (map[fd:3]): sums its bytes. The
// loop counter bounds the variable offset, so every access is proven in
// range; clang -O2 emits this shape for `for (i = 0; i < 64; i++)`.
	*(u32 *)(r10 -4) = 0
	r2 = r10
	r2 += -4
	r1 = map[fd:3]
	call bpf_map_lookup_elem#1
	if r0 == 0 goto none
	r6 = 0
	r7 = 0
loop:
	r1 = r0
	r1 += r6
	r2 = *(u8 *)(r1 +0)
	r7 += r2
	r6 += 1
	if r6 < 64 goto loop
	r0 = r7
	exit
none:
	r0 = 0
	exit
