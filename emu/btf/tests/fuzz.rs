//! Decoding, validating and dumping never panic, whatever the bytes.

use bpfemu_btf::*;
use proptest::prelude::*;

fn sample() -> Vec<u8> {
    let mut b = Btf::new();
    let int = b.add_int("int", 4, IntEncoding::Signed);
    let ch = b.add_int("char", 1, IntEncoding::Char);
    let p = b.add_ptr(ch);
    let s = b.add_struct("s", 16, &[MemberDef::new("a", int, 0), MemberDef::new("p", p, 64)]);
    let ps = b.add_ptr(s);
    let proto = b.add_func_proto(int, &[("x", ps)], false);
    b.add_func("f", proto, FuncLinkage::Global);
    b.add_enum("e", 4, true, &[("A", -1)]);
    let v = b.add_var("g", int, VarLinkage::GlobalAllocated);
    b.add_datasec(".bss", 4, &[VarSecinfo { ty: v, offset: 0, size: 4 }]);
    b.add_decl_tag("t", s, 0);
    b.encode().unwrap()
}

fn exercise(bytes: &[u8]) {
    if let Ok(btf) = decode(bytes) {
        let _ = btf.validate();
        // Everything must be total even on unvalidated BTF.
        let _ = dump_c(&btf);
        for id in 0..=btf.type_count() + 1 {
            let _ = btf.resolve_size(id);
            let _ = btf.align_of(id);
            let _ = btf.member_offset(id, "a");
            let _ = btf.skip_mods_and_typedefs(id);
        }
        let _ = btf.encode();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        exercise(&bytes);
    }

    #[test]
    fn mutated_valid_blob(muts in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6), cut in any::<usize>()) {
        let mut b = sample();
        for (i, v) in muts {
            let n = b.len();
            b[i % n] = v;
        }
        exercise(&b);
        let n = b.len();
        exercise(&b[..cut % (n + 1)]);
    }

    #[test]
    fn random_types_after_valid_header(words in prop::collection::vec(any::<u32>(), 0..40)) {
        let tb: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let strs = b"\0a\0b\0";
        let mut b = vec![0x9f, 0xeb, 1, 0];
        for w in [24u32, 0, tb.len() as u32, tb.len() as u32, strs.len() as u32] {
            b.extend(w.to_le_bytes());
        }
        b.extend(&tb);
        b.extend(strs);
        exercise(&b);
    }
}

#[test]
fn sample_is_valid() {
    load(&sample()).unwrap();
}
