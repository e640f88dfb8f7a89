//! The mnemonic tables: ALU and jump operations, access sizes, byte swaps
//! and memory mnemonics.

use crate::opcode::*;

pub(super) const ALU_OPS: [(&str, u8, i16); 14] = [
    ("add", BPF_ADD, 0),
    ("sub", BPF_SUB, 0),
    ("mul", BPF_MUL, 0),
    ("div", BPF_DIV, 0),
    ("sdiv", BPF_DIV, 1),
    ("or", BPF_OR, 0),
    ("and", BPF_AND, 0),
    ("lsh", BPF_LSH, 0),
    ("rsh", BPF_RSH, 0),
    ("mod", BPF_MOD, 0),
    ("smod", BPF_MOD, 1),
    ("xor", BPF_XOR, 0),
    ("mov", BPF_MOV, 0),
    ("arsh", BPF_ARSH, 0),
];

pub(super) const MOVSX: [(&str, u8, i16); 5] = [
    ("movsx864", BPF_ALU64, 8),
    ("movsx832", BPF_ALU, 8),
    ("movsx1664", BPF_ALU64, 16),
    ("movsx1632", BPF_ALU, 16),
    ("movsx3264", BPF_ALU64, 32),
];

pub(super) const JMP_OPS: [(&str, u8); 11] = [
    ("jeq", BPF_JEQ),
    ("jgt", BPF_JGT),
    ("jge", BPF_JGE),
    ("jset", BPF_JSET),
    ("jne", BPF_JNE),
    ("jsgt", BPF_JSGT),
    ("jsge", BPF_JSGE),
    ("jlt", BPF_JLT),
    ("jle", BPF_JLE),
    ("jslt", BPF_JSLT),
    ("jsle", BPF_JSLE),
];

pub(super) const SIZES: [(&str, u8); 4] = [("b", BPF_B), ("h", BPF_H), ("w", BPF_W), ("dw", BPF_DW)];

/// Splits a trailing `32` (the 32-bit ALU/JMP32 variant) off a mnemonic.
pub(super) fn split_width(m: &str) -> (&str, bool) {
    match m.strip_suffix("32") {
        Some(base) => (base, true),
        None => (m, false),
    }
}

/// `le16`.., `be16`.., `swap16`.. / `bswap16`..: opcode and bit width.
pub(super) fn endian(m: &str) -> Option<(u8, i32)> {
    let (code, bits) = if let Some(b) = m.strip_prefix("be") {
        (BPF_ALU | BPF_END | BPF_TO_BE, b)
    } else if let Some(b) = m.strip_prefix("le") {
        (BPF_ALU | BPF_END | BPF_TO_LE, b)
    } else {
        let b = m.strip_prefix("bswap").or_else(|| m.strip_prefix("swap"))?;
        (BPF_ALU64 | BPF_END | BPF_TO_LE, b)
    };
    let bits = match bits {
        "16" => 16,
        "32" => 32,
        "64" => 64,
        _ => return None,
    };
    Some((code, bits))
}

/// `ldx*`, `ldxs*`, `st*`, `stx*`: the opcode.
pub(super) fn mem_mnemonic(m: &str) -> Option<u8> {
    let size = |s: &str| SIZES.iter().find(|e| e.0 == s).map(|e| e.1);
    if let Some(s) = m.strip_prefix("ldxs") {
        return size(s).filter(|&b| b != BPF_DW).map(|b| BPF_LDX | BPF_MEMSX | b);
    }
    if let Some(s) = m.strip_prefix("ldx") {
        return size(s).map(|b| BPF_LDX | BPF_MEM | b);
    }
    if let Some(s) = m.strip_prefix("stx") {
        return size(s).map(|b| BPF_STX | BPF_MEM | b);
    }
    m.strip_prefix("st").and_then(size).map(|b| BPF_ST | BPF_MEM | b)
}
