//! `BPF_MAP_TYPE_PERCPU_HASH` (kernel/bpf/hashtab.c,
//! `htab_percpu_map_ops`): one value per possible CPU per element, each
//! `round_up(value_size, 8)` bytes. Programs see `runctx::this_cpu()`'s
//! copy; the syscall side reads and writes all copies, CPU 0 first.
//! A program inserting a new element writes its CPU's copy and zeroes the
//! others; updates of existing elements are in place.

use super::ops::HtabMap;
use super::table::Kind;
use crate::errno::Errno;
use crate::map::create::{MapCreateAttr, MapEnv};
use crate::map::{Map, MapOps};

/// Allocator of `BPF_MAP_TYPE_PERCPU_HASH`.
pub fn alloc(attr: &MapCreateAttr, env: &MapEnv, _inner: Option<&Map>) -> Result<Box<dyn MapOps>, Errno> {
    let kind = Kind::PERCPU_HASH;
    Ok(Box::new(HtabMap { t: super::new_table(attr, env, kind)? }))
}
