// SPDX-License-Identifier: GPL-2.0
/*
 * global_data.bpf.c — global variables in every data section libbpf maps
 * to array maps, and subprograms:
 *
 *   - .rodata: `const volatile` configuration (`scale`, `offset`), a
 *     constant table (`primes`) and a function-static string (`greeting`);
 *   - .data: initialised variables (`counter` = 42, `weights`);
 *   - .bss: zero-initialised variables (`calls`, `last`);
 *   - .data.custom: a variable in a named data section (`custom` = 7).
 *
 * The program `globals` (SEC("syscall"), ctx `struct gd_args`) reads them
 * all through static `__noinline` subprograms (bpf2bpf calls) and inline
 * helpers, writes the results into `last` and the ctx, and returns
 * scale * args->x + offset. With the initial values (scale 3, offset 5):
 * globals({x = 2}) returns 11, sets last.counter = 43 (42 + 1 per run),
 * last.weight_sum = 10, last.prime = primes[x & 7] = 5, last.custom = 7,
 * last.greeting_len = 6.
 *
 * Used by: emu/user/tests/guest_objects.rs (load, verify, run, read the
 * .bss/.data maps back).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct gd_args {
	__u64 x;
	__u64 result;
};

struct gd_result {
	__u64 counter;
	__u64 weight_sum;
	__u64 prime;
	__u64 custom;
	__u64 greeting_len;
	__u64 scaled;
};

const volatile __u64 scale = 3;
const volatile __u64 offset = 5;
const __u64 primes[8] = { 2, 3, 5, 7, 11, 13, 17, 19 };

__u64 counter = 42;
__u64 weights[4] = { 1, 2, 3, 4 };

__u64 calls;
struct gd_result last;

__u64 custom SEC(".data.custom") = 7;

static __noinline __u64 scaled(__u64 x)
{
	return x * scale + offset;
}

static __noinline __u64 weight_sum(void)
{
	__u64 sum = 0;
	int i;

	for (i = 0; i < 4; i++)
		sum += weights[i];
	return sum;
}

static __noinline __u64 str_len(const char *s, __u32 max)
{
	__u32 i;

	for (i = 0; i < max; i++)
		if (!s[i])
			break;
	return i;
}

SEC("syscall")
int globals(struct gd_args *args)
{
	static const char greeting[] = "bpfemu";
	__u64 x = args->x;

	calls++;
	counter++;
	last.counter = counter;
	last.weight_sum = weight_sum();
	last.prime = primes[x & 7];
	last.custom = custom;
	last.greeting_len = str_len(greeting, sizeof(greeting));
	last.scaled = scaled(x);
	args->result = last.scaled;
	return last.scaled;
}

char LICENSE[] SEC("license") = "GPL";
