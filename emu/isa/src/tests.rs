//! Decoder/encoder tests: losslessness over random slots, acceptance of
//! every valid opcode form, and rejection of reserved-field encodings.

use crate::opcode::*;
use crate::*;
use proptest::prelude::*;

fn dec1(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Result<Instruction, DecodeError> {
    decode_at(&[Insn::new(code, dst, src, off, imm), Insn::default()], 0)
}

#[test]
fn every_valid_form_round_trips() {
    // Build one instance of every instruction form and check encode/decode.
    let r = |n| Reg::new(n).unwrap();
    let mut forms = Vec::new();
    for width in [Width::W32, Width::W64] {
        for op in AluOp::ALL {
            if op == AluOp::MovSx(32) && width == Width::W32 {
                continue;
            }
            if !matches!(op, AluOp::MovSx(_)) {
                forms.push(Instruction::Alu { width, op, dst: r(1), src: Source::Imm(-7) });
            }
            forms.push(Instruction::Alu { width, op, dst: r(2), src: Source::Reg(r(3)) });
        }
        forms.push(Instruction::Neg { width, dst: r(4) });
        for op in JmpOp::ALL {
            forms.push(Instruction::Jmp { width, op, dst: r(1), src: Source::Imm(5), off: -3 });
            forms.push(Instruction::Jmp { width, op, dst: r(1), src: Source::Reg(r(10)), off: 3 });
        }
    }
    for op in [EndianOp::ToLe, EndianOp::ToBe, EndianOp::Swap] {
        for bits in [16, 32, 64] {
            forms.push(Instruction::Endian { op, bits, dst: r(5) });
        }
    }
    forms.push(Instruction::Ja { off: -1, long: false });
    forms.push(Instruction::Ja { off: 100_000, long: true });
    forms.push(Instruction::Call(CallTarget::Helper(1)));
    forms.push(Instruction::Call(CallTarget::Local(-20)));
    forms.push(Instruction::Call(CallTarget::Kfunc { btf_id: 1234, btf_fd_idx: 2 }));
    forms.push(Instruction::Call(CallTarget::Reg(r(2))));
    forms.push(Instruction::Exit);
    for src in [
        LdImm64::Imm(0x1122_3344_5566_7788),
        LdImm64::MapFd(3),
        LdImm64::MapValue { fd: 3, off: 16 },
        LdImm64::BtfId { btf_id: 77, btf_fd: 0 },
        LdImm64::Func(5),
        LdImm64::MapIdx(1),
        LdImm64::MapIdxValue { idx: 1, off: 8 },
    ] {
        forms.push(Instruction::LdImm64 { dst: r(1), src });
    }
    for size in [Size::B, Size::H, Size::W] {
        forms.push(Instruction::LdPacket { size, src: None, imm: 12 });
        forms.push(Instruction::LdPacket { size, src: Some(r(7)), imm: 2 });
        forms.push(Instruction::Ldx { size, sx: true, dst: r(0), src: r(1), off: 2 });
    }
    for size in Size::ALL {
        forms.push(Instruction::Ldx { size, sx: false, dst: r(0), src: r(1), off: -8 });
        forms.push(Instruction::St { size, dst: r(10), off: -8, imm: -1 });
        forms.push(Instruction::Stx { size, dst: r(10), off: -16, src: r(9) });
    }
    for size in [Size::W, Size::DW] {
        for op in AtomicOp::ALL {
            forms.push(Instruction::Atomic { size, op, dst: r(10), src: r(1), off: -8 });
        }
    }
    assert!(forms.len() > 150, "{} forms", forms.len());
    for f in forms {
        let slots = f.encode();
        assert_eq!(slots.len(), f.slots());
        let back = decode_at(&slots, 0).unwrap_or_else(|e| panic!("{f:?}: {e}"));
        assert_eq!(back, f);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]
    /// Whatever decodes re-encodes to the same bytes (no field is dropped).
    #[test]
    fn decode_is_lossless(a in any::<u64>(), b in any::<u64>(), code in any::<u8>()) {
        let mut first = Insn::from_u64(a);
        first.code = code;
        let slots = [first, Insn::from_u64(b)];
        if let Ok(ins) = decode_at(&slots, 0) {
            let enc = ins.encode();
            prop_assert_eq!(&enc[..], &slots[..ins.slots()]);
        }
    }
}

#[test]
fn reserved_fields_are_rejected() {
    // (code, dst, src, off, imm, field named in the error)
    let cases: &[(u8, u8, u8, i16, i32, &str)] = &[
        (0x07, 0, 0, 1, 1, "off"),  // add64 imm with off
        (0x07, 0, 1, 0, 1, "src"),  // add64 imm with src
        (0x0f, 0, 1, 0, 1, "imm"),  // add64 reg with imm
        (0x0f, 0, 1, 1, 0, "off"),  // add64 reg with off
        (0x87, 0, 0, 0, 1, "imm"),  // neg64 imm
        (0x87, 0, 1, 0, 0, "src"),  // neg64 src
        (0x84, 0, 0, 1, 0, "off"),  // neg32 off
        (0xd4, 0, 0, 1, 16, "off"), // le16 off
        (0xdc, 0, 1, 0, 16, "src"), // be16 src
        (0x95, 1, 0, 0, 0, "dst"),  // exit dst
        (0x95, 0, 0, 0, 1, "imm"),  // exit imm
        (0x05, 1, 0, 1, 0, "dst"),  // ja dst
        (0x05, 0, 0, 1, 1, "imm"),  // ja imm
        (0x06, 0, 0, 1, 1, "off"),  // gotol off
        (0x15, 0, 1, 1, 0, "src"),  // jeq imm src
        (0x1d, 0, 1, 1, 1, "imm"),  // jeq reg imm
        (0x85, 1, 0, 0, 1, "dst"),  // call dst
        (0x85, 0, 0, 1, 1, "off"),  // call helper off
        (0x61, 0, 1, 0, 1, "imm"),  // ldxw imm
        (0x62, 0, 1, 0, 1, "src"),  // stw src
        (0x63, 0, 1, 0, 1, "imm"),  // stxw imm
        (0x9f, 0, 1, 1, 0, "off"),  // mod64 reg with off 1 is smod: off 2 below
    ];
    for &(code, dst, src, off, imm, field) in &cases[..cases.len() - 1] {
        let e = dec1(code, dst, src, off, imm).expect_err(&format!("{code:#x} accepted"));
        assert_eq!(e.index, 0);
        let msg = e.to_string();
        assert!(msg.contains(&format!("'{field}'")), "{code:#x}: {msg}");
    }
    assert!(dec1(0x9f, 0, 1, 1, 0).is_ok(), "smod");
    assert!(dec1(0x9f, 0, 1, 2, 0).is_err());
}

#[test]
fn bad_opcodes_and_registers_are_rejected() {
    for code in [0xe4, 0xf7, 0xef, 0x8e /* JMP32 call */, 0x96, 0x9d, 0x0d, 0x8f] {
        let e = dec1(code, 0, 0, 0, 0).expect_err(&format!("{code:#x}"));
        assert_eq!(e.reason, Reason::UnknownOpcode, "{code:#x}");
    }
    assert_eq!(dec1(0xdf, 0, 0, 0, 16).unwrap_err().reason, Reason::UnknownOpcode);
    assert!(matches!(dec1(0xbf, 11, 0, 0, 0).unwrap_err().reason, Reason::BadRegister { value: 11, .. }));
    assert!(matches!(dec1(0xbf, 0, 15, 0, 0).unwrap_err().reason, Reason::BadRegister { value: 15, .. }));
    // movsx32 exists only in ALU64.
    assert!(dec1(0xbc, 0, 1, 32, 0).is_err());
    assert!(dec1(0xbf, 0, 1, 32, 0).is_ok());
    // ldsx has no DW form; atomics only W/DW.
    assert!(dec1(BPF_LDX | BPF_MEMSX | BPF_DW, 0, 1, 0, 0).is_err());
    assert!(dec1(BPF_STX | BPF_ATOMIC | BPF_B, 0, 1, 0, 0).is_err());
    assert!(dec1(BPF_STX | BPF_ATOMIC | BPF_DW, 0, 1, 0, 0x20).is_err());
    // bswap widths.
    assert!(dec1(0xd7, 0, 0, 0, 8).is_err());
}

#[test]
fn ld_imm64_tail_rules() {
    let first = Insn::new(0x18, 1, 0, 0, 1);
    let e = decode_at(&[first], 0).unwrap_err();
    assert_eq!(e.reason, Reason::TruncatedLdImm64);
    let e = decode_at(&[first, Insn::new(0x07, 0, 0, 0, 0)], 0).unwrap_err();
    assert_eq!(e.reason, Reason::BadLdImm64Tail);
    // A map fd load must leave the upper imm zero.
    let e = decode_at(&[Insn::new(0x18, 1, 1, 0, 3), Insn::new(0, 0, 0, 0, 9)], 0).unwrap_err();
    assert!(matches!(e.reason, Reason::Reserved { .. }));
    let e = decode_at(&[Insn::new(0x18, 1, 7, 0, 3), Insn::default()], 0).unwrap_err();
    assert!(matches!(e.reason, Reason::BadValue { field: "src", .. }));
}

#[test]
fn program_decode_names_the_failing_index() {
    let prog = [
        Insn::new(0xb7, 0, 0, 0, 1),
        Insn::new(0x18, 1, 0, 0, 1),
        Insn::new(0, 0, 0, 0, 2),
        Insn::new(0x07, 0, 0, 1, 1),
        Insn::new(0x95, 0, 0, 0, 0),
    ];
    let e = decode_program(&prog).unwrap_err();
    assert_eq!(e.index, 3);
    assert_eq!(e.to_string(), "insn 3 (code 0x07): reserved field 'off' is 1, must be 0");
    let ok = decode_program(&[prog[0], prog[1], prog[2], prog[4]]).unwrap();
    assert_eq!(ok.iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![0, 1, 3]);
}
