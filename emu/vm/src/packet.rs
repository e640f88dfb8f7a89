//! Legacy packet loads (`BPF_LD | BPF_ABS/BPF_IND`).
//!
//! Kernel counterpart: the verifier rewrites each one (`bpf_gen_ld_abs()` in
//! net/core/filter.c) into a call of `bpf_skb_load_helper_{8,16,32}_no_cache`
//! with `int offset = imm` (ABS) or `src + imm` (IND), followed by
//! `if r0 s< 0 { r0 = 0; exit }`. The value is read big-endian (network
//! order) and zero-extended into r0.
//!
//! Emulated: reads from the packet bytes given to the run; an offset out of
//! the packet ends the current frame with r0 = 0. Not emulated: the
//! negative `SKF_NET_OFF`/`SKF_LL_OFF` bases (treated as out of bounds),
//! the clobbering of r1..r5 (kept unchanged, as for helpers), and the
//! requirement that r6 hold the skb.

/// Loads `size` (1, 2 or 4) bytes big-endian at `off`, or `None` when out
/// of the packet.
pub(crate) fn load_be(packet: &[u8], off: i32, size: u8) -> Option<u64> {
    let start = usize::try_from(off).ok()?;
    let b = packet.get(start..start.checked_add(usize::from(size))?)?;
    Some(match *b {
        [x] => u64::from(x),
        [x, y] => u64::from(u16::from_be_bytes([x, y])),
        [a, b, c, d] => u64::from(u32::from_be_bytes([a, b, c, d])),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_endian_in_bounds_only() {
        let p = [0x12, 0x34, 0x56, 0x78, 0x9a];
        assert_eq!(load_be(&p, 0, 1), Some(0x12));
        assert_eq!(load_be(&p, 1, 2), Some(0x3456));
        assert_eq!(load_be(&p, 1, 4), Some(0x3456_789a));
        assert_eq!(load_be(&p, 2, 4), None);
        assert_eq!(load_be(&p, 5, 1), None);
        assert_eq!(load_be(&p, -1, 1), None);
        assert_eq!(load_be(&p, i32::MAX, 4), None);
    }
}
