//! x86-64 JIT, first cut: one [`Program`] to one block of native code.
//!
//! Kernel counterpart: arch/x86/net/bpf_jit_comp.c (`do_jit()`), with the
//! same register map (`reg2hex`): R0=rax, R1..R5=rdi,rsi,rdx,rcx,r8 (the SysV
//! argument registers, so helpers are called with no shuffling), R6..R9=
//! rbx,r13,r14,r15, R10=rbp. Scratch registers: r9 (address), r10
//! (saved rax, the kernel's BPF_REG_AX), r11 (the kernel's AUX_REG); r12 is
//! unused, as in the kernel.
//!
//! Code is built with one dynasmrt `Assembler` per program and `finalize()`d
//! into an `ExecutableBuffer` (never writable and executable at once). The
//! entry starts with the 5-byte patchable NOP `0f 1f 44 00 00` the kernel
//! keeps for trampolines/freplace. Helper calls are `mov rax, imm64; call
//! rax` (JIT memory is too far from the binary for rel32), with rsp 16-byte
//! aligned (five pushes after the return address).
//!
//! Compiled: every ALU/ALU64 op, imm and reg (div/mod by zero as
//! `do_misc_fixups()` patches them: `x/0 = 0`, `x%0 = x`, 32-bit results
//! zero-extended; `INT_MIN s/ -1 = INT_MIN`, `INT_MIN s% -1 = 0`, no trap),
//! shifts (count in cl; R4 is rcx, saved in r11 around the shift as the
//! kernel does), neg, mov, movsx, be/le/bswap; JMP/JMP32 all conditions,
//! ja/gotol; ldx/st/stx of every size, ldsx; all atomics (lock add/or/and/
//! xor, fetch_add via `lock xadd`, fetch_or/and/xor via a `lock cmpxchg`
//! loop, xchg, cmpxchg through rax); ld_imm64; helper calls; exit.
//!
//! Not compiled (compile returns [`JitError::Unsupported`]; run those
//! programs on the interpreter): bpf2bpf calls, tail calls, kfuncs, `callx`,
//! legacy `LD_ABS`/`LD_IND`, helpers registered as callback helpers
//! (`bpf_loop`, `bpf_for_each_map_elem`), and helper ids not registered at
//! compile time (the interpreter reports those at run time; native code
//! cannot).
//!
//! Deviations from the kernel JIT, for determinism and for helpers:
//! - The 512-byte stack frame is owned by [`JitProgram::run`] (zeroed, like
//!   the interpreter's frame, and published through
//!   [`crate::current_stack`] so helpers can validate stack pointers); its
//!   top is passed in r9 and becomes rbp. The kernel instead does
//!   `push rbp; mov rbp, rsp; sub rsp, depth`.
//! - r0 and r6..r9 start at zero (the interpreter's initial state).
//! - Falling off the end (impossible in a verified program) hits `ud2`.
//! - No step limit.

// dynasm!'s expansion converts register numbers with `.into()` (u8 → u8).
#![allow(clippy::useless_conversion)]

use crate::Interpreter;
use crate::op::{Op, R};
use crate::program::Program;
use dynasmrt::x64::Assembler;
use dynasmrt::{AssemblyOffset, DynamicLabel, DynasmApi, DynasmLabelApi, ExecutableBuffer, dynasm};
use std::fmt;

#[cfg(test)]
mod tests;

/// Why a program was not compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JitError {
    /// The instruction at `pc` is outside this JIT's subset; run the
    /// program on the interpreter instead.
    #[error("pc {pc}: {what} is not supported by the JIT")]
    Unsupported { pc: usize, what: &'static str },
    /// The assembler failed (mapping memory, relocation).
    #[error("assembler: {0}")]
    Assembler(String),
}

/// A compiled program: native code plus the pc → native offset map.
pub struct JitProgram {
    buf: ExecutableBuffer,
    entry: AssemblyOffset,
    offsets: Vec<usize>,
}

impl fmt::Debug for JitProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JitProgram")
            .field("code_len", &self.buf.len())
            .field("insns", &self.offsets.len())
            .finish()
    }
}

/// `extern "sysv64" fn(r1, r2, r3, r4, r5, stack_top) -> r0`.
type Entry = unsafe extern "sysv64" fn(u64, u64, u64, u64, u64, u64) -> u64;

