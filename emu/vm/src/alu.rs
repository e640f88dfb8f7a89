//! ALU semantics as pure functions: the arithmetic of `___bpf_prog_run()`
//! in kernel/bpf/core.c together with the rewrites `do_misc_fixups()` in
//! kernel/bpf/verifier.c applies before any program runs (so the results
//! are the ones a loaded program observes, RFC 9669 §4.1):
//!
//! - unsigned `x / 0 = 0`, `x % 0 = x` (32-bit: `(u32)x`, zero-extended);
//! - signed `x s/ 0 = 0`, `x s% 0 = x`; `MIN s/ -1 = MIN`, `MIN s% -1 = 0`
//!   (the kernel patches `/ -1` to `neg` and `% -1` to `mov32 0`); the sign
//!   of `s%` follows the dividend, as in C;
//! - shift amounts are masked to the operand width (`& 63`, `& 31`).
//!
//! 32-bit operations take `u32` operands and return `u32`; the interpreter
//! zero-extends the result into the 64-bit register. Byte-order operations
//! model a little-endian target (x86-64), whatever the host.

#[inline(always)]
pub(crate) fn div64(a: u64, b: u64) -> u64 {
    a.checked_div(b).unwrap_or(0)
}

#[inline(always)]
pub(crate) fn div32(a: u32, b: u32) -> u32 {
    a.checked_div(b).unwrap_or(0)
}

#[inline(always)]
pub(crate) fn mod64(a: u64, b: u64) -> u64 {
    a.checked_rem(b).unwrap_or(a)
}

#[inline(always)]
pub(crate) fn mod32(a: u32, b: u32) -> u32 {
    a.checked_rem(b).unwrap_or(a)
}

#[inline(always)]
pub(crate) fn sdiv64(a: u64, b: u64) -> u64 {
    if b == 0 { 0 } else { (a as i64).wrapping_div(b as i64) as u64 }
}

#[inline(always)]
pub(crate) fn sdiv32(a: u32, b: u32) -> u32 {
    if b == 0 { 0 } else { (a as i32).wrapping_div(b as i32) as u32 }
}

#[inline(always)]
pub(crate) fn smod64(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { (a as i64).wrapping_rem(b as i64) as u64 }
}

#[inline(always)]
pub(crate) fn smod32(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { (a as i32).wrapping_rem(b as i32) as u32 }
}

#[inline(always)]
pub(crate) fn lsh64(a: u64, b: u64) -> u64 {
    a << (b & 63)
}

#[inline(always)]
pub(crate) fn lsh32(a: u32, b: u32) -> u32 {
    a << (b & 31)
}

#[inline(always)]
pub(crate) fn rsh64(a: u64, b: u64) -> u64 {
    a >> (b & 63)
}

#[inline(always)]
pub(crate) fn rsh32(a: u32, b: u32) -> u32 {
    a >> (b & 31)
}

#[inline(always)]
pub(crate) fn arsh64(a: u64, b: u64) -> u64 {
    ((a as i64) >> (b & 63)) as u64
}

#[inline(always)]
pub(crate) fn arsh32(a: u32, b: u32) -> u32 {
    ((a as i32) >> (b & 31)) as u32
}

/// `be16/32/64` on a little-endian target: swap the low `bits`, zero the rest.
#[inline(always)]
pub(crate) fn to_be(v: u64, bits: u8) -> u64 {
    match bits {
        16 => u64::from((v as u16).swap_bytes()),
        32 => u64::from((v as u32).swap_bytes()),
        _ => v.swap_bytes(),
    }
}

/// `le16/32/64` on a little-endian target: truncate to `bits`.
#[inline(always)]
pub(crate) fn to_le(v: u64, bits: u8) -> u64 {
    match bits {
        16 => u64::from(v as u16),
        32 => u64::from(v as u32),
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_division_by_zero() {
        assert_eq!(div64(7, 0), 0);
        assert_eq!(div32(7, 0), 0);
        assert_eq!(mod64(7, 0), 7);
        assert_eq!(mod32(7, 0), 7);
        assert_eq!(div64(u64::MAX, 2), u64::MAX / 2);
        assert_eq!(mod64(10, 3), 1);
    }

    #[test]
    fn signed_division_edges() {
        let min64 = i64::MIN as u64;
        let min32 = i32::MIN as u32;
        assert_eq!(sdiv64(min64, u64::MAX), min64);
        assert_eq!(smod64(min64, u64::MAX), 0);
        assert_eq!(sdiv32(min32, u32::MAX), min32);
        assert_eq!(smod32(min32, u32::MAX), 0);
        assert_eq!(sdiv64(5, 0), 0);
        assert_eq!(smod64(5, 0), 5);
        assert_eq!(sdiv32(5, 0), 0);
        assert_eq!(smod32(5, 0), 5);
        // Truncation toward zero; remainder takes the dividend's sign.
        assert_eq!(sdiv64(-7i64 as u64, 2) as i64, -3);
        assert_eq!(smod64(-7i64 as u64, 2) as i64, -1);
        assert_eq!(smod64(7, -2i64 as u64) as i64, 1);
        assert_eq!(smod32(-7i32 as u32, 2) as i32, -1);
        assert_eq!(sdiv32(7, -2i32 as u32) as i32, -3);
    }

    #[test]
    fn shifts_mask_the_amount() {
        assert_eq!(lsh64(1, 65), 2);
        assert_eq!(lsh32(1, 33), 2);
        assert_eq!(rsh64(4, 65), 2);
        assert_eq!(rsh32(4, 33), 2);
        assert_eq!(arsh64(i64::MIN as u64, 63), u64::MAX);
        assert_eq!(arsh32(0x8000_0000, 31), u32::MAX);
        assert_eq!(arsh32(0x8000_0000, 32 + 4), 0xf800_0000);
    }

    #[test]
    fn byte_order() {
        let v = 0x0102_0304_0506_0708;
        assert_eq!(to_be(v, 16), 0x0807);
        assert_eq!(to_be(v, 32), 0x0807_0605);
        assert_eq!(to_be(v, 64), 0x0807_0605_0403_0201);
        assert_eq!(to_le(v, 16), 0x0708);
        assert_eq!(to_le(v, 32), 0x0506_0708);
        assert_eq!(to_le(v, 64), v);
    }
}
