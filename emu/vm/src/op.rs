//! The interpreter's internal instruction format and the lowering into it.
//!
//! Each slot of a program becomes one [`Op`]: a flat enum with one variant
//! per (operation, width, operand kind), so one `match` dispatches an
//! instruction. Register numbers are `u8` (validated ≤ 10 by the decoder),
//! jump and call targets are absolute slot indices (validated in range by
//! [`Program::new`](crate::Program::new)). An `Op` is 12 bytes.
//!
//! This plays the role of the kernel interpreter's `jumptable[]` of labels
//! in kernel/bpf/core.c, with decoding hoisted out of the run loop.

use crate::error::{LoadError, TransferKind};
use bpfemu_isa::opcode::BPF_FUNC_TAIL_CALL;
use bpfemu_isa::{AluOp, AtomicOp, CallTarget, EndianOp, Instruction, JmpOp, LdImm64, Size, Source, Width};

/// One lowered instruction. Field order: destination register, source
/// register or immediate, then offset or absolute target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    // ALU64, register operand: (dst, src).
    Add64X(u8, u8),
    Sub64X(u8, u8),
    Mul64X(u8, u8),
    Div64X(u8, u8),
    SDiv64X(u8, u8),
    Or64X(u8, u8),
    And64X(u8, u8),
    Lsh64X(u8, u8),
    Rsh64X(u8, u8),
    Mod64X(u8, u8),
    SMod64X(u8, u8),
    Xor64X(u8, u8),
    Mov64X(u8, u8),
    Arsh64X(u8, u8),
    MovSx64B(u8, u8),
    MovSx64H(u8, u8),
    MovSx64W(u8, u8),
    // ALU64, immediate operand (sign-extended to 64 bits when used): (dst, imm).
    Add64K(u8, i32),
    Sub64K(u8, i32),
    Mul64K(u8, i32),
    Div64K(u8, i32),
    SDiv64K(u8, i32),
    Or64K(u8, i32),
    And64K(u8, i32),
    Lsh64K(u8, i32),
    Rsh64K(u8, i32),
    Mod64K(u8, i32),
    SMod64K(u8, i32),
    Xor64K(u8, i32),
    Mov64K(u8, i32),
    Arsh64K(u8, i32),
    // ALU32, register operand.
    Add32X(u8, u8),
    Sub32X(u8, u8),
    Mul32X(u8, u8),
    Div32X(u8, u8),
    SDiv32X(u8, u8),
    Or32X(u8, u8),
    And32X(u8, u8),
    Lsh32X(u8, u8),
    Rsh32X(u8, u8),
    Mod32X(u8, u8),
    SMod32X(u8, u8),
    Xor32X(u8, u8),
    Mov32X(u8, u8),
    Arsh32X(u8, u8),
    MovSx32B(u8, u8),
    MovSx32H(u8, u8),
    // ALU32, immediate operand (low 32 bits).
    Add32K(u8, i32),
    Sub32K(u8, i32),
    Mul32K(u8, i32),
    Div32K(u8, i32),
    SDiv32K(u8, i32),
    Or32K(u8, i32),
    And32K(u8, i32),
    Lsh32K(u8, i32),
    Rsh32K(u8, i32),
    Mod32K(u8, i32),
    SMod32K(u8, i32),
    Xor32K(u8, i32),
    Mov32K(u8, i32),
    Arsh32K(u8, i32),
    Neg64(u8),
    Neg32(u8),
    // Byte order: BPF_ALU|BPF_END (to_be/to_le) and BPF_ALU64|BPF_END (swap).
    Be16(u8),
    Be32(u8),
    Be64(u8),
    Le16(u8),
    Le32(u8),
    Swap16(u8),
    Swap32(u8),
    Swap64(u8),
    /// `le64` on a little-endian target.
    Nop,
    Ja(u32),
    // JMP (64-bit compare), register: (dst, src, target).
    Jeq64X(u8, u8, u32),
    Jgt64X(u8, u8, u32),
    Jge64X(u8, u8, u32),
    Jset64X(u8, u8, u32),
    Jne64X(u8, u8, u32),
    Jsgt64X(u8, u8, u32),
    Jsge64X(u8, u8, u32),
    Jlt64X(u8, u8, u32),
    Jle64X(u8, u8, u32),
    Jslt64X(u8, u8, u32),
    Jsle64X(u8, u8, u32),
    // JMP, immediate (sign-extended): (dst, imm, target).
    Jeq64K(u8, i32, u32),
    Jgt64K(u8, i32, u32),
    Jge64K(u8, i32, u32),
    Jset64K(u8, i32, u32),
    Jne64K(u8, i32, u32),
    Jsgt64K(u8, i32, u32),
    Jsge64K(u8, i32, u32),
    Jlt64K(u8, i32, u32),
    Jle64K(u8, i32, u32),
    Jslt64K(u8, i32, u32),
    Jsle64K(u8, i32, u32),
    // JMP32 (low 32 bits), register.
    Jeq32X(u8, u8, u32),
    Jgt32X(u8, u8, u32),
    Jge32X(u8, u8, u32),
    Jset32X(u8, u8, u32),
    Jne32X(u8, u8, u32),
    Jsgt32X(u8, u8, u32),
    Jsge32X(u8, u8, u32),
    Jlt32X(u8, u8, u32),
    Jle32X(u8, u8, u32),
    Jslt32X(u8, u8, u32),
    Jsle32X(u8, u8, u32),
    // JMP32, immediate.
    Jeq32K(u8, i32, u32),
    Jgt32K(u8, i32, u32),
    Jge32K(u8, i32, u32),
    Jset32K(u8, i32, u32),
    Jne32K(u8, i32, u32),
    Jsgt32K(u8, i32, u32),
    Jsge32K(u8, i32, u32),
    Jlt32K(u8, i32, u32),
    Jle32K(u8, i32, u32),
    Jslt32K(u8, i32, u32),
    Jsle32K(u8, i32, u32),
    /// Helper call by id.
    Call(i32),
    /// `call 12` (`bpf_tail_call`), handled by the interpreter itself.
    TailCall,
    /// bpf2bpf call to an absolute slot.
    CallLocal(u32),
    /// kfunc call by BTF id.
    Kfunc(i32),
    /// `callx rN`: the register holds a helper id.
    CallX(u8),
    Exit,
    /// `dst = lo | hi << 32` (split to keep `Op` 4-byte aligned).
    LdImm64(u8, u32, u32),
    /// Legacy `LD_ABS`: (size in bytes, imm).
    LdAbs(u8, i32),
    /// Legacy `LD_IND`: (size in bytes, src, imm).
    LdInd(u8, u8, i32),
    // Loads: (dst, src, off).
    LdxB(u8, u8, i16),
    LdxH(u8, u8, i16),
    LdxW(u8, u8, i16),
    LdxDW(u8, u8, i16),
    LdsxB(u8, u8, i16),
    LdsxH(u8, u8, i16),
    LdsxW(u8, u8, i16),
    // Immediate stores: (dst, off, imm).
    StB(u8, i16, i32),
    StH(u8, i16, i32),
    StW(u8, i16, i32),
    StDW(u8, i16, i32),
    // Register stores: (dst, src, off).
    StxB(u8, u8, i16),
    StxH(u8, u8, i16),
    StxW(u8, u8, i16),
    StxDW(u8, u8, i16),
    // Atomics: (dst, src, off). `F` = with BPF_FETCH.
    AAdd32(u8, u8, i16),
    AOr32(u8, u8, i16),
    AAnd32(u8, u8, i16),
    AXor32(u8, u8, i16),
    AFAdd32(u8, u8, i16),
    AFOr32(u8, u8, i16),
    AFAnd32(u8, u8, i16),
    AFXor32(u8, u8, i16),
    AXchg32(u8, u8, i16),
    ACmpXchg32(u8, u8, i16),
    AAdd64(u8, u8, i16),
    AOr64(u8, u8, i16),
    AAnd64(u8, u8, i16),
    AXor64(u8, u8, i16),
    AFAdd64(u8, u8, i16),
    AFOr64(u8, u8, i16),
    AFAnd64(u8, u8, i16),
    AFXor64(u8, u8, i16),
    AXchg64(u8, u8, i16),
    ACmpXchg64(u8, u8, i16),
    /// The second slot of a `ld_imm64`; unreachable in a validated program.
    InvalidSlot,
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

