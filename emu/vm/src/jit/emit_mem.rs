//! Loads, stores and atomics: plain `mov`/`movzx`/`movsx` on host
//! addresses (guest pointers are host pointers), `lock`-prefixed
//! read-modify-write for atomics.
//!
//! Kernel counterpart: the `BPF_LDX`/`BPF_ST`/`BPF_STX` and `BPF_ATOMIC`
//! cases of `do_jit()` and `emit_atomic()` in arch/x86/net/bpf_jit_comp.c:
//! `lock add/or/and/xor`, fetch_add as `lock xadd`, fetch_or/and/xor as a
//! `lock cmpxchg` loop through rax, `xchg`, `cmpxchg` with R0 as the
//! expected value. No exception table: a verified program never faults.

// dynasm!'s expansion converts register numbers with `.into()` (u8 → u8).
#![allow(clippy::useless_conversion)]

use super::compile::Ctx;
use super::regs::{R10, x};
use crate::op::{Op, R};
use dynasmrt::{DynasmApi, DynasmLabelApi, dynasm};

#[derive(Clone, Copy)]
pub(super) enum Fetch {
    Or,
    And,
    Xor,
}

impl Ctx<'_> {
    /// Fetching or/and/xor: a `lock cmpxchg` loop through rax (saved in
    /// r10), address in r9, new value built in r11.
    pub(super) fn fetch_loop(&mut self, w64: bool, op: Fetch, d: R, s: R, off: i32) {
        let (dn, sn) = (x(d), x(s));
        // The source value: R0's lives in r10 once rax is in use.
        let v = if s == R::R0 { R10 } else { sn };
        let ops = &mut self.ops;
        dynasm!(ops ; .arch x64 ; lea r9, [Rq(dn) + off] ; mov r10, rax);
        if w64 {
            dynasm!(ops ; .arch x64 ; mov rax, QWORD [r9] ; retry: ; mov r11, rax);
            match op {
                Fetch::Or => dynasm!(ops ; .arch x64 ; or r11, Rq(v)),
                Fetch::And => dynasm!(ops ; .arch x64 ; and r11, Rq(v)),
                Fetch::Xor => dynasm!(ops ; .arch x64 ; xor r11, Rq(v)),
            }
            dynasm!(ops ; .arch x64 ; lock cmpxchg QWORD [r9], r11 ; jne <retry);
        } else {
            dynasm!(ops ; .arch x64 ; mov eax, DWORD [r9] ; retry: ; mov r11d, eax);
            match op {
                Fetch::Or => dynasm!(ops ; .arch x64 ; or r11d, Rd(v)),
                Fetch::And => dynasm!(ops ; .arch x64 ; and r11d, Rd(v)),
                Fetch::Xor => dynasm!(ops ; .arch x64 ; xor r11d, Rd(v)),
            }
            dynasm!(ops ; .arch x64 ; lock cmpxchg DWORD [r9], r11d ; jne <retry ; mov eax, eax);
        }
        // rax holds the old value (zero-extended); it goes to the source
        // register, and R0 is restored unless it was that register.
        if s != R::R0 {
            dynasm!(ops ; .arch x64 ; mov Rq(sn), rax ; mov rax, r10);
        }
    }

    /// Emits `op` if it is a load, store or atomic; false otherwise.
    pub(super) fn mem_op(&mut self, op: Op) -> bool {
        match op {
            Op::LdxB(d, s, o) => {
                dynasm!(self.ops ; .arch x64 ; movzx Rd(x(d)), BYTE [Rq(x(s)) + i32::from(o)])
            }
            Op::LdxH(d, s, o) => {
                dynasm!(self.ops ; .arch x64 ; movzx Rd(x(d)), WORD [Rq(x(s)) + i32::from(o)])
            }
            Op::LdxW(d, s, o) => {
                dynasm!(self.ops ; .arch x64 ; mov Rd(x(d)), DWORD [Rq(x(s)) + i32::from(o)])
            }
            Op::LdxDW(d, s, o) => {
                dynasm!(self.ops ; .arch x64 ; mov Rq(x(d)), QWORD [Rq(x(s)) + i32::from(o)])
            }
            Op::LdsxB(d, s, o) => {
                dynasm!(self.ops ; .arch x64 ; movsx Rq(x(d)), BYTE [Rq(x(s)) + i32::from(o)])
            }
            Op::LdsxH(d, s, o) => {
                dynasm!(self.ops ; .arch x64 ; movsx Rq(x(d)), WORD [Rq(x(s)) + i32::from(o)])
            }
            Op::LdsxW(d, s, o) => {
                dynasm!(self.ops ; .arch x64 ; movsxd Rq(x(d)), DWORD [Rq(x(s)) + i32::from(o)])
            }
            Op::StB(d, o, k) => dynasm!(self.ops ; .arch x64 ; mov BYTE [Rq(x(d)) + i32::from(o)], k as i8),
            Op::StH(d, o, k) => dynasm!(self.ops ; .arch x64 ; mov WORD [Rq(x(d)) + i32::from(o)], k as i16),
            Op::StW(d, o, k) => dynasm!(self.ops ; .arch x64 ; mov DWORD [Rq(x(d)) + i32::from(o)], k),
            Op::StDW(d, o, k) => dynasm!(self.ops ; .arch x64 ; mov QWORD [Rq(x(d)) + i32::from(o)], k),
            Op::StxB(d, s, o) => dynasm!(self.ops ; .arch x64 ; mov [Rq(x(d)) + i32::from(o)], Rb(x(s))),
            Op::StxH(d, s, o) => dynasm!(self.ops ; .arch x64 ; mov [Rq(x(d)) + i32::from(o)], Rw(x(s))),
            Op::StxW(d, s, o) => dynasm!(self.ops ; .arch x64 ; mov [Rq(x(d)) + i32::from(o)], Rd(x(s))),
            Op::StxDW(d, s, o) => dynasm!(self.ops ; .arch x64 ; mov [Rq(x(d)) + i32::from(o)], Rq(x(s))),
            Op::AAdd32(d, s, o) => {
                dynasm!(self.ops ; .arch x64 ; lock add DWORD [Rq(x(d)) + i32::from(o)], Rd(x(s)))
            }
            Op::AOr32(d, s, o) => {
                dynasm!(self.ops ; .arch x64 ; lock or DWORD [Rq(x(d)) + i32::from(o)], Rd(x(s)))
            }
            Op::AAnd32(d, s, o) => {
                dynasm!(self.ops ; .arch x64 ; lock and DWORD [Rq(x(d)) + i32::from(o)], Rd(x(s)))
            }
            Op::AXor32(d, s, o) => {
                dynasm!(self.ops ; .arch x64 ; lock xor DWORD [Rq(x(d)) + i32::from(o)], Rd(x(s)))
            }
            Op::AAdd64(d, s, o) => {
                dynasm!(self.ops ; .arch x64 ; lock add QWORD [Rq(x(d)) + i32::from(o)], Rq(x(s)))
            }
            Op::AOr64(d, s, o) => {
                dynasm!(self.ops ; .arch x64 ; lock or QWORD [Rq(x(d)) + i32::from(o)], Rq(x(s)))
            }
            Op::AAnd64(d, s, o) => {
                dynasm!(self.ops ; .arch x64 ; lock and QWORD [Rq(x(d)) + i32::from(o)], Rq(x(s)))
            }
            Op::AXor64(d, s, o) => {
                dynasm!(self.ops ; .arch x64 ; lock xor QWORD [Rq(x(d)) + i32::from(o)], Rq(x(s)))
            }
            Op::AFAdd32(d, s, o) => {
                dynasm!(self.ops ; .arch x64 ; lock xadd DWORD [Rq(x(d)) + i32::from(o)], Rd(x(s)))
            }
            Op::AFAdd64(d, s, o) => {
                dynasm!(self.ops ; .arch x64 ; lock xadd QWORD [Rq(x(d)) + i32::from(o)], Rq(x(s)))
            }
            Op::AXchg32(d, s, o) => {
                dynasm!(self.ops ; .arch x64 ; xchg DWORD [Rq(x(d)) + i32::from(o)], Rd(x(s)))
            }
            Op::AXchg64(d, s, o) => {
                dynasm!(self.ops ; .arch x64 ; xchg QWORD [Rq(x(d)) + i32::from(o)], Rq(x(s)))
            }
            Op::AFOr32(d, s, o) => self.fetch_loop(false, Fetch::Or, d, s, o.into()),
            Op::AFAnd32(d, s, o) => self.fetch_loop(false, Fetch::And, d, s, o.into()),
            Op::AFXor32(d, s, o) => self.fetch_loop(false, Fetch::Xor, d, s, o.into()),
            Op::AFOr64(d, s, o) => self.fetch_loop(true, Fetch::Or, d, s, o.into()),
            Op::AFAnd64(d, s, o) => self.fetch_loop(true, Fetch::And, d, s, o.into()),
            Op::AFXor64(d, s, o) => self.fetch_loop(true, Fetch::Xor, d, s, o.into()),
            Op::ACmpXchg32(d, s, o) => {
                // The interpreter (and the kernel's zext) leave r0 = (u32)old.
                dynasm!(self.ops ; .arch x64
                ; lock cmpxchg DWORD [Rq(x(d)) + i32::from(o)], Rd(x(s)) ; mov eax, eax)
            }
            Op::ACmpXchg64(d, s, o) => {
                dynasm!(self.ops ; .arch x64 ; lock cmpxchg QWORD [Rq(x(d)) + i32::from(o)], Rq(x(s)))
            }
            _ => return false,
        }
        true
    }
}
