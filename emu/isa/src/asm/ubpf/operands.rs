//! Operands: registers, memory addresses and immediates.

use crate::asm::imm::{fit32, fit64};

/// `%r0`..`%r15` (upstream's map, including its fake r11..r15).
pub(super) fn reg(s: &str) -> Result<u8, String> {
    s.strip_prefix("%r")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .filter(|n| *n == "0" || !n.starts_with('0'))
        .and_then(|n| n.parse::<u8>().ok())
        .filter(|&n| n <= 15)
        .ok_or_else(|| format!("Invalid register: {s}"))
}

/// `[%rN]`, `[%rN+off]` or `[%rN-off]`.
pub(super) fn address(s: &str) -> Result<(u8, i16), String> {
    let inner = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .ok_or_else(|| format!("Failed to decode register and offset: {s}"))?;
    let (r, off) = match inner.find(['+', '-']) {
        Some(i) => (&inner[..i], inner.get(i..).unwrap_or_default()),
        None => (inner, "+0"),
    };
    let v = parse_int(off).ok_or_else(|| format!("Invalid offset: {off}"))?;
    let off = i16::try_from(v).map_err(|_| format!("Offset out of 16-bit range: {off}"))?;
    Ok((reg(r)?, off))
}

/// Decimal or `0x` hex with an optional sign, nothing else.
pub(super) fn parse_int(s: &str) -> Option<i128> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (radix, digits) = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        Some(hex) => (16, hex),
        None => (10, body),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i128::from_str_radix(digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

/// A 32-bit immediate: `-2^31 ..= 2^32-1`, wrapping above `i32::MAX`.
pub(super) fn imm32(s: &str) -> Result<i32, String> {
    let v = parse_int(s).ok_or_else(|| format!("Invalid immediate: {s}"))?;
    fit32(v).ok_or_else(|| format!("Immediate out of 32-bit range: {s}"))
}

/// A 64-bit immediate: `-2^63 ..= 2^64-1`.
pub(super) fn imm64(s: &str) -> Result<u64, String> {
    let v = parse_int(s).ok_or_else(|| format!("Invalid immediate: {s}"))?;
    fit64(v).ok_or_else(|| format!("Immediate out of 64-bit range: {s}"))
}
