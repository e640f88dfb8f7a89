use super::*;
use crate::concrete::{alu, cond};
use proptest::prelude::*;

/// The tightest bounds holding every value of `vals`, with some components
/// forgotten (`drop` bits), synced.
fn hull(vals: &[u64], drop: u8) -> ScalarBounds {
    let mut b = ScalarBounds::constant(vals[0]);
    for &v in &vals[1..] {
        b.var_off = b.var_off.union(Tnum::constant(v));
        b.umin = b.umin.min(v);
        b.umax = b.umax.max(v);
        b.smin = b.smin.min(v as i64);
        b.smax = b.smax.max(v as i64);
        b.u32_min = b.u32_min.min(v as u32);
        b.u32_max = b.u32_max.max(v as u32);
        b.s32_min = b.s32_min.min(v as i32);
        b.s32_max = b.s32_max.max(v as i32);
    }
    let full = ScalarBounds::unknown();
    if drop & 1 != 0 {
        b.var_off = Tnum::UNKNOWN;
    }
    if drop & 2 != 0 {
        (b.umin, b.umax) = (full.umin, full.umax);
    }
    if drop & 4 != 0 {
        (b.smin, b.smax) = (full.smin, full.smax);
    }
    if drop & 8 != 0 {
        (b.u32_min, b.u32_max, b.s32_min, b.s32_max) = (0, u32::MAX, i32::MIN, i32::MAX);
    }
    b.sync();
    b
}

fn base() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        prop::sample::select(vec![
            0u64,
            1,
            u64::MAX,
            1 << 63,
            (1 << 63) - 1,
            1 << 31,
            (1 << 31) - 1,
            1 << 32,
            (1 << 32) - 1,
            0xffff_ffff_8000_0000,
            0x1_7fff_ffff,
        ]),
        0u64..300,
    ]
}

/// Random bounds and a few concrete values inside them.
fn bounds_and_members() -> impl Strategy<Value = (ScalarBounds, Vec<u64>)> {
    (base(), prop::collection::vec((any::<i64>(), 0u32..64), 0..5), any::<u8>()).prop_map(
        |(base, deltas, drop)| {
            let mut vals = vec![base];
            vals.extend(deltas.iter().map(|&(r, k)| base.wrapping_add((r >> k) as u64)));
            let drop = if drop & 0xf0 == 0 { drop } else { 0 };
            (hull(&vals, drop), vals)
        },
    )
}

fn src_and_members() -> impl Strategy<Value = (ScalarBounds, Vec<u64>)> {
    prop_oneof![
        bounds_and_members(),
        (0u64..70).prop_map(|c| (ScalarBounds::constant(c), vec![c])),
        any::<u64>().prop_map(|c| (ScalarBounds::constant(c), vec![c])),
    ]
}

const WIDTHS: [Width; 2] = [Width::W64, Width::W32];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn sync_keeps_members((b, xs) in bounds_and_members()) {
        prop_assert!(!b.is_empty(), "{:?}", b);
        for &x in &xs {
            prop_assert!(b.contains(x), "{:#x} not in {:?}", x, b);
        }
    }

    #[test]
    fn alu_is_sound((a, xs) in bounds_and_members(), (b, ys) in src_and_members()) {
        for width in WIDTHS {
            for op in AluOp::ALL {
                let r = a.alu(op, width, &b);
                for &x in &xs {
                    for &y in &ys {
                        let v = alu(op, width, x, y);
                        prop_assert!(r.contains(v), "{:?} {:?}: {:#x} op {:#x} = {:#x} not in {:?}\n a={:?}\n b={:?}",
                            width, op, x, y, v, r, a, b);
                    }
                }
            }
            let n = a.neg(width);
            for &x in &xs {
                let v = alu(AluOp::Sub, width, 0, x);
                prop_assert!(n.contains(v), "neg {:?} {:#x} not in {:?}", width, v, n);
            }
        }
    }

    #[test]
    fn branches_are_sound((a, xs) in bounds_and_members(), (b, ys) in src_and_members()) {
        for width in WIDTHS {
            for op in JmpOp::ALL {
                let decided = is_branch_taken(&a, &b, op, width);
                let sides = [refine_branch(&a, &b, op, width, true), refine_branch(&a, &b, op, width, false)];
                for &x in &xs {
                    for &y in &ys {
                        let taken = cond(op, width, x, y);
                        match decided {
                            Branch::Taken => prop_assert!(taken, "{:?} {:?} claimed always: {:#x} {:#x}", width, op, x, y),
                            Branch::NotTaken => prop_assert!(!taken, "{:?} {:?} claimed never: {:#x} {:#x}", width, op, x, y),
                            Branch::Unknown => {}
                        }
                        let (ra, rb) = sides[usize::from(!taken)];
                        prop_assert!(ra.contains(x) && rb.contains(y),
                            "{:?} {:?} taken={}: ({:#x}, {:#x}) not in\n {:?}\n {:?}\nfrom\n {:?}\n {:?}",
                            width, op, taken, x, y, ra, rb, a, b);
                        prop_assert!(!ra.is_empty() && !rb.is_empty());
                    }
                }
            }
        }
    }
}

