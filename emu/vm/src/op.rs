//! The interpreter's internal instruction format and the lowering into it.
//!
//! Each slot of a program becomes one [`Op`]: a flat enum with one variant
//! per (operation, width, operand kind), so one `match` dispatches an
//! instruction. Registers are [`R`] (r0..=r10, as the decoder validated),
//! `ja` and call targets are absolute slot indices, conditional jumps keep
//! their 16-bit offset relative to the next slot (all validated in range by
//! [`Program::new`](crate::Program::new)). An `Op` is 8 bytes.
//!
//! This plays the role of the kernel interpreter's `jumptable[]` of labels
//! in kernel/bpf/core.c, with decoding hoisted out of the run loop.

use crate::error::{LoadError, TransferKind};
use bpfemu_isa::opcode::BPF_FUNC_TAIL_CALL;
use bpfemu_isa::{
    AluOp, AtomicOp, CallTarget, EndianOp, Instruction, JmpOp, LdImm64, Reg, Size, Source, Width,
};

/// A register number as a type: an [`Op`] field of this type is known to
/// be at most 10, so indexing the 11 registers with it needs neither a
/// bounds check nor a mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum R {
    R0,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    R9,
    R10,
}

impl R {
    const ALL: [R; 11] = [R::R0, R::R1, R::R2, R::R3, R::R4, R::R5, R::R6, R::R7, R::R8, R::R9, R::R10];

    fn of(r: Reg) -> R {
        // `Reg` is r0..=r10 by construction.
        R::ALL[r.idx()]
    }
}

