//! The program generator: random but structured `BPF_PROG_TYPE_SYSCALL`
//! programs that terminate by construction (forward jumps only, plus
//! bounded loops with a counter) and spend their instructions on memory:
//! the stack (aligned, misaligned, variable offsets, spills and fills of
//! pointers and scalars), the ctx (a user buffer of [`CTX_SIZE`] bytes),
//! and map values (an array and a hash map: lookup, null check, accesses
//! with constant and bounded variable offsets), plus helper calls (map
//! lookup/update/delete, ktime, prandom, trace_printk with a stack string,
//! probe_read_kernel into the stack, local dynptrs over the stack and map
//! values: `dynptr.rs`).
//!
//! A fraction of the snippets contain a deliberate mistake (a missing null
//! check, an access one byte too far, a signed-only bound, pointer
//! arithmetic the verifier forbids, ...) so that many programs are
//! rejected; the mistakes are listed with the program, as hints only: the
//! verifier decides, and the checked runs judge what it accepted.
//!
//! This file holds the generator's state, the stack, ctx, ALU and control
//! flow snippets (diamonds, bounded loops); map snippets are in `maps.rs`,
//! calls (bpf2bpf subprograms, `bpf_loop` callbacks, helpers) in
//! `calls.rs`.
//!
//! Registers: r6 holds the ctx for the whole program; r7, r8, r9 are
//! scalars (r9 is also the loop counter); r0..r5 are scratch, clobbered by
//! calls. Stack: `[-64, 0)` is zeroed at entry (always initialised);
//! `[-128, -64)` holds spill slots; `[-256, -128)` is where snippets build
//! helper buffers and spill bounded offsets (-144, -152); deeper bytes
//! (down to -480, so that a callee's frame fits) are touched only by
//! write-then-read snippets and by mistakes. Subprograms and callbacks
//! are emitted after the main program's exit.

#[path = "calls.rs"]
mod calls;
#[path = "dynptr.rs"]
mod dynptr;
#[path = "maps.rs"]
mod maps;

use super::asm::{Asm, Label};
use bpfemu_isa::{AluOp, EndianOp, Insn, Instruction, JmpOp, Size, Source, Width};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// Bytes of ctx every run passes.
pub const CTX_SIZE: i32 = 64;

const CTX: u8 = 6;
const FP: u8 = 10;
const SCALARS: [u8; 3] = [7, 8, 9];
const LOOP_SCALARS: [u8; 2] = [7, 8];

const HELPER_LOOKUP: i32 = 1;
const HELPER_UPDATE: i32 = 2;
const HELPER_DELETE: i32 = 3;
const HELPER_KTIME: i32 = 5;
const HELPER_PRINTK: i32 = 6;
const HELPER_PRANDOM: i32 = 7;
const HELPER_CPU: i32 = 8;
const HELPER_PROBE_READ_KERNEL: i32 = 113;
const HELPER_LOOP: i32 = 181;

/// A map the program uses: fd 3 is the array, fd 4 the hash map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapSpec {
    pub fd: i32,
    pub hash: bool,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
}

/// One generated program.
pub struct Generated {
    pub insns: Vec<Insn>,
    pub maps: [MapSpec; 2],
    /// The deliberate mistakes it contains (hints, in order).
    pub mistakes: Vec<&'static str>,
}

/// The generator's random source: ChaCha8 seeded per program.
pub struct Dice(ChaCha8Rng);

impl Dice {
    pub fn new(seed: u64) -> Dice {
        Dice(ChaCha8Rng::seed_from_u64(seed))
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0.next_u64() % n
    }
    pub fn range(&mut self, lo: i64, hi_incl: i64) -> i64 {
        lo + self.below((hi_incl - lo + 1) as u64) as i64
    }
    /// True with probability `pct`%.
    pub fn pct(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    pub fn u64(&mut self) -> u64 {
        self.0.next_u64()
    }
}

/// What a subprogram's r1 points to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arg {
    /// The caller's zeroed stack area (`fp - 64`, 64 bytes).
    Stack,
    Ctx,
    /// A map value of this many bytes.
    Value(i32),
    /// A `bpf_loop` callback: r1 is the index, r2 the caller's zeroed
    /// stack area (`fp - 64`).
    LoopCallback,
    /// A `bpf_loop` callback that increments slot `k` of that area (a
    /// counter the caller may then use as an index).
    LoopCounter(i16),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Spill {
    Ctx,
    Scalar,
}

struct Gen {
    d: Dice,
    a: Asm,
    maps: [MapSpec; 2],
    mistakes: Vec<&'static str>,
    /// Percent chance that a snippet with a mistake variant makes it.
    mistake_pct: u64,
    /// Spill slots (offset from fp) known to hold a value on every path.
    spills: BTreeMap<i16, Spill>,
    /// Nesting of forward-jump regions and loops.
    depth: u32,
    in_loop: bool,
    /// Subprograms to emit after the main program, and whether the callee
    /// trusts r2 as an offset (bounded by the caller).
    subprogs: Vec<(Label, Arg, bool)>,
}

fn size_of(s: Size) -> i32 {
    s.bytes() as i32
}

impl Gen {
    fn mistake(&mut self, what: &'static str) -> bool {
        if self.d.pct(self.mistake_pct) {
            self.mistakes.push(what);
            true
        } else {
            false
        }
    }

