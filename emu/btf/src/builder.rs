//! Building BTF by hand, like libbpf's `btf__add_*`: each `add_*` interns
//! the names and returns the new type's id. Nothing is checked here; run
//! [`Btf::validate`] on the result.

use crate::model::*;

/// A member to add with [`Btf::add_struct`] / [`Btf::add_union`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberDef<'a> {
    pub name: &'a str,
    pub ty: TypeId,
    pub bit_offset: u32,
    /// 0 for a normal member.
    pub bitfield_size: u8,
}

impl<'a> MemberDef<'a> {
    /// A plain member at `bit_offset`.
    pub fn new(name: &'a str, ty: TypeId, bit_offset: u32) -> Self {
        MemberDef { name, ty, bit_offset, bitfield_size: 0 }
    }

    /// A bitfield of `bits` bits at `bit_offset`.
    pub fn bitfield(name: &'a str, ty: TypeId, bit_offset: u32, bits: u8) -> Self {
        MemberDef { name, ty, bit_offset, bitfield_size: bits }
    }
}

impl Btf {
    /// Appends a raw type, returning its id.
    pub fn push(&mut self, ty: Type) -> TypeId {
        self.types.push(ty);
        self.types.len() as TypeId
    }

    fn push_named(&mut self, name: &str, kind: Kind) -> TypeId {
        let name_off = self.strings.intern(name);
        self.push(Type { name_off, kind })
    }

    /// INT of `size` bytes using all its bits.
    pub fn add_int(&mut self, name: &str, size: u32, encoding: IntEncoding) -> TypeId {
        let bits = size.saturating_mul(8).min(255) as u8;
        self.push_named(name, Kind::Int { size, encoding, offset: 0, bits })
    }

    pub fn add_float(&mut self, name: &str, size: u32) -> TypeId {
        self.push_named(name, Kind::Float { size })
    }

    pub fn add_ptr(&mut self, ty: TypeId) -> TypeId {
        self.push_named("", Kind::Ptr { ty })
    }

    pub fn add_const(&mut self, ty: TypeId) -> TypeId {
        self.push_named("", Kind::Const { ty })
    }

    pub fn add_volatile(&mut self, ty: TypeId) -> TypeId {
        self.push_named("", Kind::Volatile { ty })
    }

    pub fn add_restrict(&mut self, ty: TypeId) -> TypeId {
        self.push_named("", Kind::Restrict { ty })
    }

    pub fn add_typedef(&mut self, name: &str, ty: TypeId) -> TypeId {
        self.push_named(name, Kind::Typedef { ty })
    }

    pub fn add_type_tag(&mut self, value: &str, ty: TypeId) -> TypeId {
        self.push_named(value, Kind::TypeTag { ty, attr: false })
    }

    pub fn add_decl_tag(&mut self, value: &str, ty: TypeId, component_idx: i32) -> TypeId {
        self.push_named(value, Kind::DeclTag { ty, component_idx, attr: false })
    }

    pub fn add_array(&mut self, elem: TypeId, index: TypeId, nelems: u32) -> TypeId {
        self.push_named("", Kind::Array { elem, index, nelems })
    }

    fn composite(&mut self, size: u32, members: &[MemberDef<'_>]) -> Composite {
        let kflag = members.iter().any(|m| m.bitfield_size != 0);
        let members = members
            .iter()
            .map(|m| Member {
                name_off: self.strings.intern(m.name),
                ty: m.ty,
                bit_offset: m.bit_offset,
                bitfield_size: m.bitfield_size,
            })
            .collect();
        Composite { size, kflag, members }
    }

    /// STRUCT; kind_flag is set iff some member is a bitfield.
    pub fn add_struct(&mut self, name: &str, size: u32, members: &[MemberDef<'_>]) -> TypeId {
        let name_off = self.strings.intern(name);
        let c = self.composite(size, members);
        self.push(Type { name_off, kind: Kind::Struct(c) })
    }

    pub fn add_union(&mut self, name: &str, size: u32, members: &[MemberDef<'_>]) -> TypeId {
        let name_off = self.strings.intern(name);
        let c = self.composite(size, members);
        self.push(Type { name_off, kind: Kind::Union(c) })
    }

    pub fn add_enum(&mut self, name: &str, size: u32, signed: bool, values: &[(&str, i32)]) -> TypeId {
        let name_off = self.strings.intern(name);
        let values =
            values.iter().map(|(n, v)| EnumValue { name_off: self.strings.intern(n), val: *v }).collect();
        self.push(Type { name_off, kind: Kind::Enum { size, signed, values } })
    }

    pub fn add_enum64(&mut self, name: &str, size: u32, signed: bool, values: &[(&str, u64)]) -> TypeId {
        let name_off = self.strings.intern(name);
        let values =
            values.iter().map(|(n, v)| Enum64Value { name_off: self.strings.intern(n), val: *v }).collect();
        self.push(Type { name_off, kind: Kind::Enum64 { size, signed, values } })
    }

    pub fn add_fwd(&mut self, name: &str, is_union: bool) -> TypeId {
        self.push_named(name, Kind::Fwd { is_union })
    }

    pub fn add_func(&mut self, name: &str, proto: TypeId, linkage: FuncLinkage) -> TypeId {
        self.push_named(name, Kind::Func { proto, linkage })
    }

    /// FUNC_PROTO; `variadic` appends the `...` marker parameter.
    pub fn add_func_proto(&mut self, ret: TypeId, params: &[(&str, TypeId)], variadic: bool) -> TypeId {
        let mut ps: Vec<Param> =
            params.iter().map(|(n, t)| Param { name_off: self.strings.intern(n), ty: *t }).collect();
        if variadic {
            ps.push(Param { name_off: 0, ty: 0 });
        }
        self.push_named("", Kind::FuncProto { ret, params: ps })
    }

    pub fn add_var(&mut self, name: &str, ty: TypeId, linkage: VarLinkage) -> TypeId {
        self.push_named(name, Kind::Var { ty, linkage })
    }

    pub fn add_datasec(&mut self, name: &str, size: u32, vars: &[VarSecinfo]) -> TypeId {
        self.push_named(name, Kind::Datasec { size, vars: vars.to_vec() })
    }
}
