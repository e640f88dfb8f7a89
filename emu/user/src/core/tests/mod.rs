//! CO-RE tests: local and target BTFs built with the btf crate's builder.

mod clang;
mod enums;
mod fields;
mod oracle;
mod patching;
mod proptests;
mod types;

use bpfemu_btf::{Btf, IntEncoding, MemberDef};
use bpfemu_isa::Insn;
use bpfemu_isa::opcode::*;

use super::*;

pub(super) fn relo(kind: ReloKind, type_id: u32, access: &str) -> CoreRelo {
    CoreRelo { relo_idx: 0, insn_idx: 0, type_id, access: access.to_string(), kind }
}

pub(super) fn res(local: &Btf, target: &Btf, kind: ReloKind, type_id: u32, access: &str) -> Resolution {
    resolve(local, target, &relo(kind, type_id, access)).unwrap_or_else(|e| panic!("{e}"))
}

pub(super) fn err(local: &Btf, target: &Btf, kind: ReloKind, type_id: u32, access: &str) -> CoreError {
    resolve(local, target, &relo(kind, type_id, access)).expect_err("expected an error")
}

/// Common scalar types; returns (int, u32, u64, long, char).
pub(super) struct Prims {
    pub int: u32,
    pub u32: u32,
    pub u64: u32,
    pub long: u32,
    pub u8: u32,
}

pub(super) fn prims(b: &mut Btf) -> Prims {
    Prims {
        int: b.add_int("int", 4, IntEncoding::Signed),
        u32: b.add_int("unsigned int", 4, IntEncoding::Unsigned),
        u64: b.add_int("long long unsigned int", 8, IntEncoding::Unsigned),
        long: b.add_int("long", 8, IntEncoding::Signed),
        u8: b.add_int("unsigned char", 1, IntEncoding::Unsigned),
    }
}

pub(super) fn m(name: &str, ty: u32, bit_offset: u32) -> MemberDef<'_> {
    MemberDef::new(name, ty, bit_offset)
}

pub(super) fn ldx(size: u8, off: i16) -> Insn {
    Insn::new(BPF_LDX | BPF_MEM | size, 1, 2, off, 0)
}

pub(super) fn mov64(imm: i32) -> Insn {
    Insn::new(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, imm)
}

pub(super) fn patch_one(insn: Insn, r: &Resolution) -> Result<Insn, CoreError> {
    let mut v = [insn];
    apply(&mut v, &relo(ReloKind::FieldByteOffset, 1, "0"), r).map(|()| v[0])
}

pub(super) fn is_poison(i: &Insn) -> bool {
    i.code == BPF_JMP | BPF_CALL && i.imm == 0xbad2310 && i.src == 0 && i.dst == 0 && i.off == 0
}