    fn dst_scalar(&mut self) -> u8 {
        if self.in_loop { self.d.pick(&LOOP_SCALARS) } else { self.d.pick(&SCALARS) }
    }

    fn any_scalar(&mut self) -> u8 {
        self.d.pick(&SCALARS)
    }

    fn size(&mut self) -> Size {
        self.d.pick(&Size::ALL)
    }

    fn imm(&mut self) -> i32 {
        match self.d.below(6) {
            0 => 0,
            1 => self.d.range(-2, 2) as i32,
            2 => self.d.range(0, 64) as i32,
            3 => self.d.pick(&[i32::MIN, i32::MAX, -1, 0xff, 0xffff, 0x7fff_ffff]),
            _ => self.d.u64() as i32,
        }
    }

    /// A region whose body is skipped when the branch is taken: the spill
    /// table after it holds only what both paths agree on.
    fn with_region(&mut self, f: impl FnOnce(&mut Gen)) {
        let saved = self.spills.clone();
        self.depth += 1;
        f(self);
        self.depth -= 1;
        let now = std::mem::take(&mut self.spills);
        self.spills = saved.into_iter().filter(|(k, v)| now.get(k) == Some(v)).collect();
    }

    // ---------------------------------------------------------------- snippets

    fn snippet(&mut self, budget: &mut u32) {
        *budget = budget.saturating_sub(1);
        // Loops and diamonds nest, but not inside a loop (the verifier
        // walks every iteration: branches there multiply its work).
        let top = self.depth < 3 && *budget > 1 && !self.in_loop;
        match self.d.below(if top { 23 } else { 20 }) {
            0 | 1 => self.alu(),
            2 => self.ctx_load(),
            3 => self.ctx_store(),
            4 => self.stack_rw(),
            5 => self.stack_var(),
            6 => self.spill_fill(),
            7 | 8 => self.map_lookup(),
            9 => self.map_update(),
            10 => self.map_delete(),
            11 => self.scalar_helper(),
            12 => self.printk(),
            13 => self.probe_read(),
            14 => self.bad_pointer_op(),
            15 => self.atomic_stack(),
            16 => self.deep_stack(),
            17 => match self.d.below(3) {
                0 => self.call_subprog(Arg::Stack),
                1 => self.call_subprog(Arg::Ctx),
                _ => self.bpf_loop(),
            },
            18 => {
                // Direct value loads need a single-element array.
                if self.maps[0].max_entries == 1
                    || self.mistake("direct value load of an array with more than one element")
                {
                    self.direct_value()
                } else {
                    self.alu()
                }
            }
            19 => self.dynptr(),
            20 | 21 if !self.in_loop => self.diamond(budget),
            20 | 21 => self.alu(),
            _ => self.bounded_loop(budget),
        }
    }

