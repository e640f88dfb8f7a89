//! A flow dissector in BPF assembly for tests: IPv4 with TCP or UDP, with
//! the same rules as the native dissector (and bpf_flow.c) for those —
//! header length, fragments and `BPF_FLOW_DISSECTOR_F_PARSE_1ST_FRAG`,
//! TCP data offset; every other protocol is `BPF_DROP`. The corpus test
//! and the scenarios load it.

/// The program (kernel assembler syntax).
pub const IPV4_TCP_UDP: &str = "
    r6 = *(u64 *)(r1 +144)
    r2 = *(u32 *)(r1 +76)
    r3 = *(u32 *)(r1 +80)
    r4 = *(u16 *)(r6 +10)
    if r4 != 0x8 goto drop
    r5 = *(u16 *)(r6 +2)
    r5 &= 0xff
    r7 = r2
    r7 += r5
    r8 = r7
    r8 += 20
    if r8 > r3 goto drop
    r0 = *(u8 *)(r7 +0)
    r0 &= 0xf
    if r0 < 5 goto drop
    r9 = 0x800
    *(u16 *)(r6 +4) = r9
    r9 = *(u32 *)(r7 +12)
    *(u32 *)(r6 +16) = r9
    r9 = *(u32 *)(r7 +16)
    *(u32 *)(r6 +20) = r9
    r9 = *(u8 *)(r7 +9)
    *(u8 *)(r6 +9) = r9
    r0 <<= 2
    r5 += r0
    *(u16 *)(r6 +2) = r5
    r8 = r2
    r8 += r5
    if r8 > r3 goto drop
    r8 = *(u16 *)(r7 +6)
    r8 &= 0xff3f
    if r8 == 0 goto l4
    r0 = 1
    *(u8 *)(r6 +6) = r0
    r8 = *(u16 *)(r7 +6)
    r8 &= 0xff1f
    if r8 != 0 goto ok
    *(u8 *)(r6 +7) = r0
    r8 = *(u32 *)(r6 +48)
    r8 &= 1
    if r8 == 0 goto ok
l4:
    r7 = r2
    r7 += r5
    if r9 == 6 goto tcp
    if r9 == 17 goto udp
    goto drop
tcp:
    r8 = r7
    r8 += 20
    if r8 > r3 goto drop
    r0 = *(u8 *)(r7 +12)
    r0 >>= 4
    if r0 < 5 goto drop
    r0 <<= 2
    r8 = r7
    r8 += r0
    if r8 > r3 goto drop
    r0 = *(u16 *)(r7 +0)
    *(u16 *)(r6 +12) = r0
    r0 = *(u16 *)(r7 +2)
    *(u16 *)(r6 +14) = r0
    goto ok
udp:
    r8 = r7
    r8 += 8
    if r8 > r3 goto drop
    r0 = *(u16 *)(r7 +0)
    *(u16 *)(r6 +12) = r0
    r0 = *(u16 *)(r7 +2)
    *(u16 *)(r6 +14) = r0
ok:
    r0 = 0
    exit
drop:
    r0 = 2
    exit
";
