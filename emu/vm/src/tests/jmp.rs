//! JMP and JMP32: every condition, both operand kinds, ja and gotol.

use super::asm::*;
use super::{exec_all, r0};
use crate::Interpreter;
use bpfemu_isa::{JmpOp, Source, Width};

/// Whether `if r0 OP src goto +1` is taken: r0 = 1 if taken, 0 if not.
fn taken(width: Width, op: JmpOp, a: u64, src: Source, b: u64) -> bool {
    let v = r0(&[ld64(0, a), ld64(1, b), jmp(width, op, 0, src, 2), mov(0, 0), exit(), mov(0, 1)]);
    v == 1
}

fn x64(op: JmpOp, a: u64, b: u64) -> bool {
    taken(Width::W64, op, a, Source::Reg(r(1)), b)
}

fn k64(op: JmpOp, a: u64, imm: i32) -> bool {
    taken(Width::W64, op, a, Source::Imm(imm), 0)
}

fn x32(op: JmpOp, a: u64, b: u64) -> bool {
    taken(Width::W32, op, a, Source::Reg(r(1)), b)
}

fn k32(op: JmpOp, a: u64, imm: i32) -> bool {
    taken(Width::W32, op, a, Source::Imm(imm), 0)
}

const NEG1: u64 = u64::MAX;

#[test]
fn jmp64_register() {
    use JmpOp::*;
    // (op, a, b, expected)
    let cases: &[(JmpOp, u64, u64, bool)] = &[
        (Eq, 5, 5, true),
        (Eq, 5, 6, false),
        (Ne, 5, 6, true),
        (Ne, 5, 5, false),
        (Gt, 6, 5, true),
        (Gt, 5, 5, false),
        (Gt, NEG1, 1, true),
        (Ge, 5, 5, true),
        (Ge, 4, 5, false),
        (Lt, 4, 5, true),
        (Lt, NEG1, 1, false),
        (Le, 5, 5, true),
        (Le, 6, 5, false),
        (Set, 0b1010, 0b0010, true),
        (Set, 0b1010, 0b0101, false),
        (Set, 1 << 40, 1 << 40, true),
        (SGt, 1, NEG1, true),
        (SGt, NEG1, 1, false),
        (SGe, NEG1, NEG1, true),
        (SGe, NEG1 - 1, NEG1, false),
        (SLt, NEG1, 1, true),
        (SLt, 1, NEG1, false),
        (SLe, NEG1, NEG1, true),
        (SLe, 0, NEG1, false),
        (SGt, 1 << 63, 0, false),
        (SLt, 1 << 63, 0, true),
    ];
    for &(op, a, b, want) in cases {
        assert_eq!(x64(op, a, b), want, "{op:?} {a:#x}, {b:#x}");
    }
}

#[test]
fn jmp64_immediate_is_sign_extended() {
    use JmpOp::*;
    assert!(k64(Eq, NEG1, -1));
    assert!(!k64(Eq, 0xffff_ffff, -1));
    assert!(k64(Ne, 0xffff_ffff, -1));
    assert!(k64(Gt, NEG1, -2));
    assert!(!k64(Gt, 0xffff_ffff, -2), "imm -2 is 0xffff_ffff_ffff_fffe unsigned");
    assert!(k64(Ge, 7, 7));
    assert!(k64(Lt, 0xffff_ffff, -1));
    assert!(k64(Le, 3, 3));
    assert!(k64(Set, 1 << 63, i32::MIN), "sign-extended imm has bit 63 set");
    assert!(!k64(Set, 1, 2));
    assert!(k64(SGt, 0, -1));
    assert!(k64(SGe, NEG1, -1));
    assert!(k64(SLt, NEG1 - 1, -1));
    assert!(!k64(SLe, 0x8000_0000, i32::MAX));
    assert!(k64(SLt, 1 << 63, i32::MIN));
}

#[test]
fn jmp32_compares_low_halves() {
    use JmpOp::*;
    const HI: u64 = 0xdead_beef_0000_0000;
    let cases: &[(JmpOp, u64, u64, bool)] = &[
        (Eq, HI | 5, 5, true),
        (Ne, HI | 5, 5, false),
        (Gt, 0xffff_ffff, HI | 1, true),
        (Ge, HI | 2, 2, true),
        (Lt, 1, HI | 2, true),
        (Le, HI | 3, 2, false),
        (Set, HI, HI, false),
        (Set, HI | 3, 1, true),
        (SGt, 1, 0xffff_ffff, true),
        (SGt, 0x8000_0000, 0, false),
        (SGe, HI | 0xffff_ffff, 0xffff_ffff, true),
        (SLt, 0x8000_0000, 0x7fff_ffff, true),
        (SLe, 0x7fff_ffff, 0x8000_0000, false),
        (SLt, 0x1_0000_0000, 1, true),
    ];
    for &(op, a, b, want) in cases {
        assert_eq!(x32(op, a, b), want, "{op:?} {a:#x}, {b:#x}");
    }
}

