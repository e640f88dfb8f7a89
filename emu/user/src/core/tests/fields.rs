//! Field relocations: reordered, resized, missing, bitfields, nested and
//! anonymous members, arrays, flavors, ambiguity.

use super::*;
use bpfemu_btf::Btf;
use bpfemu_kernel::errno::Errno;

/// local: struct s { int a; int b; }
fn local_ab() -> (Btf, u32) {
    let mut b = Btf::new();
    let p = prims(&mut b);
    let s = b.add_struct("s", 8, &[m("a", p.int, 0), m("b", p.int, 32)]);
    (b, s)
}

#[test]
fn reordered_fields_relocate_offsets() {
    let (l, s) = local_ab();
    let mut t = Btf::new();
    let p = prims(&mut t);
    let ts = t.add_struct("s", 12, &[m("x", p.int, 0), m("b", p.int, 32), m("a", p.int, 64)]);
    let r = res(&l, &t, ReloKind::FieldByteOffset, s, "0:0");
    assert_eq!((r.orig, r.new, r.poison, r.validate), (0, 8, false, true));
    assert_eq!((r.orig_sz, r.new_sz), (4, 4));
    assert_eq!(r.target_type_id, ts);
    assert_eq!(r.candidates, 1);
    assert_eq!(r.local_spec, "<byte_off> [6] struct s.a (0:0 @ offset 0)");
    assert_eq!(r.target_spec.as_deref(), Some("<byte_off> [6] struct s.a (0:2 @ offset 8)"));
    let r = res(&l, &t, ReloKind::FieldByteOffset, s, "0:1");
    assert_eq!((r.orig, r.new), (4, 4));
    let i = patch_one(ldx(BPF_W, 0), &res(&l, &t, ReloKind::FieldByteOffset, s, "0:0")).unwrap();
    assert_eq!(i, ldx(BPF_W, 8));
    // exists / size / signed
    assert_eq!(res(&l, &t, ReloKind::FieldExists, s, "0:0").new, 1);
    assert_eq!(res(&l, &t, ReloKind::FieldByteSize, s, "0:0").new, 4);
    assert_eq!(res(&l, &t, ReloKind::FieldSigned, s, "0:0").new, 1);
}

#[test]
fn resized_unsigned_field_adjusts_load_size() {
    let mut l = Btf::new();
    let p = prims(&mut l);
    let s = l.add_struct("s", 8, &[m("a", p.u32, 0), m("b", p.u32, 32)]);
    let mut t = Btf::new();
    let q = prims(&mut t);
    t.add_struct("s", 16, &[m("a", q.u64, 0), m("b", q.u64, 64)]);
    let r = res(&l, &t, ReloKind::FieldByteOffset, s, "0:1");
    assert_eq!((r.orig, r.new, r.orig_sz, r.new_sz, r.fail_memsz_adjust), (4, 8, 4, 8, false));
    assert_eq!(patch_one(ldx(BPF_W, 4), &r).unwrap(), ldx(BPF_DW, 8));
    // the load must have the local field's size
    let e = patch_one(ldx(BPF_H, 4), &r).unwrap_err();
    assert!(matches!(e, CoreError::UnexpectedMemSize { got: 2, exp: 4, .. }), "{e}");
    assert_eq!(res(&l, &t, ReloKind::FieldByteSize, s, "0:1").new, 8);
}

#[test]
fn resized_signed_field_poisons_loads_but_not_alu() {
    let (l, s) = local_ab();
    let mut t = Btf::new();
    let q = prims(&mut t);
    t.add_struct("s", 16, &[m("a", q.long, 0), m("b", q.long, 64)]);
    let r = res(&l, &t, ReloKind::FieldByteOffset, s, "0:1");
    assert!(r.fail_memsz_adjust);
    assert!(!r.poison);
    assert!(is_poison(&patch_one(ldx(BPF_W, 4), &r).unwrap()));
    assert_eq!(patch_one(mov64(4), &r).unwrap(), mov64(8));
}

