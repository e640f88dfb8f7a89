//! Calls on the JIT, each compared with the interpreter (checked, fast and
//! traced, through the shared `exec_all` harness) and required to compile:
//! bpf2bpf calls and the frame limit, tail calls (a chain of 33 images
//! compiled lazily, the limit, a target the JIT cannot compile), kfuncs,
//! `callx`, `LD_ABS`/`LD_IND`, callback helpers (nested, depth limit,
//! errors), run-time errors.

use crate::tests::asm::*;
use crate::tests::{Out, exec_all, exec_jit};
use crate::{Interpreter, Program, TailCallResolver, VmError, call_callback, callback_token};
use bpfemu_isa::{AluOp, Instruction, JmpOp, Size, Source, Width, encode_program};
use std::sync::{Arc, Mutex};

/// Runs `p` on every interpreter mode and on the JIT (which must compile
/// it), asserts they agree, returns the outcome.
fn agree(vm: &Interpreter, p: &[Instruction], init: &[u8], packet: Option<&[u8]>) -> Out {
    let out = exec_all(vm, p, init, packet);
    let prog = Program::new(&encode_program(p)).expect("test program loads");
    let jit = exec_jit(vm, &prog, init, packet).expect("the JIT compiles and runs the program");
    assert_eq!(jit, out, "the JIT disagrees");
    out
}

#[test]
fn bpf2bpf_calls_restore_r1_to_r10_and_pass_stack_pointers() {
    let mut p: Vec<Instruction> = (1..=9).map(|i| mov(i, i32::from(i) * 11)).collect();
    p.extend([
        st(Size::DW, 10, -8, 5),     // 9
        movr(1, 10),                 // 10
        alu64i(AluOp::Add, 1, -8),   // 11
        call_local(9),               // 12 -> 22
        movr(8, 1),                  // 13: r1 restored (r10 - 8)
        ldx(Size::DW, 6, 8, 0),      // 14: the slot the callee doubled
        alu64(AluOp::Sub, 8, 10),    // 15: -8
        alu64i(AluOp::Mul, 6, 1000), // 16
        alu64(AluOp::Add, 0, 6),     // 17
        alu64(AluOp::Add, 0, 8),     // 18
        alu64(AluOp::Add, 0, 9),     // 19: r9 restored (99)
        alu64(AluOp::Add, 0, 5),     // 20: r5 restored (55)
        exit(),                      // 21
        ldx(Size::DW, 0, 1, 0),      // 22: callee
        alu64i(AluOp::Mul, 0, 2),
        stx(Size::DW, 1, 0, 0),
        st(Size::DW, 10, -8, 77), // its own frame
        ldx(Size::DW, 3, 10, -8),
        alu64(AluOp::Add, 0, 3), // 87
        mov(1, 0),
        mov(2, 0),
        mov(5, 0),
        mov(6, 0),
        mov(9, 0),
        exit(),
    ]);
    assert_eq!(agree(&Interpreter::new(), &p, &[], None).ret, Ok(87 + 10_000 - 8 + 99 + 55));
}

/// Recursion `levels` below main through a subprogram.
fn recurse(levels: i32) -> Result<u64, VmError> {
    let p = [
        mov(1, levels),
        call_local(1),
        exit(),
        mov(0, 0),
        jmp(Width::W64, JmpOp::Eq, 1, Source::Imm(0), 3),
        alu64i(AluOp::Sub, 1, 1),
        call_local(-4),
        alu64i(AluOp::Add, 0, 1),
        exit(),
    ];
    agree(&Interpreter::new(), &p, &[], None).ret
}

#[test]
fn call_depth_is_limited_to_eight_frames() {
    assert_eq!(recurse(6), Ok(6));
    assert_eq!(recurse(7), Err(VmError::CallDepthExceeded { pc: 6, max: 8 }));
}

const MAP: u64 = 0xabc0_0000;

/// A prog array at `MAP`; counts the questions.
#[derive(Default)]
struct Table {
    slots: Vec<Option<Arc<Program>>>,
    asked: Mutex<u64>,
}

impl TailCallResolver for Table {
    fn resolve(&self, map: u64, index: u64) -> Option<Arc<Program>> {
        *self.asked.lock().unwrap() += 1;
        if map != MAP {
            return None;
        }
        self.slots.get(usize::try_from(index).ok()?).cloned().flatten()
    }
}

fn load(p: &[Instruction]) -> Arc<Program> {
    Arc::new(Program::new(&encode_program(p)).unwrap())
}

/// Program `i` of the chain: r6 += i; tail call slot i + 1; r0 = r6.
fn link(i: i32) -> Vec<Instruction> {
    vec![alu64i(AluOp::Add, 6, i), ld64(2, MAP), mov(3, i + 1), call(12), movr(0, 6), exit()]
}

