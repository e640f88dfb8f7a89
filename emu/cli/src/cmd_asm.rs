//! `bpfemu asm` and `bpfemu disasm`.

use crate::input::{InputFormat, load_program};
use anyhow::{Context, Result};
use bpfemu_isa::{asm, disasm, insns_to_bytes};
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Output syntax of a listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Syntax {
    /// The kernel verifier log: `0: (61) r0 = *(u32 *)(r1 +4)`.
    Kernel,
    /// llvm-objdump's: `r0 = *(u32 *)(r1 + 4)`.
    Llvm,
    /// The uBPF dialect of bpf_conformance: `ldxw %r0, [%r1+4]`.
    Ubpf,
}

#[derive(Debug, Args)]
pub struct AsmArgs {
    /// Assembly source file.
    pub file: PathBuf,
    /// Source format (auto: from the extension; `.ubpf` is uBPF, else kernel syntax).
    #[arg(long, value_enum, default_value = "auto")]
    pub format: InputFormat,
    /// Write raw instruction bytes here (default: hex words on stdout).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DisasmArgs {
    /// Program file: raw instruction bytes, or assembly / `.data` (re-printed).
    pub file: PathBuf,
    /// Input format.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: InputFormat,
    /// Listing syntax.
    #[arg(long, value_enum, default_value = "kernel")]
    pub syntax: Syntax,
}

pub fn asm(a: AsmArgs) -> Result<ExitCode> {
    let fmt = match a.format {
        InputFormat::Auto if a.file.extension().is_some_and(|e| e == "ubpf") => InputFormat::Ubpf,
        InputFormat::Auto => InputFormat::Kernel,
        f => f,
    };
    let prog = load_program(&a.file, fmt)?;
    match a.output {
        Some(out) => {
            std::fs::write(&out, insns_to_bytes(&prog.insns))
                .with_context(|| format!("cannot write {}", out.display()))?;
        }
        None => {
            let mut so = std::io::stdout().lock();
            for i in &prog.insns {
                writeln!(so, "0x{:016x}", i.to_u64())?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn disasm(a: DisasmArgs) -> Result<ExitCode> {
    let prog = load_program(&a.file, a.format)?;
    let text = match a.syntax {
        Syntax::Kernel => disasm::format_listing(&prog.insns)?,
        Syntax::Llvm => {
            let mut s = String::new();
            for (pc, ins) in bpfemu_isa::decode_program(&prog.insns)? {
                s.push_str(&format!("{pc:>6}:\t{}\n", disasm::disasm_insn_with(&ins, disasm::Syntax::Llvm)));
            }
            s
        }
        Syntax::Ubpf => asm::ubpf::disassemble(&prog.insns)?,
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}
