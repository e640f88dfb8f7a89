//! Tristate numbers, as `kernel/bpf/tnum.c` and `include/linux/tnum.h`
//! define them.
//!
//! A [`Tnum`] describes a set of 64-bit values bit by bit: a bit set in
//! `mask` is unknown; a bit clear in `mask` is known and equal to that bit
//! of `value`. The invariant `value & mask == 0` always holds. Every
//! operation is sound: for concrete `x ∈ a` and `y ∈ b`, `op(x, y) ∈ op(a, b)`
//! (checked by the property tests below), and gives the same result as the
//! kernel's function of the same name.

use std::fmt;

/// A tristate number: `value` holds the known bits, `mask` the unknown ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tnum {
    pub value: u64,
    pub mask: u64,
}

impl Tnum {
    /// Every value (`tnum_unknown`).
    pub const UNKNOWN: Tnum = Tnum { value: 0, mask: u64::MAX };

    /// Builds a tnum from its parts, normalising `value` so that unknown
    /// bits are zero in it.
    pub const fn new(value: u64, mask: u64) -> Tnum {
        Tnum { value: value & !mask, mask }
    }

    /// A known constant (`tnum_const`).
    pub const fn constant(value: u64) -> Tnum {
        Tnum { value, mask: 0 }
    }

    /// The smallest tnum holding every value in `min..=max` (`tnum_range`):
    /// the bits above the highest bit in which `min` and `max` differ are
    /// known, the rest unknown.
    pub const fn range(min: u64, max: u64) -> Tnum {
        let chi = min ^ max;
        let bits = 64 - chi.leading_zeros();
        if bits > 63 {
            return Tnum::UNKNOWN;
        }
        let delta = (1u64 << bits) - 1;
        Tnum { value: min & !delta, mask: delta }
    }

    pub const fn is_const(self) -> bool {
        self.mask == 0
    }

    pub const fn is_unknown(self) -> bool {
        self.mask == u64::MAX
    }

    /// Whether this is exactly the constant `c` (`tnum_equals_const`).
    pub const fn equals_const(self, c: u64) -> bool {
        self.mask == 0 && self.value == c
    }

    /// Whether the concrete value `x` is in the set.
    pub const fn contains(self, x: u64) -> bool {
        x & !self.mask == self.value
    }

    /// Whether every value of `b` is also in `self` (`tnum_in(a, b)`).
    pub const fn includes(self, b: Tnum) -> bool {
        if b.mask & !self.mask != 0 {
            return false;
        }
        (b.value & !self.mask) == self.value
    }

    /// Smallest and largest unsigned values in the set.
    pub const fn umin(self) -> u64 {
        self.value
    }

    pub const fn umax(self) -> u64 {
        self.value | self.mask
    }

    /// Smallest and largest signed values in the set.
    pub const fn smin(self) -> i64 {
        (self.value | (self.mask & (1u64 << 63))) as i64
    }

    pub const fn smax(self) -> i64 {
        (self.value | (self.mask & !(1u64 << 63))) as i64
    }

    /// `tnum_lshift`.
    pub const fn lshift(self, shift: u32) -> Tnum {
        Tnum { value: self.value << shift, mask: self.mask << shift }
    }

    /// `tnum_rshift` (logical).
    pub const fn rshift(self, shift: u32) -> Tnum {
        Tnum { value: self.value >> shift, mask: self.mask >> shift }
    }

    /// `tnum_arshift`: arithmetic shift right of the low `bits` (32 or 64)
    /// bits; a 32-bit result is zero-extended.
    pub const fn arshift(self, shift: u32, bits: u32) -> Tnum {
        if bits == 32 {
            Tnum {
                value: ((self.value as u32 as i32) >> shift) as u32 as u64,
                mask: ((self.mask as u32 as i32) >> shift) as u32 as u64,
            }
        } else {
            Tnum { value: ((self.value as i64) >> shift) as u64, mask: ((self.mask as i64) >> shift) as u64 }
        }
    }

