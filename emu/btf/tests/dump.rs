//! `dump_c` on a hand-built BTF, checked against an exact header; compiled
//! with clang and cross-checked with bpftool when those are installed.

use std::io::Write;
use std::process::{Command, Stdio};

use bpfemu_btf::*;

fn sample() -> Btf {
    let mut b = Btf::new();
    let int = b.add_int("int", 4, IntEncoding::Signed); // 1
    let ch = b.add_int("char", 1, IntEncoding::Signed); // 2
    let uint = b.add_int("unsigned int", 4, IntEncoding::Unsigned); // 3
    let u32_ = b.add_typedef("__u32", uint); // 4
    let lh_ptr = b.add_ptr(6); // 5
    let lh = b.add_struct(
        "list_head",
        16,
        &[MemberDef::new("next", lh_ptr, 0), MemberDef::new("prev", lh_ptr, 64)],
    ); // 6
    let comm = b.add_array(ch, int, 16); // 7
    let anon = b.add_union("", 4, &[MemberDef::new("a", int, 0), MemberDef::new("b", u32_, 0)]); // 8
    let cptr = b.add_ptr(ch); // 9
    let cc = b.add_const(ch); // 10
    let ccptr = b.add_ptr(cc); // 11
    let proto = b.add_func_proto(int, &[("x", int), ("", ccptr)], false); // 12
    let fnptr = b.add_ptr(proto); // 13
    let mm_ptr = b.add_ptr(17); // 14
    let task = b.add_struct(
        "task_struct",
        64,
        &[
            MemberDef::new("pid", int, 0),
            MemberDef::bitfield("flags", u32_, 32, 3),
            MemberDef::bitfield("state", u32_, 35, 5),
            MemberDef::new("comm", comm, 64),
            MemberDef::new("tasks", lh, 192),
            MemberDef::new("", anon, 320),
            MemberDef::new("cb", fnptr, 384),
            MemberDef::new("mm", mm_ptr, 448),
        ],
    ); // 15
    let tptr = b.add_ptr(task); // 16
    let mm =
        b.add_struct("mm_struct", 16, &[MemberDef::new("owner", tptr, 0), MemberDef::new("name", cptr, 64)]);
    assert_eq!(mm, 17);
    b.add_struct("pk", 5, &[MemberDef::new("c", ch, 0), MemberDef::new("i", int, 8)]);
    b.add_enum("state", 4, false, &[("RUNNING", 0), ("SLEEPING", 1)]);
    let op = b.add_fwd("opaque", false);
    let opp = b.add_ptr(op);
    b.add_typedef("opaque_t", opp);
    let vproto = b.add_func_proto(int, &[], false);
    let vp = b.add_ptr(vproto);
    b.add_typedef("handler_t", vp);
    b.add_func("do_thing", proto, FuncLinkage::Global);
    b.add_struct("padded", 16, &[MemberDef::new("a", ch, 0), MemberDef::new("b", int, 64)]);
    b
}

const EXPECTED: &str = "\
#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

typedef unsigned int __u32;

struct list_head {
	struct list_head *next;
	struct list_head *prev;
};

struct mm_struct;

struct task_struct {
	int pid;
	__u32 flags: 3;
	__u32 state: 5;
	long: 0;
	char comm[16];
	struct list_head tasks;
	union {
		int a;
		__u32 b;
	};
	int (*cb)(int x, const char *);
	struct mm_struct *mm;
};

struct mm_struct {
	struct task_struct *owner;
	char *name;
};

struct pk {
	char c;
	int i;
} __attribute__((packed));

enum state {
	RUNNING = 0,
	SLEEPING = 1,
};

struct opaque;

typedef struct opaque *opaque_t;

typedef int (*handler_t)(void);