#[test]
fn a_chain_of_33_tail_calls_runs_on_lazily_compiled_images() {
    // main (slot 0's program) → 1 → 2 → ... → 33; the 34th attempt fails on
    // the count, without asking the resolver, and 33 continues.
    let table =
        Arc::new(Table { slots: (0..=40).map(|i| Some(load(&link(i)))).collect(), asked: Mutex::new(0) });
    let mut vm = Interpreter::new();
    vm.set_tail_call_resolver(table.clone());
    let main = link(0);
    let out = agree(&vm, &main, &[], None);
    assert_eq!(out.ret, Ok((1..=33).sum::<u64>()));
    // The JIT alone: 33 questions, the images are cached.
    let jit = crate::JitProgram::compile(&load(&main), &vm).unwrap();
    for _ in 0..2 {
        *table.asked.lock().unwrap() = 0;
        // SAFETY: the programs touch nothing.
        assert_eq!(unsafe { jit.run(&[]) }, Ok((1..=33).sum::<u64>()));
        assert_eq!(*table.asked.lock().unwrap(), 33);
    }
}

#[test]
fn tail_calls_from_a_callee_return_to_the_caller_and_failures_keep_r0() {
    let target = [mov(0, 40), exit()];
    let table = Arc::new(Table { slots: vec![None, Some(load(&target))], asked: Mutex::new(0) });
    let mut vm = Interpreter::new();
    vm.set_tail_call_resolver(table);
    let p = [
        call_local(3), // 0 -> 4
        alu64i(AluOp::Add, 0, 2),
        exit(),
        exit(),
        mov(0, 7), // 4: callee
        ld64(2, MAP),
        mov(3, 0), // empty slot: continue, r0 = 7
        call(12),
        alu64i(AluOp::Add, 0, 100), // 9
        ld64(2, MAP),
        mov(3, 1),
        mov(6, 12),
        callx(6), // 14: tail call via callx → target's exit returns to main
        mov(0, 999),
        exit(),
    ];
    assert_eq!(agree(&vm, &p, &[], None).ret, Ok(42));
}

#[test]
fn a_tail_call_into_a_program_the_jit_refuses_fails_the_run() {
    let bad = [alu64i(AluOp::Add, 10, 0), mov(0, 1), exit()];
    let table = Arc::new(Table { slots: vec![Some(load(&bad))], asked: Mutex::new(0) });
    let mut vm = Interpreter::new();
    vm.set_tail_call_resolver(table);
    let p = [ld64(2, MAP), mov(3, 0), call(12), exit()];
    let prog = load(&p);
    let jit = crate::JitProgram::compile(&prog, &vm).unwrap();
    // SAFETY: the programs touch nothing.
    let r = unsafe { jit.run(&[]) };
    assert_eq!(
        r,
        Err(VmError::NotJitted { pc: 3, reason: "pc 0: a write to r10 is not supported by the JIT".into() })
    );
    assert_eq!(vm.run_checked(&prog, &[], &[]), Ok(1));
}

extern "C" fn weigh(a: u64, b: u64, c: u64, d: u64, e: u64) -> u64 {
    a + 10 * b + 100 * c + 1000 * d + 10_000 * e
}

#[test]
fn kfuncs_callx_and_unknown_ids() {
    let mut vm = Interpreter::new();
    vm.register_helper(1, weigh);
    vm.register_kfunc(70_000, weigh);
    let args = [mov(1, 1), mov(2, 2), mov(3, 3), mov(4, 4), mov(5, 5)];
    let with = |call: Instruction| {
        let mut p = args.to_vec();
        p.extend([call, exit()]);
        p
    };
    assert_eq!(agree(&vm, &with(kfunc(70_000)), &[], None).ret, Ok(54_321));
    assert_eq!(
        agree(&vm, &with(kfunc(70_001)), &[], None).ret,
        Err(VmError::UnknownKfunc { pc: 5, btf_id: 70_001 })
    );
    assert_eq!(agree(&vm, &with(call(2)), &[], None).ret, Err(VmError::UnknownHelper { pc: 5, id: 2 }));
    let mut p = vec![mov(6, 1)];
    p.extend(with(callx(6)));
    assert_eq!(agree(&vm, &p, &[], None).ret, Ok(54_321));
    p[0] = ld64(6, 1 << 40);
    assert_eq!(agree(&vm, &p, &[], None).ret, Err(VmError::UnknownHelper { pc: 7, id: 1 << 40 }));
}

#[test]
fn falling_off_the_end_is_an_error() {
    assert_eq!(agree(&Interpreter::new(), &[mov(0, 1)], &[], None).ret, Err(VmError::FellOffEnd { pc: 1 }));
}

