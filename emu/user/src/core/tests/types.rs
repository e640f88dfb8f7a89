//! Type relocations: local / target id, exists, size, matches; and the
//! compatibility relations behind them.

use super::*;
use bpfemu_btf::Btf;

/// local: struct s { int a; long b; }, typedef s_t, union u, func proto
fn local() -> (Btf, u32) {
    let mut l = Btf::new();
    let p = prims(&mut l);
    let s = l.add_struct("s", 16, &[m("a", p.int, 0), m("b", p.long, 64)]);
    (l, s)
}

#[test]
fn type_exists_size_ids() {
    let (l, s) = local();
    let mut t = Btf::new();
    let q = prims(&mut t);
    let ts = t.add_struct("s", 24, &[m("b", q.long, 0), m("a", q.int, 64), m("c", q.long, 128)]);
    let r = res(&l, &t, ReloKind::TypeExists, s, "0");
    assert_eq!((r.orig, r.new, r.validate), (1, 1, true));
    let r = res(&l, &t, ReloKind::TypeSize, s, "0");
    assert_eq!((r.orig, r.new), (16, 24));
    let r = res(&l, &t, ReloKind::TypeIdTarget, s, "0");
    assert_eq!((r.orig, r.new, r.validate, r.target_type_id), (u64::from(s), u64::from(ts), false, ts));
    let r = res(&l, &t, ReloKind::TypeIdLocal, s, "0");
    assert_eq!((r.orig, r.new, r.validate, r.candidates), (u64::from(s), u64::from(s), false, 0));
    assert_eq!(r.local_spec, "<local_type_id> [6] struct s");
    // ld_imm64 form of a type id (bpf_core_type_id_kernel)
    let mut insns = [Insn::new(BPF_LD | BPF_IMM | BPF_DW, 1, 0, 0, 6), Insn::new(0, 0, 0, 0, 0)];
    apply(&mut insns, &relo(ReloKind::TypeIdTarget, s, "0"), &res(&l, &t, ReloKind::TypeIdTarget, s, "0"))
        .unwrap();
    assert_eq!((insns[0].imm, insns[1].imm), (ts as i32, 0));
}

#[test]
fn type_missing_gives_zero() {
    let (l, s) = local();
    let mut t = Btf::new();
    prims(&mut t);
    for k in [ReloKind::TypeExists, ReloKind::TypeSize, ReloKind::TypeIdTarget, ReloKind::TypeMatches] {
        let r = res(&l, &t, k, s, "0");
        assert_eq!((r.new, r.poison), (0, false), "{k}");
    }
    // a union of the same name is not a candidate
    let mut t = Btf::new();
    let q = prims(&mut t);
    t.add_union("s", 8, &[m("a", q.int, 0)]);
    assert_eq!(res(&l, &t, ReloKind::TypeExists, s, "0").new, 0);
}

#[test]
fn type_relos_take_access_zero_only() {
    let (l, s) = local();
    for bad in ["1", "0:0", ""] {
        assert!(matches!(resolve(&l, &l, &relo(ReloKind::TypeSize, s, bad)), Err(CoreError::Parse { .. })));
    }
}

#[test]
fn two_compatible_targets_make_type_id_ambiguous() {
    let (l, s) = local();
    let mut t = Btf::new();
    let q = prims(&mut t);
    t.add_struct("s", 16, &[m("a", q.int, 0)]);
    t.add_struct("s___x", 16, &[m("a", q.int, 0)]);
    let e = resolve(&l, &t, &relo(ReloKind::TypeIdTarget, s, "0")).unwrap_err();
    assert!(matches!(e, CoreError::DecisionAmbiguity { .. }), "{e}");
    assert_eq!(res(&l, &t, ReloKind::TypeExists, s, "0").new, 1);
    assert_eq!(res(&l, &t, ReloKind::TypeSize, s, "0").new, 16);
}

#[test]
fn type_matches_is_stricter_than_exists() {
    let (l, s) = local();
    // target with a member of another size: exists yes, matches no
    let mut t = Btf::new();
    let q = prims(&mut t);
    t.add_struct("s", 16, &[m("a", q.long, 0), m("b", q.long, 64)]);
    assert_eq!(res(&l, &t, ReloKind::TypeExists, s, "0").new, 1);
    assert_eq!(res(&l, &t, ReloKind::TypeMatches, s, "0").new, 0);
    // superset of members, any order: matches
    let mut t = Btf::new();
    let q = prims(&mut t);
    t.add_struct("s", 24, &[m("c", q.u8, 0), m("b", q.long, 64), m("a", q.int, 128)]);
    assert_eq!(res(&l, &t, ReloKind::TypeMatches, s, "0").new, 1);
    // missing member: no match
    let mut t = Btf::new();
    let q = prims(&mut t);
    t.add_struct("s", 8, &[m("a", q.int, 0)]);
    assert_eq!(res(&l, &t, ReloKind::TypeMatches, s, "0").new, 0);
}

