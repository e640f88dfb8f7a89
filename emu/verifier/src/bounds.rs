//! Scalar register bounds: what the verifier knows about a number.
//!
//! [`ScalarBounds`] is the scalar part of the kernel's `struct bpf_reg_state`
//! (`include/linux/bpf_verifier.h`): a [`Tnum`] (`var_off`) and eight range
//! limits — signed and unsigned, over all 64 bits and over the low 32 bits
//! (the `w` subregister). Each component is an over-approximation of the
//! same set of values, so each can tighten the others; [`ScalarBounds::sync`]
//! does that with the rules of `reg_bounds_sync()` in
//! `kernel/bpf/verifier.c` (`__update_reg_bounds`, `__reg_deduce_bounds`,
//! `__reg_bound_offset`).
//!
//! On top of it:
//! * [`ScalarBounds::alu`] — the transfer function of every ALU operation
//!   for both widths (`adjust_scalar_min_max_vals()`); 32-bit operations
//!   zero-extend their result into 64 bits. Division and modulo, and shifts
//!   by a non-constant or too-large amount, give an unknown result, as in the
//!   kernel.
//! * [`ScalarBounds::log_repr`] — the register as the level-2 log prints it.
//! * [`is_branch_taken`] and [`refine_branch`] — whether a conditional jump
//!   is decided by the bounds, and what each side of an undecided one learns
//!   about both operands (`is_branch_taken()`, `regs_refine_cond_op()`).
//!
//! Fidelity notes (where results may differ in precision, never in
//! soundness, from a given kernel version): add/sub keep a range when the
//! whole result interval wraps at most once consistently (as Linux 6.12+);
//! mul keeps a signed range from the four corner products when none
//! overflows; div/mod give an unknown result (recent kernels track some
//! constant-divisor cases); `reg_bounds_sync()` runs the deduction twice as
//! the kernel does.
//!
//! All of it is sound (property tests below): a concrete value inside the
//! bounds, run through the operation, lands inside the computed bounds.

use crate::tnum::Tnum;
use bpfemu_isa::{AluOp, JmpOp, Width};

/// The abstract value of a scalar register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ScalarBounds {
    pub var_off: Tnum,
    pub smin: i64,
    pub smax: i64,
    pub umin: u64,
    pub umax: u64,
    pub s32_min: i32,
    pub s32_max: i32,
    pub u32_min: u32,
    pub u32_max: u32,
}

impl Default for ScalarBounds {
    fn default() -> Self {
        ScalarBounds::unknown()
    }
}

/// A range over one width (32 or 64 bits); 32-bit limits are stored
/// zero- (unsigned) or sign- (signed) extended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Range {
    umin: u64,
    umax: u64,
    smin: i64,
    smax: i64,
}

impl Range {
    const fn full(bits: u32) -> Range {
        if bits == 32 {
            Range { umin: 0, umax: u32::MAX as u64, smin: i32::MIN as i64, smax: i32::MAX as i64 }
        } else {
            Range { umin: 0, umax: u64::MAX, smin: i64::MIN, smax: i64::MAX }
        }
    }
}

const fn umax_of(bits: u32) -> u64 {
    if bits == 32 { u32::MAX as u64 } else { u64::MAX }
}

const fn smin_of(bits: u32) -> i64 {
    if bits == 32 { i32::MIN as i64 } else { i64::MIN }
}

const fn smax_of(bits: u32) -> i64 {
    if bits == 32 { i32::MAX as i64 } else { i64::MAX }
}

/// Sign-extends the low `bits` of `v`.
const fn sext(v: u64, bits: u32) -> i64 {
    let sh = 64 - bits;
    ((v << sh) as i64) >> sh
}

/// `[lo, hi]` (exact, unbounded arithmetic) mapped into `bits`-wide
/// unsigned values if the whole interval lies in one wrap window.
fn wrap_u(lo: i128, hi: i128, bits: u32) -> Option<(u64, u64)> {
    let span = 1i128 << bits;
    let k = lo.div_euclid(span);
    if hi.div_euclid(span) != k {
        return None;
    }
    Some(((lo - k * span) as u64, (hi - k * span) as u64))
}

/// Same for signed values: `[lo, hi]` shifted by a multiple of 2^bits into
/// `[smin, smax]` of the width, if one shift fits both ends.
fn wrap_s(lo: i128, hi: i128, bits: u32) -> Option<(i64, i64)> {
    let span = 1i128 << bits;
    let half = span / 2;
    let k = (lo + half).div_euclid(span);
    if (hi + half).div_euclid(span) != k {
        return None;
    }
    Some(((lo - k * span) as i64, (hi - k * span) as i64))
}

