//! Entry and exit, arguments, the step budget, falling off the end, legacy
//! packet loads, and sharing programs across threads.

use super::asm::*;
use super::exec_all;
use crate::{Interpreter, MemRegion, Program, VmError};
use bpfemu_isa::{AluOp, AtomicOp, Instruction, JmpOp, Size, Source, Width, encode_program};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

fn load(p: &[Instruction]) -> Program {
    Program::new(&encode_program(p)).unwrap()
}

fn both(i: &Interpreter, p: &Program, args: &[u64]) -> Result<u64, VmError> {
    let checked = i.run_checked(p, args, &[]);
    // SAFETY: the programs given here access no memory at all.
    let fast = unsafe { i.run_fast(p, args) };
    assert_eq!(checked, fast);
    checked
}

#[test]
fn args_go_to_r1_through_r5_and_exit_returns_r0() {
    let mut p = vec![mov(0, 0)];
    for (k, r) in (1..=5u8).enumerate() {
        p.push(alu64i(AluOp::Mul, r, 10i32.pow(k as u32)));
        p.push(alu64(AluOp::Add, 0, r));
    }
    p.push(exit());
    let i = Interpreter::new();
    assert_eq!(both(&i, &load(&p), &[1, 2, 3, 4, 5]), Ok(54321));
    assert_eq!(both(&i, &load(&p), &[7]), Ok(7));
    assert_eq!(both(&i, &load(&p), &[]), Ok(0));
    assert_eq!(both(&i, &load(&p), &[0; 6]), Err(VmError::TooManyArgs { given: 6 }));
}

#[test]
fn falling_off_the_end_is_an_error() {
    let i = Interpreter::new();
    assert_eq!(both(&i, &load(&[mov(0, 1)]), &[]), Err(VmError::FellOffEnd { pc: 1 }));
    assert_eq!(both(&i, &load(&[ld64(0, 1)]), &[]), Err(VmError::FellOffEnd { pc: 2 }));
    // A conditional jump at the end that is not taken.
    let p = load(&[mov(0, 0), jmp(Width::W64, JmpOp::Ne, 0, Source::Imm(0), -2)]);
    assert_eq!(both(&i, &p, &[]), Err(VmError::FellOffEnd { pc: 2 }));
    let msg = VmError::FellOffEnd { pc: 2 }.to_string();
    assert!(msg.contains("last insn is not an exit or jmp"), "{msg}");
}

#[test]
fn step_limit() {
    let mut i = Interpreter::new();
    i.set_step_limit(Some(100));
    assert_eq!(both(&i, &load(&[ja(-1)]), &[]), Err(VmError::StepLimitExceeded { pc: 0, limit: 100 }));
    let three = load(&[mov(0, 1), mov(0, 2), exit()]);
    i.set_step_limit(Some(3));
    assert_eq!(both(&i, &three, &[]), Ok(2));
    let mut n = 0;
    assert_eq!(i.run_traced(&three, &[], &[], &mut |_| n += 1), Ok(2));
    assert_eq!(n, 3);
    i.set_step_limit(Some(2));
    assert_eq!(both(&i, &three, &[]), Err(VmError::StepLimitExceeded { pc: 2, limit: 2 }));
    assert_eq!(
        i.run_traced(&three, &[], &[], &mut |_| {}),
        Err(VmError::StepLimitExceeded { pc: 2, limit: 2 })
    );
    i.set_step_limit(None);
    assert_eq!(both(&i, &three, &[]), Ok(2));
}

const PKT: [u8; 5] = [0x12, 0x34, 0x56, 0x78, 0x9a];

fn pkt(p: &[Instruction]) -> Result<u64, VmError> {
    exec_all(&Interpreter::new(), p, &[], Some(&PKT)).ret
}

#[test]
fn ld_abs_and_ld_ind_read_big_endian() {
    assert_eq!(pkt(&[ld_abs(Size::B, 0), exit()]), Ok(0x12));
    assert_eq!(pkt(&[ld_abs(Size::H, 3), exit()]), Ok(0x789a));
    assert_eq!(pkt(&[ld_abs(Size::W, 1), exit()]), Ok(0x3456_789a));
    assert_eq!(pkt(&[mov(6, 2), ld_ind(Size::H, 6, -1), exit()]), Ok(0x3456));
    assert_eq!(pkt(&[ld64(6, 0x1_0000_0001), ld_ind(Size::B, 6, 0), exit()]), Ok(0x34));
    // r0 is replaced, not merged.
    assert_eq!(pkt(&[ld64(0, u64::MAX), ld_abs(Size::B, 4), exit()]), Ok(0x9a));
}

#[test]
fn ld_abs_out_of_bounds_ends_the_program_with_zero() {
    assert_eq!(pkt(&[mov(0, 77), ld_abs(Size::W, 2), mov(0, 99), exit()]), Ok(0));
    assert_eq!(pkt(&[mov(0, 77), ld_abs(Size::B, 5), mov(0, 99), exit()]), Ok(0));
    assert_eq!(pkt(&[mov(6, -1), ld_ind(Size::B, 6, 0), mov(0, 99), exit()]), Ok(0));
    assert_eq!(pkt(&[ld_abs(Size::H, i32::MAX), mov(0, 99), exit()]), Ok(0));
    // In a callee it ends the callee: the caller continues with r0 = 0.
    let p =
        [call_local(3), alu64i(AluOp::Add, 0, 10), exit(), exit(), ld_abs(Size::B, 100), mov(0, 5), exit()];
    assert_eq!(pkt(&p), Ok(10));
}

#[test]
fn ld_abs_without_a_packet_is_an_error() {
    let o = exec_all(&Interpreter::new(), &[mov(0, 0), ld_abs(Size::B, 0), exit()], &[], None);
    assert_eq!(o.ret, Err(VmError::NoPacket { pc: 1 }));
}

#[test]
fn one_program_many_threads_real_atomics() {
    // for (r2 = 1000; r2; r2--) lock *(u64 *)(r1 + 0) += 1;
    let p = Arc::new(load(&[
        mov(2, 1000),
        mov(3, 1),
        atomic(Size::DW, AtomicOp::Add { fetch: false }, 1, 3, 0),
        alu64i(AluOp::Sub, 2, 1),
        jmp(Width::W64, JmpOp::Ne, 2, Source::Imm(0), -3),
        mov(0, 0),
        exit(),
    ]));
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let addr = COUNTER.as_ptr().expose_provenance() as u64;
    let i = Arc::new(Interpreter::new());
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let (p, i) = (p.clone(), i.clone());
            std::thread::spawn(move || {
                if t == 0 {
                    let regions = [MemRegion::described("counter", addr, 8, true)];
                    i.run_checked(&p, &[addr], &regions)
                } else {
                    // SAFETY: the program only touches the 8-byte static
                    // COUNTER (atomically, aligned) and its own stack.
                    unsafe { i.run_fast(&p, &[addr]) }
                }
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), Ok(0));
    }
    assert_eq!(COUNTER.load(Ordering::SeqCst), 2000);
}
