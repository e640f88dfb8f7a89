//! decode(encode(x)) == x over random structurally well-formed BTF, and
//! encode(decode(bytes)) == bytes for canonical blobs.

use bpfemu_btf::*;
use proptest::prelude::*;

fn arb_member(kflag: bool) -> impl Strategy<Value = Member> {
    (any::<u32>(), any::<u32>(), any::<u32>(), any::<u8>()).prop_map(move |(n, ty, off, bf)| Member {
        name_off: n,
        ty,
        bit_offset: if kflag { off & 0x00ff_ffff } else { off },
        bitfield_size: if kflag { bf } else { 0 },
    })
}

fn arb_composite() -> impl Strategy<Value = Composite> {
    (any::<u32>(), any::<bool>()).prop_flat_map(|(size, kflag)| {
        prop::collection::vec(arb_member(kflag), 0..4).prop_map(move |members| Composite {
            size,
            kflag,
            members,
        })
    })
}

fn arb_kind() -> impl Strategy<Value = Kind> {
    let enc = prop_oneof![
        Just(IntEncoding::Unsigned),
        Just(IntEncoding::Signed),
        Just(IntEncoding::Char),
        Just(IntEncoding::Bool)
    ];
    let fl = prop_oneof![Just(FuncLinkage::Static), Just(FuncLinkage::Global), Just(FuncLinkage::Extern)];
    let vl = prop_oneof![
        Just(VarLinkage::Static),
        Just(VarLinkage::GlobalAllocated),
        Just(VarLinkage::GlobalExtern)
    ];
    let t = any::<u32>;
    prop_oneof![
        (t(), enc, any::<u8>(), any::<u8>()).prop_map(|(size, encoding, offset, bits)| Kind::Int {
            size,
            encoding,
            offset,
            bits
        }),
        t().prop_map(|ty| Kind::Ptr { ty }),
        (t(), t(), t()).prop_map(|(elem, index, nelems)| Kind::Array { elem, index, nelems }),
        arb_composite().prop_map(Kind::Struct),
        arb_composite().prop_map(Kind::Union),
        (t(), any::<bool>(), prop::collection::vec((t(), any::<i32>()), 0..4)).prop_map(
            |(size, signed, v)| {
                Kind::Enum {
                    size,
                    signed,
                    values: v.into_iter().map(|(name_off, val)| EnumValue { name_off, val }).collect(),
                }
            }
        ),
        any::<bool>().prop_map(|is_union| Kind::Fwd { is_union }),
        t().prop_map(|ty| Kind::Typedef { ty }),
        t().prop_map(|ty| Kind::Volatile { ty }),
        t().prop_map(|ty| Kind::Const { ty }),
        t().prop_map(|ty| Kind::Restrict { ty }),
        (t(), fl).prop_map(|(proto, linkage)| Kind::Func { proto, linkage }),
        (t(), prop::collection::vec((t(), t()), 0..4)).prop_map(|(ret, p)| Kind::FuncProto {
            ret,
            params: p.into_iter().map(|(name_off, ty)| Param { name_off, ty }).collect()
        }),
        (t(), vl).prop_map(|(ty, linkage)| Kind::Var { ty, linkage }),
        (t(), prop::collection::vec((t(), t(), t()), 0..4)).prop_map(|(size, v)| Kind::Datasec {
            size,
            vars: v.into_iter().map(|(ty, offset, size)| VarSecinfo { ty, offset, size }).collect()
        }),
        t().prop_map(|size| Kind::Float { size }),
        (t(), any::<i32>(), any::<bool>()).prop_map(|(ty, component_idx, attr)| Kind::DeclTag {
            ty,
            component_idx,
            attr
        }),
        (t(), any::<bool>()).prop_map(|(ty, attr)| Kind::TypeTag { ty, attr }),
        (t(), any::<bool>(), prop::collection::vec((t(), any::<u64>()), 0..4)).prop_map(
            |(size, signed, v)| Kind::Enum64 {
                size,
                signed,
                values: v.into_iter().map(|(name_off, val)| Enum64Value { name_off, val }).collect(),
            }
        ),
    ]
}

