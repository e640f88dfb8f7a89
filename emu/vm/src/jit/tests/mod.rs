//! Differential tests: the interpreter is the JIT's oracle.
//!
//! Random programs (a seeded SplitMix64 generator, so failures reproduce by
//! seed) over every opcode the JIT compiles: ALU/ALU64 imm and reg with
//! edge-biased constants, byte order, movsx, forward conditional jumps and
//! `ja`/`gotol`, loads/stores/ldsx and atomics confined to the stack
//! (r10 - 512 .. r10 - 8, naturally aligned) and a 64-byte buffer (r9),
//! `ld_imm64`, and a counted loop (1..=3 rounds) around the body. The
//! epilogue stores r0..r8 into the buffer and folds the
//! whole 512-byte stack into r0, so registers, stack and buffer are all
//! compared. Each program runs in checked mode, fast mode and on the JIT.
//!
//! `random_programs_agree` runs 10 000 programs; `random_programs_agree_long`
//! (`#[ignore]`) runs 1 000 000:
//! `cargo test -p bpfemu-vm --release -- --ignored random_programs_agree_long`.

use super::*;

mod calls;
use crate::tests::Mem;
use crate::{MemRegion, VmError};
use bpfemu_isa::{AluOp, AtomicOp, EndianOp, Instruction, JmpOp, LdImm64, Reg, Size, Source, Width};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
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
    fn chance(&mut self, pct: u64) -> bool {
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

const BUF: usize = 64;
/// Buffer layout: 64 bytes of data, r0..r8 dumped by the epilogue, the
/// loop counter, the loop's r0 save slot.
const CNT: i16 = (BUF + 9 * 8) as i16;
const SAVE: i16 = CNT + 8;
const DUMP: usize = SAVE as usize + 8;

fn r(n: u8) -> Reg {
    Reg::new(n).expect("register number")
}

/// One generated item; jumps name a later item, resolved to slots when
/// encoding (a `ld_imm64` takes two slots).
enum Item {
    I(Instruction),
    Jcc { width: Width, op: JmpOp, dst: Reg, src: Source, to: usize },
    Ja { to: usize, long: bool },
}

fn data_reg(g: &mut Rng) -> u8 {
    g.below(9) as u8
}

/// A memory operand: (base, offset) aligned for `size`, on the stack or in
/// the buffer.
fn mem_operand(g: &mut Rng, size: Size) -> (u8, i16) {
    let n = size.bytes() as i64;
    if g.chance(50) {
        let slots = 512 / n;
        (10, (-(g.below(slots as u64) as i64 + 1) * n) as i16)
    } else {
        let slots = BUF as i64 / n;
        (9, (g.below(slots as u64) as i64 * n) as i16)
    }
}

fn gen_item(g: &mut Rng, idx: usize, body: usize) -> Item {
    let w = if g.chance(50) { Width::W64 } else { Width::W32 };
    match g.below(100) {
        0..=44 => {
            let op = g.pick(&AluOp::ALL);
            let dst = r(data_reg(g));
            if let AluOp::MovSx(bits) = op {
                let (w, bits) = if w == Width::W32 && bits == 32 { (Width::W64, 32) } else { (w, bits) };
                return Item::I(Instruction::Alu {
                    width: w,
                    op: AluOp::MovSx(bits),
                    dst,
                    src: Source::Reg(r(data_reg(g))),
                });
            }
            let src = if g.chance(50) { Source::Reg(r(data_reg(g))) } else { Source::Imm(g.imm()) };
            Item::I(Instruction::Alu { width: w, op, dst, src })
        }
        45..=48 => Item::I(Instruction::Neg { width: w, dst: r(data_reg(g)) }),
        49..=53 => {
            let op = g.pick(&[EndianOp::ToLe, EndianOp::ToBe, EndianOp::Swap]);
            Item::I(Instruction::Endian { op, bits: g.pick(&[16, 32, 64]), dst: r(data_reg(g)) })
        }
        54..=56 => Item::I(Instruction::LdImm64 { dst: r(data_reg(g)), src: LdImm64::Imm(g.value()) }),
        57..=64 => {
            let size = g.pick(&Size::ALL);
            let (base, off) = mem_operand(g, size);
            let sx = size != Size::DW && g.chance(40);
            Item::I(Instruction::Ldx { size, sx, dst: r(data_reg(g)), src: r(base), off })
        }
        65..=68 => {
            let size = g.pick(&Size::ALL);
            let (base, off) = mem_operand(g, size);
            Item::I(Instruction::St { size, dst: r(base), off, imm: g.imm() })
        }
        69..=75 => {
            let size = g.pick(&Size::ALL);
            let (base, off) = mem_operand(g, size);
            Item::I(Instruction::Stx { size, dst: r(base), src: r(data_reg(g)), off })
        }
        76..=83 => {
            let size = g.pick(&[Size::W, Size::DW]);
            let (base, off) = mem_operand(g, size);
            let fetch = g.chance(50);
            let op = g.pick(&[
                AtomicOp::Add { fetch },
                AtomicOp::Or { fetch },
                AtomicOp::And { fetch },
                AtomicOp::Xor { fetch },
                AtomicOp::Xchg,
                AtomicOp::CmpXchg,
            ]);
            Item::I(Instruction::Atomic { size, op, dst: r(base), src: r(data_reg(g)), off })
        }
        _ => {
            // Forward jump to a later item (or the epilogue at `body`).
            let to = (idx + 1 + g.below(8) as usize).min(body);
            if g.chance(10) {
                return Item::Ja { to, long: g.chance(30) };
            }
            let src = if g.chance(50) { Source::Reg(r(data_reg(g))) } else { Source::Imm(g.imm()) };
            Item::Jcc { width: w, op: g.pick(&JmpOp::ALL), dst: r(data_reg(g)), src, to }
        }
    }
}

/// A random program: r9 = buffer, r0..r8 random, a body (run 1..=3 times
/// by a counted loop whose counter lives in the buffer), then the epilogue
/// (dump registers, fold the stack into r0, exit).
fn gen_program(g: &mut Rng) -> Vec<Instruction> {
    let mut pre =
        vec![Instruction::Alu { width: Width::W64, op: AluOp::Mov, dst: r(9), src: Source::Reg(r(1)) }];
    for i in 0..9 {
        pre.push(Instruction::LdImm64 { dst: r(i), src: LdImm64::Imm(g.value()) });
    }
    let rounds = if g.chance(30) { 1 + g.below(3) as i32 } else { 1 };
    pre.push(Instruction::St { size: Size::DW, dst: r(9), off: CNT, imm: rounds });
    let body = 10 + g.below(50) as usize;
    let items: Vec<Item> = (0..body).map(|i| gen_item(g, i, body)).collect();
    let slots = |it: &Item| match it {
        Item::I(i) => i.slots(),
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
    for (i, it) in items.into_iter().enumerate() {
        let rel = |to: usize| pos[to] as i64 - pos[i] as i64 - 1;
        out.push(match it {
            Item::I(ins) => ins,
            Item::Jcc { width, op, dst, src, to } => {
                Instruction::Jmp { width, op, dst, src, off: rel(to) as i16 }
            }
            Item::Ja { to, long } => Instruction::Ja { off: rel(to) as i32, long },
        });
    }
    // Loop tail: r0 saved around the counter update; back to the body's
    // first slot while the counter is not zero.
    let dw = |dst: u8, src: u8, off: i16| Instruction::Stx { size: Size::DW, dst: r(dst), src: r(src), off };
    let ld = |dst: u8, off: i16| Instruction::Ldx { size: Size::DW, sx: false, dst: r(dst), src: r(9), off };
    let back = pos[0] as i64 - (pos[body] as i64 + 7);
    out.extend([
        dw(9, 0, SAVE),
        ld(0, CNT),
        Instruction::Alu { width: Width::W64, op: AluOp::Sub, dst: r(0), src: Source::Imm(1) },
        dw(9, 0, CNT),
        Instruction::Jmp { width: Width::W64, op: JmpOp::Eq, dst: r(0), src: Source::Imm(0), off: 2 },
        ld(0, SAVE),
        Instruction::Ja { off: back as i32, long: false },
        ld(0, SAVE),
    ]);
    for i in 0..9u8 {
        out.push(dw(9, i, (BUF + 8 * usize::from(i)) as i16));
    }
    for i in 1..=64i16 {
        out.push(Instruction::Alu { width: Width::W64, op: AluOp::Mul, dst: r(0), src: Source::Imm(31) });
        out.push(Instruction::Ldx { size: Size::DW, sx: false, dst: r(1), src: r(10), off: -8 * i });
        out.push(Instruction::Alu { width: Width::W64, op: AluOp::Add, dst: r(0), src: Source::Reg(r(1)) });
    }
    out.push(Instruction::Exit);
    out
}

fn check_seed(seed: u64) {
    let mut g = Rng(seed);
    let insns = bpfemu_isa::encode_program(&gen_program(&mut g));
    let init: Vec<u8> = (0..DUMP).map(|_| g.next() as u8).collect();
    let prog =
        Program::new(&insns).unwrap_or_else(|e| panic!("seed {seed}: generator made a bad program: {e}"));
    let vm = Interpreter::new();
    let jit = JitProgram::compile(&prog, &vm).unwrap_or_else(|e| panic!("seed {seed}: {e}"));

    let mut m = Mem::new(&init);
    let region = MemRegion::described("buf", m.map_addr(), DUMP as u64, true);
    let checked = vm.run_checked(&prog, &[m.map_addr()], &[region]);
    let checked_mem = m.bytes();
    assert!(!matches!(checked, Err(VmError::MemoryViolation { .. })), "seed {seed}: {checked:?}");
    let checked = checked.unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    let cnt = CNT as usize;
    assert_eq!(checked_mem[cnt..cnt + 8], [0; 8], "seed {seed}: the loop did not count down");

    m.reset(&init);
    // SAFETY: the checked run above, from the same memory, made only
    // in-bounds aligned accesses, and the program's control flow does not
    // depend on addresses (r9/r10 are only used as bases).
    let fast = unsafe { vm.run_fast(&prog, &[m.map_addr()]) }.expect("fast run");
    assert_eq!((fast, m.bytes()), (checked, checked_mem.clone()), "seed {seed}: fast mode");

    m.reset(&init);
    // SAFETY: as for the fast run.
    let j = unsafe { jit.run(&[m.map_addr()]) }.unwrap_or_else(|e| panic!("seed {seed}: JIT: {e}"));
    assert_eq!((j, m.bytes()), (checked, checked_mem), "seed {seed}: JIT disagrees");
}

#[test]
fn random_programs_agree() {
    for seed in 0..10_000 {
        check_seed(seed);
    }
}

#[test]
#[ignore = "long: 1M random programs"]
fn random_programs_agree_long() {
    for seed in 0..1_000_000 {
        check_seed(seed);
    }
}

#[test]
fn entry_starts_with_the_patchable_nop_and_offsets_are_monotonic() {
    let insns = bpfemu_isa::encode_program(&[
        Instruction::LdImm64 { dst: r(0), src: LdImm64::Imm(7) },
        Instruction::Exit,
    ]);
    let prog = Program::new(&insns).unwrap();
    let jit = JitProgram::compile(&prog, &Interpreter::new()).unwrap();
    assert_eq!(&jit.code()[..5], &ENTRY_NOP);
    let offs = jit.native_offsets();
    assert_eq!(offs.len(), prog.len());
    assert!(offs.windows(2).all(|w| w[0] <= w[1]));
    // SAFETY: the program touches no memory.
    assert_eq!(unsafe { jit.run(&[]) }, Ok(7));
}

extern "C" fn sum_sq(a: u64, b: u64, c: u64, d: u64, e: u64) -> u64 {
    a * a + b * b + c * c + d * d + e * e
}

#[test]
fn helper_calls_use_the_interpreters_table() {
    use bpfemu_isa::CallTarget;
    let mov = |d: u8, k: i32| Instruction::Alu {
        width: Width::W64,
        op: AluOp::Mov,
        dst: r(d),
        src: Source::Imm(k),
    };
    let p = [
        mov(6, 100),
        mov(1, 1),
        mov(2, 2),
        mov(3, 3),
        mov(4, 4),
        mov(5, 5),
        Instruction::Call(CallTarget::Helper(1)),
        Instruction::Alu { width: Width::W64, op: AluOp::Add, dst: r(0), src: Source::Reg(r(6)) },
        Instruction::Exit,
    ];
    let prog = Program::new(&bpfemu_isa::encode_program(&p)).unwrap();
    let mut vm = Interpreter::new();
    let jit = JitProgram::compile(&prog, &vm).unwrap();
    // SAFETY: the program touches only its stack.
    assert_eq!(unsafe { jit.run(&[]) }, Err(VmError::UnknownHelper { pc: 6, id: 1 }));
    vm.register_helper(1, sum_sq);
    let jit = JitProgram::compile(&prog, &vm).unwrap();
    // SAFETY: the program touches only its stack.
    assert_eq!(unsafe { jit.run(&[]) }, Ok(155));
}

#[test]
fn writes_to_r10_are_refused() {
    let cases = [
        Instruction::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::FP, src: Source::Imm(8) },
        Instruction::Ldx { size: Size::DW, sx: false, dst: Reg::FP, src: r(1), off: 0 },
        Instruction::Atomic { size: Size::DW, op: AtomicOp::Xchg, dst: r(1), src: Reg::FP, off: 0 },
    ];
    for ins in cases {
        let prog = Program::new(&bpfemu_isa::encode_program(&[ins, Instruction::Exit])).unwrap();
        assert_eq!(
            JitProgram::compile(&prog, &Interpreter::new()).unwrap_err(),
            JitError::Unsupported { pc: 0, what: "a write to r10" }
        );
    }
}

#[test]
fn jit_program_is_send_sync_and_debug() {
    fn check<T: Send + Sync + std::fmt::Debug>() {}
    check::<JitProgram>();
}
