//! Strict decoding of raw slots into [`Instruction`]s.
//!
//! Every field an instruction does not use must be zero, as RFC 9669 §3
//! requires and as the kernel's `do_check()` enforces ("BPF_ALU uses
//! reserved fields", "invalid BPF_LD_IMM insn", "unknown opcode %02x" in
//! kernel/bpf/verifier.c). Decoding is lossless: whatever decodes encodes
//! back to the same bytes.

use crate::insn::Insn;
use crate::instr::*;
use crate::opcode::*;
use std::fmt;

/// Why a slot failed to decode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The opcode byte names no instruction.
    UnknownOpcode,
    /// A field the instruction does not use is non-zero.
    Reserved { field: &'static str, value: i64 },
    /// A field holds a value outside what the instruction allows.
    BadValue { field: &'static str, value: i64, expected: &'static str },
    /// A register number above r10.
    BadRegister { field: &'static str, value: u8 },
    /// `BPF_LD | BPF_IMM | BPF_DW` is the last slot of the program.
    TruncatedLdImm64,
    /// The second slot of a 64-bit load is not all zero but its `imm`.
    BadLdImm64Tail,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::UnknownOpcode => write!(f, "unknown opcode"),
            Reason::Reserved { field, value } => {
                write!(f, "reserved field '{field}' is {value}, must be 0")
            }
            Reason::BadValue { field, value, expected } => {
                write!(f, "field '{field}' is {value}, expected {expected}")
            }
            Reason::BadRegister { field, value } => {
                write!(f, "invalid register r{value} in '{field}' (r0..r10)")
            }
            Reason::TruncatedLdImm64 => {
                write!(f, "64-bit immediate load is missing its second slot")
            }
            Reason::BadLdImm64Tail => {
                write!(f, "second slot of a 64-bit immediate load must have code, regs and off zero")
            }
        }
    }
}

/// A decoding failure: the slot index, its opcode byte, and the reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("insn {index} (code 0x{code:02x}): {reason}")]
pub struct DecodeError {
    pub index: usize,
    pub code: u8,
    pub reason: Reason,
}

type R<T> = Result<T, Reason>;

fn zero(field: &'static str, value: i64) -> R<()> {
    if value == 0 { Ok(()) } else { Err(Reason::Reserved { field, value }) }
}

fn reg(field: &'static str, n: u8) -> R<Reg> {
    Reg::new(n).ok_or(Reason::BadRegister { field, value: n })
}

fn size_of(code: u8) -> Size {
    match code & 0x18 {
        BPF_W => Size::W,
        BPF_H => Size::H,
        BPF_B => Size::B,
        _ => Size::DW,
    }
}

/// Decodes the instruction starting at slot `index` of `insns` (a 64-bit
/// load also reads slot `index + 1`).
pub fn decode_at(insns: &[Insn], index: usize) -> Result<Instruction, DecodeError> {
    let i = insns[index];
    decode_slot(i, insns.get(index + 1).copied()).map_err(|reason| DecodeError {
        index,
        code: i.code,
        reason,
    })
}

/// Decodes a whole program, returning each instruction with the index of
/// its first slot.
pub fn decode_program(insns: &[Insn]) -> Result<Vec<(usize, Instruction)>, DecodeError> {
    let mut out = Vec::with_capacity(insns.len());
    let mut pc = 0;
    while pc < insns.len() {
        let ins = decode_at(insns, pc)?;
        out.push((pc, ins));
        pc += ins.slots();
    }
    Ok(out)
}

fn decode_slot(i: Insn, next: Option<Insn>) -> R<Instruction> {
    match class(i.code) {
        BPF_ALU | BPF_ALU64 => decode_alu(i),
        BPF_JMP | BPF_JMP32 => decode_jmp(i),
        BPF_LD => decode_ld(i, next),
        BPF_LDX => decode_ldx(i),
        BPF_ST => decode_st(i),
        _ => decode_stx(i),
    }
}

