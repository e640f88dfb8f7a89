//! Unit tests: the exact text of every instruction form in both syntaxes.

use super::*;
use crate::instr::*;

fn r(n: u8) -> Reg {
    Reg::new(n).unwrap()
}

/// Each form's exact text: (instruction, kernel syntax, LLVM syntax).
fn cases() -> Vec<(Instruction, &'static str, &'static str)> {
    use Instruction as I;
    let alu = |width, op, dst, src| I::Alu { width, op, dst: r(dst), src };
    let atomic = |size, op, off| I::Atomic { size, op, dst: r(10), src: r(1), off };
    let ld = |src| I::LdImm64 { dst: r(1), src };
    vec![
        (alu(Width::W64, AluOp::Mov, 0, Source::Imm(1)), "r0 = 1", "r0 = 1"),
        (alu(Width::W32, AluOp::Add, 0, Source::Reg(r(1))), "w0 += w1", "w0 += w1"),
        (alu(Width::W64, AluOp::Sub, 1, Source::Imm(-5)), "r1 -= -5", "r1 -= -5"),
        (alu(Width::W64, AluOp::Arsh, 2, Source::Imm(3)), "r2 s>>= 3", "r2 s>>= 3"),
        (alu(Width::W32, AluOp::Lsh, 2, Source::Reg(r(3))), "w2 <<= w3", "w2 <<= w3"),
        (alu(Width::W64, AluOp::Mod, 1, Source::Reg(r(2))), "r1 %= r2", "r1 %= r2"),
        (alu(Width::W64, AluOp::SDiv, 1, Source::Reg(r(2))), "r1 s/= r2", "r1 s/= r2"),
        (alu(Width::W32, AluOp::SMod, 1, Source::Imm(7)), "w1 s%= 7", "w1 s%= 7"),
        (alu(Width::W64, AluOp::MovSx(8), 1, Source::Reg(r(2))), "r1 = (s8)r2", "r1 = (s8)r2"),
        (alu(Width::W32, AluOp::MovSx(16), 1, Source::Reg(r(2))), "w1 = (s16)w2", "w1 = (s16)w2"),
        (I::Neg { width: Width::W32, dst: r(3) }, "w3 = -w3", "w3 = -w3"),
        (I::Endian { op: EndianOp::ToBe, bits: 16, dst: r(1) }, "r1 = be16 r1", "r1 = be16 r1"),
        (I::Endian { op: EndianOp::ToLe, bits: 64, dst: r(1) }, "r1 = le64 r1", "r1 = le64 r1"),
        (I::Endian { op: EndianOp::Swap, bits: 32, dst: r(1) }, "r1 = bswap32 r1", "r1 = bswap32 r1"),
        (I::Ja { off: -2, long: false }, "goto pc-2", "goto -2"),
        (I::Ja { off: 0, long: false }, "goto pc+0", "goto +0"),
        (I::Ja { off: 100, long: true }, "gotol pc+100", "gotol +100"),
        (
            I::Jmp { width: Width::W32, op: JmpOp::SGt, dst: r(1), src: Source::Imm(5), off: 3 },
            "if w1 s> 0x5 goto pc+3",
            "if w1 s> 5 goto +3",
        ),
        (
            I::Jmp { width: Width::W64, op: JmpOp::Ne, dst: r(1), src: Source::Imm(-1), off: -7 },
            "if r1 != 0xffffffff goto pc-7",
            "if r1 != -1 goto -7",
        ),
        (
            I::Jmp { width: Width::W64, op: JmpOp::Le, dst: r(1), src: Source::Reg(r(2)), off: 0 },
            "if r1 <= r2 goto pc+0",
            "if r1 <= r2 goto +0",
        ),
        (
            I::Jmp { width: Width::W64, op: JmpOp::Set, dst: r(1), src: Source::Imm(0), off: 1 },
            "if r1 & 0x0 goto pc+1",
            "if r1 & 0 goto +1",
        ),
        (I::Call(CallTarget::Helper(1)), "call bpf_map_lookup_elem#1", "call 1"),
        (I::Call(CallTarget::Helper(12)), "call bpf_tail_call#12", "call 12"),
        (I::Call(CallTarget::Helper(0)), "call bpf_unspec#0", "call 0"),
        (I::Call(CallTarget::Helper(999)), "call unknown#999", "call 999"),
        (I::Call(CallTarget::Helper(-1)), "call unknown#-1", "call -1"),
        (I::Call(CallTarget::Local(5)), "call pc+5", "call pc+5"),
        (I::Call(CallTarget::Local(-3)), "call pc-3", "call pc-3"),
        (
            I::Call(CallTarget::Kfunc { btf_id: 1234, btf_fd_idx: 0 }),
            "call kernel-function#1234",
            "call kernel-function#1234",
        ),
        (
            I::Call(CallTarget::Kfunc { btf_id: 7, btf_fd_idx: 2 }),
            "call kernel-function#7[btf_fd_idx:2]",
            "call kernel-function#7[btf_fd_idx:2]",
        ),
        (I::Call(CallTarget::Reg(r(2))), "callx r2", "callx r2"),
        (I::Exit, "exit", "exit"),
        (
            ld(LdImm64::Imm(0x1122_3344_5566_7788)),
            "r1 = 0x1122334455667788 ll",
            "r1 = 1234605616436508552 ll",
        ),
        (ld(LdImm64::Imm(u64::MAX)), "r1 = 0xffffffffffffffff ll", "r1 = -1 ll"),
        (ld(LdImm64::Imm(0)), "r1 = 0x0 ll", "r1 = 0 ll"),
        (ld(LdImm64::MapFd(3)), "r1 = map[fd:3]", "ld_pseudo r1, 1, 3"),
        (ld(LdImm64::MapValue { fd: 3, off: 16 }), "r1 = map[fd:3][0]+16", "r1 = map[fd:3][0]+16"),
        (ld(LdImm64::MapValue { fd: 3, off: 0 }), "r1 = map[fd:3][0]+0", "ld_pseudo r1, 2, 3"),
        (ld(LdImm64::BtfId { btf_id: 77, btf_fd: 0 }), "r1 = btf_id[77]", "ld_pseudo r1, 3, 77"),
        (
            ld(LdImm64::BtfId { btf_id: 77, btf_fd: 4 }),
            "r1 = btf_id[77][btf_fd:4]",
            "r1 = btf_id[77][btf_fd:4]",
        ),
        (ld(LdImm64::Func(5)), "r1 = subprog[+5]", "ld_pseudo r1, 4, 5"),
        (ld(LdImm64::MapIdx(1)), "r1 = map[idx:1]", "ld_pseudo r1, 5, 1"),
        (ld(LdImm64::MapIdxValue { idx: 1, off: 8 }), "r1 = map[idx:1]+8", "r1 = map[idx:1]+8"),
        (I::LdPacket { size: Size::B, src: None, imm: 12 }, "r0 = *(u8 *)skb[12]", "r0 = *(u8 *)skb[12]"),
        (
            I::LdPacket { size: Size::H, src: Some(r(7)), imm: 2 },
            "r0 = *(u16 *)skb[r7 + 2]",
            "r0 = *(u16 *)skb[r7 + 2]",
        ),
        (
            I::LdPacket { size: Size::W, src: Some(r(7)), imm: 0 },
            "r0 = *(u32 *)skb[r7 + 0]",
            "r0 = *(u32 *)skb[r7]",
        ),
        (
            I::LdPacket { size: Size::W, src: Some(r(7)), imm: -2 },
            "r0 = *(u32 *)skb[r7 + -2]",
            "r0 = *(u32 *)skb[r7 - 2]",
        ),
        (
            I::Ldx { size: Size::W, sx: false, dst: r(0), src: r(1), off: 4 },
            "r0 = *(u32 *)(r1 +4)",
            "r0 = *(u32 *)(r1 + 4)",
        ),
        (
            I::Ldx { size: Size::H, sx: true, dst: r(0), src: r(1), off: 2 },
            "r0 = *(s16 *)(r1 +2)",
            "r0 = *(s16 *)(r1 + 2)",
        ),
        (
            I::Ldx { size: Size::DW, sx: false, dst: r(0), src: r(10), off: i16::MIN },
            "r0 = *(u64 *)(r10 -32768)",
            "r0 = *(u64 *)(r10 - 32768)",
        ),
        (
            I::St { size: Size::W, dst: r(1), off: 0, imm: -5 },
            "*(u32 *)(r1 +0) = -5",
            "*(u32 *)(r1 + 0) = -5",
        ),
        (
            I::Stx { size: Size::B, dst: r(10), src: r(3), off: -1 },
            "*(u8 *)(r10 -1) = r3",
            "*(u8 *)(r10 - 1) = r3",
        ),
        (
            atomic(Size::DW, AtomicOp::Add { fetch: false }, -8),
            "lock *(u64 *)(r10 -8) += r1",
            "lock *(u64 *)(r10 - 8) += r1",
        ),
        (
            atomic(Size::W, AtomicOp::Xor { fetch: false }, -4),
            "lock *(u32 *)(r10 -4) ^= r1",
            "lock *(u32 *)(r10 - 4) ^= w1",
        ),
        (
            atomic(Size::DW, AtomicOp::Add { fetch: true }, -8),
            "r1 = atomic64_fetch_add((u64 *)(r10 -8), r1)",
            "r1 = atomic_fetch_add((u64 *)(r10 - 8), r1)",
        ),
        (
            atomic(Size::W, AtomicOp::And { fetch: true }, -8),
            "r1 = atomic_fetch_and((u32 *)(r10 -8), r1)",
            "w1 = atomic_fetch_and((u32 *)(r10 - 8), w1)",
        ),
        (
            atomic(Size::DW, AtomicOp::Xchg, 0),
            "r1 = atomic64_xchg((u64 *)(r10 +0), r1)",
            "r1 = xchg_64(r10 + 0, r1)",
        ),
        (
            atomic(Size::W, AtomicOp::Xchg, 0),
            "r1 = atomic_xchg((u32 *)(r10 +0), r1)",
            "w1 = xchg32_32(r10 + 0, w1)",
        ),
        (
            I::Atomic { size: Size::W, op: AtomicOp::CmpXchg, dst: r(2), src: r(3), off: 0 },
            "r0 = atomic_cmpxchg((u32 *)(r2 +0), r0, r3)",
            "w0 = cmpxchg32_32(r2 + 0, w0, w3)",
        ),
        (
            I::Atomic { size: Size::DW, op: AtomicOp::CmpXchg, dst: r(2), src: r(3), off: 8 },
            "r0 = atomic64_cmpxchg((u64 *)(r2 +8), r0, r3)",
            "r0 = cmpxchg_64(r2 + 8, r0, r3)",
        ),
    ]
}

