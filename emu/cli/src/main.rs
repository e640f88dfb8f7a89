//! `bpfemu`: the command-line front end.
//!
//! Each subcommand lives in its own module; errors are reported as one line
//! (`bpfemu: error: ...`) with a non-zero exit status.

mod cmd_asm;
mod cmd_bench;
mod cmd_btf;
mod cmd_conformance;
mod cmd_exec;
mod cmd_explore;
#[cfg(target_arch = "x86_64")]
mod cmd_jit;
mod cmd_obj;
mod cmd_run;
mod cmd_test;
mod cmd_verify;
mod input;
mod verify_obj;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// bpfemu — a deterministic emulator of the Linux BPF subsystem.
#[derive(Debug, Parser)]
#[command(
    name = "bpfemu",
    version,
    about = "bpfemu — a deterministic emulator of the Linux BPF subsystem",
    after_help = "Examples:\n  bpfemu asm bench/programs/primes.s -o primes.bin\n  \
                  bpfemu disasm primes.bin\n  bpfemu exec bench/programs/primes.s --trace\n  \
                  bpfemu jit --disasm bench/programs/primes.s\n  \
                  bpfemu verify prog.s --type syscall --map hash:4:8:1024 --log-level 2\n  \
                  bpfemu conformance ../shared/conformance\n  \
                  bpfemu btf dump --format c --out vmlinux.h\n  \
                  bpfemu run scenarios/core/progs/test_run.scn\n  bpfemu test scenarios\n  \
                  bpfemu explore scenarios/core/maps/concurrent_update.scn --seeds 0..50"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Assemble a program (kernel pseudo-C or uBPF syntax) into raw instructions.
    Asm(cmd_asm::AsmArgs),
    /// Disassemble raw instructions (or re-print an assembly file) as a listing.
    Disasm(cmd_asm::DisasmArgs),
    /// Run a program on the interpreter and print r0.
    Exec(cmd_exec::ExecArgs),
    /// Compile a program with the x86-64 JIT; `--disasm` prints the native code.
    #[cfg(target_arch = "x86_64")]
    Jit(cmd_jit::JitArgs),
    /// Run every `.data` file of the bpf_conformance suite.
    Conformance(cmd_conformance::ConformanceArgs),
    /// Speak the bpf_conformance plugin protocol (program as hex on stdin).
    ConformancePlugin(cmd_conformance::PluginArgs),
    /// The emulated kernel's BTF (`btf dump`: vmlinux.h or bpftool's raw listing).
    #[command(subcommand)]
    Btf(cmd_btf::BtfCommand),
    /// Run a scenario file and print what happened, with PASS/FAIL per expectation.
    Run(cmd_run::RunArgs),
    /// Run scenario files (default scenarios/) against their golden outputs.
    Test(cmd_test::TestArgs),
    /// Run a scenario with concurrent blocks under many seeds; report distinct outcomes.
    Explore(cmd_explore::ExploreArgs),
    /// Load a program through BPF_PROG_LOAD and print the verifier's log and verdict.
    Verify(cmd_verify::VerifyArgs),
    /// BPF ELF objects (`obj show FILE`: sections, programs, maps, relocations).
    #[command(subcommand)]
    Obj(cmd_obj::ObjCommand),
    /// Open a BPF ELF object, load every program into a fresh kernel, print them.
    Load(cmd_obj::LoadArgs),
    /// Programs (`prog dump xlated|jited ID --object FILE`).
    #[command(subcommand)]
    Prog(cmd_obj::ProgCommand),
    /// Benchmarks (`bench ringbuf`: ring buffer vs perf buffer).
    #[command(subcommand)]
    Bench(cmd_bench::BenchCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Asm(a) => cmd_asm::asm(a),
        Command::Disasm(a) => cmd_asm::disasm(a),
        Command::Exec(a) => cmd_exec::exec(a),
        #[cfg(target_arch = "x86_64")]
        Command::Jit(a) => cmd_jit::jit(a),
        Command::Conformance(a) => cmd_conformance::conformance(a),
        Command::ConformancePlugin(a) => cmd_conformance::plugin(a),
        Command::Btf(c) => cmd_btf::btf(c),
        Command::Run(a) => cmd_run::run(a),
        Command::Test(a) => cmd_test::test(a),
        Command::Explore(a) => cmd_explore::explore(a),
        Command::Verify(a) => cmd_verify::verify(a),
        Command::Obj(c) => cmd_obj::obj(c),
        Command::Load(a) => cmd_obj::load(a),
        Command::Prog(c) => cmd_obj::prog(c),
        Command::Bench(c) => cmd_bench::bench(c),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bpfemu: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