    /// `tnum_add`: carries out of unknown bits make the bits they reach
    /// unknown.
    pub const fn add(self, b: Tnum) -> Tnum {
        let sm = self.mask.wrapping_add(b.mask);
        let sv = self.value.wrapping_add(b.value);
        let sigma = sm.wrapping_add(sv);
        let chi = sigma ^ sv;
        let mu = chi | self.mask | b.mask;
        Tnum { value: sv & !mu, mask: mu }
    }

    /// `tnum_sub`.
    pub const fn sub(self, b: Tnum) -> Tnum {
        let dv = self.value.wrapping_sub(b.value);
        let alpha = dv.wrapping_add(self.mask);
        let beta = dv.wrapping_sub(b.mask);
        let chi = alpha ^ beta;
        let mu = chi | self.mask | b.mask;
        Tnum { value: dv & !mu, mask: mu }
    }

    /// `tnum_neg`: `0 - a`.
    pub const fn neg(self) -> Tnum {
        Tnum::constant(0).sub(self)
    }

    /// `tnum_and`.
    pub const fn and(self, b: Tnum) -> Tnum {
        let alpha = self.value | self.mask;
        let beta = b.value | b.mask;
        let v = self.value & b.value;
        Tnum { value: v, mask: alpha & beta & !v }
    }

    /// `tnum_or`.
    pub const fn or(self, b: Tnum) -> Tnum {
        let v = self.value | b.value;
        let mu = self.mask | b.mask;
        Tnum { value: v, mask: mu & !v }
    }

    /// `tnum_xor`.
    pub const fn xor(self, b: Tnum) -> Tnum {
        let v = self.value ^ b.value;
        let mu = self.mask | b.mask;
        Tnum { value: v & !mu, mask: mu }
    }

    /// `tnum_mul`: long multiplication over the bits of `self`; the known
    /// product of the known parts plus the sum of the partial products that
    /// involve unknown bits, accumulated as unknowns.
    pub const fn mul(self, b: Tnum) -> Tnum {
        let acc_v = self.value.wrapping_mul(b.value);
        let mut acc_m = Tnum::constant(0);
        let mut a = self;
        let mut b = b;
        while a.value != 0 || a.mask != 0 {
            if a.value & 1 != 0 {
                // Known 1 bit: add b's unknown part only (the known part is in acc_v).
                acc_m = acc_m.add(Tnum { value: 0, mask: b.mask });
            } else if a.mask & 1 != 0 {
                // Unknown bit: anything up to b's full value may be added.
                acc_m = acc_m.add(Tnum { value: 0, mask: b.value | b.mask });
            }
            a = a.rshift(1);
            b = b.lshift(1);
        }
        Tnum::constant(acc_v).add(acc_m)
    }

    /// `tnum_intersect`: values in both (the caller knows they overlap).
    pub const fn intersect(self, b: Tnum) -> Tnum {
        let v = self.value | b.value;
        let mu = self.mask & b.mask;
        Tnum { value: v & !mu, mask: mu }
    }

    /// `tnum_union`: a tnum holding every value of either.
    pub const fn union(self, b: Tnum) -> Tnum {
        let v = self.value & b.value;
        let mu = (self.value ^ b.value) | self.mask | b.mask;
        Tnum { value: v & !mu, mask: mu }
    }

    /// Whether some value is in both (no known bit disagrees).
    pub const fn overlaps(self, b: Tnum) -> bool {
        let known = !self.mask & !b.mask;
        (self.value ^ b.value) & known == 0
    }

    /// `tnum_cast`: truncation to the low `size` bytes (1, 2, 4 or 8).
    pub const fn cast(self, size: u32) -> Tnum {
        if size >= 8 {
            return self;
        }
        let m = (1u64 << (size * 8)) - 1;
        Tnum { value: self.value & m, mask: self.mask & m }
    }

    /// `tnum_is_aligned`: every value is a multiple of `size` (a power of
    /// two; 0 counts as aligned).
    pub const fn is_aligned(self, size: u64) -> bool {
        if size == 0 {
            return true;
        }
        (self.value | self.mask) & (size - 1) == 0
    }

