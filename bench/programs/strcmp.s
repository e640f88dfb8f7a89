// Compares bytes [0, 256) of the buffer at r1 with bytes [256, 512), one
// byte at a time; returns the index of the first difference, or 256 when
// the two halves are equal (they are for the benchmark's buffer).
// Benchmark program "strcmp": two loads and a compare per byte.
	r0 = 0
loop:
	if r0 >= 256 goto done
	r2 = r1
	r2 += r0
	r3 = *(u8 *)(r2 + 0)
	r4 = *(u8 *)(r2 + 256)
	if r3 != r4 goto done
	r0 += 1
	goto loop
done:
	exit
