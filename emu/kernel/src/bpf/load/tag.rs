//! Step 4 of `BPF_PROG_LOAD`: the program tag (`bpf_prog_calc_tag()` in
//! kernel/bpf/core.c): the first 8 bytes of the SHA-256 of the
//! instructions as loaded, with the `imm` of map-fd and map-value
//! `ld_imm64`s (both slots) zeroed, so the tag does not depend on fd
//! numbers. Linux 6.18 moved the tag from SHA-1 to SHA-256 (for program
//! signing, which reuses the digest); earlier kernels report the first 8
//! bytes of the SHA-1 instead. Checked against a 6.18 kernel: `r0 = 0;
//! exit` loads with tag `59f4a931744dcdc6` (see the tests).

use super::relocate::{BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE};
use bpfemu_isa::{Insn, insns_to_bytes};
use sha2::{Digest, Sha256};

/// The tag of `insns` (the original instructions, before relocation).
pub fn calc_tag(insns: &[Insn]) -> [u8; 8] {
    let mut copy = insns.to_vec();
    let mut was_ld_map = false;
    for ins in &mut copy {
        if !was_ld_map && ins.code == 0x18 && matches!(ins.src, BPF_PSEUDO_MAP_FD | BPF_PSEUDO_MAP_VALUE) {
            was_ld_map = true;
            ins.imm = 0;
        } else if was_ld_map && ins.code == 0 && ins.dst == 0 && ins.src == 0 && ins.off == 0 {
            was_ld_map = false;
            ins.imm = 0;
        } else {
            was_ld_map = false;
        }
    }
    let digest = Sha256::digest(insns_to_bytes(&copy));
    let mut tag = [0u8; 8];
    tag.copy_from_slice(&digest[..8]);
    tag
}
