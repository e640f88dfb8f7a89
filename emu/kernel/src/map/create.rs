//! `BPF_MAP_CREATE`: the attributes, the checks every map type shares
//! (`map_create()` in kernel/bpf/syscall.c) and the dispatch to each type's
//! allocator (its `map_alloc_check` + `map_alloc`).

use super::{Map, MapDef, MapOps};
use crate::errno::Errno;
use crate::uapi::{self, MapType};

/// `union bpf_attr` as `BPF_MAP_CREATE` reads it. `map_type` stays a raw
/// number so unknown types can be rejected as the kernel rejects them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MapCreateAttr {
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub inner_map_fd: i32,
    pub numa_node: u32,
    /// `map_name`: up to 15 bytes (`BPF_OBJ_NAME_LEN` with the NUL).
    pub map_name: Vec<u8>,
    pub map_ifindex: u32,
    pub btf_fd: i32,
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    pub btf_vmlinux_value_type_id: u32,
    pub map_extra: u64,
}

/// What a map type's allocator may need from the kernel.
#[derive(Clone, Copy, Debug)]
pub struct MapEnv {
    /// `num_possible_cpus()`: per-CPU maps allocate one value per CPU.
    pub nr_cpus: u32,
    /// The caller has `CAP_BPF` (`bpf_capable()`): queue, stack and bloom
    /// filter allocators refuse others with `EPERM` among their own checks.
    pub bpf_capable: bool,
}

/// Allocates the type-specific part of a map. Each map type module provides
/// one of these; `inner` is the inner-map template for map-in-map types.
pub type AllocFn = fn(&MapCreateAttr, &MapEnv, Option<&Map>) -> Result<Box<dyn MapOps>, Errno>;

/// The allocator of each emulated map type; types not listed are not
/// emulated yet and are refused with `EINVAL`, as a kernel built without
/// them would (see docs/status.md).
fn allocator(t: MapType) -> Option<AllocFn> {
    use super::hash;
    match t {
        MapType::Array => Some(super::array::alloc),
        MapType::PercpuArray => Some(super::percpu_array::alloc),
        MapType::ProgArray => Some(super::prog_array::alloc),
        MapType::ArrayOfMaps => Some(super::array_of_maps::alloc),
        MapType::Hash => Some(hash::plain::alloc),
        MapType::PercpuHash => Some(hash::percpu::alloc),
        MapType::LruHash | MapType::LruPercpuHash => Some(hash::lru::alloc),
        MapType::HashOfMaps => Some(hash::of_maps::alloc),
        MapType::Ringbuf => Some(super::ringbuf::alloc),
        MapType::PerfEventArray => Some(super::perf_event_array::alloc),
        MapType::Sockmap => Some(super::sockmap::alloc),
        MapType::Sockhash => Some(super::sockhash::alloc),
        MapType::Queue | MapType::Stack => Some(super::queue_stack::alloc),
        MapType::BloomFilter => Some(super::bloom::alloc),
        MapType::LpmTrie => Some(super::lpm_trie::alloc),
        _ => None,
    }
}

/// `bpf_obj_name_cpy()`: names are at most 15 bytes of `[A-Za-z0-9_.]`,
/// NUL-terminated within 16; anything else is `EINVAL`.
pub fn obj_name(raw: &[u8]) -> Result<String, Errno> {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let name = &raw[..end];
    if name.len() >= uapi::BPF_OBJ_NAME_LEN {
        return Err(Errno::EINVAL);
    }
    if !name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') {
        return Err(Errno::EINVAL);
    }
    Ok(String::from_utf8_lossy(name).into_owned())
}

/// Creates a map with id `id`: the shared checks, then the type's allocator.
pub fn create(attr: &MapCreateAttr, id: u32, env: &MapEnv, inner: Option<&Map>) -> Result<Map, Errno> {
    let map_type = MapType::from_raw(attr.map_type).ok_or(Errno::EINVAL)?;
    let name = obj_name(&attr.map_name)?;
    // Only the bloom filter and the arena interpret map_extra.
    if attr.map_extra != 0 && !matches!(map_type, MapType::BloomFilter | MapType::Arena) {
        return Err(Errno::EINVAL);
    }
    let alloc = allocator(map_type).ok_or(Errno::EINVAL)?;
    let ops = alloc(attr, env, inner)?;
    let def = MapDef {
        map_type,
        key_size: attr.key_size,
        value_size: attr.value_size,
        max_entries: attr.max_entries,
        map_flags: attr.map_flags,
        numa_node: if attr.map_flags & uapi::BPF_F_NUMA_NODE != 0 { attr.numa_node as i32 } else { -1 },
        name,
        btf_key_type_id: attr.btf_key_type_id,
        btf_value_type_id: attr.btf_value_type_id,
        btf_vmlinux_value_type_id: attr.btf_vmlinux_value_type_id,
        map_extra: attr.map_extra,
    };
    Ok(Map::new(def, id, inner.map(|m| m.def.clone()), ops))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_bpf_obj_name_cpy() {
        assert_eq!(obj_name(b"my_map.v2").unwrap(), "my_map.v2");
        assert_eq!(obj_name(b"abc\0garbage").unwrap(), "abc");
        assert_eq!(obj_name(b"").unwrap(), "");
        assert_eq!(obj_name(b"0123456789abcdef"), Err(Errno::EINVAL));
        assert_eq!(obj_name(b"bad-name"), Err(Errno::EINVAL));
    }

    #[test]
    fn unknown_and_unemulated_types_are_einval() {
        let attr =
            MapCreateAttr { map_type: 999, key_size: 4, value_size: 4, max_entries: 1, ..Default::default() };
        let env = MapEnv { nr_cpus: 4, bpf_capable: true };
        assert_eq!(create(&attr, 1, &env, None).unwrap_err(), Errno::EINVAL);
    }
}
