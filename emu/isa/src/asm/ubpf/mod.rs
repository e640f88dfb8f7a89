//! The uBPF assembly dialect used by the bpf_conformance suite.
//!
//! Upstream counterpart: `src/bpf_assembler.cc` of Alan-Jowett/bpf_conformance
//! (itself modelled on uBPF's `asm_parser.py`). Mnemonics, encodings, operand
//! rules and error texts follow it; the differences are listed below.
//!
//! # Syntax
//! One instruction per line; `#` starts a comment; `name:` defines a label
//! (it may be followed by an instruction on the same line). Operands are
//! separated by commas and/or whitespace. Registers are `%r0`..`%r10`
//! (`%r11`..`%r15` are accepted, as upstream does, so that negative tests can
//! be written; the strict decoder rejects them). Numbers are decimal or `0x`
//! hex with an optional sign. Memory operands are `[%rN]`, `[%rN+off]`,
//! `[%rN-off]`. Jump targets are labels or signed offsets (`+4`, `-2`); the
//! label `exit` names the first `exit` instruction unless defined explicitly.
//!
//! | form | encoding |
//! |---|---|
//! | `add sub mul div sdiv or and lsh rsh mod smod xor mov arsh` (+`32`) `%rD, %rS\|imm` | ALU64 (ALU with `32`); sdiv/smod have off = 1 |
//! | `neg` / `neg32 %rD` | ALU64 / ALU NEG |
//! | `movsx864 movsx832 movsx1664 movsx1632 movsx3264 %rD, %rS` | MOV with off = 8/16/32, ALU64 (`..64`) or ALU (`..32`) |
//! | `le16/32/64`, `be16/32/64`, `swap16/32/64` (alias `bswapN`) `%rD` | ALU END TO_LE / TO_BE, ALU64 END |
//! | `ja target`, `ja32 target` | JMP JA (off) / JMP32 JA (imm) |
//! | `jeq jgt jge jset jne jsgt jsge jlt jle jslt jsle` (+`32`) `%rD, %rS\|imm, target` | JMP / JMP32 |
//! | `call N`, `call helper N` / `call %rN` / `call local target` / `call runtime N` | helper / callx (0x8d, reg in dst) / src 1 / src 2 (kfunc, off 0) |
//! | `exit` | JMP EXIT |
//! | `lddw %rD, imm64` | LD IMM DW, src 0 |
//! | `ldx{b,h,w,dw} %rD, [%rS+off]`, `ldxs{b,h,w}` | LDX MEM / MEMSX |
//! | `st{b,h,w,dw} [%rD+off], imm`, `stx{b,h,w,dw} [%rD+off], %rS` | ST / STX MEM |
//! | `lock [fetch] add\|or\|and\|xor[32] [%rD+off], %rS`, `lock xchg[32]`, `lock cmpxchg[32]` | STX ATOMIC DW (W with `32`) |
//!
//! # Differences from upstream
//! - Numbers are parsed strictly (no trailing garbage) and range-checked:
//!   32-bit immediates must lie in `-2^31 ..= 2^32-1` (values above
//!   `i32::MAX` wrap as u32, as upstream's `_decode_imm32` does), `lddw` in
//!   `-2^63 ..= 2^64-1`, memory offsets in `i16`; jump distances must fit their
//!   field. Upstream silently truncates all of these.
//! - Numeric `ja32`/`call local` offsets are signed 32-bit (upstream
//!   zero-extends a 16-bit value).
//! - Every operand-count error of `lock` reads "Invalid number of operands for
//!   lock" (upstream says "... for mnemonic: or" for `lock or [%r10-8]`, while
//!   `negative/invalid_lock.data` expects the former).
//! - An explicit `exit:` label takes precedence over the implicit one.
//!
//! # Not expressible
//! Pseudo `lddw` sources (map fd/value, BTF id, func, map idx), kfunc calls
//! with a non-zero BTF fd index (`off`), and legacy `BPF_LD|BPF_ABS/BPF_IND`.
//! [`disassemble`] reports those as a [`DecodeError`] with
//! [`Reason::BadValue`] rather than emitting text that would not round-trip.

mod assembler;
mod disassembler;
mod mnemonics;
mod operands;

use crate::decode::{DecodeError, Reason, decode_program};
use crate::insn::Insn;
use assembler::Assembler;
use disassembler::format_insn;

/// An assembly error: the 1-based source line and the message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct UbpfAsmError {
    pub line: usize,
    pub message: String,
}

/// Assembles uBPF-dialect source into raw instruction slots.
pub fn assemble(src: &str) -> Result<Vec<Insn>, UbpfAsmError> {
    let mut asm = Assembler::default();
    for (i, text) in src.lines().enumerate() {
        asm.line(i + 1, text).map_err(|message| UbpfAsmError { line: i + 1, message })?;
    }
    asm.finish()
}

/// Disassembles slots into the same dialect, one instruction per line,
/// jump targets as numeric offsets. Fails on what the strict decoder rejects
/// and on the forms the dialect cannot express (see the module docs).
pub fn disassemble(insns: &[Insn]) -> Result<String, DecodeError> {
    let mut out = String::new();
    for (index, ins) in decode_program(insns)? {
        let text = format_insn(&ins).map_err(|(field, expected)| {
            let raw = insns.get(index).copied().unwrap_or_default();
            let value = match field {
                "src" => raw.src.into(),
                "off" => raw.off.into(),
                _ => raw.code.into(),
            };
            DecodeError { index, code: raw.code, reason: Reason::BadValue { field, value, expected } }
        })?;
        out.push_str(&text);
        out.push('\n');
    }
    Ok(out)
}
