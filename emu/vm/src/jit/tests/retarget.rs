//! Patchable entries: [`JitProgram::retarget`] redirects a function entry
//! to another program and back, while other threads keep running.

use crate::jit::ENTRY_NOP;
use crate::tests::asm::*;
use crate::{Interpreter, JitError, JitProgram, Program};
use bpfemu_isa::{AluOp, Instruction, JmpOp, Source, Width, encode_program};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

fn jit(p: &[Instruction]) -> JitProgram {
    let prog = Program::new(&encode_program(p)).expect("test program loads");
    JitProgram::compile(&prog, &Interpreter::new()).expect("compiles")
}

/// r0 = f(r1) + 1 where f (slot 4) is r0 = r1 * 2; called with r1 = 20.
fn caller() -> JitProgram {
    jit(&[
        mov(1, 20),               // 0
        call_local(2),            // 1 -> 4
        alu64i(AluOp::Add, 0, 1), // 2
        exit(),                   // 3
        movr(0, 1),               // 4: f
        alu64i(AluOp::Mul, 0, 2), // 5
        exit(),                   // 6
    ])
}

/// r0 = r1 + 100.
fn replacement() -> JitProgram {
    jit(&[movr(0, 1), alu64i(AluOp::Add, 0, 100), exit()])
}

fn run(p: &JitProgram, r1: u64) -> u64 {
    // SAFETY: the test programs touch no memory and end with exit.
    unsafe { p.run(&[r1]) }.expect("runs")
}

#[test]
fn entries_are_slot_0_and_call_targets() {
    assert_eq!(caller().entries(), vec![0, 4]);
    assert_eq!(replacement().entries(), vec![0]);
}

#[test]
fn a_subprogram_entry_is_redirected_and_restored() {
    let (a, b) = (caller(), replacement());
    assert_eq!(run(&a, 0), 41);
    let site = a.native_offsets()[4];
    assert_eq!(a.code()[site..site + 5], ENTRY_NOP);
    a.retarget(4, Some(&b)).unwrap();
    assert_eq!(run(&a, 0), 121, "f replaced: 20 + 100, then + 1");
    assert_eq!(a.code()[site], 0xe9, "the patch site is a jmp rel32");
    assert_eq!(a.native_offsets()[4], site, "retargeting moves no code");
    a.retarget(4, None).unwrap();
    assert_eq!(run(&a, 0), 41);
    assert_eq!(a.code()[site..site + 5], ENTRY_NOP);
}

#[test]
fn the_main_entry_is_redirected() {
    let (a, b) = (caller(), replacement());
    a.retarget(0, Some(&b)).unwrap();
    assert_eq!(run(&a, 5), 105, "the replacement runs with the caller's r1");
}

#[test]
fn only_function_entries_can_be_retargeted() {
    let (a, b) = (caller(), replacement());
    assert_eq!(a.retarget(2, Some(&b)), Err(JitError::NotAnEntry { pc: 2 }));
    assert_eq!(a.retarget(99, None), Err(JitError::NotAnEntry { pc: 99 }));
    assert_eq!(run(&a, 0), 41);
}

#[test]
fn the_replacement_outlives_its_program_while_patched_in() {
    let a = caller();
    a.retarget(4, Some(&replacement())).unwrap();
    assert_eq!(run(&a, 0), 121);
}

#[test]
fn retargeting_while_other_threads_run_gives_one_of_the_two_results() {
    let (a, b) = (caller(), replacement());
    let stop = AtomicBool::new(false);
    let runs = AtomicUsize::new(0);
    thread::scope(|s| {
        let runners: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut seen = [0u32; 2];
                    while !stop.load(Ordering::Relaxed) {
                        match run(&a, 0) {
                            41 => seen[0] += 1,
                            121 => seen[1] += 1,
                            r0 => panic!("a run returned {r0}"),
                        }
                        runs.fetch_add(1, Ordering::Relaxed);
                    }
                    seen
                })
            })
            .collect();
        // At least 200 flips, and runs going on while they happen.
        let mut flips = 0;
        while flips < 200 || runs.load(Ordering::Relaxed) < 2000 {
            a.retarget(4, (flips % 2 == 0).then_some(&b)).unwrap();
            flips += 1;
        }
        if flips % 2 == 1 {
            a.retarget(4, None).unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        for r in runners {
            r.join().expect("runner thread");
        }
    });
    assert_eq!(run(&a, 0), 41, "the flips end unpatched");
}

/// The interpreter's [`Program::replace`] and the JIT's retarget agree:
/// the same replacements give the same results on both engines, for a
/// subprogram entry, the main entry, and calls in a loop (the interpreter
/// enters the replacement many times in one run).
#[test]
fn interpreter_replacements_match_retargeted_images() {
    let looped = [
        mov(6, 0),                                         // 0: acc
        mov(7, 3),                                         // 1: count
        movr(1, 7),                                        // 2
        call_local(5),                                     // 3 -> 9
        alu64(AluOp::Add, 6, 0),                           // 4
        alu64i(AluOp::Sub, 7, 1),                          // 5
        jmp(Width::W64, JmpOp::Ne, 7, Source::Imm(0), -5), // 6 -> 2
        movr(0, 6),                                        // 7
        exit(),                                            // 8
        movr(0, 1),                                        // 9: f
        alu64i(AluOp::Mul, 0, 2),                          // 10
        exit(),                                            // 11
    ];
    let repl = [movr(0, 1), alu64i(AluOp::Add, 0, 100), exit()];
    let prog = Program::new(&encode_program(&looped)).unwrap();
    let rp = std::sync::Arc::new(Program::new(&encode_program(&repl)).unwrap());
    let (a, b) = (jit(&looped), jit(&repl));
    let vm = Interpreter::new();
    // SAFETY: the test programs touch no memory and end with exit.
    let interp = |p: &Program| unsafe { vm.run_fast(p, &[0]) }.expect("runs");
    assert_eq!((interp(&prog), run(&a, 0)), (12, 12), "2 * (3 + 2 + 1)");
    assert!(prog.replace(9, Some(rp.clone())));
    a.retarget(9, Some(&b)).unwrap();
    assert_eq!((interp(&prog), run(&a, 0)), (306, 306), "3 + 2 + 1 + 3 * 100");
    assert!(prog.replace(0, Some(rp.clone())));
    a.retarget(0, Some(&b)).unwrap();
    assert_eq!((interp(&prog), run(&a, 0)), (100, 100));
    assert!(prog.replace(0, None) && prog.replace(9, None));
    a.retarget(0, None).unwrap();
    a.retarget(9, None).unwrap();
    assert_eq!((interp(&prog), run(&a, 0)), (12, 12));
    assert!(!prog.replace(2, Some(rp)), "not a function entry");
    assert_eq!(prog.entries(), vec![0, 9]);
}
