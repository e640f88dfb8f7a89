//! Code generation driver: one pass over the lowered ops, one label per
//! slot, then `finalize()`.
//!
//! Kernel counterpart: `do_jit()` and `bpf_int_jit_compile()` in
//! arch/x86/net/bpf_jit_comp.c. dynasmrt resolves labels itself, so there
//! is one pass (the kernel repeats `do_jit()` until the image size
//! converges). The whole program, all subprograms included, is one image:
//! a bpf2bpf call is a native `call` to the target slot's label. Every
//! function entry (slot 0 and each bpf2bpf call target) starts with the
//! 5-byte patch site: the NOP, or — in an image built for
//! [`JitProgram::retarget`](super::JitProgram::retarget) — a `jmp rel32` to
//! a stub after the code that jumps to the replacement's address (the
//! shape of `bpf_arch_text_poke()`'s `jmp`, without rewriting live code).

// dynasm!'s expansion converts register numbers with `.into()` (u8 → u8).
#![allow(clippy::useless_conversion)]

use super::JitError;
use super::emit_alu::{Alu, DivK, Sh};
use super::emit_jmp::Cc;
use super::frame::{self, ENTRY_NOP, ERR_FELL_OFF};
use super::image::{Addrs, Image, Meta};
use super::regs::x;
use crate::Interpreter;
use crate::helpers::CallTable;
use crate::op::{Op, R};
use crate::program::Program;
use bpfemu_isa::{AtomicOp, Instruction, Reg};
use dynasmrt::x64::Assembler;
use dynasmrt::{DynamicLabel, DynasmApi, DynasmLabelApi, dynasm};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

#[derive(Clone, Copy)]
pub(super) enum Operand {
    Reg(R),
    Imm(i32),
}

/// The state of one image's code generation.
pub(super) struct Ctx<'a> {
    pub(super) ops: Assembler,
    pub(super) labels: Vec<DynamicLabel>,
    /// The trampoline's abort path.
    pub(super) abort: DynamicLabel,
    pub(super) calls: &'a CallTable,
    /// Address of the image's [`Meta`] (for callback helper calls).
    pub(super) meta: u64,
}

/// Whether `ins` writes r10, which the JIT keeps in rbp as the frame
/// pointer (the verifier refuses such programs: "frame pointer is read
/// only").
fn writes_r10(ins: &Instruction) -> bool {
    match *ins {
        Instruction::Alu { dst, .. }
        | Instruction::Neg { dst, .. }
        | Instruction::Endian { dst, .. }
        | Instruction::LdImm64 { dst, .. }
        | Instruction::Ldx { dst, .. } => dst == Reg::FP,
        Instruction::Atomic { op, src, .. } => {
            let fetch = match op {
                AtomicOp::Add { fetch } | AtomicOp::Or { fetch } | AtomicOp::And { fetch } => fetch,
                AtomicOp::Xor { fetch } => fetch,
                AtomicOp::Xchg | AtomicOp::CmpXchg => op == AtomicOp::Xchg,
            };
            fetch && src == Reg::FP
        }
        _ => false,
    }
}

/// Compiles `prog` into an image, binding helpers and kfuncs from
/// `interp`'s tables.
pub(super) fn compile_image(prog: &Program, interp: &Interpreter) -> Result<Image, JitError> {
    compile_patched(prog, interp, &BTreeMap::new())
}

