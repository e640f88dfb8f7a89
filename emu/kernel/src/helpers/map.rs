//! Map helpers: `bpf_map_lookup_elem`, `bpf_map_update_elem`,
//! `bpf_map_delete_elem`, `bpf_map_push_elem`, `bpf_map_pop_elem`,
//! `bpf_map_peek_elem` (kernel/bpf/helpers.c).
//!
//! r1 is a map address ([`Map::addr`]); the map is found in the run's
//! [`RunCtx::maps`] by that address, never dereferenced, so a bogus r1
//! simply finds nothing: lookup returns NULL, the others `-EINVAL`. Keys
//! are read as `key_size` bytes and values as `value_size` bytes.
//!
//! A lookup on a map-in-map outer map returns the inner map's address and
//! adds the inner map to the run's maps (the kernel returns the inner
//! `struct bpf_map *`, kept alive by RCU for the run). A successful lookup
//! on any other map adds the returned value (`value_size` bytes, writable)
//! to the run's regions, so later helper calls on it validate. A lookup on
//! a sockmap returns the socket (its read-only `struct bpf_sock` image).
//!
//! Queue/stack helpers (`bpf_map_push_elem`, `_pop_elem`, `_peek_elem`)
//! read or fill `value_size` bytes at the value pointer; the verifier only
//! lets them reach queue and stack maps ([`crate::map::queue_stack`]), and
//! push and peek bloom filters ([`crate::map::bloom`]: peek reads the
//! value to test).

use super::guest::{self, Ptr};
use super::neg;
use crate::errno::Errno;
use crate::map::Map;
use crate::runctx::{self, RunCtx};
use crate::uapi::MapType;
use std::sync::Arc;

/// A map and a key read from guest memory.
type MapKey = (Arc<Map>, Vec<u8>);

/// The map at `addr` (`None` if unknown) and `key_size` bytes of key at
/// `key` (`Err(EFAULT)` if unreadable).
fn map_and_key(c: &RunCtx, addr: u64, key: u64) -> Option<Result<MapKey, Errno>> {
    let map = c.map_at(addr)?;
    Some(match guest::read(c, key, map.def.key_size as usize, Ptr::Proven) {
        Some(k) => Ok((map, k)),
        None => Err(Errno::EFAULT),
    })
}

/// `void *bpf_map_lookup_elem(map, key)`.
pub extern "C" fn map_lookup_elem(map: u64, key: u64, _: u64, _: u64, _: u64) -> u64 {
    // Map operations run outside the context borrow: they may consult it
    // (per-CPU maps ask for the current CPU).
    let Some(Some(Ok((map, key)))) = runctx::with(|c| map_and_key(c, map, key)) else { return 0 };
    if matches!(map.map_type(), MapType::ArrayOfMaps | MapType::HashOfMaps) {
        let Some(inner) = map.ops.inner_map(&key) else { return 0 };
        let addr = inner.addr();
        runctx::with(|c| c.add_map(inner));
        return addr;
    }
    let Some(value) = map.ops.lookup(&key) else { return 0 };
    if map.ops.as_sockmap().is_some() {
        // A socket: its read-only `struct bpf_sock` image.
        let len = crate::net::sk_lookup::BPF_SOCK_SIZE as u64;
        runctx::with(|c| c.add_region(value, len, false));
        return value;
    }
    runctx::with(|c| c.add_region(value, u64::from(map.def.value_size), true));
    value
}

/// `long bpf_map_update_elem(map, key, value, flags)`.
pub extern "C" fn map_update_elem(map: u64, key: u64, value: u64, flags: u64, _: u64) -> u64 {
    let args = runctx::with(|c| {
        let (map, key) = map_and_key(c, map, key)?.ok().unzip();
        let value = map.as_ref().and_then(|m| guest::read(c, value, m.def.value_size as usize, Ptr::Proven));
        Some((map, key, value))
    });
    match args.flatten() {
        None => neg(Errno::EINVAL),
        Some((Some(map), Some(key), Some(value))) => match map.ops.update(&key, &value, flags) {
            Ok(()) => 0,
            Err(e) => neg(e),
        },
        Some(_) => neg(Errno::EFAULT),
    }
}

/// `long bpf_map_delete_elem(map, key)`.
pub extern "C" fn map_delete_elem(map: u64, key: u64, _: u64, _: u64, _: u64) -> u64 {
    match runctx::with(|c| map_and_key(c, map, key)).flatten() {
        None => neg(Errno::EINVAL),
        Some(Err(e)) => neg(e),
        Some(Ok((map, key))) => match map.ops.delete(&key) {
            Ok(()) => 0,
            Err(e) => neg(e),
        },
    }
}

/// The map types with push/pop/peek; the verifier allows these helpers on
/// no other (`check_map_func_compatibility()`), so another map is `EINVAL`.
fn is_queue_stack(m: &Map) -> bool {
    matches!(m.map_type(), MapType::Queue | MapType::Stack)
}

/// Push and peek also take bloom filters.
fn takes_push_peek(m: &Map) -> bool {
    is_queue_stack(m) || m.map_type() == MapType::BloomFilter
}

/// `long bpf_map_push_elem(map, value, flags)`.
pub extern "C" fn map_push_elem(map: u64, value: u64, flags: u64, _: u64, _: u64) -> u64 {
    let args = runctx::with(|c| {
        let map = c.map_at(map).filter(|m| takes_push_peek(m))?;
        let value = guest::read(c, value, map.def.value_size as usize, Ptr::Proven);
        Some((map, value))
    });
    match args.flatten() {
        None => neg(Errno::EINVAL),
        Some((_, None)) => neg(Errno::EFAULT),
        Some((map, Some(value))) => match map.ops.push(&value, flags) {
            Ok(()) => 0,
            Err(e) => neg(e),
        },
    }
}

/// Pop (`delete`) or peek into `value_size` bytes at `value`: the map
/// fills a buffer (zeroed when it fails), which is then written out.
fn pop_or_peek(map: u64, value: u64, delete: bool) -> u64 {
    let Some(Some(map)) = runctx::with(|c| c.map_at(map).filter(|m| is_queue_stack(m))) else {
        return neg(Errno::EINVAL);
    };
    let mut buf = vec![0u8; map.def.value_size as usize];
    let r = if delete { map.ops.pop(&mut buf) } else { map.ops.peek(&mut buf) };
    if runctx::with(|c| guest::write(c, value, &buf, Ptr::Proven)) != Some(true) {
        return neg(Errno::EFAULT);
    }
    match r {
        Ok(()) => 0,
        Err(e) => neg(e),
    }
}

/// `long bpf_map_pop_elem(map, value)`.
pub extern "C" fn map_pop_elem(map: u64, value: u64, _: u64, _: u64, _: u64) -> u64 {
    pop_or_peek(map, value, true)
}

/// `long bpf_map_peek_elem(map, value)`; on a bloom filter the value is
/// the one to test (read, not written).
pub extern "C" fn map_peek_elem(map: u64, value: u64, _: u64, _: u64, _: u64) -> u64 {
    let bloom = runctx::with(|c| {
        let m = c.map_at(map).filter(|m| m.map_type() == MapType::BloomFilter)?;
        let v = guest::read(c, value, m.def.value_size as usize, Ptr::Proven);
        Some((m, v))
    });
    match bloom.flatten() {
        None => pop_or_peek(map, value, false),
        Some((_, None)) => neg(Errno::EFAULT),
        Some((m, Some(mut v))) => match m.ops.peek(&mut v) {
            Ok(()) => 0,
            Err(e) => neg(e),
        },
    }
}