impl ScalarBounds {
    /// Nothing known (`__mark_reg_unknown`).
    pub const fn unknown() -> ScalarBounds {
        ScalarBounds {
            var_off: Tnum::UNKNOWN,
            smin: i64::MIN,
            smax: i64::MAX,
            umin: 0,
            umax: u64::MAX,
            s32_min: i32::MIN,
            s32_max: i32::MAX,
            u32_min: 0,
            u32_max: u32::MAX,
        }
    }

    /// A known 64-bit constant (`__mark_reg_known`).
    pub const fn constant(v: u64) -> ScalarBounds {
        ScalarBounds {
            var_off: Tnum::constant(v),
            smin: v as i64,
            smax: v as i64,
            umin: v,
            umax: v,
            s32_min: v as i32,
            s32_max: v as i32,
            u32_min: v as u32,
            u32_max: v as u32,
        }
    }

    /// The value of an instruction's `imm` operand: sign-extended to 64
    /// bits (for 32-bit operations only the low half matters).
    pub const fn imm(imm: i32) -> ScalarBounds {
        ScalarBounds::constant(imm as i64 as u64)
    }

    /// A known 32-bit constant, zero-extended (what `w0 = imm` produces).
    pub const fn constant32(v: u32) -> ScalarBounds {
        ScalarBounds::constant(v as u64)
    }

    /// An unsigned range, synced.
    pub fn urange(min: u64, max: u64) -> ScalarBounds {
        let mut r = ScalarBounds::unknown();
        r.umin = min;
        r.umax = max;
        r.sync();
        r
    }

    /// A signed range, synced.
    pub fn srange(min: i64, max: i64) -> ScalarBounds {
        let mut r = ScalarBounds::unknown();
        r.smin = min;
        r.smax = max;
        r.sync();
        r
    }

    /// The bits the unsigned maximum needs (`get_reg_width()`): a value
    /// that fits `8 * n` bits survives an `n`-byte copy unchanged.
    pub fn width(&self) -> u32 {
        64 - self.umax.leading_zeros()
    }

    /// Whether the concrete 64-bit value `x` satisfies every component.
    pub fn contains(&self, x: u64) -> bool {
        let (lo, s, s32) = (x as u32, x as i64, x as i32);
        self.var_off.contains(x)
            && (self.umin..=self.umax).contains(&x)
            && (self.smin..=self.smax).contains(&s)
            && (self.u32_min..=self.u32_max).contains(&lo)
            && (self.s32_min..=self.s32_max).contains(&s32)
    }

    /// Whether the components contradict each other, i.e. no value fits
    /// (after a branch refinement: the branch cannot go this way). The
    /// kernel's `reg_bounds_sanity_check()` conditions.
    pub fn is_empty(&self) -> bool {
        self.umin > self.umax
            || self.smin > self.smax
            || self.u32_min > self.u32_max
            || self.s32_min > self.s32_max
            || self.umin > self.var_off.umax()
            || self.umax < self.var_off.umin()
            || u64::from(self.u32_min) > self.var_off.subreg().umax()
            || u64::from(self.u32_max) < self.var_off.subreg().umin()
    }

    /// The single value, if the tnum pins it.
    pub fn const_value(&self) -> Option<u64> {
        self.var_off.is_const().then_some(self.var_off.value)
    }

    /// The low 32 bits' single value, if known.
    pub fn const_value32(&self) -> Option<u32> {
        self.var_off.subreg_is_const().then_some(self.var_off.value as u32)
    }

    fn range(&self, bits: u32) -> Range {
        if bits == 32 {
            Range {
                umin: u64::from(self.u32_min),
                umax: u64::from(self.u32_max),
                smin: i64::from(self.s32_min),
                smax: i64::from(self.s32_max),
            }
        } else {
            Range { umin: self.umin, umax: self.umax, smin: self.smin, smax: self.smax }
        }
    }

    fn set_range(&mut self, bits: u32, r: Range) {
        if bits == 32 {
            self.u32_min = r.umin as u32;
            self.u32_max = r.umax as u32;
            self.s32_min = r.smin as i32;
            self.s32_max = r.smax as i32;
        } else {
            self.umin = r.umin;
            self.umax = r.umax;
            self.smin = r.smin;
            self.smax = r.smax;
        }
    }

    /// The tnum of one width (the subregister for 32).
    fn tnum(&self, bits: u32) -> Tnum {
        if bits == 32 { self.var_off.subreg() } else { self.var_off }
    }

    fn set_tnum(&mut self, bits: u32, t: Tnum) {
        self.var_off = if bits == 32 { self.var_off.with_subreg(t) } else { t };
    }

