//! Assembler for the pseudo-C syntax of the kernel verifier log
//! (kernel/bpf/disasm.c) and of LLVM's BPF assembler (BPFAsmParser,
//! `llvm-mc -triple bpfel`), the inverse of [`crate::disasm`].
//!
//! Accepted, one statement per line:
//! - everything [`crate::disasm`] prints in either syntax: `r0 = *(u32 *)(r1 +4)`
//!   and `r0 = *(u32 *)(r1 + 4)`, `if w1 s> 0x5 goto pc+3` and
//!   `if w1 s> 5 goto +3`, `call bpf_map_lookup_elem#1` and `call 1`,
//!   `r1 = map[fd:3]`, `ld_pseudo r1, 1, 3`, `gotol pc+100`, all atomics;
//! - LLVM's input forms: `w0 = *(u32 *)(r1 + 4)`, `*(u32 *)(r1 + 4) = w2`,
//!   `lock *(u32 *)(r10 - 4) += w1`, `r0 = 5 ll`;
//! - labels (`name:`, alone or before a statement) as jump and call targets
//!   (`goto name`, `if r1 == 0 goto name`, `call name` for a bpf2bpf call);
//! - comments from `;`, `//` or a `#` that starts a word, to end of line;
//! - the verifier log's `12: (b7) ` prefix, which is skipped.
//!
//! Not supported: assembler directives (`.text`, `.globl`), symbolic
//! expressions, relocations, and data. Immediates are decimal or `0x` hex;
//! a 32-bit field takes `-2^31 ..= 2^32-1` (so `0xffffffff` is `-1`), a
//! 64-bit load `-2^63 ..= 2^64-1`, an offset `-32768 ..= 32767`.

mod assign;
mod jumps;
mod labels;
mod ld_imm64;
mod lexer;
mod memory;
mod ops;
mod parser;
#[cfg(test)]
mod tests;

use crate::decode::decode_at;
use crate::encode::encode_program;
use crate::insn::Insn;
use crate::instr::*;
use labels::resolve;
use lexer::{Tok, lex, reg_name, strip_comment, strip_listing_prefix};
use parser::{PResult, Parser, err};
use std::collections::HashMap;
use std::fmt;

/// An assembly error: 1-based source line and column, and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsmError {
    pub line: usize,
    /// 1-based byte column of the offending token (end of line if missing).
    pub column: usize,
    pub message: String,
}

impl fmt::Display for AsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for AsmError {}

/// Assembles source text into instruction slots.
pub fn assemble(src: &str) -> Result<Vec<Insn>, AsmError> {
    let prog: Vec<Instruction> = assemble_instructions(src)?.into_iter().map(|(_, i)| i).collect();
    Ok(encode_program(&prog))
}

/// Assembles source text into decoded instructions, each with the 1-based
/// line it came from.
pub fn assemble_instructions(src: &str) -> Result<Vec<(usize, Instruction)>, AsmError> {
    let mut items = Vec::new();
    let mut labels: HashMap<String, (usize, usize)> = HashMap::new();
    let mut pc = 0;
    for (idx, raw) in src.lines().enumerate() {
        let line = idx + 1;
        let at = |(column, message)| AsmError { line, column, message };
        let code = strip_comment(raw);
        let text = strip_listing_prefix(code);
        let base = code.len() - text.len();
        let toks = lex(text, base).map_err(at)?;
        let mut p = Parser { toks: &toks, pos: 0, end_col: base + text.len() + 1 };
        while let (Some(Tok::Ident(name)), Some(Tok::Op(":"))) = (p.peek_at(0), p.peek_at(1)) {
            if reg_name(name).is_some() {
                return Err(at((p.col(), format!("'{name}' is a register, not a label"))));
            }
            if let Some((_, first)) = labels.get(name.as_str()) {
                let msg = format!("duplicate label '{name}' (first defined on line {first})");
                return Err(at((p.col(), msg)));
            }
            labels.insert(name.clone(), (pc, line));
            p.pos += 2;
        }
        if p.at_end() {
            continue;
        }
        let col = p.col();
        let stmt = p.statement().map_err(at)?;
        if !p.at_end() {
            return Err(at((p.col(), format!("unexpected {} after the instruction", p.describe()))));
        }
        let slots = stmt.ins.slots();
        items.push((line, col, pc, stmt));
        pc += slots;
    }
    items
        .into_iter()
        .map(|(line, col, pc, stmt)| {
            let ins = resolve(stmt, pc, &labels)
                .and_then(|ins| validate(ins, col).map(|()| ins))
                .map_err(|(column, message)| AsmError { line, column, message })?;
            Ok((line, ins))
        })
        .collect()
}

/// Checks that an instruction encodes to slots that decode back to it, so
/// that no invalid encoding (e.g. `w1 = (s32)w2`) leaves the assembler.
fn validate(ins: Instruction, col: usize) -> PResult<()> {
    let slots = ins.encode();
    match decode_at(&slots, 0) {
        Ok(back) if back == ins => Ok(()),
        Ok(_) => err(col, "instruction does not encode losslessly"),
        Err(e) => err(col, format!("invalid instruction: {}", e.reason)),
    }
}
