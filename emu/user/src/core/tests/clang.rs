//! End to end on clang output: `testdata/core_sample.o` (clang 14, source
//! next to it) has its `.BTF` / `.BTF.ext` read, every CO-RE relocation
//! resolved against a target BTF with another layout, and the program
//! patched; the patched instructions are checked one by one.

use bpfemu_btf::Btf;
use bpfemu_btf::ext::parse_ext;
use bpfemu_isa::insns_from_bytes;
use object::{Object, ObjectSection};

use super::*;

const OBJ: &[u8] = include_bytes!("../testdata/core_sample.o");
const SEC: &str = "tp_btf/sample";

fn section<'a>(f: &'a object::File<'a>, name: &str) -> &'a [u8] {
    f.section_by_name(name).and_then(|s| s.data().ok()).unwrap_or_else(|| panic!("no section {name}"))
}

/// The kernel's view: struct sample { long pad; int a; u32 bf2:5, bf1:3;
/// u64 b; struct { int y; int x; }; u32 arr[4]; } (no `gone`), and
/// enum sample_e { SE_TWO = 20, SE_THREE = 3 } (no `SE_ONE`).
fn target() -> (Btf, u32) {
    let mut t = Btf::new();
    let p = prims(&mut t);
    let u32t = t.add_typedef("u32", p.u32);
    let arr = t.add_array(u32t, p.int, 4);
    let anon = t.add_struct("", 8, &[m("y", p.int, 0), m("x", p.int, 32)]);
    let s = t.add_struct(
        "sample",
        48,
        &[
            m("pad", p.long, 0),
            m("a", p.int, 64),
            MemberDef::bitfield("bf2", u32t, 96, 5),
            MemberDef::bitfield("bf1", u32t, 101, 3),
            m("b", p.u64, 128),
            m("", anon, 192),
            m("arr", arr, 256),
        ],
    );
    t.add_enum("sample_e", 4, false, &[("SE_TWO", 20), ("SE_THREE", 3)]);
    (t, s)
}

#[test]
fn clang_object_relocates_against_another_layout() {
    let file = object::File::parse(OBJ).unwrap();
    let local = bpfemu_btf::decode(section(&file, ".BTF")).unwrap();
    let ext = parse_ext(section(&file, ".BTF.ext"), &local).unwrap();
    let mut insns = insns_from_bytes(section(&file, SEC)).unwrap();
    let relos = &ext.core_relos_of(SEC).unwrap().records;
    assert_eq!(relos.len(), 19);
    assert_eq!(ext.func_info_of(SEC).unwrap().records.len(), 1);
    assert!(!ext.line_info_of(SEC).unwrap().records.is_empty());

    let (target, ts) = target();
    let mut resolver = Resolver::new(&local, &target);
    let mut specs = Vec::new();
    for (i, rec) in relos.iter().enumerate() {
        let rl = CoreRelo::from_rec(i, rec, &local).unwrap();
        let res = resolver.resolve(&rl).unwrap_or_else(|e| panic!("{e}"));
        apply(&mut insns, &rl, &res).unwrap_or_else(|e| panic!("{e}"));
        specs.push((rl.insn_idx, res.local_spec.clone()));
    }
    assert!(
        specs.contains(&(0, "<byte_off> [2] struct sample.b (0:1 @ offset 4)".to_string())),
        "{specs:#?}"
    );

    let at = |i: usize| insns[i];
    let ldx_at = |size: u8, src: u8, dst: u8, off: i16| Insn::new(BPF_LDX | BPF_MEM | size, dst, src, off, 0);
    // s->b: u32 -> u64 (unsigned): the load widens
    assert_eq!(at(0), ldx_at(BPF_DW, 1, 0, 16));
    // s->a moved
    assert_eq!(at(1), ldx_at(BPF_W, 1, 2, 8));
    // s->arr[2], s->y (anonymous struct)
    assert_eq!(at(5).off, 40);
    assert_eq!(at(7).off, 24);
    // BPF_CORE_READ_BITFIELD(s, bf2): offset, size, shifts, signedness
    assert_eq!(at(11).imm, 12);
    assert_eq!(at(14).imm, 16); // bpf_core_field_size(s->arr)
    assert_eq!(at(15).imm, 4);
    assert_eq!(at(31).imm, 59);
    assert_eq!(at(32).imm, 0);
    assert_eq!((at(34).imm, at(36).imm), (59, 59));
    // bpf_core_field_exists(s->gone) == 0 and the guarded load poisoned
    assert_eq!(at(38).imm, 0);
    assert!(is_poison(&at(40)), "{:?}", at(40));
    // type exists / size / kernel id / local id
    assert_eq!(at(44).imm, 1);
    assert_eq!(at(46).imm, 48);
    assert_eq!((at(48).imm, at(49).imm), (ts as i32, 0));
    assert_eq!(at(51).imm, 2);
    // enum value exists (SE_ONE: no) / value (SE_TWO = 20)
    assert_eq!(at(54).imm, 0);
    assert_eq!(at(57).imm, 20);
}

#[test]
fn clang_object_against_itself_changes_nothing() {
    let file = object::File::parse(OBJ).unwrap();
    let local = bpfemu_btf::decode(section(&file, ".BTF")).unwrap();
    let ext = parse_ext(section(&file, ".BTF.ext"), &local).unwrap();
    let orig = insns_from_bytes(section(&file, SEC)).unwrap();
    let mut insns = orig.clone();
    let mut resolver = Resolver::new(&local, &local);
    for (i, rec) in ext.core_relos_of(SEC).unwrap().records.iter().enumerate() {
        let rl = CoreRelo::from_rec(i, rec, &local).unwrap();
        let res = resolver.resolve(&rl).unwrap_or_else(|e| panic!("{e}"));
        assert!(!res.poison, "{}", res.local_spec);
        apply(&mut insns, &rl, &res).unwrap();
    }
    assert_eq!(insns, orig);
}
