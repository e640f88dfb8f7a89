//! The BTF model: one [`Type`] per id (`include/uapi/linux/btf.h`).
//!
//! Type id 0 is `void` and is not stored: `types[0]` has id 1. Names are
//! offsets into [`Btf::strings`], exactly as in the binary format, so that
//! decoding and encoding are each other's inverse.

use crate::strings::StringTable;

/// A type id; 0 is `void`.
pub type TypeId = u32;

/// BTF kind numbers (`BTF_KIND_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum BtfKind {
    Int = 1,
    Ptr = 2,
    Array = 3,
    Struct = 4,
    Union = 5,
    Enum = 6,
    Fwd = 7,
    Typedef = 8,
    Volatile = 9,
    Const = 10,
    Restrict = 11,
    Func = 12,
    FuncProto = 13,
    Var = 14,
    Datasec = 15,
    Float = 16,
    DeclTag = 17,
    TypeTag = 18,
    Enum64 = 19,
}

impl BtfKind {
    /// The kind with number `n`.
    pub fn from_u32(n: u32) -> Option<BtfKind> {
        use BtfKind::*;
        Some(match n {
            1 => Int,
            2 => Ptr,
            3 => Array,
            4 => Struct,
            5 => Union,
            6 => Enum,
            7 => Fwd,
            8 => Typedef,
            9 => Volatile,
            10 => Const,
            11 => Restrict,
            12 => Func,
            13 => FuncProto,
            14 => Var,
            15 => Datasec,
            16 => Float,
            17 => DeclTag,
            18 => TypeTag,
            19 => Enum64,
            _ => return None,
        })
    }

    /// The name bpftool's raw dump prints (`INT`, `FUNC_PROTO`, ...).
    pub fn name(self) -> &'static str {
        use BtfKind::*;
        match self {
            Int => "INT",
            Ptr => "PTR",
            Array => "ARRAY",
            Struct => "STRUCT",
            Union => "UNION",
            Enum => "ENUM",
            Fwd => "FWD",
            Typedef => "TYPEDEF",
            Volatile => "VOLATILE",
            Const => "CONST",
            Restrict => "RESTRICT",
            Func => "FUNC",
            FuncProto => "FUNC_PROTO",
            Var => "VAR",
            Datasec => "DATASEC",
            Float => "FLOAT",
            DeclTag => "DECL_TAG",
            TypeTag => "TYPE_TAG",
            Enum64 => "ENUM64",
        }
    }
}

/// `BTF_INT_ENCODING`: at most one bit is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntEncoding {
    Unsigned = 0,
    Signed = 1,
    Char = 2,
    Bool = 4,
}

/// A struct/union member. With the parent's `kflag` set, `bitfield_size`
/// is encoded in the top 8 bits of the offset word; otherwise it must be 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Member {
    pub name_off: u32,
    pub ty: TypeId,
    pub bit_offset: u32,
    pub bitfield_size: u8,
}

/// STRUCT and UNION bodies.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Composite {
    pub size: u32,
    /// `kind_flag`: members carry bitfield sizes.
    pub kflag: bool,
    pub members: Vec<Member>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EnumValue {
    pub name_off: u32,
    pub val: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Enum64Value {
    pub name_off: u32,
    pub val: u64,
}

/// FUNC_PROTO parameter; a last parameter with name 0 and type 0 means `...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Param {
    pub name_off: u32,
    pub ty: TypeId,
}

/// `btf_var_secinfo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VarSecinfo {
    pub ty: TypeId,
    pub offset: u32,
    pub size: u32,
}

/// `BTF_FUNC_STATIC` / `GLOBAL` / `EXTERN`, stored in FUNC's vlen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FuncLinkage {
    Static = 0,
    Global = 1,
    Extern = 2,
}

/// `BTF_VAR_STATIC` / `GLOBAL_ALLOCATED` / `GLOBAL_EXTERN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VarLinkage {
    Static = 0,
    GlobalAllocated = 1,
    GlobalExtern = 2,
}

/// The kind-specific part of a type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Int {
        size: u32,
        encoding: IntEncoding,
        offset: u8,
        bits: u8,
    },
    Ptr {
        ty: TypeId,
    },
    Array {
        elem: TypeId,
        index: TypeId,
        nelems: u32,
    },
    Struct(Composite),
    Union(Composite),
    /// `signed` is the kind_flag.
    Enum {
        size: u32,
        signed: bool,
        values: Vec<EnumValue>,
    },
    Fwd {
        is_union: bool,
    },
    Typedef {
        ty: TypeId,
    },
    Volatile {
        ty: TypeId,
    },
    Const {
        ty: TypeId,
    },
    Restrict {
        ty: TypeId,
    },
    Func {
        proto: TypeId,
        linkage: FuncLinkage,
    },
    FuncProto {
        ret: TypeId,
        params: Vec<Param>,
    },
    Var {
        ty: TypeId,
        linkage: VarLinkage,
    },
    Datasec {
        size: u32,
        vars: Vec<VarSecinfo>,
    },
    Float {
        size: u32,
    },
    /// `attr` is the kind_flag (an `__attribute__` rather than a
    /// `btf_decl_tag`); `component_idx` -1 tags the type itself.
    DeclTag {
        ty: TypeId,
        component_idx: i32,
        attr: bool,
    },
    TypeTag {
        ty: TypeId,
        attr: bool,
    },
    Enum64 {
        size: u32,
        signed: bool,
        values: Vec<Enum64Value>,
    },
}