    /// `tnum_subreg`: the low 32 bits, zero-extended.
    pub const fn subreg(self) -> Tnum {
        self.cast(4)
    }

    /// `tnum_clear_subreg`: the high 32 bits, low 32 known zero.
    pub const fn clear_subreg(self) -> Tnum {
        self.rshift(32).lshift(32)
    }

    /// `tnum_with_subreg`: the high half of `self`, the low half of `sub`.
    pub const fn with_subreg(self, sub: Tnum) -> Tnum {
        self.clear_subreg().or(sub.subreg())
    }

    /// `tnum_const_subreg`: the high half of `self`, a known low half.
    pub const fn with_const_subreg(self, value: u32) -> Tnum {
        self.with_subreg(Tnum::constant(value as u64))
    }

    pub const fn subreg_is_const(self) -> bool {
        self.subreg().is_const()
    }

    /// Sign-extends the low `bits` (8, 16, 32) bits to 64.
    pub const fn sext(self, bits: u32) -> Tnum {
        let sh = 64 - bits;
        Tnum::new(((self.value << sh) as i64 >> sh) as u64, ((self.mask << sh) as i64 >> sh) as u64)
    }
}

/// The kernel's `tnum_strn` form, `(0x<value>; 0x<mask>)`.
impl fmt::Display for Tnum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({:#x}; {:#x})", self.value, self.mask)
    }
}

