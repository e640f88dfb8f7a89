//! Hash maps: `BPF_MAP_TYPE_HASH`, `PERCPU_HASH`, `LRU_HASH`,
//! `LRU_PERCPU_HASH` and `HASH_OF_MAPS` — kernel/bpf/hashtab.c, with
//! kernel/bpf/bpf_lru_list.c for the LRU order and kernel/bpf/map_in_map.c
//! for inner-map templates.
//!
//! Files:
//! - [`slab`]: fixed element memory with stable, 8-aligned addresses;
//! - [`hashfn`]: the seeded, host-independent bucket hash;
//! - [`table`]: buckets, update/delete/iteration, LRU order, spare
//!   elements — the shared engine, and what is and is not emulated;
//! - [`ops`]: the `MapOps` of the four value-holding types;
//! - [`plain`], [`percpu`], [`lru`], [`of_maps`]: one allocator per type.
//!
//! Creation checks ([`alloc_check`], the kernel's `htab_map_alloc_check()`
//! and `htab_map_alloc()`), in the kernel's order:
//! flags outside `BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU |
//! BPF_F_NUMA_NODE | BPF_F_ZERO_SEED` and the four access flags, or both
//! `BPF_F_RDONLY_PROG` and `BPF_F_WRONLY_PROG` → `EINVAL`
//! (`BPF_F_INNER_MAP` is an array-only flag: `EINVAL` here too);
//! `BPF_F_NO_COMMON_LRU` on a non-LRU type → `EINVAL`; LRU with
//! `BPF_F_NO_PREALLOC` → `ENOTSUPP`; a NUMA node with per-CPU values or
//! per-CPU LRU lists → `EINVAL`; zero max_entries, key_size or value_size
//! → `EINVAL`; `key_size + value_size` at least `KMALLOC_MAX_SIZE -
//! sizeof(struct htab_elem)` → `E2BIG`; per-CPU `round_up(value_size, 8)`
//! above `PCPU_MIN_UNIT_SIZE` → `E2BIG`; max_entries above 2^31 → `E2BIG`.
//!
//! `BPF_F_NO_PREALLOC` in the emulator: slot memory is created in chunks
//! as the map grows instead of all at creation; a value's address is
//! stable while its element lives, and after delete or replace the memory
//! stays valid (it is reused, first freed first, not released) — the
//! kernel frees it after an RCU grace period. Besides, a table whose
//! preallocation would exceed [`PREALLOC_LIMIT`] bytes fails with
//! `ENOMEM` (the host's stand-in for a failing `bpf_map_area_alloc`).
//!
//! Not emulated: `CAP_SYS_ADMIN` for `BPF_F_ZERO_SEED` (no capabilities),
//! BTF-described special fields, `BPF_F_LOCK`, batch ops, bpf_iter.

pub mod hashfn;
pub mod lru;
pub mod of_maps;
pub mod ops;
pub mod percpu;
pub mod plain;
pub mod slab;
pub mod table;

#[cfg(test)]
mod tests;

use crate::errno::Errno;
use crate::map::create::{MapCreateAttr, MapEnv};
use crate::uapi::{
    BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY,
    BPF_F_WRONLY_PROG, BPF_F_ZERO_SEED,
};
use table::{Htab, Kind};

/// `HTAB_CREATE_FLAG_MASK`.
pub const HTAB_CREATE_FLAG_MASK: u32 = BPF_F_NO_PREALLOC
    | BPF_F_NO_COMMON_LRU
    | BPF_F_NUMA_NODE
    | BPF_F_RDONLY
    | BPF_F_WRONLY
    | BPF_F_RDONLY_PROG
    | BPF_F_WRONLY_PROG
    | BPF_F_ZERO_SEED;

/// `KMALLOC_MAX_SIZE` on x86-64 (4 MiB).
pub const KMALLOC_MAX_SIZE: u64 = 4 << 20;
/// `sizeof(struct htab_elem)` on x86-64.
pub const HTAB_ELEM_SIZE: u64 = 48;
/// `PCPU_MIN_UNIT_SIZE` (32 KiB).
pub const PCPU_MIN_UNIT_SIZE: u64 = 32 << 10;
/// The emulator's limit on a table's preallocated memory (bytes).
pub const PREALLOC_LIMIT: u64 = 1 << 32;

/// `htab_map_alloc_check()` for a map of `kind`.
pub fn alloc_check(attr: &MapCreateAttr, kind: Kind) -> Result<(), Errno> {
    let flags = attr.map_flags;
    let percpu_lru = flags & BPF_F_NO_COMMON_LRU != 0;
    let prealloc = flags & BPF_F_NO_PREALLOC == 0;
    let numa = flags & BPF_F_NUMA_NODE != 0;
    let prog_rw = BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;
    if flags & !HTAB_CREATE_FLAG_MASK != 0 || flags & prog_rw == prog_rw {
        return Err(Errno::EINVAL);
    }
    if !kind.lru && percpu_lru {
        return Err(Errno::EINVAL);
    }
    if kind.lru && !prealloc {
        return Err(Errno::ENOTSUPP);
    }
    if numa && (kind.percpu || percpu_lru) {
        return Err(Errno::EINVAL);
    }
    if attr.max_entries == 0 || attr.key_size == 0 || attr.value_size == 0 {
        return Err(Errno::EINVAL);
    }
    if u64::from(attr.key_size) + u64::from(attr.value_size) >= KMALLOC_MAX_SIZE - HTAB_ELEM_SIZE {
        return Err(Errno::E2BIG);
    }
    if kind.percpu && u64::from(attr.value_size).next_multiple_of(8) > PCPU_MIN_UNIT_SIZE {
        return Err(Errno::E2BIG);
    }
    Ok(())
}

/// The checks, then the table (`htab_map_alloc()`).
pub(crate) fn new_table(attr: &MapCreateAttr, env: &MapEnv, kind: Kind) -> Result<Htab, Errno> {
    alloc_check(attr, kind)?;
    let nr_cpus = env.nr_cpus.max(1);
    let mut max_entries = u64::from(attr.max_entries);
    if attr.map_flags & BPF_F_NO_COMMON_LRU != 0 {
        // Every CPU's list gets the same number of elements.
        let cpus = u64::from(nr_cpus);
        max_entries = max_entries.next_multiple_of(cpus);
        if max_entries > u64::from(u32::MAX) {
            max_entries = u64::from(attr.max_entries) / cpus * cpus;
        }
    }
    if max_entries > 1 << 31 {
        return Err(Errno::E2BIG);
    }
    let max_entries = max_entries as u32;
    let prealloc = attr.map_flags & BPF_F_NO_PREALLOC == 0;
    if prealloc {
        let stride = u64::from(attr.value_size).next_multiple_of(8);
        let slot = if kind.percpu { stride * u64::from(nr_cpus) } else { stride };
        let bytes = (u64::from(max_entries) + u64::from(nr_cpus)) * slot;
        if bytes > PREALLOC_LIMIT {
            return Err(Errno::ENOMEM);
        }
    }
    let kind = Kind { percpu_lru: kind.lru && attr.map_flags & BPF_F_NO_COMMON_LRU != 0, ..kind };
    let seed = hashfn::seed_for(attr, attr.map_flags & BPF_F_ZERO_SEED != 0);
    Ok(Htab::new(attr.key_size, attr.value_size, max_entries, nr_cpus, kind, prealloc, seed))
}
