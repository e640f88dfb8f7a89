//! `bpfemu run FILE`: run one scenario and print its trace and a pass/fail
//! line per expectation.

use anyhow::{Context, Result, bail};
use bpfemu_scenario::{Engine, Options, Scenario};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The scenario file (`.scn`).
    pub file: PathBuf,
    /// Seed of the simulation (overrides the scenario's `seed` statement).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Execution engine: interp or jit.
    #[arg(long, default_value = "interp")]
    pub engine: String,
    /// Also write one JSON object per executed statement to FILE.
    #[arg(long, value_name = "FILE")]
    pub trace_out: Option<PathBuf>,
}

pub fn run(a: RunArgs) -> Result<ExitCode> {
    let engine = engine(&a.engine)?;
    let sc = Scenario::from_file(&a.file).map_err(|d| anyhow::anyhow!("{d}"))?;
    let report = sc.run(&Options { seed: a.seed, engine });
    print!("{}", report.text);
    if let Some(path) = a.trace_out {
        let mut s = report.json.join("\n");
        s.push('\n');
        std::fs::write(&path, s).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(if report.ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The engine named on the command line.
pub fn engine(name: &str) -> Result<Engine> {
    match Engine::from_name(name) {
        Ok(e) => Ok(e),
        Err(m) => bail!("{m}"),
    }
}
