//! `BPF_MAP_TYPE_HASH_OF_MAPS` (kernel/bpf/hashtab.c `htab_of_maps_map_ops`,
//! kernel/bpf/map_in_map.c).
//!
//! Creation needs an inner-map template (`inner_map_fd`, resolved by the
//! syscall layer): absent → `EINVAL`; a map-in-map template → `EINVAL`
//! (one level only); a type without `map_meta_equal` → `ENOTSUPP`, as
//! `bpf_map_meta_alloc()` returns. `value_size` must be 4 (an fd).
//!
//! The syscall side stores maps ([`MapOps::fd_update`], checked against the
//! template with the inner type's `map_meta_equal`: a mismatch is
//! `EINVAL`) and reads back inner map ids (u32). The program side's lookup
//! returns the inner map's address ([`Map::addr`]). Elements hold the inner
//! map by `refcnt` (an `Arc`), not `usercnt`. Replacing an inner map is in
//! place, as the kernel does for fd hash maps.
//!
//! Emulator's RCU: an inner map removed from the table (delete, replace)
//! is not dropped at once — a running program may still use it — but kept
//! on a retired list until [`HashOfMaps::reclaim`] is called at a point
//! where no program can hold it, or until the outer map is freed.

use super::table::{Htab, Kind, Src, check_update_flags};
use crate::bpf::objects::Obj;
use crate::errno::Errno;
use crate::map::create::{MapCreateAttr, MapEnv};
use crate::map::{Map, MapDef, MapOps, for_each_elem};
use std::sync::Arc;

/// A hash of maps.
#[derive(Debug)]
pub struct HashOfMaps {
    t: Htab,
    /// The template's definition (`inner_map_meta`).
    template: MapDef,
}

impl HashOfMaps {
    /// Drops the inner maps removed since the last call (see the module
    /// doc); returns how many were released.
    pub fn reclaim(&self) -> usize {
        self.t.reclaim()
    }
}

/// Allocator of `BPF_MAP_TYPE_HASH_OF_MAPS`.
pub fn alloc(attr: &MapCreateAttr, env: &MapEnv, inner: Option<&Map>) -> Result<Box<dyn MapOps>, Errno> {
    Ok(Box::new(new(attr, env, inner)?))
}

/// The checks and the map, unboxed.
pub fn new(attr: &MapCreateAttr, env: &MapEnv, inner: Option<&Map>) -> Result<HashOfMaps, Errno> {
    if attr.value_size != 4 {
        return Err(Errno::EINVAL);
    }
    let kind = Kind::HASH_OF_MAPS;
    super::alloc_check(attr, kind)?;
    let inner = inner.ok_or(Errno::EINVAL)?;
    if inner.inner_meta.is_some() {
        return Err(Errno::EINVAL);
    }
    if inner.ops.meta_equal(&inner.def, &inner.def).is_none() {
        return Err(Errno::ENOTSUPP);
    }
    Ok(HashOfMaps { t: super::new_table(attr, env, kind)?, template: inner.def.clone() })
}

impl MapOps for HashOfMaps {
    fn lookup(&self, key: &[u8]) -> Option<u64> {
        self.t.lookup(key).and_then(|(_, m)| m).map(|m| m.addr())
    }

    /// Copies the inner map's id.
    fn sys_lookup(&self, key: &[u8], out: &mut [u8], flags: u64) -> Result<(), Errno> {
        self.t.sys_lookup(key, out, flags)
    }

    /// Programs cannot update a map-in-map (the verifier refuses it).
    fn update(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    fn sys_update(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    fn delete(&self, key: &[u8]) -> Result<(), Errno> {
        self.t.delete(key, None)
    }

    fn get_next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<(), Errno> {
        self.t.get_next_key(key, next)
    }

    fn is_fd_map(&self) -> bool {
        true
    }

    fn fd_update(&self, key: &[u8], obj: &Obj, flags: u64) -> Result<(), Errno> {
        if key.len() != self.t.key_size {
            return Err(Errno::EINVAL);
        }
        check_update_flags(flags)?;
        let m = obj.map()?;
        if m.def.map_type != self.template.map_type || m.ops.meta_equal(&self.template, &m.def) != Some(true)
        {
            return Err(Errno::EINVAL);
        }
        let id = m.id.to_ne_bytes();
        self.t.update(key, Src::Sys(&id), flags, Some(Arc::clone(m)))
    }

    fn inner_map(&self, key: &[u8]) -> Option<Arc<Map>> {
        self.t.inner_map(key)
    }

    fn meta_equal(&self, _meta: &MapDef, _inner: &MapDef) -> Option<bool> {
        None
    }

    fn for_each(&self, f: &mut dyn FnMut(&[u8], u64) -> bool) -> u32 {
        for_each_elem(self.t.snapshot(), f)
    }

    fn btf_name(&self) -> &'static str {
        "bpf_htab"
    }

    fn mem_usage(&self) -> u64 {
        self.t.mem_usage()
    }
}
