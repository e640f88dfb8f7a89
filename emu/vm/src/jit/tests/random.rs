//! The random-program generator of the differential tests.
//!
//! A program is a main function and up to three subprograms (function `f`
//! may call any `k > f`, so at most four frames, with no recursion). Every
//! function runs a body of random items (every opcode the JIT compiles:
//! ALU/ALU64 imm and reg with edge-biased constants, byte order, movsx,
//! forward conditional jumps and `ja`/`gotol`, loads/stores/ldsx and
//! atomics, `ld_imm64`, bpf2bpf calls, and calls of a callback helper
//! ([`each_cb`]) that runs a later function as a callback on a fresh
//! stack) 1..=3 times by a counted loop whose counter lives in the buffer.
//! Some mains then tail call ([`TAIL_MAP`]) another random program, which
//! may tail call itself until the limit of 33. Memory: the function's own frame (r10 - 512 ..
//! r10 - 8), the 64-byte buffer (r9, which no function writes), and in a subprogram
//! its caller's frame through the pointer the caller passed in r1 (kept in
//! r6, which subprograms do not otherwise write: r10 - 256 of the caller;
//! the buffer comes in r2),
//! all naturally aligned. Every function ends by folding its whole frame
//! into r0; main also dumps r0..r8 into the buffer, so registers, every
//! frame and the buffer are compared.

use bpfemu_isa::{
    AluOp, AtomicOp, CallTarget, EndianOp, Instruction, JmpOp, LdImm64, Reg, Size, Source, Width,
};

pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    pub(super) fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    /// A value biased toward the edges that break JITs.
    fn value(&mut self) -> u64 {
        match self.below(10) {
            0 => 0,
            1 => u64::MAX,
            2 => i64::MIN as u64,
            3 => u64::from(i32::MIN as u32),
            4 => 0xffff_ffff_8000_0000,
            5 => self.below(70),
            6 => i64::from(self.next() as i32) as u64,
            _ => self.next(),
        }
    }
    fn imm(&mut self) -> i32 {
        match self.below(8) {
            0 => 0,
            1 => -1,
            2 => i32::MIN,
            3 => i32::MAX,
            4 => self.below(70) as i32,
            _ => self.next() as i32,
        }
    }
}

pub(super) const BUF: usize = 64;
/// Most subprograms.
const MAX_SUBS: usize = 3;
/// Buffer layout: 64 bytes of data, r0..r8 dumped by main's epilogue, then
/// per function its loop counter and its loop's r0 save slot.
const REGS: usize = BUF;
const fn cnt(f: usize) -> i16 {
    (BUF + 9 * 8 + 16 * f) as i16
}
const fn save(f: usize) -> i16 {
    cnt(f) + 8
}
/// Main's loop counter.
pub(super) const CNT: i16 = cnt(0);
/// Bytes of buffer a program uses.
pub(super) const DUMP: usize = BUF + 9 * 8 + 16 * (MAX_SUBS + 1);

pub(super) fn r(n: u8) -> Reg {
    Reg::new(n).expect("register number")
}

/// One generated item; jumps name a later item of the same function,
/// resolved to slots when encoding (a `ld_imm64` takes two slots); a call
/// names a function.
enum Item {
    I(Instruction),
    Jcc {
        width: Width,
        op: JmpOp,
        dst: Reg,
        src: Source,
        to: usize,
    },
    Ja {
        to: usize,
        long: bool,
    },
    /// `r1 = r10 - 256; r2 = r9; call to; r1, r2 = imm`.
    Call {
        to: usize,
    },
    /// `r1 = n; r2 = token(to); r3 = r10 - 256; r4 = r9; call CB_HELPER;
    /// r1..r5 = imm`: function `to` as a callback.
    Callback {
        to: usize,
        n: i32,
    },
}

/// The function being generated.
struct Fun {
    index: usize,
    subs: usize,
    /// Whether main ends with a tail call (see [`TAIL_MAP`]).
    tail: bool,
}

/// The prog-array handle of the tail calls random programs make: main's
/// loop is followed by `r1 = r9; r2 = TAIL_MAP; r3 = 0 or 1; call 12;
/// r1 = imm` (slot 0 holds a random program, slot 1 is empty).
pub(super) const TAIL_MAP: u64 = 0x7a11_0000;

