//! CO-RE against the emulated kernel's own vmlinux BTF.

use bpfemu_btf::{Btf, BtfKind};
use bpfemu_kernel::vmlinux::vmlinux_btf;

use super::*;

/// The object's view: `struct task_struct___old { long state; int pid;
/// int tgid; struct task_struct___old *real_parent; char comm[16]; }`.
fn local() -> (Btf, u32) {
    let mut l = Btf::new();
    let p = prims(&mut l);
    let chr = l.add_int("char", 1, IntEncoding::Signed);
    let comm = l.add_array(chr, p.int, 16);
    let fwd = l.add_fwd("task_struct___old", false);
    let ptr = l.add_ptr(fwd);
    let t = l.add_struct(
        "task_struct___old",
        48,
        &[
            m("state", p.long, 0),
            m("pid", p.int, 64),
            m("tgid", p.int, 96),
            m("real_parent", ptr, 128),
            m("comm", comm, 192),
        ],
    );
    (l, t)
}

#[test]
fn task_struct_fields_relocate_to_the_emulated_layout() {
    let (l, t) = local();
    let v = vmlinux_btf();
    let kt = v.find_by_name_kind("task_struct", BtfKind::Struct).unwrap();
    let off = |name: &str| u64::from(v.member_offset(kt, name).unwrap().bit_offset / 8);
    let r = res(&l, &v, ReloKind::FieldByteOffset, t, "0:1");
    assert_eq!((r.orig, r.new, r.target_type_id), (8, off("pid"), kt));
    assert_eq!(res(&l, &v, ReloKind::FieldByteOffset, t, "0:2").new, off("tgid"));
    let r = res(&l, &v, ReloKind::FieldByteOffset, t, "0:3");
    assert_eq!((r.new, r.fail_memsz_adjust), (off("real_parent"), false));
    assert_eq!(res(&l, &v, ReloKind::FieldByteOffset, t, "0:4:3").new, off("comm") + 3);
    // `state` became `__state` in 5.14: gone from the target
    assert_eq!(res(&l, &v, ReloKind::FieldExists, t, "0:0").new, 0);
    assert!(res(&l, &v, ReloKind::FieldByteOffset, t, "0:0").poison);
    // whole-type relocations
    assert_eq!(res(&l, &v, ReloKind::TypeSize, t, "0").new, u64::from(v.resolve_size(kt).unwrap()));
    assert_eq!(res(&l, &v, ReloKind::TypeIdTarget, t, "0").new, u64::from(kt));
    assert_eq!(res(&l, &v, ReloKind::TypeExists, t, "0").new, 1);
    // pid is a pid_t typedef to int in the kernel: signed, same size
    assert_eq!(res(&l, &v, ReloKind::FieldSigned, t, "0:1").new, 1);
}
