//! BTF-defined maps (`SEC(".maps")`): each variable of the `.maps` DATASEC
//! is a struct whose members describe the map, as libbpf's
//! `parse_btf_map_def()` reads them (`src/libbpf.c`):
//!
//! - `__uint(name, N)` = `int (*name)[N]`: `type`, `max_entries`,
//!   `map_flags`, `numa_node`, `key_size`, `value_size`, `pinning`,
//!   `map_extra`;
//! - `__type(key, T)` / `__type(value, T)` = `T *key`: the size and BTF id
//!   of the key or value (a size given twice must agree);
//! - `__array(values, ...)` = a zero-length array of pointers: for a
//!   prog_array, pointers to functions; for a map-in-map, pointers to an
//!   inner map definition (parsed the same way). Its slots are set by
//!   `.rel.maps` records.
//!
//! An unknown member is an error for outer and inner definitions alike
//! (libbpf is strict there too). `pinning` must be `LIBBPF_PIN_NONE` or
//! `LIBBPF_PIN_BY_NAME`.

use crate::error::{Error, Result};
use crate::map::{LIBBPF_PIN_BY_NAME, LIBBPF_PIN_NONE, MapDef};
use bpfemu_btf::{Btf, Kind, TypeId};

/// `BPF_MAP_TYPE_PROG_ARRAY`, `ARRAY_OF_MAPS`, `HASH_OF_MAPS`.
pub const MAP_PROG_ARRAY: u32 = 3;
pub const MAP_ARRAY_OF_MAPS: u32 = 12;
pub const MAP_HASH_OF_MAPS: u32 = 13;

/// Map-in-map types.
pub fn is_map_in_map(t: u32) -> bool {
    t == MAP_ARRAY_OF_MAPS || t == MAP_HASH_OF_MAPS
}

/// A parsed definition.
#[derive(Clone, Debug, Default)]
pub struct ParsedDef {
    pub def: MapDef,
    /// The inner map definition of a map-in-map with `__array(values, ...)`.
    pub inner: Option<Box<ParsedDef>>,
    /// Byte offset of the `values` member inside the variable.
    pub values_off: Option<u32>,
}

fn err(map: &str, msg: String) -> Error {
    Error::Map { map: map.to_owned(), msg }
}

fn kind_name(btf: &Btf, id: TypeId) -> &'static str {
    btf.kind(id).map(|k| k.tag().name()).unwrap_or(if id == 0 { "VOID" } else { "UNKN" })
}

/// `get_map_field_int()`: `int (*name)[N]` → N.
fn field_int(btf: &Btf, map: &str, name: &str, ty: TypeId) -> Result<u32> {
    let t = btf.skip_mods_and_typedefs(ty);
    let Some(Kind::Ptr { ty: arr }) = btf.kind(t) else {
        return Err(err(map, format!("attr '{name}': expected PTR, got {}", kind_name(btf, t))));
    };
    match btf.kind(*arr) {
        Some(Kind::Array { nelems, .. }) => Ok(*nelems),
        _ => Err(err(map, format!("attr '{name}': expected ARRAY, got {}", kind_name(btf, *arr)))),
    }
}

/// `__type(name, T)`: T's id and size.
fn field_type(btf: &Btf, map: &str, name: &str, ty: TypeId) -> Result<(TypeId, u32)> {
    let t = btf.skip_mods_and_typedefs(ty);
    let Some(Kind::Ptr { ty: target }) = btf.kind(t) else {
        return Err(err(map, format!("{name} spec is not PTR: {}", kind_name(btf, t))));
    };
    let size = btf
        .resolve_size(*target)
        .map_err(|e| err(map, format!("can't determine {name} size for type [{target}]: {e}")))?;
    Ok((*target, size))
}

