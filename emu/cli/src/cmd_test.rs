//! `bpfemu test [DIR|FILES]`: run many scenarios under every available
//! engine, twice each (determinism check), against their golden `.expected`
//! files; `--bless` (or `BPFEMU_BLESS=1`) rewrites the golden files.

use anyhow::{Context, Result, bail};
use bpfemu_scenario::Engine;
use bpfemu_scenario::suite::{self, CaseResult};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Scenario files or directories (default: scenarios/).
    pub paths: Vec<PathBuf>,
    /// Rewrite the golden `.expected` files with the current output.
    #[arg(long)]
    pub bless: bool,
    /// Run only partition K of N (1-based), e.g. 2/4.
    #[arg(long, value_name = "K/N")]
    pub partition: Option<String>,
    /// Write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Run under this engine only (default: every available engine).
    #[arg(long)]
    pub engine: Option<String>,
}

pub fn test(a: TestArgs) -> Result<ExitCode> {
    let bless = a.bless || std::env::var("BPFEMU_BLESS").is_ok_and(|v| v == "1");
    let paths = if a.paths.is_empty() { vec![PathBuf::from("scenarios")] } else { a.paths };
    let mut files = suite::collect(&paths).context("collecting scenario files")?;
    if let Some(p) = &a.partition {
        let (k, n) = suite::parse_partition(p).map_err(anyhow::Error::msg)?;
        files = suite::partition(files, k, n);
    }
    if files.is_empty() {
        bail!("no scenario files (.scn) found");
    }
    let engines: Vec<Engine> = match &a.engine {
        Some(e) => vec![super::cmd_run::engine(e)?],
        None => Engine::AVAILABLE.to_vec(),
    };
    let total = (files.len() * engines.len()) as u64;
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}") {
            b.set_style(style);
        }
        b
    });
    let mut results: Vec<CaseResult> = Vec::new();
    for f in &files {
        for &e in &engines {
            if let Some(b) = &bar {
                b.set_message(f.display().to_string());
            }
            let r = suite::run_case(f, e, bless);
            let line = format!(
                "{} {} [{}]{}",
                if r.ok { "ok  " } else { "FAIL" },
                r.name,
                e.name(),
                if r.blessed { " (blessed)" } else { "" }
            );
            match &bar {
                Some(b) => {
                    if !r.ok {
                        b.println(&line);
                    }
                    b.inc(1);
                }
                None => println!("{line}"),
            }
            results.push(r);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let failed: Vec<&CaseResult> = results.iter().filter(|r| !r.ok).collect();
    for r in &failed {
        println!("\n--- {} [{}]\n{}", r.name, r.engine.name(), r.message);
    }
    if let Some(j) = a.junit {
        std::fs::write(&j, suite::junit(&results)).with_context(|| format!("writing {}", j.display()))?;
    }
    println!("{} passed, {} failed", results.len() - failed.len(), failed.len());
    Ok(if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