#[test]
fn pointer_resized_is_fine() {
    let mut l = Btf::new();
    let p = prims(&mut l);
    let pi = l.add_ptr(p.int);
    let s = l.add_struct("s", 8, &[m("p", pi, 0)]);
    let mut t = Btf::new();
    let q = prims(&mut t);
    let tp = t.add_ptr(q.int);
    t.add_struct("s", 8, &[m("x", q.int, 0), m("p", tp, 32)]);
    let r = res(&l, &t, ReloKind::FieldByteOffset, s, "0:0");
    assert_eq!((r.orig, r.new), (0, 4));
    assert!(!r.fail_memsz_adjust);
}

#[test]
fn missing_field_exists_zero_offset_poison() {
    let (l, s) = local_ab();
    let mut t = Btf::new();
    let p = prims(&mut t);
    t.add_struct("s", 4, &[m("a", p.int, 0)]);
    let r = res(&l, &t, ReloKind::FieldExists, s, "0:1");
    assert_eq!((r.orig, r.new, r.poison), (1, 0, false));
    assert_eq!(r.target_type_id, 0);
    assert_eq!(r.candidates, 1);
    assert_eq!(patch_one(mov64(1), &r).unwrap(), mov64(0));
    let r = res(&l, &t, ReloKind::FieldByteOffset, s, "0:1");
    assert!(r.poison);
    assert!(is_poison(&patch_one(ldx(BPF_W, 4), &r).unwrap()));
    // no target type at all: same outcome
    let empty = Btf::new();
    assert_eq!(res(&l, &empty, ReloKind::FieldExists, s, "0:1").new, 0);
    assert!(res(&l, &empty, ReloKind::FieldByteSize, s, "0:1").poison);
    assert_eq!(res(&l, &empty, ReloKind::FieldByteSize, s, "0:1").candidates, 0);
}

#[test]
fn incompatible_field_type_is_no_match() {
    let (l, s) = local_ab();
    let mut t = Btf::new();
    let p = prims(&mut t);
    let pi = t.add_ptr(p.int);
    t.add_struct("s", 16, &[m("a", p.int, 0), m("b", pi, 64)]);
    assert_eq!(res(&l, &t, ReloKind::FieldExists, s, "0:1").new, 0);
    assert_eq!(res(&l, &t, ReloKind::FieldExists, s, "0:0").new, 1);
}

/// local: struct bf { unsigned int x:3; unsigned int y:5; int z:4; }
fn local_bf() -> (Btf, u32) {
    let mut l = Btf::new();
    let p = prims(&mut l);
    let s = l.add_struct(
        "bf",
        4,
        &[
            MemberDef::bitfield("x", p.u32, 0, 3),
            MemberDef::bitfield("y", p.u32, 3, 5),
            MemberDef::bitfield("z", p.int, 8, 4),
        ],
    );
    (l, s)
}

#[test]
fn bitfields_shift_and_load_window() {
    let (l, s) = local_bf();
    let mut t = Btf::new();
    let q = prims(&mut t);
    t.add_struct(
        "bf",
        16,
        &[
            m("pad", q.u64, 0),
            MemberDef::bitfield("x", q.u32, 64, 3),
            MemberDef::bitfield("y", q.u32, 67, 5),
            MemberDef::bitfield("z", q.int, 72, 4),
        ],
    );
    let get = |k| res(&l, &t, k, s, "0:1");
    let off = get(ReloKind::FieldByteOffset);
    assert_eq!((off.orig, off.new, off.validate), (0, 8, false));
    assert_eq!((off.orig_sz, off.new_sz), (0, 0));
    assert_eq!((get(ReloKind::FieldByteSize).orig, get(ReloKind::FieldByteSize).new), (4, 4));
    let ls = get(ReloKind::FieldLshiftU64);
    assert_eq!((ls.orig, ls.new), (56, 56));
    let rs = get(ReloKind::FieldRshiftU64);
    assert_eq!((rs.orig, rs.new, rs.validate), (59, 59, true));
    assert_eq!(get(ReloKind::FieldSigned).new, 0);
    assert_eq!(res(&l, &t, ReloKind::FieldSigned, s, "0:2").new, 1);
    // a bitfield load is not size-checked (validate is off)
    assert_eq!(patch_one(ldx(BPF_W, 0), &off).unwrap(), ldx(BPF_W, 8));
}