/// One lowered instruction. Field order: destination register, source
/// register or immediate, then memory offset, jump offset (relative to the
/// next slot) or absolute target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    // ALU64, register operand: (dst, src).
    Add64X(R, R),
    Sub64X(R, R),
    Mul64X(R, R),
    Div64X(R, R),
    SDiv64X(R, R),
    Or64X(R, R),
    And64X(R, R),
    Lsh64X(R, R),
    Rsh64X(R, R),
    Mod64X(R, R),
    SMod64X(R, R),
    Xor64X(R, R),
    Mov64X(R, R),
    Arsh64X(R, R),
    MovSx64B(R, R),
    MovSx64H(R, R),
    MovSx64W(R, R),
    // ALU64, immediate operand (sign-extended to 64 bits when used): (dst, imm).
    Add64K(R, i32),
    Sub64K(R, i32),
    Mul64K(R, i32),
    Div64K(R, i32),
    SDiv64K(R, i32),
    Or64K(R, i32),
    And64K(R, i32),
    Lsh64K(R, i32),
    Rsh64K(R, i32),
    Mod64K(R, i32),
    SMod64K(R, i32),
    Xor64K(R, i32),
    Mov64K(R, i32),
    Arsh64K(R, i32),
    // ALU32, register operand.
    Add32X(R, R),
    Sub32X(R, R),
    Mul32X(R, R),
    Div32X(R, R),
    SDiv32X(R, R),
    Or32X(R, R),
    And32X(R, R),
    Lsh32X(R, R),
    Rsh32X(R, R),
    Mod32X(R, R),
    SMod32X(R, R),
    Xor32X(R, R),
    Mov32X(R, R),
    Arsh32X(R, R),
    MovSx32B(R, R),
    MovSx32H(R, R),
    // ALU32, immediate operand (low 32 bits).
    Add32K(R, i32),
    Sub32K(R, i32),
    Mul32K(R, i32),
    Div32K(R, i32),
    SDiv32K(R, i32),
    Or32K(R, i32),
    And32K(R, i32),
    Lsh32K(R, i32),
    Rsh32K(R, i32),
    Mod32K(R, i32),
    SMod32K(R, i32),
    Xor32K(R, i32),
    Mov32K(R, i32),
    Arsh32K(R, i32),
    Neg64(R),
    Neg32(R),
    // Byte order: BPF_ALU|BPF_END (to_be/to_le) and BPF_ALU64|BPF_END (swap).
    Be16(R),
    Be32(R),
    Be64(R),
    Le16(R),
    Le32(R),
    Swap16(R),
    Swap32(R),
    Swap64(R),
    /// `le64` on a little-endian target.
    Nop,
    Ja(u32),
    // Conditional jumps carry the instruction's own 16-bit offset,
    // relative to the next slot (validated by `Program::new`), which keeps
    // `Op` at 8 bytes.
    // JMP (64-bit compare), register: (dst, src, off).
    Jeq64X(R, R, i16),
    Jgt64X(R, R, i16),
    Jge64X(R, R, i16),
    Jset64X(R, R, i16),
    Jne64X(R, R, i16),
    Jsgt64X(R, R, i16),
    Jsge64X(R, R, i16),
    Jlt64X(R, R, i16),
    Jle64X(R, R, i16),
    Jslt64X(R, R, i16),
    Jsle64X(R, R, i16),
    // JMP, immediate (sign-extended): (dst, imm, off).
    Jeq64K(R, i32, i16),
    Jgt64K(R, i32, i16),
    Jge64K(R, i32, i16),
    Jset64K(R, i32, i16),
    Jne64K(R, i32, i16),
    Jsgt64K(R, i32, i16),
    Jsge64K(R, i32, i16),
    Jlt64K(R, i32, i16),
    Jle64K(R, i32, i16),
    Jslt64K(R, i32, i16),
    Jsle64K(R, i32, i16),
    // JMP32 (low 32 bits), register.
    Jeq32X(R, R, i16),
    Jgt32X(R, R, i16),
    Jge32X(R, R, i16),
    Jset32X(R, R, i16),
    Jne32X(R, R, i16),
    Jsgt32X(R, R, i16),
    Jsge32X(R, R, i16),
    Jlt32X(R, R, i16),
    Jle32X(R, R, i16),
    Jslt32X(R, R, i16),
    Jsle32X(R, R, i16),
    // JMP32, immediate.
    Jeq32K(R, i32, i16),
    Jgt32K(R, i32, i16),
    Jge32K(R, i32, i16),
    Jset32K(R, i32, i16),
    Jne32K(R, i32, i16),
    Jsgt32K(R, i32, i16),
    Jsge32K(R, i32, i16),
    Jlt32K(R, i32, i16),
    Jle32K(R, i32, i16),
    Jslt32K(R, i32, i16),
    Jsle32K(R, i32, i16),
    /// Helper call by id.
    Call(i32),
    /// `call 12` (`bpf_tail_call`), handled by the interpreter itself.
    TailCall,
    /// bpf2bpf call to an absolute slot.
    CallLocal(u32),
    /// kfunc call by BTF id.
    Kfunc(i32),
    /// `callx rN`: the register holds a helper id.
    CallX(R),
    Exit,
    /// `dst = lo | hi << 32`, `hi` taken from the [`Op::LdImm64Hi`] in the
    /// next slot (one 8-byte op cannot hold the whole constant).
    LdImm64(R, u32),
    /// Legacy `LD_ABS`: (size in bytes, imm).
    LdAbs(u8, i32),
    /// Legacy `LD_IND`: (size in bytes, src, imm).
    LdInd(u8, R, i32),
    // Loads: (dst, src, off).
    LdxB(R, R, i16),
    LdxH(R, R, i16),
    LdxW(R, R, i16),
    LdxDW(R, R, i16),
    LdsxB(R, R, i16),
    LdsxH(R, R, i16),
    LdsxW(R, R, i16),
    // Immediate stores: (dst, off, imm).
    StB(R, i16, i32),
    StH(R, i16, i32),
    StW(R, i16, i32),
    StDW(R, i16, i32),
    // Register stores: (dst, src, off).
    StxB(R, R, i16),
    StxH(R, R, i16),
    StxW(R, R, i16),
    StxDW(R, R, i16),
    // Atomics: (dst, src, off). `F` = with BPF_FETCH.
    AAdd32(R, R, i16),
    AOr32(R, R, i16),
    AAnd32(R, R, i16),
    AXor32(R, R, i16),
    AFAdd32(R, R, i16),
    AFOr32(R, R, i16),
    AFAnd32(R, R, i16),
    AFXor32(R, R, i16),
    AXchg32(R, R, i16),
    ACmpXchg32(R, R, i16),
    AAdd64(R, R, i16),
    AOr64(R, R, i16),
    AAnd64(R, R, i16),
    AXor64(R, R, i16),
    AFAdd64(R, R, i16),
    AFOr64(R, R, i16),
    AFAnd64(R, R, i16),
    AFXor64(R, R, i16),
    AXchg64(R, R, i16),
    ACmpXchg64(R, R, i16),
    /// The second slot of a `ld_imm64`: the high half of the constant.
    /// Never executed in a validated program (reaching it is
    /// [`VmError::InvalidSlot`](crate::VmError::InvalidSlot)).
    LdImm64Hi(u32),
    /// Sentinel after the last slot: reached only by falling off the end.
    FallOff,
}

