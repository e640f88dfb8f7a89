//! `bpfemu run`, `test` and `explore` as a user runs them: output, exit
//! codes, golden files, blessing, partitions, JUnit and JSON traces.

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bpfemu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bpfemu")).current_dir(root()).args(args).output().expect("bpfemu runs")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("bpfemu-scn-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn run_prints_trace_and_pass_lines() {
    let o = bpfemu(&["run", "scenarios/core/progs/tail_calls.scn"]);
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    let s = out(&o);
    assert!(s.contains("run SELF => r0=34\n      = r0=34"), "{s}");
    assert!(s.ends_with("PASS: 9 passed, 0 failed\n"), "{s}");
}

#[test]
fn run_writes_json_lines_and_honours_seed() {
    let d = tmpdir("json");
    let j = d.join("t.jsonl");
    let o = bpfemu(&[
        "run",
        "scenarios/core/maps/concurrent_update.scn",
        "--seed",
        "5",
        "--trace-out",
        j.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).starts_with("scenario concurrent_update.scn (seed 5)"));
    let text = std::fs::read_to_string(&j).unwrap();
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(v["line"].is_u64() && v["result"].is_string(), "{l}");
    }
}

/// Engines per scenario in `bpfemu test` (the JIT exists on x86-64 only).
const ENGINES: usize = if cfg!(target_arch = "x86_64") { 2 } else { 1 };

#[cfg(target_arch = "x86_64")]
#[test]
fn jit_engine_prints_what_the_interpreter_prints() {
    let jit = bpfemu(&["run", "scenarios/core/progs/test_run.scn", "--engine", "jit"]);
    let interp = bpfemu(&["run", "scenarios/core/progs/test_run.scn", "--engine", "interp"]);
    assert!(jit.status.success(), "{}{}", out(&jit), err(&jit));
    assert_eq!(out(&jit), out(&interp));
    let o = bpfemu(&["run", "scenarios/core/progs/test_run.scn", "--engine", "jat"]);
    assert!(!o.status.success() && err(&o).contains("unknown engine `jat`"), "{}", err(&o));
}

#[test]
fn parse_errors_name_file_line_col() {
    let d = tmpdir("parse");
    let f = d.join("bad.scn");
    std::fs::write(&f, "map M type=hsh key=4 value=8 max=4\n").unwrap();
    let o = bpfemu(&["run", f.to_str().unwrap()]);
    assert!(!o.status.success());
    let e = err(&o);
    assert!(
        e.contains("bad.scn:1:12: error: unknown map type `hsh`") && e.contains("did you mean `hash`?"),
        "{e}"
    );
}

#[test]
fn test_golden_bless_determinism_partition_junit() {
    let d = tmpdir("suite");
    std::fs::write(
        d.join("a.scn"),
        "# a\nmap M type=hash key=4 value=8 max=4\nlookup M key=u32:1 => ENOENT\n",
    )
    .unwrap();
    std::fs::write(
        d.join("b.scn"),
        "# b\nmap M type=array key=4 value=8 max=4\nlookup M key=u32:1 => value=u64:0\n",
    )
    .unwrap();
    let dir = d.to_str().unwrap();
    // No golden files yet: passes on expectations and determinism alone.
    let o = bpfemu(&["test", dir]);
    assert!(o.status.success(), "{}", out(&o));
    assert!(out(&o).ends_with(&format!("{} passed, 0 failed\n", 2 * ENGINES)), "{}", out(&o));
    // Bless, then a changed golden file fails with a diff.
    let o = bpfemu(&["test", dir, "--bless"]);
    assert!(o.status.success());
    assert!(d.join("a.expected").exists() && d.join("b.expected").exists());
    std::fs::write(d.join("b.expected"), "something else\n").unwrap();
    let junit = d.join("j.xml");
    let o = bpfemu(&["test", dir, "--junit", junit.to_str().unwrap()]);
    assert!(!o.status.success());
    let s = out(&o);
    assert!(
        s.contains("output differs from")
            && s.contains("- something else")
            && s.ends_with(&format!("{ENGINES} passed, {ENGINES} failed\n")),
        "{s}"
    );
    assert!(std::fs::read_to_string(&junit).unwrap().contains(&format!("failures=\"{ENGINES}\"")));
    // Partitions split the files.
    let o = bpfemu(&["test", dir, "--partition", "1/2"]);
    assert!(out(&o).contains("a.scn") && !out(&o).contains("b.scn"), "{}", out(&o));
    let o = bpfemu(&["test", dir, "--partition", "3/2"]);
    assert!(!o.status.success() && err(&o).contains("expected K/N"));
    // BPFEMU_BLESS=1 also blesses.
    let o = Command::new(env!("CARGO_BIN_EXE_bpfemu"))
        .args(["test", dir])
        .env("BPFEMU_BLESS", "1")
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(bpfemu(&["test", dir]).status.success());
}

#[test]
fn failing_expectation_fails_the_run_and_the_suite() {
    let d = tmpdir("fail");
    std::fs::write(
        d.join("f.scn"),
        "map M type=hash key=4 value=8 max=4\nlookup M key=u32:1 => value=u64:1\n",
    )
    .unwrap();
    let o = bpfemu(&["run", d.join("f.scn").to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(out(&o).contains("FAIL: expected value=0100000000000000, got ENOENT"), "{}", out(&o));
    let o = bpfemu(&["test", d.to_str().unwrap()]);
    assert!(!o.status.success() && out(&o).ends_with(&format!("0 passed, {ENGINES} failed\n")));
}

#[test]
fn explore_reports_distinct_outcomes() {
    let o = bpfemu(&["explore", "scenarios/core/maps/concurrent_update.scn", "--seeds", "0..40"]);
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    let s = out(&o);
    assert!(s.starts_with("explored 40 seeds (0..40): "), "{s}");
    assert!(s.contains("outcome 2 (first seed"), "{s}");
    assert!(s.contains("no seed broke an expectation"));
    let o = bpfemu(&["explore", "scenarios/core/maps/array.scn"]);
    assert!(!o.status.success() && err(&o).contains("no `concurrent` block"));
}
