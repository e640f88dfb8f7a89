//! Legacy packet loads (`LD_ABS`/`LD_IND`), inline.
//!
//! Kernel counterpart: the verifier rewrites them (`bpf_gen_ld_abs()` in
//! net/core/filter.c) into a call of `bpf_skb_load_helper_*` followed by
//! `if r0 s< 0 { r0 = 0; exit }`; the interpreter emulates that on the
//! run's packet ([`crate::packet`]). Here, the same semantics inline:
//! offset `imm` (ABS) or the low 32 bits of `src + imm` (IND), negative or
//! past the packet → r0 = 0 and `exit` from the current frame; otherwise
//! the 1/2/4 bytes big-endian, zero-extended, into r0. A run without a
//! packet aborts with `NoPacket`, as the interpreter's does.

// dynasm!'s expansion converts register numbers with `.into()` (u8 → u8).
#![allow(clippy::useless_conversion)]

use super::compile::Ctx;
use super::frame::{self, ERR_NO_PACKET, PKT, PKT_LEN, PKT_PRESENT};
use super::regs::x;
use crate::op::R;
use dynasmrt::{DynasmApi, DynasmLabelApi, dynasm};

impl Ctx<'_> {
    /// Loads `size` bytes at `k` (ABS) or `src + k` (IND) into r0.
    pub(super) fn ld_packet(&mut self, pc: usize, size: u8, src: Option<R>, k: i32) {
        dynasm!(self.ops ; .arch x64
            ; cmp QWORD [r12 + PKT_PRESENT], 0
            ; jne >has_packet);
        frame::fail(&mut self.ops, self.abort, ERR_NO_PACKET, pc, 0);
        dynasm!(self.ops ; .arch x64 ; has_packet:);
        let ops = &mut self.ops;
        match src {
            None if k < 0 => {
                dynasm!(ops ; .arch x64 ; xor eax, eax ; ret);
                return;
            }
            None => dynasm!(ops ; .arch x64 ; mov r11d, k),
            Some(s) => dynasm!(ops ; .arch x64 ; mov r11d, Rd(x(s)) ; add r11d, k ; js >oob),
        }
        let size = i32::from(size);
        dynasm!(ops ; .arch x64
            ; lea r9, [r11 + size]
            ; cmp r9, [r12 + PKT_LEN]
            ; ja >oob
            ; mov r9, [r12 + PKT]);
        match size {
            1 => dynasm!(ops ; .arch x64 ; movzx eax, BYTE [r9 + r11]),
            2 => dynasm!(ops ; .arch x64 ; movzx eax, WORD [r9 + r11] ; rol ax, 8),
            _ => dynasm!(ops ; .arch x64 ; mov eax, DWORD [r9 + r11] ; bswap eax),
        }
        dynasm!(ops ; .arch x64
            ; jmp >pkt_done
            ; oob:
            ; xor eax, eax
            ; ret
            ; pkt_done:);
    }
}
