//! Division and modulo on the JIT against the interpreter, for every kind
//! and width, with constant divisors (compiled without `div` where possible)
//! and register divisors (the 32-bit bypass), on edge values.

use crate::tests::asm::*;
use crate::tests::{exec_all, exec_jit};
use crate::{Interpreter, Program};
use bpfemu_isa::{AluOp, Instruction, encode_program};

const DIVIDENDS: [u64; 12] = [
    0,
    1,
    7,
    12345,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x1234_5678_9abc_def0,
    i64::MIN as u64,
    u64::MAX,
    (-12345i64) as u64,
];
const DIVISORS: [i32; 14] = [0, 1, 2, 3, 4, 7, 8, 64, 1 << 30, -1, -2, -8, i32::MIN, i32::MAX];
const OPS: [AluOp; 4] = [AluOp::Div, AluOp::Mod, AluOp::SDiv, AluOp::SMod];

/// r0 = dividend op divisor, the divisor as a constant or in r2.
fn prog(w64: bool, op: AluOp, dividend: u64, divisor: i32, in_reg: bool) -> Vec<Instruction> {
    let mut p = vec![ld64(0, dividend), ld64(2, i64::from(divisor) as u64)];
    p.push(match (w64, in_reg) {
        (true, true) => alu64(op, 0, 2),
        (true, false) => alu64i(op, 0, divisor),
        (false, true) => alu32(op, 0, 2),
        (false, false) => alu32i(op, 0, divisor),
    });
    p.push(exit());
    p
}

#[test]
fn division_agrees_with_the_interpreter_on_edge_values() {
    let vm = Interpreter::new();
    let mut runs = 0;
    for w64 in [true, false] {
        for op in OPS {
            for &a in &DIVIDENDS {
                for &k in &DIVISORS {
                    for in_reg in [false, true] {
                        let p = prog(w64, op, a, k, in_reg);
                        let want = exec_all(&vm, &p, &[0; 8], None);
                        let compiled = Program::new(&encode_program(&p)).unwrap();
                        let got = exec_jit(&vm, &compiled, &[0; 8], None).expect("the JIT runs it");
                        assert_eq!(got, want, "w64={w64} {op:?} {a:#x} by {k} (reg: {in_reg})");
                        runs += 1;
                    }
                }
            }
        }
    }
    assert_eq!(runs, 2 * 4 * 12 * 14 * 2);
}

#[test]
fn constant_powers_of_two_compile_without_div() {
    let vm = Interpreter::new();
    let has_div = |p: &[Instruction]| {
        let jit = crate::JitProgram::compile(&Program::new(&encode_program(p)).unwrap(), &vm).unwrap();
        // `div`/`idiv` r/m: 0xf7 with ModRM reg field 6 or 7.
        jit.code().windows(2).any(|w| w[0] == 0xf7 && matches!((w[1] >> 3) & 7, 6 | 7))
    };
    assert!(!has_div(&prog(true, AluOp::Div, 100, 8, false)));
    assert!(!has_div(&prog(false, AluOp::Mod, 100, 64, false)));
    assert!(!has_div(&prog(true, AluOp::Mod, 100, 0, false)));
    assert!(has_div(&prog(true, AluOp::Div, 100, 7, false)));
    assert!(has_div(&prog(true, AluOp::Div, 100, 8, true)));
}
