//! `BPF_MAP_TYPE_LRU_HASH` and `BPF_MAP_TYPE_LRU_PERCPU_HASH`
//! (kernel/bpf/hashtab.c with kernel/bpf/bpf_lru_list.c): a full map evicts
//! the least recently used element instead of failing with `E2BIG`;
//! program-side lookups mark an element used, syscall lookups do not.
//!
//! Always preallocated (`BPF_F_NO_PREALLOC` is `ENOTSUPP`).
//! `BPF_F_NO_COMMON_LRU` gives each CPU its own list of
//! `max_entries / nr_cpus` elements, the capacity first rounded to a
//! multiple of the number of CPUs as in the kernel (`MapDef::max_entries`
//! keeps the requested value). See [`super::table`] for how the LRU order
//! is simplified.

use super::ops::HtabMap;
use super::table::Kind;
use crate::errno::Errno;
use crate::map::create::{MapCreateAttr, MapEnv};
use crate::map::{Map, MapOps};
use crate::uapi::MapType;

/// Allocator of `BPF_MAP_TYPE_LRU_HASH` and `BPF_MAP_TYPE_LRU_PERCPU_HASH`
/// (per-CPU values when `attr.map_type` is the latter).
pub fn alloc(attr: &MapCreateAttr, env: &MapEnv, _inner: Option<&Map>) -> Result<Box<dyn MapOps>, Errno> {
    let percpu = MapType::from_raw(attr.map_type) == Some(MapType::LruPercpuHash);
    let kind = if percpu { Kind::LRU_PERCPU_HASH } else { Kind::LRU_HASH };
    Ok(Box::new(HtabMap { t: super::new_table(attr, env, kind)? }))
}