/// The native register number of BPF register `r` (kernel `reg2hex`).
const fn x(r: R) -> u8 {
    match r {
        R::R0 => 0,
        R::R1 => 7,
        R::R2 => 6,
        R::R3 => 2,
        R::R4 => 1,
        R::R5 => 8,
        R::R6 => 3,
        R::R7 => 13,
        R::R8 => 14,
        R::R9 => 15,
        R::R10 => 5,
    }
}

const RCX: u8 = 1;
const R10: u8 = 10;
const R11: u8 = 11;

/// The 5-byte NOP at the entry (kernel `x86_nops[5]`, `X86_PATCH_SIZE`).
pub const ENTRY_NOP: [u8; 5] = [0x0f, 0x1f, 0x44, 0x00, 0x00];

#[derive(Clone, Copy)]
enum Alu {
    Add,
    Sub,
    Mul,
    Or,
    And,
    Xor,
    Mov,
}

#[derive(Clone, Copy)]
enum Sh {
    Lsh,
    Rsh,
    Arsh,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DivK {
    Div,
    Mod,
    SDiv,
    SMod,
}

#[derive(Clone, Copy)]
enum Cc {
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

#[derive(Clone, Copy)]
enum Operand {
    Reg(R),
    Imm(i32),
}

#[derive(Clone, Copy)]
enum Fetch {
    Or,
    And,
    Xor,
}

struct Ctx {
    ops: Assembler,
    labels: Vec<DynamicLabel>,
    exit: DynamicLabel,
}

impl Ctx {
    fn alu(&mut self, w64: bool, op: Alu, d: R, src: Operand) {
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
    fn shift_cl(&mut self, w64: bool, op: Sh, r: u8) {
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

    fn shift(&mut self, w64: bool, op: Sh, d: R, src: Operand) {
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
    fn div(&mut self, w64: bool, kind: DivK, d: R, src: Operand) {
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

    fn jcc(&mut self, w64: bool, cc: Cc, d: R, src: Operand, target: DynamicLabel) {
        let dn = x(d);
        let ops = &mut self.ops;
        let test = matches!(cc, Cc::Set);
        match (w64, src, test) {
            (true, Operand::Reg(s), false) => dynasm!(ops ; .arch x64 ; cmp Rq(dn), Rq(x(s))),
            (true, Operand::Reg(s), true) => dynasm!(ops ; .arch x64 ; test Rq(dn), Rq(x(s))),
            (false, Operand::Reg(s), false) => dynasm!(ops ; .arch x64 ; cmp Rd(dn), Rd(x(s))),
            (false, Operand::Reg(s), true) => dynasm!(ops ; .arch x64 ; test Rd(dn), Rd(x(s))),
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

    /// Fetching or/and/xor: a `lock cmpxchg` loop through rax (saved in
    /// r10), address in r9, new value built in r11.
    fn fetch_loop(&mut self, w64: bool, op: Fetch, d: R, s: R, off: i32) {
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

    fn op(&mut self, pc: usize, op: Op, next: Option<Op>, prog_calls: &Interpreter) -> Result<(), JitError> {
        use Operand::{Imm, Reg};
        let unsupported = |what| Err(JitError::Unsupported { pc, what });
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
            Op::Call(id) => match prog_calls.calls().helper(id.into()) {
                Some(h) if h.callbacks => return unsupported("a callback helper"),
                Some(h) => {
                    // The helper's address is exactly what `call rax` needs.
                    #[allow(clippy::fn_to_numeric_cast_any)]
                    let f = h.f as *const () as i64;
                    dynasm!(self.ops ; .arch x64 ; mov rax, QWORD f ; call rax);
                }
                None => return unsupported("a helper not registered at compile time"),
            },
            Op::TailCall => return unsupported("tail call"),
            Op::CallLocal(_) => return unsupported("bpf2bpf call"),
            Op::Kfunc(_) => return unsupported("kfunc call"),
            Op::CallX(_) => return unsupported("callx"),
            Op::LdAbs(..) | Op::LdInd(..) => return unsupported("LD_ABS/LD_IND"),
            Op::Exit => {
                let l = self.exit;
                dynasm!(self.ops ; .arch x64 ; jmp =>l);
            }
            Op::LdImm64(d, lo) => {
                let Some(Op::LdImm64Hi(hi)) = next else {
                    unreachable!("ld_imm64 without its second slot (Program::ops invariant)");
                };
                let v = (u64::from(lo) | (u64::from(hi) << 32)) as i64;
                dynasm!(self.ops ; .arch x64 ; mov Rq(x(d)), QWORD v);
            }
            Op::LdImm64Hi(_) => {}
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
            Op::FallOff => dynasm!(self.ops ; .arch x64 ; ud2),
        }
        Ok(())
    }
}

impl JitProgram {
    /// Compiles `prog`. Helper calls are bound now to the helpers registered
    /// in `interp` (the same table the interpreter calls): register helpers
    /// before compiling; later registrations do not reach this image.
    pub fn compile(prog: &Program, interp: &Interpreter) -> Result<JitProgram, JitError> {
        let mut ops = Assembler::new().map_err(|e| JitError::Assembler(e.to_string()))?;
        let n = prog.ops().len();
        let labels: Vec<DynamicLabel> = (0..n).map(|_| ops.new_dynamic_label()).collect();
        let exit = ops.new_dynamic_label();
        let entry = ops.offset();
        ops.extend(ENTRY_NOP);
        dynasm!(ops ; .arch x64
            ; push rbp ; push rbx ; push r13 ; push r14 ; push r15
            ; mov rbp, r9
            ; xor eax, eax ; xor ebx, ebx ; xor r13d, r13d ; xor r14d, r14d ; xor r15d, r15d);
        let mut cx = Ctx { ops, labels, exit };
        let mut offsets = Vec::with_capacity(n - 1);
        let all = prog.ops();
        for (pc, &op) in all.iter().enumerate() {
            let l = cx.labels[pc];
            dynasm!(cx.ops ; .arch x64 ; =>l);
            if pc < n - 1 {
                offsets.push(cx.ops.offset().0 - entry.0);
            }
            cx.op(pc, op, all.get(pc + 1).copied(), interp)?;
        }
        let l = cx.exit;
        dynasm!(cx.ops ; .arch x64
            ; =>l
            ; pop r15 ; pop r14 ; pop r13 ; pop rbx ; pop rbp ; ret);
        let buf = cx.ops.finalize().map_err(|_| JitError::Assembler("finalize failed".into()))?;
        Ok(JitProgram { buf, entry, offsets })
    }

    /// Native offset (from the entry) of the code of each instruction slot;
    /// the second slot of a `ld_imm64` has the offset of the code after it.
    pub fn native_offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// The native code, entry first.
    pub fn code(&self) -> &[u8] {
        &self.buf[self.entry.0..]
    }

    /// Runs the program with `args` in r1..r5 and returns r0.
    ///
    /// The stack frame (512 bytes, zeroed) lives in this call and is
    /// published through [`crate::current_stack`] for helpers.
    ///
    /// # Panics
    /// If `args` has more than 5 elements.
    ///
    /// # Safety
    /// As [`Interpreter::run_fast`]: every load, store and atomic must target
    /// memory valid for it for the whole run, atomics naturally aligned, and
    /// the program must end with `exit` on every path (what the verifier
    /// proves; r10 is never written).
    pub unsafe fn run(&self, args: &[u64]) -> u64 {
        #[repr(C, align(16))]
        struct Frame([u8; crate::FRAME_SIZE as usize]);
        assert!(args.len() <= 5, "at most 5 arguments, got {}", args.len());
        let mut a = [0u64; 5];
        a[..args.len()].copy_from_slice(args);
        let mut frame = Frame([0; crate::FRAME_SIZE as usize]);
        let start = frame.0.as_mut_ptr().expose_provenance() as u64;
        let _window = crate::stack_window::Published::new(start, crate::FRAME_SIZE);
        // SAFETY: `entry` is the start of the function `compile` emitted into
        // this finalized (executable, immutable) buffer, which follows the
        // sysv64 convention with the signature of `Entry`.
        let f: Entry = unsafe { std::mem::transmute::<*const u8, Entry>(self.buf.ptr(self.entry)) };
        // SAFETY: the code touches its frame (`start..start + FRAME_SIZE`,
        // alive until after the call) and memory the caller vouched for
        // (this function's contract), saves every callee-saved register it
        // uses, and returns with rsp restored.
        let r = unsafe { f(a[0], a[1], a[2], a[3], a[4], start + crate::FRAME_SIZE) };
        std::hint::black_box(&mut frame);
        r
    }
}
