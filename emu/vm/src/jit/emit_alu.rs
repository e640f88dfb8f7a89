//! ALU code: add/sub/mul/or/and/xor/mov, shifts, division and modulo.
//!
//! Kernel counterpart: the `BPF_ALU`/`BPF_ALU64` cases of `do_jit()` in
//! arch/x86/net/bpf_jit_comp.c. Division and modulo follow the verifier's
//! `do_misc_fixups()` rewrites (`x/0 = 0`, `x%0 = x`, 32-bit results
//! zero-extended) and the signed `INT_MIN / -1` case (`INT_MIN s/ -1 =
//! INT_MIN`, `INT_MIN s% -1 = 0`, no trap). Shifts take their count in cl;
//! R4 is rcx, saved in r11 around the shift as the kernel does.

// dynasm!'s expansion converts register numbers with `.into()` (u8 → u8).
#![allow(clippy::useless_conversion)]

use super::compile::{Ctx, Operand};
use super::regs::{R11, RCX, x};
use crate::op::R;
use dynasmrt::{DynasmApi, DynasmLabelApi, dynasm};

#[derive(Clone, Copy)]
pub(super) enum Alu {
    Add,
    Sub,
    Mul,
    Or,
    And,
    Xor,
    Mov,
}

#[derive(Clone, Copy)]
pub(super) enum Sh {
    Lsh,
    Rsh,
    Arsh,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum DivK {
    Div,
    Mod,
    SDiv,
    SMod,
}

impl Ctx<'_> {
    pub(super) fn alu(&mut self, w64: bool, op: Alu, d: R, src: Operand) {
        let d = x(d);
        let ops = &mut self.ops;
        match (w64, src) {
            (true, Operand::Reg(s)) => {
                let s = x(s);
                match op {
                    Alu::Add => dynasm!(ops ; .arch x64 ; add Rq(d), Rq(s)),
                    Alu::Sub => dynasm!(ops ; .arch x64 ; sub Rq(d), Rq(s)),
                    Alu::Mul => dynasm!(ops ; .arch x64 ; imul Rq(d), Rq(s)),
                    Alu::Or => dynasm!(ops ; .arch x64 ; or Rq(d), Rq(s)),
                    Alu::And => dynasm!(ops ; .arch x64 ; and Rq(d), Rq(s)),
                    Alu::Xor => dynasm!(ops ; .arch x64 ; xor Rq(d), Rq(s)),
                    Alu::Mov => dynasm!(ops ; .arch x64 ; mov Rq(d), Rq(s)),
                }
            }
            (false, Operand::Reg(s)) => {
                let s = x(s);
                match op {
                    Alu::Add => dynasm!(ops ; .arch x64 ; add Rd(d), Rd(s)),
                    Alu::Sub => dynasm!(ops ; .arch x64 ; sub Rd(d), Rd(s)),
                    Alu::Mul => dynasm!(ops ; .arch x64 ; imul Rd(d), Rd(s)),
                    Alu::Or => dynasm!(ops ; .arch x64 ; or Rd(d), Rd(s)),
                    Alu::And => dynasm!(ops ; .arch x64 ; and Rd(d), Rd(s)),
                    Alu::Xor => dynasm!(ops ; .arch x64 ; xor Rd(d), Rd(s)),
                    Alu::Mov => dynasm!(ops ; .arch x64 ; mov Rd(d), Rd(s)),
                }
            }
            (true, Operand::Imm(k)) => match op {
                Alu::Add => dynasm!(ops ; .arch x64 ; add Rq(d), k),
                Alu::Sub => dynasm!(ops ; .arch x64 ; sub Rq(d), k),
                Alu::Mul => dynasm!(ops ; .arch x64 ; imul Rq(d), Rq(d), k),
                Alu::Or => dynasm!(ops ; .arch x64 ; or Rq(d), k),
                Alu::And => dynasm!(ops ; .arch x64 ; and Rq(d), k),
                Alu::Xor => dynasm!(ops ; .arch x64 ; xor Rq(d), k),
                Alu::Mov => dynasm!(ops ; .arch x64 ; mov Rq(d), DWORD k),
            },
            (false, Operand::Imm(k)) => match op {
                Alu::Add => dynasm!(ops ; .arch x64 ; add Rd(d), k),
                Alu::Sub => dynasm!(ops ; .arch x64 ; sub Rd(d), k),
                Alu::Mul => dynasm!(ops ; .arch x64 ; imul Rd(d), Rd(d), k),
                Alu::Or => dynasm!(ops ; .arch x64 ; or Rd(d), k),
                Alu::And => dynasm!(ops ; .arch x64 ; and Rd(d), k),
                Alu::Xor => dynasm!(ops ; .arch x64 ; xor Rd(d), k),
                Alu::Mov => dynasm!(ops ; .arch x64 ; mov Rd(d), DWORD k),
            },
        }
    }

    /// `r` op= cl, at width `w64`.
    pub(super) fn shift_cl(&mut self, w64: bool, op: Sh, r: u8) {
        let ops = &mut self.ops;
        match (w64, op) {
            (true, Sh::Lsh) => dynasm!(ops ; .arch x64 ; shl Rq(r), cl),
            (true, Sh::Rsh) => dynasm!(ops ; .arch x64 ; shr Rq(r), cl),
            (true, Sh::Arsh) => dynasm!(ops ; .arch x64 ; sar Rq(r), cl),
            (false, Sh::Lsh) => dynasm!(ops ; .arch x64 ; shl Rd(r), cl),
            (false, Sh::Rsh) => dynasm!(ops ; .arch x64 ; shr Rd(r), cl),
            (false, Sh::Arsh) => dynasm!(ops ; .arch x64 ; sar Rd(r), cl),
        }
    }

