//! Conditional jumps (`BPF_JMP`/`BPF_JMP32`): `cmp`/`test` and a `jcc` to
//! the target slot's label, as `do_jit()` emits them.

// dynasm!'s expansion converts register numbers with `.into()` (u8 → u8).
#![allow(clippy::useless_conversion)]

use super::compile::{Ctx, Operand};
use super::regs::x;
use crate::op::R;
use dynasmrt::{DynamicLabel, DynasmApi, DynasmLabelApi, dynasm};

#[derive(Clone, Copy)]
pub(super) enum Cc {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Sgt,
    Sge,
    Slt,
    Sle,
    Set,
}

/// `cmp r, imm8` (`REX 83 /7 ib`), which dynasm's `cmp` with a runtime
/// register does not select.
fn cmp_imm8(ops: &mut dynasmrt::x64::Assembler, w64: bool, r: u8, b: i8) {
    let rex = 0x40 | (u8::from(w64) << 3) | (r >> 3);
    if rex != 0x40 {
        ops.push(rex);
    }
    ops.extend([0x83, 0xc0 | (7 << 3) | (r & 7), b as u8]);
}

impl Ctx<'_> {
    pub(super) fn jcc(&mut self, w64: bool, cc: Cc, d: R, src: Operand, target: DynamicLabel) {
        let dn = x(d);
        let ops = &mut self.ops;
        let test = matches!(cc, Cc::Set);
        match (w64, src, test) {
            (true, Operand::Reg(s), false) => dynasm!(ops ; .arch x64 ; cmp Rq(dn), Rq(x(s))),
            (true, Operand::Reg(s), true) => dynasm!(ops ; .arch x64 ; test Rq(dn), Rq(x(s))),
            (false, Operand::Reg(s), false) => dynasm!(ops ; .arch x64 ; cmp Rd(dn), Rd(x(s))),
            (false, Operand::Reg(s), true) => dynasm!(ops ; .arch x64 ; test Rd(dn), Rd(x(s))),
            // `cmp r, 0` for ==/!= is `test r, r`; small constants use imm8.
            (true, Operand::Imm(0), false) if matches!(cc, Cc::Eq | Cc::Ne) => {
                dynasm!(ops ; .arch x64 ; test Rq(dn), Rq(dn))
            }
            (false, Operand::Imm(0), false) if matches!(cc, Cc::Eq | Cc::Ne) => {
                dynasm!(ops ; .arch x64 ; test Rd(dn), Rd(dn))
            }
            (w64, Operand::Imm(k), false) if let Ok(b) = i8::try_from(k) => cmp_imm8(ops, w64, dn, b),
            (true, Operand::Imm(k), false) => dynasm!(ops ; .arch x64 ; cmp Rq(dn), DWORD k),
            (true, Operand::Imm(k), true) => dynasm!(ops ; .arch x64 ; test Rq(dn), DWORD k),
            (false, Operand::Imm(k), false) => dynasm!(ops ; .arch x64 ; cmp Rd(dn), DWORD k),
            (false, Operand::Imm(k), true) => dynasm!(ops ; .arch x64 ; test Rd(dn), DWORD k),
        }
        match cc {
            Cc::Eq => dynasm!(ops ; .arch x64 ; je =>target),
            Cc::Ne | Cc::Set => dynasm!(ops ; .arch x64 ; jne =>target),
            Cc::Gt => dynasm!(ops ; .arch x64 ; ja =>target),
            Cc::Ge => dynasm!(ops ; .arch x64 ; jae =>target),
            Cc::Lt => dynasm!(ops ; .arch x64 ; jb =>target),
            Cc::Le => dynasm!(ops ; .arch x64 ; jbe =>target),
            Cc::Sgt => dynasm!(ops ; .arch x64 ; jg =>target),
            Cc::Sge => dynasm!(ops ; .arch x64 ; jge =>target),
            Cc::Slt => dynasm!(ops ; .arch x64 ; jl =>target),
            Cc::Sle => dynasm!(ops ; .arch x64 ; jle =>target),
        }
    }
}