#[test]
fn types_match_rules() {
    // pointers to a struct match a forward declaration; enums by names
    let mut l = Btf::new();
    let p = prims(&mut l);
    let inner = l.add_struct("inner", 4, &[m("x", p.int, 0)]);
    let pin = l.add_ptr(inner);
    let e = l.add_enum("e", 4, false, &[("E1", 1)]);
    let fp = l.add_func_proto(p.int, &[("a", p.int)], false);
    let pfp = l.add_ptr(fp);
    let a3 = l.add_array(p.int, p.int, 3);
    let s = l.add_struct("s", 40, &[m("p", pin, 0), m("e", e, 64), m("f", pfp, 128), m("v", a3, 192)]);

    let mut t = Btf::new();
    let q = prims(&mut t);
    let fwd = t.add_fwd("inner", false);
    let tp = t.add_ptr(fwd);
    let te = t.add_enum64("e", 4, false, &[("E0", 0), ("E1", 7)]);
    let tfp = t.add_func_proto(q.int, &[("b", q.int)], false);
    let tpfp = t.add_ptr(tfp);
    let t3 = t.add_array(q.int, q.int, 3);
    let ts = t.add_struct("s", 40, &[m("v", t3, 0), m("e", te, 96), m("p", tp, 128), m("f", tpfp, 192)]);
    assert_eq!(types_match(&l, s, &t, ts), Ok(true));
    assert_eq!(types_are_compat(&l, s, &t, ts), Ok(true));

    // array length differs: no match
    let mut t2 = t.clone();
    let t4 = t2.add_array(q.int, q.int, 4);
    let ts2 = t2.add_struct("s", 40, &[m("v", t4, 0), m("e", te, 96), m("p", tp, 128), m("f", tpfp, 192)]);
    assert_eq!(types_match(&l, s, &t2, ts2), Ok(false));
    // a forward of a union does not match a struct behind a pointer
    let mut t3b = Btf::new();
    let q = prims(&mut t3b);
    let ufwd = t3b.add_fwd("inner", true);
    let up = t3b.add_ptr(ufwd);
    let ts3 = t3b.add_struct("s", 8, &[m("p", up, 0)]);
    let mut l3 = Btf::new();
    let lp = prims(&mut l3);
    let li = l3.add_struct("inner", 4, &[m("x", lp.int, 0)]);
    let lpi = l3.add_ptr(li);
    let ls3 = l3.add_struct("s", 8, &[m("p", lpi, 0)]);
    assert_eq!(types_match(&l3, ls3, &t3b, ts3), Ok(false));
    let _ = q;
}

#[test]
fn types_are_compat_rules() {
    let mut l = Btf::new();
    let p = prims(&mut l);
    let pi = l.add_ptr(p.int);
    let fp = l.add_func_proto(p.int, &[("a", pi)], false);
    let mut t = Btf::new();
    let q = prims(&mut t);
    let tpl = t.add_ptr(q.long);
    let tfp = t.add_func_proto(q.u8, &[("x", tpl)], false);
    let tfp2 = t.add_func_proto(q.u8, &[], false);
    let tpp = t.add_ptr(tpl);
    // ints of any size are compatible; arity must agree
    assert_eq!(types_are_compat(&l, fp, &t, tfp), Ok(true));
    assert_eq!(types_are_compat(&l, fp, &t, tfp2), Ok(false));
    // pointer depth must agree
    let tfp3 = t.add_func_proto(q.u8, &[("x", tpp)], false);
    assert_eq!(types_are_compat(&l, fp, &t, tfp3), Ok(false));
    // dangling ids are errors
    assert!(types_are_compat(&l, 999, &t, tfp).is_err());
    assert!(types_match(&l, fp, &t, 999).is_err());
}

#[test]
fn essential_names() {
    assert_eq!(essential_name("task_struct___v1"), "task_struct");
    assert_eq!(essential_name("a___b___c"), "a___b");
    assert_eq!(essential_name("a____b"), "a____b");
    assert_eq!(essential_name("___x"), "___x");
    assert_eq!(essential_name("x___"), "x___");
    assert_eq!(essential_name("ab"), "ab");
    assert_eq!(essential_name(""), "");
}

#[test]
fn candidates_are_kind_and_name_filtered() {
    let mut l = Btf::new();
    let e = l.add_enum("e", 4, false, &[("A", 1)]);
    let mut t = Btf::new();
    let e1 = t.add_enum("e___1", 4, false, &[]);
    t.add_struct("e", 0, &[]);
    let e2 = t.add_enum64("e", 8, false, &[]);
    t.add_enum("ee", 4, false, &[]);
    assert_eq!(find_candidates(&l, e, &t), vec![e1, e2]);
    assert!(find_candidates(&l, 0, &t).is_empty());
    assert!(find_candidates(&l, 99, &t).is_empty());
}
