//! Validation: the rules `kernel/bpf/btf.c` applies when loading BTF
//! (`btf_check_all_metas`, `btf_check_all_types` / the per-kind
//! `check_meta` and `resolve` callbacks), reported with the kernel's wording.
//!
//! Covered: name offsets and identifier rules per kind, type ids in range
//! and of the right kind, reference loops, INT/FLOAT/ENUM sizes and bit
//! counts, struct/union member offsets, bitfields and sizes, FUNC linkage and
//! prototype arguments, VAR, DATASEC variables, DECL_TAG component indexes.
//!
//! Not covered: split BTF (a base BTF), `BTF_KIND_FUNC` checks against
//! program info, duplicate detection, kptr/spin_lock/timer field rules.

use crate::error::{BtfError, HeaderError, Reason};
use crate::format::{MAX_NAME_OFFSET, MAX_TYPE};
use crate::model::*;

/// `KSYM_NAME_LEN`: identifiers must be shorter.
const KSYM_NAME_LEN: usize = 512;

fn is_ident(s: &str) -> bool {
    let mut it = s.bytes();
    match it.next() {
        Some(c) if c.is_ascii_alphabetic() || c == b'_' => {}
        _ => return false,
    }
    s.len() < KSYM_NAME_LEN && it.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

fn is_section_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() < KSYM_NAME_LEN
        && s.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'$' | b'?'))
}

impl Btf {
    /// Checks the whole object; the first problem found is returned.
    pub fn validate(&self) -> Result<(), BtfError> {
        if self.types.len() > MAX_TYPE as usize {
            return Err(HeaderError::TooManyTypes.into());
        }
        if self.strings.as_bytes().len() > MAX_NAME_OFFSET as usize + 1 {
            return Err(HeaderError::InvalidStringSection.into());
        }
        for (id, t) in self.iter() {
            self.check_meta(id, t)?;
        }
        self.check_loops()?;
        for (id, t) in self.iter() {
            self.check_resolved(id, t)?;
        }
        Ok(())
    }

    fn name_of(&self, id: TypeId, t: &Type, off: u32) -> Result<&str, BtfError> {
        self.strings.get(off).ok_or(terr(id, t, Reason::InvalidNameOffset(off)))
    }

    fn check_id(&self, id: TypeId, t: &Type, target: TypeId, allow_void: bool) -> Result<(), BtfError> {
        if target > self.type_count() || (!allow_void && target == 0) {
            return Err(terr(id, t, Reason::InvalidTypeId));
        }
        Ok(())
    }

