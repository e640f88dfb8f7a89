//! ALU and ALU64: every operation, both operand kinds, both widths.

use super::asm::*;
use super::r0;
use bpfemu_isa::{AluOp, EndianOp, Width};

const A: u64 = 0x8765_4321_f0e1_d2c3;
const B: u64 = 0x0000_0003_0000_0005;

/// r0 = a; r1 = b; r0 = r0 OP r1 (64-bit).
fn x64(op: AluOp, a: u64, b: u64) -> u64 {
    r0(&[ld64(0, a), ld64(1, b), alu64(op, 0, 1)])
}

/// r0 = a; r0 = r0 OP imm (64-bit).
fn k64(op: AluOp, a: u64, imm: i32) -> u64 {
    r0(&[ld64(0, a), alu64i(op, 0, imm)])
}

fn x32(op: AluOp, a: u64, b: u64) -> u64 {
    r0(&[ld64(0, a), ld64(1, b), alu32(op, 0, 1)])
}

fn k32(op: AluOp, a: u64, imm: i32) -> u64 {
    r0(&[ld64(0, a), alu32i(op, 0, imm)])
}

#[test]
fn alu64_register_operand() {
    use AluOp::*;
    assert_eq!(x64(Add, A, B), A.wrapping_add(B));
    assert_eq!(x64(Sub, B, A), B.wrapping_sub(A));
    assert_eq!(x64(Mul, A, B), A.wrapping_mul(B));
    assert_eq!(x64(Div, A, B), A / B);
    assert_eq!(x64(Or, A, B), A | B);
    assert_eq!(x64(And, A, B), A & B);
    assert_eq!(x64(Xor, A, B), A ^ B);
    assert_eq!(x64(Mod, A, B), A % B);
    assert_eq!(x64(Mov, A, B), B);
    assert_eq!(x64(Lsh, A, 4), A << 4);
    assert_eq!(x64(Rsh, A, 4), A >> 4);
    assert_eq!(x64(Arsh, A, 4), ((A as i64) >> 4) as u64);
    assert_eq!(x64(Arsh, A, 4) >> 60, 0xf, "arsh fills with the sign bit");
}

#[test]
fn alu64_immediate_is_sign_extended() {
    use AluOp::*;
    assert_eq!(k64(Add, 0, -1), u64::MAX);
    assert_eq!(k64(Mov, A, -2), (-2i64) as u64);
    assert_eq!(k64(Mov, A, i32::MIN), 0xffff_ffff_8000_0000);
    assert_eq!(k64(And, A, -16), A & !0xf);
    assert_eq!(k64(Or, 0, i32::MIN), 0xffff_ffff_8000_0000);
    assert_eq!(k64(Xor, A, -1), !A);
    assert_eq!(k64(Sub, 5, -3), 8);
    assert_eq!(k64(Mul, 3, -2), (-6i64) as u64);
    // Unsigned division by a negative immediate divides by a huge number.
    assert_eq!(k64(Div, A, -1), A / u64::MAX);
    assert_eq!(k64(Mod, A, -1), A % u64::MAX);
    assert_eq!(k64(Lsh, 1, 63), 1 << 63);
    assert_eq!(k64(Rsh, 1 << 63, 63), 1);
    assert_eq!(k64(Arsh, 1 << 63, 63), u64::MAX);
}

#[test]
fn alu32_operates_on_low_halves_and_zero_extends() {
    use AluOp::*;
    let (a, b) = (A as u32, B as u32);
    let z = |v: u32| u64::from(v);
    assert_eq!(x32(Add, A, B), z(a.wrapping_add(b)));
    assert_eq!(x32(Sub, B, A), z(b.wrapping_sub(a)));
    assert_eq!(x32(Mul, A, B), z(a.wrapping_mul(b)));
    assert_eq!(x32(Div, A, B), z(a / b));
    assert_eq!(x32(Or, A, B), z(a | b));
    assert_eq!(x32(And, A, B), z(a & b));
    assert_eq!(x32(Xor, A, B), z(a ^ b));
    assert_eq!(x32(Mod, A, B), z(a % b));
    assert_eq!(x32(Mov, A, B), 5);
    assert_eq!(x32(Lsh, A, 4), z(a << 4));
    assert_eq!(x32(Rsh, A, 4), z(a >> 4));
    assert_eq!(x32(Arsh, A, 4), z(((a as i32) >> 4) as u32));
    assert_eq!(x32(Arsh, 0x8000_0000, 4), 0xf800_0000, "sign of bit 31, upper half zero");
    // Upper bits of the operands are ignored; the result's are cleared.
    assert_eq!(x32(Add, 0xffff_ffff_0000_0001, 0xffff_ffff_0000_0001), 2);
    assert_eq!(x32(Div, 0x1_0000_0010, 0x1_0000_0002), 8);
}

