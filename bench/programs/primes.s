// Counts the primes below 10000 by trial division; returns the count (1229).
// Benchmark program "primes": a tight arithmetic loop with mod and mul.
	r0 = 0
	r1 = 2
outer:
	r2 = 2
inner:
	r3 = r2
	r3 *= r2
	if r3 > r1 goto is_prime
	r4 = r1
	r4 %= r2
	if r4 == 0 goto next
	r2 += 1
	goto inner
is_prime:
	r0 += 1
next:
	r1 += 1
	if r1 < 10000 goto outer
	exit