    fn check_meta(&self, id: TypeId, t: &Type) -> Result<(), BtfError> {
        let name = self.name_of(id, t, t.name_off)?;
        let bad_name = || terr(id, t, Reason::InvalidName);
        let named_ok = name.is_empty() || is_ident(name);
        match &t.kind {
            Kind::Int { size, offset, bits, .. } => {
                let nr_bits = u32::from(*bits) + u32::from(*offset);
                if nr_bits > 128 {
                    return Err(terr(id, t, Reason::NrBitsExceeds128));
                }
                if nr_bits.div_ceil(8) > *size {
                    return Err(terr(id, t, Reason::NrBitsExceedsTypeSize));
                }
                if *size == 0 || *size > 16 {
                    return Err(terr(id, t, Reason::InvalidTypeSize));
                }
            }
            Kind::Float { size } => {
                if !matches!(size, 2 | 4 | 8 | 12 | 16) {
                    return Err(terr(id, t, Reason::InvalidTypeSize));
                }
            }
            Kind::Ptr { ty } | Kind::Const { ty } | Kind::Volatile { ty } | Kind::Restrict { ty } => {
                if !name.is_empty() {
                    return Err(bad_name());
                }
                self.check_id(id, t, *ty, true)?;
            }
            Kind::Typedef { ty } => {
                if !is_ident(name) {
                    return Err(bad_name());
                }
                self.check_id(id, t, *ty, true)?;
            }
            Kind::TypeTag { ty, .. } => {
                if name.is_empty() {
                    return Err(bad_name());
                }
                self.check_id(id, t, *ty, true)?;
            }
            Kind::Array { elem, index, nelems: _ } => {
                if !name.is_empty() {
                    return Err(bad_name());
                }
                if *elem == 0 || *elem > self.type_count() {
                    return Err(terr(id, t, Reason::InvalidElem));
                }
                let idx = self.skip_mods_and_typedefs(*index);
                if !matches!(self.kind(idx), Some(Kind::Int { .. })) {
                    return Err(terr(id, t, Reason::InvalidIndex));
                }
            }
            Kind::Struct(c) | Kind::Union(c) => {
                if !named_ok {
                    return Err(bad_name());
                }
                let is_union = matches!(t.kind, Kind::Union(_));
                let mut last = 0u32;
                for (i, m) in c.members.iter().enumerate() {
                    let merr = |reason| merr(id, t, i, reason);
                    let mname =
                        self.strings.get(m.name_off).ok_or(merr(Reason::InvalidNameOffset(m.name_off)))?;
                    if !mname.is_empty() && !is_ident(mname) {
                        return Err(merr(Reason::InvalidName));
                    }
                    if m.ty == 0 || m.ty > self.type_count() {
                        return Err(merr(Reason::InvalidTypeId));
                    }
                    if !c.kflag && m.bitfield_size != 0 {
                        return Err(merr(Reason::InvalidMemberBitfieldSize));
                    }
                    if c.kflag && m.bit_offset > 0x00ff_ffff {
                        return Err(merr(Reason::InvalidMemberBitsOffset));
                    }
                    if is_union && m.bit_offset != 0 {
                        return Err(merr(Reason::InvalidMemberBitsOffset));
                    }
                    if m.bit_offset < last {
                        return Err(merr(Reason::InvalidMemberBitsOffset));
                    }
                    if m.bit_offset.div_ceil(8) > c.size {
                        return Err(merr(Reason::MemberOffsetExceedsStructSize));
                    }
                    last = m.bit_offset;
                }
            }
            Kind::Enum { size, values, .. } => {
                if !named_ok {
                    return Err(bad_name());
                }
                if !matches!(size, 1 | 2 | 4 | 8) {
                    return Err(terr(id, t, Reason::UnexpectedSize));
                }
                self.check_enum_names(id, t, values.iter().map(|v| v.name_off))?;
            }
            Kind::Enum64 { size, values, .. } => {
                if !named_ok {
                    return Err(bad_name());
                }
                if !matches!(size, 1 | 2 | 4 | 8) {
                    return Err(terr(id, t, Reason::UnexpectedSize));
                }
                self.check_enum_names(id, t, values.iter().map(|v| v.name_off))?;
            }
            Kind::Fwd { .. } => {
                if !is_ident(name) {
                    return Err(bad_name());
                }
            }
            Kind::Func { proto, .. } => {
                if !is_ident(name) {
                    return Err(bad_name());
                }
                self.check_id(id, t, *proto, false)?;
                if !matches!(self.kind(*proto), Some(Kind::FuncProto { .. })) {
                    return Err(terr(id, t, Reason::InvalidTypeId));
                }
            }
            Kind::FuncProto { ret, params } => {
                if !name.is_empty() {
                    return Err(bad_name());
                }
                self.check_id(id, t, *ret, true)?;
                for (i, p) in params.iter().enumerate() {
                    let pname = self.strings.get(p.name_off).ok_or(terr(id, t, Reason::InvalidArg(i + 1)))?;
                    let is_varargs = p.ty == 0 && p.name_off == 0;
                    let last = i + 1 == params.len();
                    if (is_varargs && (!last || i == 0))
                        || (p.ty == 0 && !is_varargs)
                        || p.ty > self.type_count()
                        || (!pname.is_empty() && !is_ident(pname))
                    {
                        return Err(terr(id, t, Reason::InvalidArg(i + 1)));
                    }
                }
            }
            Kind::Var { ty, .. } => {
                if !is_ident(name) {
                    return Err(bad_name());
                }
                self.check_id(id, t, *ty, false)?;
            }
            Kind::Datasec { size, vars } => {
                if !is_section_name(name) {
                    return Err(bad_name());
                }
                if *size == 0 {
                    return Err(terr(id, t, Reason::InvalidSize));
                }
                let mut end = 0u64;
                for (i, v) in vars.iter().enumerate() {
                    let merr = |reason| merr(id, t, i, reason);
                    if !matches!(self.kind(v.ty), Some(Kind::Var { .. })) {
                        return Err(merr(Reason::InvalidTypeId));
                    }
                    if v.size == 0 {
                        return Err(merr(Reason::InvalidSize));
                    }
                    if u64::from(v.offset) < end {
                        return Err(merr(Reason::InvalidOffset));
                    }
                    end = u64::from(v.offset) + u64::from(v.size);
                    if end > u64::from(*size) {
                        return Err(merr(Reason::InvalidOffsetSize));
                    }
                }
            }
            Kind::DeclTag { ty, component_idx, .. } => {
                if name.is_empty() {
                    return Err(bad_name());
                }
                self.check_id(id, t, *ty, false)?;
                let ok = match (*component_idx, self.kind(*ty)) {
                    (-1, _) => true,
                    (i, Some(Kind::Struct(c) | Kind::Union(c))) if i >= 0 => (i as usize) < c.members.len(),
                    (i, Some(Kind::Func { proto, .. })) if i >= 0 => match self.kind(*proto) {
                        Some(Kind::FuncProto { params, .. }) => (i as usize) < params.len(),
                        _ => false,
                    },
                    _ => false,
                };
                if !ok {
                    return Err(terr(id, t, Reason::InvalidComponentIdx));
                }
            }
        }
        Ok(())
    }