fn arb_btf() -> impl Strategy<Value = Btf> {
    (prop::collection::vec("[a-z_]{0,8}", 0..6), prop::collection::vec((any::<u32>(), arb_kind()), 0..12))
        .prop_map(|(names, kinds)| {
            let mut btf = Btf::new();
            for n in &names {
                btf.strings.intern(n);
            }
            for (name_off, kind) in kinds {
                btf.push(Type { name_off, kind });
            }
            btf
        })
}

proptest! {
    #[test]
    fn decode_inverts_encode(btf in arb_btf()) {
        let bytes = btf.encode().unwrap();
        let back = decode(&bytes).unwrap();
        prop_assert_eq!(&back, &btf);
        prop_assert_eq!(back.encode().unwrap(), bytes);
    }
}

#[test]
fn encode_inverts_decode_on_canonical_blob() {
    // A hand-written canonical blob: int, ptr to it, struct with one member.
    let mut b: Vec<u8> = Vec::new();
    let strs = b"\0int\0s\0x\0";
    let mut ts: Vec<u32> = vec![];
    ts.extend([1, 0x0100_0000, 4, 0x0100_0020]); // [1] INT "int" size 4 signed 32 bits
    ts.extend([0, 0x0200_0000, 1]); // [2] PTR -> 1
    ts.extend([5, 0x0400_0001, 8, 7, 2, 0]); // [3] STRUCT "s" size 8 { x: [2] at 0 }
    let tbytes: Vec<u8> = ts.iter().flat_map(|w| w.to_le_bytes()).collect();
    b.extend([0x9f, 0xeb, 1, 0]);
    for w in [24u32, 0, tbytes.len() as u32, tbytes.len() as u32, strs.len() as u32] {
        b.extend(w.to_le_bytes());
    }
    b.extend(&tbytes);
    b.extend(strs);
    let btf = load(&b).unwrap();
    assert_eq!(btf.type_count(), 3);
    assert_eq!(btf.name(3), "s");
    assert_eq!(btf.encode().unwrap(), b);
}

#[test]
fn builder_output_loads_and_roundtrips() {
    let mut btf = Btf::new();
    let int = btf.add_int("int", 4, IntEncoding::Signed);
    let ch = btf.add_int("char", 1, IntEncoding::Signed);
    let p = btf.add_ptr(ch);
    let arr = btf.add_array(ch, int, 16);
    let s = btf.add_struct(
        "task",
        32,
        &[
            MemberDef::new("pid", int, 0),
            MemberDef::bitfield("flags", int, 32, 3),
            MemberDef::new("comm", arr, 64),
            MemberDef::new("name", p, 192),
        ],
    );
    let proto = btf.add_func_proto(int, &[("t", btf.type_count() + 2)], true);
    let ps = btf.add_ptr(s);
    assert_eq!(ps, proto + 1);
    btf.add_func("handle", proto, FuncLinkage::Global);
    let v = btf.add_var("counter", int, VarLinkage::GlobalAllocated);
    btf.add_datasec(".data", 4, &[VarSecinfo { ty: v, offset: 0, size: 4 }]);
    btf.add_float("double", 8);
    btf.add_decl_tag("kfunc", s, 1);
    let tt = btf.add_type_tag("user", int);
    btf.add_ptr(tt);
    btf.add_enum64("big", 8, false, &[("HUGE", 1 << 40)]);
    btf.validate().unwrap();
    let bytes = btf.encode().unwrap();
    assert_eq!(load(&bytes).unwrap(), btf);
    // Names are deduplicated.
    let before = btf.strings.as_bytes().len();
    btf.add_int("int", 4, IntEncoding::Signed);
    assert_eq!(btf.strings.as_bytes().len(), before);
    assert_eq!(btf.strings.get(0), Some(""));
}