/// Resolves a relative jump or call at slot `pc` to an absolute slot,
/// checking it lands on the first slot of an instruction.
pub(crate) fn target(pc: usize, rel: i64, kind: TransferKind, is_tail: &[bool]) -> Result<u32, LoadError> {
    let t = pc as i64 + 1 + rel;
    if t < 0 || t >= is_tail.len() as i64 {
        return Err(LoadError::OutOfRange { pc, kind, target: t });
    }
    let t = t as usize;
    if is_tail[t] {
        return Err(LoadError::IntoLdImm64 { pc, kind, target: t });
    }
    // `Program::new` caps the length below u32::MAX.
    Ok(t as u32)
}

fn alu(width: Width, op: AluOp, d: R, src: Source) -> Op {
    macro_rules! pick {
        ($($op:ident => $x64:ident $k64:ident $x32:ident $k32:ident),* $(,)?) => {
            match (op, width, src) {
                $(
                    (AluOp::$op, Width::W64, Source::Reg(s)) => Op::$x64(d, R::of(s)),
                    (AluOp::$op, Width::W64, Source::Imm(k)) => Op::$k64(d, k),
                    (AluOp::$op, Width::W32, Source::Reg(s)) => Op::$x32(d, R::of(s)),
                    (AluOp::$op, Width::W32, Source::Imm(k)) => Op::$k32(d, k),
                )*
                (AluOp::MovSx(bits), Width::W64, Source::Reg(s)) => match bits {
                    8 => Op::MovSx64B(d, R::of(s)),
                    16 => Op::MovSx64H(d, R::of(s)),
                    _ => Op::MovSx64W(d, R::of(s)),
                },
                // The decoder admits only 8 and 16 for ALU32 movsx.
                (AluOp::MovSx(bits), Width::W32, Source::Reg(s)) => match bits {
                    8 => Op::MovSx32B(d, R::of(s)),
                    _ => Op::MovSx32H(d, R::of(s)),
                },
                // The decoder produces movsx with a register source only;
                // lower an immediate form as the sign-extended constant.
                (AluOp::MovSx(bits), w, Source::Imm(k)) => {
                    let v = match bits {
                        8 => i64::from(k as i8),
                        16 => i64::from(k as i16),
                        _ => i64::from(k),
                    };
                    match w {
                        Width::W64 => Op::Mov64K(d, v as i32),
                        Width::W32 => Op::Mov32K(d, v as i32),
                    }
                }
            }
        };
    }
    pick! {
        Add => Add64X Add64K Add32X Add32K,
        Sub => Sub64X Sub64K Sub32X Sub32K,
        Mul => Mul64X Mul64K Mul32X Mul32K,
        Div => Div64X Div64K Div32X Div32K,
        SDiv => SDiv64X SDiv64K SDiv32X SDiv32K,
        Or => Or64X Or64K Or32X Or32K,
        And => And64X And64K And32X And32K,
        Lsh => Lsh64X Lsh64K Lsh32X Lsh32K,
        Rsh => Rsh64X Rsh64K Rsh32X Rsh32K,
        Mod => Mod64X Mod64K Mod32X Mod32K,
        SMod => SMod64X SMod64K SMod32X SMod32K,
        Xor => Xor64X Xor64K Xor32X Xor32K,
        Mov => Mov64X Mov64K Mov32X Mov32K,
        Arsh => Arsh64X Arsh64K Arsh32X Arsh32K,
    }
}