#[test]
fn every_form_prints_exactly() {
    for (ins, kernel, llvm) in cases() {
        assert_eq!(disasm_insn(&ins), kernel, "{ins:?}");
        assert_eq!(disasm_insn_with(&ins, Syntax::Kernel), kernel, "{ins:?}");
        assert_eq!(disasm_insn_with(&ins, Syntax::Llvm), llvm, "{ins:?}");
    }
}

#[test]
fn helper_names_follow_uapi_ids() {
    assert_eq!(helper_name(0), Some("bpf_unspec"));
    assert_eq!(helper_name(1), Some("bpf_map_lookup_elem"));
    assert_eq!(helper_name(12), Some("bpf_tail_call"));
    assert_eq!(helper_name(130), Some("bpf_ringbuf_output"));
    assert_eq!(helper_name(181), Some("bpf_loop"));
    assert_eq!(helper_name(211), Some("bpf_cgrp_storage_delete"));
    assert_eq!(helper_name(212), None);
    assert_eq!(helper_name(-1), None);
    assert_eq!(helper_id("bpf_ringbuf_output"), Some(130));
    assert_eq!(helper_id("ringbuf_output"), None);
    for id in 0..212 {
        let name = helper_name(id).unwrap();
        assert_eq!(helper_id(name), Some(id), "{name} is listed twice");
    }
}