impl Kind {
    /// The kind number.
    pub fn tag(&self) -> BtfKind {
        match self {
            Kind::Int { .. } => BtfKind::Int,
            Kind::Ptr { .. } => BtfKind::Ptr,
            Kind::Array { .. } => BtfKind::Array,
            Kind::Struct(_) => BtfKind::Struct,
            Kind::Union(_) => BtfKind::Union,
            Kind::Enum { .. } => BtfKind::Enum,
            Kind::Fwd { .. } => BtfKind::Fwd,
            Kind::Typedef { .. } => BtfKind::Typedef,
            Kind::Volatile { .. } => BtfKind::Volatile,
            Kind::Const { .. } => BtfKind::Const,
            Kind::Restrict { .. } => BtfKind::Restrict,
            Kind::Func { .. } => BtfKind::Func,
            Kind::FuncProto { .. } => BtfKind::FuncProto,
            Kind::Var { .. } => BtfKind::Var,
            Kind::Datasec { .. } => BtfKind::Datasec,
            Kind::Float { .. } => BtfKind::Float,
            Kind::DeclTag { .. } => BtfKind::DeclTag,
            Kind::TypeTag { .. } => BtfKind::TypeTag,
            Kind::Enum64 { .. } => BtfKind::Enum64,
        }
    }

    /// The single type this kind refers to (modifiers, PTR, TYPEDEF, FUNC,
    /// VAR, DECL_TAG, TYPE_TAG).
    pub fn ref_type(&self) -> Option<TypeId> {
        match self {
            Kind::Ptr { ty }
            | Kind::Typedef { ty }
            | Kind::Volatile { ty }
            | Kind::Const { ty }
            | Kind::Restrict { ty }
            | Kind::Var { ty, .. }
            | Kind::DeclTag { ty, .. }
            | Kind::TypeTag { ty, .. } => Some(*ty),
            Kind::Func { proto, .. } => Some(*proto),
            _ => None,
        }
    }

    /// CONST, VOLATILE, RESTRICT, TYPEDEF, TYPE_TAG (libbpf's
    /// `btf_is_mod` plus typedef).
    pub fn is_mod_or_typedef(&self) -> bool {
        matches!(
            self,
            Kind::Const { .. }
                | Kind::Volatile { .. }
                | Kind::Restrict { .. }
                | Kind::Typedef { .. }
                | Kind::TypeTag { .. }
        )
    }

    /// Modifiers in the kernel's sense: the above plus PTR.
    pub fn is_modifier_or_ptr(&self) -> bool {
        self.is_mod_or_typedef() || matches!(self, Kind::Ptr { .. })
    }
}

/// One BTF type: a name (string offset) and its kind.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Type {
    pub name_off: u32,
    pub kind: Kind,
}

/// A BTF object: types (id = index + 1) and their string section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Btf {
    pub types: Vec<Type>,
    pub strings: StringTable,
}

impl Btf {
    /// An empty BTF (only `void`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of types, not counting `void`.
    pub fn type_count(&self) -> u32 {
        self.types.len() as u32
    }

    /// The type with id `id`; `None` for 0 (void) and out-of-range ids.
    pub fn get(&self, id: TypeId) -> Option<&Type> {
        let idx = usize::try_from(id).ok()?.checked_sub(1)?;
        self.types.get(idx)
    }

    /// The kind of `id`, `None` for void or out of range.
    pub fn kind(&self, id: TypeId) -> Option<&Kind> {
        self.get(id).map(|t| &t.kind)
    }

    /// The string at `off`, or `""` if invalid.
    pub fn str_at(&self, off: u32) -> &str {
        self.strings.get(off).unwrap_or("")
    }

    /// The name of type `id` (`""` for void, anonymous or invalid).
    pub fn name(&self, id: TypeId) -> &str {
        self.get(id).map(|t| self.str_at(t.name_off)).unwrap_or("")
    }

    /// Iterates `(id, type)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (TypeId, &Type)> {
        self.types.iter().enumerate().map(|(i, t)| (i as u32 + 1, t))
    }
}
