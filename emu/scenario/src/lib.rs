//! The bpfemu scenario language: parse → plan → run → report.
//!
//! A scenario is a text file of kernel operations, one per line, each with
//! an optional inline expectation (`=> ok`, `=> ENOENT`, `=> value=u64:1`).
//! The language is specified in `docs/scenarios.md`. Modules:
//!
//! - [`parse`]: lines → generic statements (tokens, `key=value` arguments,
//!   expectations, `{ ... }` blocks), `include` expansion;
//! - [`family`]: statement families (one per subsystem) and the plan step
//!   that type-checks statements against their specs;
//! - [`run`]: execution against a fresh [`bpfemu_kernel::Kernel`] and the
//!   report (readable trace, JSON lines, pass/fail counts);
//! - [`error`]: `file:line:col` diagnostics with carets and suggestions;
//! - [`value`]: byte strings, integers, durations.
//!
//! Everything is deterministic: same file + same seed ⇒ same report.

#![deny(unsafe_code)]

pub mod error;
pub mod family;
pub mod parse;
pub mod run;
pub mod suite;
pub mod value;

pub use error::Diag;
pub use parse::{FsLoader, Loader};
pub use run::Report;

use std::path::Path;

/// Execution engines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Interp,
}

impl Engine {
    /// Engines that exist today (the JIT comes with issue 6).
    pub const AVAILABLE: &'static [Engine] = &[Engine::Interp];

    pub fn name(self) -> &'static str {
        match self {
            Engine::Interp => "interp",
        }
    }

    /// Parses an engine name; `jit` is a clear error until the JIT exists.
    pub fn from_name(s: &str) -> Result<Engine, String> {
        match s {
            "interp" => Ok(Engine::Interp),
            "jit" => Err("engine `jit` is not implemented yet (the x86-64 JIT comes with issue 6); use --engine interp".into()),
            other => Err(format!("unknown engine `{other}`: expected interp or jit")),
        }
    }
}

/// How to run a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Overrides the scenario's `seed` statement.
    pub seed: Option<u64>,
    pub engine: Engine,
}

impl Default for Options {
    fn default() -> Self {
        Options { seed: None, engine: Engine::Interp }
    }
}

/// A parsed and planned scenario, ready to run (many times).
#[derive(Debug)]
pub struct Scenario {
    pub name: String,
    pub plan: Vec<family::Planned>,
    pub seed: Option<u64>,
    pub cpus: Option<u32>,
    /// Does it contain `concurrent` blocks (worth exploring)?
    pub concurrent: bool,
}

impl Scenario {
    /// Parses and plans scenario text.
    pub fn from_text(name: &str, text: &str, loader: &dyn Loader) -> Result<Scenario, Diag> {
        let stmts = parse::parse(name, text, loader)?;
        let (plan, cx) = family::plan(&stmts)?;
        let concurrent = plan.iter().any(|p| p.spec.name == "concurrent");
        Ok(Scenario {
            name: name.strip_prefix("./").unwrap_or(name).to_string(),
            plan,
            seed: cx.seed,
            cpus: cx.cpus,
            concurrent,
        })
    }

    /// Reads, parses and plans a file.
    pub fn from_file(path: &Path) -> Result<Scenario, Diag> {
        let name = path.to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diag::new(error::Loc { file: name.clone(), line: 0, col: 0 }, format!("cannot read: {e}"))
        })?;
        Scenario::from_text(&name, &text, &FsLoader)
    }

    /// Runs the scenario on a fresh kernel.
    pub fn run(&self, opts: &Options) -> Report {
        let seed = opts.seed.or(self.seed).unwrap_or(0);
        let runner = run::Runner::new(&self.name, seed, self.cpus);
        let mut report = runner.run(&self.plan);
        let header = format!("scenario {} (seed {seed})\n", display(&self.name));
        report.text.insert_str(0, &header);
        report
    }
}

fn display(name: &str) -> String {
    Path::new(name).file_name().map_or(name.to_string(), |f| f.to_string_lossy().into_owned())
}
