//! Property tests: resolving and applying never panic, whatever the BTF
//! (dangling ids, modifier loops, huge sizes), the access string, the
//! type id or the instructions.

use bpfemu_btf::{Btf, Composite, EnumValue, IntEncoding, Kind, Member, Param, Type};
use proptest::prelude::*;

use super::*;

const NAMES: [&str; 6] = ["s", "s___1", "", "int", "e", "E1"];

fn build(spec: &[(u8, u32, u32, u32)]) -> Btf {
    let mut b = Btf::new();
    let offs: Vec<u32> = NAMES.iter().map(|n| b.strings.intern(n)).collect();
    let n = spec.len() as u32 + 2;
    for &(k, x, y, z) in spec {
        let name_off = offs[(x % 6) as usize];
        let id = |v: u32| v % (n + 1);
        let kind = match k % 12 {
            0 => Kind::Int {
                size: [1, 2, 4, 8, 0, 16][(y % 6) as usize],
                encoding: IntEncoding::Signed,
                offset: 0,
                bits: 32,
            },
            1 => Kind::Ptr { ty: id(y) },
            2 => Kind::Array { elem: id(y), index: 1, nelems: z % 5 },
            3 | 4 => {
                let members = (0..(z % 4))
                    .map(|i| Member {
                        name_off: offs[((x + i) % 6) as usize],
                        ty: id(y.wrapping_add(i)),
                        bit_offset: (z >> 4).wrapping_mul(i) % 4096,
                        bitfield_size: if k == 4 { (y % 9) as u8 } else { 0 },
                    })
                    .collect();
                Kind::Struct(Composite { size: z % 64, kflag: k == 4, members })
            }
            5 => Kind::Union(Composite {
                size: z % 16,
                kflag: false,
                members: vec![Member {
                    name_off: offs[(y % 6) as usize],
                    ty: id(z),
                    bit_offset: 0,
                    bitfield_size: 0,
                }],
            }),
            6 => Kind::Enum {
                size: 4,
                signed: y % 2 == 0,
                values: (0..(z % 3))
                    .map(|i| EnumValue { name_off: offs[((y + i) % 6) as usize], val: i as i32 - 1 })
                    .collect(),
            },
            7 => Kind::Typedef { ty: id(y) },
            8 => Kind::Const { ty: id(y) },
            9 => Kind::FuncProto {
                ret: id(y),
                params: (0..(z % 3)).map(|i| Param { name_off: 0, ty: id(z.wrapping_add(i)) }).collect(),
            },
            10 => Kind::Fwd { is_union: y % 2 == 0 },
            _ => Kind::Float { size: 8 },
        };
        b.push(Type { name_off, kind });
    }
    b
}

fn type_spec() -> impl Strategy<Value = Vec<(u8, u32, u32, u32)>> {
    prop::collection::vec((any::<u8>(), any::<u32>(), any::<u32>(), any::<u32>()), 0..12)
}

fn access() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(0u32..6, 0..6).prop_map(|v| v
            .iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(":")),
        "[0-9:a-]{0,12}",
    ]
}

fn insn() -> impl Strategy<Value = Insn> {
    (any::<u8>(), 0u8..16, 0u8..16, any::<i16>(), any::<i32>())
        .prop_map(|(c, d, s, o, i)| Insn::new(c, d, s, o, i))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn resolve_and_apply_never_panic(
        ls in type_spec(),
        ts in type_spec(),
        root in 0u32..16,
        kind in 0u32..13,
        acc in access(),
        insns in prop::collection::vec(insn(), 0..4),
        idx in 0usize..5,
    ) {
        let local = build(&ls);
        let target = build(&ts);
        let kind = ReloKind::from_u32(kind).unwrap();
        let rl = CoreRelo { relo_idx: 0, insn_idx: idx, type_id: root, access: acc, kind };
        let mut insns = insns;
        if let Ok(res) = resolve(&local, &target, &rl) {
            let _ = apply(&mut insns, &rl, &res);
        }
        let _ = types_match(&local, root, &target, root);
        let _ = types_are_compat(&local, root, &target, root);
    }

    #[test]
    fn apply_never_panics(
        insns in prop::collection::vec(insn(), 0..4),
        idx in 0usize..5,
        orig in any::<u64>(),
        new in any::<u64>(),
        flags in any::<u8>(),
        orig_sz in 0u32..17,
        new_sz in 0u32..17,
    ) {
        let res = Resolution {
            orig, new, orig_sz, new_sz,
            poison: flags & 1 != 0,
            validate: flags & 2 != 0,
            fail_memsz_adjust: flags & 4 != 0,
            ..Resolution::default()
        };
        let rl = CoreRelo { relo_idx: 0, insn_idx: idx, type_id: 1, access: "0".into(), kind: ReloKind::FieldByteOffset };
        let mut insns = insns;
        let _ = apply(&mut insns, &rl, &res);
    }
}