    // ---- reg_bounds_sync --------------------------------------------------

    /// Tightens every component from the others (`reg_bounds_sync()`):
    /// ranges from the tnum, ranges from each other, the tnum from the
    /// ranges, and the ranges once more from the tnum.
    pub fn sync(&mut self) {
        self.update_bounds();
        self.deduce_bounds();
        self.deduce_bounds();
        self.bound_offset();
        self.update_bounds();
    }

    /// Ranges from the tnum (`__update_reg32_bounds`, `__update_reg64_bounds`).
    fn update_bounds(&mut self) {
        let t32 = self.var_off.subreg();
        self.s32_min = self.s32_min.max((t32.value | (t32.mask & 0x8000_0000)) as u32 as i32);
        self.s32_max = self.s32_max.min((t32.value | (t32.mask & 0x7fff_ffff)) as u32 as i32);
        self.u32_min = self.u32_min.max(t32.value as u32);
        self.u32_max = self.u32_max.min((t32.value | t32.mask) as u32);
        let t = self.var_off;
        self.smin = self.smin.max(t.smin());
        self.smax = self.smax.min(t.smax());
        self.umin = self.umin.max(t.umin());
        self.umax = self.umax.min(t.umax());
    }

    fn deduce_bounds(&mut self) {
        self.deduce32();
        self.deduce64();
        self.deduce_mixed();
    }

    /// 32-bit ranges from the 64-bit ones and from each other
    /// (`__reg32_deduce_bounds`).
    fn deduce32(&mut self) {
        // When the high halves of both ends are equal, the low halves form a
        // range of their own.
        if self.umin >> 32 == self.umax >> 32 {
            self.u32_min = self.u32_min.max(self.umin as u32);
            self.u32_max = self.u32_max.min(self.umax as u32);
            if (self.umin as i32) <= (self.umax as i32) {
                self.s32_min = self.s32_min.max(self.umin as i32);
                self.s32_max = self.s32_max.min(self.umax as i32);
            }
        }
        if self.smin >> 32 == self.smax >> 32 {
            if (self.smin as u32) <= (self.smax as u32) {
                self.u32_min = self.u32_min.max(self.smin as u32);
                self.u32_max = self.u32_max.min(self.smax as u32);
            }
            if (self.smin as i32) <= (self.smax as i32) {
                self.s32_min = self.s32_min.max(self.smin as i32);
                self.s32_max = self.s32_max.min(self.smax as i32);
            }
        }
        // The high halves differ by one and the low halves cross the
        // 32-bit sign boundary: the low halves still form a signed range.
        if ((self.umin >> 32) as u32).wrapping_add(1) == (self.umax >> 32) as u32
            && (self.umin as i32) < 0
            && (self.umax as i32) >= 0
        {
            self.s32_min = self.s32_min.max(self.umin as i32);
            self.s32_max = self.s32_max.min(self.umax as i32);
        }
        if ((self.smin >> 32) as u32).wrapping_add(1) == (self.smax >> 32) as u32
            && (self.smin as i32) < 0
            && (self.smax as i32) >= 0
        {
            self.s32_min = self.s32_min.max(self.smin as i32);
            self.s32_max = self.s32_max.min(self.smax as i32);
        }
        // u32 <-> s32 when the range does not cross the respective boundary.
        if (self.u32_min as i32) <= (self.u32_max as i32) {
            self.s32_min = self.s32_min.max(self.u32_min as i32);
            self.s32_max = self.s32_max.min(self.u32_max as i32);
        }
        if (self.s32_min as u32) <= (self.s32_max as u32) {
            self.u32_min = self.u32_min.max(self.s32_min as u32);
            self.u32_max = self.u32_max.min(self.s32_max as u32);
        }
    }

    /// u64 <-> s64 (`__reg64_deduce_bounds`).
    fn deduce64(&mut self) {
        if (self.umin as i64) <= (self.umax as i64) {
            self.smin = self.smin.max(self.umin as i64);
            self.smax = self.smax.min(self.umax as i64);
        }
        if (self.smin as u64) <= (self.smax as u64) {
            self.umin = self.umin.max(self.smin as u64);
            self.umax = self.umax.min(self.smax as u64);
        } else {
            // The signed range wraps in unsigned terms: it covers
            // [smin as u64, MAX] and [0, smax as u64]. If the unsigned range
            // lies within one of the two pieces, both tighten.
            if self.umax < self.smin as u64 {
                // only the non-negative piece [0, smax]
                self.smin = self.umin as i64;
                self.umax = self.umax.min(self.smax as u64);
            } else if (self.smax as u64) < self.umin {
                // only the negative piece [smin, -1]
                self.smax = self.umax as i64;
                self.umin = self.umin.max(self.smin as u64);
            }
        }
    }

