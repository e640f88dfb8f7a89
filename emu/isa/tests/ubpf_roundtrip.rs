//! uBPF dialect properties: `assemble(disassemble(x)) == x` for every
//! decodable program the dialect can express, exactly the documented
//! forms are refused by `disassemble`, and no input makes either panic.

use bpfemu_isa::asm::ubpf::{assemble, disassemble};
use bpfemu_isa::*;
use common::{instruction, reg};
use proptest::prelude::*;
use proptest::sample::select;

mod common;

/// Every instruction the dialect can spell (all but pseudo ld_imm64
/// sources, kfunc calls with a BTF fd index, and LD_ABS/LD_IND), with
/// plain 64-bit loads weighted back up (most ld_imm64 sources are pseudo).
fn expressible() -> impl Strategy<Value = Instruction> {
    prop_oneof![
        12 => instruction().prop_filter("expressible", |i| !inexpressible(i)),
        1 => (reg(), any::<u64>()).prop_map(|(dst, v)| Instruction::LdImm64 { dst, src: LdImm64::Imm(v) }),
    ]
}

/// Random slots biased towards decodable ones: unused fields are mostly 0.
fn slot() -> impl Strategy<Value = Insn> {
    (
        any::<u8>(),
        prop_oneof![4 => Just(0u8), 4 => 0u8..=10, 1 => 0u8..=15],
        prop_oneof![4 => Just(0u8), 2 => 1u8..=2, 2 => 0u8..=10, 1 => 0u8..=15],
        prop_oneof![4 => Just(0i16), 2 => select(vec![1i16, 8, 16, 32]), 1 => any::<i16>()],
        prop_oneof![
            4 => Just(0i32),
            2 => select(vec![1i32, 16, 32, 64, 0x40, 0xe1, 0xf1]),
            1 => any::<i32>()
        ],
    )
        .prop_map(|(code, dst, src, off, imm)| Insn::new(code, dst, src, off, imm))
}

fn inexpressible(i: &Instruction) -> bool {
    match i {
        Instruction::LdPacket { .. } => true,
        Instruction::Call(CallTarget::Kfunc { btf_fd_idx, .. }) => *btf_fd_idx != 0,
        Instruction::LdImm64 { src, .. } => !matches!(src, LdImm64::Imm(_)),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn expressible_programs_round_trip(prog in prop::collection::vec(expressible(), 0..24)) {
        let slots = encode_program(&prog);
        let text = disassemble(&slots).unwrap();
        let back = assemble(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        prop_assert_eq!(back, slots, "{}", text);
    }

    #[test]
    fn decodable_slots_round_trip_or_are_documented_gaps(
        slots in prop::collection::vec(slot(), 1..3)
    ) {
        let Ok(decoded) = decode_program(&slots) else { return Ok(()) };
        match disassemble(&slots) {
            Ok(text) => prop_assert_eq!(assemble(&text).unwrap(), slots, "{}", text),
            Err(e) => {
                let (_, ins) = decoded.iter().find(|(pc, _)| *pc == e.index).unwrap();
                prop_assert!(inexpressible(ins), "{e}: {ins:?}");
                prop_assert!(matches!(e.reason, Reason::BadValue { .. }), "{e}");
            }
        }
    }

    #[test]
    fn assemble_never_panics_on_text(src in "\\PC{0,200}") {
        let _ = assemble(&src);
    }

    #[test]
    fn assemble_never_panics_on_token_soup(
        lines in prop::collection::vec(prop::collection::vec(select(vec![
            "mov", "mov32", "lddw", "ldxb", "ldxsw", "stb", "stxdw", "lock", "fetch", "add32",
            "xchg", "cmpxchg", "call", "local", "runtime", "helper", "ja", "ja32", "jeq32",
            "exit", "be16", "swap64", "movsx3264", "neg", "%r1", "%r10", "%r15", "%r99", "%", "%r",
            "[%r1+4]", "[%r10-8]", "[%r1", "%r1]", "[]", "[+]", "[%r1+]", "[%r1--1]", "+", "-",
            "+1", "-0x8000", "0x", "0xffffffffffffffffff", "-9223372036854775808", "99999999999",
            "L:", ":", "L", "exit:", ",", ",,", "#", "#x", "é", "\u{0}", "\t",
        ]), 0..6), 0..12)
    ) {
        let src: Vec<String> = lines.iter().map(|l| l.join(" ")).collect();
        let _ = assemble(&src.join("\n"));
    }

    #[test]
    fn disassemble_never_panics(slots in prop::collection::vec(slot(), 0..8)) {
        let _ = disassemble(&slots);
    }
}

#[test]
fn documented_gaps_are_errors_not_text() {
    let r1 = Reg::new(1).unwrap();
    let gaps = [
        Instruction::LdImm64 { dst: r1, src: LdImm64::MapFd(3) },
        Instruction::LdImm64 { dst: r1, src: LdImm64::Func(2) },
        Instruction::Call(CallTarget::Kfunc { btf_id: 9, btf_fd_idx: 1 }),
        Instruction::LdPacket { size: Size::W, src: None, imm: 12 },
        Instruction::LdPacket { size: Size::B, src: Some(r1), imm: 0 },
    ];
    for g in gaps {
        let mut slots = encode_program(&[Instruction::Exit]);
        slots.extend(g.encode());
        let e = disassemble(&slots).unwrap_err();
        assert_eq!(e.index, 1, "{g:?}");
        assert!(matches!(e.reason, Reason::BadValue { .. }), "{g:?}: {e}");
    }
}

#[test]
fn disassembly_text_is_the_dialect() {
    let src = "\
mov32 %r0, -1
movsx1632 %r1, %r2
swap16 %r3
jsgt32 %r1, %r2, -1
call local +2
call runtime 4
call %r3
lddw %r4, 0x8000000000000000
ldxsh %r0, [%r10-2]
stb [%r1], -1
lock fetch or32 [%r1+4], %r2
lock cmpxchg [%r1], %r2
ja32 +70000
exit
";
    let slots = assemble(src).unwrap();
    assert_eq!(disassemble(&slots).unwrap(), src);
}