    fn alu(&mut self) {
        let dst = self.dst_scalar();
        let width = if self.d.pct(30) { Width::W32 } else { Width::W64 };
        let bits = if width == Width::W32 { 32 } else { 64 };
        match self.d.below(12) {
            0 => self.a.push(Instruction::Neg { width, dst: super::asm::r(dst) }),
            1 => {
                let op = self.d.pick(&[EndianOp::ToBe, EndianOp::ToLe, EndianOp::Swap]);
                let b = self.d.pick(&[16u8, 32, 64]);
                self.a.push(Instruction::Endian { op, bits: b, dst: super::asm::r(dst) });
            }
            2 => {
                let op = self.d.pick(&[AluOp::Lsh, AluOp::Rsh, AluOp::Arsh]);
                let mut sh = self.d.range(0, bits - 1) as i32;
                if self.mistake("shift by the width or more") {
                    sh = bits as i32 + self.d.range(0, 3) as i32;
                }
                self.a.alu(width, op, dst, Source::Imm(sh));
            }
            3 => {
                let b =
                    if width == Width::W32 { self.d.pick(&[8u8, 16]) } else { self.d.pick(&[8u8, 16, 32]) };
                let src = self.any_scalar();
                self.a.alu(width, AluOp::MovSx(b), dst, Source::Reg(super::asm::r(src)));
            }
            _ => {
                let op = self.d.pick(&[
                    AluOp::Add,
                    AluOp::Sub,
                    AluOp::Mul,
                    AluOp::Div,
                    AluOp::SDiv,
                    AluOp::Or,
                    AluOp::And,
                    AluOp::Mod,
                    AluOp::SMod,
                    AluOp::Xor,
                    AluOp::Mov,
                    AluOp::Lsh,
                    AluOp::Rsh,
                ]);
                let src = if self.d.pct(50) {
                    Source::Reg(super::asm::r(self.any_scalar()))
                } else if matches!(op, AluOp::Lsh | AluOp::Rsh) {
                    Source::Imm(self.d.range(0, bits - 1) as i32)
                } else if matches!(op, AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod) {
                    let mut v = self.imm();
                    if v == 0 && !self.mistake("division by the constant 0") {
                        v = 3;
                    }
                    Source::Imm(v)
                } else {
                    Source::Imm(self.imm())
                };
                self.a.alu(width, op, dst, src);
            }
        }
    }

    fn ctx_off(&mut self, size: Size) -> i16 {
        let s = size_of(size);
        let mut off = self.d.range(0, i64::from(CTX_SIZE / s - 1)) as i32 * s;
        if self.mistake("ctx access misaligned or out of the ctx") {
            off = match self.d.below(3) {
                0 => -s,
                1 => off + 1,
                _ => CTX_SIZE + self.d.range(0, 3) as i32 * s,
            };
        }
        off as i16
    }

    fn ctx_load(&mut self) {
        let size = self.size();
        let off = self.ctx_off(size);
        let dst = self.dst_scalar();
        let sx = size != Size::DW && self.d.pct(15);
        self.a.push(Instruction::Ldx { size, sx, dst: super::asm::r(dst), src: super::asm::r(CTX), off });
    }

    fn ctx_store(&mut self) {
        let size = self.size();
        let off = self.ctx_off(size);
        // An immediate store is as valid as a register one since Linux 6.3.
        if self.d.pct(self.mistake_pct) {
            let imm = self.imm();
            self.a.st(size, CTX, off, imm);
        } else {
            let src = if self.d.pct(10) { CTX } else { self.any_scalar() };
            self.a.stx(size, CTX, src, off);
        }
    }

    /// A fixed-offset access inside the zeroed area `[-64, 0)`.
    fn stack_rw(&mut self) {
        let size = self.size();
        let s = size_of(size);
        let mut off = -(self.d.range(1, i64::from(64 / s)) as i32) * s;
        if self.mistake("misaligned stack access") {
            off += self.d.range(1, i64::from(s.max(2) - 1)) as i32;
        }
        if self.mistake("stack access beyond the frame") {
            off = if self.d.pct(50) { -512 - s } else { -s + 1 + self.d.range(0, 7) as i32 };
        }
        let off = off as i16;
        if self.d.pct(50) {
            let dst = self.dst_scalar();
            self.a.ldx(size, dst, FP, off);
        } else if self.d.pct(30) {
            let imm = self.imm();
            self.a.st(size, FP, off, imm);
        } else {
            let src = self.any_scalar();
            self.a.stx(size, FP, src, off);
        }
    }

    /// A variable-offset access in the zeroed area through `fp + (x & mask)`.
    fn stack_var(&mut self) {
        let size = self.size();
        let s = size_of(size);
        let src = self.any_scalar();
        self.a.mov(1, src);
        // Offsets in [0, 64 - s], aligned to s.
        let mut mask = 0x3f & !(s - 1);
        if self.mistake("variable stack offset not aligned") {
            mask |= 1;
        }
        self.a.alu(Width::W64, AluOp::And, 1, Source::Imm(mask));
        if self.mistake("variable stack offset unbounded") {
            let o = self.any_scalar();
            self.a.alu(Width::W64, AluOp::Add, 1, Source::Reg(super::asm::r(o)));
        }
        self.a.mov(2, FP);
        self.a.addi(2, -64);
        self.a.alu(Width::W64, AluOp::Add, 2, Source::Reg(super::asm::r(1)));
        if self.d.pct(50) {
            let dst = self.dst_scalar();
            self.a.ldx(size, dst, 2, 0);
        } else {
            let v = self.any_scalar();
            self.a.stx(size, 2, v, 0);
        }
    }

