//! `bpfemu exec`: run one program on the checked interpreter.
//!
//! Until the verifier exists (issue 5) every program run from the command
//! line is unverified, so it runs in checked mode: each memory access is
//! validated against the input buffer and the stack, and a step budget
//! stops runaway loops.

use crate::input::{InputFormat, load_program, parse_hex_bytes};
use anyhow::{Context, Result, bail};
use bpfemu_isa::disasm;
use bpfemu_vm::{Interpreter, MemRegion, Program, TraceStep};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// Execution engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// The reference interpreter (checked mode).
    Interp,
    /// The x86-64 JIT (`conformance` only: it runs after the checked
    /// interpreter and is compared with it).
    Jit,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Program: raw bytes, `.s` (kernel syntax), `.ubpf`, or a conformance `.data` file.
    pub file: PathBuf,
    /// Input format.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: InputFormat,
    /// Memory buffer as hex bytes (`'de ad be ef'`); r1 points at it, r2 holds its length.
    #[arg(long, conflicts_with = "mem_file")]
    pub mem: Option<String>,
    /// Memory buffer read from a file.
    #[arg(long)]
    pub mem_file: Option<PathBuf>,
    /// Print every executed instruction with the registers before it.
    #[arg(long)]
    pub trace: bool,
    /// Execution engine.
    #[arg(long, value_enum, default_value = "interp")]
    pub engine: Engine,
    /// Stop with an error after this many instructions.
    #[arg(long, default_value_t = 100_000_000)]
    pub max_steps: u64,
}

pub fn exec(a: ExecArgs) -> Result<ExitCode> {
    if a.engine == Engine::Jit {
        bail!(
            "--engine jit: `exec` runs unverified programs, which only the checked interpreter may run; \
             see `bpfemu jit --disasm`, `bpfemu conformance --engine jit` or a scenario with --engine jit"
        );
    }
    let loaded = load_program(&a.file, a.format)?;
    let mut mem = match (&a.mem, &a.mem_file) {
        (Some(h), _) => parse_hex_bytes(h)?,
        (None, Some(p)) => std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?,
        (None, None) => loaded.mem.clone().unwrap_or_default(),
    };
    let prog = Program::new(&loaded.insns).map_err(|e| anyhow::anyhow!("{}: {e}", a.file.display()))?;
    let mut vm = Interpreter::new();
    bpfemu_conformance::register_suite_helpers(&mut vm);
    vm.set_step_limit(Some(a.max_steps));
    let region = MemRegion::from_mut_slice("mem", &mut mem);
    let args = [region.start(), region.len()];
    let regions = [region];
    let r0 = if a.trace {
        let mut print = |s: &TraceStep| {
            let regs: Vec<String> =
                s.regs[..10].iter().enumerate().map(|(i, v)| format!("r{i}={v:#x}")).collect();
            println!(
                "{:>5}: {:<36} ; {}",
                s.pc,
                disasm::disasm_insn_with(s.insn, disasm::Syntax::Kernel),
                regs.join(" ")
            );
        };
        vm.run_traced(&prog, &args, &regions, &mut print)
    } else {
        vm.run_checked(&prog, &args, &regions)
    }
    .map_err(|e| anyhow::anyhow!("{}: {e}", a.file.display()))?;
    println!("r0 = {r0:#x} ({})", r0 as i64);
    if let Some(want) = loaded.expected
        && want != r0
    {
        println!("expected r0 = {want:#x} (from the .data file): MISMATCH");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
