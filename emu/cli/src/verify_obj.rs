//! `bpfemu verify FILE.bpf.o [--prog NAME]`: the programs of a BPF ELF
//! object through the emulated libbpf (`bpfemu_user::Object`), one by one,
//! each into a fresh kernel with only that program set to autoload — as
//! veristat verifies an object's programs — so one refusal does not hide
//! the verdicts of the others. Maps, BTF, func_info / line_info (the log
//! shows source lines), CO-RE and the program type from `SEC()` are the
//! loader's, exactly as `bpfemu load` does it.
//!
//! A program that cannot be loaded on its own (an `freplace` program needs
//! its target program's fd) reports the loader's error instead of a log.

use anyhow::{Context, Result, bail};
use bpfemu_kernel::{Kernel, KernelConfig};
use bpfemu_user::Object;
use std::path::Path;
use std::process::ExitCode;

/// What became of one program.
enum Verdict {
    Verified,
    Rejected(bpfemu_kernel::errno::Errno),
    /// The loader failed before or around `BPF_PROG_LOAD` (no verdict).
    Error(String),
}

/// The programs to verify: `--prog NAME`, or every non-subprogram.
fn selected(path: &Path, only: Option<&str>) -> Result<Vec<String>> {
    let obj = Object::open(path).with_context(|| format!("opening {}", path.display()))?;
    let names: Vec<String> =
        obj.programs().filter(|p| !p.is_subprog()).map(|p| p.name().to_owned()).collect();
    match only {
        Some(n) if names.iter().any(|m| m == n) => Ok(vec![n.to_owned()]),
        Some(n) => {
            bail!("--prog {n}: no such program in {} (programs: {})", path.display(), names.join(", "))
        }
        None if names.is_empty() => bail!("{}: the object has no programs", path.display()),
        None => Ok(names),
    }
}

/// Loads `path` into a fresh kernel with only `name` autoloaded; returns
/// its verifier log and verdict.
fn verify_one(path: &Path, name: &str, log_level: u32) -> Result<(String, Verdict)> {
    let mut obj = Object::open(path).with_context(|| format!("opening {}", path.display()))?;
    for p in obj.all_programs_mut() {
        if !p.is_subprog() {
            p.set_autoload(p.name() == name);
            p.set_log_level(log_level);
        }
    }
    let mut k = Kernel::new(KernelConfig::default());
    let res = obj.load(&mut k);
    for w in obj.warnings() {
        eprintln!("bpfemu: warning: {w}");
    }
    let prog = obj.program(name).context("program vanished after open")?;
    let log = prog.log().to_owned();
    let verdict = match res {
        Ok(()) => Verdict::Verified,
        Err(bpfemu_user::Error::ProgLoad { prog, errno, .. }) if prog == name => Verdict::Rejected(errno),
        Err(e) => Verdict::Error(e.to_string()),
    };
    Ok((log, verdict))
}

/// N of the log's `processed N insns` line.
pub(crate) fn processed(log: &str) -> Option<u64> {
    log.lines().rev().find_map(|l| l.strip_prefix("processed ")?.split(' ').next()?.parse().ok())
}

/// Prints the log and the verdict line; true if verified.
pub(crate) fn report(log: &str, result: std::result::Result<(), bpfemu_kernel::errno::Errno>) -> bool {
    print!("{log}");
    if !log.is_empty() && !log.ends_with('\n') {
        println!();
    }
    match result {
        Ok(()) => {
            match processed(log) {
                Some(n) => println!("verified: {n} insns processed"),
                None => println!("verified (the log has no 'processed N insns' line)"),
            }
            true
        }
        Err(e) => {
            println!("rejected: {} (-{}): {}", e.name(), e.raw(), e.message());
            false
        }
    }
}

/// Verifies the selected programs of the object at `path`.
pub fn verify_object(path: &Path, only: Option<&str>, log_level: u32) -> Result<ExitCode> {
    let names = selected(path, only)?;
    let mut failed = 0;
    for (i, name) in names.iter().enumerate() {
        if names.len() > 1 {
            if i > 0 {
                println!();
            }
            println!("== {name} ==");
        }
        let (log, verdict) = verify_one(path, name, log_level)?;
        let ok = match verdict {
            Verdict::Verified => report(&log, Ok(())),
            Verdict::Rejected(e) => report(&log, Err(e)),
            Verdict::Error(e) => {
                println!("not loaded: {e}");
                false
            }
        };
        failed += usize::from(!ok);
    }
    if names.len() > 1 {
        println!("\n{} programs: {} verified, {failed} not", names.len(), names.len() - failed);
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