    fn spill_slot(&mut self) -> i16 {
        -(72 + 8 * self.d.range(0, 7) as i16)
    }

    fn spill_fill(&mut self) {
        let filled: Vec<(i16, Spill)> = self.spills.iter().map(|(k, v)| (*k, *v)).collect();
        if filled.is_empty() || self.d.pct(40) {
            let slot = self.spill_slot();
            let (src, kind) =
                if self.d.pct(50) { (CTX, Spill::Ctx) } else { (self.any_scalar(), Spill::Scalar) };
            if self.mistake("spill of a pointer with a partial store") {
                self.a.stx(Size::W, FP, src, slot);
                self.spills.remove(&slot);
                return;
            }
            self.a.stx(Size::DW, FP, src, slot);
            self.spills.insert(slot, kind);
            return;
        }
        let (slot, kind) = self.d.pick(&filled);
        match kind {
            Spill::Scalar => {
                let dst = self.dst_scalar();
                let size = self.size();
                self.a.ldx(size, dst, FP, slot);
            }
            Spill::Ctx => {
                if self.mistake("spilled pointer overwritten in part, then filled and dereferenced") {
                    match self.d.below(3) {
                        0 => {
                            let k = self.d.range(0, 7) as i16;
                            let v = self.any_scalar();
                            self.a.stx(Size::B, FP, v, slot + k);
                        }
                        1 => {
                            // A variable-offset write somewhere in the spill area.
                            let v = self.any_scalar();
                            self.a.mov(1, v);
                            self.a.alu(Width::W64, AluOp::And, 1, Source::Imm(0x3f));
                            self.a.mov(2, FP);
                            self.a.addi(2, -128);
                            self.a.alu(Width::W64, AluOp::Add, 2, Source::Reg(super::asm::r(1)));
                            self.a.st(Size::B, 2, 0, 0x41);
                            self.spills.clear();
                        }
                        _ => {
                            let v = self.any_scalar();
                            self.a.mov(3, v);
                            self.a.push(Instruction::Atomic {
                                size: Size::DW,
                                op: bpfemu_isa::AtomicOp::Add { fetch: false },
                                dst: super::asm::r(FP),
                                src: super::asm::r(3),
                                off: slot,
                            });
                        }
                    }
                    self.spills.remove(&slot);
                }
                if self.mistake("partial fill of a spilled pointer, then dereference") {
                    self.a.ldx(Size::W, 1, FP, slot);
                } else {
                    self.a.ldx(Size::DW, 1, FP, slot);
                }
                let size = self.size();
                let off = self.ctx_off(size);
                let dst = self.dst_scalar();
                self.a.ldx(size, dst, 1, off);
            }
        }
    }

