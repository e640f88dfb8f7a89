//! Disassembler ⇄ kernel-syntax assembler: `assemble(disasm(x)) == x` for
//! every valid instruction, in both syntaxes, and for whole listings.

use bpfemu_isa::asm::kernel::{assemble, assemble_instructions};
use bpfemu_isa::disasm::{Syntax, disasm_insn_with, disasm_program_with, format_listing};
use bpfemu_isa::*;
use common::instruction;
use proptest::prelude::*;

mod common;

fn round_trip(ins: &Instruction, syntax: Syntax) -> Result<(), String> {
    let text = disasm_insn_with(ins, syntax);
    let back = assemble(&text).map_err(|e| format!("{syntax:?} `{text}` of {ins:?}: {e}"))?;
    if back != ins.encode() {
        return Err(format!("{syntax:?} `{text}`: {:?} became {back:?}", ins.encode()));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn every_instruction_round_trips(ins in instruction()) {
        for syntax in [Syntax::Kernel, Syntax::Llvm] {
            if let Err(e) = round_trip(&ins, syntax) {
                prop_assert!(false, "{}", e);
            }
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn programs_round_trip(prog in proptest::collection::vec(instruction(), 1..40)) {
        let insns = encode_program(&prog);
        for syntax in [Syntax::Kernel, Syntax::Llvm] {
            let text: String = disasm_program_with(&insns, syntax)
                .unwrap()
                .into_iter()
                .map(|(_, t)| t + "\n")
                .collect();
            prop_assert_eq!(assemble(&text).unwrap(), insns.clone());
        }
        // The verifier-log listing (`0: (b7) r0 = 1`) reads back too.
        let listing = format_listing(&insns).unwrap();
        prop_assert_eq!(assemble(&listing).unwrap(), insns);
    }
}

/// Every opcode byte with a spread of field values: whatever decodes must
/// print and re-assemble to the same slots.
#[test]
fn every_decodable_opcode_round_trips() {
    let regs = [0u8, 1, 10];
    let offs = [0i16, 1, 8, 16, 32, -8, i16::MIN, i16::MAX];
    let imms = [0i32, 1, 16, 32, 64, -1, 0x41, 0xa1, 0xe1, 0xf1, i32::MIN, i32::MAX];
    let mut forms = 0;
    for code in 0..=255u8 {
        for (&dst, &src, &off, &imm) in product4(&regs, &[0u8, 1, 2, 3, 4, 5, 6, 10], &offs, &imms) {
            let slots = [Insn::new(code, dst, src, off, imm), Insn::new(0, 0, 0, 0, imm.wrapping_mul(3))];
            let Ok(ins) = decode_at(&slots, 0) else {
                continue;
            };
            forms += 1;
            for syntax in [Syntax::Kernel, Syntax::Llvm] {
                round_trip(&ins, syntax).unwrap();
            }
        }
    }
    assert!(forms > 10_000, "only {forms} decodable forms");
}

/// The cartesian product of four small slices.
fn product4<'a, A, B, C, D>(
    a: &'a [A],
    b: &'a [B],
    c: &'a [C],
    d: &'a [D],
) -> impl Iterator<Item = (&'a A, &'a B, &'a C, &'a D)> {
    a.iter().flat_map(move |x| {
        b.iter().flat_map(move |y| c.iter().flat_map(move |z| d.iter().map(move |w| (x, y, z, w))))
    })
}

#[test]
fn source_lines_are_reported() {
    let got = assemble_instructions("; header\n\nr0 = 0\nexit\n").unwrap();
    assert_eq!(got.iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![3, 4]);
}