impl Fun {
    fn data_reg(&self, g: &mut Rng) -> u8 {
        // Subprograms keep r6 (the caller's frame pointer).
        const SUB: [u8; 8] = [0, 1, 2, 3, 4, 5, 7, 8];
        if self.index == 0 { g.below(9) as u8 } else { g.pick(&SUB) }
    }

    /// A memory operand: (base, offset) aligned for `size`, on the own
    /// frame, the buffer, or the caller's frame.
    fn mem_operand(&self, g: &mut Rng, size: Size) -> (u8, i16) {
        let n = size.bytes() as i64;
        let k = g.below(3 + u64::from(self.index > 0));
        if k <= 1 {
            let slots = 512 / n;
            (10, (-(g.below(slots as u64) as i64 + 1) * n) as i16)
        } else if k == 2 {
            let slots = BUF as i64 / n;
            (9, (g.below(slots as u64) as i64 * n) as i16)
        } else {
            let slots = 512 / n;
            (6, (g.below(slots as u64) as i64 * n - 256) as i16)
        }
    }
}

fn gen_item(g: &mut Rng, f: &Fun, idx: usize, body: usize) -> Item {
    let w = if g.chance(50) { Width::W64 } else { Width::W32 };
    if f.index < f.subs && g.chance(6) {
        let to = f.index + 1 + g.below((f.subs - f.index) as u64) as usize;
        return if g.chance(70) { Item::Call { to } } else { Item::Callback { to, n: g.below(4) as i32 } };
    }
    match g.below(100) {
        0..=44 => {
            let op = g.pick(&AluOp::ALL);
            let dst = r(f.data_reg(g));
            if let AluOp::MovSx(bits) = op {
                let (w, bits) = if w == Width::W32 && bits == 32 { (Width::W64, 32) } else { (w, bits) };
                return Item::I(Instruction::Alu {
                    width: w,
                    op: AluOp::MovSx(bits),
                    dst,
                    src: Source::Reg(r(f.data_reg(g))),
                });
            }
            let src = if g.chance(50) { Source::Reg(r(f.data_reg(g))) } else { Source::Imm(g.imm()) };
            Item::I(Instruction::Alu { width: w, op, dst, src })
        }
        45..=48 => Item::I(Instruction::Neg { width: w, dst: r(f.data_reg(g)) }),
        49..=53 => {
            let op = g.pick(&[EndianOp::ToLe, EndianOp::ToBe, EndianOp::Swap]);
            Item::I(Instruction::Endian { op, bits: g.pick(&[16, 32, 64]), dst: r(f.data_reg(g)) })
        }
        54..=56 => Item::I(Instruction::LdImm64 { dst: r(f.data_reg(g)), src: LdImm64::Imm(g.value()) }),
        57..=64 => {
            let size = g.pick(&Size::ALL);
            let (base, off) = f.mem_operand(g, size);
            let sx = size != Size::DW && g.chance(40);
            Item::I(Instruction::Ldx { size, sx, dst: r(f.data_reg(g)), src: r(base), off })
        }
        65..=68 => {
            let size = g.pick(&Size::ALL);
            let (base, off) = f.mem_operand(g, size);
            Item::I(Instruction::St { size, dst: r(base), off, imm: g.imm() })
        }
        69..=75 => {
            let size = g.pick(&Size::ALL);
            let (base, off) = f.mem_operand(g, size);
            Item::I(Instruction::Stx { size, dst: r(base), src: r(f.data_reg(g)), off })
        }
        76..=83 => {
            let size = g.pick(&[Size::W, Size::DW]);
            let (base, off) = f.mem_operand(g, size);
            let fetch = g.chance(50);
            let op = g.pick(&[
                AtomicOp::Add { fetch },
                AtomicOp::Or { fetch },
                AtomicOp::And { fetch },
                AtomicOp::Xor { fetch },
                AtomicOp::Xchg,
                AtomicOp::CmpXchg,
            ]);
            Item::I(Instruction::Atomic { size, op, dst: r(base), src: r(f.data_reg(g)), off })
        }
        _ => {
            // Forward jump to a later item (or the epilogue at `body`).
            let to = (idx + 1 + g.below(8) as usize).min(body);
            if g.chance(10) {
                return Item::Ja { to, long: g.chance(30) };
            }
            let src = if g.chance(50) { Source::Reg(r(f.data_reg(g))) } else { Source::Imm(g.imm()) };
            Item::Jcc { width: w, op: g.pick(&JmpOp::ALL), dst: r(f.data_reg(g)), src, to }
        }
    }
}

