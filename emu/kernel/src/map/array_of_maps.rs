//! `BPF_MAP_TYPE_ARRAY_OF_MAPS` (kernel/bpf/arraymap.c,
//! `array_of_maps_map_ops`, with the template rules of
//! kernel/bpf/map_in_map.c).
//!
//! Creation takes an inner map (the syscall layer resolves
//! `inner_map_fd`) and keeps its definition as the template every stored
//! map must match (`bpf_map_meta_alloc()`): the inner map must not itself be
//! a map-in-map (`EINVAL`) and its type must have `map_meta_equal`
//! (`ENOTSUPP` otherwise: prog_array, map-in-map types, ...).
//!
//! Slots hold inner maps as `Arc<Map>` — a `refcnt`, not a user reference,
//! as `bpf_map_fd_get_ptr()` takes. A stored map must pass the template's
//! type's `map_meta_equal` (`EINVAL` otherwise); since every
//! `map_meta_equal` first requires the same map type, asking the candidate
//! map's own ops is the same as asking the template's. The syscall side reads
//! back inner map ids; a program's `bpf_map_lookup_elem` gets the inner map
//! pointer itself ([`Map::addr`], as `array_of_map_lookup_elem()` returns
//! the pointer stored in the slot, not the slot's address), or NULL.
//!
//! Lifetime: replacing or deleting a slot drops the outer map's reference at
//! once. The kernel waits for running programs first
//! (`maybe_wait_bpf_programs()`); in simulation mode no program runs during a
//! syscall, and in concurrent mode the syscall layer must do that wait.
//! Not emulated: `map_gen_lookup`, BTF records of the template, batch ops.

use super::create::{MapCreateAttr, MapEnv};
use super::fd_array::{FdArray, fd_array_alloc_check};
use super::{Map, MapDef, MapOps};
use crate::bpf::objects::Obj;
use crate::errno::Errno;
use crate::uapi::MapType;
use std::sync::Arc;

/// An array of maps.
#[derive(Debug)]
pub struct ArrayOfMaps {
    /// The inner map template (`map->inner_map_meta`).
    template: MapDef,
    slots: FdArray<Map>,
}

/// `bpf_map_meta_alloc()`'s checks on the template map.
pub fn check_template(inner: Option<&Map>) -> Result<MapDef, Errno> {
    let inner = inner.ok_or(Errno::EINVAL)?;
    if inner.inner_meta.is_some() {
        return Err(Errno::EINVAL);
    }
    if inner.ops.meta_equal(&inner.def, &inner.def).is_none() {
        return Err(Errno::ENOTSUPP);
    }
    Ok(inner.def.clone())
}

/// `AllocFn` for `BPF_MAP_TYPE_ARRAY_OF_MAPS`.
pub fn alloc(attr: &MapCreateAttr, _env: &MapEnv, inner: Option<&Map>) -> Result<Box<dyn MapOps>, Errno> {
    fd_array_alloc_check(attr, MapType::ArrayOfMaps)?;
    let template = check_template(inner)?;
    Ok(Box::new(ArrayOfMaps { template, slots: FdArray::alloc(attr.max_entries)? }))
}

impl ArrayOfMaps {
    /// The inner map template.
    pub fn template(&self) -> &MapDef {
        &self.template
    }
}

impl MapOps for ArrayOfMaps {
    /// The inner map's address (what the verifier types as
    /// `CONST_PTR_TO_MAP`), or `None` for an empty slot / bad index.
    fn lookup(&self, key: &[u8]) -> Option<u64> {
        self.inner_map(key).map(|m| m.addr())
    }

    /// `bpf_fd_array_map_lookup_elem()` with `bpf_map_fd_sys_lookup_elem()`:
    /// the inner map's id.
    fn sys_lookup(&self, key: &[u8], out: &mut [u8], flags: u64) -> Result<(), Errno> {
        self.slots.sys_lookup(key, out, flags, |m| m.id)
    }