/// [`compile_image`] with the function entries of `patches` (slot →
/// replacement image, entered at its slot 0) jumping to their replacement.
pub(super) fn compile_patched(
    prog: &Program,
    interp: &Interpreter,
    patches: &BTreeMap<usize, Arc<Image>>,
) -> Result<Image, JitError> {
    let all = prog.ops();
    let n = all.len();
    let mut is_start = vec![false; n];
    let mut call_target = vec![false; n];
    let mut deep = patches.values().any(|img| img.meta.deep);
    if let Some(first) = call_target.first_mut() {
        *first = true;
    }
    for (pc, op) in all.iter().enumerate() {
        is_start[pc] = !matches!(op, Op::LdImm64Hi(_) | Op::FallOff);
        match *op {
            Op::CallLocal(t) => {
                call_target[t as usize] = true;
                deep = true;
            }
            Op::TailCall | Op::CallX(_) => deep = true,
            _ => {}
        }
        if let Some(ins) = prog.instruction(pc)
            && is_start[pc]
            && writes_r10(ins)
        {
            return Err(JitError::Unsupported { pc, what: "a write to r10" });
        }
    }
    let meta = Arc::new(Meta { is_start, deep, addrs: OnceLock::new() });
    let mut ops = Assembler::new().map_err(|e| JitError::Assembler(e.to_string()))?;
    let labels: Vec<DynamicLabel> = (0..n).map(|_| ops.new_dynamic_label()).collect();
    let entry = ops.offset();
    let abort = frame::trampoline(&mut ops);
    let mut cx = Ctx {
        ops,
        labels,
        abort,
        calls: interp.calls(),
        meta: Arc::as_ptr(&meta).expose_provenance() as u64,
    };
    let mut offsets = Vec::with_capacity(n - 1);
    let mut stubs = Vec::new();
    for (pc, &op) in all.iter().enumerate() {
        let l = cx.labels[pc];
        dynasm!(cx.ops ; .arch x64 ; =>l);
        if pc < n - 1 {
            offsets.push(cx.ops.offset().0 - entry.0);
        }
        match patches.get(&pc) {
            Some(img) if call_target[pc] => {
                let stub = cx.ops.new_dynamic_label();
                let before = cx.ops.offset().0;
                dynasm!(cx.ops ; .arch x64 ; jmp =>stub);
                debug_assert_eq!(cx.ops.offset().0 - before, ENTRY_NOP.len(), "patch site size");
                stubs.push((stub, img.meta.addrs().slots[0]));
            }
            Some(_) => return Err(JitError::NotAnEntry { pc }),
            None if call_target[pc] => cx.ops.extend(ENTRY_NOP),
            None => {}
        }
        cx.op(pc, op, all.get(pc + 1).copied())?;
    }
    for (stub, target) in stubs {
        let target = target as i64;
        dynasm!(cx.ops ; .arch x64 ; =>stub ; mov r11, QWORD target ; jmp r11);
    }
    let buf = cx.ops.finalize().map_err(|_| JitError::Assembler("finalize failed".into()))?;
    let base = buf.ptr(entry).expose_provenance() as u64;
    let slots = offsets.iter().map(|&o| base + o as u64).collect();
    // The image is new: nobody else can have set the addresses.
    let _ = meta.addrs.set(Addrs { entry: base, slots });
    let keep = patches.values().cloned().collect();
    Ok(Image { buf, entry, offsets, meta, keep })
}