    /// Pointer arithmetic the verifier must refuse (always a mistake).
    fn bad_pointer_op(&mut self) {
        if !self.d.pct(self.mistake_pct * 3) {
            // The allowed forms: ctx + constant, fp + constant, ptr - ptr.
            match self.d.below(3) {
                0 => {
                    // ctx + c - c: unmodified again.
                    self.a.mov(1, CTX);
                    let size = self.size();
                    let off = self.ctx_off(size);
                    let c = self.d.range(1, 64) as i32;
                    self.a.addi(1, c);
                    if self.mistake("dereference of a modified ctx pointer") {
                        self.a.addi(1, -c + 8);
                    } else {
                        self.a.addi(1, -c);
                    }
                    let dst = self.dst_scalar();
                    self.a.ldx(size, dst, 1, off);
                }
                1 => {
                    self.a.mov(1, FP);
                    self.a.addi(1, -32);
                    let dst = self.dst_scalar();
                    self.a.ldx(Size::DW, dst, 1, 8);
                }
                _ => {
                    self.a.mov(1, FP);
                    self.a.mov(2, FP);
                    self.a.addi(2, -16);
                    self.a.alu(Width::W64, AluOp::Sub, 1, Source::Reg(super::asm::r(2)));
                    let dst = self.dst_scalar();
                    self.a.mov(dst, 1);
                }
            }
            return;
        }
        let x = self.any_scalar();
        match self.d.below(7) {
            0 => {
                self.mistakes.push("variable ctx offset");
                self.a.mov(1, CTX);
                self.a.mov(3, x);
                self.a.alu(Width::W64, AluOp::And, 3, Source::Imm(8));
                self.a.alu(Width::W64, AluOp::Add, 1, Source::Reg(super::asm::r(3)));
                self.a.ldx(Size::DW, 0, 1, 0);
            }
            1 => {
                self.mistakes.push("multiplying a pointer");
                self.a.mov(1, CTX);
                self.a.alu(Width::W64, AluOp::Mul, 1, Source::Imm(2));
                self.a.ldx(Size::B, 0, 1, 0);
            }
            2 => {
                self.mistakes.push("32-bit arithmetic on a pointer");
                self.a.mov(1, FP);
                self.a.alu(Width::W32, AluOp::Add, 1, Source::Imm(-8));
                self.a.ldx(Size::DW, 0, 1, 0);
            }
            3 => {
                self.mistakes.push("write to r10");
                self.a.mov(FP, x);
            }
            4 => {
                self.mistakes.push("unbounded variable stack offset");
                self.a.mov(1, FP);
                self.a.addi(1, -8);
                self.a.alu(Width::W64, AluOp::Add, 1, Source::Reg(super::asm::r(x)));
                self.a.st(Size::B, 1, 0, 1);
            }
            5 => {
                self.mistakes.push("dereferencing a scalar");
                self.a.ldx(Size::W, 0, x, 0);
            }
            _ => {
                self.mistakes.push("reading an uninitialised register");
                let dst = self.dst_scalar();
                self.a.mov(dst, 5);
            }
        }
    }

    fn atomic_stack(&mut self) {
        let size = if self.d.pct(50) { Size::DW } else { Size::W };
        let s = size_of(size);
        let mut off = -(self.d.range(1, i64::from(64 / s)) as i32) * s;
        if self.mistake("misaligned atomic on the stack") {
            off += 2;
        }
        let v = self.any_scalar();
        let op = self.d.pick(&bpfemu_isa::AtomicOp::ALL);
        self.a.mov(3, v);
        if op == bpfemu_isa::AtomicOp::CmpXchg {
            self.a.mov(0, v);
        }
        self.a.push(Instruction::Atomic {
            size,
            op,
            dst: super::asm::r(FP),
            src: super::asm::r(3),
            off: off as i16,
        });
        if self.d.pct(30) {
            let dst = self.dst_scalar();
            self.a.mov(dst, 3);
        }
    }

    /// Write-then-read deep in the frame (down to -512).
    fn deep_stack(&mut self) {
        let size = self.size();
        let s = size_of(size);
        // Down to -480: a callee's 32-byte frame still fits in 512.
        let off = -(self.d.range(260 / i64::from(s) + 1, 480 / i64::from(s)) as i32) * s;
        let off = off as i16;
        if !self.mistake("read of stack never written") {
            let v = self.any_scalar();
            self.a.stx(size, FP, v, off);
        }
        let dst = self.dst_scalar();
        self.a.ldx(size, dst, FP, off);
    }

    fn cond(&mut self) -> (Width, JmpOp, u8, Source) {
        let width = if self.d.pct(25) { Width::W32 } else { Width::W64 };
        let op = self.d.pick(&JmpOp::ALL);
        let dst = self.any_scalar();
        let src = if self.d.pct(40) {
            Source::Reg(super::asm::r(self.any_scalar()))
        } else {
            Source::Imm(self.imm())
        };
        (width, op, dst, src)
    }

    fn diamond(&mut self, budget: &mut u32) {
        let (w, op, dst, src) = self.cond();
        let els = self.a.label();
        let end = self.a.label();
        self.a.jmp(w, op, dst, src, els);
        let n = self.d.range(1, 2);
        self.with_region(|g| {
            for _ in 0..n {
                g.snippet(budget);
            }
        });
        if self.d.pct(50) {
            self.a.ja(end);
            self.a.bind(els);
            self.with_region(|g| g.snippet(budget));
        } else {
            self.a.bind(els);
        }
        self.a.bind(end);
    }

