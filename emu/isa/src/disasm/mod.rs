//! Disassembler: [`Instruction`]s as text, in the pseudo-C syntax of the
//! kernel's verifier log (`print_bpf_insn()` in kernel/bpf/disasm.c) or of
//! `llvm-objdump -d` (LLVM's BPFInstPrinter).
//!
//! The two syntaxes differ in spacing, number formats and the spelling of
//! calls and atomics:
//!
//! | form        | [`Syntax::Kernel`]                         | [`Syntax::Llvm`]                |
//! |-------------|--------------------------------------------|---------------------------------|
//! | memory      | `r0 = *(u32 *)(r1 +4)`                     | `r0 = *(u32 *)(r1 + 4)`         |
//! | branch      | `if w1 s> 0x5 goto pc+3`                   | `if w1 s> 5 goto +3`            |
//! | 64-bit load | `r1 = 0x1122334455667788 ll`               | `r1 = 1234605616436508552 ll`   |
//! | helper call | `call bpf_map_lookup_elem#1`               | `call 1`                        |
//! | atomics     | `r1 = atomic64_xchg((u64 *)(r2 +0), r1)`   | `r1 = xchg_64(r2 + 0, r1)`      |
//!
//! Deviations, chosen so that every line re-assembles to the same bytes with
//! [`crate::asm::kernel::assemble`]:
//! - Kernel syntax appends ` ll` to a plain 64-bit constant load (the kernel
//!   prints `r1 = 0x1122334455667788`, which reads like a 32-bit move).
//! - Pseudo 64-bit loads print as bpftool does (`map[idx:1]+8`,
//!   `subprog[+5]`) but with fds where bpftool shows map ids (`map[fd:3]`,
//!   `map[fd:3][0]+16`); BTF ids print as `btf_id[77]` or
//!   `btf_id[77][btf_fd:4]`. The kernel itself prints `0x0` or an address.
//! - A kfunc call with a module BTF slot prints
//!   `call kernel-function#ID[btf_fd_idx:N]`; `callx r2` is printed as LLVM
//!   does (the kernel's disasm.c has no case for it).
//! - LLVM syntax: a bpf2bpf call prints `call pc+N` and a kfunc call as in
//!   kernel syntax (llvm-objdump prints `call N` for both, like a helper);
//!   `ld_pseudo r1, SRC, IMM` is used only when the second slot's `imm` is 0
//!   (llvm-objdump drops it), otherwise the kernel form; 32-bit atomics print
//!   `w` registers (llvm-objdump 14 decodes most of them only with
//!   `--mattr=+alu32`); ISA v4 forms that LLVM 14 does not know use the
//!   syntax of later LLVM versions (`r1 s/= r2`, `r1 = (s8)r2`,
//!   `r0 = *(s16 *)(r1 + 2)`, `r1 = bswap32 r1`, `gotol +100`,
//!   `*(u32 *)(r1 + 4) = 5`), and `BPF_JSET` prints `if r1 & 7 goto +3`.

mod helpers;
mod print;
#[cfg(test)]
mod tests;

pub use helpers::{helper_id, helper_name};

use crate::decode::{DecodeError, decode_program};
use crate::insn::Insn;
use crate::instr::Instruction;
use std::fmt::Write as _;

/// Which printer's text to produce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Syntax {
    /// The kernel verifier log / bpftool (`kernel/bpf/disasm.c`).
    #[default]
    Kernel,
    /// `llvm-objdump -d` (LLVM's `BPFInstPrinter`).
    Llvm,
}

/// One instruction in kernel syntax (the verifier log's text, without the
/// `idx: (code)` prefix).
pub fn disasm_insn(ins: &Instruction) -> String {
    disasm_insn_with(ins, Syntax::Kernel)
}

/// One instruction in the chosen syntax.
pub fn disasm_insn_with(ins: &Instruction, syntax: Syntax) -> String {
    print::insn(ins, syntax)
}

/// Disassembles a program in kernel syntax: each instruction's text with the
/// index of its first slot (a 64-bit load takes two).
pub fn disasm_program(insns: &[Insn]) -> Result<Vec<(usize, String)>, DecodeError> {
    disasm_program_with(insns, Syntax::Kernel)
}

/// Disassembles a program in the chosen syntax.
pub fn disasm_program_with(insns: &[Insn], syntax: Syntax) -> Result<Vec<(usize, String)>, DecodeError> {
    Ok(decode_program(insns)?.into_iter().map(|(pc, ins)| (pc, disasm_insn_with(&ins, syntax))).collect())
}

/// The program as the verifier log lists it: one line per instruction,
/// `idx: (code) text`, e.g. `0: (b7) r0 = 1`, each ending in a newline.
pub fn format_listing(insns: &[Insn]) -> Result<String, DecodeError> {
    let mut out = String::new();
    for (pc, ins) in decode_program(insns)? {
        let code = insns.get(pc).map_or(0, |i| i.code);
        // Writing into a String cannot fail.
        let _ = writeln!(out, "{pc}: ({code:02x}) {}", disasm_insn(&ins));
    }
    Ok(out)
}