    /// 64-bit ranges from the 32-bit ones (`__reg_deduce_mixed_bounds`).
    fn deduce_mixed(&mut self) {
        const HI: u64 = !0xffff_ffff;
        let new_umin = (self.umin & HI) | u64::from(self.u32_min);
        let new_umax = (self.umax & HI) | u64::from(self.u32_max);
        self.umin = self.umin.max(new_umin);
        self.umax = self.umax.min(new_umax);
        let new_smin = ((self.smin as u64 & HI) | u64::from(self.u32_min)) as i64;
        let new_smax = ((self.smax as u64 & HI) | u64::from(self.u32_max)) as i64;
        self.smin = self.smin.max(new_smin);
        self.smax = self.smax.min(new_smax);
        // A non-negative 32-bit range in a 64-bit range that stays within
        // the s32 limits: the value is exactly its sign-extended low half.
        if self.s32_min >= 0 && self.smin >= i64::from(i32::MIN) && self.smax <= i64::from(i32::MAX) {
            self.smin = i64::from(self.s32_min);
            self.smax = i64::from(self.s32_max);
            self.umin = self.s32_min as u64;
            self.umax = self.s32_max as u64;
            self.var_off = self.var_off.intersect(Tnum::range(self.smin as u64, self.smax as u64));
        }
    }

    /// The tnum from the unsigned ranges (`__reg_bound_offset`).
    fn bound_offset(&mut self) {
        let t64 = self.var_off.intersect(Tnum::range(self.umin, self.umax));
        let t32 = t64.subreg().intersect(Tnum::range(u64::from(self.u32_min), u64::from(self.u32_max)));
        self.var_off = t64.clear_subreg().or(t32);
    }

    /// Zero-extends the 32-bit part into the whole register
    /// (`zext_32_to_64` / `__reg_assign_32_into_64`), then syncs.
    fn zext_32(&mut self) {
        self.var_off = self.var_off.subreg();
        self.umin = u64::from(self.u32_min);
        self.umax = u64::from(self.u32_max);
        self.smin = self.umin as i64;
        self.smax = self.umax as i64;
        self.sync();
    }

    fn unknown32() -> ScalarBounds {
        let mut r = ScalarBounds::unknown();
        r.zext_32();
        r
    }

    // ---- ALU ---------------------------------------------------------------

    /// The bounds of `dst OP src` (or `-dst` for [`ScalarBounds::neg`]) at
    /// `width`, for scalar operands. `self` is `dst`.
    pub fn alu(&self, op: AluOp, width: Width, src: &ScalarBounds) -> ScalarBounds {
        match width {
            Width::W64 => self.alu64(op, src),
            Width::W32 => self.alu32(op, src),
        }
    }

    /// `dst = -dst`: `0 - dst`.
    pub fn neg(&self, width: Width) -> ScalarBounds {
        ScalarBounds::constant(0).alu(AluOp::Sub, width, self)
    }

    /// Constant shift amount below `bits`, or `None` (the kernel then marks
    /// the result unknown).
    fn shift_amount(src: &ScalarBounds, bits: u32) -> Option<u32> {
        let v = if bits == 32 { src.const_value32().map(u64::from) } else { src.const_value() }?;
        (v < u64::from(bits)).then_some(v as u32)
    }

    fn alu64(&self, op: AluOp, src: &ScalarBounds) -> ScalarBounds {
        let shift = Self::shift_amount(src, 64);
        let t = match op {
            AluOp::Add => self.var_off.add(src.var_off),
            AluOp::Sub => self.var_off.sub(src.var_off),
            AluOp::Mul => self.var_off.mul(src.var_off),
            AluOp::And => self.var_off.and(src.var_off),
            AluOp::Or => self.var_off.or(src.var_off),
            AluOp::Xor => self.var_off.xor(src.var_off),
            AluOp::Mov => return *src,
            AluOp::MovSx(n) => return Self::movsx(src, n.into()),
            AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => {
                let Some(s) = shift else { return ScalarBounds::unknown() };
                match op {
                    AluOp::Lsh => self.var_off.lshift(s),
                    AluOp::Rsh => self.var_off.rshift(s),
                    _ => self.var_off.arshift(s, 64),
                }
            }
            AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod => return ScalarBounds::unknown(),
        };
        let mut r = ScalarBounds::unknown();
        r.var_off = t;
        r.set_range(64, range_op(op, self.range(64), src.range(64), t, shift, 64));
        // The low half of the result depends on the low halves of the
        // operands only for these operations.
        let low_half_closed = match op {
            AluOp::Add | AluOp::Sub | AluOp::Mul | AluOp::And | AluOp::Or | AluOp::Xor => true,
            AluOp::Lsh => shift.is_some_and(|s| s < 32),
            _ => false,
        };
        if low_half_closed {
            r.set_range(32, range_op(op, self.range(32), src.range(32), t.subreg(), shift, 32));
        }
        r.sync();
        r
    }

