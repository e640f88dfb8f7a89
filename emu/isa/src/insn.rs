//! The raw 8-byte instruction slot (`struct bpf_insn` in uapi/linux/bpf.h).
//!
//! Layout, little endian: `code:8 | dst_reg:4 src_reg:4 | off:16 | imm:32`.
//! A wide instruction (`BPF_LD|BPF_IMM|BPF_DW`) takes two slots; the second
//! carries the upper 32 bits of the constant in its `imm`.

/// One raw instruction slot, exactly as the kernel's `struct bpf_insn`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    /// Size of one slot in bytes.
    pub const SIZE: usize = 8;

    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        Insn { code, dst, src, off, imm }
    }

    /// Decodes one slot from its 8 little-endian bytes. Register nibbles are
    /// kept as they are (0..=15); validity is the decoder's business.
    pub const fn from_bytes(b: [u8; 8]) -> Self {
        Insn {
            code: b[0],
            dst: b[1] & 0x0f,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// Encodes the slot as 8 little-endian bytes.
    pub const fn to_bytes(self) -> [u8; 8] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [self.code, (self.dst & 0x0f) | (self.src << 4), off[0], off[1], imm[0], imm[1], imm[2], imm[3]]
    }

    /// The slot as one little-endian 64-bit word (the conformance suite's
    /// `-- raw` form).
    pub const fn to_u64(self) -> u64 {
        u64::from_le_bytes(self.to_bytes())
    }

    pub const fn from_u64(w: u64) -> Self {
        Insn::from_bytes(w.to_le_bytes())
    }
}

/// Splits a byte buffer into instruction slots. The length must be a
/// multiple of 8; the error carries the stray byte count.
pub fn insns_from_bytes(bytes: &[u8]) -> Result<Vec<Insn>, usize> {
    if !bytes.len().is_multiple_of(Insn::SIZE) {
        return Err(bytes.len() % Insn::SIZE);
    }
    Ok(bytes
        .chunks_exact(Insn::SIZE)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            Insn::from_bytes(b)
        })
        .collect())
}

/// Concatenates instruction slots into bytes.
pub fn insns_to_bytes(insns: &[Insn]) -> Vec<u8> {
    insns.iter().flat_map(|i| i.to_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_layout_matches_uapi() {
        // lddw r0, 0x1122334455667788 first slot, from the conformance suite.
        let i = Insn::from_u64(0x5566778800000018);
        assert_eq!(i, Insn::new(0x18, 0, 0, 0, 0x55667788));
        let j = Insn::new(0x61, 1, 2, -4, 7);
        assert_eq!(j.to_bytes(), [0x61, 0x21, 0xfc, 0xff, 7, 0, 0, 0]);
        assert_eq!(Insn::from_bytes(j.to_bytes()), j);
    }

    #[test]
    fn ragged_buffer_is_rejected() {
        assert_eq!(insns_from_bytes(&[0; 12]), Err(4));
        assert_eq!(insns_from_bytes(&[0; 16]).unwrap().len(), 2);
    }
}
