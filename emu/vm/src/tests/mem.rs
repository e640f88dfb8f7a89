//! Loads, stores, atomics, the stack, and checked mode's findings.

use super::asm::*;
use super::{Mem, Out, exec_all};
use crate::{Interpreter, Program, VmError};
use bpfemu_isa::{AtomicOp, Instruction, Size, encode_program};

fn run(prog: &[Instruction], init: &[u8]) -> Out {
    exec_all(&Interpreter::new(), prog, init, None)
}

/// Runs traced (and checked) on `init`, expecting an error; returns it with
/// the initial r1 (map), r2 (ro) and r10 (stack top).
fn fault(prog: &[Instruction], init: &[u8]) -> (VmError, u64, u64, u64) {
    let p = Program::new(&encode_program(prog)).unwrap();
    let mut mem = Mem::new(init);
    let regions = mem.regions();
    let args = [mem.map_addr(), mem.ro_addr()];
    let mut first = None;
    let err = Interpreter::new()
        .run_traced(&p, &args, &regions, &mut |s| {
            first.get_or_insert(*s.regs);
        })
        .unwrap_err();
    let plain = Interpreter::new().run_checked(&p, &args, &regions).unwrap_err();
    assert_eq!(std::mem::discriminant(&plain), std::mem::discriminant(&err));
    let regs = first.unwrap();
    (err, regs[1], regs[2], regs[10])
}

fn mv(pc: usize, addr: u64, size: usize, write: bool, n: (&str, u64, u64)) -> VmError {
    VmError::MemoryViolation { pc, addr, size, write, nearest: Some((n.0.into(), n.1, n.2)) }
}

#[test]
fn loads_of_every_size() {
    let p = |size, off| vec![ldx(size, 0, 2, off), exit()];
    assert_eq!(run(&p(Size::B, 3), &[]).ret, Ok(3));
    assert_eq!(run(&p(Size::H, 2), &[]).ret, Ok(0x0302));
    assert_eq!(run(&p(Size::W, 4), &[]).ret, Ok(0x0706_0504));
    assert_eq!(run(&p(Size::DW, 8), &[]).ret, Ok(0x0f0e_0d0c_0b0a_0908));
}

#[test]
fn sign_extending_loads() {
    let init = [0x80, 0xff, 0x00, 0x80, 0xff, 0xff, 0xff, 0x7f];
    let p = |size, off| vec![ldsx(size, 0, 1, off), exit()];
    assert_eq!(run(&p(Size::B, 0), &init).ret, Ok(0xffff_ffff_ffff_ff80));
    assert_eq!(run(&p(Size::B, 7), &init).ret, Ok(0x7f));
    assert_eq!(run(&p(Size::H, 0), &init).ret, Ok(0xffff_ffff_ffff_ff80));
    assert_eq!(run(&p(Size::H, 2), &init).ret, Ok(0xffff_ffff_ffff_8000));
    assert_eq!(run(&p(Size::W, 0), &init).ret, Ok(0xffff_ffff_8000_ff80));
    assert_eq!(run(&p(Size::W, 4), &init).ret, Ok(0x7fff_ffff));
    // The zero-extending forms of the same bytes.
    assert_eq!(run(&[ldx(Size::B, 0, 1, 0), exit()], &init).ret, Ok(0x80));
    assert_eq!(run(&[ldx(Size::W, 0, 1, 0), exit()], &init).ret, Ok(0x8000_ff80));
}

#[test]
fn register_stores_truncate() {
    let p = [
        ld64(3, 0x1122_3344_5566_7788),
        stx(Size::B, 1, 3, 0),
        stx(Size::H, 1, 3, 2),
        stx(Size::W, 1, 3, 4),
        stx(Size::DW, 1, 3, 8),
        mov(0, 0),
        exit(),
    ];
    let o = run(&p, &[0xaa; 17]);
    assert_eq!(o.ret, Ok(0));
    assert_eq!(
        o.mem,
        [
            0x88, 0xaa, 0x88, 0x77, 0x88, 0x77, 0x66, 0x55, //
            0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xaa
        ]
    );
}

#[test]
fn immediate_stores_and_dw_sign_extension() {
    let p = [
        st(Size::B, 1, 0, 0x1ff),
        st(Size::H, 1, 2, -2),
        st(Size::W, 1, 4, -1),
        st(Size::DW, 1, 8, -2),
        st(Size::DW, 1, 16, 0x7fff_ffff),
        mov(0, 0),
        exit(),
    ];
    let o = run(&p, &[0xaa; 24]);
    assert_eq!(
        o.mem,
        [
            0xff, 0xaa, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, //
            0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, //
            0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0
        ]
    );
}

