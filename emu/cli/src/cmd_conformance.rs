//! `bpfemu conformance` (run the bpf_conformance suite) and
//! `bpfemu conformance-plugin` (the suite's plugin protocol: the upstream
//! runner starts `plugin <mem hex> <options>`, writes the program as hex
//! bytes to stdin and reads r0 in hex from stdout; on failure the plugin
//! prints the error on stdout, where the runner compares it with the
//! test's `-- error` text, and exits non-zero).

use crate::cmd_exec::Engine;
use crate::input::parse_hex_bytes;
use anyhow::{Context, Result, bail};
use bpfemu_conformance::runner::{self, Verdict};
use bpfemu_isa::insns_from_bytes;
use clap::Args;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// Directory holding the suite's `.data` files (not searched recursively).
    pub dir: PathBuf,
    /// Execution engine.
    #[arg(long, value_enum, default_value = "interp")]
    pub engine: Engine,
    /// Print a line for every test, not only for failures.
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct PluginArgs {
    /// Input memory as hex bytes (`"01  02  "`); may be empty.
    pub mem: Option<String>,
    /// Plugin options passed through by the runner (none are defined; ignored).
    pub options: Vec<String>,
}

pub fn conformance(a: ConformanceArgs) -> Result<ExitCode> {
    let engine = match a.engine {
        Engine::Interp => runner::Engine::Interpreter,
        Engine::Jit => runner::Engine::Jit,
    };
    let results: Vec<_> = runner::run_dir_on(&a.dir, engine)
        .with_context(|| format!("cannot read {}", a.dir.display()))?
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    if results.is_empty() {
        bail!("no .data files in {}", a.dir.display());
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for r in &results {
        match &r.verdict {
            Verdict::Pass => {
                passed += 1;
                if a.verbose {
                    println!("PASS {}", r.name);
                }
            }
            Verdict::Fail(why) => {
                failed += 1;
                println!("FAIL {}: {why}", r.name);
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

pub fn plugin(a: PluginArgs) -> Result<ExitCode> {
    let mut mem = parse_hex_bytes(a.mem.as_deref().unwrap_or(""))?;
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).context("cannot read the program from stdin")?;
    let bytes = parse_hex_bytes(&text)?;
    let outcome = insns_from_bytes(&bytes)
        .map_err(|stray| format!("program is {} bytes, not a multiple of 8 ({stray} left over)", bytes.len()))
        .and_then(|insns| runner::run_program(&insns, &mut mem));
    match outcome {
        Ok(r0) => {
            println!("{r0:x}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("{e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
