//! `.BTF.ext`: per-section function info, line info and CO-RE relocation
//! records, as clang emits them next to `.BTF`.
//!
//! Counterparts: `struct btf_ext_header`, `struct btf_ext_info_sec`,
//! `struct bpf_func_info`, `struct bpf_line_info` and `struct bpf_core_relo`
//! (`tools/lib/bpf/libbpf_internal.h`, `include/uapi/linux/bpf.h`), parsed
//! the way libbpf's `btf_ext__new` / `btf_ext_setup_info`
//! (`tools/lib/bpf/btf.c`) does, and re-based for `BPF_PROG_LOAD` the way
//! libbpf's `adjust_prog_btf_ext_info` (`tools/lib/bpf/libbpf.c`) does.
//!
//! Emulated: the little-endian format with its 24-byte (no CO-RE) or
//! 32-byte header; records larger than the minimum (later format
//! versions) are accepted and their extra bytes ignored, like libbpf; every
//! offset and count is bounds-checked, so parsing never panics.
//! Section names are resolved through the `.BTF` string table at parse time.
//!
//! Not emulated: big-endian `.BTF.ext` (libbpf swaps it; here it is
//! `Unsupported`), writing a whole `.BTF.ext` back.

use crate::model::Btf;

mod prog;
#[cfg(test)]
mod tests;

pub use prog::{encode_ext, encode_func_info, encode_line_info, func_info_for_range, line_info_for_range};

/// `BTF_MAGIC`.
pub const BTF_EXT_MAGIC: u16 = 0xeb9f;
/// `BTF_VERSION`.
pub const BTF_EXT_VERSION: u8 = 1;
/// Header size up to `line_info_len` (no CO-RE part).
pub const EXT_HDR_MIN_LEN: u32 = 24;
/// Header size including `core_relo_off` / `core_relo_len`.
pub const EXT_HDR_CORE_LEN: u32 = 32;
/// `sizeof(struct bpf_func_info)`: the minimum func_info record size.
pub const FUNC_INFO_REC_SIZE: u32 = 8;
/// `sizeof(struct bpf_line_info)`: the minimum line_info record size.
pub const LINE_INFO_REC_SIZE: u32 = 16;
/// `sizeof(struct bpf_core_relo)`: the minimum core_relo record size.
pub const CORE_RELO_REC_SIZE: u32 = 16;
/// Size of one BPF instruction slot (`BPF_INSN_SZ`).
pub const INSN_SZ: u32 = 8;

/// One function-info record. In a parsed `.BTF.ext`, `insn_off` is a byte
/// offset in the ELF section; in the output of [`func_info_for_range`] it is
/// an instruction index in the program (what `BPF_PROG_LOAD` wants).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FuncInfoRec {
    pub insn_off: u32,
    pub type_id: u32,
}

/// One line-info record (`struct bpf_line_info`). `file_name_off` and
/// `line_off` point into the `.BTF` string table; `line_col` is
/// `line << 10 | column`. `insn_off` is in bytes or instructions as for
/// [`FuncInfoRec`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LineInfoRec {
    pub insn_off: u32,
    pub file_name_off: u32,
    pub line_off: u32,
    pub line_col: u32,
}

impl LineInfoRec {
    /// `BPF_LINE_INFO_LINE_NUM`.
    pub fn line(&self) -> u32 {
        self.line_col >> 10
    }

    /// `BPF_LINE_INFO_LINE_COL`.
    pub fn col(&self) -> u32 {
        self.line_col & 0x3ff
    }
}

/// One CO-RE relocation record (`struct bpf_core_relo`), `insn_off` in
/// bytes from the start of the ELF section.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CoreReloRec {
    pub insn_off: u32,
    pub type_id: u32,
    pub access_str_off: u32,
    pub kind: u32,
}

/// The records of one ELF code section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtSection<T> {
    /// The ELF section name (`"xdp"`, `".text"`, ...), resolved through the
    /// `.BTF` string table.
    pub sec_name: String,
    pub records: Vec<T>,
}

/// A parsed `.BTF.ext`; an absent part is an empty list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BtfExt {
    pub func_info: Vec<ExtSection<FuncInfoRec>>,
    pub line_info: Vec<ExtSection<LineInfoRec>>,
    pub core_relos: Vec<ExtSection<CoreReloRec>>,
    /// The record sizes found in the file (0 for an absent part).
    pub func_info_rec_size: u32,
    pub line_info_rec_size: u32,
    pub core_relo_rec_size: u32,
}