struct padded {
	char a;
	long: 0;
	int b;
	long: 32;
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
";

#[test]
fn sample_dump_exact() {
    let b = sample();
    b.validate().unwrap();
    assert_eq!(dump_c(&b), EXPECTED);
}

#[test]
fn inline_anonymous_struct_array_of_ptrs_and_enum64() {
    let mut b = Btf::new();
    let int = b.add_int("int", 4, IntEncoding::Signed);
    let inner = b.add_struct("", 8, &[MemberDef::new("x", int, 0), MemberDef::new("y", int, 32)]);
    let ip = b.add_ptr(int);
    let arr = b.add_array(ip, int, 2);
    let parr = b.add_ptr(b.type_count() + 2);
    let arr3 = b.add_array(int, int, 3);
    assert_eq!(parr + 1, arr3);
    let e = b.add_enum64("", 8, false, &[("BIG", 1 << 40)]);
    let cp = b.add_const(ip);
    b.add_struct(
        "outer",
        48,
        &[
            MemberDef::new("pos", inner, 0),
            MemberDef::new("ptrs", arr, 64),
            MemberDef::new("parr", parr, 192),
            MemberDef::new("e", e, 256),
            MemberDef::new("cp", cp, 320),
        ],
    );
    b.validate().unwrap();
    let want = "struct outer {
	struct {
		int x;
		int y;
	} pos;
	int *ptrs[2];
	int (*parr)[3];
	enum {
		BIG = 1099511627776ULL,
	} e;
	int * const cp;
};

";
    assert_eq!(dump_c_types(&b), want);
}

#[test]
fn clang_accepts_the_dump() {
    let Ok(mut child) = Command::new("clang")
        .args(["-target", "bpf", "-fsyntax-only", "-x", "c", "-"])
        .stdin(Stdio::piped())
        .spawn()
    else {
        println!("skipped: clang is not on PATH");
        return;
    };
    let src = dump_c(&sample());
    child.stdin.take().unwrap().write_all(src.as_bytes()).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "clang rejected:\n{src}");
}

#[test]
fn bpftool_sees_the_same_types() {
    if Command::new("bpftool").arg("version").output().is_err() {
        println!("skipped: bpftool is not on PATH");
        return;
    }
    let b = sample();
    let path = std::env::temp_dir().join(format!("bpfemu-btf-{}.btf", std::process::id()));
    std::fs::write(&path, b.encode().unwrap()).unwrap();
    let out = Command::new("bpftool").arg("btf").arg("dump").arg("file").arg(&path).output().unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    // Raw format: `[id] KIND 'name' ...` one line per type.
    let listed: Vec<(String, String)> = text
        .lines()
        .filter(|l| l.starts_with('['))
        .map(|l| {
            let mut it = l.split_whitespace().skip(1);
            let kind = it.next().unwrap_or("").to_string();
            let name = it.next().unwrap_or("").trim_matches('\'').to_string();
            (kind, name)
        })
        .collect();
    assert_eq!(listed.len(), b.type_count() as usize);
    for ((kind, name), (id, t)) in listed.iter().zip(b.iter()) {
        assert_eq!(kind, t.kind.tag().name(), "type {id}");
        let ours = b.name(id);
        if !ours.contains(' ') {
            assert_eq!(name, if ours.is_empty() { "(anon)" } else { ours }, "type {id}");
        }
    }
}

#[test]
fn old_style_int_bitfields_and_decoded_equals_built() {
    let mut b = Btf::new();
    let int = b.add_int("int", 4, IntEncoding::Signed);
    let i3 = b.push(Type {
        name_off: 0,
        kind: Kind::Int { size: 4, encoding: IntEncoding::Signed, offset: 0, bits: 3 },
    });
    b.types[i3 as usize - 1].name_off = b.strings.intern("int");
    b.add_struct("f", 8, &[MemberDef::new("a", i3, 0), MemberDef::new("b", int, 32)]);
    b.validate().unwrap();
    assert_eq!(dump_c_types(&b), "struct f {\n\tint a: 3;\n\tint b;\n};\n\n");
    let decoded = load(&sample().encode().unwrap()).unwrap();
    assert_eq!(dump_c(&decoded), EXPECTED);
}
