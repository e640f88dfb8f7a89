//! Encoding to the binary format: the canonical layout libbpf writes
//! (24-byte header, type section at offset 0, string section right after).

use crate::error::{BtfError, Reason};
use crate::format::*;
use crate::model::*;

fn put(out: &mut Vec<u8>, w: u32) {
    out.extend_from_slice(&w.to_le_bytes());
}

fn info(kind: BtfKind, kflag: bool, vlen: usize) -> u32 {
    (u32::from(kflag) << 31) | ((kind as u32) << 24) | vlen as u32
}

impl Btf {
    /// Encodes to bytes. Fails only if a type has more than 0xffff members,
    /// values, parameters or variables (`vlen` is 16 bits).
    pub fn encode(&self) -> Result<Vec<u8>, BtfError> {
        let mut ts = Vec::new();
        for (id, t) in self.iter() {
            encode_type(&mut ts, id, t)?;
        }
        let strs = self.strings.as_bytes();
        let mut out = Vec::with_capacity(HDR_LEN as usize + ts.len() + strs.len());
        out.extend_from_slice(&BTF_MAGIC.to_le_bytes());
        out.push(BTF_VERSION);
        out.push(0);
        put(&mut out, HDR_LEN);
        put(&mut out, 0);
        put(&mut out, ts.len() as u32);
        put(&mut out, ts.len() as u32);
        put(&mut out, strs.len() as u32);
        out.extend_from_slice(&ts);
        out.extend_from_slice(strs);
        Ok(out)
    }
}

fn encode_type(out: &mut Vec<u8>, id: TypeId, t: &Type) -> Result<(), BtfError> {
    let tag = t.kind.tag();
    let vlen = match &t.kind {
        Kind::Struct(c) | Kind::Union(c) => c.members.len(),
        Kind::Enum { values, .. } => values.len(),
        Kind::Enum64 { values, .. } => values.len(),
        Kind::FuncProto { params, .. } => params.len(),
        Kind::Datasec { vars, .. } => vars.len(),
        Kind::Func { linkage, .. } => *linkage as usize,
        _ => 0,
    };
    if vlen > MAX_VLEN {
        return Err(BtfError::Type { id, kind: tag.name(), reason: Reason::VlenTooLarge });
    }
    let head = |out: &mut Vec<u8>, kflag: bool, st: u32| {
        put(out, t.name_off);
        put(out, info(tag, kflag, vlen));
        put(out, st);
    };
    match &t.kind {
        Kind::Int { size, encoding, offset, bits } => {
            head(out, false, *size);
            put(out, ((*encoding as u32) << 24) | (u32::from(*offset) << 16) | u32::from(*bits));
        }
        Kind::Ptr { ty }
        | Kind::Typedef { ty }
        | Kind::Volatile { ty }
        | Kind::Const { ty }
        | Kind::Restrict { ty } => head(out, false, *ty),
        Kind::TypeTag { ty, attr } => head(out, *attr, *ty),
        Kind::Array { elem, index, nelems } => {
            head(out, false, 0);
            put(out, *elem);
            put(out, *index);
            put(out, *nelems);
        }
        Kind::Struct(c) | Kind::Union(c) => {
            head(out, c.kflag, c.size);
            for m in &c.members {
                put(out, m.name_off);
                put(out, m.ty);
                let off = if c.kflag {
                    (u32::from(m.bitfield_size) << 24) | (m.bit_offset & 0x00ff_ffff)
                } else {
                    m.bit_offset
                };
                put(out, off);
            }
        }
        Kind::Enum { size, signed, values } => {
            head(out, *signed, *size);
            for v in values {
                put(out, v.name_off);
                put(out, v.val as u32);
            }
        }
        Kind::Enum64 { size, signed, values } => {
            head(out, *signed, *size);
            for v in values {
                put(out, v.name_off);
                put(out, v.val as u32);
                put(out, (v.val >> 32) as u32);
            }
        }
        Kind::Fwd { is_union } => head(out, *is_union, 0),
        Kind::Func { proto, .. } => head(out, false, *proto),
        Kind::FuncProto { ret, params } => {
            head(out, false, *ret);
            for p in params {
                put(out, p.name_off);
                put(out, p.ty);
            }
        }
        Kind::Var { ty, linkage } => {
            head(out, false, *ty);
            put(out, *linkage as u32);
        }
        Kind::Datasec { size, vars } => {
            head(out, false, *size);
            for v in vars {
                put(out, v.ty);
                put(out, v.offset);
                put(out, v.size);
            }
        }
        Kind::Float { size } => head(out, false, *size),
        Kind::DeclTag { ty, component_idx, attr } => {
            head(out, *attr, *ty);
            put(out, *component_idx as u32);
        }
    }
    Ok(())
}