#[test]
fn jmp32_immediate() {
    use JmpOp::*;
    assert!(k32(Eq, 0xffff_ffff, -1));
    assert!(k32(Eq, NEG1, -1));
    assert!(k32(Eq, 0x5_0000_0007, 7));
    assert!(k32(Ne, 0x5_0000_0007, 8));
    assert!(k32(Gt, 0xffff_ffff, 1));
    assert!(!k32(Gt, 0x1_0000_0000, 0));
    assert!(k32(Ge, 0xffff_ffff, -1));
    assert!(k32(Lt, 0, 1));
    assert!(k32(Le, 0xffff_fffe, -1));
    assert!(k32(Set, 0x1_8000_0000, i32::MIN));
    assert!(!k32(Set, 0x1_0000_0000, -1));
    assert!(k32(SGt, 0, -1));
    assert!(k32(SGe, 0xffff_ffff, -1));
    assert!(k32(SLt, 0x8000_0000, 0));
    assert!(k32(SLe, 0x8000_0000, i32::MIN));
}

#[test]
fn ja_forward_and_backward() {
    // r0 counts to 5 with a backward ja.
    let p = [
        mov(0, 0),
        alu64i(bpfemu_isa::AluOp::Add, 0, 1),
        jmp(Width::W64, JmpOp::Ge, 0, Source::Imm(5), 1),
        ja(-3),
        exit(),
    ];
    assert_eq!(exec_all(&Interpreter::new(), &p, &[], None).ret, Ok(5));
    assert_eq!(r0(&[mov(0, 1), ja(1), mov(0, 2)]), 1);
    assert_eq!(r0(&[mov(0, 1), ja(0), mov(0, 2)]), 2);
}

#[test]
fn gotol_uses_the_32_bit_offset() {
    assert_eq!(r0(&[mov(0, 1), gotol(1), mov(0, 2)]), 1);
    // A long backward jump.
    let mut p = vec![mov(0, 0), ja(1)];
    p.push(exit()); // 2: target of gotol below
    p.push(alu64i(bpfemu_isa::AluOp::Add, 0, 7)); // 3
    p.push(gotol(-3)); // 4 -> 2
    assert_eq!(exec_all(&Interpreter::new(), &p, &[], None).ret, Ok(7));
}

#[test]
fn conditional_jumps_backward() {
    // Sum 1..=10 with jne backward.
    let p = [
        mov(0, 0),
        mov(1, 10),
        alu64(bpfemu_isa::AluOp::Add, 0, 1),
        alu64i(bpfemu_isa::AluOp::Sub, 1, 1),
        jmp(Width::W64, JmpOp::Ne, 1, Source::Imm(0), -3),
        exit(),
    ];
    assert_eq!(exec_all(&Interpreter::new(), &p, &[], None).ret, Ok(55));
}

#[test]
fn conditional_jumps_reach_the_ends_of_the_16_bit_offset() {
    use bpfemu_isa::AluOp::Add;
    let jeq0 = |off| jmp(Width::W64, JmpOp::Eq, 0, Source::Imm(0), off);
    // Forward by i16::MAX: slot 0 jumps over 32767 slots to the exit.
    let mut p = vec![jeq0(i16::MAX)];
    p.extend(std::iter::repeat_n(alu64i(Add, 0, 1), i16::MAX as usize));
    p.push(exit());
    assert_eq!(exec_all(&Interpreter::new(), &p, &[], None).ret, Ok(0));
    // Backward by i16::MIN: the last jump goes back to slot 1, once.
    let mut p = vec![mov(1, 0), alu64i(Add, 0, 5)];
    p.extend(std::iter::repeat_n(mov(2, 0), 32765));
    p.push(alu64i(Add, 1, 1)); // 32767
    p.push(jmp(Width::W64, JmpOp::Eq, 1, Source::Imm(1), i16::MIN)); // 32768 -> 1
    p.push(exit());
    assert_eq!(exec_all(&Interpreter::new(), &p, &[], None).ret, Ok(10));
}

#[test]
fn jumps_around_ld_imm64() {
    // Taken and untaken conditional jumps over a ld_imm64, a backward jump
    // onto one, and a ld_imm64 as the jump's fall-through.
    let p = [
        mov(1, 0),
        jmp(Width::W64, JmpOp::Ne, 1, Source::Imm(0), 2), // 1: not taken, then taken
        ld64(0, 0x1234_5678_9abc_def0),                   // 2-3
        alu64i(bpfemu_isa::AluOp::Add, 1, 1),             // 4
        jmp(Width::W64, JmpOp::Lt, 1, Source::Imm(2), -5), // 5 -> 1
        exit(),
    ];
    assert_eq!(exec_all(&Interpreter::new(), &p, &[], None).ret, Ok(0x1234_5678_9abc_def0));
    let p = [mov(0, 1), jmp(Width::W32, JmpOp::Eq, 0, Source::Imm(1), 2), ld64(0, u64::MAX), exit()];
    assert_eq!(exec_all(&Interpreter::new(), &p, &[], None).ret, Ok(1));
}