impl BtfExt {
    /// The func_info records of section `name`, if any.
    pub fn func_info_of(&self, name: &str) -> Option<&ExtSection<FuncInfoRec>> {
        self.func_info.iter().find(|s| s.sec_name == name)
    }

    /// The line_info records of section `name`, if any.
    pub fn line_info_of(&self, name: &str) -> Option<&ExtSection<LineInfoRec>> {
        self.line_info.iter().find(|s| s.sec_name == name)
    }

    /// The CO-RE relocation records of section `name`, if any.
    pub fn core_relos_of(&self, name: &str) -> Option<&ExtSection<CoreReloRec>> {
        self.core_relos.iter().find(|s| s.sec_name == name)
    }
}

/// Which of the three parts an error is about (libbpf's `desc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExtPart {
    FuncInfo,
    LineInfo,
    CoreRelo,
}

impl ExtPart {
    /// libbpf's name for the part.
    pub fn name(self) -> &'static str {
        match self {
            ExtPart::FuncInfo => "func_info",
            ExtPart::LineInfo => "line_info",
            ExtPart::CoreRelo => "core_relo",
        }
    }
}

impl std::fmt::Display for ExtPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a `.BTF.ext` was rejected, worded like libbpf's debug messages.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExtError {
    #[error("BTF.ext header not found")]
    HeaderNotFound,
    #[error("BTF.ext in non-native endianness is not supported")]
    BigEndian,
    #[error("Invalid BTF.ext magic:{0:x}")]
    BadMagic(u16),
    #[error("Unsupported BTF.ext version:{0}")]
    BadVersion(u8),
    #[error("Unsupported BTF.ext flags:{0:x}")]
    BadFlags(u8),
    #[error("BTF.ext has no data")]
    NoData,
    #[error(".BTF.ext {0} section is not aligned to 4 bytes")]
    Unaligned(ExtPart),
    #[error("{part} section (off:{off} len:{len}) is beyond the end of the ELF section .BTF.ext")]
    BeyondEnd { part: ExtPart, off: u32, len: u32 },
    #[error(".BTF.ext {0} record size not found")]
    NoRecordSize(ExtPart),
    #[error("{part} section in .BTF.ext has invalid record size {size}")]
    BadRecordSize { part: ExtPart, size: u32 },
    #[error("{0} section in .BTF.ext has no records")]
    NoRecords(ExtPart),
    #[error("{0} section header is not found in .BTF.ext")]
    NoSectionHeader(ExtPart),
    #[error("{0} section has incorrect num_records in .BTF.ext")]
    BadNumRecords(ExtPart),
    #[error("{part} section name offset {off} is not in the .BTF string table")]
    BadSectionName { part: ExtPart, off: u32 },
}

impl ExtError {
    /// The errno libbpf returns: `ENOTSUP` (524 is the kernel's `ENOTSUPP`;
    /// libbpf uses userspace `ENOTSUP` = `EOPNOTSUPP` = 95) for endianness,
    /// version and flags, `EINVAL` (22) otherwise.
    pub fn errno(&self) -> i32 {
        match self {
            ExtError::BigEndian | ExtError::BadVersion(_) | ExtError::BadFlags(_) => 95,
            _ => 22,
        }
    }
}

