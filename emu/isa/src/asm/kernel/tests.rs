//! Unit tests: error texts and columns, labels, comments, listing prefixes
//! and LLVM's input forms.

use super::*;

fn err(src: &str) -> String {
    assemble(src).unwrap_err().to_string()
}

fn one(src: &str) -> Instruction {
    let prog = assemble_instructions(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    assert_eq!(prog.len(), 1, "{src}");
    prog[0].1
}

fn r(n: u8) -> Reg {
    Reg::new(n).unwrap()
}

#[test]
fn errors_name_line_and_reason() {
    assert_eq!(err("exit\nmov r0, 1"), "line 2: unknown mnemonic 'mov'");
    assert_eq!(err("r11 = 1"), "line 1: invalid register 'r11' (r0..r10)");
    assert_eq!(err("r1 = *(u32 *)(r12 +0)"), "line 1: invalid register 'r12' (r0..r10)");
    assert_eq!(err("r1 += 0x100000000"), "line 1: immediate 4294967296 out of range (32-bit)");
    assert_eq!(err("if r1 > -2147483649 goto +1"), "line 1: immediate -2147483649 out of range (32-bit)");
    assert_eq!(
        err("r1 = 0x100000000"),
        "line 1: immediate 4294967296 out of range (32-bit; add 'll' for a 64-bit load)"
    );
    assert_eq!(
        err("r1 = 99999999999999999999 ll"),
        "line 1: number '99999999999999999999' does not fit in 64 bits"
    );
    assert_eq!(
        err("r1 = -0x8000000000000001 ll"),
        "line 1: immediate -9223372036854775809 out of range (64-bit)"
    );
    assert_eq!(err("exit\ngoto nowhere"), "line 2: undefined label 'nowhere'");
    assert_eq!(err("call nowhere"), "line 1: undefined label 'nowhere'");
    assert_eq!(err("a:\nexit\n a: exit"), "line 3: duplicate label 'a' (first defined on line 1)");
    assert_eq!(err("goto +40000"), "line 1: jump offset 40000 out of range (-32768..=32767)");
    assert_eq!(err("if r1 == 0 goto pc-32769"), "line 1: jump offset -32769 out of range (-32768..=32767)");
    assert_eq!(err("r0 = *(u32 *)(r1 +40000)"), "line 1: offset 40000 out of range (-32768..=32767)");
    assert_eq!(err("*(u8 *)(r1 - 32769) = 1"), "line 1: offset -32769 out of range (-32768..=32767)");
    assert_eq!(err("r1 = 1 @"), "line 1: unexpected character '@'");
    assert_eq!(err("exit r0"), "line 1: unexpected 'r0' after the instruction");
    assert_eq!(err("r1 ="), "line 1: expected an operand after '=', found end of line");
    assert_eq!(err("w1 = r2"), "line 1: mixed 32-bit (wN) and 64-bit (rN) registers");
    assert_eq!(err("if w1 > r2 goto +1"), "line 1: mixed 32-bit (wN) and 64-bit (rN) registers");
    assert_eq!(err("w1 = (s32)w2"), "line 1: (s32) sign extension needs 64-bit registers");
    assert_eq!(err("r1 = be16 r2"), "line 1: byte swap must be in place ('rN = be16 rN')");
    assert_eq!(err("r1 = -r2"), "line 1: negation must be in place ('rN = -rN')");
    assert_eq!(err("r1 = *(u32 *)(w1 +0)"), "line 1: expected a 64-bit register, found 'w1'");
    assert_eq!(err("r1 = *(u128 *)(r1 +0)"), "line 1: unknown type 'u128' (u8, u16, u32, u64, s8, s16, s32)");
    assert_eq!(err("*(s8 *)(r1 +0) = r2"), "line 1: signed types are only for loads");
    assert_eq!(err("lock *(u16 *)(r1 +0) += r2"), "line 1: atomic operations are u32 or u64 only");
    assert_eq!(err("lock *(u64 *)(r1 +0) -= r2"), "line 1: expected '+=', '|=', '&=' or '^=', found '-='");
    assert_eq!(
        err("r1 = atomic64_fetch_add((u64 *)(r10 -8), r2)"),
        "line 1: the result register must be the source register ('r2 = ...(addr, r2)')"
    );
    assert_eq!(err("r1 = atomic64_xchg((u32 *)(r10 -8), r1)"), "line 1: 'atomic64_xchg' operates on u64");
    assert_eq!(
        err("r1 = atomic_cmpxchg((u32 *)(r2 +0), r1, r3)"),
        "line 1: cmpxchg compares with and returns r0 ('r0 = ...(addr, r0, rN)')"
    );
    assert_eq!(err("call bpf_foo#1"), "line 1: helper #1 is 'bpf_map_lookup_elem', not 'bpf_foo'");
    assert_eq!(err("r1 = *(u64 *)skb[0]"), "line 1: packet loads are 'r0 = *(u8|u16|u32 *)skb[...]'");
    assert_eq!(err("w1 = 1 ll"), "line 1: a 64-bit load ('ll') needs an rN destination");
    assert_eq!(
        err("ld_pseudo r1, 9, 3"),
        "line 1: invalid ld_pseudo: field 'src' is 9, expected a BPF_PSEUDO_* source (0..=6)"
    );
    assert_eq!(err("r1: exit"), "line 1: 'r1' is a register, not a label");
    assert_eq!(err(".text"), "line 1: unknown mnemonic '.text'");
}

#[test]
fn errors_carry_columns() {
    let e = assemble("  r1 += 0x100000000").unwrap_err();
    assert_eq!((e.line, e.column), (1, 9));
    let e = assemble("exit\n0: (b7) r11 = 1").unwrap_err();
    assert_eq!((e.line, e.column), (2, 9));
    let e = assemble("r1 =").unwrap_err();
    assert_eq!(e.column, 5);
}

#[test]
fn far_label_is_out_of_range() {
    let src = format!("goto end\n{}end: exit\n", "r0 = 0\n".repeat(40_000));
    assert_eq!(err(&src), "line 1: jump offset 40000 out of range (-32768..=32767)");
    let src = format!("gotol end\n{}end: exit\n", "r0 = 0\n".repeat(40_000));
    assert_eq!(assemble(&src).unwrap()[0], Insn::new(0x06, 0, 0, 0, 40_000));
}

#[test]
fn labels_comments_and_listing_prefixes() {
    let src = "
        ; a comment line
        # another
        // and another
        start:  r0 = 0          ; trailing
        loop:                   # label alone
            r0 += 1             // trailing
            if r0 < 10 goto loop
            if w0 == 0x5 goto pc+1
            goto start
            call fn
            call bpf_map_lookup_elem
            exit
        fn: r0 = 1 ll
            gotol loop
            exit
    ";
    let got = assemble_instructions(src).unwrap();
    let ins: Vec<_> = got.iter().map(|(_, i)| *i).collect();
    let jmp = |width, op, src, off| Instruction::Jmp { width, op, dst: r(0), src, off };
    assert_eq!(got[0].0, 5);
    assert_eq!(
        ins,
        vec![
            Instruction::Alu { width: Width::W64, op: AluOp::Mov, dst: r(0), src: Source::Imm(0) },
            Instruction::Alu { width: Width::W64, op: AluOp::Add, dst: r(0), src: Source::Imm(1) },
            jmp(Width::W64, JmpOp::Lt, Source::Imm(10), -2),
            jmp(Width::W32, JmpOp::Eq, Source::Imm(5), 1),
            Instruction::Ja { off: -5, long: false },
            Instruction::Call(CallTarget::Local(2)),
            Instruction::Call(CallTarget::Helper(1)),
            Instruction::Exit,
            Instruction::LdImm64 { dst: r(0), src: LdImm64::Imm(1) },
            Instruction::Ja { off: -10, long: true },
            Instruction::Exit,
        ]
    );
    let listed = "0: (b7) r0 = 1\n1: (18) r1 = map[fd:4]\n3: (85) call bpf_map_lookup_elem#1\n4: (95) exit\n";
    assert_eq!(assemble(listed).unwrap().len(), 5);
}

#[test]
fn llvm_input_forms() {
    let ldx = |dst, off| Instruction::Ldx { size: Size::W, sx: false, dst: r(dst), src: r(1), off };
    assert_eq!(one("w0 = *(u32 *)(r1 + 4)"), ldx(0, 4));
    assert_eq!(one("r0 = *(u32 *)(r1 - 4)"), ldx(0, -4));
    assert_eq!(one("r0 = *(u32 *)(r1)"), ldx(0, 0));
    assert_eq!(
        one("*(u32 *)(r1 + 4) = w2"),
        Instruction::Stx { size: Size::W, dst: r(1), src: r(2), off: 4 }
    );
    assert_eq!(
        one("lock *(u32 *)(r10 - 4) += w1"),
        Instruction::Atomic {
            size: Size::W,
            op: AtomicOp::Add { fetch: false },
            dst: r(10),
            src: r(1),
            off: -4
        }
    );
    assert_eq!(one("r0 = 5 ll"), Instruction::LdImm64 { dst: r(0), src: LdImm64::Imm(5) });
    assert_eq!(one("r0 = -1 ll"), Instruction::LdImm64 { dst: r(0), src: LdImm64::Imm(u64::MAX) });
    assert_eq!(one("call 1"), Instruction::Call(CallTarget::Helper(1)));
    assert_eq!(
        one("w0 = 0xffffffff"),
        Instruction::Alu { width: Width::W32, op: AluOp::Mov, dst: r(0), src: Source::Imm(-1) }
    );
    assert_eq!(one("r0 = *(u16 *)skb[r7]"), Instruction::LdPacket { size: Size::H, src: Some(r(7)), imm: 0 });
    assert_eq!(
        one("ld_pseudo r1, 2, 3"),
        Instruction::LdImm64 { dst: r(1), src: LdImm64::MapValue { fd: 3, off: 0 } }
    );
}