    fn alu32(&self, op: AluOp, src: &ScalarBounds) -> ScalarBounds {
        let shift = Self::shift_amount(src, 32);
        let (a, b) = (self.var_off.subreg(), src.var_off.subreg());
        let t = match op {
            AluOp::Add => a.add(b),
            AluOp::Sub => a.sub(b),
            AluOp::Mul => a.mul(b),
            AluOp::And => a.and(b),
            AluOp::Or => a.or(b),
            AluOp::Xor => a.xor(b),
            AluOp::Mov => b,
            AluOp::MovSx(n) => {
                // w = (s8/s16) w: sign-extend within 32 bits, then zero-extend.
                let w = Self::movsx(src, n.into());
                let mut r = ScalarBounds::unknown();
                r.var_off = w.var_off.subreg();
                r.s32_min = w.smin as i32;
                r.s32_max = w.smax as i32;
                r.zext_32();
                return r;
            }
            AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => {
                let Some(s) = shift else { return ScalarBounds::unknown32() };
                match op {
                    AluOp::Lsh => a.lshift(s),
                    AluOp::Rsh => a.rshift(s),
                    _ => a.arshift(s, 32),
                }
            }
            AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod => return ScalarBounds::unknown32(),
        }
        .subreg();
        let mut r = ScalarBounds::unknown();
        r.var_off = t;
        let range = match op {
            AluOp::Mov => src.range(32),
            _ => range_op(op, self.range(32), src.range(32), t, shift, 32),
        };
        r.set_range(32, range);
        r.zext_32();
        r
    }

    /// `dst = (s8/s16/s32) src` over 64 bits (`coerce_reg_to_size_sx`).
    fn movsx(src: &ScalarBounds, n: u32) -> ScalarBounds {
        let mut r = ScalarBounds::unknown();
        r.var_off = src.var_off.cast(n / 8).sext(n);
        let (lo, hi) = if n == 32 {
            (i64::from(src.s32_min), i64::from(src.s32_max))
        } else if src.u32_min >> n == src.u32_max >> n
            && sext(src.u32_min.into(), n) <= sext(src.u32_max.into(), n)
        {
            // The low n bits form a range not crossing their sign boundary.
            (sext(src.u32_min.into(), n), sext(src.u32_max.into(), n))
        } else {
            (smin_n(n), -1 - smin_n(n))
        };
        r.smin = lo;
        r.smax = hi;
        r.sync();
        r
    }
}

impl ScalarBounds {
    /// The register's text in a level-2 log state line (`print_reg_state()`
    /// for a scalar, `kernel/bpf/log.c`, Linux 6.8+): a constant as a signed
    /// decimal; otherwise `scalar(...)` with each non-default limit, limits of
    /// equal value merged (`smax=umax=255`), and the tnum unless unknown.
    /// `precise` prefixes `P`; `id` (0 for none) is printed first.
    pub fn log_repr(&self, precise: bool, id: u32) -> String {
        let mut out = String::new();
        if precise {
            out.push('P');
        }
        if self.var_off.is_const() {
            // `verbose_snum()`: decimal in the s16 range, else hex.
            let v = self.var_off.value as i64;
            if snum_decimal(v) {
                out.push_str(&v.to_string());
            } else {
                out.push_str(&format!("{:#x}", v as u64));
            }
            return out;
        }
        let mut parts: Vec<String> = Vec::new();
        if id != 0 {
            parts.push(format!("id={id}"));
        }
        // Signed 32-bit limits print sign-extended only when decimal.
        let s32 = |v: i32| if snum_decimal(v.into()) { i64::from(v) as u64 } else { u64::from(v as u32) };
        let mut limits: [(&str, u64, bool); 8] = [
            ("smin", self.smin as u64, self.smin == i64::MIN),
            ("smax", self.smax as u64, self.smax == i64::MAX),
            ("umin", self.umin, self.umin == 0),
            ("umax", self.umax, self.umax == u64::MAX),
            ("smin32", s32(self.s32_min), self.s32_min == i32::MIN),
            ("smax32", s32(self.s32_max), self.s32_max == i32::MAX),
            ("umin32", self.u32_min.into(), self.u32_min == 0),
            ("umax32", self.u32_max.into(), self.u32_max == u32::MAX),
        ];
        let negative = |name: &str, v: u64| name.starts_with('s') && (v as i64) < 0;
        for i in 0..limits.len() {
            let (name, val, omit) = limits[i];
            if omit {
                continue;
            }
            let mut text = format!("{name}=");
            // Later limits of the same kind (min or max) with the same value
            // and sign join this one.
            for j in (i + 2..limits.len()).step_by(2) {
                let (n2, v2, o2) = limits[j];
                if o2 || v2 != val || negative(n2, v2) != negative(name, val) {
                    continue;
                }
                limits[j].2 = true;
                text.push_str(&format!("{n2}="));
            }
            if name.starts_with('s') {
                if snum_decimal(val as i64) {
                    text.push_str(&(val as i64).to_string());
                } else {
                    text.push_str(&format!("{val:#x}"));
                }
            } else if val <= u64::from(u16::MAX) {
                text.push_str(&val.to_string());
            } else {
                text.push_str(&format!("{val:#x}"));
            }
            parts.push(text);
        }
        if !self.var_off.is_unknown() {
            parts.push(format!("var_off={}", self.var_off));
        }
        out.push_str("scalar(");
        out.push_str(&parts.join(","));
        out.push(')');
        out
    }
}

