//! Instruction patching: every instruction class, validation, poison.

use super::*;

fn r(orig: u64, new: u64) -> Resolution {
    Resolution { orig, new, validate: true, ..Resolution::default() }
}

#[test]
fn alu_and_alu32_immediates() {
    assert_eq!(patch_one(mov64(8), &r(8, 16)).unwrap(), mov64(16));
    let add32 = Insn::new(BPF_ALU | BPF_ADD | BPF_K, 3, 0, 0, 4);
    assert_eq!(patch_one(add32, &r(4, 12)).unwrap().imm, 12);
    // value check
    let e = patch_one(mov64(7), &r(8, 16)).unwrap_err();
    assert_eq!(e.to_string(), "relo #0: unexpected insn #0 (ALU/ALU64) value: got 7, exp 8 -> 16");
    // no check when validate is off
    let res = Resolution { validate: false, ..r(8, 16) };
    assert_eq!(patch_one(mov64(7), &res).unwrap(), mov64(16));
    // register source
    let movx = Insn::new(BPF_ALU64 | BPF_MOV | BPF_X, 1, 2, 0, 0);
    assert!(matches!(patch_one(movx, &r(0, 1)), Err(CoreError::AluRegSource { .. })));
}

#[test]
fn loads_and_stores() {
    assert_eq!(patch_one(ldx(BPF_DW, 8), &r(8, 24)).unwrap(), ldx(BPF_DW, 24));
    let st = Insn::new(BPF_ST | BPF_MEM | BPF_W, 1, 0, 4, 99);
    assert_eq!(patch_one(st, &r(4, 12)).unwrap(), Insn::new(BPF_ST | BPF_MEM | BPF_W, 1, 0, 12, 99));
    let stx = Insn::new(BPF_STX | BPF_MEM | BPF_B, 1, 2, 1, 0);
    assert_eq!(patch_one(stx, &r(1, 3)).unwrap().off, 3);
    // unexpected value
    let e = patch_one(ldx(BPF_W, 4), &r(8, 16)).unwrap_err();
    assert_eq!(e.to_string(), "relo #0: unexpected insn #0 (LDX/ST/STX) value: got 4, exp 8 -> 16");
    // offsets above i16::MAX
    let e = patch_one(ldx(BPF_W, 4), &r(4, 40000)).unwrap_err();
    assert_eq!(e.errno(), bpfemu_kernel::errno::Errno::ERANGE);
    // size change: downsizing an unsigned field; store sizes too
    let res = Resolution { orig_sz: 8, new_sz: 2, ..r(0, 6) };
    assert_eq!(patch_one(ldx(BPF_DW, 0), &res).unwrap(), ldx(BPF_H, 6));
    let stx = Insn::new(BPF_STX | BPF_MEM | BPF_DW, 1, 2, 0, 0);
    assert_eq!(patch_one(stx, &res).unwrap().code, BPF_STX | BPF_MEM | BPF_H);
    // a new size no load has
    let res = Resolution { orig_sz: 4, new_sz: 16, ..r(0, 6) };
    assert!(matches!(patch_one(ldx(BPF_W, 0), &res), Err(CoreError::InvalidNewMemSize { new: 16, .. })));
    // sign-extending loads keep their mode
    let ldsx = Insn::new(BPF_LDX | BPF_MEMSX | BPF_W, 1, 2, 0, 0);
    let res = Resolution { orig_sz: 4, new_sz: 8, ..r(0, 8) };
    assert_eq!(patch_one(ldsx, &res).unwrap().code, BPF_LDX | BPF_MEMSX | BPF_DW);
}