fn jmp(width: Width, op: JmpOp, d: R, src: Source, t: i16) -> Op {
    macro_rules! pick {
        ($($op:ident => $x64:ident $k64:ident $x32:ident $k32:ident),* $(,)?) => {
            match (op, width, src) {
                $(
                    (JmpOp::$op, Width::W64, Source::Reg(s)) => Op::$x64(d, R::of(s), t),
                    (JmpOp::$op, Width::W64, Source::Imm(k)) => Op::$k64(d, k, t),
                    (JmpOp::$op, Width::W32, Source::Reg(s)) => Op::$x32(d, R::of(s), t),
                    (JmpOp::$op, Width::W32, Source::Imm(k)) => Op::$k32(d, k, t),
                )*
            }
        };
    }
    pick! {
        Eq => Jeq64X Jeq64K Jeq32X Jeq32K,
        Gt => Jgt64X Jgt64K Jgt32X Jgt32K,
        Ge => Jge64X Jge64K Jge32X Jge32K,
        Set => Jset64X Jset64K Jset32X Jset32K,
        Ne => Jne64X Jne64K Jne32X Jne32K,
        SGt => Jsgt64X Jsgt64K Jsgt32X Jsgt32K,
        SGe => Jsge64X Jsge64K Jsge32X Jsge32K,
        Lt => Jlt64X Jlt64K Jlt32X Jlt32K,
        Le => Jle64X Jle64K Jle32X Jle32K,
        SLt => Jslt64X Jslt64K Jslt32X Jslt32K,
        SLe => Jsle64X Jsle64K Jsle32X Jsle32K,
    }
}

fn atomic(size: Size, op: AtomicOp, d: R, s: R, off: i16) -> Op {
    let wide = size == Size::DW;
    match (op, wide) {
        (AtomicOp::Add { fetch: false }, false) => Op::AAdd32(d, s, off),
        (AtomicOp::Or { fetch: false }, false) => Op::AOr32(d, s, off),
        (AtomicOp::And { fetch: false }, false) => Op::AAnd32(d, s, off),
        (AtomicOp::Xor { fetch: false }, false) => Op::AXor32(d, s, off),
        (AtomicOp::Add { fetch: true }, false) => Op::AFAdd32(d, s, off),
        (AtomicOp::Or { fetch: true }, false) => Op::AFOr32(d, s, off),
        (AtomicOp::And { fetch: true }, false) => Op::AFAnd32(d, s, off),
        (AtomicOp::Xor { fetch: true }, false) => Op::AFXor32(d, s, off),
        (AtomicOp::Xchg, false) => Op::AXchg32(d, s, off),
        (AtomicOp::CmpXchg, false) => Op::ACmpXchg32(d, s, off),
        (AtomicOp::Add { fetch: false }, true) => Op::AAdd64(d, s, off),
        (AtomicOp::Or { fetch: false }, true) => Op::AOr64(d, s, off),
        (AtomicOp::And { fetch: false }, true) => Op::AAnd64(d, s, off),
        (AtomicOp::Xor { fetch: false }, true) => Op::AXor64(d, s, off),
        (AtomicOp::Add { fetch: true }, true) => Op::AFAdd64(d, s, off),
        (AtomicOp::Or { fetch: true }, true) => Op::AFOr64(d, s, off),
        (AtomicOp::And { fetch: true }, true) => Op::AFAnd64(d, s, off),
        (AtomicOp::Xor { fetch: true }, true) => Op::AFXor64(d, s, off),
        (AtomicOp::Xchg, true) => Op::AXchg64(d, s, off),
        (AtomicOp::CmpXchg, true) => Op::ACmpXchg64(d, s, off),
    }
}