    fn check_enum_names(
        &self,
        id: TypeId,
        t: &Type,
        offs: impl Iterator<Item = u32>,
    ) -> Result<(), BtfError> {
        for (i, off) in offs.enumerate() {
            let n = self.strings.get(off).ok_or(merr(id, t, i, Reason::InvalidNameOffset(off)))?;
            if !is_ident(n) {
                return Err(merr(id, t, i, Reason::InvalidName));
            }
        }
        Ok(())
    }

    /// Edges followed when resolving `id`; `via_ptr` means reached through a
    /// pointer, where a struct/union ends the walk (a pointer to an
    /// incomplete type is fine in C).
    fn edges(&self, id: TypeId, via_ptr: bool) -> Vec<(TypeId, bool)> {
        match self.kind(id) {
            None => vec![],
            Some(Kind::Ptr { ty }) => vec![(*ty, true)],
            Some(Kind::Array { elem, .. }) => vec![(*elem, via_ptr)],
            Some(Kind::Struct(c) | Kind::Union(c)) => {
                if via_ptr {
                    vec![]
                } else {
                    c.members.iter().map(|m| (m.ty, false)).collect()
                }
            }
            Some(Kind::FuncProto { ret, params }) => {
                std::iter::once(*ret).chain(params.iter().map(|p| p.ty)).map(|t| (t, via_ptr)).collect()
            }
            Some(Kind::Datasec { vars, .. }) => vars.iter().map(|v| (v.ty, false)).collect(),
            Some(k) if k.is_mod_or_typedef() => vec![(k.ref_type().unwrap_or(0), via_ptr)],
            Some(k) => k.ref_type().map(|t| vec![(t, false)]).unwrap_or_default(),
        }
    }

