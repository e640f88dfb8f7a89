//! Each validation rule, with the kernel's wording and the location.

use bpfemu_btf::*;

fn base() -> (Btf, TypeId) {
    let mut b = Btf::new();
    let int = b.add_int("int", 4, IntEncoding::Signed);
    (b, int)
}

fn err_of(b: &Btf) -> BtfError {
    let e = b.validate().expect_err("should be rejected");
    assert_eq!(e.errno(), 22);
    // The kernel decoder must agree on the encoded form.
    let bytes = b.encode().unwrap();
    assert_eq!(load(&bytes).unwrap_err(), e);
    e
}

type Mutation = Box<dyn Fn(&mut Vec<u8>)>;

fn header_blob() -> Vec<u8> {
    let (b, _) = base();
    b.encode().unwrap()
}

#[test]
fn header_errors() {
    let good = header_blob();
    assert!(load(&good).is_ok());
    let cases: Vec<(Mutation, HeaderError)> = vec![
        (Box::new(|b| b.truncate(6)), HeaderError::HdrLenNotFound),
        (Box::new(|b| b[4] = 200), HeaderError::HeaderNotFound),
        (Box::new(|b| b[0] = 0), HeaderError::InvalidMagic(0xeb00)),
        (Box::new(|b| b[2] = 2), HeaderError::UnsupportedVersion(2)),
        (Box::new(|b| b[3] = 1), HeaderError::UnsupportedFlags(1)),
        (Box::new(|b| b.push(0)), HeaderError::UnsupportedSection),
        (Box::new(|b| b[16] = 12), HeaderError::SectionOverlap),
        (Box::new(|b| b[20] += 4), HeaderError::SectionTooLong),
        (Box::new(|b| b[17] = 1), HeaderError::InvalidSectionOffset),
        (Box::new(|b| b[12] = 20), HeaderError::SectionOverlap),
        (Box::new(|b| b[4] = 20), HeaderError::UnsupportedHeader),
        (
            Box::new(|b| {
                let n = b.len();
                b[n - 1] = b'x';
            }),
            HeaderError::InvalidStringSection,
        ),
    ];
    for (i, (mutate, want)) in cases.into_iter().enumerate() {
        let mut b = good.clone();
        mutate(&mut b);
        assert_eq!(load(&b).unwrap_err(), BtfError::Header(want), "case {i}");
    }
    assert_eq!(load(&good[..3]).unwrap_err().to_string(), "hdr_len not found");
}

#[test]
fn record_errors() {
    let mut b = header_blob();
    b[24 + 7] = 0x1f; // kind 31
    assert_eq!(load(&b).unwrap_err().to_string(), "[1] UNKN Invalid kind:31");
    let mut b = header_blob();
    b[24 + 4] = 1; // vlen 1 on INT
    assert_eq!(load(&b).unwrap_err().to_string(), "[1] INT vlen != 0");
    let mut b = header_blob();
    b[24 + 6] = 1; // reserved info bits
    assert!(matches!(load(&b).unwrap_err().reason(), Some(Reason::InvalidBtfInfo(_))));
    let mut b = header_blob();
    b[24 + 12 + 3] = 0x03; // encoding 3
    assert_eq!(load(&b).unwrap_err().to_string(), "[1] INT Unsupported encoding");
    let mut b = header_blob();
    b[24 + 7] |= 0x80; // kind_flag on INT
    assert_eq!(load(&b).unwrap_err().to_string(), "[1] INT Invalid btf_info kind_flag");
}

#[test]
fn names() {
    let (mut b, int) = base();
    b.add_typedef("9bad", int);
    assert_eq!(err_of(&b).to_string(), "[2] TYPEDEF Invalid name");
    let (mut b, int) = base();
    let p = b.add_ptr(int);
    b.types[p as usize - 1].name_off = b.strings.intern("p");
    assert_eq!(err_of(&b).to_string(), "[2] PTR Invalid name");
    let (mut b, int) = base();
    b.add_struct("s", 4, &[MemberDef::new("a b", int, 0)]);
    assert_eq!(err_of(&b).to_string(), "[2] STRUCT member#0 Invalid name");
    let (mut b, int) = base();
    let t = b.add_typedef("t", int);
    b.types[t as usize - 1].name_off = 9999;
    assert_eq!(err_of(&b).to_string(), "[2] TYPEDEF Invalid name_offset:9999");
}

#[test]
fn type_ids_and_loops() {
    let (mut b, _) = base();
    b.add_ptr(42);
    assert_eq!(err_of(&b).to_string(), "[2] PTR Invalid type_id");
    // ptr -> typedef -> ptr
    let (mut b, _) = base();
    let p = b.add_ptr(3);
    b.add_typedef("t", p);
    let e = err_of(&b);
    assert_eq!(e.reason(), Some(Reason::LoopDetected));
    assert!(e.to_string().ends_with("Loop detected"));
    // A struct that contains itself by value.
    let (mut b, _) = base();
    b.add_struct("s", 4, &[MemberDef::new("me", 2, 0)]);
    assert_eq!(err_of(&b).reason(), Some(Reason::LoopDetected));
    // Self-reference through a pointer (and a typedef) is fine.
    let (mut b, int) = base();
    let td = b.add_typedef("node_t", 3);
    let s = b.add_struct("node", 16, &[MemberDef::new("v", int, 0), MemberDef::new("next", 4, 64)]);
    let p = b.add_ptr(td);
    assert_eq!((s, p), (3, 4));
    b.validate().unwrap();
    // FUNC must point at a FUNC_PROTO.
    let (mut b, int) = base();
    b.add_func("f", int, FuncLinkage::Global);
    assert_eq!(err_of(&b).to_string(), "[2] FUNC Invalid type_id");
}

