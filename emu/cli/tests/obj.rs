//! `bpfemu obj show` and `bpfemu load` on the loader's fixture objects.

use std::process::{Command, Output};

fn bpfemu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bpfemu")).args(args).output().expect("bpfemu runs")
}

fn fixture(name: &str) -> String {
    format!("{}/../user/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn obj_show_lists_programs_maps_relocations_and_core() {
    let o = bpfemu(&["obj", "show", &fixture("core.bpf.o")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "object core: license \"GPL\"",
        "core_offsets: section syscall, syscall",
        "out (BTF, kernel name out): array, key 4, value 8, max_entries 8",
        "-> map out",
        "CO-RE relocations:",
        "struct task_struct.pid (0:2 @ offset 8) (value 16 -> 8)",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
}

#[test]
fn load_prints_programs_and_maps_like_bpftool() {
    let o = bpfemu(&["load", &fixture("initialisers.bpf.o")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("syscall  name entry"), "{out}");
    assert!(out.contains("prog_array  name jumps"), "{out}");
}

#[test]
fn load_failures_name_the_program_and_exit_non_zero() {
    let o = bpfemu(&["load", &fixture("sections.bpf.o")]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bpfemu: error: loading"), "{err}");
    let o = bpfemu(&["obj", "show", &fixture("bad_section.bpf.o")]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not_a_real_type/foo"));
}

#[test]
fn prog_dump_prints_xlated_and_jited_code_of_a_loaded_program() {
    let o = bpfemu(&["prog", "dump", "xlated", "1", "--object", &fixture("initialisers.bpf.o")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.lines().next().is_some_and(|l| l.starts_with("   0: ")), "{out}");
    assert!(out.contains("exit"), "{out}");

    let o = bpfemu(&["load", &fixture("initialisers.bpf.o"), "--dump", "xlated"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("\n3: entry\n   0: "));

    let o = bpfemu(&["prog", "dump", "xlated", "99", "--object", &fixture("initialisers.bpf.o")]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no program with id 99") && err.contains("3 (entry)"), "{err}");
}

#[cfg(target_arch = "x86_64")]
#[test]
fn prog_dump_jited_heads_native_code_with_its_instruction() {
    let o = bpfemu(&["prog", "dump", "jited", "1", "--object", &fixture("initialisers.bpf.o")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("; prologue\n"), "{out}");
    assert!(out.contains(";    0: "), "{out}");
    assert!(out.contains("ret"), "{out}");
}
