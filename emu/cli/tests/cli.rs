//! The `bpfemu` binary as a user runs it: exit codes, output and error lines.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bpfemu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bpfemu")).args(args).current_dir(root()).output().expect("bpfemu runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bpfemu-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn exec_runs_the_guest_programs() {
    let o = bpfemu(&["exec", "bench/programs/primes.s"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "r0 = 0x4cd (1229)\n");
    let mem: Vec<String> = (0..2048).map(|i| format!("{:02x}", i % 256)).collect();
    let o = bpfemu(&["exec", "bench/programs/copy.s", "--mem", &mem.join(" ")]);
    // Sum of bytes 0..1024 of the pattern: 4 * (0 + ... + 255).
    assert_eq!(stdout(&o), format!("r0 = {:#x} ({})\n", 4 * 255 * 128, 4 * 255 * 128));
}

#[test]
fn asm_and_disasm_round_trip() {
    let bin = tmp("primes.bin");
    let o = bpfemu(&["asm", "bench/programs/primes.s", "-o", bin.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = bpfemu(&["disasm", bin.to_str().unwrap()]);
    let listing = stdout(&o);
    assert!(listing.starts_with("0: (b7) r0 = 0\n1: (b7) r1 = 2\n"), "{listing}");
    assert!(listing.contains("(2d) if r3 > r1 goto pc+"), "{listing}");
    // The listing itself assembles back to the same bytes.
    let relisted = tmp("primes.s");
    std::fs::write(&relisted, &listing).unwrap();
    let again = tmp("primes2.bin");
    let o = bpfemu(&["asm", relisted.to_str().unwrap(), "-o", again.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&bin).unwrap(), std::fs::read(&again).unwrap());
}

#[test]
fn trace_prints_every_step() {
    let src = tmp("t.ubpf");
    std::fs::write(&src, "mov32 %r0, 3\nadd32 %r0, 4\nexit\n").unwrap();
    let o = bpfemu(&["exec", src.to_str().unwrap(), "--trace"]);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[1].starts_with("    1: w0 += 4") && lines[1].contains("r0=0x3"), "{out}");
    assert_eq!(lines[3], "r0 = 0x7 (7)");
}

#[test]
fn errors_are_one_line_with_failure_status() {
    let o = bpfemu(&["exec", "bench/programs/copy.s"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("bpfemu: error: bench/programs/copy.s: insn 6: out-of-bounds read of 1 bytes"),
        "{err}"
    );

    let o = bpfemu(&["exec", "no/such/file.s"]);
    assert!(!o.status.success());
    assert!(stderr(&o).starts_with("bpfemu: error: cannot read no/such/file.s"), "{}", stderr(&o));

    let bad = tmp("bad.s");
    std::fs::write(&bad, "r0 = 1\nr11 = 2\nexit\n").unwrap();
    let o = bpfemu(&["asm", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("bad.s:2: invalid register 'r11'"), "{}", stderr(&o));

    let ragged = tmp("ragged.bin");
    std::fs::write(&ragged, [0u8; 12]).unwrap();
    let o = bpfemu(&["disasm", ragged.to_str().unwrap()]);
    assert!(stderr(&o).contains("not a whole number of 8-byte instructions"), "{}", stderr(&o));

    let o = bpfemu(&["exec", "bench/programs/primes.s", "--engine", "jit"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("only the checked interpreter may run"), "{}", stderr(&o));

    let looping = tmp("loop.s");
    std::fs::write(&looping, "l:\n goto l\n exit\n").unwrap();
    let o = bpfemu(&["exec", looping.to_str().unwrap(), "--max-steps", "1000"]);
    assert!(!o.status.success());
    assert!(stderr(&o).to_lowercase().contains("step"), "{}", stderr(&o));
}

#[test]
fn conformance_suite_passes() {
    let dir = root().join("../shared/conformance");
    if !dir.is_dir() {
        eprintln!("skipped: {} not found (shared/ sits beside the project root)", dir.display());
        return;
    }
    let o = bpfemu(&["conformance", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o), "313 passed, 0 failed\n");
}

fn plugin(args: &[&str], program: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bpfemu"))
        .arg("conformance-plugin")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bpfemu runs");
    child.stdin.take().unwrap().write_all(program.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn plugin_protocol() {
    // ldxb r0, [r1+1]; exit — reads the second byte of the memory argument.
    let prog = "71  10  01  00  00  00  00  00  95  00  00  00  00  00  00  00  \n";
    let o = plugin(&["aa  bb  cc  ", ""], prog);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "bb\n");
    // A reserved field set: the error goes to stdout and the status is non-zero.
    let o = plugin(&[], "b7  00  01  00  00  00  00  00  95  00  00  00  00  00  00  00");
    assert!(!o.status.success());
    assert_eq!(stdout(&o), "insn 0 (code 0xb7): reserved field 'off' is 1, must be 0\n");
}

#[cfg(target_arch = "x86_64")]
#[test]
fn jit_disasm_lists_native_code_under_each_instruction() {
    let o = bpfemu(&["jit", "--disasm", "bench/programs/primes.s"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("; prologue\n"), "{out}");
    assert!(out.contains(";    0: r0 = 0\n"), "{out}");
    assert!(out.contains("ret"), "{out}");
    let o = bpfemu(&["jit", "bench/programs/primes.s"]);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("jited "), "{}", stderr(&o));
}