impl Tnum {
    /// The kernel's `tnum_sbin`: 64 characters, `0`, `1` or `x`, most
    /// significant first.
    pub fn to_bin(self) -> String {
        (0..64)
            .rev()
            .map(|i| {
                if self.mask >> i & 1 != 0 {
                    'x'
                } else if self.value >> i & 1 != 0 {
                    '1'
                } else {
                    '0'
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A random tnum and a random member of it.
    pub(crate) fn tnum_and_member() -> impl Strategy<Value = (Tnum, u64)> {
        (any::<u64>(), any::<u64>(), 0u32..5).prop_map(|(x, m, density)| {
            // Vary how many bits are unknown: all, about half, few, none, low bits.
            let mask = match density {
                0 => m,
                1 => m & (m >> 7) & (m >> 13),
                2 => 0,
                3 => m & 0xff,
                _ => u64::MAX,
            };
            (Tnum::new(x, mask), x)
        })
    }

    /// A second member of `t`, chosen by `r`.
    fn member(t: Tnum, r: u64) -> u64 {
        t.value | (r & t.mask)
    }

    #[test]
    fn basics() {
        assert_eq!(Tnum::range(0, 0), Tnum::constant(0));
        assert_eq!(Tnum::range(4, 7), Tnum { value: 4, mask: 3 });
        assert_eq!(Tnum::range(0, u64::MAX), Tnum::UNKNOWN);
        assert_eq!(Tnum::range(1u64 << 63, u64::MAX), Tnum { value: 1 << 63, mask: (1 << 63) - 1 });
        assert!(Tnum::constant(5).equals_const(5));
        assert!(Tnum::UNKNOWN.is_unknown());
        assert!(Tnum { value: 8, mask: 0xf0 }.is_aligned(8));
        assert!(!Tnum { value: 8, mask: 0xf4 }.is_aligned(8));
        assert_eq!(Tnum::constant(0x1234_5678_9abc_def0).subreg(), Tnum::constant(0x9abc_def0));
        assert_eq!(
            Tnum::constant(0x1234_5678_9abc_def0).clear_subreg(),
            Tnum::constant(0x1234_5678_0000_0000)
        );
        assert_eq!(
            Tnum::constant(0x1234_5678_9abc_def0).with_const_subreg(1),
            Tnum::constant(0x1234_5678_0000_0001)
        );
        assert_eq!(Tnum { value: 1, mask: 2 }.to_string(), "(0x1; 0x2)");
        assert_eq!(&Tnum { value: 1, mask: 2 }.to_bin()[60..], "00x1");
        assert!(Tnum::UNKNOWN.includes(Tnum::constant(3)));
        assert!(!Tnum::constant(3).includes(Tnum::UNKNOWN));
        assert_eq!(Tnum::constant(6).mul(Tnum::constant(7)), Tnum::constant(42));
        assert_eq!(Tnum::constant(0x80).sext(8), Tnum::constant(0xffff_ffff_ffff_ff80));
    }

    type BinOp = (&'static str, fn(Tnum, Tnum) -> Tnum, fn(u64, u64) -> u64);

    const BIN_OPS: [BinOp; 8] = [
        ("add", Tnum::add, u64::wrapping_add),
        ("sub", Tnum::sub, u64::wrapping_sub),
        ("and", Tnum::and, |x, y| x & y),
        ("or", Tnum::or, |x, y| x | y),
        ("xor", Tnum::xor, |x, y| x ^ y),
        ("mul", Tnum::mul, u64::wrapping_mul),
        // union holds either operand
        ("union-left", Tnum::union, |x, _| x),
        ("union-right", Tnum::union, |_, y| y),
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn binary_ops_are_sound((a, x) in tnum_and_member(), (b, y) in tnum_and_member(), r in any::<u64>()) {
            for (name, op, concrete) in BIN_OPS {
                let t = op(a, b);
                prop_assert_eq!(t.value & t.mask, 0, "{} breaks the invariant", name);
                prop_assert!(t.contains(concrete(x, y)), "{}: {} op {} -> {} not in {}", name, x, y, concrete(x, y), t);
                let x2 = member(a, r);
                let y2 = member(b, r.rotate_left(17));
                prop_assert!(t.contains(concrete(x2, y2)), "{}", name);
            }
        }

        #[test]
        fn unary_ops_are_sound((a, x) in tnum_and_member(), s in 0u32..64, size in prop::sample::select(vec![1u32, 2, 4, 8])) {
            prop_assert!(a.lshift(s).contains(x << s));
            prop_assert!(a.rshift(s).contains(x >> s));
            prop_assert!(a.arshift(s, 64).contains(((x as i64) >> s) as u64));
            let s32 = s % 32;
            prop_assert!(a.arshift(s32, 32).contains(u64::from(((x as u32 as i32) >> s32) as u32)));
            prop_assert!(a.neg().contains(x.wrapping_neg()));
            let m = if size == 8 { u64::MAX } else { (1u64 << (size * 8)) - 1 };
            prop_assert!(a.cast(size).contains(x & m));
            prop_assert!(a.subreg().contains(x & 0xffff_ffff));
            prop_assert!(a.clear_subreg().contains(x & !0xffff_ffff));
            for bits in [8u32, 16, 32] {
                let sh = 64 - bits;
                prop_assert!(a.sext(bits).contains((((x << sh) as i64) >> sh) as u64));
            }
            prop_assert!(a.umin() <= x && x <= a.umax());
            prop_assert!(a.smin() <= x as i64 && x as i64 <= a.smax());
            let al = 1u64 << (s % 4);
            if a.is_aligned(al) { prop_assert_eq!(x % al, 0); }
        }

        #[test]
        fn range_intersect_with_subreg((a, x) in tnum_and_member(), (b, y) in tnum_and_member(), lo in any::<u64>(), d in any::<u64>()) {
            let hi = lo.saturating_add(d >> (d % 64));
            let r = Tnum::range(lo, hi);
            prop_assert!(r.contains(lo) && r.contains(hi));
            prop_assert!(r.contains(lo + (hi - lo) / 2));
            // x in a and x in b' (b' built to contain x): x in the intersection.
            let b2 = Tnum::new(x, b.mask);
            prop_assert!(a.overlaps(b2));
            prop_assert!(a.intersect(b2).contains(x));
            prop_assert!(a.with_subreg(b).contains((x & !0xffff_ffff) | (y & 0xffff_ffff)));
            // includes agrees with contains for members
            prop_assert!(a.includes(Tnum::constant(x)));
            if a.includes(b) { prop_assert!(a.contains(y)); }
            if !a.overlaps(b) { prop_assert!(!a.contains(y) || !b.contains(y)); }
        }
    }
}