    /// `r9 = 0; loop: body; r9 += 1; if r9 < N goto loop` and variants.
    fn bounded_loop(&mut self, budget: &mut u32) {
        let mut n = self.d.range(1, 8) as i32;
        let down = self.d.pct(30);
        let w = if self.d.pct(25) { Width::W32 } else { Width::W64 };
        // Index the zeroed area with the counter itself: safe only because
        // the verifier walks each iteration with the counter's exact value.
        let unmasked = self.d.pct(30);
        if unmasked && self.mistake("loop counter indexes one slot past the stack") {
            n = 9;
        }
        self.a.movi(9, if down { n } else { 0 });
        let top = self.a.label();
        self.a.bind(top);
        let was = self.in_loop;
        self.in_loop = true;
        let k = 1;
        self.with_region(|g| {
            if unmasked {
                g.a.mov(1, 9);
                g.a.alu(Width::W64, AluOp::Lsh, 1, Source::Imm(3));
                g.a.mov(2, FP);
                g.a.addi(2, if down { -72 } else { -64 });
                g.a.alu(Width::W64, AluOp::Add, 2, Source::Reg(super::asm::r(1)));
                g.a.stx(Size::DW, 2, 7, 0);
            } else if g.d.pct(40) {
                // Index the zeroed area with the counter.
                g.a.mov(1, 9);
                g.a.alu(Width::W64, AluOp::And, 1, Source::Imm(7));
                g.a.alu(Width::W64, AluOp::Lsh, 1, Source::Imm(3));
                g.a.mov(2, FP);
                g.a.addi(2, -64);
                g.a.alu(Width::W64, AluOp::Add, 2, Source::Reg(super::asm::r(1)));
                g.a.stx(Size::DW, 2, 7, 0);
            }
            for _ in 0..k {
                g.snippet(budget);
            }
        });
        self.in_loop = was;
        if down {
            self.a.alu(w, AluOp::Sub, 9, Source::Imm(1));
            self.a.jmp(w, JmpOp::Ne, 9, Source::Imm(0), top);
        } else {
            self.a.alu(w, AluOp::Add, 9, Source::Imm(1));
            let op = self.d.pick(&[JmpOp::Lt, JmpOp::SLt, JmpOp::Ne]);
            self.a.jmp(w, op, 9, Source::Imm(n), top);
        }
    }

    fn prologue(&mut self) {
        self.a.mov(CTX, 1);
        if self.mistake("stack scratch area left uninitialised") {
            self.a.st(Size::DW, FP, -8, 0);
        } else {
            self.a.movi(1, 0);
            for i in 1..=8 {
                self.a.stx(Size::DW, FP, 1, -8 * i);
            }
        }
        for &s in &SCALARS {
            match self.d.below(4) {
                0 => {
                    let size = self.size();
                    let off = self.d.range(0, i64::from(CTX_SIZE / size_of(size) - 1)) as i16
                        * size_of(size) as i16;
                    self.a.ldx(size, s, CTX, off);
                }
                1 => {
                    self.a.call(HELPER_PRANDOM);
                    self.a.mov(s, 0);
                }
                _ => {
                    let imm = self.imm();
                    self.a.movi(s, imm);
                }
            }
        }
    }

    fn epilogue(&mut self) {
        if !self.mistake("r0 not set at exit") {
            let s = self.any_scalar();
            self.a.mov(0, s);
        }
        self.a.exit();
    }
}

/// Generates the program of `seed`; `mistake_pct` is the chance that a
/// snippet with a mistake variant makes its mistake.
pub fn generate(seed: u64, mistake_pct: u64) -> Generated {
    let mut d = Dice::new(seed);
    let array_vs = d.pick(&[8u32, 16, 24, 48]);
    let hash_vs = d.range(1, 40) as u32;
    let maps = [
        MapSpec { fd: 3, hash: false, key_size: 4, value_size: array_vs, max_entries: d.range(1, 3) as u32 },
        MapSpec { fd: 4, hash: true, key_size: d.pick(&[4u32, 8]), value_size: hash_vs, max_entries: 8 },
    ];
    let mut g = Gen {
        d,
        a: Asm::default(),
        maps,
        mistakes: Vec::new(),
        mistake_pct,
        spills: BTreeMap::new(),
        depth: 0,
        in_loop: false,
        subprogs: Vec::new(),
    };
    g.prologue();
    let mut budget = g.d.range(3, 12) as u32;
    while budget > 0 {
        g.snippet(&mut budget);
    }
    g.epilogue();
    let subs = std::mem::take(&mut g.subprogs);
    for (l, arg, bounded) in subs {
        g.subprog(l, arg, bounded);
    }
    Generated { insns: g.a.finish(), maps: g.maps, mistakes: g.mistakes }
}