fn decode_alu(i: Insn) -> R<Instruction> {
    let wide = class(i.code) == BPF_ALU64;
    let width = if wide { Width::W64 } else { Width::W32 };
    let is_x = i.code & BPF_X != 0;
    let dst = reg("dst", i.dst)?;
    let op = i.code & 0xf0;
    match op {
        BPF_NEG => {
            if is_x {
                return Err(Reason::UnknownOpcode);
            }
            zero("src", i.src.into())?;
            zero("off", i.off.into())?;
            zero("imm", i.imm.into())?;
            return Ok(Instruction::Neg { width, dst });
        }
        BPF_END => {
            zero("src", i.src.into())?;
            zero("off", i.off.into())?;
            if !matches!(i.imm, 16 | 32 | 64) {
                return Err(Reason::BadValue { field: "imm", value: i.imm.into(), expected: "16, 32 or 64" });
            }
            let eop = match (wide, is_x) {
                (false, false) => EndianOp::ToLe,
                (false, true) => EndianOp::ToBe,
                (true, false) => EndianOp::Swap,
                (true, true) => return Err(Reason::UnknownOpcode),
            };
            return Ok(Instruction::Endian { op: eop, bits: i.imm as u8, dst });
        }
        0xe0 | 0xf0 => return Err(Reason::UnknownOpcode),
        _ => {}
    }
    let src = if is_x {
        zero("imm", i.imm.into())?;
        Source::Reg(reg("src", i.src)?)
    } else {
        zero("src", i.src.into())?;
        Source::Imm(i.imm)
    };
    let alu = match (op, i.off) {
        (BPF_ADD, 0) => AluOp::Add,
        (BPF_SUB, 0) => AluOp::Sub,
        (BPF_MUL, 0) => AluOp::Mul,
        (BPF_DIV, 0) => AluOp::Div,
        (BPF_DIV, 1) => AluOp::SDiv,
        (BPF_OR, 0) => AluOp::Or,
        (BPF_AND, 0) => AluOp::And,
        (BPF_LSH, 0) => AluOp::Lsh,
        (BPF_RSH, 0) => AluOp::Rsh,
        (BPF_MOD, 0) => AluOp::Mod,
        (BPF_MOD, 1) => AluOp::SMod,
        (BPF_XOR, 0) => AluOp::Xor,
        (BPF_MOV, 0) => AluOp::Mov,
        (BPF_MOV, 8 | 16) if is_x => AluOp::MovSx(i.off as u8),
        (BPF_MOV, 32) if is_x && wide => AluOp::MovSx(32),
        (BPF_ARSH, 0) => AluOp::Arsh,
        (BPF_DIV | BPF_MOD, off) => {
            return Err(Reason::BadValue { field: "off", value: off.into(), expected: "0 or 1" });
        }
        (BPF_MOV, off) if is_x => {
            let expected = if wide { "0, 8, 16 or 32" } else { "0, 8 or 16" };
            return Err(Reason::BadValue { field: "off", value: off.into(), expected });
        }
        (_, off) => return Err(Reason::Reserved { field: "off", value: off.into() }),
    };
    Ok(Instruction::Alu { width, op: alu, dst, src })
}

fn jmp_op(op: u8) -> Option<JmpOp> {
    Some(match op {
        BPF_JEQ => JmpOp::Eq,
        BPF_JGT => JmpOp::Gt,
        BPF_JGE => JmpOp::Ge,
        BPF_JSET => JmpOp::Set,
        BPF_JNE => JmpOp::Ne,
        BPF_JSGT => JmpOp::SGt,
        BPF_JSGE => JmpOp::SGe,
        BPF_JLT => JmpOp::Lt,
        BPF_JLE => JmpOp::Le,
        BPF_JSLT => JmpOp::SLt,
        BPF_JSLE => JmpOp::SLe,
        _ => return None,
    })
}

fn decode_jmp(i: Insn) -> R<Instruction> {
    let wide = class(i.code) == BPF_JMP;
    let is_x = i.code & BPF_X != 0;
    let op = i.code & 0xf0;
    match op {
        BPF_JA => {
            if is_x {
                return Err(Reason::UnknownOpcode);
            }
            zero("dst", i.dst.into())?;
            zero("src", i.src.into())?;
            if wide {
                zero("imm", i.imm.into())?;
                Ok(Instruction::Ja { off: i.off.into(), long: false })
            } else {
                zero("off", i.off.into())?;
                Ok(Instruction::Ja { off: i.imm, long: true })
            }
        }
        BPF_CALL => {
            if !wide {
                return Err(Reason::UnknownOpcode);
            }
            if is_x {
                zero("src", i.src.into())?;
                zero("off", i.off.into())?;
                zero("imm", i.imm.into())?;
                return Ok(Instruction::Call(CallTarget::Reg(reg("dst", i.dst)?)));
            }
            zero("dst", i.dst.into())?;
            let t = match i.src {
                0 => {
                    zero("off", i.off.into())?;
                    CallTarget::Helper(i.imm)
                }
                BPF_PSEUDO_CALL => {
                    zero("off", i.off.into())?;
                    CallTarget::Local(i.imm)
                }
                BPF_PSEUDO_KFUNC_CALL => CallTarget::Kfunc { btf_id: i.imm, btf_fd_idx: i.off },
                s => {
                    return Err(Reason::BadValue {
                        field: "src",
                        value: s.into(),
                        expected: "0 (helper), 1 (bpf2bpf) or 2 (kfunc)",
                    });
                }
            };
            Ok(Instruction::Call(t))
        }
        BPF_EXIT => {
            if !wide || is_x {
                return Err(Reason::UnknownOpcode);
            }
            zero("dst", i.dst.into())?;
            zero("src", i.src.into())?;
            zero("off", i.off.into())?;
            zero("imm", i.imm.into())?;
            Ok(Instruction::Exit)
        }
        _ => {
            let jop = jmp_op(op).ok_or(Reason::UnknownOpcode)?;
            let dst = reg("dst", i.dst)?;
            let src = if is_x {
                zero("imm", i.imm.into())?;
                Source::Reg(reg("src", i.src)?)
            } else {
                zero("src", i.src.into())?;
                Source::Imm(i.imm)
            };
            let width = if wide { Width::W64 } else { Width::W32 };
            Ok(Instruction::Jmp { width, op: jop, dst, src, off: i.off })
        }
    }
}