#[test]
fn ints_and_sizes() {
    let (mut b, _) = base();
    b.push(Type {
        name_off: 0,
        kind: Kind::Int { size: 1, encoding: IntEncoding::Unsigned, offset: 0, bits: 9 },
    });
    assert_eq!(err_of(&b).to_string(), "[2] INT nr_bits exceeds type_size");
    let (mut b, _) = base();
    b.push(Type {
        name_off: 0,
        kind: Kind::Int { size: 16, encoding: IntEncoding::Unsigned, offset: 100, bits: 100 },
    });
    assert_eq!(err_of(&b).to_string(), "[2] INT nr_bits exceeds 128");
    let (mut b, _) = base();
    b.add_enum("e", 3, false, &[("A", 1)]);
    assert_eq!(err_of(&b).to_string(), "[2] ENUM Unexpected size");
    let (mut b, int) = base();
    b.add_array(int, 0, 4);
    assert_eq!(err_of(&b).to_string(), "[2] ARRAY Invalid index");
}

#[test]
fn members() {
    let (mut b, int) = base();
    b.add_struct("s", 4, &[MemberDef::new("a", int, 0), MemberDef::new("b", int, 32)]);
    assert_eq!(err_of(&b).to_string(), "[2] STRUCT member#1 Member exceeds struct_size");
    let (mut b, int) = base();
    b.add_struct("s", 8, &[MemberDef::new("a", int, 32), MemberDef::new("b", int, 0)]);
    assert_eq!(err_of(&b).to_string(), "[2] STRUCT member#1 Invalid member bits_offset");
    let (mut b, int) = base();
    b.add_union("u", 8, &[MemberDef::new("a", int, 32)]);
    assert_eq!(err_of(&b).to_string(), "[2] UNION member#0 Invalid member bits_offset");
    let (mut b, int) = base();
    b.add_struct("s", 8, &[MemberDef::new("a", int, 3)]);
    assert_eq!(err_of(&b).to_string(), "[2] STRUCT member#0 Member is not byte aligned");
    let (mut b, int) = base();
    b.add_struct("s", 4, &[MemberDef::bitfield("a", int, 30, 3)]);
    assert_eq!(err_of(&b).to_string(), "[2] STRUCT member#0 Member exceeds struct_size");
    let (mut b, int) = base();
    b.add_struct("s", 4, &[MemberDef::bitfield("a", int, 0, 33)]);
    assert_eq!(err_of(&b).to_string(), "[2] STRUCT member#0 Invalid member bitfield_size");
    let (mut b, int) = base();
    b.add_struct("s", 4, &[MemberDef::new("a", int, 0)]);
    b.add_struct("t", 4, &[MemberDef::bitfield("a", 2, 0, 3)]);
    assert_eq!(err_of(&b).to_string(), "[3] STRUCT member#0 Invalid member");
}

#[test]
fn datasec_and_tags() {
    let (mut b, int) = base();
    let v = b.add_var("x", int, VarLinkage::GlobalAllocated);
    b.add_datasec(".data", 4, &[VarSecinfo { ty: v, offset: 2, size: 4 }]);
    assert_eq!(err_of(&b).to_string(), "[3] DATASEC member#0 Invalid offset+size");
    let (mut b, int) = base();
    b.add_datasec(".data", 4, &[VarSecinfo { ty: int, offset: 0, size: 4 }]);
    assert_eq!(err_of(&b).to_string(), "[2] DATASEC member#0 Invalid type_id");
    let (mut b, int) = base();
    let v = b.add_var("x", int, VarLinkage::GlobalAllocated);
    b.add_datasec(".data", 8, &[VarSecinfo { ty: v, offset: 0, size: 2 }]);
    assert_eq!(err_of(&b).to_string(), "[3] DATASEC member#0 Invalid size");
    let (mut b, int) = base();
    let s = b.add_struct("s", 4, &[MemberDef::new("a", int, 0)]);
    b.add_decl_tag("tag", s, 1);
    assert_eq!(err_of(&b).to_string(), "[3] DECL_TAG Invalid component_idx");
    let (mut b, int) = base();
    b.add_func_proto(int, &[("a", 0), ("b", int)], false);
    assert_eq!(err_of(&b).to_string(), "[2] FUNC_PROTO Invalid arg#1");
}

#[test]
fn lookups() {
    let (mut b, int) = base();
    let c = b.add_const(int);
    let td = b.add_typedef("myint", c);
    let inner = b.add_struct("", 4, &[MemberDef::new("y", int, 0)]);
    let arr = b.add_array(int, int, 3);
    let s = b.add_struct(
        "outer",
        24,
        &[MemberDef::new("x", td, 0), MemberDef::new("", inner, 32), MemberDef::new("arr", arr, 64)],
    );
    b.validate().unwrap();
    assert_eq!(b.find_by_name_kind("outer", BtfKind::Struct), Some(s));
    assert_eq!(b.find_by_name_kind("outer", BtfKind::Union), None);
    assert_eq!(b.skip_mods_and_typedefs(td), int);
    assert_eq!(b.resolve_size(td).unwrap(), 4);
    assert_eq!(b.resolve_size(arr).unwrap(), 12);
    assert_eq!(b.resolve_size(s).unwrap(), 24);
    assert!(b.resolve_size(0).is_err());
    assert_eq!(b.member_offset(s, "y").unwrap().bit_offset, 32);
    assert_eq!(b.member_offset(s, "arr").unwrap().ty, arr);
    assert_eq!(b.member_offset(s, "nope"), None);
    assert_eq!(b.align_of(s), 4);
    assert!(!b.is_packed(s));
}
