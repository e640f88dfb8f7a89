//! Decoding the binary format (`btf_parse_hdr`, `btf_check_sec_info`,
//! `btf_parse_str_sec`, and the per-kind `check_meta` of `kernel/bpf/btf.c`).
//!
//! [`decode`] rejects what the model cannot represent (bad header or
//! sections, truncated records, unknown kinds, non-zero fields the kernel
//! requires to be zero). Semantic rules (names, type ids, loops, sizes) are
//! [`Btf::validate`]'s; [`load`] runs both, like `BPF_BTF_LOAD`. Never
//! panics, whatever the bytes.

use crate::error::{BtfError, HeaderError, Reason};
use crate::format::*;
use crate::model::*;
use crate::strings::StringTable;

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// The parsed `struct btf_header`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub magic: u16,
    pub version: u8,
    pub flags: u8,
    pub hdr_len: u32,
    pub type_off: u32,
    pub type_len: u32,
    pub str_off: u32,
    pub str_len: u32,
}

/// Parses and checks the header and the section layout.
pub fn parse_header(b: &[u8]) -> Result<Header, HeaderError> {
    let hdr_len = u32_at(b, 4).ok_or(HeaderError::HdrLenNotFound)?;
    if (b.len() as u64) < u64::from(hdr_len) {
        return Err(HeaderError::HeaderNotFound);
    }
    if hdr_len < HDR_LEN {
        return Err(HeaderError::UnsupportedHeader);
    }
    let hl = hdr_len as usize;
    if b[HDR_LEN as usize..hl].iter().any(|&x| x != 0) {
        return Err(HeaderError::UnsupportedHeader);
    }
    let f = |o| u32_at(b, o).ok_or(HeaderError::HeaderNotFound);
    let h = Header {
        magic: u16_at(b, 0).ok_or(HeaderError::HdrLenNotFound)?,
        version: b[2],
        flags: b[3],
        hdr_len,
        type_off: f(8)?,
        type_len: f(12)?,
        str_off: f(16)?,
        str_len: f(20)?,
    };
    if h.magic != BTF_MAGIC {
        return Err(HeaderError::InvalidMagic(h.magic));
    }
    if h.version != BTF_VERSION {
        return Err(HeaderError::UnsupportedVersion(h.version));
    }
    if h.flags != 0 {
        return Err(HeaderError::UnsupportedFlags(h.flags));
    }
    check_sections(&h, (b.len() - hl) as u64)?;
    if !h.type_off.is_multiple_of(4) {
        return Err(HeaderError::UnalignedTypeOff);
    }
    if !h.type_len.is_multiple_of(4) {
        return Err(HeaderError::TypeSectionNotAligned);
    }
    Ok(h)
}

/// `btf_check_sec_info()`: the type and string sections, sorted by offset,
/// must tile the `data_len` bytes after the header exactly.
pub fn check_sections(h: &Header, data_len: u64) -> Result<(), HeaderError> {
    let mut secs = [(h.type_off, h.type_len), (h.str_off, h.str_len)];
    secs.sort_unstable();
    let mut total = 0u64;
    for (off, len) in secs {
        let (off, len) = (u64::from(off), u64::from(len));
        if data_len < off {
            return Err(HeaderError::InvalidSectionOffset);
        }
        if total < off {
            return Err(HeaderError::UnsupportedSection);
        }
        if total > off {
            return Err(HeaderError::SectionOverlap);
        }
        if data_len - total < len {
            return Err(HeaderError::SectionTooLong);
        }
        total += len;
    }
    if total != data_len {
        return Err(HeaderError::UnsupportedSection);
    }
    Ok(())
}

/// Decodes `bytes` and validates the result, as the kernel's `BPF_BTF_LOAD`.
pub fn load(bytes: &[u8]) -> Result<Btf, BtfError> {
    let btf = decode(bytes)?;
    btf.validate()?;
    Ok(btf)
}