#[test]
fn bitfield_straddling_widens_the_load() {
    let (l, s) = local_bf();
    let mut t = Btf::new();
    let q = prims(&mut t);
    // y: 5 bits at bit 6 of an unsigned char: spans bytes 0 and 1
    t.add_struct("bf", 2, &[MemberDef::bitfield("y", q.u8, 6, 5)]);
    let r = res(&l, &t, ReloKind::FieldByteSize, s, "0:1");
    assert_eq!(r.new, 2);
    assert_eq!(res(&l, &t, ReloKind::FieldByteOffset, s, "0:1").new, 0);
    assert_eq!(res(&l, &t, ReloKind::FieldLshiftU64, s, "0:1").new, 64 - 11);
    assert_eq!(res(&l, &t, ReloKind::FieldRshiftU64, s, "0:1").new, 59);
}

#[test]
fn bitfield_beyond_eight_bytes_is_e2big() {
    let (l, s) = local_bf();
    let mut t = Btf::new();
    let q = prims(&mut t);
    t.add_struct("bf", 16, &[MemberDef::bitfield("y", q.u64, 60, 8)]);
    let e = err(&l, &t, ReloKind::FieldByteOffset, s, "0:1");
    assert_eq!(e.errno(), Errno::E2BIG);
    assert_eq!(e.to_string(), "relo #0: relo byte_off at insn #0 can't be satisfied for bitfield");
}

#[test]
fn nested_and_anonymous_members() {
    // local: struct n { int a; struct { int b; int c; }; struct in { long d; } i; }
    let mut l = Btf::new();
    let p = prims(&mut l);
    let anon = l.add_struct("", 8, &[m("b", p.int, 0), m("c", p.int, 32)]);
    let inner = l.add_struct("in", 8, &[m("d", p.long, 0)]);
    let s = l.add_struct("n", 24, &[m("a", p.int, 0), m("", anon, 32), m("i", inner, 128)]);
    // target: struct n { struct in i; union { long z; struct { int c; int b; }; }; int a; }
    let mut t = Btf::new();
    let q = prims(&mut t);
    let tin = t.add_struct("in", 16, &[m("pad", q.long, 0), m("d", q.long, 64)]);
    let tanon_s = t.add_struct("", 8, &[m("c", q.int, 0), m("b", q.int, 32)]);
    let tanon_u = t.add_union("", 8, &[m("z", q.long, 0), m("", tanon_s, 0)]);
    t.add_struct("n", 32, &[m("i", tin, 0), m("", tanon_u, 128), m("a", q.int, 192)]);
    // c: 0:1:1
    let r = res(&l, &t, ReloKind::FieldByteOffset, s, "0:1:1");
    assert_eq!((r.orig, r.new), (8, 16));
    assert_eq!(r.target_spec.as_deref(), Some("<byte_off> [9] struct n.c (0:1:1:0 @ offset 16)"));
    // b: 0:1:0
    assert_eq!(res(&l, &t, ReloKind::FieldByteOffset, s, "0:1:0").new, 20);
    // i.d: 0:2:0
    let r = res(&l, &t, ReloKind::FieldByteOffset, s, "0:2:0");
    assert_eq!((r.orig, r.new), (16, 8));
    // a: 0:0
    assert_eq!(res(&l, &t, ReloKind::FieldByteOffset, s, "0:0").new, 24);
}

