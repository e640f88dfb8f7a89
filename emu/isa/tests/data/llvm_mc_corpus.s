# Every instruction form LLVM 14's BPF assembler (llvm-mc -triple bpfel
# -mattr=+alu32) accepts, in its own syntax. tests/llvm_mc.rs assembles this
# file with llvm-mc and with bpfemu's kernel-syntax assembler and compares
# the bytes; llvm-objdump's text of the result is compared with bpfemu's
# Llvm-syntax disassembly.
#
# Not here, because LLVM 14 does not know them (see tests/disasm_roundtrip.rs):
# ISA v4 (sdiv/smod, movsx, ldsx, bswap, gotol, BPF_ST immediate stores),
# BPF_MOD (`%=`), BPF_JSET (`&`), callx, and the atomics with a result
# (atomic_fetch_*, xchg, cmpxchg), which llvm-mc 14 prints but cannot parse;
# tests/data/llvm_objdump_extra.s covers those for the disassembler.

# ALU64, immediate and register
r0 += 1
r1 += r3
r1 -= -1
r2 -= r4
r2 *= 7
r3 *= r5
r3 /= 2147483647
r4 /= r6
r4 |= -2147483648
r5 |= r7
r5 &= 0
r6 &= r8
r6 <<= 3
r7 <<= r9
r7 >>= 63
r8 >>= r10
r8 s>>= 5
r9 s>>= r0
r9 ^= 85
r10 ^= r1
r0 = 42
r0 = r2
r0 = 0xffffffff

# ALU32, immediate and register
w0 += 2
w2 += w5
w1 -= -2
w3 -= w6
w2 *= 9
w4 *= w7
w3 /= 2147483647
w5 /= w8
w4 |= -2147483648
w6 |= w9
w5 &= 1
w7 &= w0
w6 <<= 31
w8 <<= w1
w7 >>= 4
w9 >>= w2
w8 s>>= 5
w0 s>>= w3
w9 ^= 170
w1 ^= w4
w0 = 17
w2 = w5
w3 = 0xffffffff

# negation and byte order
r1 = -r1
w2 = -w2
r3 = be16 r3
r3 = be32 r3
r3 = be64 r3
r3 = le16 r3
r3 = le32 r3
r3 = le64 r3

# 64-bit loads
r1 = 0x1122334455667788 ll
r0 = -1 ll
r9 = 0 ll
r2 = 4294967295 ll
r10 = -9223372036854775808 ll

# jumps, 64-bit and 32-bit, immediate and register
if r0 == 0 goto +0
if r1 == r4 goto +0
if w0 == 0 goto -1
if w1 == w6 goto +2
if r1 != 5 goto +3
if r2 != r5 goto +1
if w1 != 6 goto -2
if w2 != w7 goto +3
if r2 > -1 goto -3
if r3 > r6 goto +2
if w2 > -1 goto -3
if w3 > w8 goto +4
if r3 >= 2147483647 goto +32767
if r4 >= r7 goto +3
if w3 >= 12 goto -4
if w4 >= w9 goto +5
if r4 < -2147483648 goto -32768
if r5 < r8 goto +4
if w4 < -12 goto -5
if w5 < w0 goto +6
if r5 <= 100 goto +1
if r6 <= r9 goto +5
if w5 <= 99 goto -6
if w6 <= w1 goto +7
if r6 s> -7 goto -1
if r7 s> r10 goto +6
if w6 s> -8 goto -7
if w7 s> w2 goto +8
if r7 s>= 1 goto +10
if r8 s>= r0 goto +7
if w7 s>= 2 goto -8
if w8 s>= w3 goto +9
if r8 s< 2 goto -10
if r9 s< r1 goto +8
if w8 s< 3 goto -9
if w9 s< w4 goto +10
if r9 s<= 3 goto +2
if r10 s<= r2 goto +9
if w9 s<= 4 goto -10
if w10 s<= w5 goto +11
goto +0
goto -1
goto +32767
goto -32768

# calls and exit
call 1
call 12
call 211
call -1
exit

# loads and stores, every size; w registers for sub-64-bit
r0 = *(u8 *)(r1 + 0)
*(u8 *)(r10 - 8) = r2
r1 = *(u16 *)(r2 + 4)
*(u16 *)(r10 - 16) = r3
r2 = *(u32 *)(r3 + 8)
*(u32 *)(r10 - 24) = r4
r3 = *(u64 *)(r4 + 12)
*(u64 *)(r10 - 32) = r5
w4 = *(u8 *)(r10 - 32768)
*(u8 *)(r0 + 32767) = w5
w5 = *(u16 *)(r10 - 32768)
*(u16 *)(r1 + 32767) = w6
w6 = *(u32 *)(r10 - 32768)
*(u32 *)(r2 + 32767) = w7

# atomic read-modify-write without result
lock *(u64 *)(r10 - 8) += r1
lock *(u32 *)(r2 + 4) += w3
lock *(u64 *)(r10 - 8) |= r1
lock *(u32 *)(r2 + 4) |= w3
lock *(u64 *)(r10 - 8) &= r1
lock *(u32 *)(r2 + 4) &= w3
lock *(u64 *)(r10 - 8) ^= r1
lock *(u32 *)(r2 + 4) ^= w3

# legacy packet access
r0 = *(u8 *)skb[12]
r0 = *(u8 *)skb[r7]
r0 = *(u16 *)skb[12]
r0 = *(u16 *)skb[r7]
r0 = *(u32 *)skb[12]
r0 = *(u32 *)skb[r7]
r0 = *(u32 *)skb[-1]

# labels: jumps and a bpf2bpf call resolved by the assembler
start:
r0 = 0
if r0 > 10 goto done
if w0 != w1 goto start
call sub
goto start
done:
exit
sub:
r0 = 1
exit