/// Signed values the log prints in decimal (`is_snum_decimal`: the s16 range).
fn snum_decimal(v: i64) -> bool {
    (i64::from(i16::MIN)..=i64::from(i16::MAX)).contains(&v)
}

/// `smin_of`/`smax_of` for 8 and 16 bits too.
const fn smin_n(bits: u32) -> i64 {
    -(1i64 << (bits - 1))
}

/// The range of `a OP b` at `bits`; `t` is the result's tnum at that width
/// (used by the bitwise operations), `shift` the constant shift amount.
fn range_op(op: AluOp, a: Range, b: Range, t: Tnum, shift: Option<u32>, bits: u32) -> Range {
    let full = Range::full(bits);
    type Limits = (Option<(u64, u64)>, Option<(i64, i64)>);
    let (u, s): Limits = match op {
        AluOp::Add => (
            wrap_u(i128::from(a.umin) + i128::from(b.umin), i128::from(a.umax) + i128::from(b.umax), bits),
            wrap_s(i128::from(a.smin) + i128::from(b.smin), i128::from(a.smax) + i128::from(b.smax), bits),
        ),
        AluOp::Sub => (
            wrap_u(i128::from(a.umin) - i128::from(b.umax), i128::from(a.umax) - i128::from(b.umin), bits),
            wrap_s(i128::from(a.smin) - i128::from(b.smax), i128::from(a.smax) - i128::from(b.smin), bits),
        ),
        AluOp::Mul => {
            let hi = u128::from(a.umax) * u128::from(b.umax);
            let u = (hi <= u128::from(umax_of(bits))).then(|| (a.umin * b.umin, hi as u64));
            let p = [
                i128::from(a.smin) * i128::from(b.smin),
                i128::from(a.smin) * i128::from(b.smax),
                i128::from(a.smax) * i128::from(b.smin),
                i128::from(a.smax) * i128::from(b.smax),
            ];
            let (lo, hi) = (*p.iter().min().unwrap_or(&0), *p.iter().max().unwrap_or(&0));
            let s = (lo >= i128::from(smin_of(bits)) && hi <= i128::from(smax_of(bits)))
                .then_some((lo as i64, hi as i64));
            (u, s)
        }
        AluOp::And | AluOp::Or | AluOp::Xor => {
            let (umin, umax) = match op {
                AluOp::And => (t.value, a.umax.min(b.umax)),
                AluOp::Or => (a.umin.max(b.umin), t.value | t.mask),
                _ => (t.value, t.value | t.mask),
            };
            // Signed limits follow when the unsigned range does not cross
            // the sign boundary.
            let s = (sext(umin, bits) <= sext(umax, bits)).then(|| (sext(umin, bits), sext(umax, bits)));
            (Some((umin, umax)), s)
        }
        AluOp::Lsh => {
            let sh = shift.unwrap_or(0);
            let u =
                (u128::from(a.umax) << sh <= u128::from(umax_of(bits))).then(|| (a.umin << sh, a.umax << sh));
            let (lo, hi) = (i128::from(a.smin) << sh, i128::from(a.smax) << sh);
            let s = (lo >= i128::from(smin_of(bits)) && hi <= i128::from(smax_of(bits)))
                .then_some((lo as i64, hi as i64));
            (u, s)
        }
        AluOp::Rsh => {
            let sh = shift.unwrap_or(0);
            (Some((a.umin >> sh, a.umax >> sh)), None)
        }
        AluOp::Arsh => {
            let sh = shift.unwrap_or(0);
            (None, Some((a.smin >> sh, a.smax >> sh)))
        }
        AluOp::Mov => (Some((b.umin, b.umax)), Some((b.smin, b.smax))),
        _ => (None, None),
    };
    let (umin, umax) = u.unwrap_or((full.umin, full.umax));
    let (smin, smax) = s.unwrap_or((full.smin, full.smax));
    Range { umin, umax, smin, smax }
}