#[test]
fn alu32_immediate_uses_low_32_bits() {
    use AluOp::*;
    assert_eq!(k32(Mov, A, -1), 0xffff_ffff);
    assert_eq!(k32(Add, 0xffff_ffff_ffff_ffff, 1), 0);
    assert_eq!(k32(Add, 0, -1), 0xffff_ffff);
    assert_eq!(k32(And, u64::MAX, -16), 0xffff_fff0);
    assert_eq!(k32(Or, 1 << 40, 1), 1);
    assert_eq!(k32(Xor, u64::MAX, 0), 0xffff_ffff);
    assert_eq!(k32(Sub, 0, 1), 0xffff_ffff);
    assert_eq!(k32(Mul, 0x1_0000_0003, 3), 9);
    assert_eq!(k32(Div, 0x1_0000_0009, 3), 3);
    assert_eq!(k32(Mod, 0x1_0000_000a, 3), 1);
    assert_eq!(k32(Lsh, 1, 31), 0x8000_0000);
    assert_eq!(k32(Rsh, u64::MAX, 28), 0xf);
    assert_eq!(k32(Arsh, 0x8000_0000, 31), 0xffff_ffff);
}

#[test]
fn shift_amounts_are_masked() {
    use AluOp::*;
    assert_eq!(x64(Lsh, 1, 65), 2);
    assert_eq!(x64(Rsh, 4, 65), 2);
    assert_eq!(x64(Arsh, 4, 64 + 2), 1);
    assert_eq!(x32(Lsh, 1, 33), 2);
    assert_eq!(x32(Rsh, 4, 33), 2);
    assert_eq!(x32(Arsh, 0x8000_0000, 32 + 31), 0xffff_ffff);
    assert_eq!(k64(Lsh, 1, 64), 1);
    assert_eq!(k32(Lsh, 1, 32), 1);
}

#[test]
fn unsigned_division_by_zero() {
    use AluOp::*;
    assert_eq!(x64(Div, A, 0), 0);
    assert_eq!(k64(Div, A, 0), 0);
    assert_eq!(x64(Mod, A, 0), A, "64-bit mod by zero leaves dst");
    assert_eq!(k64(Mod, A, 0), A);
    assert_eq!(x32(Div, A, 0), 0);
    assert_eq!(k32(Div, A, 0), 0);
    // 32-bit mod by zero: dst = (u32)dst, the kernel's `w = w` fixup.
    assert_eq!(x32(Mod, A, 0), A & 0xffff_ffff);
    assert_eq!(k32(Mod, A, 0), A & 0xffff_ffff);
    // A divisor whose low half is zero is zero for the 32-bit op.
    assert_eq!(x32(Div, 7, 1 << 32), 0);
    assert_eq!(x32(Mod, 0x5_0000_0007, 1 << 32), 7);
}

#[test]
fn signed_division() {
    use AluOp::*;
    let s = |v: i64| v as u64;
    let s32 = |v: i32| u64::from(v as u32);
    // 64-bit: truncation toward zero, remainder takes the dividend's sign.
    assert_eq!(x64(SDiv, s(-7), 2), s(-3));
    assert_eq!(x64(SDiv, 7, s(-2)), s(-3));
    assert_eq!(x64(SMod, s(-7), 2), s(-1));
    assert_eq!(x64(SMod, 7, s(-2)), 1);
    assert_eq!(k64(SDiv, s(-7), 2), s(-3));
    assert_eq!(k64(SMod, s(-7), -2), s(-1));
    // Edges: MIN / -1 = MIN, MIN % -1 = 0, by zero -> 0 / dst.
    assert_eq!(x64(SDiv, s(i64::MIN), s(-1)), s(i64::MIN));
    assert_eq!(k64(SDiv, s(i64::MIN), -1), s(i64::MIN));
    assert_eq!(x64(SMod, s(i64::MIN), s(-1)), 0);
    assert_eq!(k64(SMod, s(i64::MIN), -1), 0);
    assert_eq!(x64(SDiv, A, 0), 0);
    assert_eq!(k64(SDiv, A, 0), 0);
    assert_eq!(x64(SMod, A, 0), A);
    assert_eq!(k64(SMod, A, 0), A);
    // 32-bit: on the low halves, zero-extended.
    assert_eq!(x32(SDiv, s(-7), 2), s32(-3));
    assert_eq!(x32(SMod, s(-7), 2), s32(-1));
    assert_eq!(k32(SDiv, 0xffff_ffff_ffff_fff9, 2), s32(-3));
    assert_eq!(k32(SMod, 7, -2), 1);
    assert_eq!(x32(SDiv, 0x8000_0000, 0xffff_ffff), 0x8000_0000);
    assert_eq!(k32(SDiv, 0x8000_0000, -1), 0x8000_0000);
    assert_eq!(x32(SMod, 0x8000_0000, 0xffff_ffff), 0);
    assert_eq!(k32(SMod, 0x8000_0000, -1), 0);
    assert_eq!(x32(SDiv, A, 0), 0);
    assert_eq!(k32(SDiv, A, 0), 0);
    assert_eq!(x32(SMod, A, 0), A & 0xffff_ffff);
    assert_eq!(k32(SMod, A, 0), A & 0xffff_ffff);
}

