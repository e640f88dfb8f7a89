//! Callbacks: helpers calling subprograms back (`call_callback`), in every
//! mode.

use super::asm::*;
use super::{M, Mem, exec_all, exec_in};
use crate::{
    Interpreter, Program, TailCallResolver, VmError, call_callback, call_callback_with_memory, callback_token,
};
use bpfemu_isa::{AluOp, Instruction, JmpOp, Size, Source, Width, encode_program};
use std::sync::Arc;

/// `bpf_loop`-like: calls `cb(i, ctx)` for i in 0..n until it returns
/// non-zero; the number of calls, or u64::MAX on an error.
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

/// Calls `cb(key_ptr, ctx)` with a 4-byte key `k` for k in 0..n, the key
/// in helper memory lent to the callback.
extern "C" fn each_key(n: u64, cb: u64, ctx: u64, _: u64, _: u64) -> u64 {
    for i in 0..n {
        let key = (i as u32 * 10).to_le_bytes();
        let addr = key.as_ptr().expose_provenance() as u64;
        if call_callback_with_memory(cb, [addr, ctx, 0, 0, 0], &key).is_err() {
            return u64::MAX;
        }
    }
    n
}

/// A plain helper calling back: not allowed.
extern "C" fn rogue(cb: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    match call_callback(cb, [0; 5]) {
        Err(VmError::NoCallbackContext) => 7,
        _ => 0,
    }
}

fn interp() -> Interpreter {
    let mut i = Interpreter::new();
    i.register_callback_helper(200, each);
    i.register_callback_helper(201, each_key);
    i.register_helper(202, rogue);
    i
}

fn token(k: u32) -> Instruction {
    ld64(2, callback_token(k))
}

/// main: sum = 0 on the stack; n = each(r1 = `n`, cb, &sum);
/// r0 = sum * 100 + n. The callback (slot 12) adds i to *ctx and returns
/// `i == stop`.
fn sum_prog(n: i32, stop: i32) -> Vec<Instruction> {
    vec![
        st(Size::DW, 10, -8, 0),                             // 0
        movr(3, 10),                                         // 1
        alu64i(AluOp::Add, 3, -8),                           // 2
        token(12),                                           // 3, 4
        mov(1, n),                                           // 5
        call(200),                                           // 6
        movr(6, 0),                                          // 7
        ldx(Size::DW, 0, 10, -8),                            // 8
        alu64i(AluOp::Mul, 0, 100),                          // 9
        alu64(AluOp::Add, 0, 6),                             // 10
        exit(),                                              // 11
        ldx(Size::DW, 3, 2, 0),                              // 12: callback
        alu64(AluOp::Add, 3, 1),                             // 13
        stx(Size::DW, 2, 3, 0),                              // 14
        mov(0, 0),                                           // 15
        jmp(Width::W64, JmpOp::Ne, 1, Source::Imm(stop), 1), // 16
        mov(0, 1),                                           // 17
        exit(),                                              // 18
    ]
}

#[test]
fn callback_sums_into_the_callers_stack_in_every_mode() {
    assert_eq!(exec_all(&interp(), &sum_prog(10, -1), &[], None).ret, Ok(4510));
    // Zero iterations.
    assert_eq!(exec_all(&interp(), &sum_prog(0, -1), &[], None).ret, Ok(0));
}

#[test]
fn a_non_zero_return_stops_the_loop() {
    // Stops after i = 3: 0+1+2+3 = 6, 4 calls.
    assert_eq!(exec_all(&interp(), &sum_prog(10, 3), &[], None).ret, Ok(604));
}

#[test]
fn callback_frames_count_against_the_call_depth() {
    // The callback (slot 6) calls each(1, itself, 0) again: frame 1 is
    // main, each level one more; the 8th level has no frame left.
    let prog = [
        mov(1, 1), // 0
        token(6),  // 1, 2
        mov(3, 0), // 3
        call(200), // 4
        exit(),    // 5
        mov(1, 1), // 6: callback
        token(6),  // 7, 8
        mov(3, 0), // 9
        call(200), // 10
        exit(),    // 11
    ];
    let o = exec_all(&interp(), &prog, &[], None);
    assert_eq!(o.ret, Err(VmError::CallDepthExceeded { pc: 10, max: 8 }));
    // A bpf2bpf call in main uses a frame too: from main's callee, the
    // recursion fails one level earlier (same error, same place).
    let mut via_sub = vec![call_local(1), exit()];
    via_sub.extend(prog.iter().map(|i| match *i {
        Instruction::LdImm64 { .. } => token(8),
        other => other,
    }));
    let o = exec_all(&interp(), &via_sub, &[], None);
    assert_eq!(o.ret, Err(VmError::CallDepthExceeded { pc: 12, max: 8 }));
}

/// The callback counts its level in *ctx (main's stack) and recurses
/// until `levels`: main is one frame, so 7 callback levels fit.
#[test]
fn depth_limit_counts_levels_exactly() {
    let run = |levels: i32| {
        let p = [
            st(Size::DW, 10, -8, 0),                               // 0
            movr(3, 10),                                           // 1
            alu64i(AluOp::Add, 3, -8),                             // 2
            mov(1, 1),                                             // 3
            token(9),                                              // 4, 5
            call(200),                                             // 6
            ldx(Size::DW, 0, 10, -8),                              // 7
            exit(),                                                // 8
            ldx(Size::DW, 4, 2, 0),                                // 9: callback(i, ctx)
            alu64i(AluOp::Add, 4, 1),                              // 10
            stx(Size::DW, 2, 4, 0),                                // 11
            mov(0, 0),                                             // 12
            jmp(Width::W64, JmpOp::Ge, 4, Source::Imm(levels), 5), // 13 -> 19
            movr(3, 2),                                            // 14
            mov(1, 1),                                             // 15
            token(9),                                              // 16, 17
            call(200),                                             // 18
            exit(),                                                // 19
        ];
        exec_all(&interp(), &p, &[], None).ret
    };
    assert_eq!(run(7), Ok(7));
    assert_eq!(run(8), Err(VmError::CallDepthExceeded { pc: 18, max: 8 }));
}