/// Decodes the binary format without the semantic checks of
/// [`Btf::validate`].
pub fn decode(bytes: &[u8]) -> Result<Btf, BtfError> {
    let h = parse_header(bytes)?;
    let base = h.hdr_len as usize;
    let s0 = base + h.str_off as usize;
    let strs = &bytes[s0..s0 + h.str_len as usize];
    if strs.first() != Some(&0) || strs.last() != Some(&0) || h.str_len > MAX_NAME_OFFSET + 1 {
        return Err(HeaderError::InvalidStringSection.into());
    }
    let t0 = base + h.type_off as usize;
    let tsec = &bytes[t0..t0 + h.type_len as usize];
    let mut types = Vec::new();
    let mut cur = 0usize;
    while cur < tsec.len() {
        let id = types.len() as u32 + 1;
        if id > MAX_TYPE {
            return Err(HeaderError::TooManyTypes.into());
        }
        let (ty, used) = decode_type(id, &tsec[cur..])?;
        types.push(ty);
        cur += used;
    }
    Ok(Btf { types, strings: StringTable::from_bytes(strs.to_vec()) })
}

struct Rec<'a> {
    id: TypeId,
    kind: &'static str,
    data: &'a [u8],
}

impl Rec<'_> {
    fn err(&self, reason: Reason) -> BtfError {
        BtfError::Type { id: self.id, kind: self.kind, reason }
    }
    fn need(&self, n: usize) -> Result<(), BtfError> {
        if self.data.len() < n {
            return Err(self.err(Reason::Truncated { left: self.data.len(), needed: n }));
        }
        Ok(())
    }
    fn word(&self, i: usize) -> u32 {
        u32_at(self.data, i * 4).unwrap_or(0)
    }
}