fn u32_at(data: &[u8], off: usize) -> Option<u32> {
    let b = data.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

struct PartLoc {
    part: ExtPart,
    off: u32,
    len: u32,
    min_rec: u32,
}

/// Splits one part into its sections: `(sec_name_off, record bytes...)`.
fn parse_part<T>(
    data: &[u8],
    hdr_len: u32,
    loc: &PartLoc,
    btf: &Btf,
    decode: impl Fn(&[u8]) -> T,
) -> Result<(u32, Vec<ExtSection<T>>), ExtError> {
    let part = loc.part;
    if loc.len == 0 {
        return Ok((0, Vec::new()));
    }
    if loc.off & 3 != 0 {
        return Err(ExtError::Unaligned(part));
    }
    let start = u64::from(hdr_len) + u64::from(loc.off);
    let end = start + u64::from(loc.len);
    if end > data.len() as u64 {
        return Err(ExtError::BeyondEnd { part, off: loc.off, len: loc.len });
    }
    // In range of `data`, so these fit in usize.
    let info = &data[start as usize..end as usize];
    let Some(rec_size) = u32_at(info, 0) else { return Err(ExtError::NoRecordSize(part)) };
    if rec_size < loc.min_rec || rec_size & 3 != 0 {
        return Err(ExtError::BadRecordSize { part, size: rec_size });
    }
    let mut rest = &info[4..];
    if rest.is_empty() {
        return Err(ExtError::NoRecords(part));
    }
    let mut secs = Vec::new();
    while !rest.is_empty() {
        let (Some(name_off), Some(num)) = (u32_at(rest, 0), u32_at(rest, 4)) else {
            return Err(ExtError::NoSectionHeader(part));
        };
        if num == 0 {
            return Err(ExtError::BadNumRecords(part));
        }
        let total = 8 + u64::from(num) * u64::from(rec_size);
        if (rest.len() as u64) < total {
            return Err(ExtError::BadNumRecords(part));
        }
        let sec_name =
            btf.strings.get(name_off).ok_or(ExtError::BadSectionName { part, off: name_off })?.to_string();
        let body = &rest[8..total as usize];
        let records = body.chunks_exact(rec_size as usize).map(&decode).collect();
        secs.push(ExtSection { sec_name, records });
        rest = &rest[total as usize..];
    }
    Ok((rec_size, secs))
}

fn rd(b: &[u8], i: usize) -> u32 {
    // Callers pass chunks of at least the minimum record size.
    u32::from_le_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]])
}

/// Parses a `.BTF.ext` section. `btf` is the object's `.BTF`, used to
/// resolve section names. Never panics.
pub fn parse_ext(data: &[u8], btf: &Btf) -> Result<BtfExt, ExtError> {
    if data.len() < 8 {
        return Err(ExtError::HeaderNotFound);
    }
    let magic = u16::from_le_bytes([data[0], data[1]]);
    let hdr_len = u32_at(data, 4).unwrap_or(0);
    if u64::from(hdr_len) > data.len() as u64 {
        return Err(ExtError::HeaderNotFound);
    }
    if magic == BTF_EXT_MAGIC.swap_bytes() {
        return Err(ExtError::BigEndian);
    }
    if magic != BTF_EXT_MAGIC {
        return Err(ExtError::BadMagic(magic));
    }
    if data[2] != BTF_EXT_VERSION {
        return Err(ExtError::BadVersion(data[2]));
    }
    if data[3] != 0 {
        return Err(ExtError::BadFlags(data[3]));
    }
    if data.len() as u64 == u64::from(hdr_len) {
        return Err(ExtError::NoData);
    }
    if hdr_len < EXT_HDR_MIN_LEN {
        return Err(ExtError::HeaderNotFound);
    }
    let field = |i: usize| u32_at(data, 8 + 4 * i).unwrap_or(0);
    let fi = PartLoc { part: ExtPart::FuncInfo, off: field(0), len: field(1), min_rec: FUNC_INFO_REC_SIZE };
    let li = PartLoc { part: ExtPart::LineInfo, off: field(2), len: field(3), min_rec: LINE_INFO_REC_SIZE };
    let (func_info_rec_size, func_info) =
        parse_part(data, hdr_len, &fi, btf, |b| FuncInfoRec { insn_off: rd(b, 0), type_id: rd(b, 1) })?;
    let (line_info_rec_size, line_info) = parse_part(data, hdr_len, &li, btf, |b| LineInfoRec {
        insn_off: rd(b, 0),
        file_name_off: rd(b, 1),
        line_off: rd(b, 2),
        line_col: rd(b, 3),
    })?;
    let (core_relo_rec_size, core_relos) = if hdr_len >= EXT_HDR_CORE_LEN {
        let cr =
            PartLoc { part: ExtPart::CoreRelo, off: field(4), len: field(5), min_rec: CORE_RELO_REC_SIZE };
        parse_part(data, hdr_len, &cr, btf, |b| CoreReloRec {
            insn_off: rd(b, 0),
            type_id: rd(b, 1),
            access_str_off: rd(b, 2),
            kind: rd(b, 3),
        })?
    } else {
        (0, Vec::new())
    };
    Ok(BtfExt {
        func_info,
        line_info,
        core_relos,
        func_info_rec_size,
        line_info_rec_size,
        core_relo_rec_size,
    })
}