#[test]
fn negation() {
    assert_eq!(r0(&[mov(0, 5), neg(Width::W64, 0)]), (-5i64) as u64);
    assert_eq!(r0(&[ld64(0, 1 << 63), neg(Width::W64, 0)]), 1 << 63);
    assert_eq!(r0(&[ld64(0, 0x7_0000_0005), neg(Width::W32, 0)]), 0xffff_fffb);
    assert_eq!(r0(&[mov(0, 0), neg(Width::W32, 0)]), 0);
}

#[test]
fn mov_register() {
    assert_eq!(r0(&[ld64(1, A), movr(0, 1)]), A);
    assert_eq!(r0(&[ld64(1, A), alu32(AluOp::Mov, 0, 1)]), A & 0xffff_ffff);
}

#[test]
fn movsx() {
    let m64 = |bits, v| x64(AluOp::MovSx(bits), 0, v);
    let m32 = |bits, v| x32(AluOp::MovSx(bits), 0, v);
    assert_eq!(m64(8, 0x1234_5680), 0xffff_ffff_ffff_ff80);
    assert_eq!(m64(8, 0x7f), 0x7f);
    assert_eq!(m64(16, 0x1234_8000), 0xffff_ffff_ffff_8000);
    assert_eq!(m64(16, 0xffff_7fff), 0x7fff);
    assert_eq!(m64(32, 0x1_8000_0000), 0xffff_ffff_8000_0000);
    assert_eq!(m64(32, 0xffff_ffff_7fff_ffff), 0x7fff_ffff);
    // ALU32 movsx: sign-extend to 32 bits, then zero-extend.
    assert_eq!(m32(8, 0xffff_ffff_0000_0080), 0xffff_ff80);
    assert_eq!(m32(8, 0x7f), 0x7f);
    assert_eq!(m32(16, 0x8000), 0xffff_8000);
    assert_eq!(m32(16, 0xffff_0000_0000_7fff), 0x7fff);
}

#[test]
fn byte_order() {
    const V: u64 = 0x0102_0304_0506_0708;
    let e = |op, bits| r0(&[ld64(0, V), endian(op, bits, 0)]);
    use EndianOp::*;
    assert_eq!(e(ToBe, 16), 0x0807);
    assert_eq!(e(ToBe, 32), 0x0807_0605);
    assert_eq!(e(ToBe, 64), 0x0807_0605_0403_0201);
    // Little-endian target: le truncates.
    assert_eq!(e(ToLe, 16), 0x0708);
    assert_eq!(e(ToLe, 32), 0x0506_0708);
    assert_eq!(e(ToLe, 64), V);
    // ALU64 END: unconditional swap, zero-extended.
    assert_eq!(e(Swap, 16), 0x0807);
    assert_eq!(e(Swap, 32), 0x0807_0605);
    assert_eq!(e(Swap, 64), 0x0807_0605_0403_0201);
}

#[test]
fn ld_imm64_loads_the_full_constant() {
    assert_eq!(r0(&[ld64(0, 0x1122_3344_5566_7788)]), 0x1122_3344_5566_7788);
    assert_eq!(r0(&[ld64(0, u64::MAX)]), u64::MAX);
    assert_eq!(r0(&[ld64(0, 0x8000_0000)]), 0x8000_0000, "low half not sign-extended");
}