#[test]
fn stack_round_trip_and_bounds_of_the_frame() {
    let p = [
        ld64(1, 0x0102_0304_0506_0708),
        stx(Size::DW, 10, 1, -8),
        stx(Size::DW, 10, 1, -512),
        st(Size::B, 10, -9, 0x42),
        ldx(Size::DW, 0, 10, -512),
        ldx(Size::B, 2, 10, -9),
        alu64(bpfemu_isa::AluOp::Add, 0, 2),
        ldx(Size::W, 2, 10, -4),
        alu64(bpfemu_isa::AluOp::Add, 0, 2),
        exit(),
    ];
    assert_eq!(run(&p, &[]).ret, Ok(0x0102_0304_0506_0708 + 0x42 + 0x0102_0304));
}

#[test]
fn the_stack_starts_zeroed() {
    let p =
        [ldx(Size::DW, 0, 10, -8), ldx(Size::DW, 1, 10, -512), alu64(bpfemu_isa::AluOp::Or, 0, 1), exit()];
    assert_eq!(run(&p, &[]).ret, Ok(0));
}

#[test]
fn unaligned_accesses_work() {
    let p = [
        ld64(3, 0x1122_3344_5566_7788),
        stx(Size::DW, 1, 3, 1),
        ldx(Size::DW, 0, 1, 1),
        stx(Size::W, 10, 3, -13),
        ldx(Size::W, 4, 10, -13),
        alu64(bpfemu_isa::AluOp::Sub, 0, 4),
        ldx(Size::H, 4, 1, 3),
        alu64(bpfemu_isa::AluOp::Add, 0, 4),
        exit(),
    ];
    let o = run(&p, &[0; 16]);
    assert_eq!(o.ret, Ok(0x1122_3344_5566_7788 - 0x5566_7788 + 0x5566));
    assert_eq!(&o.mem[..10], &[0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0]);
}

/// Runs `*(size *)(r1 + 8) OP= r3` on memory holding `mem`, with r3 = `src`
/// and r0 = `r0`; returns (memory word, r3, r0).
fn atomic_op(size: Size, op: AtomicOp, mem: u64, src: u64, r0: u64) -> (u64, u64, u64) {
    let p = [
        ld64(3, src),
        ld64(0, r0),
        atomic(size, op, 1, 3, 8),
        stx(Size::DW, 1, 3, 16),
        stx(Size::DW, 1, 0, 24),
        exit(),
    ];
    let mut init = vec![0u8; 32];
    init[8..16].copy_from_slice(&mem.to_le_bytes());
    let o = run(&p, &init);
    let w = |i: usize| u64::from_le_bytes(o.mem[i..i + 8].try_into().unwrap());
    assert_eq!(o.ret, Ok(w(24)));
    (w(8), w(16), w(24))
}

#[test]
fn atomics_64() {
    use AtomicOp::*;
    let (m, s) = (0xf0f0_0000_0000_0001u64, 0x0ff0_0000_0000_0003u64);
    let f = |fetch| (fetch, if fetch { m } else { s });
    for fetch in [false, true] {
        let (_, src_after) = f(fetch);
        assert_eq!(atomic_op(Size::DW, Add { fetch }, m, s, 9), (m.wrapping_add(s), src_after, 9));
        assert_eq!(atomic_op(Size::DW, Or { fetch }, m, s, 9), (m | s, src_after, 9));
        assert_eq!(atomic_op(Size::DW, And { fetch }, m, s, 9), (m & s, src_after, 9));
        assert_eq!(atomic_op(Size::DW, Xor { fetch }, m, s, 9), (m ^ s, src_after, 9));
    }
    assert_eq!(atomic_op(Size::DW, Xchg, m, s, 9), (s, m, 9));
    // cmpxchg: r0 == mem -> store src; r0 gets the old value either way.
    assert_eq!(atomic_op(Size::DW, CmpXchg, m, s, m), (s, s, m));
    assert_eq!(atomic_op(Size::DW, CmpXchg, m, s, 7), (m, s, m));
}

#[test]
fn atomics_32_zero_extend_what_they_fetch() {
    use AtomicOp::*;
    // Upper half of the memory word is outside the 32-bit atomic.
    let m = 0xaaaa_aaaa_ffff_fff0u64;
    let s = 0xdead_beef_0000_0013u64; // only the low half takes part
    let lo = 0xffff_fff0u64;
    let keep_hi = |v: u32| (m & !0xffff_ffff) | u64::from(v);
    for fetch in [false, true] {
        let src_after = if fetch { lo } else { s };
        assert_eq!(
            atomic_op(Size::W, Add { fetch }, m, s, 1),
            (keep_hi(0xffff_fff0u32.wrapping_add(0x13)), src_after, 1)
        );
        assert_eq!(atomic_op(Size::W, Or { fetch }, m, s, 1), (keep_hi(0xffff_fff3), src_after, 1));
        assert_eq!(atomic_op(Size::W, And { fetch }, m, s, 1), (keep_hi(0x10), src_after, 1));
        assert_eq!(atomic_op(Size::W, Xor { fetch }, m, s, 1), (keep_hi(0xffff_ffe3), src_after, 1));
    }
    assert_eq!(atomic_op(Size::W, Xchg, m, s, 1), (keep_hi(0x13), lo, 1));
    // cmpxchg32 compares the low half of r0; r0 = old, zero-extended.
    assert_eq!(atomic_op(Size::W, CmpXchg, m, s, 0x5555_5555_ffff_fff0), (keep_hi(0x13), s, lo));
    assert_eq!(atomic_op(Size::W, CmpXchg, m, s, 0xffff_fff1), (m, s, lo));
}