    pub(super) fn shift(&mut self, w64: bool, op: Sh, d: R, src: Operand) {
        let dn = x(d);
        match src {
            Operand::Imm(k) => {
                let k = (k & if w64 { 63 } else { 31 }) as i8;
                let ops = &mut self.ops;
                if k == 0 {
                    // A zero shift is a no-op, but a 32-bit op still
                    // zero-extends.
                    if !w64 {
                        dynasm!(ops ; .arch x64 ; mov Rd(dn), Rd(dn));
                    }
                    return;
                }
                match (w64, op) {
                    (true, Sh::Lsh) => dynasm!(ops ; .arch x64 ; shl Rq(dn), k),
                    (true, Sh::Rsh) => dynasm!(ops ; .arch x64 ; shr Rq(dn), k),
                    (true, Sh::Arsh) => dynasm!(ops ; .arch x64 ; sar Rq(dn), k),
                    (false, Sh::Lsh) => dynasm!(ops ; .arch x64 ; shl Rd(dn), k),
                    (false, Sh::Rsh) => dynasm!(ops ; .arch x64 ; shr Rd(dn), k),
                    (false, Sh::Arsh) => dynasm!(ops ; .arch x64 ; sar Rd(dn), k),
                }
            }
            Operand::Reg(s) if x(s) == RCX => self.shift_cl(w64, op, dn),
            Operand::Reg(s) => {
                let sn = x(s);
                // Count into cl; BPF R4 (rcx) saved in r11.
                dynasm!(self.ops ; .arch x64 ; mov r11, rcx ; mov rcx, Rq(sn));
                if dn == RCX {
                    self.shift_cl(w64, op, R11);
                    dynasm!(self.ops ; .arch x64 ; mov rcx, r11);
                } else {
                    self.shift_cl(w64, op, dn);
                    dynasm!(self.ops ; .arch x64 ; mov rcx, r11);
                }
            }
        }
    }

    /// Division and modulo via rdx:rax, both saved (r10, r9) and restored
    /// unless they are the destination; divisor in r11.
    pub(super) fn div(&mut self, w64: bool, kind: DivK, d: R, src: Operand) {
        let dn = x(d);
        let ops = &mut self.ops;
        match (w64, src) {
            (true, Operand::Reg(s)) => dynasm!(ops ; .arch x64 ; mov r11, Rq(x(s))),
            (false, Operand::Reg(s)) => dynasm!(ops ; .arch x64 ; mov r11d, Rd(x(s))),
            (true, Operand::Imm(k)) => dynasm!(ops ; .arch x64 ; mov r11, DWORD k),
            (false, Operand::Imm(k)) => dynasm!(ops ; .arch x64 ; mov r11d, DWORD k),
        }
        if w64 {
            dynasm!(ops ; .arch x64
                ; mov r10, rax ; mov r9, rdx ; mov rax, Rq(dn)
                ; test r11, r11 ; jz >zero);
        } else {
            dynasm!(ops ; .arch x64
                ; mov r10, rax ; mov r9, rdx ; mov eax, Rd(dn)
                ; test r11d, r11d ; jz >zero);
        }
        let signed = matches!(kind, DivK::SDiv | DivK::SMod);
        if signed {
            if w64 {
                dynasm!(ops ; .arch x64 ; cmp r11, -1 ; jne >normal);
            } else {
                dynasm!(ops ; .arch x64 ; cmp r11d, -1 ; jne >normal);
            }
            // x s/ -1 = -x (wrapping), x s% -1 = 0.
            match (kind, w64) {
                (DivK::SDiv, true) => dynasm!(ops ; .arch x64 ; neg rax ; mov r11, rax ; jmp >done),
                (DivK::SDiv, false) => dynasm!(ops ; .arch x64 ; neg eax ; mov r11d, eax ; jmp >done),
                _ => dynasm!(ops ; .arch x64 ; xor r11d, r11d ; jmp >done),
            }
            dynasm!(ops ; .arch x64 ; normal:);
        }
        match (signed, w64) {
            (false, true) => dynasm!(ops ; .arch x64 ; xor edx, edx ; div r11),
            (false, false) => dynasm!(ops ; .arch x64 ; xor edx, edx ; div r11d),
            (true, true) => dynasm!(ops ; .arch x64 ; cqo ; idiv r11),
            (true, false) => dynasm!(ops ; .arch x64 ; cdq ; idiv r11d),
        }
        match (kind, w64) {
            (DivK::Div | DivK::SDiv, true) => dynasm!(ops ; .arch x64 ; mov r11, rax),
            (DivK::Div | DivK::SDiv, false) => dynasm!(ops ; .arch x64 ; mov r11d, eax),
            (_, true) => dynasm!(ops ; .arch x64 ; mov r11, rdx),
            (_, false) => dynasm!(ops ; .arch x64 ; mov r11d, edx),
        }
        dynasm!(ops ; .arch x64 ; jmp >done ; zero:);
        // Divisor zero: quotient 0, remainder the (zero-extended) dividend.
        match (kind, w64) {
            (DivK::Div | DivK::SDiv, _) => dynasm!(ops ; .arch x64 ; xor r11d, r11d),
            (_, true) => dynasm!(ops ; .arch x64 ; mov r11, rax),
            (_, false) => dynasm!(ops ; .arch x64 ; mov r11d, eax),
        }
        dynasm!(ops ; .arch x64
            ; done:
            ; mov rax, r10 ; mov rdx, r9 ; mov Rq(dn), r11);
    }
}
