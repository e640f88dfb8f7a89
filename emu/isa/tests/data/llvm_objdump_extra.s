# Instructions llvm-mc 14 cannot assemble, in bpfemu's kernel syntax.
# tests/llvm_mc.rs assembles them with bpfemu, wraps the bytes in `.quad`
# directives for llvm-mc, and compares llvm-objdump's text with bpfemu's
# Llvm-syntax disassembly: exactly where LLVM 14 knows the form, skipped
# where it prints `<unknown>`, and reported (not failed) for the documented
# deviations listed in tests/llvm_mc.rs.

# atomics with a result: llvm-objdump 14 prints them, llvm-mc 14 cannot parse them
r1 = atomic64_fetch_add((u64 *)(r10 -8), r1)
r2 = atomic64_fetch_or((u64 *)(r3 +16), r2)
r4 = atomic64_fetch_and((u64 *)(r5 -32768), r4)
r6 = atomic64_fetch_xor((u64 *)(r7 +32767), r6)
r1 = atomic64_xchg((u64 *)(r10 -8), r1)
r0 = atomic64_cmpxchg((u64 *)(r10 -8), r0, r1)
r1 = atomic_fetch_add((u32 *)(r10 -4), r1)
r2 = atomic_fetch_or((u32 *)(r3 +0), r2)
r4 = atomic_fetch_and((u32 *)(r5 -4), r4)
r6 = atomic_fetch_xor((u32 *)(r7 +4), r6)
r1 = atomic_xchg((u32 *)(r10 -4), r1)
r0 = atomic_cmpxchg((u32 *)(r2 +0), r0, r3)
lock *(u32 *)(r10 -4) |= r1

# pseudo 64-bit loads: `ld_pseudo`, printable when the second slot is 0
r1 = map[fd:3]
r2 = map[fd:4][0]+0
r3 = btf_id[77]
r4 = subprog[+5]
r5 = map[idx:1]
r6 = map[idx:2]+0

# Forms LLVM 14 does not know (it prints `<unknown>`)
r1 %= r2
w1 %= 3
if r1 & 0x7 goto pc+3
if w1 & w2 goto pc-3
*(u32 *)(r1 +4) = 5
*(u64 *)(r10 -8) = -1
r0 = *(s8 *)(r1 +0)
r1 = bswap16 r1
gotol pc+100000

# Deviations: LLVM 14 prints these differently (reported, see tests/llvm_mc.rs)
r1 s/= r2
w1 s%= 3
r1 = (s8)r2
w1 = (s16)w2
call pc+5
call kernel-function#1234
callx r2
r0 = *(u16 *)skb[r7 + 2]
r1 = map[fd:3][0]+16
r1 = btf_id[77][btf_fd:4]
r1 = map[idx:1]+8
