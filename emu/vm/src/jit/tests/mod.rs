//! Differential tests: the interpreter is the JIT's oracle.
//!
//! - [`random`]: seeded random programs (SplitMix64, so failures reproduce
//!   by seed) with subprograms, loops and memory on several frames; each
//!   runs in checked mode, fast mode and on the JIT, comparing r0, the
//!   registers, every frame and the buffer.
//!   `random_programs_agree` runs 100 000 programs in release builds (the
//!   CI's `cargo test --workspace --release`) and 10 000 in debug builds;
//!   `regression_seeds_agree` reruns the seeds of [`REGRESSION_SEEDS`]; the long run
//!   (`#[ignore]`) runs `BPFEMU_JIT_PROGRAMS` programs (default 1 000 000)
//!   from seed `BPFEMU_JIT_SEED` (default 0):
//!   `BPFEMU_JIT_PROGRAMS=10000000 cargo test -p bpfemu-vm --release --lib -- --ignored random_programs_agree_long`.
//! - [`calls`]: calls, tail calls, packet loads, callbacks, run-time errors.
//! - Below: entry layout, helper binding, refused programs.

use super::*;

mod calls;
mod divide;
mod random;
mod retarget;

use crate::tests::Mem;
use crate::{MemRegion, VmError};
use bpfemu_isa::{AluOp, AtomicOp, Instruction, LdImm64, Reg, Size, Source, Width};
use random::{CB_HELPER, CNT, DUMP, Rng, TAIL_MAP, each_cb, gen_program, r};
use std::sync::Arc;

/// The prog array of random programs: `TAIL_MAP` slot 0 only.
struct Slot0(Arc<Program>);

impl crate::TailCallResolver for Slot0 {
    fn resolve(&self, map: u64, index: u64) -> Option<Arc<Program>> {
        (map == TAIL_MAP && index == 0).then(|| self.0.clone())
    }
}

fn check_seed(seed: u64) {
    let mut g = Rng(seed);
    let tail = g.chance(15);
    let insns = bpfemu_isa::encode_program(&gen_program(&mut g, tail));
    let init: Vec<u8> = (0..DUMP).map(|_| g.next() as u8).collect();
    let prog =
        Program::new(&insns).unwrap_or_else(|e| panic!("seed {seed}: generator made a bad program: {e}"));
    let mut vm = Interpreter::new();
    vm.register_callback_helper(CB_HELPER, each_cb);
    if tail {
        // The target may tail call itself: up to the limit of 33.
        let again = g.chance(50);
        let target = bpfemu_isa::encode_program(&gen_program(&mut g, again));
        let target = Program::new(&target).unwrap_or_else(|e| panic!("seed {seed}: bad target: {e}"));
        vm.set_tail_call_resolver(Arc::new(Slot0(Arc::new(target))));
    }
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

/// Programs per `random_programs_agree` run: 100 000 in release builds
/// (about 15 s on the 2-core dev machine), 10 000 in debug builds.
const PROGRAMS: u64 = if cfg!(debug_assertions) { 10_000 } else { 100_000 };

#[test]
fn random_programs_agree() {
    for seed in 0..PROGRAMS {
        check_seed(seed);
    }
}

/// Seeds whose programs once made the JIT disagree with the interpreter,
/// kept after the fix so the divergence stays fixed even if it lies
/// outside `0..PROGRAMS` (found by the long run). One line each:
/// `seed, // what diverged; fixing commit`. A seed names a program of the
/// generator in `random.rs` as of that commit: when the generator changes,
/// re-find the program (or turn it into a fixed test in `calls.rs`).
///
/// Empty: no run of the random tests has diverged since the JIT landed
/// (the 1M-program long run passed on 2026-11-22), and the git history
/// records no failing seed.
const REGRESSION_SEEDS: &[u64] = &[];

#[test]
fn regression_seeds_agree() {
    for &seed in REGRESSION_SEEDS {
        check_seed(seed);
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

#[test]
#[ignore = "long: BPFEMU_JIT_PROGRAMS (default 1M) random programs"]
fn random_programs_agree_long() {
    let first = env_u64("BPFEMU_JIT_SEED", 0);
    for seed in first..first + env_u64("BPFEMU_JIT_PROGRAMS", 1_000_000) {
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

#[test]
fn generator_covers_subprograms_stack_pointers_and_callbacks() {
    use bpfemu_isa::CallTarget;
    let (mut with_calls, mut parent, mut callbacks) = (0, 0, 0);
    for seed in 0..200 {
        let p = gen_program(&mut Rng(seed), seed % 2 == 0);
        with_calls += usize::from(p.iter().any(|i| matches!(i, Instruction::Call(CallTarget::Local(_)))));
        callbacks += usize::from(p.contains(&Instruction::Call(CallTarget::Helper(CB_HELPER))));
        parent += usize::from(p.iter().any(|i| match *i {
            Instruction::Ldx { src, .. } => src == r(6),
            Instruction::Stx { dst, .. } | Instruction::St { dst, .. } | Instruction::Atomic { dst, .. } => {
                dst == r(6)
            }
            _ => false,
        }));
    }
    assert!(with_calls > 60 && parent > 60 && callbacks > 20, "{with_calls} {parent} {callbacks}");
}
