//! Random straight-line programs never panic the verifier.

use super::*;
use bpfemu_isa::{AluOp, AtomicOp, Insn, Instruction as I, JmpOp, Reg, Size, Source, Width};
use proptest::prelude::*;

fn reg() -> impl Strategy<Value = Reg> {
    (0u8..=10).prop_map(|n| Reg::new(n).unwrap())
}

fn size() -> impl Strategy<Value = Size> {
    prop::sample::select(Size::ALL.to_vec())
}

fn insn() -> impl Strategy<Value = I> {
    let width = prop::sample::select(vec![Width::W32, Width::W64]);
    let src = prop_oneof![reg().prop_map(Source::Reg), (-600i32..600).prop_map(Source::Imm)];
    let off = -520i16..40;
    prop_oneof![
        (width.clone(), prop::sample::select(AluOp::ALL.to_vec()), reg(), src.clone())
            .prop_map(|(width, op, dst, src)| I::Alu { width, op, dst, src }),
        (size(), reg(), reg(), off.clone()).prop_map(|(size, dst, src, off)| I::Ldx {
            size,
            sx: false,
            dst,
            src,
            off
        }),
        (size(), reg(), reg(), off.clone()).prop_map(|(size, dst, src, off)| I::Stx { size, dst, src, off }),
        (size(), reg(), off.clone(), any::<i32>()).prop_map(|(size, dst, off, imm)| I::St {
            size,
            dst,
            off,
            imm
        }),
        (prop::sample::select(AtomicOp::ALL.to_vec()), reg(), reg(), off.clone(), any::<bool>()).prop_map(
            |(op, dst, src, off, w)| I::Atomic {
                size: if w { Size::W } else { Size::DW },
                op,
                dst,
                src,
                off
            }
        ),
        (width, prop::sample::select(JmpOp::ALL.to_vec()), reg(), src)
            .prop_map(|(width, op, dst, src)| I::Jmp { width, op, dst, src, off: 0 }),
        (reg(), prop::sample::select(vec![0i32, 1, 2, 3])).prop_map(|(dst, k)| I::LdImm64 {
            dst,
            src: match k {
                0 => bpfemu_isa::LdImm64::MapFd(0),
                1 => bpfemu_isa::LdImm64::MapValue { fd: 0, off: 4 },
                2 => bpfemu_isa::LdImm64::MapValue { fd: 3, off: 0 },
                _ => bpfemu_isa::LdImm64::Imm(7),
            }
        }),
        (size(), prop::option::of(reg()), -4i32..64).prop_map(|(size, src, imm)| I::LdPacket {
            size,
            src,
            imm
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("BPFEMU_RANDOM_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(600)
    ))]
    #[test]
    fn never_panics(prog in prop::collection::vec(insn(), 1..40), lvl in 0u32..3, privileged in any::<bool>()) {
        let mut prog = prog;
        prog.push(I::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Source::Imm(0) });
        prog.push(I::Exit);
        let insns: Vec<Insn> = bpfemu_isa::encode_program(&prog);
        let pseudo = super::pseudo_of(&prog);
        let maps = maps();
        let opts = if privileged { VerifyOptions::default() } else { unpriv() };
        let input = VerifyInput { insns: &insns, pseudo: &pseudo, maps: &maps, prog_type: &Mock, opts, btf: None };
        let mut log = if lvl == 0 { VerifierLog::disabled() } else { VerifierLog::new(lvl, true, 1 << 20).unwrap() };
        let _ = verify(&input, &mut log);
    }
}