    /// Programs cannot update a map-in-map (the verifier refuses).
    fn update(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    /// A raw value (an fd number) must go through [`MapOps::fd_update`].
    fn sys_update(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    /// `fd_array_map_delete_elem()`: `E2BIG` out of range, `ENOENT` empty.
    fn delete(&self, key: &[u8]) -> Result<(), Errno> {
        self.slots.delete(key)
    }

    fn get_next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<(), Errno> {
        self.slots.get_next_key(key, next)
    }

    fn is_fd_map(&self) -> bool {
        true
    }

    /// `bpf_fd_array_map_update_elem()` with `bpf_map_fd_get_ptr()`: flags
    /// `BPF_ANY` only, index in range, a map matching the template.
    fn fd_update(&self, key: &[u8], obj: &Obj, flags: u64) -> Result<(), Errno> {
        let i = self.slots.update_index(key, flags)?;
        let inner = obj.map()?;
        if inner.ops.meta_equal(&self.template, &inner.def) != Some(true) {
            return Err(Errno::EINVAL);
        }
        self.slots.store(i, inner.clone());
        Ok(())
    }

    fn inner_map(&self, key: &[u8]) -> Option<Arc<Map>> {
        self.slots.get_key(key)
    }

    /// Map-in-map types have no `map_meta_equal`: no nesting.
    fn meta_equal(&self, _meta: &MapDef, _inner: &MapDef) -> Option<bool> {
        None
    }

    /// `bpf_for_each_map_elem` does not support map-in-map types.
    fn for_each(&self, _f: &mut dyn FnMut(&[u8], u64) -> bool) -> u32 {
        0
    }

    fn btf_name(&self) -> &'static str {
        "bpf_array"
    }

    fn mem_usage(&self) -> u64 {
        self.slots.mem_usage()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::objects::MapUref;
    use crate::map::array::tests::{ENV, attr, k};
    use crate::map::create::create;
    use crate::testutil::test_prog;
    use crate::uapi::{self, ProgType};

    fn mk(t: MapType, vs: u32, max: u32, flags: u32, id: u32) -> Arc<Map> {
        Arc::new(create(&attr(t, vs, max, flags), id, &ENV, None).unwrap())
    }

    fn outer(template: &Map, max: u32) -> Result<Map, Errno> {
        create(&attr(MapType::ArrayOfMaps, 4, max, 0), 100, &ENV, Some(template))
    }

    fn fd(m: &Arc<Map>) -> Obj {
        Obj::Map(MapUref::new(m.clone()))
    }

    #[test]
    fn create_checks() {
        let t = mk(MapType::Array, 8, 4, 0, 1);
        let e = |a: &MapCreateAttr, inner: Option<&Map>| create(a, 1, &ENV, inner).map(|_| ()).unwrap_err();
        assert_eq!(e(&attr(MapType::ArrayOfMaps, 4, 2, 0), None), Errno::EINVAL);
        assert_eq!(e(&attr(MapType::ArrayOfMaps, 8, 2, 0), Some(&t)), Errno::EINVAL);
        assert_eq!(e(&attr(MapType::ArrayOfMaps, 4, 0, 0), Some(&t)), Errno::EINVAL);
        assert_eq!(e(&attr(MapType::ArrayOfMaps, 4, 2, uapi::BPF_F_MMAPABLE), Some(&t)), Errno::EINVAL);
        assert_eq!(e(&attr(MapType::ArrayOfMaps, 4, 2, uapi::BPF_F_RDONLY_PROG), Some(&t)), Errno::EINVAL);
        // Types without map_meta_equal cannot be inner maps.
        let pa = mk(MapType::ProgArray, 4, 4, 0, 2);
        assert_eq!(outer(&pa, 2).unwrap_err(), Errno::ENOTSUPP);
        // No nesting: an outer map cannot be a template.
        let o = outer(&t, 2).unwrap();
        assert_eq!(o.inner_meta.as_ref(), Some(&t.def));
        assert_eq!(outer(&o, 2).unwrap_err(), Errno::EINVAL);
        assert!(o.ops.is_fd_map());
        assert_eq!(o.ops.meta_equal(&o.def, &o.def), None);
        // Percpu arrays can be inner maps.
        outer(&mk(MapType::PercpuArray, 8, 4, 0, 3), 1).unwrap();
    }

    #[test]
    fn template_rules_on_update() {
        let t = mk(MapType::Array, 8, 4, 0, 1);
        let o = outer(&t, 3).unwrap();
        let same = mk(MapType::Array, 8, 4, 0, 2);
        o.ops.fd_update(&k(0), &fd(&same), 0).unwrap();
        // Array templates keep the max_entries check (seed 003).
        assert_eq!(o.ops.fd_update(&k(1), &fd(&mk(MapType::Array, 8, 8, 0, 3)), 0), Err(Errno::EINVAL));
        assert_eq!(o.ops.fd_update(&k(1), &fd(&mk(MapType::Array, 16, 4, 0, 4)), 0), Err(Errno::EINVAL));
        assert_eq!(
            o.ops.fd_update(&k(1), &fd(&mk(MapType::Array, 8, 4, uapi::BPF_F_RDONLY, 5)), 0),
            Err(Errno::EINVAL)
        );
        assert_eq!(o.ops.fd_update(&k(1), &fd(&mk(MapType::PercpuArray, 8, 4, 0, 6)), 0), Err(Errno::EINVAL));
        assert_eq!(o.ops.fd_update(&k(1), &fd(&mk(MapType::ProgArray, 4, 4, 0, 7)), 0), Err(Errno::EINVAL));
        assert_eq!(
            o.ops.fd_update(&k(1), &Obj::Prog(test_prog(1, ProgType::Xdp, Vec::new())), 0),
            Err(Errno::EINVAL)
        );
        assert_eq!(o.ops.fd_update(&k(1), &fd(&same), uapi::BPF_NOEXIST), Err(Errno::EINVAL));
        assert_eq!(o.ops.fd_update(&k(3), &fd(&same), 0), Err(Errno::E2BIG));

        // With BPF_F_INNER_MAP on the template, max_entries may differ.
        let tf = mk(MapType::Array, 8, 4, uapi::BPF_F_INNER_MAP, 10);
        let of = outer(&tf, 2).unwrap();
        of.ops.fd_update(&k(0), &fd(&mk(MapType::Array, 8, 100, uapi::BPF_F_INNER_MAP, 11)), 0).unwrap();
        // Per-CPU arrays never check max_entries.
        let tp = mk(MapType::PercpuArray, 8, 4, 0, 12);
        let op = outer(&tp, 2).unwrap();
        op.ops.fd_update(&k(0), &fd(&mk(MapType::PercpuArray, 8, 64, 0, 13)), 0).unwrap();
    }

    #[test]
    fn lookup_gives_inner_pointer_and_ids() {
        let t = mk(MapType::Array, 8, 4, 0, 1);
        let o = outer(&t, 2).unwrap();
        let a = mk(MapType::Array, 8, 4, 0, 55);
        let mut out = [0u8; 4];
        assert_eq!(o.ops.lookup(&k(1)), None);
        assert_eq!(o.ops.sys_lookup(&k(1), &mut out, 0), Err(Errno::ENOENT));
        {
            let f = fd(&a);
            o.ops.fd_update(&k(1), &f, 0).unwrap();
        }
        // The outer map holds a refcnt, not a user reference.
        assert_eq!(a.usercnt(), 0);
        assert_eq!(Arc::strong_count(&a), 2);
        assert_eq!(o.ops.lookup(&k(1)), Some(a.addr()));
        assert!(Arc::ptr_eq(&o.ops.inner_map(&k(1)).unwrap(), &a));
        o.ops.sys_lookup(&k(1), &mut out, 0).unwrap();
        assert_eq!(u32::from_ne_bytes(out), 55);
        assert_eq!(o.ops.sys_lookup(&k(2), &mut out, 0), Err(Errno::ENOENT));
        assert_eq!(o.ops.update(&k(1), &[0; 4], 0), Err(Errno::EINVAL));
        assert_eq!(o.ops.sys_update(&k(1), &[0; 4], 0), Err(Errno::EINVAL));
        let mut nk = [0u8; 4];
        o.ops.get_next_key(Some(&k(0)), &mut nk).unwrap();
        assert_eq!(nk, k(1));
        assert_eq!(o.ops.delete(&k(2)), Err(Errno::E2BIG));
        assert_eq!(o.ops.delete(&k(0)), Err(Errno::ENOENT));
        o.ops.delete(&k(1)).unwrap();
        assert_eq!(Arc::strong_count(&a), 1);
        assert_eq!(o.ops.lookup(&k(1)), None);
    }
}
