//! Immediate ranges shared by both dialects.

/// A 32-bit field's value: `-2^31 ..= 2^32-1`, the upper half as its bits.
pub(super) fn fit32(v: i128) -> Option<i32> {
    i32::try_from(v).ok().or_else(|| u32::try_from(v).ok().map(|u| u as i32))
}

/// A 64-bit load's value: `-2^63 ..= 2^64-1`, the upper half as its bits.
pub(super) fn fit64(v: i128) -> Option<u64> {
    u64::try_from(v).ok().or_else(|| i64::try_from(v).ok().map(|s| s as u64))
}