#[test]
fn arrays_and_flexible_arrays() {
    // local: struct arr { int x; int v[4]; int n; int flex[]; }
    let mut l = Btf::new();
    let p = prims(&mut l);
    let a4 = l.add_array(p.int, p.int, 4);
    let a0 = l.add_array(p.int, p.int, 0);
    let s =
        l.add_struct("arr", 24, &[m("x", p.int, 0), m("v", a4, 32), m("n", p.int, 160), m("flex", a0, 192)]);
    // target: struct arr { long y; int x; int v[8]; int n; int flex[]; }
    let mut t = Btf::new();
    let q = prims(&mut t);
    let t8 = t.add_array(q.int, q.int, 8);
    let t0 = t.add_array(q.int, q.int, 0);
    t.add_struct(
        "arr",
        48,
        &[m("y", q.long, 0), m("x", q.int, 64), m("v", t8, 96), m("n", q.int, 352), m("flex", t0, 384)],
    );
    let r = res(&l, &t, ReloKind::FieldByteOffset, s, "0:1:2");
    assert_eq!((r.orig, r.new, r.orig_sz, r.new_sz), (12, 20, 4, 4));
    assert_eq!(r.local_spec, "<byte_off> [8] struct arr.v[2] (0:1:2 @ offset 12)");
    // array element size / whole array size
    assert_eq!(res(&l, &t, ReloKind::FieldByteSize, s, "0:1:2").new, 4);
    assert_eq!(res(&l, &t, ReloKind::FieldByteSize, s, "0:1").new, 32);
    // flexible array: any index
    let r = res(&l, &t, ReloKind::FieldByteOffset, s, "0:3:10");
    assert_eq!((r.orig, r.new), (24 + 40, 48 + 40));
    // out of local bounds: a parse error
    let e = err(&l, &t, ReloKind::FieldByteOffset, s, "0:1:4");
    assert!(e.to_string().starts_with("relo #0: parsing [8] struct arr + 0:1:4 failed:"), "{e}");
    // root index: p[1]
    let r = res(&l, &t, ReloKind::FieldByteOffset, s, "1");
    assert_eq!((r.orig, r.new), (24, 48));
    // array accessor with a non offset/size kind
    let e = err(&l, &t, ReloKind::FieldLshiftU64, s, "0:1:2");
    assert!(matches!(e, CoreError::ArrayAccess { .. }), "{e}");
}

#[test]
fn target_array_too_small_is_no_match() {
    let mut l = Btf::new();
    let p = prims(&mut l);
    let a4 = l.add_array(p.int, p.int, 4);
    let s = l.add_struct("arr", 16, &[m("v", a4, 0)]);
    let mut t = Btf::new();
    let q = prims(&mut t);
    let a2 = t.add_array(q.int, q.int, 2);
    t.add_struct("arr", 8, &[m("v", a2, 0)]);
    assert_eq!(res(&l, &t, ReloKind::FieldExists, s, "0:0:3").new, 0);
    assert_eq!(res(&l, &t, ReloKind::FieldExists, s, "0:0:1").new, 1);
}

#[test]
fn local_flavor_matches_plain_target() {
    let mut l = Btf::new();
    let p = prims(&mut l);
    let s = l.add_struct("s___v1", 4, &[m("b", p.int, 0)]);
    let mut t = Btf::new();
    let q = prims(&mut t);
    let ts = t.add_struct("s", 8, &[m("a", q.int, 0), m("b", q.int, 32)]);
    t.add_struct("s_other", 8, &[m("b", q.int, 0)]);
    let r = res(&l, &t, ReloKind::FieldByteOffset, s, "0:0");
    assert_eq!((r.new, r.target_type_id, r.candidates), (4, ts, 1));
}

#[test]
fn several_flavors_agreeing_are_fine_disagreeing_are_ambiguous() {
    let (l, s) = local_ab();
    let mut t = Btf::new();
    let q = prims(&mut t);
    let t1 = t.add_struct("s", 8, &[m("a", q.int, 0), m("b", q.int, 32)]);
    t.add_struct("s___2", 8, &[m("a", q.int, 0), m("b", q.int, 32)]);
    let r = res(&l, &t, ReloKind::FieldByteOffset, s, "0:1");
    assert_eq!((r.new, r.target_type_id, r.candidates), (4, t1, 2));

    let mut t = Btf::new();
    let q = prims(&mut t);
    t.add_struct("s", 8, &[m("a", q.int, 0), m("b", q.int, 32)]);
    t.add_struct("s___2", 12, &[m("x", q.int, 0), m("a", q.int, 32), m("b", q.int, 64)]);
    let e = err(&l, &t, ReloKind::FieldByteOffset, s, "0:1");
    assert_eq!(e.to_string(), "relo #0: field offset ambiguity: 64 != 32");
    assert_eq!(e.errno(), Errno::EINVAL);

    // same offset, different size: the byte_sz decision differs
    let mut t = Btf::new();
    let q = prims(&mut t);
    t.add_struct("s", 8, &[m("a", q.int, 0), m("b", q.int, 32)]);
    t.add_struct("s___2", 16, &[m("a", q.int, 0), m("b", q.long, 32)]);
    let e = err(&l, &t, ReloKind::FieldByteSize, s, "0:1");
    assert_eq!(e.to_string(), "relo #0: relocation decision ambiguity: success 8 != success 4");
}