#[test]
fn constants_and_ranges() {
    let c = ScalarBounds::constant(0xffff_ffff_ffff_fffe);
    assert_eq!((c.smin, c.s32_min, c.u32_max), (-2, -2, 0xffff_fffe));
    let r = ScalarBounds::urange(0, 10);
    assert_eq!((r.smin, r.smax, r.u32_max, r.var_off), (0, 10, 10, Tnum::new(0, 0xf)));
    let s = ScalarBounds::srange(-4, 3);
    assert_eq!((s.umin, s.umax, s.s32_min, s.s32_max), (0, u64::MAX, -4, 3));
}

#[test]
fn alu_examples() {
    let u = ScalarBounds::unknown();
    let m = u.alu(AluOp::And, Width::W64, &ScalarBounds::constant(0xff));
    assert_eq!((m.umin, m.umax, m.smin, m.smax), (0, 255, 0, 255));
    let s = m.alu(AluOp::Add, Width::W64, &ScalarBounds::constant(5));
    assert_eq!((s.umin, s.umax), (5, 260));
    let sh = m.alu(AluOp::Lsh, Width::W64, &ScalarBounds::constant(4));
    assert_eq!((sh.umax, sh.var_off), (0xff0, Tnum::new(0, 0xff0)));
    // 32-bit ops zero-extend.
    let w = ScalarBounds::constant(u64::MAX).alu(AluOp::Add, Width::W32, &ScalarBounds::constant(1));
    assert_eq!(w.const_value(), Some(0));
    let w = u.alu(AluOp::Mov, Width::W32, &u);
    assert_eq!((w.umax, w.smin), (u64::from(u32::MAX), 0));
    // movsx from 8 bits of an unknown: [-128, 127].
    let x = u.alu(AluOp::MovSx(8), Width::W64, &u);
    assert_eq!((x.smin, x.smax), (-128, 127));
    // variable shift: unknown
    assert_eq!(m.alu(AluOp::Lsh, Width::W64, &m), ScalarBounds::unknown());
    assert_eq!(ScalarBounds::constant(3).neg(Width::W64).const_value(), Some(-3i64 as u64));
}

#[test]
fn branch_examples() {
    let u = ScalarBounds::unknown();
    let ten = ScalarBounds::constant(10);
    let (t, _) = refine_branch(&u, &ten, JmpOp::Gt, Width::W64, true);
    assert_eq!(t.umin, 11);
    let (f, _) = refine_branch(&u, &ten, JmpOp::Gt, Width::W64, false);
    assert_eq!((f.umax, f.smin), (10, 0));
    let (t, _) = refine_branch(&u, &ten, JmpOp::SLt, Width::W32, true);
    assert_eq!((t.s32_max, t.smax), (9, i64::MAX));
    let (t, _) = refine_branch(&u, &ten, JmpOp::Eq, Width::W64, true);
    assert_eq!(t.const_value(), Some(10));
    let (t, _) = refine_branch(&u, &ScalarBounds::constant(4), JmpOp::Set, Width::W64, true);
    assert_eq!(t.var_off.value, 4);
    let (f, _) = refine_branch(&u, &ScalarBounds::constant(4), JmpOp::Set, Width::W64, false);
    assert_eq!(f.var_off.mask, !4);
    let small = ScalarBounds::urange(0, 5);
    assert_eq!(is_branch_taken(&small, &ten, JmpOp::Lt, Width::W64), Branch::Taken);
    assert_eq!(is_branch_taken(&small, &ten, JmpOp::Ge, Width::W64), Branch::NotTaken);
    assert_eq!(is_branch_taken(&small, &ten, JmpOp::Eq, Width::W64), Branch::NotTaken);
    assert_eq!(is_branch_taken(&small, &ScalarBounds::constant(3), JmpOp::Eq, Width::W64), Branch::Unknown);
    assert_eq!(is_branch_taken(&ten, &ScalarBounds::constant(2), JmpOp::Set, Width::W64), Branch::Taken);
    // Impossible side: `r < 0` unsigned is never taken; its refinement is empty.
    let (t, _) = refine_branch(&small, &ScalarBounds::constant(0), JmpOp::Lt, Width::W64, true);
    assert!(t.is_empty());
}

#[test]
fn log_text() {
    let u = ScalarBounds::unknown();
    assert_eq!(u.log_repr(false, 0), "scalar()");
    assert_eq!(u.log_repr(true, 3), "Pscalar(id=3)");
    assert_eq!(ScalarBounds::constant(1).log_repr(false, 0), "1");
    assert_eq!(ScalarBounds::constant(u64::MAX).log_repr(true, 0), "P-1");
    let m = u.alu(AluOp::And, Width::W64, &ScalarBounds::constant(0xff));
    assert_eq!(m.log_repr(false, 0), "scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))");
    let w = u.alu(AluOp::Mov, Width::W32, &u);
    assert_eq!(w.log_repr(false, 0), "scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))");
    let s = ScalarBounds::srange(-4, 3);
    assert_eq!(s.log_repr(false, 0), "scalar(smin=smin32=-4,smax=smax32=3)");
}
