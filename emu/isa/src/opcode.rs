//! Opcode field constants, named as in `include/uapi/linux/bpf.h` and
//! `include/uapi/linux/bpf_common.h` (RFC 9669 §3).
//!
//! An opcode byte is `class` (3 low bits) plus, for ALU/JMP classes,
//! `source` (bit 3) and `operation` (4 high bits); for load/store classes,
//! `size` (bits 3–4) and `mode` (3 high bits).

// Instruction classes (low 3 bits).
pub const BPF_LD: u8 = 0x00;
pub const BPF_LDX: u8 = 0x01;
pub const BPF_ST: u8 = 0x02;
pub const BPF_STX: u8 = 0x03;
pub const BPF_ALU: u8 = 0x04;
pub const BPF_JMP: u8 = 0x05;
pub const BPF_JMP32: u8 = 0x06;
pub const BPF_ALU64: u8 = 0x07;

/// Extracts the class from an opcode byte.
pub const fn class(code: u8) -> u8 {
    code & 0x07
}

// Source operand (bit 3) for ALU and JMP classes.
pub const BPF_K: u8 = 0x00;
pub const BPF_X: u8 = 0x08;
/// `BPF_END` byte-order source bits: to little endian (also "swap" in ALU64).
pub const BPF_TO_LE: u8 = 0x00;
/// `BPF_END` byte-order source bits: to big endian.
pub const BPF_TO_BE: u8 = 0x08;

// ALU operations (high 4 bits).
pub const BPF_ADD: u8 = 0x00;
pub const BPF_SUB: u8 = 0x10;
pub const BPF_MUL: u8 = 0x20;
pub const BPF_DIV: u8 = 0x30;
pub const BPF_OR: u8 = 0x40;
pub const BPF_AND: u8 = 0x50;
pub const BPF_LSH: u8 = 0x60;
pub const BPF_RSH: u8 = 0x70;
pub const BPF_NEG: u8 = 0x80;
pub const BPF_MOD: u8 = 0x90;
pub const BPF_XOR: u8 = 0xa0;
pub const BPF_MOV: u8 = 0xb0;
pub const BPF_ARSH: u8 = 0xc0;
pub const BPF_END: u8 = 0xd0;

// JMP operations (high 4 bits).
pub const BPF_JA: u8 = 0x00;
pub const BPF_JEQ: u8 = 0x10;
pub const BPF_JGT: u8 = 0x20;
pub const BPF_JGE: u8 = 0x30;
pub const BPF_JSET: u8 = 0x40;
pub const BPF_JNE: u8 = 0x50;
pub const BPF_JSGT: u8 = 0x60;
pub const BPF_JSGE: u8 = 0x70;
pub const BPF_CALL: u8 = 0x80;
pub const BPF_EXIT: u8 = 0x90;
pub const BPF_JLT: u8 = 0xa0;
pub const BPF_JLE: u8 = 0xb0;
pub const BPF_JSLT: u8 = 0xc0;
pub const BPF_JSLE: u8 = 0xd0;

// Load/store sizes (bits 3-4).
pub const BPF_W: u8 = 0x00;
pub const BPF_H: u8 = 0x08;
pub const BPF_B: u8 = 0x10;
pub const BPF_DW: u8 = 0x18;

// Load/store modes (high 3 bits).
pub const BPF_IMM: u8 = 0x00;
pub const BPF_ABS: u8 = 0x20;
pub const BPF_IND: u8 = 0x40;
pub const BPF_MEM: u8 = 0x60;
pub const BPF_MEMSX: u8 = 0x80;
pub const BPF_ATOMIC: u8 = 0xc0;

// Atomic operations (in `imm` of a BPF_STX|BPF_ATOMIC instruction).
pub const BPF_FETCH: i32 = 0x01;
pub const BPF_XCHG: i32 = 0xe0 | BPF_FETCH;
pub const BPF_CMPXCHG: i32 = 0xf0 | BPF_FETCH;

// `src_reg` values of BPF_LD|BPF_IMM|BPF_DW (uapi `BPF_PSEUDO_*`).
pub const BPF_PSEUDO_MAP_FD: u8 = 1;
pub const BPF_PSEUDO_MAP_VALUE: u8 = 2;
pub const BPF_PSEUDO_BTF_ID: u8 = 3;
pub const BPF_PSEUDO_FUNC: u8 = 4;
pub const BPF_PSEUDO_MAP_IDX: u8 = 5;
pub const BPF_PSEUDO_MAP_IDX_VALUE: u8 = 6;

// `src_reg` values of BPF_JMP|BPF_CALL.
pub const BPF_PSEUDO_CALL: u8 = 1;
pub const BPF_PSEUDO_KFUNC_CALL: u8 = 2;

/// Number of registers: r0..r9 plus the read-only frame pointer r10.
pub const MAX_BPF_REG: u8 = 11;
/// The frame pointer register.
pub const BPF_REG_FP: u8 = 10;

/// `BPF_MAXINSNS` from uapi: the unprivileged program size limit.
pub const BPF_MAXINSNS: usize = 4096;
/// `MAX_BPF_STACK` (include/linux/filter.h): bytes of stack per frame.
pub const MAX_BPF_STACK: usize = 512;
/// `MAX_CALL_FRAMES` (include/linux/bpf_verifier.h).
pub const MAX_CALL_FRAMES: usize = 8;
/// `MAX_TAIL_CALL_CNT` (include/linux/bpf.h), 33 since v5.17.
pub const MAX_TAIL_CALL_CNT: u32 = 33;
/// Helper id of `bpf_tail_call` (uapi `BPF_FUNC_tail_call`).
pub const BPF_FUNC_TAIL_CALL: i32 = 12;