/// Lowers the instruction at slot `pc`. `is_tail[i]` marks second slots of
/// `ld_imm64`; its length is the program length.
pub(crate) fn lower(pc: usize, ins: &Instruction, is_tail: &[bool]) -> Result<Op, LoadError> {
    use TransferKind::{Call, Jump};
    Ok(match *ins {
        Instruction::Alu { width, op, dst, src } => alu(width, op, R::of(dst), src),
        Instruction::Neg { width: Width::W64, dst } => Op::Neg64(R::of(dst)),
        Instruction::Neg { width: Width::W32, dst } => Op::Neg32(R::of(dst)),
        Instruction::Endian { op, bits, dst } => {
            let d = R::of(dst);
            match (op, bits) {
                (EndianOp::ToBe, 16) => Op::Be16(d),
                (EndianOp::ToBe, 32) => Op::Be32(d),
                (EndianOp::ToBe, _) => Op::Be64(d),
                (EndianOp::ToLe, 16) => Op::Le16(d),
                (EndianOp::ToLe, 32) => Op::Le32(d),
                (EndianOp::ToLe, _) => Op::Nop,
                (EndianOp::Swap, 16) => Op::Swap16(d),
                (EndianOp::Swap, 32) => Op::Swap32(d),
                (EndianOp::Swap, _) => Op::Swap64(d),
            }
        }
        Instruction::Ja { off, .. } => Op::Ja(target(pc, off.into(), Jump, is_tail)?),
        Instruction::Jmp { width, op, dst, src, off } => {
            target(pc, off.into(), Jump, is_tail)?;
            jmp(width, op, R::of(dst), src, off)
        }
        Instruction::Call(CallTarget::Helper(BPF_FUNC_TAIL_CALL)) => Op::TailCall,
        Instruction::Call(CallTarget::Helper(id)) => Op::Call(id),
        Instruction::Call(CallTarget::Local(off)) => Op::CallLocal(target(pc, off.into(), Call, is_tail)?),
        Instruction::Call(CallTarget::Kfunc { btf_id, .. }) => Op::Kfunc(btf_id),
        Instruction::Call(CallTarget::Reg(r)) => Op::CallX(R::of(r)),
        Instruction::Exit => Op::Exit,
        Instruction::LdImm64 { dst, src: LdImm64::Imm(v) } => Op::LdImm64(R::of(dst), v as u32),
        Instruction::LdImm64 { src, .. } => return Err(LoadError::PseudoLdImm64 { pc, src }),
        Instruction::LdPacket { size, src: None, imm } => Op::LdAbs(size.bytes() as u8, imm),
        Instruction::LdPacket { size, src: Some(s), imm } => Op::LdInd(size.bytes() as u8, R::of(s), imm),
        Instruction::Ldx { size, sx, dst, src, off } => {
            let (d, s) = (R::of(dst), R::of(src));
            match (size, sx) {
                (Size::B, false) => Op::LdxB(d, s, off),
                (Size::H, false) => Op::LdxH(d, s, off),
                (Size::W, false) => Op::LdxW(d, s, off),
                (Size::DW, _) => Op::LdxDW(d, s, off),
                (Size::B, true) => Op::LdsxB(d, s, off),
                (Size::H, true) => Op::LdsxH(d, s, off),
                (Size::W, true) => Op::LdsxW(d, s, off),
            }
        }
        Instruction::St { size, dst, off, imm } => {
            let d = R::of(dst);
            match size {
                Size::B => Op::StB(d, off, imm),
                Size::H => Op::StH(d, off, imm),
                Size::W => Op::StW(d, off, imm),
                Size::DW => Op::StDW(d, off, imm),
            }
        }
        Instruction::Stx { size, dst, src, off } => {
            let (d, s) = (R::of(dst), R::of(src));
            match size {
                Size::B => Op::StxB(d, s, off),
                Size::H => Op::StxH(d, s, off),
                Size::W => Op::StxW(d, s, off),
                Size::DW => Op::StxDW(d, s, off),
            }
        }
        Instruction::Atomic { size, op, dst, src, off } => atomic(size, op, R::of(dst), R::of(src), off),
    })
}

/// The op for the second slot of a two-slot instruction (`ld_imm64`).
pub(crate) fn second_slot(ins: &Instruction) -> Op {
    match *ins {
        Instruction::LdImm64 { src: LdImm64::Imm(v), .. } => Op::LdImm64Hi((v >> 32) as u32),
        // `lower` refuses every other ld_imm64 first.
        _ => Op::LdImm64Hi(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_is_compact() {
        assert_eq!(std::mem::size_of::<Op>(), 8);
    }
}