fn dw(dst: u8, src: u8, off: i16) -> Instruction {
    Instruction::Stx { size: Size::DW, dst: r(dst), src: r(src), off }
}

fn ld(dst: u8, off: i16) -> Instruction {
    Instruction::Ldx { size: Size::DW, sx: false, dst: r(dst), src: r(9), off }
}

/// Function `f`: its instructions, and (index, callee) of each call.
/// A call to patch once functions are laid out: instruction index, callee,
/// and whether it is the callback token's `ld_imm64` (else a `call`).
type Fixup = (usize, usize, bool);

fn mov64(dst: u8, src: Source) -> Instruction {
    Instruction::Alu { width: Width::W64, op: AluOp::Mov, dst: r(dst), src }
}

/// The callback helper random programs call (a `bpf_loop` whose callback
/// gets `(ctx, buf, i)`, so that a subprogram can serve as a callback):
/// `cb(ctx, buf, i)` for i in 0..n until non-zero; n, 100 + i when a
/// callback stopped the loop, u64::MAX on an error.
pub(super) extern "C" fn each_cb(n: u64, cb: u64, ctx: u64, buf: u64, _: u64) -> u64 {
    for i in 0..n {
        match crate::call_callback(cb, [ctx, buf, i, 0, 0]) {
            Ok(0) => {}
            Ok(_) => return 100 + i,
            Err(_) => return u64::MAX,
        }
    }
    n
}

/// The helper id of [`each_cb`].
pub(super) const CB_HELPER: i32 = 300;

