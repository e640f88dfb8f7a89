//! Operator and mnemonic spellings: ALU, jump and atomic operators, byte
//! swaps, and the names of the atomic functions.

use crate::instr::*;

pub(super) fn alu_op(sym: &str) -> Option<AluOp> {
    Some(match sym {
        "+=" => AluOp::Add,
        "-=" => AluOp::Sub,
        "*=" => AluOp::Mul,
        "/=" => AluOp::Div,
        "s/=" => AluOp::SDiv,
        "|=" => AluOp::Or,
        "&=" => AluOp::And,
        "<<=" => AluOp::Lsh,
        ">>=" => AluOp::Rsh,
        "%=" => AluOp::Mod,
        "s%=" => AluOp::SMod,
        "^=" => AluOp::Xor,
        "s>>=" => AluOp::Arsh,
        _ => return None,
    })
}

pub(super) fn jmp_op(sym: &str) -> Option<JmpOp> {
    Some(match sym {
        "==" => JmpOp::Eq,
        ">" => JmpOp::Gt,
        ">=" => JmpOp::Ge,
        "&" => JmpOp::Set,
        "!=" => JmpOp::Ne,
        "s>" => JmpOp::SGt,
        "s>=" => JmpOp::SGe,
        "<" => JmpOp::Lt,
        "<=" => JmpOp::Le,
        "s<" => JmpOp::SLt,
        "s<=" => JmpOp::SLe,
        _ => return None,
    })
}

/// Atomic ALU operations by their `op=` symbol in `lock` statements.
pub(super) fn lock_op(sym: &str) -> Option<AtomicOp> {
    Some(match sym {
        "+=" => AtomicOp::Add { fetch: false },
        "|=" => AtomicOp::Or { fetch: false },
        "&=" => AtomicOp::And { fetch: false },
        "^=" => AtomicOp::Xor { fetch: false },
        _ => return None,
    })
}

pub(super) fn fetch_op(name: &str) -> Option<AtomicOp> {
    Some(match name {
        "fetch_add" => AtomicOp::Add { fetch: true },
        "fetch_or" => AtomicOp::Or { fetch: true },
        "fetch_and" => AtomicOp::And { fetch: true },
        "fetch_xor" => AtomicOp::Xor { fetch: true },
        "xchg" => AtomicOp::Xchg,
        "cmpxchg" => AtomicOp::CmpXchg,
        _ => return None,
    })
}

pub(super) fn endian_name(name: &str) -> Option<(EndianOp, u8)> {
    let (op, bits) = if let Some(b) = name.strip_prefix("bswap") {
        (EndianOp::Swap, b)
    } else if let Some(b) = name.strip_prefix("be") {
        (EndianOp::ToBe, b)
    } else {
        (EndianOp::ToLe, name.strip_prefix("le")?)
    };
    match bits {
        "16" => Some((op, 16)),
        "32" => Some((op, 32)),
        "64" => Some((op, 64)),
        _ => None,
    }
}

pub(super) enum AtomicSpelling {
    /// `atomic_...((u32 *)(rN +off), ...)`; `wide` for `atomic64_`.
    Kernel { wide: bool },
    /// `xchg_64(rN + off, ...)` and friends: the size is in the name.
    Llvm(Size),
}

pub(super) fn parse_atomic_name(name: &str) -> Option<(AtomicOp, AtomicSpelling)> {
    let llvm = match name {
        "xchg_64" => Some((AtomicOp::Xchg, Size::DW)),
        "xchg32_32" => Some((AtomicOp::Xchg, Size::W)),
        "cmpxchg_64" => Some((AtomicOp::CmpXchg, Size::DW)),
        "cmpxchg32_32" => Some((AtomicOp::CmpXchg, Size::W)),
        _ => None,
    };
    if let Some((op, size)) = llvm {
        return Some((op, AtomicSpelling::Llvm(size)));
    }
    if let Some(rest) = name.strip_prefix("atomic64_") {
        return Some((fetch_op(rest)?, AtomicSpelling::Kernel { wide: true }));
    }
    let rest = name.strip_prefix("atomic_")?;
    Some((fetch_op(rest)?, AtomicSpelling::Kernel { wide: false }))
}