// ---- branches ---------------------------------------------------------------

/// Which way a conditional jump goes, as far as the bounds tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Branch {
    /// Always taken.
    Taken,
    /// Never taken (always falls through).
    NotTaken,
    /// Either.
    Unknown,
}

/// A condition after normalisation: `a OP b` with the greater-than forms
/// swapped into less-than and the negation of `Set` named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cond {
    Eq,
    Ne,
    Set,
    NotSet,
    Lt,
    Le,
    SLt,
    SLe,
}

/// `(cond, swapped)`: `a OP b` is `cond` applied to `(b, a)` when swapped.
fn normalise(op: JmpOp, taken: bool) -> (Cond, bool) {
    use JmpOp::*;
    let (c, swap) = match op {
        Eq => (Cond::Eq, false),
        Ne => (Cond::Ne, false),
        Set => (Cond::Set, false),
        Lt => (Cond::Lt, false),
        Le => (Cond::Le, false),
        SLt => (Cond::SLt, false),
        SLe => (Cond::SLe, false),
        Gt => (Cond::Lt, true),
        Ge => (Cond::Le, true),
        SGt => (Cond::SLt, true),
        SGe => (Cond::SLe, true),
    };
    if taken {
        return (c, swap);
    }
    // Not taken: the negation. !(a < b) is b <= a; !(a <= b) is b < a.
    match c {
        Cond::Eq => (Cond::Ne, swap),
        Cond::Ne => (Cond::Eq, swap),
        Cond::Set => (Cond::NotSet, swap),
        Cond::NotSet => (Cond::Set, swap),
        Cond::Lt => (Cond::Le, !swap),
        Cond::Le => (Cond::Lt, !swap),
        Cond::SLt => (Cond::SLe, !swap),
        Cond::SLe => (Cond::SLt, !swap),
    }
}

const fn bits_of(width: Width) -> u32 {
    match width {
        Width::W32 => 32,
        Width::W64 => 64,
    }
}

/// Whether `dst OP src` at `width` is decided by the bounds
/// (`is_scalar_branch_taken()`).
pub fn is_branch_taken(dst: &ScalarBounds, src: &ScalarBounds, op: JmpOp, width: Width) -> Branch {
    let (c, swap) = normalise(op, true);
    let (a, b) = if swap { (src, dst) } else { (dst, src) };
    let bits = bits_of(width);
    let (ra, rb) = (a.range(bits), b.range(bits));
    let (ta, tb) = (a.tnum(bits), b.tnum(bits));
    let yes_no = |yes: bool, no: bool| match (yes, no) {
        (true, _) => Branch::Taken,
        (_, true) => Branch::NotTaken,
        _ => Branch::Unknown,
    };
    let never_equal = || {
        if ta.is_const() && tb.is_const() {
            return ta.value != tb.value;
        }
        ra.umin > rb.umax
            || ra.umax < rb.umin
            || ra.smin > rb.smax
            || ra.smax < rb.smin
            || !ta.overlaps(tb)
            || (bits == 64
                && (a.u32_min > b.u32_max
                    || a.u32_max < b.u32_min
                    || a.s32_min > b.s32_max
                    || a.s32_max < b.s32_min))
    };
    let always_equal = || ta.is_const() && tb.is_const() && ta.value == tb.value;
    match c {
        Cond::Eq => yes_no(always_equal(), never_equal()),
        Cond::Ne => yes_no(never_equal(), always_equal()),
        Cond::Set | Cond::NotSet => {
            // One side must be a constant mask.
            let (t, k) = if tb.is_const() {
                (ta, tb.value)
            } else if ta.is_const() {
                (tb, ta.value)
            } else {
                return Branch::Unknown;
            };
            let some_set = t.value & k != 0;
            let none_possible = (t.value | t.mask) & k == 0;
            if c == Cond::Set { yes_no(some_set, none_possible) } else { yes_no(none_possible, some_set) }
        }
        Cond::Lt => yes_no(ra.umax < rb.umin, ra.umin >= rb.umax),
        Cond::Le => yes_no(ra.umax <= rb.umin, ra.umin > rb.umax),
        Cond::SLt => yes_no(ra.smax < rb.smin, ra.smin >= rb.smax),
        Cond::SLe => yes_no(ra.smax <= rb.smin, ra.smin > rb.smax),
    }
}

