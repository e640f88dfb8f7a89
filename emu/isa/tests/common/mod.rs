//! Proptest strategies shared by the round-trip tests.

use bpfemu_isa::*;
use proptest::prelude::*;
use proptest::sample::select;

pub fn reg() -> impl Strategy<Value = Reg> {
    (0u8..=10).prop_map(|n| Reg::new(n).unwrap())
}

pub fn width() -> impl Strategy<Value = Width> {
    prop_oneof![Just(Width::W32), Just(Width::W64)]
}

pub fn source() -> impl Strategy<Value = Source> {
    prop_oneof![reg().prop_map(Source::Reg), any::<i32>().prop_map(Source::Imm)]
}

pub fn size() -> impl Strategy<Value = Size> {
    select(Size::ALL.to_vec())
}

pub fn ld_imm64() -> impl Strategy<Value = LdImm64> {
    prop_oneof![
        any::<u64>().prop_map(LdImm64::Imm),
        any::<i32>().prop_map(LdImm64::MapFd),
        (any::<i32>(), any::<u32>()).prop_map(|(fd, off)| LdImm64::MapValue { fd, off }),
        (any::<i32>(), any::<i32>()).prop_map(|(btf_id, btf_fd)| LdImm64::BtfId { btf_id, btf_fd }),
        any::<i32>().prop_map(LdImm64::Func),
        any::<i32>().prop_map(LdImm64::MapIdx),
        (any::<i32>(), prop_oneof![Just(0u32), any::<u32>()])
            .prop_map(|(idx, off)| LdImm64::MapIdxValue { idx, off }),
    ]
}

pub fn call() -> impl Strategy<Value = CallTarget> {
    prop_oneof![
        (-2i32..300).prop_map(CallTarget::Helper),
        any::<i32>().prop_map(CallTarget::Helper),
        any::<i32>().prop_map(CallTarget::Local),
        (any::<i32>(), prop_oneof![Just(0i16), any::<i16>()])
            .prop_map(|(btf_id, btf_fd_idx)| CallTarget::Kfunc { btf_id, btf_fd_idx }),
        reg().prop_map(CallTarget::Reg),
    ]
}

/// Every instruction family with random fields; invalid combinations (such
/// as movsx from an immediate) are filtered out by a decode round trip.
pub fn instruction() -> impl Strategy<Value = Instruction> {
    use Instruction as I;
    let off = || prop_oneof![Just(0i16), -16i16..16, any::<i16>()];
    prop_oneof![
        (width(), select(AluOp::ALL.to_vec()), reg(), source()).prop_map(|(width, op, dst, src)| I::Alu {
            width,
            op,
            dst,
            src
        }),
        (width(), reg()).prop_map(|(width, dst)| I::Neg { width, dst }),
        (select(vec![EndianOp::ToLe, EndianOp::ToBe, EndianOp::Swap]), select(vec![16u8, 32, 64]), reg())
            .prop_map(|(op, bits, dst)| I::Endian { op, bits, dst }),
        off().prop_map(|off| I::Ja { off: off.into(), long: false }),
        any::<i32>().prop_map(|off| I::Ja { off, long: true }),
        (width(), select(JmpOp::ALL.to_vec()), reg(), source(), off())
            .prop_map(|(width, op, dst, src, off)| I::Jmp { width, op, dst, src, off }),
        call().prop_map(I::Call),
        Just(I::Exit),
        (reg(), ld_imm64()).prop_map(|(dst, src)| I::LdImm64 { dst, src }),
        (size(), proptest::option::of(reg()), any::<i32>()).prop_map(|(size, src, imm)| I::LdPacket {
            size,
            src,
            imm
        }),
        (size(), any::<bool>(), reg(), reg(), off()).prop_map(|(size, sx, dst, src, off)| I::Ldx {
            size,
            sx,
            dst,
            src,
            off
        }),
        (size(), reg(), off(), any::<i32>()).prop_map(|(size, dst, off, imm)| I::St { size, dst, off, imm }),
        (size(), reg(), reg(), off()).prop_map(|(size, dst, src, off)| I::Stx { size, dst, src, off }),
        (select(vec![Size::W, Size::DW]), select(AtomicOp::ALL.to_vec()), reg(), reg(), off())
            .prop_map(|(size, op, dst, src, off)| I::Atomic { size, op, dst, src, off }),
    ]
    // Drop the combinations the ISA itself has no encoding for (movsx with
    // an immediate, 32-bit movsx32, sign-extending 64-bit loads).
    .prop_filter("encodable", |ins| decode_at(&ins.encode(), 0).as_ref() == Ok(ins))
}