/// Parses the definition struct `def_ty` of map `map`.
pub fn parse_def(btf: &Btf, map: &str, def_ty: TypeId, is_inner: bool, depth: u32) -> Result<ParsedDef> {
    let t = btf.skip_mods_and_typedefs(def_ty);
    let Some(Kind::Struct(c)) = btf.kind(t) else {
        return Err(err(map, format!("unexpected def kind {}", kind_name(btf, t))));
    };
    let mut out = ParsedDef::default();
    let mut values: Option<(TypeId, u32)> = None;
    for m in &c.members {
        let name = btf.str_at(m.name_off);
        let d = &mut out.def;
        match name {
            "type" => d.map_type = field_int(btf, map, name, m.ty)?,
            "max_entries" => d.max_entries = field_int(btf, map, name, m.ty)?,
            "map_flags" => d.map_flags = field_int(btf, map, name, m.ty)?,
            "numa_node" => d.numa_node = field_int(btf, map, name, m.ty)?,
            "map_extra" => d.map_extra = u64::from(field_int(btf, map, name, m.ty)?),
            "key_size" | "value_size" => {
                let sz = field_int(btf, map, name, m.ty)?;
                let slot = if name == "key_size" { &mut d.key_size } else { &mut d.value_size };
                if *slot != 0 && *slot != sz {
                    return Err(err(map, format!("conflicting {name} {} != {sz}", *slot)));
                }
                *slot = sz;
            }
            "key" | "value" => {
                let (id, sz) = field_type(btf, map, name, m.ty)?;
                let (slot, tid) = if name == "key" {
                    (&mut d.key_size, &mut d.btf_key_type_id)
                } else {
                    (&mut d.value_size, &mut d.btf_value_type_id)
                };
                if *slot != 0 && *slot != sz {
                    return Err(err(map, format!("conflicting {name} size {} != {sz}", *slot)));
                }
                *slot = sz;
                *tid = id;
            }
            "values" => values = Some((m.ty, m.bit_offset / 8)),
            "pinning" => {
                if is_inner {
                    return Err(err(map, "inner def can't be pinned".into()));
                }
                let v = field_int(btf, map, name, m.ty)?;
                if v != LIBBPF_PIN_NONE && v != LIBBPF_PIN_BY_NAME {
                    return Err(err(map, format!("invalid pinning value {v}")));
                }
                d.pinning = v;
            }
            _ => return Err(err(map, format!("unknown field '{name}'"))),
        }
    }
    if let Some((ty, off)) = values {
        let mt = out.def.map_type;
        let is_mim = is_map_in_map(mt);
        if !is_mim && mt != MAP_PROG_ARRAY {
            return Err(err(map, "should be map-in-map or prog-array to have 'values'".into()));
        }
        if is_inner || depth > 0 {
            return Err(err(map, "multi-level inner maps not supported".into()));
        }
        let at = btf.skip_mods_and_typedefs(ty);
        let Some(Kind::Array { elem, nelems, .. }) = btf.kind(at) else {
            return Err(err(map, format!("values spec is not a zero-sized array: {}", kind_name(btf, at))));
        };
        if *nelems != 0 {
            return Err(err(map, "values spec is not a zero-sized array".into()));
        }
        let pt = btf.skip_mods_and_typedefs(*elem);
        let Some(Kind::Ptr { ty: target }) = btf.kind(pt) else {
            return Err(err(map, format!("values spec is not an array of pointers: {}", kind_name(btf, pt))));
        };
        let target = btf.skip_mods_and_typedefs(*target);
        if is_mim {
            if !matches!(btf.kind(target), Some(Kind::Struct(_))) {
                return Err(err(map, "map-in-map inner def is not a struct".into()));
            }
            let inner = parse_def(btf, &format!("{map}.inner"), target, true, depth + 1)?;
            out.inner = Some(Box::new(inner));
        } else if !matches!(btf.kind(target), Some(Kind::FuncProto { .. })) {
            return Err(err(map, "prog-array value def is not a function prototype".into()));
        }
        // Slots hold fds; libbpf sets the sizes itself.
        if out.def.value_size != 0 && out.def.value_size != 4 {
            return Err(err(map, format!("conflicting value size {} != 4", out.def.value_size)));
        }
        out.def.value_size = 4;
        out.def.btf_value_type_id = 0;
        out.values_off = Some(off);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfemu_btf::{IntEncoding, MemberDef};

    fn uint_field(b: &mut Btf, int: TypeId, n: u32) -> TypeId {
        let idx = b.add_int("__ARRAY_SIZE_TYPE__", 4, IntEncoding::Unsigned);
        let arr = b.add_array(int, idx, n);
        b.add_ptr(arr)
    }

    #[test]
    fn hash_map_definition() {
        let mut b = Btf::new();
        let int = b.add_int("int", 4, IntEncoding::Signed);
        let u64t = b.add_int("unsigned long long", 8, IntEncoding::Unsigned);
        let ty = uint_field(&mut b, int, 1);
        let me = uint_field(&mut b, int, 128);
        let kp = b.add_ptr(int);
        let vp = b.add_ptr(u64t);
        let s = b.add_struct(
            "",
            32,
            &[
                MemberDef::new("type", ty, 0),
                MemberDef::new("max_entries", me, 64),
                MemberDef::new("key", kp, 128),
                MemberDef::new("value", vp, 192),
            ],
        );
        let d = parse_def(&b, "m", s, false, 0).unwrap();
        assert_eq!(d.def.map_type, 1);
        assert_eq!(d.def.max_entries, 128);
        assert_eq!((d.def.key_size, d.def.value_size), (4, 8));
        assert_eq!((d.def.btf_key_type_id, d.def.btf_value_type_id), (int, u64t));
    }

    #[test]
    fn unknown_field_and_bad_shapes_are_errors() {
        let mut b = Btf::new();
        let int = b.add_int("int", 4, IntEncoding::Signed);
        let s = b.add_struct("", 4, &[MemberDef::new("bogus", int, 0)]);
        let e = parse_def(&b, "m", s, false, 0).unwrap_err().to_string();
        assert!(e.contains("unknown field 'bogus'"), "{e}");
        let s2 = b.add_struct("", 4, &[MemberDef::new("type", int, 0)]);
        let e = parse_def(&b, "m", s2, false, 0).unwrap_err().to_string();
        assert!(e.contains("expected PTR"), "{e}");
        assert!(parse_def(&b, "m", int, false, 0).is_err());
    }
}
