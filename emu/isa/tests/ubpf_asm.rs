//! uBPF-dialect assembler: encodings of every form, labels, numbers, and the
//! error texts of upstream bpf_conformance's `bpf_assembler.cc`.

use bpfemu_isa::Insn;
use bpfemu_isa::asm::ubpf::{UbpfAsmError, assemble, disassemble};

fn one(src: &str) -> Insn {
    let v = assemble(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    assert_eq!(v.len(), 1, "{src}");
    v[0]
}

fn err(src: &str) -> UbpfAsmError {
    match assemble(src) {
        Ok(v) => panic!("{src}: assembled to {v:?}"),
        Err(e) => e,
    }
}

#[test]
fn alu_forms() {
    let n = Insn::new;
    assert_eq!(one("mov32 %r0, 0xffffffff"), n(0xb4, 0, 0, 0, -1));
    assert_eq!(one("mov32 %r0, 2147483648"), n(0xb4, 0, 0, 0, i32::MIN));
    assert_eq!(one("mov %r1, -1"), n(0xb7, 1, 0, 0, -1));
    assert_eq!(one("mov %r1, -2147483648"), n(0xb7, 1, 0, 0, i32::MIN));
    assert_eq!(one("add %r1, %r2"), n(0x0f, 1, 2, 0, 0));
    assert_eq!(one("add32 %r1, 0x10"), n(0x04, 1, 0, 0, 16));
    assert_eq!(one("sub %r9, %r10"), n(0x1f, 9, 10, 0, 0));
    assert_eq!(one("mul32 %r2, 3"), n(0x24, 2, 0, 0, 3));
    assert_eq!(one("div %r2, %r3"), n(0x3f, 2, 3, 0, 0));
    assert_eq!(one("sdiv32 %r0, 3"), n(0x34, 0, 0, 1, 3));
    assert_eq!(one("sdiv %r0, %r1"), n(0x3f, 0, 1, 1, 0));
    assert_eq!(one("or %r0, 1"), n(0x47, 0, 0, 0, 1));
    assert_eq!(one("and32 %r0, %r1"), n(0x5c, 0, 1, 0, 0));
    assert_eq!(one("lsh %r0, 32"), n(0x67, 0, 0, 0, 32));
    assert_eq!(one("rsh32 %r0, %r1"), n(0x7c, 0, 1, 0, 0));
    assert_eq!(one("mod %r0, 7"), n(0x97, 0, 0, 0, 7));
    assert_eq!(one("smod %r0, %r1"), n(0x9f, 0, 1, 1, 0));
    assert_eq!(one("smod32 %r0, -3"), n(0x94, 0, 0, 1, -3));
    assert_eq!(one("xor %r0, %r1"), n(0xaf, 0, 1, 0, 0));
    assert_eq!(one("arsh32 %r0, 4"), n(0xc4, 0, 0, 0, 4));
    assert_eq!(one("neg %r3"), n(0x87, 3, 0, 0, 0));
    assert_eq!(one("neg32 %r3"), n(0x84, 3, 0, 0, 0));
    assert_eq!(one("movsx864 %r6, %r5"), n(0xbf, 6, 5, 8, 0));
    assert_eq!(one("movsx832 %r2, %r1"), n(0xbc, 2, 1, 8, 0));
    assert_eq!(one("movsx1664 %r8, %r7"), n(0xbf, 8, 7, 16, 0));
    assert_eq!(one("movsx1632 %r4, %r3"), n(0xbc, 4, 3, 16, 0));
    assert_eq!(one("movsx3264 %r0, %r9"), n(0xbf, 0, 9, 32, 0));
}

#[test]
fn byte_order_forms() {
    let n = Insn::new;
    assert_eq!(one("be16 %r0"), n(0xdc, 0, 0, 0, 16));
    assert_eq!(one("be64 %r1"), n(0xdc, 1, 0, 0, 64));
    assert_eq!(one("le32 %r2"), n(0xd4, 2, 0, 0, 32));
    assert_eq!(one("swap16 %r0"), n(0xd7, 0, 0, 0, 16));
    assert_eq!(one("bswap64 %r0"), n(0xd7, 0, 0, 0, 64));
    assert_eq!(one("bswap32 %r0"), one("swap32 %r0"));
}

#[test]
fn jump_and_call_forms() {
    let n = Insn::new;
    assert_eq!(one("ja +1"), n(0x05, 0, 0, 1, 0));
    assert_eq!(one("ja -2"), n(0x05, 0, 0, -2, 0));
    assert_eq!(one("ja32 -1"), n(0x06, 0, 0, 0, -1));
    assert_eq!(one("ja32 +100000"), n(0x06, 0, 0, 0, 100_000));
    assert_eq!(one("jne %r0, 15, +3"), n(0x55, 0, 0, 3, 15));
    assert_eq!(one("jeq %r1, 0x80000000, +1"), n(0x15, 1, 0, 1, i32::MIN));
    assert_eq!(one("jslt32 %r1, %r2, -1"), n(0xce, 1, 2, -1, 0));
    assert_eq!(one("jset32 %r1, 1, +0"), n(0x46, 1, 0, 0, 1));
    assert_eq!(one("jle %r1, %r2, +0x10"), n(0xbd, 1, 2, 16, 0));
    assert_eq!(one("call 5"), n(0x85, 0, 0, 0, 5));
    assert_eq!(one("call helper 5"), n(0x85, 0, 0, 0, 5));
    assert_eq!(one("call %r2"), n(0x8d, 2, 0, 0, 0));
    assert_eq!(one("call local +2"), n(0x85, 0, 1, 0, 2));
    assert_eq!(one("call local -3"), n(0x85, 0, 1, 0, -3));
    assert_eq!(one("call runtime 7"), n(0x85, 0, 2, 0, 7));
    assert_eq!(one("exit"), n(0x95, 0, 0, 0, 0));
}

#[test]
fn load_store_forms() {
    let n = Insn::new;
    let v = assemble("lddw %r0, 0x1122334455667788").unwrap();
    assert_eq!(v, [n(0x18, 0, 0, 0, 0x55667788), n(0, 0, 0, 0, 0x11223344)]);
    let v = assemble("lddw %r3, -1").unwrap();
    assert_eq!(v, [n(0x18, 3, 0, 0, -1), n(0, 0, 0, 0, -1)]);
    let v = assemble("lddw %r0, 0xFFFFFFFF80000000").unwrap();
    assert_eq!(v, [n(0x18, 0, 0, 0, i32::MIN), n(0, 0, 0, 0, -1)]);
    assert_eq!(one("ldxb %r0, [%r1]"), n(0x71, 0, 1, 0, 0));
    assert_eq!(one("ldxh %r0, [%r1+2]"), n(0x69, 0, 1, 2, 0));
    assert_eq!(one("ldxw %r0, [%r1+0x4]"), n(0x61, 0, 1, 4, 0));
    assert_eq!(one("ldxdw %r0, [%r10-8]"), n(0x79, 0, 10, -8, 0));
    assert_eq!(one("ldxsb %r0, [%r10-1]"), n(0x91, 0, 10, -1, 0));
    assert_eq!(one("ldxsh %r0, [%r10-2]"), n(0x89, 0, 10, -2, 0));
    assert_eq!(one("ldxsw %r0, [%r10-4]"), n(0x81, 0, 10, -4, 0));
    assert_eq!(one("stb [%r10-1], 0x7f"), n(0x72, 10, 0, -1, 0x7f));
    assert_eq!(one("sth [%r1+2], -1"), n(0x6a, 1, 0, 2, -1));
    assert_eq!(one("stw [%r1], 0xffffffff"), n(0x62, 1, 0, 0, -1));
    assert_eq!(one("stdw [%r1+8], 5"), n(0x7a, 1, 0, 8, 5));
    assert_eq!(one("stxb [%r1], %r2"), n(0x73, 1, 2, 0, 0));
    assert_eq!(one("stxh [%r1+1], %r2"), n(0x6b, 1, 2, 1, 0));
    assert_eq!(one("stxw [%r1-1], %r2"), n(0x63, 1, 2, -1, 0));
    assert_eq!(one("stxdw [%r10-8], %r1"), n(0x7b, 10, 1, -8, 0));
}

#[test]
fn atomic_forms() {
    let n = Insn::new;
    assert_eq!(one("lock add [%r10-8], %r1"), n(0xdb, 10, 1, -8, 0x00));
    assert_eq!(one("lock add32 [%r10-4], %r1"), n(0xc3, 10, 1, -4, 0x00));
    assert_eq!(one("lock fetch add32 [%r10-4], %r1"), n(0xc3, 10, 1, -4, 0x01));
    assert_eq!(one("lock or [%r10-8], %r1"), n(0xdb, 10, 1, -8, 0x40));
    assert_eq!(one("lock fetch or32 [%r10-4], %r3"), n(0xc3, 10, 3, -4, 0x41));
    assert_eq!(one("lock and [%r10-8], %r1"), n(0xdb, 10, 1, -8, 0x50));
    assert_eq!(one("lock fetch and [%r10-8], %r3"), n(0xdb, 10, 3, -8, 0x51));
    assert_eq!(one("lock xor32 [%r10-8], %r1"), n(0xc3, 10, 1, -8, 0xa0));
    assert_eq!(one("lock fetch xor [%r10-8], %r1"), n(0xdb, 10, 1, -8, 0xa1));
    assert_eq!(one("lock xchg [%r10-8], %r1"), n(0xdb, 10, 1, -8, 0xe1));
    assert_eq!(one("lock xchg32 [%r10-8], %r1"), n(0xc3, 10, 1, -8, 0xe1));
    assert_eq!(one("lock cmpxchg [%r10-8], %r1"), n(0xdb, 10, 1, -8, 0xf1));
    assert_eq!(one("lock cmpxchg32 [%r10-8], %r1"), n(0xc3, 10, 1, -8, 0xf1));
}

#[test]
fn labels_comments_and_layout() {
    let src = "\
# leading comment
  mov %r0, 0   # trailing comment
  jeq %r1, 0, skip
  lddw %r2, 1
skip:
  ja32 done
  mov %r0,1
done: exit
  call local done
  ja back
back:
";
    let v = assemble(src).unwrap();
    assert_eq!(v.len(), 9);
    assert_eq!(v[1].off, 2, "jeq skips the two lddw slots");
    assert_eq!(v[4].imm, 1, "ja32 label goes into imm");
    assert_eq!((v[7].src, v[7].imm), (1, -2), "call local to an earlier label");
    assert_eq!(v[8].off, 0, "label at the very end");
    // Commas are optional, whitespace may be anything.
    assert_eq!(one("add\t%r1 %r2"), one("add %r1, %r2"));
}

#[test]
fn exit_is_an_implicit_label_for_the_first_exit() {
    let v = assemble("jeq %r1, 1, exit\nmov %r0, 2\nexit\nexit").unwrap();
    assert_eq!(v[0].off, 1);
    let v = assemble("jeq %r1, 1, exit\nexit\nexit:\nexit").unwrap();
    assert_eq!(v[0].off, 1, "an explicit exit: label wins");
    assert!(err("ja exit\nmov %r0, 1").message.contains("Invalid label: exit"));
}

#[test]
fn upstream_error_texts() {
    let cases = [
        ("or %r0, %r50\nexit", 1, "Invalid register: %r50"),
        ("lock or [%r10-8]\nexit", 1, "Invalid number of operands for lock"),
        ("lock\nexit", 1, "Invalid number of operands for lock"),
        ("lock fetch\nexit", 1, "Invalid number of operands for lock"),
        ("ldxq %r0, %r1\nexit", 1, "Invalid mnemonic: ldxq"),
        ("ldxb %r0, %r1\nexit", 1, "Failed to decode register and offset: %r1"),
        ("lddw %r0\nexit", 1, "Invalid number of operands for mnemonic: lddw"),
        ("exit\nja NOT_A_LABEL\nexit", 2, "Invalid label: NOT_A_LABEL"),
        ("call foo 5", 1, "Invalid call mode: foo"),
        ("lock nand [%r1], %r2", 1, "Invalid mnemonic: lock nand"),
        ("mov32 %r0, 0x100000000", 1, "Immediate out of 32-bit range"),
        ("mov32 %r0, -2147483649", 1, "Immediate out of 32-bit range"),
        ("mov32 %r0, 12abc", 1, "Invalid immediate: 12abc"),
        ("lddw %r0, 0x10000000000000000", 1, "Immediate out of 64-bit range"),
        ("ldxb %r0, [%r1+0x10000]", 1, "Offset out of 16-bit range"),
        ("ldxb %r0, [%r1+32768]", 1, "Offset out of 16-bit range"),
        ("ja +32768", 1, "Jump offset out of range"),
        ("x:\nx:", 2, "Duplicate label: x (first defined on line 1)"),
        ("mov %r0, %r01", 1, "Invalid register: %r01"),
        ("mov %r0, %r16", 1, "Invalid register: %r16"),
        ("ldxsdw %r0, [%r1]", 1, "Invalid mnemonic: ldxsdw"),
        ("add64 %r0, 1", 1, "Invalid mnemonic: add64"),
        ("exit %r0", 1, "Invalid number of operands for mnemonic: exit"),
    ];
    for (src, line, text) in cases {
        let e = err(src);
        assert_eq!(e.line, line, "{src}: {e}");
        assert!(e.message.contains(text), "{src}: got {e:?}, want {text:?}");
        assert_eq!(e.to_string(), format!("line {line}: {}", e.message));
    }
}

#[test]
fn label_distance_is_range_checked() {
    let mut src = String::from("jeq %r0, 0, far\n");
    src.push_str(&"mov %r0, 0\n".repeat(40_000));
    src.push_str("far: exit\n");
    let e = err(&src);
    assert_eq!(e.line, 1);
    assert!(e.message.contains("out of range"), "{e}");
    // ja32 has a 32-bit field: the same distance is fine.
    let v = assemble(&src.replacen("jeq %r0, 0, far", "ja32 far", 1)).unwrap();
    assert_eq!(v[0].imm, 40_000);
}

#[test]
fn fake_registers_assemble_but_do_not_decode() {
    let v = assemble("mov %r11, 1\nexit").unwrap();
    assert_eq!(v[0].dst, 11);
    assert!(bpfemu_isa::decode_program(&v).is_err());
    assert!(disassemble(&v).is_err());
}
