//! `bpfemu explore FILE --seeds A..B`: run a scenario with `concurrent`
//! blocks under many seeds; report the distinct outcomes (with the first
//! seed that produced each) and every seed that broke an expectation.

use anyhow::{Result, bail};
use bpfemu_scenario::Scenario;
use bpfemu_scenario::suite;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ExploreArgs {
    /// The scenario file.
    pub file: PathBuf,
    /// Seeds to try: A..B (B excluded) or A..=B.
    #[arg(long, default_value = "0..100")]
    pub seeds: String,
    /// Execution engine: interp or jit.
    #[arg(long, default_value = "interp")]
    pub engine: String,
}

pub fn explore(a: ExploreArgs) -> Result<ExitCode> {
    let engine = super::cmd_run::engine(&a.engine)?;
    let seeds = suite::parse_seed_range(&a.seeds).map_err(anyhow::Error::msg)?;
    let sc = Scenario::from_file(&a.file).map_err(|d| anyhow::anyhow!("{d}"))?;
    if !sc.concurrent {
        bail!("{}: no `concurrent` block: every seed gives the same interleaving", a.file.display());
    }
    let n = seeds.end - seeds.start;
    let ex = suite::explore(&sc, seeds.clone(), engine);
    println!(
        "explored {n} seeds ({}..{}): {} distinct outcome(s)",
        seeds.start,
        seeds.end,
        ex.distinct.len()
    );
    for (i, d) in ex.distinct.iter().enumerate() {
        println!("\noutcome {} (first seed {}, {} seed(s)):", i + 1, d.first_seed, d.count);
        for l in d.outcome.lines() {
            println!("  {l}");
        }
    }
    if ex.failing.is_empty() {
        println!("\nno seed broke an expectation");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("\n{} seed(s) broke an expectation:", ex.failing.len());
        for (s, f) in &ex.failing {
            println!("  seed {s}: {f}   (reproduce: bpfemu run {} --seed {s})", a.file.display());
        }
        Ok(ExitCode::FAILURE)
    }
}