#[test]
fn listing_matches_the_verifier_log() {
    let prog = [
        Instruction::Alu { width: Width::W64, op: AluOp::Mov, dst: r(0), src: Source::Imm(1) },
        Instruction::LdImm64 { dst: r(1), src: LdImm64::MapFd(4) },
        Instruction::Call(CallTarget::Helper(1)),
        Instruction::Exit,
    ];
    let text = format_listing(&crate::encode_program(&prog)).unwrap();
    assert_eq!(
        text,
        "0: (b7) r0 = 1\n1: (18) r1 = map[fd:4]\n3: (85) call bpf_map_lookup_elem#1\n4: (95) exit\n"
    );
    let listed = disasm_program(&crate::encode_program(&prog)).unwrap();
    assert_eq!(listed[2], (3, "call bpf_map_lookup_elem#1".to_string()));
    let llvm = disasm_program_with(&crate::encode_program(&prog), Syntax::Llvm).unwrap();
    assert_eq!(llvm[1], (1, "ld_pseudo r1, 1, 4".to_string()));
}

#[test]
fn undecodable_programs_report_the_slot() {
    let bad = [Insn::new(0x07, 0, 0, 0, 1), Insn::new(0xff, 0, 0, 0, 0)];
    assert_eq!(disasm_program(&bad).unwrap_err().index, 1);
    assert_eq!(format_listing(&bad).unwrap_err().index, 1);
}
