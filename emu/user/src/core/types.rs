//! Small BTF accessors with libbpf's view of type id 0: `void` is a type
//! (kind `UNKN`), while an id past the end is an error. Every walk is
//! bounded, so malformed BTF (loops, dangling ids) gives an error, never a
//! hang.

use bpfemu_btf::{Btf, BtfKind, Composite, Kind, Type};

/// A type as CO-RE sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum View<'a> {
    Void,
    Ty(&'a Type),
}

impl<'a> View<'a> {
    pub(crate) fn kind(self) -> Option<&'a Kind> {
        match self {
            View::Void => None,
            View::Ty(t) => Some(&t.kind),
        }
    }

    /// The kind number, 0 for void.
    pub(crate) fn kind_num(self) -> u8 {
        self.kind().map(|k| k.tag() as u8).unwrap_or(0)
    }

    pub(crate) fn name_off(self) -> u32 {
        match self {
            View::Void => 0,
            View::Ty(t) => t.name_off,
        }
    }

    pub(crate) fn composite(self) -> Option<&'a Composite> {
        match self.kind()? {
            Kind::Struct(c) | Kind::Union(c) => Some(c),
            _ => None,
        }
    }

    pub(crate) fn is_any_enum(self) -> bool {
        matches!(self.kind(), Some(Kind::Enum { .. } | Kind::Enum64 { .. }))
    }

    /// libbpf's `btf_kind_str`.
    pub(crate) fn kind_str(self) -> &'static str {
        match self.kind() {
            None => "void",
            Some(k) => match k.tag() {
                BtfKind::Int => "int",
                BtfKind::Ptr => "ptr",
                BtfKind::Array => "array",
                BtfKind::Struct => "struct",
                BtfKind::Union => "union",
                BtfKind::Enum => "enum",
                BtfKind::Fwd => "fwd",
                BtfKind::Typedef => "typedef",
                BtfKind::Volatile => "volatile",
                BtfKind::Const => "const",
                BtfKind::Restrict => "restrict",
                BtfKind::Func => "func",
                BtfKind::FuncProto => "func_proto",
                BtfKind::Var => "var",
                BtfKind::Datasec => "datasec",
                BtfKind::Float => "float",
                BtfKind::DeclTag => "decl_tag",
                BtfKind::TypeTag => "type_tag",
                BtfKind::Enum64 => "enum64",
            },
        }
    }
}

/// The type `id`; `None` for an id past the end.
pub(crate) fn ty(btf: &Btf, id: u32) -> Option<View<'_>> {
    if id == 0 { Some(View::Void) } else { btf.get(id).map(View::Ty) }
}

/// libbpf's `skip_mods_and_typedefs`: follows CONST / VOLATILE / RESTRICT /
/// TYPEDEF / TYPE_TAG. `None` on a dangling id or a loop.
pub(crate) fn skip(btf: &Btf, mut id: u32) -> Option<(u32, View<'_>)> {
    for _ in 0..=btf.types.len() {
        let v = ty(btf, id)?;
        match v.kind() {
            Some(k) if k.is_mod_or_typedef() => id = k.ref_type()?,
            _ => return Some((id, v)),
        }
    }
    None
}

/// `btf_kind_core_compat`: same kind, or both ENUM / ENUM64.
pub(crate) fn kind_core_compat(a: View<'_>, b: View<'_>) -> bool {
    a.kind_num() == b.kind_num() || (a.is_any_enum() && b.is_any_enum())
}

/// `btf__resolve_size`, as u64 (void and sizeless kinds are errors).
pub(crate) fn resolve_size(btf: &Btf, id: u32) -> Option<u64> {
    btf.resolve_size(id).ok().map(u64::from)
}

/// The name of `id` (`""` for void, anonymous or dangling).
pub(crate) fn name(btf: &Btf, id: u32) -> &str {
    btf.name(id)
}

/// Bitfield size of member `idx` (0 unless the composite has kind_flag).
pub(crate) fn member_bitfield_size(c: &Composite, idx: usize) -> u32 {
    match c.members.get(idx) {
        Some(m) if c.kflag => u32::from(m.bitfield_size),
        _ => 0,
    }
}

/// Number of members / enumerators / params (`btf_vlen`).
pub(crate) fn vlen(v: View<'_>) -> usize {
    match v.kind() {
        Some(Kind::Struct(c) | Kind::Union(c)) => c.members.len(),
        Some(Kind::Enum { values, .. }) => values.len(),
        Some(Kind::Enum64 { values, .. }) => values.len(),
        Some(Kind::FuncProto { params, .. }) => params.len(),
        Some(Kind::Datasec { vars, .. }) => vars.len(),
        _ => 0,
    }
}

/// Name offset of enumerator `idx` of an ENUM / ENUM64.
pub(crate) fn enumerator_name_off(v: View<'_>, idx: usize) -> Option<u32> {
    match v.kind()? {
        Kind::Enum { values, .. } => values.get(idx).map(|e| e.name_off),
        Kind::Enum64 { values, .. } => values.get(idx).map(|e| e.name_off),
        _ => None,
    }
}
