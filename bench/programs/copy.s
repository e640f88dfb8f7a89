// Copies bytes [0, 1024) of the buffer at r1 (at least 2048 bytes long)
// into [1024, 2048), one byte at a time; returns the sum of the copied bytes.
// Benchmark program "copy": loads and stores through a pointer.
	r3 = 1024
	r4 = 0
	r0 = 0
loop:
	if r4 >= r3 goto done
	r5 = r1
	r5 += r4
	r6 = *(u8 *)(r5 + 0)
	r7 = r5
	r7 += r3
	*(u8 *)(r7 + 0) = r6
	r0 += r6
	r4 += 1
	goto loop
done:
	exit
