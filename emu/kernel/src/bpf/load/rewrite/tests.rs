use super::*;
use crate::progtype::convert::kern;
use crate::progtype::skb::off;
use bpfemu_isa::opcode::BPF_B;
use bpfemu_verifier::env::CtxField;

fn rec(off: i32, size: u32, field_size: u32, field: CtxField) -> CtxRecord {
    CtxRecord { off, size, field_size, field, write: false, sx: false }
}

fn ldx(sz: u8, dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(BPF_LDX | BPF_MEM | sz, dst, src, off, 0)
}

const EXIT: Insn = Insn::new(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

#[test]
fn data_pointers_and_jumps() {
    // 0: r2 = data; 1: if r2 == 0 goto 4; 2: r3 = data_end; 3: r0 = 0; 4: exit
    let p = [
        ldx(BPF_W, 2, 1, off::DATA as i16),
        Insn::new(BPF_JMP | 0x10 | BPF_K, 2, 0, 2, 0),
        ldx(BPF_W, 3, 1, off::DATA_END as i16),
        Insn::new(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
        EXIT,
    ];
    let acc = [
        (0, rec(off::DATA as i32, 4, 0, CtxField::Packet)),
        (2, rec(off::DATA_END as i32, 4, 0, CtxField::PacketEnd)),
    ];
    let r = convert_ctx_accesses(&p, &acc, CtxConv::SkBuff).unwrap();
    assert_eq!(r.insns[0], ldx(BPF_DW, 2, 1, kern::SKB_DATA as i16));
    assert_eq!(r.insns[2], ldx(BPF_DW, 3, 1, kern::SKB_DATA_END as i16));
    assert_eq!(r.insns[1], p[1]);
    assert_eq!(r.map, [0, 1, 2, 3, 4, 5]);
}

#[test]
fn narrow_loads_grow_and_jumps_follow() {
    // 0: if r1 == 0 goto 3; 1: r2 = *(u8 *)(r1 + 1) (len byte 1); 2: r0 = 0; 3: exit
    let p = [
        Insn::new(BPF_JMP | 0x10 | BPF_K, 1, 0, 2, 0),
        ldx(BPF_B, 2, 1, 1),
        Insn::new(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
        EXIT,
    ];
    let r = convert_ctx_accesses(&p, &[(1, rec(1, 1, 4, CtxField::Scalar))], CtxConv::SkBuff).unwrap();
    assert_eq!(
        r.insns,
        [
            Insn::new(BPF_JMP | 0x10 | BPF_K, 1, 0, 4, 0),
            ldx(BPF_W, 2, 1, 0),
            Insn::new(BPF_ALU | BPF_RSH | BPF_K, 2, 0, 0, 8),
            Insn::new(BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xff),
            p[2],
            EXIT,
        ]
    );
    assert_eq!(r.map, [0, 1, 4, 5, 6]);
}

#[test]
fn backward_jumps_calls_and_func_loads() {
    // 0: r2 = *(u16 *)(r1 + 0); 1: call pc+2; 2: goto -3 (to 0); 3: exit; 4: r0 = 0; 5: exit
    // plus a ld_imm64 of a function at 6..7 pointing at 4.
    let p = [
        ldx(BPF_H, 2, 1, 0),
        Insn::new(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 2),
        Insn::new(BPF_JMP | BPF_JA, 0, 0, -3, 0),
        EXIT,
        Insn::new(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
        EXIT,
    ];
    let r = convert_ctx_accesses(&p, &[(0, rec(0, 2, 4, CtxField::Scalar))], CtxConv::SkBuff).unwrap();
    assert_eq!(r.insns.len(), 7);
    assert_eq!(r.insns[2].imm, 2);
    assert_eq!(r.insns[3].off, -4);
    let f = [
        Insn::new(BPF_LD | BPF_DW, 1, BPF_PSEUDO_FUNC, 0, 3),
        Insn::default(),
        ldx(BPF_B, 2, 1, 2),
        EXIT,
        Insn::new(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
        EXIT,
    ];
    let r = convert_ctx_accesses(&f, &[(2, rec(2, 1, 4, CtxField::Scalar))], CtxConv::Same).unwrap();
    assert_eq!(r.insns[0].imm, 5);
    assert_eq!(r.insns[3], Insn::new(BPF_ALU | BPF_RSH | BPF_K, 2, 0, 0, 16));
}

#[test]
fn sign_extension_and_misconfiguration() {
    let p = [Insn::new(BPF_LDX | BPF_MEMSX | BPF_B, 2, 1, 0, 0), EXIT];
    let mut rc = rec(0, 1, 4, CtxField::Scalar);
    rc.sx = true;
    let r = convert_ctx_accesses(&p, &[(0, rc)], CtxConv::SkBuff).unwrap();
    assert_eq!(r.insns[0], ldx(BPF_W, 2, 1, 0));
    assert_eq!(r.insns[1], Insn::new(BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xff));
    assert_eq!(r.insns[2], Insn::new(BPF_ALU64 | BPF_MOV | BPF_X, 2, 2, 8, 0));
    // A record whose size does not match its instruction.
    assert_eq!(
        convert_ctx_accesses(&p, &[(0, rec(0, 4, 0, CtxField::Scalar))], CtxConv::SkBuff)
            .map_err(|e| e.errno),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        convert_ctx_accesses(&p, &[(9, rc)], CtxConv::SkBuff).map_err(|e| e.errno),
        Err(Errno::EINVAL)
    );
}

#[test]
fn jumps_that_no_longer_reach() {
    // A forward jump of 32767 over a narrow load that grows by 2.
    let mut p = vec![Insn::new(BPF_JMP | BPF_JA, 0, 0, i16::MAX, 0), ldx(BPF_B, 2, 1, 1)];
    p.resize(usize::from(i16::MAX as u16) + 1, Insn::new(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0));
    p.push(EXIT);
    let e = convert_ctx_accesses(&p, &[(1, rec(1, 1, 4, CtxField::Scalar))], CtxConv::SkBuff).unwrap_err();
    assert_eq!((e.errno, e.msg.as_str()), (Errno::ENOMEM, "insn 0 cannot be patched due to 16-bit range"));
}

#[test]
fn btf_loads_are_guarded_and_jumps_follow() {
    // 0: if r1 == 0 goto 2; 1: r2 = *(u64 *)(r1 +8) (PTR_TO_BTF_ID); 2: exit
    let p = [Insn::new(BPF_JMP | 0x10 | BPF_K, 1, 0, 1, 0), ldx(BPF_DW, 2, 1, 8), EXIT];
    let r = patch_accesses(&p, &[], None, &[1]).unwrap();
    assert_eq!(
        r.insns,
        vec![
            Insn::new(BPF_JMP | 0x10 | BPF_K, 1, 0, 4, 0),
            Insn::new(BPF_JMP | BPF_JLT | BPF_K, 1, 0, 2, PROBE_MEM_LIMIT),
            ldx(BPF_DW, 2, 1, 8),
            Insn::new(BPF_JMP | BPF_JA, 0, 0, 1, 0),
            Insn::new(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 0),
            EXIT,
        ]
    );
    assert_eq!(r.map, vec![0, 1, 5, 6]);
    // A store cannot be a BTF load.
    let st = [Insn::new(bpfemu_isa::opcode::BPF_STX | BPF_MEM | BPF_DW, 1, 2, 0, 0), EXIT];
    assert_eq!(patch_accesses(&st, &[], None, &[0]).unwrap_err().msg, "bpf verifier is misconfigured");
}

#[test]
fn immediate_stores_into_the_ctx() {
    // Linux 6.3+ lets `BPF_ST` write the ctx (`convert_ctx_accesses()`
    // treats it as `BPF_STX`): `*(u32 *)(r1 + mark) = 7`, then a load of
    // `data` that grows, so the store keeps its place and the rest moves.
    use bpfemu_isa::opcode::{BPF_ST, BPF_STX};
    let st = Insn::new(BPF_ST | BPF_MEM | BPF_W, 1, 0, off::MARK as i16, 7);
    let stx = Insn::new(BPF_STX | BPF_MEM | BPF_W, 1, 2, off::CB as i16, 0);
    let p = [st, stx, ldx(BPF_W, 2, 1, off::DATA as i16), EXIT];
    let w = |o: usize| CtxRecord { write: true, ..rec(o as i32, 4, 0, CtxField::Scalar) };
    let acc = [(0, w(off::MARK)), (1, w(off::CB)), (2, rec(off::DATA as i32, 4, 0, CtxField::Packet))];
    let r = convert_ctx_accesses(&p, &acc, CtxConv::SkBuff).unwrap();
    assert_eq!(r.insns, [st, stx, ldx(BPF_DW, 2, 1, kern::SKB_DATA as i16), EXIT]);
    // A record that calls the store a read does not fit it.
    let bad = [(0, rec(off::MARK as i32, 4, 0, CtxField::Scalar))];
    assert_eq!(convert_ctx_accesses(&p, &bad, CtxConv::SkBuff).unwrap_err(), misconfigured());
    // Nor does one of another size.
    let bad = [(0, CtxRecord { write: true, ..rec(off::MARK as i32, 2, 0, CtxField::Scalar) })];
    assert!(convert_ctx_accesses(&p, &bad, CtxConv::SkBuff).is_err());
}
