//! Precision (issue 5): every program in `guest-progs/` verifies. Each
//! assembly file names its program type and maps on its first line,
//! `// verify: ARGS`, the arguments `bpfemu verify` takes.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_guest_program_verifies() {
    let dir = root().join("guest-progs/asm");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("guest-progs/asm exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "s"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "expected the guest programs, found {files:?}");
    let mut failures = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable program");
        let first = text.lines().next().unwrap_or("");
        let Some(args) = first.strip_prefix("// verify:") else {
            failures.push(format!("{}: first line is not `// verify: ARGS`", f.display()));
            continue;
        };
        let o = Command::new(env!("CARGO_BIN_EXE_bpfemu"))
            .arg("verify")
            .arg(f)
            .args(args.split_whitespace())
            .current_dir(root())
            .output()
            .expect("bpfemu runs");
        let out = String::from_utf8_lossy(&o.stdout);
        if !o.status.success() || !out.lines().last().is_some_and(|l| l.starts_with("verified: ")) {
            let tail: Vec<&str> = out.lines().rev().take(6).collect();
            failures.push(format!(
                "{}: not verified: {}\n{}",
                f.display(),
                String::from_utf8_lossy(&o.stderr),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