/// Decodes one `btf_type` record plus its trailing data; returns the type
/// and the number of bytes used.
fn decode_type(id: TypeId, data: &[u8]) -> Result<(Type, usize), BtfError> {
    let mut rec = Rec { id, kind: "UNKN", data };
    rec.need(12)?;
    let name_off = rec.word(0);
    let info = rec.word(1);
    let size_type = rec.word(2);
    let vlen = (info & 0xffff) as usize;
    let kflag = info >> 31 != 0;
    let kind_num = (info >> 24) & 0x1f;
    if info & !INFO_MASK != 0 {
        return Err(rec.err(Reason::InvalidBtfInfo(info)));
    }
    let kind = BtfKind::from_u32(kind_num).ok_or(rec.err(Reason::InvalidKind(kind_num)))?;
    rec.kind = kind.name();
    let extra = match kind {
        BtfKind::Int | BtfKind::Var | BtfKind::DeclTag => 4,
        BtfKind::Array => 12,
        BtfKind::Struct | BtfKind::Union | BtfKind::Datasec | BtfKind::Enum64 => 12 * vlen,
        BtfKind::Enum | BtfKind::FuncProto => 8 * vlen,
        _ => 0,
    };
    let total = 12 + extra;
    rec.need(total)?;
    let vlen_forbidden = !matches!(
        kind,
        BtfKind::Struct
            | BtfKind::Union
            | BtfKind::Enum
            | BtfKind::Enum64
            | BtfKind::Func
            | BtfKind::FuncProto
            | BtfKind::Datasec
    );
    if vlen_forbidden && vlen != 0 {
        return Err(rec.err(Reason::VlenNotZero));
    }
    let kflag_allowed = matches!(
        kind,
        BtfKind::Struct
            | BtfKind::Union
            | BtfKind::Enum
            | BtfKind::Enum64
            | BtfKind::Fwd
            | BtfKind::DeclTag
            | BtfKind::TypeTag
    );
    if kflag && !kflag_allowed {
        return Err(rec.err(Reason::InvalidKindFlag));
    }
    let w = |i: usize| rec.word(3 + i);
    let k = match kind {
        BtfKind::Int => {
            let d = w(0);
            if d & !INT_MASK != 0 {
                return Err(rec.err(Reason::InvalidIntData(d)));
            }
            let encoding = match (d >> 24) & 0x0f {
                0 => IntEncoding::Unsigned,
                1 => IntEncoding::Signed,
                2 => IntEncoding::Char,
                4 => IntEncoding::Bool,
                _ => return Err(rec.err(Reason::UnsupportedEncoding)),
            };
            Kind::Int { size: size_type, encoding, offset: (d >> 16) as u8, bits: d as u8 }
        }
        BtfKind::Ptr => Kind::Ptr { ty: size_type },
        BtfKind::Typedef => Kind::Typedef { ty: size_type },
        BtfKind::Volatile => Kind::Volatile { ty: size_type },
        BtfKind::Const => Kind::Const { ty: size_type },
        BtfKind::Restrict => Kind::Restrict { ty: size_type },
        BtfKind::TypeTag => Kind::TypeTag { ty: size_type, attr: kflag },
        BtfKind::Array => {
            if size_type != 0 {
                return Err(rec.err(Reason::SizeNotZero));
            }
            Kind::Array { elem: w(0), index: w(1), nelems: w(2) }
        }
        BtfKind::Struct | BtfKind::Union => {
            let members = (0..vlen)
                .map(|i| {
                    let off = w(3 * i + 2);
                    let (bit_offset, bitfield_size) =
                        if kflag { (off & 0x00ff_ffff, (off >> 24) as u8) } else { (off, 0) };
                    Member { name_off: w(3 * i), ty: w(3 * i + 1), bit_offset, bitfield_size }
                })
                .collect();
            let c = Composite { size: size_type, kflag, members };
            if kind == BtfKind::Struct { Kind::Struct(c) } else { Kind::Union(c) }
        }
        BtfKind::Enum => {
            let values =
                (0..vlen).map(|i| EnumValue { name_off: w(2 * i), val: w(2 * i + 1) as i32 }).collect();
            Kind::Enum { size: size_type, signed: kflag, values }
        }
        BtfKind::Enum64 => {
            let values = (0..vlen)
                .map(|i| Enum64Value {
                    name_off: w(3 * i),
                    val: u64::from(w(3 * i + 1)) | (u64::from(w(3 * i + 2)) << 32),
                })
                .collect();
            Kind::Enum64 { size: size_type, signed: kflag, values }
        }
        BtfKind::Fwd => {
            if size_type != 0 {
                return Err(rec.err(Reason::TypeNotZero));
            }
            Kind::Fwd { is_union: kflag }
        }
        BtfKind::Func => {
            let linkage = match vlen {
                0 => FuncLinkage::Static,
                1 => FuncLinkage::Global,
                2 => FuncLinkage::Extern,
                _ => return Err(rec.err(Reason::InvalidFuncLinkage)),
            };
            Kind::Func { proto: size_type, linkage }
        }
        BtfKind::FuncProto => {
            let params = (0..vlen).map(|i| Param { name_off: w(2 * i), ty: w(2 * i + 1) }).collect();
            Kind::FuncProto { ret: size_type, params }
        }
        BtfKind::Var => {
            let linkage = match w(0) {
                0 => VarLinkage::Static,
                1 => VarLinkage::GlobalAllocated,
                2 => VarLinkage::GlobalExtern,
                _ => return Err(rec.err(Reason::LinkageNotSupported)),
            };
            Kind::Var { ty: size_type, linkage }
        }
        BtfKind::Datasec => {
            let vars = (0..vlen)
                .map(|i| VarSecinfo { ty: w(3 * i), offset: w(3 * i + 1), size: w(3 * i + 2) })
                .collect();
            Kind::Datasec { size: size_type, vars }
        }
        BtfKind::Float => Kind::Float { size: size_type },
        BtfKind::DeclTag => Kind::DeclTag { ty: size_type, component_idx: w(0) as i32, attr: kflag },
    };
    Ok((Type { name_off, kind: k }, total))
}
