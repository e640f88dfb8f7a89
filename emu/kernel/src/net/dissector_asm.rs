//! A flow dissector in BPF assembly for tests: one 802.1Q tag, IPv4 or
//! IPv6 (no extension headers), TCP or UDP, with the same rules as the
//! native dissector (and bpf_flow.c) for those — header length, fragments
//! and `BPF_FLOW_DISSECTOR_F_PARSE_1ST_FRAG`, the IPv6 flow label and
//! `BPF_FLOW_DISSECTOR_F_STOP_AT_FLOW_LABEL`, TCP data offset; every other
//! protocol is `BPF_DROP`. The corpus test and the scenarios load it.

/// The program (kernel assembler syntax).
pub const TCP_UDP: &str = "
    r6 = *(u64 *)(r1 +144)
    r2 = *(u32 *)(r1 +76)
    r3 = *(u32 *)(r1 +80)
    r4 = *(u16 *)(r6 +10)
    r5 = *(u16 *)(r6 +2)
    r5 &= 0xff
    if r4 != 0x81 goto l3
    r7 = r2
    r7 += r5
    r8 = r7
    r8 += 4
    if r8 > r3 goto drop
    r4 = *(u16 *)(r7 +2)
    if r4 == 0x81 goto drop
    if r4 == 0xa888 goto drop
    r0 = *(u16 *)(r6 +0)
    r0 += 4
    *(u16 *)(r6 +0) = r0
    r5 += 4
    *(u16 *)(r6 +2) = r5
    *(u16 *)(r6 +10) = r4
l3:
    if r4 == 0xdd86 goto ipv6
    if r4 != 0x8 goto drop
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
    goto l4
ipv6:
    r7 = r2
    r7 += r5
    r8 = r7
    r8 += 40
    if r8 > r3 goto drop
    r9 = 0x86dd
    *(u16 *)(r6 +4) = r9
    r0 = *(u32 *)(r7 +8)
    *(u32 *)(r6 +16) = r0
    r0 = *(u32 *)(r7 +12)
    *(u32 *)(r6 +20) = r0
    r0 = *(u32 *)(r7 +16)
    *(u32 *)(r6 +24) = r0
    r0 = *(u32 *)(r7 +20)
    *(u32 *)(r6 +28) = r0
    r0 = *(u32 *)(r7 +24)
    *(u32 *)(r6 +32) = r0
    r0 = *(u32 *)(r7 +28)
    *(u32 *)(r6 +36) = r0
    r0 = *(u32 *)(r7 +32)
    *(u32 *)(r6 +40) = r0
    r0 = *(u32 *)(r7 +36)
    *(u32 *)(r6 +44) = r0
    r5 += 40
    *(u16 *)(r6 +2) = r5
    r9 = *(u8 *)(r7 +6)
    *(u8 *)(r6 +9) = r9
    r0 = *(u32 *)(r7 +0)
    r0 &= 0xffff0f00
    *(u32 *)(r6 +52) = r0
    r8 = *(u32 *)(r6 +48)
    r8 &= 2
    if r8 != 0 goto ok
    goto l4
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
