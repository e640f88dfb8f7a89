//! `bpfemu jit`: compile a program with the x86-64 JIT and print its size,
//! or (`--disasm`) its native code, each BPF instruction followed by the
//! x86-64 instructions it became (`JitProgram::native_offsets`), decoded
//! by iced-x86 in Intel syntax — what `bpftool prog dump jited` prints for
//! a kernel program.
//!
//! Helpers are bound as `bpfemu exec` binds them (the conformance suite's).
//! Code before the first instruction's is the prologue; out-of-line code
//! after the last instruction's (shared aborts) is listed under it.

use crate::input::{InputFormat, load_program};
use anyhow::{Result, anyhow};
use bpfemu_isa::disasm;
use bpfemu_vm::{Interpreter, JitProgram, Program};
use clap::Args;
use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct JitArgs {
    /// Print the native code with the BPF instruction it came from.
    #[arg(long)]
    pub disasm: bool,
    /// Program: raw bytes, `.s` (kernel syntax), `.ubpf`, or a conformance `.data` file.
    pub file: PathBuf,
    /// Input format.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: InputFormat,
}

pub fn jit(a: JitArgs) -> Result<ExitCode> {
    let loaded = load_program(&a.file, a.format)?;
    let prog = Program::new(&loaded.insns).map_err(|e| anyhow!("{}: {e}", a.file.display()))?;
    let mut vm = Interpreter::new();
    bpfemu_conformance::register_suite_helpers(&mut vm);
    let jit = JitProgram::compile(&prog, &vm).map_err(|e| anyhow!("{}: {e}", a.file.display()))?;
    if !a.disasm {
        println!("jited {}B from {} instructions", jit.code().len(), loaded.insns.len());
        return Ok(ExitCode::SUCCESS);
    }
    let listing: BTreeMap<usize, String> = disasm::disasm_program_with(&loaded.insns, disasm::Syntax::Kernel)
        .map_err(|e| anyhow!("{}: {e}", a.file.display()))?
        .into_iter()
        .collect();
    print!("{}", render(&jit.code(), jit.native_offsets(), &listing));
    Ok(ExitCode::SUCCESS)
}

/// The listing: `; slot: bpf insn` headers, then `offset: bytes  x86`.
pub(crate) fn render(code: &[u8], offsets: &[usize], listing: &BTreeMap<usize, String>) -> String {
    let mut out = String::new();
    let mut dec = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    let mut fmt = IntelFormatter::new();
    let mut insn = Instruction::default();
    let mut text = String::new();
    let mut next = 0;
    if offsets.first().is_some_and(|&o| o > 0) {
        out.push_str("; prologue\n");
    }
    while dec.can_decode() {
        dec.decode_out(&mut insn);
        let ip = insn.ip() as usize;
        while next < offsets.len() && offsets[next] <= ip {
            if let Some(l) = listing.get(&next) {
                let _ = writeln!(out, "; {next:>4}: {l}");
            }
            next += 1;
        }
        text.clear();
        fmt.format(&insn, &mut text);
        let bytes: Vec<String> = code[ip..ip + insn.len()].iter().map(|b| format!("{b:02x}")).collect();
        let _ = writeln!(out, "  {ip:5x}:  {:<32} {text}", bytes.join(" "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bpf_instruction_heads_its_native_code() {
        let insns = bpfemu_isa::asm::kernel::assemble("r0 = 1\nr0 += 2\nexit").unwrap();
        let prog = Program::new(&insns).unwrap();
        let jit = JitProgram::compile(&prog, &Interpreter::new()).unwrap();
        let listing: BTreeMap<usize, String> =
            disasm::disasm_program_with(&insns, disasm::Syntax::Kernel).unwrap().into_iter().collect();
        let text = render(&jit.code(), jit.native_offsets(), &listing);
        let heads: Vec<&str> = text.lines().filter(|l| l.starts_with("; ")).collect();
        assert!(heads.iter().any(|l| l.ends_with("0: r0 = 1")), "{text}");
        assert!(heads.iter().any(|l| l.ends_with("1: r0 += 2")), "{text}");
        assert!(heads.iter().any(|l| l.ends_with("2: exit")), "{text}");
        // The entry's patchable NOP is decoded.
        assert!(text.contains("0f 1f 44 00 00"), "{text}");
        assert!(text.contains("ret"), "{text}");
    }
}
