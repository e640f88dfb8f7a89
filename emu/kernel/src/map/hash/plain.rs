//! `BPF_MAP_TYPE_HASH` (kernel/bpf/hashtab.c, `htab_map_ops`).

use super::ops::HtabMap;
use super::table::Kind;
use crate::errno::Errno;
use crate::map::create::{MapCreateAttr, MapEnv};
use crate::map::{Map, MapOps};

/// Allocator of `BPF_MAP_TYPE_HASH`.
pub fn alloc(attr: &MapCreateAttr, env: &MapEnv, _inner: Option<&Map>) -> Result<Box<dyn MapOps>, Errno> {
    let kind = Kind::HASH;
    Ok(Box::new(HtabMap { t: super::new_table(attr, env, kind)? }))
}