#[test]
fn legacy_packet_loads_big_endian_bounds_and_exit_from_the_callee() {
    let pkt = [1u8, 2, 3, 4, 5, 6];
    let p = [
        ld_abs(Size::B, 1), // 0: r0 = 2
        movr(6, 0),
        mov(7, 3),
        call_local(2), // 3 -> 6
        alu64(AluOp::Add, 0, 6),
        exit(),
        ld_ind(Size::H, 7, 0),   // 6: 0x0405
        movr(8, 0),              // 7
        ld_ind(Size::W, 7, 100), // 8: out of the packet: r0 = 0, return
        mov(0, 999),
        exit(),
    ];
    let vm = Interpreter::new();
    assert_eq!(agree(&vm, &p, &[], Some(&pkt)).ret, Ok(2));
    let p = [
        ld_abs(Size::H, 0),
        movr(6, 0),
        alu64i(AluOp::Lsh, 6, 32),
        ld_abs(Size::W, 2),
        alu64(AluOp::Or, 0, 6),
        ld64(7, 0x1_0000_0001),
        ld_ind(Size::B, 7, 4), // offset 5 (low 32 bits of r7 + 4)
        alu64i(AluOp::Lsh, 6, 8),
        alu64(AluOp::Add, 0, 6),
        mov(7, -1),
        ld_ind(Size::B, 7, 0), // offset -1: r0 = 0, exit
        exit(),
    ];
    assert_eq!(agree(&vm, &p, &[], Some(&pkt)).ret, Ok(0));
    let head: Vec<Instruction> = p[..9].iter().copied().chain([exit()]).collect();
    assert_eq!(agree(&vm, &head, &[], Some(&pkt)).ret, Ok(6 + (0x0102 << 40)));
    assert_eq!(agree(&vm, &[ld_abs(Size::B, -1), exit()], &[], Some(&pkt)).ret, Ok(0));
    assert_eq!(agree(&vm, &[ld_abs(Size::B, 6), exit()], &[], Some(&pkt)).ret, Ok(0));
    assert_eq!(agree(&vm, &[ld_abs(Size::B, 0), exit()], &[], None).ret, Err(VmError::NoPacket { pc: 0 }));
}

/// `bpf_loop`-like: `cb(i, ctx)` for i in 0..n until non-zero; the number of
/// calls, u64::MAX on an error.
extern "C" fn each(n: u64, cb: u64, ctx: u64, _: u64, _: u64) -> u64 {
    for i in 0..n {
        match call_callback(cb, [i, ctx, 0, 0, 0]) {
            Ok(0) => {}
            Ok(_) => return i + 1,
            Err(_) => return u64::MAX,
        }
    }
    n
}

fn cb_vm() -> Interpreter {
    let mut vm = Interpreter::new();
    vm.register_callback_helper(200, each);
    vm
}

#[test]
fn nested_callbacks_reach_the_callers_stack() {
    let p = [
        st(Size::DW, 10, -8, 0),     // 0
        movr(3, 10),                 // 1
        alu64i(AluOp::Add, 3, -8),   // 2
        ld64(2, callback_token(12)), // 3, 4
        mov(1, 3),                   // 5
        call(200),                   // 6
        movr(6, 0),                  // 7
        ldx(Size::DW, 0, 10, -8),    // 8
        alu64i(AluOp::Mul, 0, 100),  // 9
        alu64(AluOp::Add, 0, 6),     // 10
        exit(),                      // 11
        movr(3, 2),                  // 12: cb1(i, ctx)
        ld64(2, callback_token(19)), // 13, 14
        mov(1, 2),                   // 15
        call(200),                   // 16
        mov(0, 0),                   // 17
        exit(),                      // 18
        ldx(Size::DW, 3, 2, 0),      // 19: cb2(i, ctx)
        alu64(AluOp::Add, 3, 1),     // 20
        alu64i(AluOp::Add, 3, 10),   // 21
        stx(Size::DW, 2, 3, 0),      // 22
        call_local(1),               // 23 -> 25: a bpf2bpf call in a callback
        exit(),                      // 24
        mov(0, 0),                   // 25
        exit(),                      // 26
    ];
    assert_eq!(agree(&cb_vm(), &p, &[], None).ret, Ok(6303));
}

#[test]
fn callback_errors_fail_the_run() {
    // Endless recursion through callbacks: out of frames.
    let p = [
        ld64(2, callback_token(5)),
        mov(1, 1),
        call(200),
        exit(),
        ld64(2, callback_token(5)), // 5: the callback
        mov(1, 1),
        call(200),
        exit(),
    ];
    assert_eq!(agree(&cb_vm(), &p, &[], None).ret, Err(VmError::CallDepthExceeded { pc: 8, max: 8 }));
    let bad = [ld64(2, callback_token(1)), mov(1, 1), call(200), exit()];
    assert_eq!(agree(&cb_vm(), &bad, &[], None).ret, Err(VmError::BadCallback { pc: 3, target: 1 }));
    let not = [mov(2, 5), mov(1, 1), call(200), exit()];
    assert_eq!(agree(&cb_vm(), &not, &[], None).ret, Err(VmError::NotACallback { pc: 2, token: 5 }));
}