fn decode_ld(i: Insn, next: Option<Insn>) -> R<Instruction> {
    let mode = i.code & 0xe0;
    let size = size_of(i.code);
    match mode {
        BPF_IMM if size == Size::DW => {
            let dst = reg("dst", i.dst)?;
            zero("off", i.off.into())?;
            let n = next.ok_or(Reason::TruncatedLdImm64)?;
            if n.code != 0 || n.dst != 0 || n.src != 0 || n.off != 0 {
                return Err(Reason::BadLdImm64Tail);
            }
            let hi_zero = |v: i32| {
                if v == 0 {
                    Ok(())
                } else {
                    Err(Reason::Reserved { field: "imm (second slot)", value: v.into() })
                }
            };
            let src = match i.src {
                0 => LdImm64::Imm(u64::from(i.imm as u32) | (u64::from(n.imm as u32) << 32)),
                BPF_PSEUDO_MAP_FD => {
                    hi_zero(n.imm)?;
                    LdImm64::MapFd(i.imm)
                }
                BPF_PSEUDO_MAP_VALUE => LdImm64::MapValue { fd: i.imm, off: n.imm as u32 },
                BPF_PSEUDO_BTF_ID => LdImm64::BtfId { btf_id: i.imm, btf_fd: n.imm },
                BPF_PSEUDO_FUNC => {
                    hi_zero(n.imm)?;
                    LdImm64::Func(i.imm)
                }
                BPF_PSEUDO_MAP_IDX => {
                    hi_zero(n.imm)?;
                    LdImm64::MapIdx(i.imm)
                }
                BPF_PSEUDO_MAP_IDX_VALUE => LdImm64::MapIdxValue { idx: i.imm, off: n.imm as u32 },
                s => {
                    return Err(Reason::BadValue {
                        field: "src",
                        value: s.into(),
                        expected: "a BPF_PSEUDO_* source (0..=6)",
                    });
                }
            };
            Ok(Instruction::LdImm64 { dst, src })
        }
        BPF_ABS | BPF_IND if size != Size::DW => {
            zero("dst", i.dst.into())?;
            zero("off", i.off.into())?;
            let src = if mode == BPF_ABS {
                zero("src", i.src.into())?;
                None
            } else {
                Some(reg("src", i.src)?)
            };
            Ok(Instruction::LdPacket { size, src, imm: i.imm })
        }
        _ => Err(Reason::UnknownOpcode),
    }
}

fn decode_ldx(i: Insn) -> R<Instruction> {
    let size = size_of(i.code);
    let sx = match i.code & 0xe0 {
        BPF_MEM => false,
        BPF_MEMSX if size != Size::DW => true,
        _ => return Err(Reason::UnknownOpcode),
    };
    zero("imm", i.imm.into())?;
    Ok(Instruction::Ldx { size, sx, dst: reg("dst", i.dst)?, src: reg("src", i.src)?, off: i.off })
}

fn decode_st(i: Insn) -> R<Instruction> {
    if i.code & 0xe0 != BPF_MEM {
        return Err(Reason::UnknownOpcode);
    }
    zero("src", i.src.into())?;
    Ok(Instruction::St { size: size_of(i.code), dst: reg("dst", i.dst)?, off: i.off, imm: i.imm })
}

fn decode_stx(i: Insn) -> R<Instruction> {
    let size = size_of(i.code);
    let dst = reg("dst", i.dst)?;
    let src = reg("src", i.src)?;
    match i.code & 0xe0 {
        BPF_MEM => {
            zero("imm", i.imm.into())?;
            Ok(Instruction::Stx { size, dst, src, off: i.off })
        }
        BPF_ATOMIC if matches!(size, Size::W | Size::DW) => {
            let fetch = i.imm & BPF_FETCH != 0;
            let op = match i.imm {
                BPF_XCHG => AtomicOp::Xchg,
                BPF_CMPXCHG => AtomicOp::CmpXchg,
                v if v & !BPF_FETCH == i32::from(BPF_ADD) => AtomicOp::Add { fetch },
                v if v & !BPF_FETCH == i32::from(BPF_OR) => AtomicOp::Or { fetch },
                v if v & !BPF_FETCH == i32::from(BPF_AND) => AtomicOp::And { fetch },
                v if v & !BPF_FETCH == i32::from(BPF_XOR) => AtomicOp::Xor { fetch },
                v => {
                    return Err(Reason::BadValue {
                        field: "imm",
                        value: v.into(),
                        expected: "an atomic op (add/or/and/xor [| fetch], xchg, cmpxchg)",
                    });
                }
            };
            Ok(Instruction::Atomic { size, op, dst, src, off: i.off })
        }
        _ => Err(Reason::UnknownOpcode),
    }
}
