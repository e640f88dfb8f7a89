//! Lookups (libbpf's `btf__find_by_name_kind`, `btf__resolve_size`,
//! `btf__align_of`, `skip_mods_and_typedefs`, member offsets by name).
//!
//! All are total: loops and bad ids give `None` / an error, never a hang or
//! a panic.

use crate::error::{BtfError, Reason};
use crate::model::*;

/// Pointer size of the BPF target.
pub const PTR_SIZE: u32 = 8;

/// A member found by [`Btf::member_offset`], offset relative to the
/// outermost struct (anonymous members are searched through).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberInfo {
    pub ty: TypeId,
    pub bit_offset: u32,
    pub bitfield_size: u8,
}

impl Btf {
    /// The first type of kind `kind` named `name`.
    pub fn find_by_name_kind(&self, name: &str, kind: BtfKind) -> Option<TypeId> {
        self.iter().find(|(_, t)| t.kind.tag() == kind && self.str_at(t.name_off) == name).map(|(id, _)| id)
    }

    /// Follows CONST/VOLATILE/RESTRICT/TYPE_TAG/TYPEDEF to the underlying
    /// type (0 for void; stops on a loop or a bad id).
    pub fn skip_mods_and_typedefs(&self, mut id: TypeId) -> TypeId {
        for _ in 0..=self.types.len() {
            match self.kind(id) {
                Some(k) if k.is_mod_or_typedef() => id = k.ref_type().unwrap_or(0),
                _ => return id,
            }
        }
        id
    }

    fn err(&self, id: TypeId, reason: Reason) -> BtfError {
        let kind = self.kind(id).map(|k| k.tag().name()).unwrap_or("UNKN");
        BtfError::Type { id, kind, reason }
    }

    /// The size in bytes of `id` (`btf__resolve_size`).
    pub fn resolve_size(&self, id: TypeId) -> Result<u32, BtfError> {
        let mut cur = id;
        let mut mult: u64 = 1;
        for _ in 0..=self.types.len() {
            let Some(k) = self.kind(cur) else {
                return Err(self.err(cur, if cur == 0 { Reason::NoSize } else { Reason::InvalidTypeId }));
            };
            let size = match k {
                Kind::Int { size, .. }
                | Kind::Float { size }
                | Kind::Enum { size, .. }
                | Kind::Enum64 { size, .. }
                | Kind::Datasec { size, .. } => *size,
                Kind::Struct(c) | Kind::Union(c) => c.size,
                Kind::Ptr { .. } => PTR_SIZE,
                Kind::Typedef { ty }
                | Kind::Volatile { ty }
                | Kind::Const { ty }
                | Kind::Restrict { ty }
                | Kind::TypeTag { ty, .. }
                | Kind::Var { ty, .. } => {
                    cur = *ty;
                    continue;
                }
                Kind::Array { elem, nelems, .. } => {
                    mult = mult.saturating_mul(u64::from(*nelems));
                    cur = *elem;
                    continue;
                }
                Kind::Fwd { .. } | Kind::Func { .. } | Kind::FuncProto { .. } | Kind::DeclTag { .. } => {
                    return Err(self.err(cur, Reason::NoSize));
                }
            };
            let total = mult.saturating_mul(u64::from(size));
            return u32::try_from(total).map_err(|_| self.err(id, Reason::ArraySizeOverflow));
        }
        Err(self.err(id, Reason::LoopDetected))
    }

    /// Natural alignment of `id` in bytes (`btf__align_of`); 0 if unknown.
    pub fn align_of(&self, id: TypeId) -> u32 {
        self.align_of_depth(id, 0)
    }

    fn align_of_depth(&self, id: TypeId, depth: usize) -> u32 {
        if depth > self.types.len() {
            return 0;
        }
        match self.kind(id) {
            None => 0,
            Some(Kind::Int { size, .. } | Kind::Float { size } | Kind::Enum { size, .. }) => {
                (*size).clamp(1, PTR_SIZE)
            }
            Some(Kind::Enum64 { size, .. }) => (*size).clamp(1, PTR_SIZE),
            Some(Kind::Ptr { .. }) => PTR_SIZE,
            Some(Kind::Array { elem, .. }) => self.align_of_depth(*elem, depth + 1),
            Some(Kind::Struct(c) | Kind::Union(c)) => {
                if self.is_packed_depth(id, depth) {
                    return 1;
                }
                c.members.iter().map(|m| self.align_of_depth(m.ty, depth + 1)).max().unwrap_or(1).max(1)
            }
            Some(k) if k.is_mod_or_typedef() => self.align_of_depth(k.ref_type().unwrap_or(0), depth + 1),
            Some(_) => 0,
        }
    }

    /// Whether a struct/union needs `__attribute__((packed))`: its size or a
    /// member's offset is not a multiple of the natural alignment
    /// (libbpf's `btf_is_struct_packed`).
    pub fn is_packed(&self, id: TypeId) -> bool {
        self.is_packed_depth(id, 0)
    }

    fn is_packed_depth(&self, id: TypeId, depth: usize) -> bool {
        let Some(Kind::Struct(c) | Kind::Union(c)) = self.kind(id) else { return false };
        let mut max_align = 1;
        for m in &c.members {
            let a = self.align_of_depth(m.ty, depth + 1);
            if a == 0 {
                continue;
            }
            if m.bitfield_size == 0 && m.bit_offset % (8 * a) != 0 {
                return true;
            }
            max_align = max_align.max(a);
        }
        c.size % max_align != 0
    }

    /// Finds member `name` of struct/union `id` (through typedefs and
    /// modifiers), searching anonymous struct/union members too.
    pub fn member_offset(&self, id: TypeId, name: &str) -> Option<MemberInfo> {
        self.member_offset_depth(id, name, 0)
    }

    fn member_offset_depth(&self, id: TypeId, name: &str, depth: usize) -> Option<MemberInfo> {
        if depth > self.types.len() {
            return None;
        }
        let id = self.skip_mods_and_typedefs(id);
        let (Kind::Struct(c) | Kind::Union(c)) = self.kind(id)? else { return None };
        for m in &c.members {
            let mname = self.str_at(m.name_off);
            if mname == name && !name.is_empty() {
                return Some(MemberInfo {
                    ty: m.ty,
                    bit_offset: m.bit_offset,
                    bitfield_size: m.bitfield_size,
                });
            }
            if mname.is_empty()
                && let Some(inner) = self.member_offset_depth(m.ty, name, depth + 1)
            {
                return Some(MemberInfo {
                    bit_offset: inner.bit_offset.saturating_add(m.bit_offset),
                    ..inner
                });
            }
        }
        None
    }
}