#[test]
fn callbacks_share_the_step_budget() {
    let mut i = interp();
    // 11 steps in main (+1 per ld_imm64 pair counted once), 7 per call.
    i.set_step_limit(Some(1000));
    assert_eq!(exec_all(&i, &sum_prog(10, -1), &[], None).ret, Ok(4510));
    i.set_step_limit(Some(60));
    let o = exec_all(&i, &sum_prog(10, -1), &[], None);
    assert!(matches!(o.ret, Err(VmError::StepLimitExceeded { limit: 60, .. })), "{:?}", o.ret);
}

#[test]
fn traced_mode_sees_callback_instructions() {
    let p = Program::new(&encode_program(&sum_prog(3, -1))).unwrap();
    let mut mem = Mem::new(&[]);
    let regions = mem.regions();
    let mut pcs = Vec::new();
    let r = interp().run_traced(&p, &[], &regions, &mut |s| pcs.push((s.pc, s.frame)));
    assert_eq!(r, Ok(303));
    // The callback's instructions, one frame below main's.
    assert_eq!(pcs.iter().filter(|&&s| s == (12, 1)).count(), 3);
    assert!(pcs.iter().all(|&(pc, frame)| frame == usize::from(pc >= 12)));
}

#[test]
fn bad_tokens_and_targets_fail_the_run() {
    let bad = |tok: u64| vec![mov(1, 1), ld64(2, tok), mov(3, 0), call(200), exit(), mov(0, 0), exit()];
    let o = exec_all(&interp(), &bad(5), &[], None);
    assert_eq!(o.ret, Err(VmError::NotACallback { pc: 4, token: 5 }));
    let o = exec_all(&interp(), &bad(callback_token(99)), &[], None);
    assert_eq!(o.ret, Err(VmError::BadCallback { pc: 4, target: 99 }));
    // The second slot of a ld_imm64 is not an instruction.
    let o = exec_all(&interp(), &bad(callback_token(2)), &[], None);
    assert_eq!(o.ret, Err(VmError::BadCallback { pc: 4, target: 2 }));
    // A valid target.
    assert_eq!(exec_all(&interp(), &bad(callback_token(6)), &[], None).ret, Ok(1));
}

#[test]
fn only_callback_helpers_can_call_back() {
    let prog = [token(3), movr(1, 2), call(202), exit(), mov(0, 0), exit()];
    assert_eq!(exec_all(&interp(), &prog, &[], None).ret, Ok(7));
    assert_eq!(call_callback(callback_token(0), [0; 5]), Err(VmError::NoCallbackContext));
}

#[test]
fn memory_lent_to_the_callback_is_readable_in_checked_mode() {
    // Sums the keys 0, 10, 20 into main's stack.
    let prog = [
        st(Size::DW, 10, -8, 0),   // 0
        movr(3, 10),               // 1
        alu64i(AluOp::Add, 3, -8), // 2
        mov(1, 3),                 // 3
        token(9),                  // 4, 5
        call(201),                 // 6
        ldx(Size::DW, 0, 10, -8),  // 7
        exit(),                    // 8
        ldx(Size::W, 3, 1, 0),     // 9: callback(key, ctx)
        ldx(Size::DW, 4, 2, 0),    // 10
        alu64(AluOp::Add, 4, 3),   // 11
        stx(Size::DW, 2, 4, 0),    // 12
        mov(0, 0),                 // 13
        exit(),                    // 14
    ];
    assert_eq!(exec_all(&interp(), &prog, &[], None).ret, Ok(30));
    // Without the loan, the key is out of bounds.
    let mut i = interp();
    i.register_callback_helper(201, each);
    let p = Program::new(&encode_program(&prog)).unwrap();
    let o = exec_in(&i, M::Checked, &p, &[], None);
    assert!(matches!(o.ret, Err(VmError::MemoryViolation { pc: 9, .. })), "{:?}", o.ret);
}

/// A prog array with one program.
struct One(Arc<Program>);

impl TailCallResolver for One {
    fn resolve(&self, _: u64, index: u64) -> Option<Arc<Program>> {
        (index == 0).then(|| self.0.clone())
    }
}

#[test]
fn after_a_tail_call_callbacks_run_in_the_tail_called_program() {
    // Main's slot 7 would return 1; the target's slot 7 returns 2.
    let main = [ld64(2, 0), mov(3, 0), call(12), mov(0, 9), exit(), exit(), mov(0, 1), exit()];
    let target = [
        mov(1, 1), // 0
        token(7),  // 1, 2
        mov(3, 0), // 3
        call(200), // 4: each(1, cb) = 1 if the callback returned non-zero
        exit(),    // 5
        exit(),    // 6
        mov(0, 2), // 7
        exit(),    // 8
    ];
    let mut i = interp();
    i.set_tail_call_resolver(Arc::new(One(Arc::new(Program::new(&encode_program(&target)).unwrap()))));
    assert_eq!(exec_all(&i, &main, &[], None).ret, Ok(1));
    // The callback ran in the target: its r0 (2) is what stopped the loop;
    // check it directly with a helper that returns the callback's r0.
    extern "C" fn once(_: u64, cb: u64, _: u64, _: u64, _: u64) -> u64 {
        call_callback(cb, [0; 5]).unwrap_or(u64::MAX)
    }
    i.register_callback_helper(200, once);
    assert_eq!(exec_all(&i, &main, &[], None).ret, Ok(2));
}
