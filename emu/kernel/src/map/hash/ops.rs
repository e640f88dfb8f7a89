//! The [`MapOps`] of the value-holding hash maps (`htab_map_ops`,
//! `htab_percpu_map_ops`, `htab_lru_map_ops`, `htab_lru_percpu_map_ops` in
//! kernel/bpf/hashtab.c): one implementation over [`Htab`], the kind
//! deciding per-CPU values and LRU eviction.

use super::table::{Htab, Src, check_lookup_flags};
use crate::errno::Errno;
use crate::map::{MapDef, MapOps, for_each_elem, meta_equal_common};

/// A hash, per-CPU hash, LRU hash or LRU per-CPU hash map.
#[derive(Debug)]
pub struct HtabMap {
    pub(crate) t: Htab,
}

impl HtabMap {
    /// The table (tests, diagnostics).
    pub fn table(&self) -> &Htab {
        &self.t
    }
}

impl MapOps for HtabMap {
    fn lookup(&self, key: &[u8]) -> Option<u64> {
        self.t.lookup(key).map(|(addr, _)| addr)
    }

    fn sys_lookup(&self, key: &[u8], out: &mut [u8], flags: u64) -> Result<(), Errno> {
        self.t.sys_lookup(key, out, flags)
    }

    fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), Errno> {
        self.t.update(key, Src::Prog(value), flags, None)
    }

    fn sys_update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), Errno> {
        self.t.update(key, Src::Sys(value), flags, None)
    }

    fn delete(&self, key: &[u8]) -> Result<(), Errno> {
        self.t.delete(key, None)
    }

    fn get_next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<(), Errno> {
        self.t.get_next_key(key, next)
    }

    fn lookup_and_delete(&self, key: &[u8], out: &mut [u8], flags: u64) -> Result<(), Errno> {
        check_lookup_flags(flags)?;
        self.t.delete(key, Some(out))
    }

    fn is_percpu(&self) -> bool {
        self.t.kind.percpu
    }

    /// `map_meta_equal` of the hash types: the common fields, any
    /// max_entries (the verifier does not depend on it for hash maps).
    fn meta_equal(&self, meta: &MapDef, inner: &MapDef) -> Option<bool> {
        Some(meta_equal_common(meta, inner))
    }

    /// Calls `f` on a snapshot of the elements taken at the start, so `f`
    /// may update or delete elements of this map (the kernel walks under
    /// RCU; elements deleted meanwhile are still visited here).
    fn for_each(&self, f: &mut dyn FnMut(&[u8], u64) -> bool) -> u32 {
        for_each_elem(self.t.snapshot(), f)
    }

    fn btf_name(&self) -> &'static str {
        "bpf_htab"
    }

    fn mem_usage(&self) -> u64 {
        self.t.mem_usage()
    }

    fn value_regions(&self) -> Vec<(u64, u64, bool)> {
        self.t.value_regions()
    }
}