fn alu(width: Width, op: AluOp, d: u8, src: Source) -> Op {
    macro_rules! pick {
        ($($op:ident => $x64:ident $k64:ident $x32:ident $k32:ident),* $(,)?) => {
            match (op, width, src) {
                $(
                    (AluOp::$op, Width::W64, Source::Reg(s)) => Op::$x64(d, s.num()),
                    (AluOp::$op, Width::W64, Source::Imm(k)) => Op::$k64(d, k),
                    (AluOp::$op, Width::W32, Source::Reg(s)) => Op::$x32(d, s.num()),
                    (AluOp::$op, Width::W32, Source::Imm(k)) => Op::$k32(d, k),
                )*
                (AluOp::MovSx(bits), Width::W64, Source::Reg(s)) => match bits {
                    8 => Op::MovSx64B(d, s.num()),
                    16 => Op::MovSx64H(d, s.num()),
                    _ => Op::MovSx64W(d, s.num()),
                },
                // The decoder admits only 8 and 16 for ALU32 movsx.
                (AluOp::MovSx(bits), Width::W32, Source::Reg(s)) => match bits {
                    8 => Op::MovSx32B(d, s.num()),
                    _ => Op::MovSx32H(d, s.num()),
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

fn jmp(width: Width, op: JmpOp, d: u8, src: Source, t: u32) -> Op {
    macro_rules! pick {
        ($($op:ident => $x64:ident $k64:ident $x32:ident $k32:ident),* $(,)?) => {
            match (op, width, src) {
                $(
                    (JmpOp::$op, Width::W64, Source::Reg(s)) => Op::$x64(d, s.num(), t),
                    (JmpOp::$op, Width::W64, Source::Imm(k)) => Op::$k64(d, k, t),
                    (JmpOp::$op, Width::W32, Source::Reg(s)) => Op::$x32(d, s.num(), t),
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

fn atomic(size: Size, op: AtomicOp, d: u8, s: u8, off: i16) -> Op {
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
        Instruction::Alu { width, op, dst, src } => alu(width, op, dst.num(), src),
        Instruction::Neg { width: Width::W64, dst } => Op::Neg64(dst.num()),
        Instruction::Neg { width: Width::W32, dst } => Op::Neg32(dst.num()),
        Instruction::Endian { op, bits, dst } => {
            let d = dst.num();
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
            jmp(width, op, dst.num(), src, target(pc, off.into(), Jump, is_tail)?)
        }
        Instruction::Call(CallTarget::Helper(BPF_FUNC_TAIL_CALL)) => Op::TailCall,
        Instruction::Call(CallTarget::Helper(id)) => Op::Call(id),
        Instruction::Call(CallTarget::Local(off)) => Op::CallLocal(target(pc, off.into(), Call, is_tail)?),
        Instruction::Call(CallTarget::Kfunc { btf_id, .. }) => Op::Kfunc(btf_id),
        Instruction::Call(CallTarget::Reg(r)) => Op::CallX(r.num()),
        Instruction::Exit => Op::Exit,
        Instruction::LdImm64 { dst, src: LdImm64::Imm(v) } => {
            Op::LdImm64(dst.num(), v as u32, (v >> 32) as u32)
        }
        Instruction::LdImm64 { src, .. } => return Err(LoadError::PseudoLdImm64 { pc, src }),
        Instruction::LdPacket { size, src: None, imm } => Op::LdAbs(size.bytes() as u8, imm),
        Instruction::LdPacket { size, src: Some(s), imm } => Op::LdInd(size.bytes() as u8, s.num(), imm),
        Instruction::Ldx { size, sx, dst, src, off } => {
            let (d, s) = (dst.num(), src.num());
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
            let d = dst.num();
            match size {
                Size::B => Op::StB(d, off, imm),
                Size::H => Op::StH(d, off, imm),
                Size::W => Op::StW(d, off, imm),
                Size::DW => Op::StDW(d, off, imm),
            }
        }
        Instruction::Stx { size, dst, src, off } => {
            let (d, s) = (dst.num(), src.num());
            match size {
                Size::B => Op::StxB(d, s, off),
                Size::H => Op::StxH(d, s, off),
                Size::W => Op::StxW(d, s, off),
                Size::DW => Op::StxDW(d, s, off),
            }
        }
        Instruction::Atomic { size, op, dst, src, off } => atomic(size, op, dst.num(), src.num(), off),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_is_compact() {
        assert_eq!(std::mem::size_of::<Op>(), 12);
    }
}