fn gen_function(g: &mut Rng, f: &Fun) -> (Vec<Instruction>, Vec<Fixup>) {
    let mut pre = Vec::new();
    if f.index == 0 {
        pre.push(Instruction::Alu { width: Width::W64, op: AluOp::Mov, dst: r(9), src: Source::Reg(r(1)) });
        for i in 0..9 {
            pre.push(Instruction::LdImm64 { dst: r(i), src: LdImm64::Imm(g.value()) });
        }
    } else {
        // r1 (the caller's frame) and r2 (the buffer) are addresses,
        // different on each engine: kept in r6 and r9, which are only used
        // as bases, and replaced by values.
        pre.push(mov64(6, Source::Reg(r(1))));
        pre.push(mov64(9, Source::Reg(r(2))));
        pre.push(Instruction::LdImm64 { dst: r(1), src: LdImm64::Imm(g.value()) });
        pre.push(Instruction::LdImm64 { dst: r(2), src: LdImm64::Imm(g.value()) });
    }
    let rounds = if g.chance(30) { 1 + g.below(3) as i32 } else { 1 };
    pre.push(Instruction::St { size: Size::DW, dst: r(9), off: cnt(f.index), imm: rounds });
    let body = 10 + g.below(if f.index == 0 { 50 } else { 25 }) as usize;
    let items: Vec<Item> = (0..body).map(|i| gen_item(g, f, i, body)).collect();
    let slots = |it: &Item| match it {
        Item::I(i) => i.slots(),
        Item::Call { .. } => 6,
        Item::Callback { .. } => 12,
        _ => 1,
    };
    let mut pos = Vec::with_capacity(body + 1);
    let mut at = pre.iter().map(Instruction::slots).sum::<usize>();
    for it in &items {
        pos.push(at);
        at += slots(it);
    }
    pos.push(at);
    let mut out = pre;
    let mut calls = Vec::new();
    for (i, it) in items.into_iter().enumerate() {
        let rel = |to: usize| pos[to] as i64 - pos[i] as i64 - 1;
        match it {
            Item::I(ins) => out.push(ins),
            Item::Jcc { width, op, dst, src, to } => {
                out.push(Instruction::Jmp { width, op, dst, src, off: rel(to) as i16 })
            }
            Item::Ja { to, long } => out.push(Instruction::Ja { off: rel(to) as i32, long }),
            Item::Call { to } => {
                out.push(mov64(1, Source::Reg(Reg::FP)));
                out.push(Instruction::Alu {
                    width: Width::W64,
                    op: AluOp::Add,
                    dst: r(1),
                    src: Source::Imm(-256),
                });
                out.push(mov64(2, Source::Reg(r(9))));
                calls.push((out.len(), to, false));
                out.push(Instruction::Call(CallTarget::Local(0)));
                // The restored r1 and r2 are addresses: replaced by values.
                out.push(mov64(1, Source::Imm(g.imm())));
                out.push(mov64(2, Source::Imm(g.imm())));
            }
            Item::Callback { to, n } => {
                out.push(mov64(1, Source::Imm(n)));
                calls.push((out.len(), to, true));
                out.push(Instruction::LdImm64 { dst: r(2), src: LdImm64::Imm(0) });
                out.push(mov64(3, Source::Reg(Reg::FP)));
                out.push(Instruction::Alu {
                    width: Width::W64,
                    op: AluOp::Add,
                    dst: r(3),
                    src: Source::Imm(-256),
                });
                out.push(mov64(4, Source::Reg(r(9))));
                out.push(Instruction::Call(CallTarget::Helper(CB_HELPER)));
                // The JIT clobbers r1..r5 at helper calls; the interpreter
                // keeps them (addresses among them): replaced by values.
                for i in 1..=5 {
                    out.push(mov64(i, Source::Imm(g.imm())));
                }
            }
        }
    }
    // Loop tail: r0 saved around the counter update; back to the body's
    // first slot while the counter is not zero.
    let (c, s) = (cnt(f.index), save(f.index));
    let back = pos[0] as i64 - (pos[body] as i64 + 7);
    out.extend([
        dw(9, 0, s),
        ld(0, c),
        Instruction::Alu { width: Width::W64, op: AluOp::Sub, dst: r(0), src: Source::Imm(1) },
        dw(9, 0, c),
        Instruction::Jmp { width: Width::W64, op: JmpOp::Eq, dst: r(0), src: Source::Imm(0), off: 2 },
        ld(0, s),
        Instruction::Ja { off: back as i32, long: false },
        ld(0, s),
    ]);
    if f.index == 0 && f.tail {
        out.extend([
            mov64(1, Source::Reg(r(9))),
            Instruction::LdImm64 { dst: r(2), src: LdImm64::Imm(TAIL_MAP) },
            mov64(3, Source::Imm(g.below(2) as i32)),
            Instruction::Call(CallTarget::Helper(12)),
            mov64(1, Source::Imm(g.imm())),
        ]);
    }
    if f.index == 0 {
        for i in 0..9u8 {
            out.push(dw(9, i, (REGS + 8 * usize::from(i)) as i16));
        }
    }
    for i in 1..=64i16 {
        out.push(Instruction::Alu { width: Width::W64, op: AluOp::Mul, dst: r(0), src: Source::Imm(31) });
        out.push(Instruction::Ldx { size: Size::DW, sx: false, dst: r(1), src: Reg::FP, off: -8 * i });
        out.push(Instruction::Alu { width: Width::W64, op: AluOp::Add, dst: r(0), src: Source::Reg(r(1)) });
    }
    out.push(Instruction::Exit);
    (out, calls)
}

/// A random program (see the module docs).
pub(super) fn gen_program(g: &mut Rng, tail: bool) -> Vec<Instruction> {
    let subs = if g.chance(50) { 0 } else { 1 + g.below(MAX_SUBS as u64) as usize };
    let funs: Vec<_> = (0..=subs).map(|index| gen_function(g, &Fun { index, subs, tail })).collect();
    let mut starts = Vec::with_capacity(funs.len());
    let mut at = 0usize;
    for (insns, _) in &funs {
        starts.push(at);
        at += insns.iter().map(Instruction::slots).sum::<usize>();
    }
    let mut out = Vec::new();
    for (f, (mut insns, calls)) in funs.into_iter().enumerate() {
        for (i, to, token) in calls {
            let slot = starts[f] + insns[..i].iter().map(Instruction::slots).sum::<usize>();
            insns[i] = if token {
                let t = crate::callback_token(starts[to] as u32);
                Instruction::LdImm64 { dst: r(2), src: LdImm64::Imm(t) }
            } else {
                Instruction::Call(CallTarget::Local((starts[to] as i64 - slot as i64 - 1) as i32))
            };
        }
        out.extend(insns);
    }
    out
}
