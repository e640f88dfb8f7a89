//! Runs the whole scenario library (`scenarios/`) as `bpfemu test` does:
//! every scenario under every available engine, twice (determinism), against
//! its golden `.expected` file. `BPFEMU_BLESS=1 cargo test` rewrites them.

use bpfemu_scenario::Engine;
use bpfemu_scenario::suite;
use std::path::PathBuf;

#[test]
fn scenario_library_passes() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let files = suite::collect(std::slice::from_ref(&root)).expect("scenarios/ readable");
    assert!(files.len() >= 9, "scenario library is missing: {}", root.display());
    let bless = std::env::var("BPFEMU_BLESS").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    for f in &files {
        if !suite::golden_path(f).exists() && !bless {
            failures.push(format!("--- {} has no golden .expected file", f.display()));
        }
        for &e in Engine::AVAILABLE {
            let r = suite::run_case(f, e, bless);
            if !r.ok {
                failures.push(format!("--- {} [{}]\n{}", r.name, e.name(), r.message));
            }
        }
    }
    assert!(failures.is_empty(), "{} scenario(s) failed:\n{}", failures.len(), failures.join("\n"));
}

/// Every scenario prints the same output under every engine (also those
/// without a golden file): a difference is a JIT or wiring bug.
#[test]
fn engines_agree_on_the_library() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let files = suite::collect(std::slice::from_ref(&root)).expect("scenarios/ readable");
    assert!(Engine::AVAILABLE.contains(&Engine::Jit) || !cfg!(target_arch = "x86_64"));
    let mut diffs = Vec::new();
    for f in &files {
        let Ok(sc) = bpfemu_scenario::Scenario::from_file(f) else { continue };
        let outs: Vec<String> = Engine::AVAILABLE
            .iter()
            .map(|&engine| sc.run(&bpfemu_scenario::Options { seed: None, engine }).text)
            .collect();
        if outs.windows(2).any(|w| w[0] != w[1]) {
            diffs.push(f.display().to_string());
        }
    }
    assert!(diffs.is_empty(), "outputs differ between engines: {diffs:?}");
}