#[test]
fn ldimm64_both_halves_and_form() {
    let mut v = [Insn::new(BPF_LD | BPF_IMM | BPF_DW, 1, 0, 0, 5), Insn::new(0, 0, 0, 0, 0)];
    apply(&mut v, &relo(ReloKind::TypeSize, 1, "0"), &r(5, 0xdead_beef_0000_0010)).unwrap();
    assert_eq!((v[0].imm as u32, v[1].imm as u32), (0x10, 0xdead_beef));
    // value check over 64 bits
    let e = apply(&mut v, &relo(ReloKind::TypeSize, 1, "0"), &r(5, 1)).unwrap_err();
    assert!(e.to_string().contains("(LDIMM64) value: got 16045690981097406480, exp 5 -> 1"), "{e}");
    // a pseudo source, a cut-off second half, a dirty second half
    let mut p = [Insn::new(BPF_LD | BPF_IMM | BPF_DW, 1, 1, 0, 5), Insn::new(0, 0, 0, 0, 0)];
    assert!(matches!(
        apply(&mut p, &relo(ReloKind::TypeSize, 1, "0"), &r(5, 1)),
        Err(CoreError::LdImm64Form { .. })
    ));
    let mut c = [Insn::new(BPF_LD | BPF_IMM | BPF_DW, 1, 0, 0, 5)];
    assert!(matches!(
        apply(&mut c, &relo(ReloKind::TypeSize, 1, "0"), &r(5, 1)),
        Err(CoreError::LdImm64Form { .. })
    ));
    let mut d = [Insn::new(BPF_LD | BPF_IMM | BPF_DW, 1, 0, 0, 5), Insn::new(0, 1, 0, 0, 0)];
    assert!(matches!(
        apply(&mut d, &relo(ReloKind::TypeSize, 1, "0"), &r(5, 1)),
        Err(CoreError::LdImm64Form { .. })
    ));
    // legacy LD_ABS is not patchable either
    let abs = Insn::new(BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, 4);
    assert!(matches!(patch_one(abs, &r(4, 8)), Err(CoreError::LdImm64Form { .. })));
}

#[test]
fn jumps_are_unrecognized() {
    let ja = Insn::new(BPF_JMP | BPF_JA, 0, 0, 1, 0);
    let e = patch_one(ja, &r(0, 1)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "relo #0: trying to relocate unrecognized insn #0, code:0x5, src:0x0, dst:0x0, off:0x1, imm:0x0"
    );
}

#[test]
fn poison_replaces_any_insn_and_both_ldimm64_halves() {
    let res = Resolution { poison: true, ..Resolution::default() };
    let mut v = [Insn::new(BPF_LD | BPF_IMM | BPF_DW, 1, 0, 0, 5), Insn::new(0, 0, 0, 0, 0), mov64(1)];
    apply(&mut v, &relo(ReloKind::EnumvalValue, 1, "0"), &res).unwrap();
    assert!(is_poison(&v[0]) && is_poison(&v[1]));
    assert_eq!(v[2], mov64(1));
    // even a jump: libbpf poisons without looking
    let ja = Insn::new(BPF_JMP | BPF_JA, 0, 0, 1, 0);
    assert!(is_poison(&patch_one(ja, &res).unwrap()));
}

#[test]
fn out_of_range_instruction_index() {
    let mut v = [mov64(0)];
    let rl = CoreRelo { relo_idx: 3, insn_idx: 1, type_id: 1, access: "0".into(), kind: ReloKind::TypeSize };
    let e = apply(&mut v, &rl, &r(0, 1)).unwrap_err();
    assert_eq!(e.to_string(), "relo #3: insn #1 is outside the program (1 instructions)");
    assert_eq!(e.relo_idx(), 3);
}

#[test]
fn from_rec_converts_and_checks() {
    let mut b = bpfemu_btf::Btf::new();
    let acc = b.strings.intern("0:1");
    let rec = bpfemu_btf::ext::CoreReloRec { insn_off: 24, type_id: 7, access_str_off: acc, kind: 0 };
    let rl = CoreRelo::from_rec(2, &rec, &b).unwrap();
    assert_eq!(
        rl,
        CoreRelo {
            relo_idx: 2,
            insn_idx: 3,
            type_id: 7,
            access: "0:1".into(),
            kind: ReloKind::FieldByteOffset
        }
    );
    let bad = bpfemu_btf::ext::CoreReloRec { insn_off: 20, ..rec };
    assert!(matches!(CoreRelo::from_rec(0, &bad, &b), Err(CoreError::UnalignedInsnOff { .. })));
    let bad = bpfemu_btf::ext::CoreReloRec { kind: 13, ..rec };
    assert!(matches!(CoreRelo::from_rec(0, &bad, &b), Err(CoreError::UnknownKind { kind: 13, .. })));
    let bad = bpfemu_btf::ext::CoreReloRec { access_str_off: 10_000, ..rec };
    assert!(matches!(CoreRelo::from_rec(0, &bad, &b), Err(CoreError::BadAccessStr { .. })));
}
