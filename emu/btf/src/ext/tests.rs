//! `.BTF.ext` parsing: hand-built sections, malformed ones, re-basing.

use super::*;
use proptest::prelude::*;

fn le(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// A BTF whose string table holds the section names.
fn btf() -> (Btf, u32, u32) {
    let mut b = Btf::new();
    let xdp = b.strings.intern("xdp");
    let text = b.strings.intern(".text");
    (b, xdp, text)
}

/// Header with the given part offsets/lengths (hdr_len 32).
fn hdr(fi: (u32, u32), li: (u32, u32), cr: (u32, u32)) -> Vec<u8> {
    let mut v = vec![0x9f, 0xeb, 1, 0];
    v.extend(le(&[32, fi.0, fi.1, li.0, li.1, cr.0, cr.1]));
    v
}

fn sample(b: &Btf, xdp: u32, text: u32) -> Vec<u8> {
    let _ = b;
    // func_info: rec 8; xdp: 2 recs; .text: 1 rec
    let fi = le(&[8, xdp, 2, 0, 10, 40, 11, text, 1, 0, 12]);
    // line_info: rec 16; xdp: 1 rec
    let li = le(&[16, xdp, 1, 8, 1, 2, (7 << 10) | 3]);
    // core_relo: rec 16; xdp: 1 rec
    let cr = le(&[16, xdp, 1, 16, 5, 0, 0]);
    let (fl, ll, cl) = (fi.len() as u32, li.len() as u32, cr.len() as u32);
    let mut v = hdr((0, fl), (fl, ll), (fl + ll, cl));
    v.extend(fi);
    v.extend(li);
    v.extend(cr);
    v
}

#[test]
fn parses_all_three_parts() {
    let (b, xdp, text) = btf();
    let e = parse_ext(&sample(&b, xdp, text), &b).unwrap();
    assert_eq!(e.func_info.len(), 2);
    assert_eq!(e.func_info[0].sec_name, "xdp");
    assert_eq!(
        e.func_info[0].records,
        vec![FuncInfoRec { insn_off: 0, type_id: 10 }, FuncInfoRec { insn_off: 40, type_id: 11 }]
    );
    assert_eq!(e.func_info_of(".text").unwrap().records, vec![FuncInfoRec { insn_off: 0, type_id: 12 }]);
    let li = &e.line_info_of("xdp").unwrap().records[0];
    assert_eq!((li.insn_off, li.file_name_off, li.line_off, li.line(), li.col()), (8, 1, 2, 7, 3));
    assert_eq!(
        e.core_relos_of("xdp").unwrap().records,
        vec![CoreReloRec { insn_off: 16, type_id: 5, access_str_off: 0, kind: 0 }]
    );
    assert_eq!((e.func_info_rec_size, e.line_info_rec_size, e.core_relo_rec_size), (8, 16, 16));
    assert!(e.core_relos_of("tc").is_none());
}

#[test]
fn short_header_has_no_core_relos() {
    let (b, xdp, _) = btf();
    let fi = le(&[8, xdp, 1, 0, 3]);
    let mut v = vec![0x9f, 0xeb, 1, 0];
    v.extend(le(&[24, 0, fi.len() as u32, 0, 0]));
    v.extend(fi);
    let e = parse_ext(&v, &b).unwrap();
    assert_eq!(e.func_info[0].records.len(), 1);
    assert!(e.line_info.is_empty() && e.core_relos.is_empty());
}

#[test]
fn larger_records_are_accepted_and_trimmed() {
    let (b, xdp, _) = btf();
    // func_info records of 12 bytes: the extra word is ignored
    let fi = le(&[12, xdp, 2, 0, 3, 0xffff, 8, 4, 0xffff]);
    let mut v = hdr((0, fi.len() as u32), (0, 0), (0, 0));
    v.extend(fi);
    let e = parse_ext(&v, &b).unwrap();
    assert_eq!(e.func_info_rec_size, 12);
    assert_eq!(
        e.func_info[0].records,
        vec![FuncInfoRec { insn_off: 0, type_id: 3 }, FuncInfoRec { insn_off: 8, type_id: 4 }]
    );
}

#[test]
fn malformed_sections_are_rejected() {
    let (b, xdp, text) = btf();
    let good = sample(&b, xdp, text);
    let cases: Vec<(Vec<u8>, ExtError)> = vec![
        (vec![], ExtError::HeaderNotFound),
        (good[..7].to_vec(), ExtError::HeaderNotFound),
        (good[..20].to_vec(), ExtError::HeaderNotFound),
        (
            {
                let mut v = good.clone();
                v[0] = 0x12;
                v
            },
            ExtError::BadMagic(0xeb12),
        ),
        (
            {
                let mut v = good.clone();
                v[0] = 0xeb;
                v[1] = 0x9f;
                v
            },
            ExtError::BigEndian,
        ),
        (
            {
                let mut v = good.clone();
                v[2] = 2;
                v
            },
            ExtError::BadVersion(2),
        ),
        (
            {
                let mut v = good.clone();
                v[3] = 1;
                v
            },
            ExtError::BadFlags(1),
        ),
        (hdr((0, 0), (0, 0), (0, 0)), ExtError::NoData),
        (
            {
                let mut v = hdr((2, 8), (0, 0), (0, 0));
                v.extend(le(&[8, 0, 0]));
                v
            },
            ExtError::Unaligned(ExtPart::FuncInfo),
        ),
        (
            {
                let mut v = hdr((0, 400), (0, 0), (0, 0));
                v.extend(le(&[8]));
                v
            },
            ExtError::BeyondEnd { part: ExtPart::FuncInfo, off: 0, len: 400 },
        ),
        (
            {
                let mut v = hdr((0, 2), (0, 0), (0, 0));
                v.extend([8, 0]);
                v
            },
            ExtError::NoRecordSize(ExtPart::FuncInfo),
        ),
        (
            {
                let mut v = hdr((0, 4), (0, 0), (0, 0));
                v.extend(le(&[4]));
                v
            },
            ExtError::BadRecordSize { part: ExtPart::FuncInfo, size: 4 },
        ),
        (
            {
                let mut v = hdr((0, 4), (0, 0), (0, 0));
                v.extend(le(&[10]));
                v
            },
            ExtError::BadRecordSize { part: ExtPart::FuncInfo, size: 10 },
        ),
        (
            {
                let mut v = hdr((0, 4), (0, 0), (0, 0));
                v.extend(le(&[8]));
                v
            },
            ExtError::NoRecords(ExtPart::FuncInfo),
        ),
        (
            {
                let mut v = hdr((0, 8), (0, 0), (0, 0));
                v.extend(le(&[8, xdp]));
                v
            },
            ExtError::NoSectionHeader(ExtPart::FuncInfo),
        ),
        (
            {
                let mut v = hdr((0, 12), (0, 0), (0, 0));
                v.extend(le(&[8, xdp, 0]));
                v
            },
            ExtError::BadNumRecords(ExtPart::FuncInfo),
        ),
        (
            {
                let mut v = hdr((0, 20), (0, 0), (0, 0));
                v.extend(le(&[8, xdp, 2, 0, 1]));
                v
            },
            ExtError::BadNumRecords(ExtPart::FuncInfo),
        ),
        (
            {
                let mut v = hdr((0, 0), (0, 20), (0, 0));
                v.extend(le(&[16, xdp, 1, 0, 1]));
                v
            },
            ExtError::BadNumRecords(ExtPart::LineInfo),
        ),
        (
            {
                let mut v = hdr((0, 0), (0, 0), (0, 16));
                v.extend(le(&[12, xdp, 1, 0]));
                v
            },
            ExtError::BadRecordSize { part: ExtPart::CoreRelo, size: 12 },
        ),
        (
            {
                let mut v = hdr((0, 20), (0, 0), (0, 0));
                v.extend(le(&[8, 9999, 1, 0, 0]));
                v
            },
            ExtError::BadSectionName { part: ExtPart::FuncInfo, off: 9999 },
        ),
    ];
    for (i, (bytes, want)) in cases.into_iter().enumerate() {
        assert_eq!(parse_ext(&bytes, &b), Err(want), "case {i}");
    }
}

#[test]
fn error_messages_and_errno() {
    let e = ExtError::BadRecordSize { part: ExtPart::LineInfo, size: 3 };
    assert_eq!(e.to_string(), "line_info section in .BTF.ext has invalid record size 3");
    assert_eq!(e.errno(), 22);
    assert_eq!(ExtError::BadVersion(2).errno(), 95);
    assert_eq!(
        ExtError::BeyondEnd { part: ExtPart::CoreRelo, off: 4, len: 8 }.to_string(),
        "core_relo section (off:4 len:8) is beyond the end of the ELF section .BTF.ext"
    );
}

#[test]
fn encode_then_parse_round_trips() {
    let (mut b, _, _) = btf();
    let ext = BtfExt {
        func_info: vec![ExtSection {
            sec_name: "tc".into(),
            records: vec![FuncInfoRec { insn_off: 0, type_id: 1 }, FuncInfoRec { insn_off: 64, type_id: 2 }],
        }],
        line_info: vec![ExtSection {
            sec_name: "tc".into(),
            records: vec![LineInfoRec { insn_off: 0, file_name_off: 1, line_off: 1, line_col: 5 << 10 }],
        }],
        core_relos: vec![
            ExtSection {
                sec_name: "tc".into(),
                records: vec![CoreReloRec { insn_off: 8, type_id: 3, access_str_off: 1, kind: 2 }],
            },
            ExtSection {
                sec_name: ".text".into(),
                records: vec![CoreReloRec { insn_off: 0, type_id: 3, access_str_off: 1, kind: 0 }],
            },
        ],
        ..BtfExt::default()
    };
    let bytes = encode_ext(&ext, &mut b);
    let back = parse_ext(&bytes, &b).unwrap();
    assert_eq!(back, BtfExt { func_info_rec_size: 8, line_info_rec_size: 16, core_relo_rec_size: 16, ..ext });
}

#[test]
fn prog_load_records_are_rebased_to_instruction_indices() {
    let sec = ExtSection {
        sec_name: ".text".into(),
        records: vec![
            FuncInfoRec { insn_off: 0, type_id: 1 },
            FuncInfoRec { insn_off: 80, type_id: 2 },
            FuncInfoRec { insn_off: 84, type_id: 9 },
            FuncInfoRec { insn_off: 160, type_id: 3 },
        ],
    };
    // the subprogram at instructions [10, 20) appended at index 42
    assert_eq!(func_info_for_range(&sec, 10, 20, 42), vec![FuncInfoRec { insn_off: 42, type_id: 2 }]);
    assert_eq!(func_info_for_range(&sec, 0, 100, 0).len(), 3);
    assert_eq!(encode_func_info(&[FuncInfoRec { insn_off: 42, type_id: 2 }]), le(&[42, 2]));
    let lsec = ExtSection {
        sec_name: ".text".into(),
        records: vec![LineInfoRec { insn_off: 88, file_name_off: 1, line_off: 2, line_col: 3 }],
    };
    let l = line_info_for_range(&lsec, 10, 20, 0);
    assert_eq!(l, vec![LineInfoRec { insn_off: 1, file_name_off: 1, line_off: 2, line_col: 3 }]);
    assert_eq!(encode_line_info(&l), le(&[1, 1, 2, 3]));
}

proptest! {
    #[test]
    fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let (b, _, _) = btf();
        let _ = parse_ext(&bytes, &b);
    }

    #[test]
    fn mutated_valid_sections_never_panic(pos in 0usize..200, val in any::<u8>(), cut in 0usize..200) {
        let (b, xdp, text) = btf();
        let mut v = sample(&b, xdp, text);
        let n = v.len();
        v[pos % n] = val;
        v.truncate(cut.max(1));
        let _ = parse_ext(&v, &b);
    }
}
