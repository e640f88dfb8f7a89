//! Enumerator relocations: exists / value, ENUM and ENUM64, flavors.

use super::*;
use bpfemu_btf::Btf;

fn local_enum() -> (Btf, u32) {
    let mut l = Btf::new();
    let e = l.add_enum("state", 4, true, &[("ST_A", 1), ("ST_B", 2), ("ST_NEG", -1)]);
    (l, e)
}

#[test]
fn enumerator_exists_and_value() {
    let (l, e) = local_enum();
    let mut t = Btf::new();
    t.add_int("int", 4, IntEncoding::Signed);
    let te = t.add_enum("state", 4, true, &[("ST_B", 5), ("ST_C", 6), ("ST_NEG", -7)]);
    let r = res(&l, &t, ReloKind::EnumvalExists, e, "0");
    assert_eq!((r.orig, r.new, r.poison), (1, 0, false));
    let r = res(&l, &t, ReloKind::EnumvalExists, e, "1");
    assert_eq!((r.orig, r.new, r.target_type_id), (1, 1, te));
    let r = res(&l, &t, ReloKind::EnumvalValue, e, "1");
    assert_eq!((r.orig, r.new), (2, 5));
    assert_eq!(r.local_spec, "<enumval_value> [1] enum state::ST_B = 2");
    assert_eq!(r.target_spec.as_deref(), Some("<enumval_value> [2] enum state::ST_B = 5"));
    // missing enumerator value: poison
    assert!(res(&l, &t, ReloKind::EnumvalValue, e, "0").poison);
    // negative values are sign-extended like libbpf's s32 -> u64
    let r = res(&l, &t, ReloKind::EnumvalValue, e, "2");
    assert_eq!((r.orig, r.new), (u64::MAX, (-7i64) as u64));
    assert_eq!(patch_one(mov64(-1), &r).unwrap(), mov64(-7));
}

#[test]
fn enum64_targets_and_ldimm64() {
    let (l, e) = local_enum();
    let mut t = Btf::new();
    t.add_enum64("state", 8, false, &[("ST_B", 0x1_0000_0005), ("ST_A", 3)]);
    let r = res(&l, &t, ReloKind::EnumvalValue, e, "1");
    assert_eq!((r.orig, r.new), (2, 0x1_0000_0005));
    let mut insns = [Insn::new(BPF_LD | BPF_IMM | BPF_DW, 1, 0, 0, 2), Insn::new(0, 0, 0, 0, 0)];
    apply(&mut insns, &relo(ReloKind::EnumvalValue, e, "1"), &r).unwrap();
    assert_eq!((insns[0].imm, insns[1].imm), (5, 1));
    assert_eq!(res(&l, &t, ReloKind::EnumvalValue, e, "0").new, 3);
    assert_eq!(res(&l, &t, ReloKind::EnumvalExists, e, "2").new, 0);
}

#[test]
fn enumerator_flavors_and_enum_flavors() {
    let mut l = Btf::new();
    let e = l.add_enum("state___old", 4, false, &[("ST_X___old", 9)]);
    let mut t = Btf::new();
    t.add_enum("state", 4, false, &[("ST_X", 4)]);
    let r = res(&l, &t, ReloKind::EnumvalValue, e, "0");
    assert_eq!((r.orig, r.new), (9, 4));
}

#[test]
fn enumval_parse_errors() {
    let (l, e) = local_enum();
    for bad in ["3", "0:0", "x", ""] {
        let r = resolve(&l, &l, &relo(ReloKind::EnumvalValue, e, bad));
        assert!(matches!(r, Err(CoreError::Parse { .. })), "{bad}: {r:?}");
    }
    // the root must be an enum
    let mut s = Btf::new();
    let i = s.add_int("int", 4, IntEncoding::Signed);
    let st = s.add_struct("st", 4, &[m("a", i, 0)]);
    assert!(matches!(resolve(&s, &s, &relo(ReloKind::EnumvalExists, st, "0")), Err(CoreError::Parse { .. })));
}

#[test]
fn two_enums_disagreeing_are_ambiguous() {
    let (l, e) = local_enum();
    let mut t = Btf::new();
    t.add_enum("state", 4, true, &[("ST_B", 5)]);
    t.add_enum64("state___2", 8, true, &[("ST_B", 6)]);
    let err = resolve(&l, &t, &relo(ReloKind::EnumvalValue, e, "1")).unwrap_err();
    assert_eq!(err.to_string(), "relo #0: relocation decision ambiguity: success 6 != success 5");
    // exists agrees
    assert_eq!(res(&l, &t, ReloKind::EnumvalExists, e, "1").new, 1);
}