impl Ctx<'_> {
    fn op(&mut self, pc: usize, op: Op, next: Option<Op>) -> Result<(), JitError> {
        use Operand::{Imm, Reg};
        let rel = |o: i16| (pc as i64 + 1 + i64::from(o)) as usize;
        match op {
            Op::Add64X(d, s) => self.alu(true, Alu::Add, d, Reg(s)),
            Op::Sub64X(d, s) => self.alu(true, Alu::Sub, d, Reg(s)),
            Op::Mul64X(d, s) => self.alu(true, Alu::Mul, d, Reg(s)),
            Op::Or64X(d, s) => self.alu(true, Alu::Or, d, Reg(s)),
            Op::And64X(d, s) => self.alu(true, Alu::And, d, Reg(s)),
            Op::Xor64X(d, s) => self.alu(true, Alu::Xor, d, Reg(s)),
            Op::Mov64X(d, s) => self.alu(true, Alu::Mov, d, Reg(s)),
            Op::Div64X(d, s) => self.div(true, DivK::Div, d, Reg(s)),
            Op::SDiv64X(d, s) => self.div(true, DivK::SDiv, d, Reg(s)),
            Op::Mod64X(d, s) => self.div(true, DivK::Mod, d, Reg(s)),
            Op::SMod64X(d, s) => self.div(true, DivK::SMod, d, Reg(s)),
            Op::Lsh64X(d, s) => self.shift(true, Sh::Lsh, d, Reg(s)),
            Op::Rsh64X(d, s) => self.shift(true, Sh::Rsh, d, Reg(s)),
            Op::Arsh64X(d, s) => self.shift(true, Sh::Arsh, d, Reg(s)),
            Op::MovSx64B(d, s) => dynasm!(self.ops ; .arch x64 ; movsx Rq(x(d)), Rb(x(s))),
            Op::MovSx64H(d, s) => dynasm!(self.ops ; .arch x64 ; movsx Rq(x(d)), Rw(x(s))),
            Op::MovSx64W(d, s) => dynasm!(self.ops ; .arch x64 ; movsxd Rq(x(d)), Rd(x(s))),
            Op::Add64K(d, k) => self.alu(true, Alu::Add, d, Imm(k)),
            Op::Sub64K(d, k) => self.alu(true, Alu::Sub, d, Imm(k)),
            Op::Mul64K(d, k) => self.alu(true, Alu::Mul, d, Imm(k)),
            Op::Or64K(d, k) => self.alu(true, Alu::Or, d, Imm(k)),
            Op::And64K(d, k) => self.alu(true, Alu::And, d, Imm(k)),
            Op::Xor64K(d, k) => self.alu(true, Alu::Xor, d, Imm(k)),
            Op::Mov64K(d, k) => self.alu(true, Alu::Mov, d, Imm(k)),
            Op::Div64K(d, k) => self.div(true, DivK::Div, d, Imm(k)),
            Op::SDiv64K(d, k) => self.div(true, DivK::SDiv, d, Imm(k)),
            Op::Mod64K(d, k) => self.div(true, DivK::Mod, d, Imm(k)),
            Op::SMod64K(d, k) => self.div(true, DivK::SMod, d, Imm(k)),
            Op::Lsh64K(d, k) => self.shift(true, Sh::Lsh, d, Imm(k)),
            Op::Rsh64K(d, k) => self.shift(true, Sh::Rsh, d, Imm(k)),
            Op::Arsh64K(d, k) => self.shift(true, Sh::Arsh, d, Imm(k)),
            Op::Add32X(d, s) => self.alu(false, Alu::Add, d, Reg(s)),
            Op::Sub32X(d, s) => self.alu(false, Alu::Sub, d, Reg(s)),
            Op::Mul32X(d, s) => self.alu(false, Alu::Mul, d, Reg(s)),
            Op::Or32X(d, s) => self.alu(false, Alu::Or, d, Reg(s)),
            Op::And32X(d, s) => self.alu(false, Alu::And, d, Reg(s)),
            Op::Xor32X(d, s) => self.alu(false, Alu::Xor, d, Reg(s)),
            Op::Mov32X(d, s) => self.alu(false, Alu::Mov, d, Reg(s)),
            Op::Div32X(d, s) => self.div(false, DivK::Div, d, Reg(s)),
            Op::SDiv32X(d, s) => self.div(false, DivK::SDiv, d, Reg(s)),
            Op::Mod32X(d, s) => self.div(false, DivK::Mod, d, Reg(s)),
            Op::SMod32X(d, s) => self.div(false, DivK::SMod, d, Reg(s)),
            Op::Lsh32X(d, s) => self.shift(false, Sh::Lsh, d, Reg(s)),
            Op::Rsh32X(d, s) => self.shift(false, Sh::Rsh, d, Reg(s)),
            Op::Arsh32X(d, s) => self.shift(false, Sh::Arsh, d, Reg(s)),
            Op::MovSx32B(d, s) => dynasm!(self.ops ; .arch x64 ; movsx Rd(x(d)), Rb(x(s))),
            Op::MovSx32H(d, s) => dynasm!(self.ops ; .arch x64 ; movsx Rd(x(d)), Rw(x(s))),
            Op::Add32K(d, k) => self.alu(false, Alu::Add, d, Imm(k)),
            Op::Sub32K(d, k) => self.alu(false, Alu::Sub, d, Imm(k)),
            Op::Mul32K(d, k) => self.alu(false, Alu::Mul, d, Imm(k)),
            Op::Or32K(d, k) => self.alu(false, Alu::Or, d, Imm(k)),
            Op::And32K(d, k) => self.alu(false, Alu::And, d, Imm(k)),
            Op::Xor32K(d, k) => self.alu(false, Alu::Xor, d, Imm(k)),
            Op::Mov32K(d, k) => self.alu(false, Alu::Mov, d, Imm(k)),
            Op::Div32K(d, k) => self.div(false, DivK::Div, d, Imm(k)),
            Op::SDiv32K(d, k) => self.div(false, DivK::SDiv, d, Imm(k)),
            Op::Mod32K(d, k) => self.div(false, DivK::Mod, d, Imm(k)),
            Op::SMod32K(d, k) => self.div(false, DivK::SMod, d, Imm(k)),
            Op::Lsh32K(d, k) => self.shift(false, Sh::Lsh, d, Imm(k)),
            Op::Rsh32K(d, k) => self.shift(false, Sh::Rsh, d, Imm(k)),
            Op::Arsh32K(d, k) => self.shift(false, Sh::Arsh, d, Imm(k)),
            Op::Neg64(d) => dynasm!(self.ops ; .arch x64 ; neg Rq(x(d))),
            Op::Neg32(d) => dynasm!(self.ops ; .arch x64 ; neg Rd(x(d))),
            Op::Be16(d) | Op::Swap16(d) => {
                dynasm!(self.ops ; .arch x64 ; ror Rw(x(d)), 8 ; movzx Rd(x(d)), Rw(x(d)))
            }
            Op::Be32(d) | Op::Swap32(d) => dynasm!(self.ops ; .arch x64 ; bswap Rd(x(d))),
            Op::Be64(d) | Op::Swap64(d) => dynasm!(self.ops ; .arch x64 ; bswap Rq(x(d))),
            Op::Le16(d) => dynasm!(self.ops ; .arch x64 ; movzx Rd(x(d)), Rw(x(d))),
            Op::Le32(d) => dynasm!(self.ops ; .arch x64 ; mov Rd(x(d)), Rd(x(d))),
            Op::Nop => {}
            Op::Ja(t) => {
                let l = self.labels[t as usize];
                dynasm!(self.ops ; .arch x64 ; jmp =>l);
            }
            Op::Jeq64X(d, s, o) => self.jcc(true, Cc::Eq, d, Reg(s), self.labels[rel(o)]),
            Op::Jgt64X(d, s, o) => self.jcc(true, Cc::Gt, d, Reg(s), self.labels[rel(o)]),
            Op::Jge64X(d, s, o) => self.jcc(true, Cc::Ge, d, Reg(s), self.labels[rel(o)]),
            Op::Jset64X(d, s, o) => self.jcc(true, Cc::Set, d, Reg(s), self.labels[rel(o)]),
            Op::Jne64X(d, s, o) => self.jcc(true, Cc::Ne, d, Reg(s), self.labels[rel(o)]),
            Op::Jsgt64X(d, s, o) => self.jcc(true, Cc::Sgt, d, Reg(s), self.labels[rel(o)]),
            Op::Jsge64X(d, s, o) => self.jcc(true, Cc::Sge, d, Reg(s), self.labels[rel(o)]),
            Op::Jlt64X(d, s, o) => self.jcc(true, Cc::Lt, d, Reg(s), self.labels[rel(o)]),
            Op::Jle64X(d, s, o) => self.jcc(true, Cc::Le, d, Reg(s), self.labels[rel(o)]),
            Op::Jslt64X(d, s, o) => self.jcc(true, Cc::Slt, d, Reg(s), self.labels[rel(o)]),
            Op::Jsle64X(d, s, o) => self.jcc(true, Cc::Sle, d, Reg(s), self.labels[rel(o)]),
            Op::Jeq64K(d, k, o) => self.jcc(true, Cc::Eq, d, Imm(k), self.labels[rel(o)]),
            Op::Jgt64K(d, k, o) => self.jcc(true, Cc::Gt, d, Imm(k), self.labels[rel(o)]),
            Op::Jge64K(d, k, o) => self.jcc(true, Cc::Ge, d, Imm(k), self.labels[rel(o)]),
            Op::Jset64K(d, k, o) => self.jcc(true, Cc::Set, d, Imm(k), self.labels[rel(o)]),
            Op::Jne64K(d, k, o) => self.jcc(true, Cc::Ne, d, Imm(k), self.labels[rel(o)]),
            Op::Jsgt64K(d, k, o) => self.jcc(true, Cc::Sgt, d, Imm(k), self.labels[rel(o)]),
            Op::Jsge64K(d, k, o) => self.jcc(true, Cc::Sge, d, Imm(k), self.labels[rel(o)]),
            Op::Jlt64K(d, k, o) => self.jcc(true, Cc::Lt, d, Imm(k), self.labels[rel(o)]),
            Op::Jle64K(d, k, o) => self.jcc(true, Cc::Le, d, Imm(k), self.labels[rel(o)]),
            Op::Jslt64K(d, k, o) => self.jcc(true, Cc::Slt, d, Imm(k), self.labels[rel(o)]),
            Op::Jsle64K(d, k, o) => self.jcc(true, Cc::Sle, d, Imm(k), self.labels[rel(o)]),
            Op::Jeq32X(d, s, o) => self.jcc(false, Cc::Eq, d, Reg(s), self.labels[rel(o)]),
            Op::Jgt32X(d, s, o) => self.jcc(false, Cc::Gt, d, Reg(s), self.labels[rel(o)]),
            Op::Jge32X(d, s, o) => self.jcc(false, Cc::Ge, d, Reg(s), self.labels[rel(o)]),
            Op::Jset32X(d, s, o) => self.jcc(false, Cc::Set, d, Reg(s), self.labels[rel(o)]),
            Op::Jne32X(d, s, o) => self.jcc(false, Cc::Ne, d, Reg(s), self.labels[rel(o)]),
            Op::Jsgt32X(d, s, o) => self.jcc(false, Cc::Sgt, d, Reg(s), self.labels[rel(o)]),
            Op::Jsge32X(d, s, o) => self.jcc(false, Cc::Sge, d, Reg(s), self.labels[rel(o)]),
            Op::Jlt32X(d, s, o) => self.jcc(false, Cc::Lt, d, Reg(s), self.labels[rel(o)]),
            Op::Jle32X(d, s, o) => self.jcc(false, Cc::Le, d, Reg(s), self.labels[rel(o)]),
            Op::Jslt32X(d, s, o) => self.jcc(false, Cc::Slt, d, Reg(s), self.labels[rel(o)]),
            Op::Jsle32X(d, s, o) => self.jcc(false, Cc::Sle, d, Reg(s), self.labels[rel(o)]),
            Op::Jeq32K(d, k, o) => self.jcc(false, Cc::Eq, d, Imm(k), self.labels[rel(o)]),
            Op::Jgt32K(d, k, o) => self.jcc(false, Cc::Gt, d, Imm(k), self.labels[rel(o)]),
            Op::Jge32K(d, k, o) => self.jcc(false, Cc::Ge, d, Imm(k), self.labels[rel(o)]),
            Op::Jset32K(d, k, o) => self.jcc(false, Cc::Set, d, Imm(k), self.labels[rel(o)]),
            Op::Jne32K(d, k, o) => self.jcc(false, Cc::Ne, d, Imm(k), self.labels[rel(o)]),
            Op::Jsgt32K(d, k, o) => self.jcc(false, Cc::Sgt, d, Imm(k), self.labels[rel(o)]),
            Op::Jsge32K(d, k, o) => self.jcc(false, Cc::Sge, d, Imm(k), self.labels[rel(o)]),
            Op::Jlt32K(d, k, o) => self.jcc(false, Cc::Lt, d, Imm(k), self.labels[rel(o)]),
            Op::Jle32K(d, k, o) => self.jcc(false, Cc::Le, d, Imm(k), self.labels[rel(o)]),
            Op::Jslt32K(d, k, o) => self.jcc(false, Cc::Slt, d, Imm(k), self.labels[rel(o)]),
            Op::Jsle32K(d, k, o) => self.jcc(false, Cc::Sle, d, Imm(k), self.labels[rel(o)]),
            Op::Call(id) => self.helper_call(pc, id),
            Op::TailCall => self.tail_call(pc),
            Op::CallLocal(t) => self.local_call(pc, t as usize),
            Op::Kfunc(btf_id) => self.kfunc_call(pc, btf_id),
            Op::CallX(r) => self.callx(pc, r),
            Op::LdAbs(size, k) => self.ld_packet(pc, size, None, k),
            Op::LdInd(size, s, k) => self.ld_packet(pc, size, Some(s), k),
            Op::Exit => dynasm!(self.ops ; .arch x64 ; ret),
            Op::LdImm64(d, lo) => {
                let Some(Op::LdImm64Hi(hi)) = next else {
                    unreachable!("ld_imm64 without its second slot (Program::ops invariant)");
                };
                let v = (u64::from(lo) | (u64::from(hi) << 32)) as i64;
                dynasm!(self.ops ; .arch x64 ; mov Rq(x(d)), QWORD v);
            }
            Op::LdImm64Hi(_) => {}
            Op::FallOff => frame::fail(&mut self.ops, self.abort, ERR_FELL_OFF, pc, 0),
            _ => {
                if !self.mem_op(op) {
                    return Err(JitError::Unsupported { pc, what: "an op without a code generator" });
                }
            }
        }
        Ok(())
    }
}
