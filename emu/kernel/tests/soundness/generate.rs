//! The program generator: random but structured `BPF_PROG_TYPE_SYSCALL`
//! programs that terminate by construction (forward jumps only, plus
//! bounded loops with a counter) and spend their instructions on memory:
//! the stack (aligned, misaligned, variable offsets, spills and fills of
//! pointers and scalars), the ctx (a user buffer of [`CTX_SIZE`] bytes),
//! and map values (an array and a hash map: lookup, null check, accesses
//! with constant and bounded variable offsets), plus helper calls (map
//! lookup/update/delete, ktime, prandom, trace_printk with a stack string,
//! probe_read_kernel into the stack).
//!
//! A fraction of the snippets contain a deliberate mistake (a missing null
//! check, an access one byte too far, a signed-only bound, pointer
//! arithmetic the verifier forbids, ...) so that many programs are
//! rejected; the mistakes are listed with the program, as hints only: the
//! verifier decides, and the checked runs judge what it accepted.
//!
//! Registers: r6 holds the ctx for the whole program; r7, r8, r9 are
//! scalars (r9 is also the loop counter); r0..r5 are scratch, clobbered by
//! calls. Stack: `[-64, 0)` is zeroed at entry (always initialised);
//! `[-128, -64)` holds spill slots; `[-256, -128)` is where snippets build
//! helper buffers; deeper bytes are touched only by write-then-read
//! snippets and by mistakes.

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
        match self.d.below(if top { 22 } else { 19 }) {
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
            19 | 20 if !self.in_loop => self.diamond(budget),
            19 | 20 => self.alu(),
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
        if self.mistake("BPF_ST into the ctx") {
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

    /// Writes a key for `map` at `fp + off` (off = -136): a constant or a
    /// masked scalar.
    fn write_key(&mut self, m: MapSpec, off: i16) {
        let range = i64::from(m.max_entries) + 1;
        if self.mistake("map key on uninitialised stack") {
            return;
        }
        if self.d.pct(50) {
            let k = self.d.range(0, range) as i32;
            self.a.st(Size::W, FP, off, k);
            if m.key_size == 8 {
                self.a.st(Size::W, FP, off + 4, 0);
            }
        } else {
            let s = self.any_scalar();
            self.a.mov(1, s);
            self.a.alu(Width::W64, AluOp::And, 1, Source::Imm(7));
            let size = if m.key_size == 8 { Size::DW } else { Size::W };
            self.a.stx(size, FP, 1, off);
        }
    }

    fn pick_map(&mut self) -> MapSpec {
        self.d.pick(&self.maps.clone())
    }

    /// `lookup → null check → accesses` on the value.
    fn map_lookup(&mut self) {
        let m = self.pick_map();
        self.write_key(m, -136);
        self.a.ld_map(1, m.fd);
        self.a.mov(2, FP);
        self.a.addi(2, -136);
        self.a.call(HELPER_LOOKUP);
        if self.mistake("arithmetic on a map_value_or_null pointer") {
            self.a.addi(0, 1);
        }
        let end = self.a.label();
        if !self.mistake("missing null check") {
            if self.d.pct(70) {
                self.a.jmp(Width::W64, JmpOp::Eq, 0, Source::Imm(0), end);
            } else {
                let body = self.a.label();
                self.a.jmp(Width::W64, JmpOp::Ne, 0, Source::Imm(0), body);
                self.a.ja(end);
                self.a.bind(body);
            }
        }
        self.with_region(|g| {
            if g.d.pct(20) {
                // Keep the value pointer in a callee-saved spill across a call.
                g.a.stx(Size::DW, FP, 0, -128);
                g.a.call(HELPER_PRANDOM);
                g.a.ldx(Size::DW, 0, FP, -128);
                g.spills.remove(&-128);
            }
            let n = g.d.range(1, 3);
            for _ in 0..n {
                g.value_access(0, m.value_size as i32, end);
            }
            if g.d.pct(15) {
                g.value_as_helper_arg(m);
            } else if g.d.pct(10) {
                g.call_subprog(Arg::Value(m.value_size as i32));
            }
        });
        self.a.bind(end);
    }

    /// One access through map value pointer `ptr` (value `vs` bytes).
    fn value_access(&mut self, ptr: u8, vs: i32, out: Label) {
        // 0, 1: load; 2: store; 3: atomic (W or DW, aligned).
        let kind = self.d.below(4);
        let mut size = if kind == 3 { self.d.pick(&[Size::W, Size::DW]) } else { self.size() };
        while size_of(size) > vs {
            size = if size == Size::DW { Size::W } else { Size::B };
        }
        let s = size_of(size);
        let atomic = kind == 3 && s >= 4;
        let align = if atomic && !self.mistake("misaligned atomic on a map value") { s } else { 1 };
        let (base, off) = if self.d.pct(45) {
            let mut off = self.d.range(0, i64::from((vs - s) / align)) as i32 * align;
            if self.mistake("constant map value offset one too far") {
                off = if self.d.pct(70) { vs - s + 1 } else { -1 };
            }
            (ptr, off)
        } else {
            // Variable offset x with max(x) + s <= vs.
            let max = vs - s;
            let x = self.any_scalar();
            self.a.mov(2, x);
            // A constant the access adds back (the offset is r2 - comp).
            let mut comp = 0;
            match self.d.below(14) {
                5 => self.offset_on_two_paths(max, align),
                6..=13 => comp = self.derive_offset(x, max, align, out),
                0 => {
                    let mut mask = ((max as u32 + 1).next_power_of_two() / 2).saturating_sub(1) as i32;
                    if self.mistake("mask one bit too wide") {
                        mask = mask * 2 + 1;
                    }
                    self.a.alu(Width::W64, AluOp::And, 2, Source::Imm(mask));
                }
                1 => {
                    let mut n = max;
                    if self.mistake("unsigned bound off by one") {
                        n += 1;
                    }
                    let op = self.d.pick(&[JmpOp::Gt, JmpOp::Ge]);
                    let n = if op == JmpOp::Ge { n + 1 } else { n };
                    self.a.jmp(Width::W64, op, 2, Source::Imm(n), out);
                }
                2 => {
                    let mut n = max;
                    if self.mistake("32-bit bound off by one") {
                        n += 1;
                    }
                    self.a.alu(Width::W32, AluOp::Mov, 2, Source::Reg(super::asm::r(x)));
                    self.a.jmp(Width::W32, JmpOp::Gt, 2, Source::Imm(n), out);
                }
                3 => {
                    self.a.jmp(Width::W64, JmpOp::SGt, 2, Source::Imm(max), out);
                    if !self.mistake("signed upper bound without a lower bound") {
                        self.a.jmp(Width::W64, JmpOp::SLt, 2, Source::Imm(0), out);
                    }
                }
                _ => {
                    // Bounded through a register compare: if r2 > r3 goto out.
                    let mut n = max;
                    if self.mistake("register bound off by one") {
                        n += 1;
                    }
                    self.a.movi(3, n);
                    self.a.jmp(Width::W64, JmpOp::Gt, 2, Source::Reg(super::asm::r(3)), out);
                }
            }
            if align > 1 {
                self.a.alu(Width::W64, AluOp::And, 2, Source::Imm(-align));
            }
            self.a.mov(1, ptr);
            match self.d.below(10) {
                // Spill and fill the bounded scalar: its bounds must survive.
                0 | 1 => {
                    self.a.stx(Size::DW, FP, 2, -144);
                    self.a.ldx(Size::DW, 2, FP, -144);
                }
                // A 32-bit spill, or a narrow fill of the low half.
                2 => {
                    let wide = self.d.pct(50);
                    self.a.stx(if wide { Size::DW } else { Size::W }, FP, 2, -144);
                    self.a.ldx(Size::W, 2, FP, -144);
                }
                // Traps: the bounded value changes behind the verifier's back.
                3 if self.mistake("offset filled after an atomic add on its spill slot") => {
                    self.a.stx(Size::DW, FP, 2, -144);
                    let x = self.any_scalar();
                    self.a.mov(3, x);
                    self.a.push(Instruction::Atomic {
                        size: Size::DW,
                        op: bpfemu_isa::AtomicOp::Add { fetch: false },
                        dst: super::asm::r(FP),
                        src: super::asm::r(3),
                        off: -144,
                    });
                    self.a.ldx(Size::DW, 2, FP, -144);
                }
                4 if self.mistake("offset replaced by an atomic fetch result") => {
                    let x = self.any_scalar();
                    self.a.stx(Size::DW, FP, x, -144);
                    let op = self.d.pick(&[
                        bpfemu_isa::AtomicOp::Add { fetch: true },
                        bpfemu_isa::AtomicOp::Xchg,
                        bpfemu_isa::AtomicOp::Or { fetch: true },
                    ]);
                    let size = if self.d.pct(50) { Size::DW } else { Size::W };
                    self.a.push(Instruction::Atomic {
                        size,
                        op,
                        dst: super::asm::r(FP),
                        src: super::asm::r(2),
                        off: -144,
                    });
                }
                _ => {}
            }
            // r2 is in [comp, max + comp]: take comp off the pointer, off
            // r2, or off the access.
            match if comp == 0 { 0 } else { self.d.below(3) } {
                0 => {
                    self.a.alu(Width::W64, AluOp::Add, 1, Source::Reg(super::asm::r(2)));
                    (1, -comp)
                }
                1 => {
                    self.a.addi(1, -comp);
                    self.a.alu(Width::W64, AluOp::Add, 1, Source::Reg(super::asm::r(2)));
                    (1, 0)
                }
                _ => {
                    self.a.addi(2, -comp);
                    self.a.alu(Width::W64, AluOp::Add, 1, Source::Reg(super::asm::r(2)));
                    (1, 0)
                }
            }
        };
        let off = off as i16;
        match kind {
            0 | 1 => {
                let dst = self.dst_scalar();
                self.a.ldx(size, dst, base, off);
            }
            2 => {
                let v = self.any_scalar();
                self.a.stx(size, base, v, off);
            }
            _ => {
                if atomic {
                    let v = self.any_scalar();
                    let op = self.d.pick(&bpfemu_isa::AtomicOp::ALL);
                    if op == bpfemu_isa::AtomicOp::CmpXchg {
                        self.a.mov(5, ptr);
                        self.a.mov(4, base);
                        self.a.mov(0, v);
                        self.a.push(Instruction::Atomic {
                            size,
                            op,
                            dst: super::asm::r(4),
                            src: super::asm::r(v),
                            off,
                        });
                        // r0 is now a scalar; the value pointer is in r5.
                        self.a.mov(ptr, 5);
                        return;
                    }
                    self.a.mov(3, v);
                    self.a.push(Instruction::Atomic {
                        size,
                        op,
                        dst: super::asm::r(base),
                        src: super::asm::r(3),
                        off,
                    });
                } else {
                    let imm = self.imm();
                    self.a.st(size, base, off, imm);
                }
            }
        }
    }

    /// More ways to bound r2 (a copy of scalar `x`) to `[comp, max + comp]`,
    /// returning `comp` (0 unless the recipe offsets the range); each may
    /// make a mistake. Jumps to `out` leave the access out.
    fn derive_offset(&mut self, x: u8, max: i32, align: i32, out: Label) -> i32 {
        let r = super::asm::r;
        let pow2_mask = |m: i32| ((m as u32 + 1).next_power_of_two() / 2).saturating_sub(1) as i32;
        match self.d.below(10) {
            8 => {
                // if r2 & ~m goto out: the fallthrough knows the high bits are 0.
                let mut m = pow2_mask(max);
                if self.mistake("jset mask one bit too wide") {
                    m = m * 2 + 1;
                }
                let w = if self.d.pct(30) { Width::W32 } else { Width::W64 };
                if w == Width::W32 && !self.mistake("32-bit jset on a 64-bit value") {
                    self.a.alu(Width::W32, AluOp::Mov, 2, Source::Reg(r(2)));
                }
                self.a.jmp(w, JmpOp::Set, 2, Source::Imm(!m), out);
                0
            }
            9 => {
                // if r2 != c goto out: r2 is c after it.
                let mut c = self.d.range(0, i64::from(max)) as i32;
                if self.mistake("equality with a constant past the end") {
                    c = max + 1;
                }
                let w = if self.d.pct(30) { Width::W32 } else { Width::W64 };
                if w == Width::W32 && !self.mistake("32-bit equality on a 64-bit value") {
                    self.a.alu(Width::W32, AluOp::Mov, 2, Source::Reg(r(2)));
                }
                self.a.jmp(w, JmpOp::Ne, 2, Source::Imm(c), out);
                0
            }
            0 => {
                // Bound a copy; the bound reaches the original through its id.
                self.a.mov(3, 2);
                if self.mistake("bounded a modified copy") {
                    self.a.addi(3, 1);
                    self.a.jmp(Width::W64, JmpOp::Gt, 3, Source::Imm(max + 1), out);
                } else {
                    self.a.jmp(Width::W64, JmpOp::Gt, 3, Source::Imm(max), out);
                }
                0
            }
            1 => {
                // A 32-bit bound holds for the 64-bit value only after zero extension.
                if !self.mistake("32-bit bound on a 64-bit value") {
                    self.a.alu(Width::W32, AluOp::Mov, 2, Source::Reg(r(2)));
                }
                let op = self.d.pick(&[JmpOp::Gt, JmpOp::SGt]);
                self.a.jmp(Width::W32, op, 2, Source::Imm(max), out);
                if op == JmpOp::SGt {
                    self.a.jmp(Width::W32, JmpOp::SLt, 2, Source::Imm(0), out);
                }
                0
            }
            2 if align == 1 => {
                // [0, max] - k, added back by the access.
                let k = self.d.range(1, 8) as i32;
                self.a.jmp(Width::W64, JmpOp::Gt, 2, Source::Imm(max), out);
                let w = if self.mistake("32-bit subtraction wraps") { Width::W32 } else { Width::W64 };
                self.a.alu(w, AluOp::Sub, 2, Source::Imm(k));
                self.a.addi(2, k);
                // r2 is back in [0, max]; let the access add another k.
                let c = self.d.range(1, 8) as i32;
                self.a.addi(2, c);
                c
            }
            3 => {
                // Shift a byte down until it fits.
                self.a.alu(Width::W64, AluOp::And, 2, Source::Imm(0xff));
                let mut sh = 0;
                while (255 >> sh) > max {
                    sh += 1;
                }
                if sh > 0 && self.mistake("shifted one bit too little") {
                    sh -= 1;
                }
                let op = if self.d.pct(50) { AluOp::Rsh } else { AluOp::Arsh };
                self.a.alu(Width::W64, op, 2, Source::Imm(sh));
                0
            }
            4 => {
                // (x & m) * f.
                let f = self.d.pick(&[2, 3, 4, 8]);
                let mut m = pow2_mask(max / f);
                if self.mistake("multiplied range too wide") {
                    m = m * 2 + 1;
                }
                self.a.alu(Width::W64, AluOp::And, 2, Source::Imm(m));
                self.a.alu(Width::W64, AluOp::Mul, 2, Source::Imm(f));
                0
            }
            5 => {
                // Sign-extended byte, bounded on both sides.
                self.a.alu(Width::W64, AluOp::MovSx(8), 2, Source::Reg(r(x)));
                if !self.mistake("sign-extended value without a lower bound") {
                    self.a.jmp(Width::W64, JmpOp::SLt, 2, Source::Imm(0), out);
                }
                self.a.jmp(Width::W64, JmpOp::SGt, 2, Source::Imm(max), out);
                0
            }
            6 => {
                // (x & m1) | (y & m2).
                let m = pow2_mask(max);
                let y = self.any_scalar();
                self.a.alu(Width::W64, AluOp::And, 2, Source::Imm(m & 0x55));
                self.a.mov(3, y);
                let m2 = if self.mistake("or of a range too wide") { m * 2 + 1 } else { m & !0x55 };
                self.a.alu(Width::W64, AluOp::And, 3, Source::Imm(m2));
                let op = if self.d.pct(50) { AluOp::Or } else { AluOp::Xor };
                self.a.alu(Width::W64, op, 2, Source::Reg(r(3)));
                0
            }
            _ => {
                // Unsigned bound through a 32-bit compare of zero-extended
                // values, from below: if max < w2 goto out (reversed operands).
                self.a.alu(Width::W32, AluOp::Mov, 2, Source::Reg(r(2)));
                let mut n = max;
                if self.mistake("reversed bound off by one") {
                    n += 1;
                }
                self.a.movi(3, n);
                self.a.jmp(Width::W32, JmpOp::Lt, 3, Source::Reg(r(2)), out);
                0
            }
        }
    }

    /// r2 = an offset in `[0, max]` set differently on the two sides of a
    /// branch (the taken side is the one pruning may skip), possibly
    /// through a spill: the join must keep both ranges apart.
    fn offset_on_two_paths(&mut self, max: i32, align: i32) {
        let (w, op, dst, src) = self.cond();
        let taken = self.a.label();
        let join = self.a.label();
        let spill = self.d.pct(40);
        self.a.jmp(w, op, dst, src, taken);
        let c1 = self.d.range(0, i64::from(max / align)) as i32 * align;
        self.a.movi(2, c1);
        if spill {
            self.a.stx(Size::DW, FP, 2, -152);
        }
        self.a.ja(join);
        self.a.bind(taken);
        if self.d.pct(30) {
            let x = self.any_scalar();
            self.a.mov(2, x);
            let mask = ((max as u32 + 1).next_power_of_two() / 2).saturating_sub(1) as i32 & -align;
            self.a.alu(Width::W64, AluOp::And, 2, Source::Imm(mask));
        } else {
            let mut c2 = self.d.range(0, i64::from(max / align)) as i32 * align;
            if self.mistake("offset out of bounds on the path pruning may skip") {
                c2 = max + align * self.d.range(1, 2) as i32;
            }
            self.a.movi(2, c2);
        }
        if spill {
            self.a.stx(Size::DW, FP, 2, -152);
        }
        self.a.bind(join);
        if spill {
            self.a.ldx(Size::DW, 2, FP, -152);
        }
    }

    /// `r1 = <arg>; r2 = scalar; call subprog; r7/r8/r9 = r0`.
    fn call_subprog(&mut self, arg: Arg) {
        let len = match arg {
            Arg::Stack => 64,
            Arg::Value(vs) => vs,
            _ => 0,
        };
        // The caller bounds r2 (differently on two paths) and the callee
        // adds it to r1 unchecked: precision must flow across the frames.
        let bounded = len >= 8 && self.d.pct(30);
        if bounded {
            self.offset_on_two_paths(len - 8, 8);
        } else {
            let x = self.any_scalar();
            self.a.mov(2, x);
        }
        match arg {
            Arg::Stack => {
                self.a.mov(1, FP);
                self.a.addi(1, -64);
            }
            Arg::Ctx => self.a.mov(1, CTX),
            Arg::Value(_) => self.a.mov(1, 0),
            Arg::LoopCallback => unreachable!("callbacks are called by bpf_loop"),
        }
        let l = self.a.label();
        self.a.call_local(l);
        self.subprogs.push((l, arg, bounded));
        if self.d.pct(50) {
            let dst = self.dst_scalar();
            self.a.mov(dst, 0);
        }
    }

    /// `bpf_loop(n, callback, fp - 64, 0)`.
    fn bpf_loop(&mut self) {
        if self.d.pct(30) {
            // A count known only by its bounds (at most 1023 iterations, so
            // that runs stay far below the step limit: a verified program
            // that reaches it is reported).
            let x = self.any_scalar();
            self.a.mov(1, x);
            self.a.alu(Width::W64, AluOp::And, 1, Source::Imm(0x3ff));
        } else {
            let n = self.d.range(0, 8) as i32;
            self.a.movi(1, n);
        }
        let l = self.a.label();
        self.a.ld_func(2, l);
        self.a.mov(3, FP);
        self.a.addi(3, -64);
        self.a.movi(4, 0);
        self.a.call(HELPER_LOOP);
        self.subprogs.push((l, Arg::LoopCallback, false));
        if self.d.pct(50) {
            let dst = self.dst_scalar();
            self.a.mov(dst, 0);
        }
    }

    /// A `bpf_loop` callback: writes the index into slot `index & 7` of
    /// the caller's area, reads another; returns 0 (continue) or 1 (stop).
    fn loop_callback(&mut self, l: Label) {
        self.a.bind(l);
        self.a.mov(3, 1);
        let mut mask = 7;
        if self.mistake("callback index mask too wide") {
            mask = 15;
        }
        self.a.alu(Width::W64, AluOp::And, 3, Source::Imm(mask));
        self.a.alu(Width::W64, AluOp::Lsh, 3, Source::Imm(3));
        self.a.mov(4, 2);
        self.a.alu(Width::W64, AluOp::Add, 4, Source::Reg(super::asm::r(3)));
        self.a.stx(Size::DW, 4, 1, 0);
        let off = 8 * self.d.range(0, 7) as i16;
        self.a.ldx(Size::DW, 0, 2, off);
        let ret = if self.mistake("callback returns 2") { 2 } else { self.d.range(0, 1) as i32 };
        if self.d.pct(50) {
            self.a.movi(0, ret);
        } else {
            self.a.alu(Width::W64, AluOp::And, 0, Source::Imm(1));
            if ret == 2 {
                self.a.addi(0, 1);
            }
        }
        self.a.exit();
    }

    /// A subprogram: accesses through r1 (constant and masked-r2 offsets),
    /// a little stack of its own, returns a scalar.
    fn subprog(&mut self, l: Label, arg: Arg, bounded: bool) {
        let len = match arg {
            Arg::Stack => 64,
            Arg::Ctx => CTX_SIZE,
            Arg::Value(vs) => vs,
            Arg::LoopCallback => return self.loop_callback(l),
        };
        self.a.bind(l);
        if bounded {
            self.a.mov(4, 1);
            self.a.alu(Width::W64, AluOp::Add, 4, Source::Reg(super::asm::r(2)));
            if self.d.pct(50) {
                self.a.stx(Size::DW, 4, 2, 0);
            } else {
                self.a.ldx(Size::DW, 3, 4, 0);
            }
        }
        self.a.st(Size::DW, FP, -8, 0);
        let n = self.d.range(1, 3);
        for _ in 0..n {
            let size = if len >= 8 { self.size() } else { Size::B };
            let s = size_of(size);
            // Stack and ctx accesses must be aligned.
            let align = if matches!(arg, Arg::Value(_)) { 1 } else { s };
            let (base, off) = if self.d.pct(60) {
                let mut off = self.d.range(0, i64::from((len - s) / align)) as i32 * align;
                if self.mistake("callee access beyond its pointer argument") {
                    off = len - s + align;
                }
                (1, off)
            } else {
                let mut mask = (((len - s) as u32 + 1).next_power_of_two() / 2).saturating_sub(1) as i32;
                mask &= -align;
                if self.mistake("callee variable offset mask too wide") {
                    mask = mask * 2 + align;
                }
                self.a.mov(3, 2);
                self.a.alu(Width::W64, AluOp::And, 3, Source::Imm(mask));
                self.a.mov(4, 1);
                if arg == Arg::Ctx {
                    self.mistakes.push("variable ctx offset in a callee");
                }
                self.a.alu(Width::W64, AluOp::Add, 4, Source::Reg(super::asm::r(3)));
                (4, 0)
            };
            if self.d.pct(50) {
                self.a.ldx(size, 0, base, off as i16);
                self.a.stx(Size::DW, FP, 0, -8);
            } else {
                self.a.stx(size, base, 2, off as i16);
            }
        }
        self.a.ldx(Size::DW, 0, FP, -8);
        self.a.exit();
    }

    /// `r0 = map[fd:3]+off` (a direct value pointer into the array's element 0), then accesses.
    fn direct_value(&mut self) {
        let m = self.maps[0];
        let vs = m.value_size as i32;
        // 8-byte aligned, so that atomics through it can be aligned.
        let off = self.d.range(0, i64::from((vs - 1) / 8)) as i32 * 8;
        self.a.push(Instruction::LdImm64 {
            dst: super::asm::r(0),
            src: bpfemu_isa::LdImm64::MapValue { fd: m.fd, off: off as u32 },
        });
        let end = self.a.label();
        self.value_access(0, vs - off, end);
        self.a.bind(end);
    }

    /// Passes the value pointer in r0 as the key or value of another map op.
    fn value_as_helper_arg(&mut self, from: MapSpec) {
        let m = self.pick_map();
        self.a.mov(3, 0);
        if self.d.pct(50) && from.value_size >= m.key_size {
            self.a.ld_map(1, m.fd);
            self.a.mov(2, 3);
            self.a.call(HELPER_LOOKUP);
        } else {
            if from.value_size < m.value_size {
                self.mistakes.push("map value too small for the other map's value");
            }
            self.write_key(m, -136);
            self.a.ld_map(1, m.fd);
            self.a.mov(2, FP);
            self.a.addi(2, -136);
            self.a.movi(4, 0);
            self.a.call(HELPER_UPDATE);
        }
    }

    fn map_update(&mut self) {
        let m = self.pick_map();
        self.write_key(m, -136);
        // The value at fp-256 .. fp-256+value_size, written in 8-byte stores.
        let mut init = m.value_size.next_multiple_of(8) as i32;
        if self.mistake("map value buffer partly uninitialised") {
            init -= 8;
        }
        let mut o = 0;
        while o < init {
            let v = self.any_scalar();
            self.a.stx(Size::DW, FP, v, (-256 + o) as i16);
            o += 8;
        }
        self.a.ld_map(1, m.fd);
        self.a.mov(2, FP);
        self.a.addi(2, -136);
        self.a.mov(3, FP);
        self.a.addi(3, -256);
        let flags = self.d.range(0, 2) as i32;
        self.a.movi(4, flags);
        self.a.call(HELPER_UPDATE);
        if self.mistake("reading an argument register after a call") {
            let dst = self.dst_scalar();
            self.a.mov(dst, 2);
        }
    }

    fn map_delete(&mut self) {
        let m = self.pick_map();
        self.write_key(m, -136);
        self.a.ld_map(1, m.fd);
        self.a.mov(2, FP);
        self.a.addi(2, -136);
        self.a.call(HELPER_DELETE);
    }

    fn scalar_helper(&mut self) {
        let id = self.d.pick(&[HELPER_KTIME, HELPER_PRANDOM, HELPER_CPU]);
        self.a.call(id);
        let dst = self.dst_scalar();
        self.a.mov(dst, 0);
    }

    /// `bpf_trace_printk("v %d\n", ...)` with the string on the stack.
    fn printk(&mut self) {
        // "v=%d\n\0" little-endian in one u64 at fp-160.
        let fmt: u64 = u64::from_le_bytes(*b"v=%d\n\0\0\0");
        self.a.ld64(1, fmt);
        self.a.stx(Size::DW, FP, 1, -160);
        self.a.mov(1, FP);
        self.a.addi(1, -160);
        let mut len = 6;
        if self.mistake("trace_printk size beyond the initialised string") {
            len = 8 + 8 * self.d.range(1, 3) as i32;
        }
        self.a.movi(2, len);
        let v = self.any_scalar();
        self.a.mov(3, v);
        self.a.call(HELPER_PRINTK);
    }

    /// `bpf_probe_read_kernel(fp - n, size, src)` then a read of the buffer.
    fn probe_read(&mut self) {
        let n = 8 * self.d.range(1, 4) as i32;
        let dst = -160 - n;
        let mut size = self.d.range(1, i64::from(n)) as i32;
        if self.mistake("probe_read size larger than the buffer") {
            size = n + 160 + self.d.range(1, 16) as i32;
        }
        if self.mistake("probe_read size not a constant") {
            let s = self.any_scalar();
            self.a.mov(2, s);
        } else if self.d.pct(25) {
            // The size differs on the two sides of a branch.
            let (w, op, cd, src) = self.cond();
            let taken = self.a.label();
            let join = self.a.label();
            self.a.jmp(w, op, cd, src, taken);
            self.a.movi(2, self.d.range(1, i64::from(n)) as i32);
            self.a.ja(join);
            self.a.bind(taken);
            self.a.movi(2, size);
            self.a.bind(join);
        } else {
            self.a.movi(2, size);
        }
        self.a.mov(1, FP);
        self.a.addi(1, dst);
        match self.d.below(3) {
            0 => self.a.mov(3, CTX),
            1 => {
                let s = self.any_scalar();
                self.a.mov(3, s);
            }
            _ => {
                self.a.mov(3, FP);
                self.a.addi(3, -8);
            }
        }
        self.a.call(HELPER_PROBE_READ_KERNEL);
        let rd = self.dst_scalar();
        self.a.ldx(Size::B, rd, FP, dst as i16);
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
