//! Helper, kfunc, callx and bpf2bpf calls; frames and the call depth.

use super::asm::*;
use super::{Mem, exec_all, exec_interp};
use crate::{Interpreter, Program, TraceStep, VmError};
use bpfemu_isa::{AluOp, Instruction, JmpOp, Size, Source, Width, encode_program};

extern "C" fn weigh(a: u64, b: u64, c: u64, d: u64, e: u64) -> u64 {
    a + 2 * b + 3 * c + 4 * d + 5 * e
}

fn interp() -> Interpreter {
    let mut i = Interpreter::new();
    i.register_helper(1, weigh);
    i.register_kfunc(70_000, weigh);
    i
}

/// r1..r5 = 1..5, then `call`, then r1..r5 stored to map[0..40], r0 returned.
fn call_and_dump(call: Instruction, pre: &[Instruction]) -> (Result<u64, VmError>, Vec<u64>) {
    let mut p = vec![movr(6, 1)];
    p.extend_from_slice(pre);
    p.extend([mov(1, 1), mov(2, 2), mov(3, 3), mov(4, 4), mov(5, 5), call]);
    for i in 1..=5u8 {
        p.push(stx(Size::DW, 6, i, 8 * (i16::from(i) - 1)));
    }
    p.push(exit());
    // Reads r1..r5 after the call: not a verifiable program, so no JIT.
    let o = exec_interp(&interp(), &p, &[0; 40], None);
    let words = o.mem.chunks(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect();
    (o.ret, words)
}

#[test]
fn helper_gets_r1_to_r5_and_returns_in_r0() {
    let (ret, regs) = call_and_dump(call(1), &[]);
    assert_eq!(ret, Ok(1 + 4 + 9 + 16 + 25));
    assert_eq!(regs, [1, 2, 3, 4, 5], "r1..r5 are kept unchanged across a helper call");
}

#[test]
fn kfunc_call_by_btf_id() {
    let (ret, regs) = call_and_dump(kfunc(70_000), &[]);
    assert_eq!(ret, Ok(55));
    assert_eq!(regs, [1, 2, 3, 4, 5]);
}

#[test]
fn callx_takes_the_helper_id_from_a_register() {
    let (ret, _) = call_and_dump(callx(7), &[mov(7, 1)]);
    assert_eq!(ret, Ok(55));
}

#[test]
fn unknown_helpers_and_kfuncs_are_errors() {
    let o = exec_all(&interp(), &[call(99), exit()], &[], None);
    assert_eq!(o.ret, Err(VmError::UnknownHelper { pc: 0, id: 99 }));
    let o = exec_all(&interp(), &[mov(0, 0), kfunc(5), exit()], &[], None);
    assert_eq!(o.ret, Err(VmError::UnknownKfunc { pc: 1, btf_id: 5 }));
    let o = exec_all(&interp(), &[ld64(3, 1 << 40), callx(3), exit()], &[], None);
    assert_eq!(o.ret, Err(VmError::UnknownHelper { pc: 2, id: 1 << 40 }));
    // Helper ids are not kfunc ids and vice versa.
    let o = exec_all(&interp(), &[call(70_000), exit()], &[], None);
    assert_eq!(o.ret, Err(VmError::UnknownHelper { pc: 0, id: 70_000 }));
}

#[test]
fn bpf2bpf_call_passes_args_returns_r0_and_preserves_the_caller() {
    let p = [
        mov(6, 100),                // 0
        st(Size::DW, 10, -8, 0x55), // 1: caller's stack slot
        mov(1, 7),                  // 2
        mov(2, 8),                  // 3
        call_local(7),              // 4 -> 12
        alu64(AluOp::Add, 0, 6),    // 5: r6 preserved
        ldx(Size::DW, 3, 10, -8),   // 6: caller's stack intact
        alu64(AluOp::Add, 0, 3),    // 7
        alu64(AluOp::Add, 0, 1),    // 8: r1 restored (7)
        alu64(AluOp::Add, 0, 2),    // 9: r2 restored (8)
        exit(),                     // 10
        exit(),                     // 11 (unused)
        movr(0, 1),                 // 12: sub
        alu64(AluOp::Add, 0, 2),    // 13: 15
        mov(6, 999),                // 14: clobber callee-saved
        mov(1, 0),                  // 15: clobber args
        mov(2, 0),                  // 16
        stx(Size::DW, 10, 0, -8),   // 17: callee's own frame
        exit(),                     // 18
    ];
    let o = exec_all(&Interpreter::new(), &p, &[], None);
    assert_eq!(o.ret, Ok(15 + 100 + 0x55 + 7 + 8));
}

#[test]
fn callee_frame_is_512_bytes_below() {
    let p = [
        call_local(4),           // 0 -> 5
        movr(1, 10),             // 1
        alu64(AluOp::Sub, 1, 0), // 2
        movr(0, 1),              // 3
        exit(),                  // 4
        movr(0, 10),             // 5
        exit(),                  // 6
    ];
    assert_eq!(exec_all(&Interpreter::new(), &p, &[], None).ret, Ok(512));
}

#[test]
fn callee_may_use_the_callers_stack_through_a_pointer() {
    let p = [
        st(Size::DW, 10, -8, 5),   // 0
        movr(1, 10),               // 1
        alu64i(AluOp::Add, 1, -8), // 2
        call_local(3),             // 3 -> 7
        ldx(Size::DW, 1, 10, -8),  // 4
        alu64(AluOp::Add, 0, 1),   // 5
        exit(),                    // 6
        ldx(Size::DW, 0, 1, 0),    // 7: sub: r0 = *p (5)
        st(Size::DW, 1, 0, 6),     // 8: *p = 6
        exit(),                    // 9
    ];
    assert_eq!(exec_all(&Interpreter::new(), &p, &[], None).ret, Ok(11));
}

/// Recursion `depth` levels below main: 0 = no call.
fn recurse(levels: i32) -> Result<u64, VmError> {
    let p = [
        mov(1, levels),                                   // 0
        call_local(1),                                    // 1 -> 3
        exit(),                                           // 2
        mov(0, 0),                                        // 3: sub
        jmp(Width::W64, JmpOp::Eq, 1, Source::Imm(0), 3), // 4 -> 8
        alu64i(AluOp::Sub, 1, 1),                         // 5
        call_local(-4),                                   // 6 -> 3
        alu64i(AluOp::Add, 0, 1),                         // 7
        exit(),                                           // 8
    ];
    exec_all(&Interpreter::new(), &p, &[], None).ret
}

#[test]
fn call_depth_is_limited_to_eight_frames() {
    // levels = n uses n + 2 frames (main, the first call, n recursive calls).
    assert_eq!(recurse(6), Ok(6));
    assert_eq!(recurse(7), Err(VmError::CallDepthExceeded { pc: 6, max: 8 }));
    assert!(VmError::CallDepthExceeded { pc: 6, max: 8 }.to_string().contains("8 frames"));
}

#[test]
fn checked_catches_dangling_and_straddling_stack_pointers() {
    // The callee returns a pointer into its own frame; main reads it after
    // the frame is gone.
    let dangling = [
        call_local(2),             // 0 -> 3
        ldx(Size::DW, 0, 0, 0),    // 1
        exit(),                    // 2
        st(Size::DW, 10, -8, 1),   // 3
        movr(0, 10),               // 4
        alu64i(AluOp::Add, 0, -8), // 5
        exit(),                    // 6
    ];
    // The callee reads 8 bytes across the boundary with main's frame.
    let straddle = [call_local(1), exit(), ldx(Size::DW, 0, 10, -4), exit()];
    for (prog, pc, below) in [(&dangling[..], 1, 520u64), (&straddle[..], 2, 516)] {
        let p = Program::new(&encode_program(prog)).unwrap();
        let mut top = 0;
        let e = Interpreter::new()
            .run_traced(&p, &[], &[], &mut |s: &TraceStep| {
                if s.pc == 0 {
                    top = s.regs[10];
                }
            })
            .unwrap_err();
        let VmError::MemoryViolation { pc: epc, addr, size, write: false, .. } = e else { panic!("{e:?}") };
        assert_eq!((epc, addr, size as u64), (pc, top - below, 8), "{e}");
        assert!(Interpreter::new().run_checked(&p, &[], &[]).is_err());
    }
}

#[test]
fn tracing_reports_pc_instruction_registers_and_frame() {
    let prog = [mov(0, 1), call_local(1), exit(), mov(0, 2), exit()];
    let p = Program::new(&encode_program(&prog)).unwrap();
    let mut steps = Vec::new();
    let ret = Interpreter::new().run_traced(&p, &[9], &[], &mut |s| {
        steps.push((s.pc, *s.insn, s.regs[0], s.regs[1], s.frame));
    });
    assert_eq!(ret, Ok(2));
    assert_eq!(
        steps,
        [
            (0, prog[0], 0, 9, 0),
            (1, prog[1], 1, 9, 0),
            (3, prog[3], 1, 9, 1),
            (4, prog[4], 2, 9, 1),
            (2, prog[2], 2, 9, 0),
        ]
    );
}

#[test]
fn mem_helper_reads_back() {
    // Sanity of the harness itself: Mem keeps byte order and length.
    let m = Mem::new(&[1, 2, 3]);
    assert_eq!(m.bytes(), [1, 2, 3]);
}