/// The bounds of `(dst, src)` on one side of `if dst OP src` at `width`:
/// `taken` for the jump target, `!taken` for the fall-through
/// (`reg_set_min_max()` / `regs_refine_cond_op()`). Both results are
/// synced; if either [`ScalarBounds::is_empty`], that side is impossible.
pub fn refine_branch(
    dst: &ScalarBounds,
    src: &ScalarBounds,
    op: JmpOp,
    width: Width,
    taken: bool,
) -> (ScalarBounds, ScalarBounds) {
    let (c, swap) = normalise(op, taken);
    let (mut a, mut b) = if swap { (*src, *dst) } else { (*dst, *src) };
    let bits = bits_of(width);
    let (mut ra, mut rb) = (a.range(bits), b.range(bits));
    match c {
        Cond::Eq => {
            let r = Range {
                umin: ra.umin.max(rb.umin),
                umax: ra.umax.min(rb.umax),
                smin: ra.smin.max(rb.smin),
                smax: ra.smax.min(rb.smax),
            };
            ra = r;
            rb = r;
            let t = a.tnum(bits).intersect(b.tnum(bits));
            a.set_tnum(bits, t);
            b.set_tnum(bits, t);
        }
        Cond::Ne => {
            // Only a constant on one side helps: it can shave the other's ends.
            let shave = |r: &mut Range, v: u64| {
                let s = sext(v, bits);
                if r.umin == v {
                    r.umin = r.umin.wrapping_add(1);
                }
                if r.umax == v {
                    r.umax = r.umax.wrapping_sub(1);
                }
                if r.smin == s {
                    r.smin = r.smin.wrapping_add(1);
                }
                if r.smax == s {
                    r.smax = r.smax.wrapping_sub(1);
                }
            };
            if b.tnum(bits).is_const() {
                shave(&mut ra, b.tnum(bits).value);
            } else if a.tnum(bits).is_const() {
                shave(&mut rb, a.tnum(bits).value);
            }
        }
        Cond::Set | Cond::NotSet => {
            let (x, k) = if b.tnum(bits).is_const() {
                (&mut a, b.tnum(bits).value)
            } else if a.tnum(bits).is_const() {
                (&mut b, a.tnum(bits).value)
            } else {
                return finish(a, b, ra, rb, bits, swap);
            };
            let t = x.tnum(bits);
            if c == Cond::Set {
                // Only a single-bit mask tells which bit is set.
                if k.is_power_of_two() {
                    x.set_tnum(bits, t.or(Tnum::constant(k)));
                }
            } else {
                x.set_tnum(bits, t.and(Tnum::constant(!k)));
            }
        }
        Cond::Le => {
            ra.umax = ra.umax.min(rb.umax);
            rb.umin = rb.umin.max(ra.umin);
        }
        Cond::Lt => {
            // a < b needs b > 0 and a < MAX; otherwise this side is impossible.
            if rb.umax == 0 || ra.umin == umax_of(bits) {
                (ra.umin, ra.umax) = (1, 0);
            } else {
                ra.umax = ra.umax.min(rb.umax - 1);
                rb.umin = rb.umin.max(ra.umin + 1);
            }
        }
        Cond::SLe => {
            ra.smax = ra.smax.min(rb.smax);
            rb.smin = rb.smin.max(ra.smin);
        }
        Cond::SLt => {
            if rb.smax == smin_of(bits) || ra.smin == smax_of(bits) {
                (ra.smin, ra.smax) = (1, 0);
            } else {
                ra.smax = ra.smax.min(rb.smax - 1);
                rb.smin = rb.smin.max(ra.smin + 1);
            }
        }
    }
    finish(a, b, ra, rb, bits, swap)
}

fn finish(
    mut a: ScalarBounds,
    mut b: ScalarBounds,
    ra: Range,
    rb: Range,
    bits: u32,
    swap: bool,
) -> (ScalarBounds, ScalarBounds) {
    a.set_range(bits, ra);
    b.set_range(bits, rb);
    // Contradictory ranges (an impossible side) are kept as they are: syncing
    // them is meaningless, and `is_empty` reports them.
    if !a.is_empty() {
        a.sync();
    }
    if !b.is_empty() {
        b.sync();
    }
    if swap { (b, a) } else { (a, b) }
}

#[cfg(test)]
mod tests;
