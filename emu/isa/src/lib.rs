//! # bpfemu-isa — the BPF instruction set
//!
//! The complete instruction set of RFC 9669 (ISA v1–v4) as Linux defines it
//! in `include/uapi/linux/bpf.h` and checks it in `kernel/bpf/verifier.c`:
//! raw slots ([`Insn`]), a decoded model ([`Instruction`]), a strict
//! decoder that rejects every non-zero reserved field, and its inverse
//! encoder.
//!
//! Not here: semantics (see `bpfemu-vm`) and verification (the verifier
//! crate). The decoder checks encodings only; whether a jump lands inside the
//! program or r10 is written to are the verifier's questions.

pub mod asm;
pub mod decode;
pub mod disasm;
pub mod encode;
pub mod insn;
pub mod instr;
pub mod opcode;

pub use decode::{DecodeError, Reason, decode_at, decode_program};
pub use encode::encode_program;
pub use insn::{Insn, insns_from_bytes, insns_to_bytes};
pub use instr::*;

#[cfg(test)]
mod tests;
