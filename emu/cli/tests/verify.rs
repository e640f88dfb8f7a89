//! `bpfemu verify` as a user runs it: the verifier's log, the verdict line
//! and the exit status.

use std::path::PathBuf;
use std::process::{Command, Output};

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

fn tmp(name: &str, content: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("bpfemu-verify-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.to_str().unwrap().to_string()
}

const LOOKUP: &str = "
    *(u32 *)(r10 -4) = 0
    r2 = r10
    r2 += -4
    r1 = map[fd:3]
    call bpf_map_lookup_elem#1
    if r0 == 0 goto out
    r0 = *(u64 *)(r0 +0)
    exit
out:
    r0 = 0
    exit
";

fn last_line(s: &str) -> &str {
    s.lines().last().unwrap_or("")
}

#[test]
fn an_accepted_program_ends_with_the_processed_count() {
    let f = tmp("lookup.s", LOOKUP.as_bytes());
    let o = bpfemu(&["verify", &f, "--map", "array:4:8:4"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    let last = last_line(&out);
    let n: u32 = last
        .strip_prefix("verified: ")
        .and_then(|r| r.strip_suffix(" insns processed"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(n >= 8, "{out}");
    assert!(out.contains(&format!("processed {n} insns (limit 1000000)")), "{out}");
}

#[test]
fn a_rejected_program_prints_the_kernel_message_and_the_errno() {
    let f = tmp("scalar.s", b"r1 = 5\nr0 = *(u64 *)(r1 +0)\nexit\n");
    let o = bpfemu(&["verify", &f]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("R1 invalid mem access 'scalar'"), "{out}");
    assert_eq!(last_line(&out), "rejected: EACCES (-13): Permission denied", "{out}");

    let f = tmp("noret.s", b"exit\n");
    let out = stdout(&bpfemu(&["verify", &f]));
    assert!(out.contains("R0 !read_ok"), "{out}");
}

#[test]
fn the_lookup_needs_its_map_and_a_null_check() {
    let f = tmp("lookup2.s", LOOKUP.as_bytes());
    let o = bpfemu(&["verify", &f]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(last_line(&stdout(&o)), "rejected: EBADF (-9): Bad file descriptor", "{}", stdout(&o));

    let no_check = LOOKUP.replace("if r0 == 0 goto out", "r6 = 1\n    if r6 == 0 goto out");
    let f = tmp("nocheck.s", no_check.as_bytes());
    let o = bpfemu(&["verify", &f, "--map", "hash:4:8:16"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("invalid mem access 'map_value_or_null'"), "{}", stdout(&o));
}

#[test]
fn level_two_prints_every_instruction_and_raw_bytes_are_accepted() {
    let src = tmp("two.s", b"r0 = 1\nr0 += 2\nexit\n");
    let bin = tmp("two.bin", b"");
    let o = bpfemu(&["asm", &src, "-o", &bin]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = bpfemu(&["verify", &bin, "--log-level", "2"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("0: (b7) r0 = 1"), "{out}");
    assert!(out.contains("1: (07) r0 += 2"), "{out}");
    assert_eq!(last_line(&out), "verified: 3 insns processed", "{out}");
    let o = bpfemu(&["verify", &bin, "--log-level", "3"]);
    assert!(!o.status.success());
}

#[test]
fn bad_objects_and_bad_flags_are_clear_errors() {
    let elf = tmp("x.o", b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    let o = bpfemu(&["verify", &elf]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("malformed BPF object"), "{}", stderr(&o));
    let maps = "guest-progs/obj/maps.bpf.o";
    let o = bpfemu(&["verify", maps, "--prog", "nosuch"]);
    assert!(
        stderr(&o).contains("no such program in guest-progs/obj/maps.bpf.o (programs: hash_update,"),
        "{}",
        stderr(&o)
    );
    let o = bpfemu(&["verify", maps, "--type", "xdp"]);
    assert!(stderr(&o).contains("take their type from SEC()"), "{}", stderr(&o));
    let o = bpfemu(&["verify", maps, "--map", "hash:4:8:1"]);
    assert!(stderr(&o).contains("maps come from the object"), "{}", stderr(&o));

    let f = tmp("ok.s", b"r0 = 0\nexit\n");
    let o = bpfemu(&["verify", &f, "--prog", "xdp_main"]);
    assert!(stderr(&o).contains("is not one"), "{}", stderr(&o));
    let o = bpfemu(&["verify", &f, "--type", "nosuch"]);
    assert!(stderr(&o).contains("unknown program type"), "{}", stderr(&o));
    let o = bpfemu(&["verify", &f, "--map", "hash:4:8"]);
    assert!(stderr(&o).contains("TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES"), "{}", stderr(&o));
}

#[test]
fn stats_adds_the_stack_depth_line() {
    let f = tmp("stats.s", b"r0 = 0\n*(u64 *)(r10 -8) = r0\nexit\n");
    let out = stdout(&bpfemu(&["verify", &f, "--stats"]));
    assert!(out.contains("\nstack depth 8\n"), "{out}");
    assert_eq!(last_line(&out), "verified: 3 insns processed", "{out}");
    let out = stdout(&bpfemu(&["verify", &f]));
    assert!(!out.contains("stack depth"), "{out}");
}

#[test]
fn every_program_of_an_elf_object_is_verified_on_its_own() {
    let o = bpfemu(&["verify", "guest-progs/obj/maps.bpf.o"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("== hash_lookup ==\n"), "{out}");
    assert_eq!(out.matches("verified: ").count(), 8, "{out}");
    assert_eq!(last_line(&out), "8 programs: 8 verified, 0 not", "{out}");
}

#[test]
fn one_program_of_an_elf_object_with_its_source_lines() {
    let o = bpfemu(&["verify", "guest-progs/obj/maps.bpf.o", "--prog", "hash_lookup", "--log-level", "2"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(!out.contains("== hash_lookup =="), "one program has no header: {out}");
    // The object's .BTF.ext line table: the kernel prints `; SOURCE @ FILE:LINE`.
    assert!(out.contains("; int hash_lookup(struct map_op *op) @ maps.bpf.c:"), "{out}");
    assert!(out.contains("call bpf_map_lookup_elem#1"), "{out}");
    assert!(last_line(&out).starts_with("verified: "), "{out}");
}

#[test]
fn a_program_that_cannot_load_alone_says_why() {
    // An freplace program needs its target program's fd (libbpf's
    // bpf_program__set_attach_target): not a verifier verdict.
    let o = bpfemu(&["verify", "guest-progs/obj/freplace.bpf.o"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("not loaded: program 'new_clamp_add'"), "{out}");
}
