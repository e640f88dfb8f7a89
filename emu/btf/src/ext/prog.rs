//! Records for `BPF_PROG_LOAD` (libbpf's `adjust_prog_btf_ext_info`),
//! and writing a `.BTF.ext` section (for tests and tools).

use super::*;

/// Selects the records of a section whose byte offset falls in the
/// instruction range `[start, end)` of that section and re-bases them for a
/// program whose copy of that range starts at instruction `new_start`:
/// the result's `insn_off` is an instruction index, as `BPF_PROG_LOAD`
/// wants (libbpf's `adjust_prog_btf_ext_info`). Records whose byte offset
/// is not a multiple of 8 are dropped.
pub fn func_info_for_range(
    sec: &ExtSection<FuncInfoRec>,
    start: usize,
    end: usize,
    new_start: usize,
) -> Vec<FuncInfoRec> {
    sec.records
        .iter()
        .filter_map(|r| rebase(r.insn_off, start, end, new_start).map(|i| FuncInfoRec { insn_off: i, ..*r }))
        .collect()
}

/// [`func_info_for_range`] for line info.
pub fn line_info_for_range(
    sec: &ExtSection<LineInfoRec>,
    start: usize,
    end: usize,
    new_start: usize,
) -> Vec<LineInfoRec> {
    sec.records
        .iter()
        .filter_map(|r| rebase(r.insn_off, start, end, new_start).map(|i| LineInfoRec { insn_off: i, ..*r }))
        .collect()
}

fn rebase(byte_off: u32, start: usize, end: usize, new_start: usize) -> Option<u32> {
    if !byte_off.is_multiple_of(INSN_SZ) {
        return None;
    }
    let idx = (byte_off / INSN_SZ) as usize;
    if idx < start || idx >= end {
        return None;
    }
    u32::try_from(idx - start + new_start).ok()
}

/// The kernel's `bpf_func_info` array for `BPF_PROG_LOAD`
/// (`func_info_rec_size` = [`FUNC_INFO_REC_SIZE`]); `insn_off` is written
/// as given (an instruction index).
pub fn encode_func_info(recs: &[FuncInfoRec]) -> Vec<u8> {
    let mut out = Vec::with_capacity(recs.len() * FUNC_INFO_REC_SIZE as usize);
    for r in recs {
        out.extend_from_slice(&r.insn_off.to_le_bytes());
        out.extend_from_slice(&r.type_id.to_le_bytes());
    }
    out
}

/// The kernel's `bpf_line_info` array for `BPF_PROG_LOAD`
/// (`line_info_rec_size` = [`LINE_INFO_REC_SIZE`]).
pub fn encode_line_info(recs: &[LineInfoRec]) -> Vec<u8> {
    let mut out = Vec::with_capacity(recs.len() * LINE_INFO_REC_SIZE as usize);
    for r in recs {
        for v in [r.insn_off, r.file_name_off, r.line_off, r.line_col] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

fn put(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn part<T>(
    out: &mut Vec<u8>,
    btf: &mut Btf,
    secs: &[ExtSection<T>],
    rec_size: u32,
    rec: impl Fn(&T) -> Vec<u32>,
) {
    if secs.is_empty() {
        return;
    }
    put(out, rec_size);
    for s in secs {
        put(out, btf.strings.intern(&s.sec_name));
        put(out, s.records.len() as u32);
        for r in &s.records {
            for v in rec(r) {
                put(out, v);
            }
        }
    }
}

/// Writes `ext` as a `.BTF.ext` section: the 32-byte header, then
/// func_info, line_info and core_relo with the minimum record sizes.
/// Section names are interned into `btf`'s string table. Parsing the
/// result with the same `btf` gives `ext` back (with the record sizes set).
pub fn encode_ext(ext: &BtfExt, btf: &mut Btf) -> Vec<u8> {
    let mut fi = Vec::new();
    part(&mut fi, btf, &ext.func_info, FUNC_INFO_REC_SIZE, |r| vec![r.insn_off, r.type_id]);
    let mut li = Vec::new();
    part(&mut li, btf, &ext.line_info, LINE_INFO_REC_SIZE, |r| {
        vec![r.insn_off, r.file_name_off, r.line_off, r.line_col]
    });
    let mut cr = Vec::new();
    part(&mut cr, btf, &ext.core_relos, CORE_RELO_REC_SIZE, |r| {
        vec![r.insn_off, r.type_id, r.access_str_off, r.kind]
    });
    let mut out = Vec::new();
    out.extend_from_slice(&BTF_EXT_MAGIC.to_le_bytes());
    out.push(BTF_EXT_VERSION);
    out.push(0);
    put(&mut out, EXT_HDR_CORE_LEN);
    let (fl, ll, cl) = (fi.len() as u32, li.len() as u32, cr.len() as u32);
    for v in [0, fl, fl, ll, fl + ll, cl] {
        put(&mut out, v);
    }
    out.extend_from_slice(&fi);
    out.extend_from_slice(&li);
    out.extend_from_slice(&cr);
    out
}