#[test]
fn atomics_on_the_stack() {
    let p = [
        st(Size::DW, 10, -8, 40),
        mov(1, 2),
        atomic(Size::DW, AtomicOp::Add { fetch: true }, 10, 1, -8),
        ldx(Size::DW, 0, 10, -8),
        alu64(bpfemu_isa::AluOp::Add, 0, 1),
        exit(),
    ];
    assert_eq!(run(&p, &[]).ret, Ok(42 + 40));
}

#[test]
fn checked_out_of_bounds_read_past_region_end() {
    let (e, map, _, _) = fault(&[mov(0, 1), ldx(Size::DW, 0, 1, 12), exit()], &[0; 16]);
    assert_eq!(e, mv(1, map + 12, 8, false, ("map", map, 16)));
    assert!(e.to_string().contains("4 bytes past its end"), "{e}");
}

#[test]
fn checked_write_to_read_only_region() {
    let (e, _, ro, _) = fault(&[st(Size::B, 2, 0, 1), exit()], &[]);
    assert_eq!(e, mv(0, ro, 1, true, ("ro", ro, 16)));
    assert!(e.to_string().contains("is read-only"), "{e}");
    let (e, _, ro, _) =
        fault(&[mov(3, 0), atomic(Size::W, AtomicOp::Add { fetch: false }, 2, 3, 0), exit()], &[]);
    assert_eq!(e, mv(1, ro, 4, true, ("ro", ro, 16)));
}

#[test]
fn checked_stack_bounds() {
    // Below the frame.
    let (e, _, _, top) = fault(&[ldx(Size::B, 0, 10, -513), exit()], &[]);
    assert_eq!(e, mv(0, top - 513, 1, false, ("stack", top - 512, 512)));
    assert!(e.to_string().contains("1 bytes before its start"), "{e}");
    // At r10 itself (one past the end).
    let (e, _, _, top) = fault(&[stx(Size::DW, 10, 1, 0), exit()], &[]);
    assert_eq!(e, mv(0, top, 8, true, ("stack", top - 512, 512)));
    // Straddling the top.
    let (e, _, _, top) = fault(&[ldx(Size::DW, 0, 10, -4), exit()], &[]);
    assert_eq!(e, mv(0, top - 4, 8, false, ("stack", top - 512, 512)));
}

#[test]
fn checked_null_and_wild_pointers() {
    let (e, _, _, _) = fault(&[mov(3, 0), ldx(Size::W, 0, 3, 0), exit()], &[]);
    assert!(matches!(e, VmError::MemoryViolation { pc: 1, addr: 0, size: 4, write: false, .. }), "{e}");
    let (e, _, _, _) = fault(&[ld64(3, u64::MAX), stx(Size::DW, 3, 3, 0), exit()], &[]);
    assert!(matches!(e, VmError::MemoryViolation { pc: 2, addr: u64::MAX, size: 8, write: true, .. }), "{e}");
}

#[test]
fn checked_straddling_two_regions_fails() {
    // map is 8 bytes; a 2-byte read at offset 7 leaves it.
    let (e, map, _, _) = fault(&[ldx(Size::H, 0, 1, 7), exit()], &[0; 8]);
    assert_eq!(e, mv(0, map + 7, 2, false, ("map", map, 8)));
}

#[test]
fn checked_misaligned_atomic() {
    for (size, off, bytes) in [(Size::DW, 4, 8), (Size::W, 2, 4), (Size::DW, 1, 8)] {
        let (e, map, _, _) =
            fault(&[mov(3, 1), atomic(size, AtomicOp::Add { fetch: false }, 1, 3, off), exit()], &[0; 16]);
        assert_eq!(e, VmError::MisalignedAtomic { pc: 1, addr: map + off as u64, size: bytes });
    }
    let (e, _, _, top) = fault(&[mov(3, 1), atomic(Size::DW, AtomicOp::Xchg, 10, 3, -12), exit()], &[]);
    assert_eq!(e, VmError::MisalignedAtomic { pc: 1, addr: top - 12, size: 8 });
}