#[test]
fn resolver_prunes_candidates_like_libbpf() {
    let mut l = Btf::new();
    let p = prims(&mut l);
    let s = l.add_struct("s", 8, &[m("a", p.int, 0), m("b", p.int, 32)]);
    let mut t = Btf::new();
    let q = prims(&mut t);
    t.add_struct("s", 4, &[m("a", q.int, 0)]);
    t.add_struct("s___new", 8, &[m("b", q.int, 0), m("a", q.int, 32)]);
    // alone, "b" is found in s___new
    assert_eq!(res(&l, &t, ReloKind::FieldByteOffset, s, "0:1").new, 0);
    // in t2, "a" matches only `s` (s___new's "a" is a pointer), which
    // drops s___new from the resolver's candidates for later relocations
    let mut t2 = Btf::new();
    let q = prims(&mut t2);
    t2.add_struct("s", 4, &[m("a", q.int, 0)]);
    let pi = t2.add_ptr(q.int);
    t2.add_struct("s___new", 16, &[m("b", q.int, 0), m("a", pi, 64)]);
    let mut r = Resolver::new(&l, &t2);
    let first = r.resolve(&relo(ReloKind::FieldByteOffset, s, "0:0")).unwrap();
    assert_eq!((first.new, first.candidates), (0, 2));
    // s___new was pruned: "b" is now missing
    let second = r.resolve(&relo(ReloKind::FieldExists, s, "0:1")).unwrap();
    assert_eq!((second.new, second.candidates), (0, 1));
    // a fresh resolver still sees it
    assert_eq!(res(&l, &t2, ReloKind::FieldExists, s, "0:1").new, 1);
}

#[test]
fn parse_errors_name_the_relocation() {
    let (l, s) = local_ab();
    let t = l.clone();
    for bad in ["", ":0", "0:", "0::1", "a", "-1", "0:2", "0:0:0", "99999999999"] {
        let e = err(&l, &t, ReloKind::FieldByteOffset, s, bad);
        assert!(matches!(e, CoreError::Parse { .. }), "{bad}: {e}");
        assert_eq!(e.errno(), Errno::EINVAL, "{bad}");
    }
    let long = vec!["0"; 65].join(":");
    assert_eq!(err(&l, &t, ReloKind::FieldByteOffset, s, &long).errno(), Errno::E2BIG);
    let e = err(&l, &t, ReloKind::FieldByteOffset, s, "0:2");
    assert!(e.to_string().starts_with("relo #0: parsing [6] struct s + 0:2 failed: "), "{e}");
    // anonymous root: candidate search fails
    let mut a = Btf::new();
    let p = prims(&mut a);
    let anon = a.add_struct("", 4, &[m("x", p.int, 0)]);
    let e = err(&a, &a, ReloKind::FieldByteOffset, anon, "0:0");
    assert_eq!(e.to_string(), "relo #0: target candidate search failed for [6] struct : -22");
    // dangling root
    assert!(matches!(err(&l, &t, ReloKind::FieldByteOffset, 1000, "0"), CoreError::BadTypeId { .. }));
}

#[test]
fn typedef_root_and_modifiers_are_skipped() {
    let mut l = Btf::new();
    let p = prims(&mut l);
    let s = l.add_struct("s", 8, &[m("a", p.int, 0), m("b", p.int, 32)]);
    let c = l.add_const(s);
    let td = l.add_typedef("s_t", c);
    let mut t = Btf::new();
    let q = prims(&mut t);
    let ts = t.add_struct("s", 12, &[m("x", q.long, 0), m("b", q.int, 64)]);
    t.add_typedef("s_t", ts);
    let r = res(&l, &t, ReloKind::FieldByteOffset, td, "0:1");
    assert_eq!((r.orig, r.new), (4, 8));
}
