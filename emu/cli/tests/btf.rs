//! `bpfemu btf dump`: the vmlinux header and bpftool's raw listing; with
//! `clang` on PATH the header must compile for the BPF target (else, on
//! x86-64, with the host `cc`), with
//! `bpftool` on PATH its raw dump of our blob must equal ours.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn bpfemu(args: &[&str]) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_bpfemu")).args(args).output().expect("bpfemu runs");
    assert!(o.status.success(), "bpfemu {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    o
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 output")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bpfemu-btf-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn on_path(tool: &str) -> bool {
    Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

#[test]
fn dump_c_is_a_vmlinux_header() {
    let h = stdout(&bpfemu(&["btf", "dump"]));
    assert!(h.starts_with("#ifndef __VMLINUX_H__\n"));
    assert!(h.ends_with("#endif /* __VMLINUX_H__ */\n"));
    for line in [
        "typedef unsigned int __u32;",
        "struct __sk_buff {",
        "\t\tstruct bpf_flow_keys *flow_keys;",
        "struct xdp_md {",
        "struct task_struct {",
        "struct bpf_array {",
    ] {
        assert!(h.lines().any(|l| l == line), "missing {line:?} in:\n{h}");
    }
    let out = tmp("vmlinux.h");
    bpfemu(&["btf", "dump", "--format", "c", "--out", out.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), h);

    // The header plus the kernel's sizes and offsets, checked by the compiler.
    let mut src = h.clone();
    src.push_str(
        "_Static_assert(sizeof(struct __sk_buff) == 192, \"__sk_buff\");\n\
         _Static_assert(__builtin_offsetof(struct __sk_buff, flow_keys) == 144, \"flow_keys\");\n\
         _Static_assert(__builtin_offsetof(struct __sk_buff, hwtstamp) == 184, \"hwtstamp\");\n\
         _Static_assert(sizeof(struct xdp_md) == 24, \"xdp_md\");\n\
         _Static_assert(sizeof(struct bpf_flow_keys) == 56, \"bpf_flow_keys\");\n\
         _Static_assert(__builtin_offsetof(struct bpf_flow_keys, ipv6_dst) == 32, \"ipv6_dst\");\n\
         _Static_assert(sizeof(struct bpf_sock) == 80, \"bpf_sock\");\n\
         _Static_assert(__builtin_offsetof(struct bpf_sock, dst_ip4) == 52, \"dst_ip4\");\n\
         _Static_assert(sizeof(struct bpf_sock_tuple) == 36, \"bpf_sock_tuple\");\n\
         _Static_assert(sizeof(struct bpf_spin_lock) == 4, \"bpf_spin_lock\");\n",
    );
    if on_path("clang") {
        compile("clang", &["-target", "bpf", "-fsyntax-only", "-x", "c", "-"], &src);
    } else {
        println!("skipped: clang not found");
        // An x86-64 host compiler has the same type sizes as the BPF target.
        if cfg!(target_arch = "x86_64") && on_path("cc") {
            compile("cc", &["-fsyntax-only", "-x", "c", "-"], &src);
        }
    }
}

fn compile(cc: &str, args: &[&str], src: &str) {
    let mut child = Command::new(cc).args(args).stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(src.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{cc} rejects the header:\n{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn dump_raw_has_bpftool_wording() {
    let raw = stdout(&bpfemu(&["btf", "dump", "--format", "raw"]));
    let lines: Vec<&str> = raw.lines().collect();
    assert_eq!(lines[0], "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED");
    assert!(lines.iter().any(|l| l.starts_with("[") && l.ends_with(" STRUCT '__sk_buff' size=192 vlen=34")));
    assert!(lines.iter().any(|l| l.ends_with(" STRUCT 'xdp_md' size=24 vlen=6")));
    assert!(lines.iter().any(|l| l.ends_with(" STRUCT 'bpf_flow_keys' size=56 vlen=13")));
    assert!(lines.iter().any(|l| l.ends_with(" TYPEDEF '__be32' type_id=17")), "{raw}");
    assert!(lines.contains(&"\t'hwtstamp' type_id=19 bits_offset=1472"));

    if !on_path("bpftool") {
        println!("skipped: bpftool not found");
        return;
    }
    let bin = tmp("vmlinux.btf");
    bpfemu(&["btf", "dump", "--format", "bin", "--out", bin.to_str().unwrap()]);
    let o = Command::new("bpftool").args(["btf", "dump", "file", bin.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "bpftool: {}", String::from_utf8_lossy(&o.stderr));
    // Today's bpftool suffixes ENUM64 values (`val=4294967295ULL`); older
    // ones, such as Debian 12's 7.1.0, print the bare number.
    let theirs = String::from_utf8_lossy(&o.stdout).into_owned();
    let bare = |s: &str| -> String {
        s.lines()
            .map(|l| {
                if l.starts_with("\t'") && l.contains("' val=") {
                    l.trim_end_matches("ULL").trim_end_matches("LL")
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(bare(&theirs), bare(&raw));
}
