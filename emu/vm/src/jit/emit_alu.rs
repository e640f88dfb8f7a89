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
            (w64, Operand::Imm(k)) => self.alu_imm(w64, op, d, k),
        }
    }

    /// `d op= k`: the short encodings `do_jit()` also picks (`imm8` forms
    /// when `k` fits, `xor r32, r32` for 0, a 32-bit `mov` for a
    /// non-negative 64-bit constant, which zero-extends).
    fn alu_imm(&mut self, w64: bool, op: Alu, d: u8, k: i32) {
        let ops = &mut self.ops;
        if let Alu::Mov = op {
            match (w64, k) {
                (_, 0) => dynasm!(ops ; .arch x64 ; xor Rd(d), Rd(d)),
                (true, k) if k < 0 => dynasm!(ops ; .arch x64 ; mov Rq(d), DWORD k),
                (_, k) => dynasm!(ops ; .arch x64 ; mov Rd(d), DWORD k),
            }
            return;
        }
        if let Ok(b) = i8::try_from(k) {
            match (w64, op) {
                (true, Alu::Add) => dynasm!(ops ; .arch x64 ; add Rq(d), BYTE b),
                (true, Alu::Sub) => dynasm!(ops ; .arch x64 ; sub Rq(d), BYTE b),
                (true, Alu::Mul) => dynasm!(ops ; .arch x64 ; imul Rq(d), Rq(d), BYTE b),
                (true, Alu::Or) => dynasm!(ops ; .arch x64 ; or Rq(d), BYTE b),
                (true, Alu::And) => dynasm!(ops ; .arch x64 ; and Rq(d), BYTE b),
                (true, Alu::Xor) => dynasm!(ops ; .arch x64 ; xor Rq(d), BYTE b),
                (false, Alu::Add) => dynasm!(ops ; .arch x64 ; add Rd(d), BYTE b),
                (false, Alu::Sub) => dynasm!(ops ; .arch x64 ; sub Rd(d), BYTE b),
                (false, Alu::Mul) => dynasm!(ops ; .arch x64 ; imul Rd(d), Rd(d), BYTE b),
                (false, Alu::Or) => dynasm!(ops ; .arch x64 ; or Rd(d), BYTE b),
                (false, Alu::And) => dynasm!(ops ; .arch x64 ; and Rd(d), BYTE b),
                (false, Alu::Xor) => dynasm!(ops ; .arch x64 ; xor Rd(d), BYTE b),
                (_, Alu::Mov) => unreachable!("handled above"),
            }
            return;
        }
        match (w64, op) {
            (true, Alu::Add) => dynasm!(ops ; .arch x64 ; add Rq(d), DWORD k),
            (true, Alu::Sub) => dynasm!(ops ; .arch x64 ; sub Rq(d), DWORD k),
            (true, Alu::Mul) => dynasm!(ops ; .arch x64 ; imul Rq(d), Rq(d), DWORD k),
            (true, Alu::Or) => dynasm!(ops ; .arch x64 ; or Rq(d), DWORD k),
            (true, Alu::And) => dynasm!(ops ; .arch x64 ; and Rq(d), DWORD k),
            (true, Alu::Xor) => dynasm!(ops ; .arch x64 ; xor Rq(d), DWORD k),
            (false, Alu::Add) => dynasm!(ops ; .arch x64 ; add Rd(d), DWORD k),
            (false, Alu::Sub) => dynasm!(ops ; .arch x64 ; sub Rd(d), DWORD k),
            (false, Alu::Mul) => dynasm!(ops ; .arch x64 ; imul Rd(d), Rd(d), DWORD k),
            (false, Alu::Or) => dynasm!(ops ; .arch x64 ; or Rd(d), DWORD k),
            (false, Alu::And) => dynasm!(ops ; .arch x64 ; and Rd(d), DWORD k),
            (false, Alu::Xor) => dynasm!(ops ; .arch x64 ; xor Rd(d), DWORD k),
            (_, Alu::Mov) => unreachable!("handled above"),
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

    /// Division and modulo with the BPF rules (`x / 0 = 0`, `x % 0 = x`,
    /// `INT_MIN s/ -1 = INT_MIN`, `x s% -1 = 0`).
    ///
    /// A constant divisor is resolved at compile time where it can be: 0 and
    /// unsigned powers of two need no `div` at all, and any other constant
    /// drops the run-time zero (and -1) tests. Otherwise the dividend goes
    /// through rdx:rax, both saved (r10, r9) and restored unless they are
    /// the destination, divisor in r11; an unsigned 64-bit division whose
    /// operands both fit in 32 bits uses the 32-bit `div` (the bypass LLVM
    /// emits for x86-64: `div r64` is several times slower on many cores).
    pub(super) fn div(&mut self, w64: bool, kind: DivK, d: R, src: Operand) {
        let signed = matches!(kind, DivK::SDiv | DivK::SMod);
        let quotient = matches!(kind, DivK::Div | DivK::SDiv);
        if let Operand::Imm(k) = src
            && self.div_by_constant(w64, signed, quotient, d, k)
        {
            return;
        }
        let dn = x(d);
        let ops = &mut self.ops;
        match (w64, src) {
            (true, Operand::Reg(s)) => dynasm!(ops ; .arch x64 ; mov r11, Rq(x(s))),
            (false, Operand::Reg(s)) => dynasm!(ops ; .arch x64 ; mov r11d, Rd(x(s))),
            (true, Operand::Imm(k)) => dynasm!(ops ; .arch x64 ; mov r11, DWORD k),
            (false, Operand::Imm(k)) => dynasm!(ops ; .arch x64 ; mov r11d, DWORD k),
        }
        // A constant divisor reaching here is neither 0 nor (when signed) -1.
        let may_be_zero = matches!(src, Operand::Reg(_));
        let may_be_minus1 = signed && may_be_zero;
        if w64 {
            dynasm!(ops ; .arch x64 ; mov r10, rax ; mov r9, rdx ; mov rax, Rq(dn));
        } else {
            dynasm!(ops ; .arch x64 ; mov r10, rax ; mov r9, rdx ; mov eax, Rd(dn));
        }
        if may_be_zero {
            if w64 {
                dynasm!(ops ; .arch x64 ; test r11, r11 ; jz >zero);
            } else {
                dynasm!(ops ; .arch x64 ; test r11d, r11d ; jz >zero);
            }
        }
        if may_be_minus1 {
            if w64 {
                dynasm!(ops ; .arch x64 ; cmp r11, -1 ; jne >normal);
            } else {
                dynasm!(ops ; .arch x64 ; cmp r11d, -1 ; jne >normal);
            }
            // x s/ -1 = -x (wrapping), x s% -1 = 0.
            match (quotient, w64) {
                (true, true) => dynasm!(ops ; .arch x64 ; neg rax ; mov r11, rax ; jmp >done),
                (true, false) => dynasm!(ops ; .arch x64 ; neg eax ; mov r11d, eax ; jmp >done),
                _ => dynasm!(ops ; .arch x64 ; xor r11d, r11d ; jmp >done),
            }
            dynasm!(ops ; .arch x64 ; normal:);
        }
        match (signed, w64) {
            (false, true) => dynasm!(ops ; .arch x64
                ; mov rdx, rax ; or rdx, r11 ; shr rdx, 32 ; jnz >wide
                ; xor edx, edx ; div r11d ; jmp >divided
                ; wide: ; xor edx, edx ; div r11
                ; divided:),
            (false, false) => dynasm!(ops ; .arch x64 ; xor edx, edx ; div r11d),
            (true, true) => dynasm!(ops ; .arch x64 ; cqo ; idiv r11),
            (true, false) => dynasm!(ops ; .arch x64 ; cdq ; idiv r11d),
        }
        match (quotient, w64) {
            (true, true) => dynasm!(ops ; .arch x64 ; mov r11, rax),
            (true, false) => dynasm!(ops ; .arch x64 ; mov r11d, eax),
            (false, true) => dynasm!(ops ; .arch x64 ; mov r11, rdx),
            (false, false) => dynasm!(ops ; .arch x64 ; mov r11d, edx),
        }
        if may_be_zero {
            dynasm!(ops ; .arch x64 ; jmp >done ; zero:);
            // Divisor zero: quotient 0, remainder the (zero-extended) dividend.
            match (quotient, w64) {
                (true, _) => dynasm!(ops ; .arch x64 ; xor r11d, r11d),
                (false, true) => dynasm!(ops ; .arch x64 ; mov r11, rax),
                (false, false) => dynasm!(ops ; .arch x64 ; mov r11d, eax),
            }
        }
        dynasm!(ops ; .arch x64
            ; done:
            ; mov rax, r10 ; mov rdx, r9 ; mov Rq(dn), r11);
    }

    /// Division by the constant `k` without `div` where possible (see
    /// [`div`](Self::div)); `false` leaves it to the generic sequence.
    fn div_by_constant(&mut self, w64: bool, signed: bool, quotient: bool, d: R, k: i32) -> bool {
        let dn = x(d);
        let ops = &mut self.ops;
        if k == 0 {
            match (quotient, w64) {
                (true, _) => dynasm!(ops ; .arch x64 ; xor Rd(dn), Rd(dn)),
                (false, true) => {}
                (false, false) => dynasm!(ops ; .arch x64 ; mov Rd(dn), Rd(dn)),
            }
            return true;
        }
        if signed && k == -1 {
            // x s/ -1 = -x (wrapping: INT_MIN stays), x s% -1 = 0.
            match (quotient, w64) {
                (true, true) => dynasm!(ops ; .arch x64 ; neg Rq(dn)),
                (true, false) => dynasm!(ops ; .arch x64 ; neg Rd(dn)),
                (false, _) => dynasm!(ops ; .arch x64 ; xor Rd(dn), Rd(dn)),
            }
            return true;
        }
        if signed {
            return false;
        }
        // The divisor as the operation sees it: imm sign-extended to 64
        // bits for ALU64, the low 32 bits for ALU.
        let divisor = if w64 { i64::from(k) as u64 } else { u64::from(k as u32) };
        if !divisor.is_power_of_two() {
            return false;
        }
        let shift = divisor.trailing_zeros() as i8;
        match (quotient, w64) {
            (true, true) => {
                if shift > 0 {
                    dynasm!(ops ; .arch x64 ; shr Rq(dn), shift);
                }
            }
            // (A 32-bit shift by 0 may leave the upper half as it was.)
            (true, false) if shift == 0 => dynasm!(ops ; .arch x64 ; mov Rd(dn), Rd(dn)),
            (true, false) => dynasm!(ops ; .arch x64 ; shr Rd(dn), shift),
            // divisor <= 2^30 here (2^31 sign-extends to a non-power of two).
            (false, true) => dynasm!(ops ; .arch x64 ; and Rq(dn), (divisor - 1) as i32),
            (false, false) => dynasm!(ops ; .arch x64 ; and Rd(dn), (divisor - 1) as u32 as i32),
        }
        true
    }
}