    /// Reference loops that never go through a struct/union reached by
    /// pointer ("Loop detected"), found by an iterative DFS.
    fn check_loops(&self) -> Result<(), BtfError> {
        let n = self.types.len() + 1;
        let slot = |id: TypeId, p: bool| id as usize * 2 + usize::from(p);
        // 0 = unvisited, 1 = on stack, 2 = done
        let mut color = vec![0u8; n * 2];
        for start in 1..n as TypeId {
            if color[slot(start, false)] != 0 {
                continue;
            }
            let mut stack = vec![((start, false), self.edges(start, false), 0usize)];
            color[slot(start, false)] = 1;
            while let Some(top) = stack.last_mut() {
                let (node, edges, next) = top;
                if *next == edges.len() {
                    color[slot(node.0, node.1)] = 2;
                    stack.pop();
                    continue;
                }
                let e = edges[*next];
                *next += 1;
                if e.0 == 0 || e.0 as usize >= n {
                    continue;
                }
                match color[slot(e.0, e.1)] {
                    0 => {
                        color[slot(e.0, e.1)] = 1;
                        stack.push((e, self.edges(e.0, e.1), 0));
                    }
                    1 => {
                        let t = &self.types[e.0 as usize - 1];
                        return Err(terr(e.0, t, Reason::LoopDetected));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn check_resolved(&self, id: TypeId, t: &Type) -> Result<(), BtfError> {
        match &t.kind {
            Kind::Array { elem, .. } => {
                let e = self.skip_mods_and_typedefs(*elem);
                if matches!(self.kind(e), None | Some(Kind::FuncProto { .. } | Kind::Fwd { .. })) {
                    return Err(terr(id, t, Reason::InvalidElem));
                }
                self.resolve_size(id).map_err(|_| terr(id, t, Reason::ArraySizeOverflow))?;
            }
            Kind::Struct(c) | Kind::Union(c) => {
                for (i, m) in c.members.iter().enumerate() {
                    let merr = |reason| merr(id, t, i, reason);
                    let msize = self.resolve_size(m.ty).map_err(|_| merr(Reason::InvalidMember))?;
                    let base = self.skip_mods_and_typedefs(m.ty);
                    let int = match self.kind(base) {
                        Some(Kind::Int { size, offset, bits, .. }) => Some((*size, *offset, *bits)),
                        _ => None,
                    };
                    let (off, nbits) = if m.bitfield_size != 0 {
                        let is_int_like = int.is_some()
                            || matches!(self.kind(base), Some(Kind::Enum { .. } | Kind::Enum64 { .. }));
                        if !is_int_like {
                            return Err(merr(Reason::InvalidMember));
                        }
                        if m.bitfield_size > 128 || u64::from(m.bitfield_size) > u64::from(msize) * 8 {
                            return Err(merr(Reason::InvalidMemberBitfieldSize));
                        }
                        (u64::from(m.bit_offset), u64::from(m.bitfield_size))
                    } else if let Some((size, ioff, bits)) =
                        int.filter(|(size, off, bits)| *off != 0 || u64::from(*bits) != u64::from(*size) * 8)
                    {
                        // An old-style (kind_flag = 0) int bitfield.
                        let _ = size;
                        (u64::from(m.bit_offset) + u64::from(ioff), u64::from(bits))
                    } else {
                        if m.bit_offset % 8 != 0 {
                            return Err(merr(Reason::MemberNotByteAligned));
                        }
                        (u64::from(m.bit_offset), u64::from(msize) * 8)
                    };
                    if (off + nbits).div_ceil(8) > u64::from(c.size) {
                        return Err(merr(Reason::MemberExceedsStructSize));
                    }
                }
            }
            Kind::Var { ty, .. } => {
                self.resolve_size(*ty).map_err(|_| terr(id, t, Reason::InvalidTypeId))?;
            }
            Kind::Datasec { vars, .. } => {
                for (i, v) in vars.iter().enumerate() {
                    let vs = self.resolve_size(v.ty).map_err(|_| merr(id, t, i, Reason::InvalidTypeId))?;
                    if v.size < vs {
                        return Err(merr(id, t, i, Reason::InvalidSize));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn terr(id: TypeId, t: &Type, reason: Reason) -> BtfError {
    BtfError::Type { id, kind: t.kind.tag().name(), reason }
}

fn merr(id: TypeId, t: &Type, member: usize, reason: Reason) -> BtfError {
    BtfError::Member { id, kind: t.kind.tag().name(), member, reason }
}
