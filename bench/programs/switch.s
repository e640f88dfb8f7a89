// A branchy loop: 100000 iterations of an 8-way compare chain ("switch")
// on the loop counter, each case updating r0 differently.
// Benchmark program "switch": many taken and untaken conditional jumps.
	r0 = 0
	r1 = 0
loop:
	r2 = r1
	r2 &= 7
	if r2 == 0 goto c0
	if r2 == 1 goto c1
	if r2 == 2 goto c2
	if r2 == 3 goto c3
	if r2 == 4 goto c4
	if r2 == 5 goto c5
	if r2 == 6 goto c6
	r0 ^= r1
	goto next
c0:
	r0 += r1
	goto next
c1:
	r0 -= 3
	goto next
c2:
	r0 *= 3
	goto next
c3:
	r0 ^= 21845
	goto next
c4:
	r0 <<= 1
	goto next
c5:
	r0 >>= 2
	goto next
c6:
	r0 |= r1
next:
	r1 += 1
	if r1 < 100000 goto loop
	exit
