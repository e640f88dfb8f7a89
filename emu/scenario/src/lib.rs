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
pub mod interleave;
pub mod parse;
pub mod run;
pub mod suite;
pub mod value;

pub use error::Diag;
pub use parse::{FsLoader, Loader};
pub use run::Report;

use std::path::Path;

/// Execution engines: which runtime the kernel gives verified programs
/// (its `bpf_jit_enable` knob, `bpfemu_kernel::bpf::jit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// `bpf_jit_enable` off: every program runs on the interpreter.
    Interp,
    /// `bpf_jit_enable` on (x86-64 hosts): verified programs run on the JIT.
    Jit,
}

impl Engine {
    /// Engines this host has: the JIT only on x86-64.
    pub const AVAILABLE: &'static [Engine] = if bpfemu_kernel::bpf::jit::JIT_AVAILABLE {
        &[Engine::Interp, Engine::Jit]
    } else {
        &[Engine::Interp]
    };

    pub fn name(self) -> &'static str {
        match self {
            Engine::Interp => "interp",
            Engine::Jit => "jit",
        }
    }

    /// Parses an engine name; `jit` is an error on hosts without the JIT.
    pub fn from_name(s: &str) -> Result<Engine, String> {
        match s {
            "interp" => Ok(Engine::Interp),
            "jit" if bpfemu_kernel::bpf::jit::JIT_AVAILABLE => Ok(Engine::Jit),
            "jit" => Err("engine `jit`: the JIT exists only on x86-64 hosts; use --engine interp".into()),
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
        let runner = run::Runner::new(&self.name, seed, self.cpus, opts.engine);
        let mut report = runner.run(&self.plan);
        let header = format!("scenario {} (seed {seed})\n", display(&self.name));
        report.text.insert_str(0, &header);
        report
    }
}

fn display(name: &str) -> String {
    Path::new(name).file_name().map_or(name.to_string(), |f| f.to_string_lossy().into_owned())
}
