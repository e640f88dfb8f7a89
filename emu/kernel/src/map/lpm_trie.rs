//! `BPF_MAP_TYPE_LPM_TRIE` (kernel/bpf/lpm_trie.c): longest-prefix-match
//! lookups.
//!
//! Keys are `struct bpf_lpm_trie_key_u8`: a `u32` prefix length (host
//! order) and `key_size - 4` bytes of data (1 to 256), whose bits count
//! from the most significant bit of the first byte, as network addresses
//! are written. An element is a prefix: its length and its first
//! `prefixlen` bits; the data bytes beyond are kept as last written (and
//! given back by `get_next_key`) but take no part in matching.
//!
//! - lookup (programs and `BPF_MAP_LOOKUP_ELEM`): the value of the longest
//!   stored prefix that is no longer than the key's prefix length and
//!   matches the key on its bits; a prefix length above the data's bits
//!   finds nothing;
//! - update (both sides): flags up to `BPF_EXIST` (`EINVAL`), a prefix
//!   length above the data's bits `EINVAL`, `EEXIST` / `ENOENT` as the flag
//!   asks (Linux 6.13, "bpf: Handle BPF_EXIST and BPF_NOEXIST for LPM
//!   trie"), `ENOSPC` when `max_entries` elements exist and the prefix is
//!   new (in-place replacement of a full trie works: "bpf: Handle in-place
//!   update for full LPM trie correctly");
//! - delete: the exact prefix, else `ENOENT`;
//! - `get_next_key`: the kernel's post-order walk of its trie — more
//!   specific prefixes before the prefixes containing them, the 0 branch
//!   before the 1 branch — starting over from the first for a key that is
//!   not an element ("bpf: Fix exact match conditions in
//!   trie_get_next_key()").
//!
//! The trie itself is not built: elements are kept by (length, masked
//! bits), which gives the same answers (a lookup tries each length from the
//! key's down; the walk order is a comparison of prefixes). Values live in
//! a slab with stable addresses, a new slot for each update as the kernel
//! allocates a new node (the old value stays readable by programs holding
//! it until its slot is reused).
//!
//! Creation (`trie_alloc()`): `EINVAL` unless `max_entries` is not 0,
//! `BPF_F_NO_PREALLOC` is set, no flags beyond it, `BPF_F_NUMA_NODE` and
//! the access flags, the key is 5 to 260 bytes and the value 1 byte up to
//! `LPM_VAL_SIZE_MAX`; `CAP_BPF` (checked by `BPF_MAP_CREATE`).

use super::array::{BPF_F_ACCESS_MASK, flags_access_ok};
use super::create::{MapCreateAttr, MapEnv};
use super::hash::slab::{Reuse, Slab};
use super::queue_stack::KMALLOC_MAX_SIZE;
use super::{Map, MapDef, MapOps, meta_equal_common};
use crate::errno::Errno;
use crate::uapi;
use parking_lot::Mutex;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// `LPM_CREATE_FLAG_MASK`.
const CREATE_FLAG_MASK: u32 = uapi::BPF_F_NO_PREALLOC | uapi::BPF_F_NUMA_NODE | BPF_F_ACCESS_MASK;
/// `LPM_DATA_SIZE_MIN`, `LPM_DATA_SIZE_MAX`.
const DATA_SIZE: std::ops::RangeInclusive<u32> = 1..=256;
/// `sizeof(struct lpm_trie_node)` without its data.
const NODE_SIZE: u32 = 40;
/// `LPM_VAL_SIZE_MAX`.
const VAL_SIZE_MAX: u32 = KMALLOC_MAX_SIZE - 256 - NODE_SIZE;

/// An element: the key bytes as last written and its value slot.
#[derive(Debug)]
struct Elem {
    data: Box<[u8]>,
    slot: u32,
}

#[derive(Debug)]
struct Inner {
    /// Elements by (prefix length, data masked to it).
    elems: BTreeMap<(u32, Box<[u8]>), Elem>,
    slab: Slab,
}

/// An LPM trie (`struct lpm_trie`).
#[derive(Debug)]
pub struct LpmTrie {
    data_size: usize,
    value_size: usize,
    max_entries: u32,
    inner: Mutex<Inner>,
}

/// `AllocFn` for `BPF_MAP_TYPE_LPM_TRIE` (see the module docs).
pub fn alloc(attr: &MapCreateAttr, _env: &MapEnv, _inner: Option<&Map>) -> Result<Box<dyn MapOps>, Errno> {
    if attr.max_entries == 0
        || attr.map_flags & uapi::BPF_F_NO_PREALLOC == 0
        || attr.map_flags & !CREATE_FLAG_MASK != 0
        || !flags_access_ok(attr.map_flags)
        || !DATA_SIZE.contains(&attr.key_size.saturating_sub(4))
        || !(1..=VAL_SIZE_MAX).contains(&attr.value_size)
    {
        return Err(Errno::EINVAL);
    }
    // One more slot than elements: a replacement takes its new slot before
    // the old one is freed.
    let slots = attr.max_entries.saturating_add(1);
    Ok(Box::new(LpmTrie {
        data_size: (attr.key_size - 4) as usize,
        value_size: attr.value_size as usize,
        max_entries: attr.max_entries,
        inner: Mutex::new(Inner {
            elems: BTreeMap::new(),
            slab: Slab::new(slots, attr.value_size as usize, false, Reuse::Fifo),
        }),
    }))
}

/// Bit `i` of `data`, most significant bit of byte 0 first
/// (`extract_bit()`).
fn bit(data: &[u8], i: u32) -> bool {
    data[(i / 8) as usize] & (0x80 >> (i % 8)) != 0
}

/// `data` with every bit from `plen` on cleared.
fn masked(data: &[u8], plen: u32) -> Box<[u8]> {
    let mut m: Box<[u8]> = data.into();
    for (i, b) in m.iter_mut().enumerate() {
        let first = i as u32 * 8;
        if first >= plen {
            *b = 0;
        } else if plen - first < 8 {
            *b &= 0xff << (8 - (plen - first));
        }
    }
    m
}

/// The kernel's post-order of prefixes (`trie_get_next_key()`): a prefix
/// after every longer prefix it contains; otherwise the one with 0 at the
/// first bit where they differ first.
fn walk_order(a: (u32, &[u8]), b: (u32, &[u8])) -> Ordering {
    let common = a.0.min(b.0);
    if let Some(i) = (0..common).find(|&i| bit(a.1, i) != bit(b.1, i)) {
        return bit(a.1, i).cmp(&bit(b.1, i));
    }
    b.0.cmp(&a.0)
}

impl LpmTrie {
    /// The prefix length and data of `key` (`EINVAL` when short).
    fn split<'k>(&self, key: &'k [u8]) -> Result<(u32, &'k [u8]), Errno> {
        let plen = key.get(..4).ok_or(Errno::EINVAL)?;
        let data = key.get(4..4 + self.data_size).ok_or(Errno::EINVAL)?;
        Ok((u32::from_ne_bytes(plen.try_into().map_err(|_| Errno::EINVAL)?), data))
    }

    fn max_prefixlen(&self) -> u32 {
        self.data_size as u32 * 8
    }

    /// `trie_lookup_elem()`: the slot of the longest matching prefix.
    fn find(&self, g: &Inner, key: &[u8]) -> Option<u32> {
        let (plen, data) = self.split(key).ok()?;
        if plen > self.max_prefixlen() {
            return None;
        }
        (0..=plen).rev().find_map(|l| g.elems.get(&(l, masked(data, l))).map(|e| e.slot))
    }

    /// `trie_update_elem()`.
    fn store(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), Errno> {
        if flags > uapi::BPF_EXIST {
            return Err(Errno::EINVAL);
        }
        let (plen, data) = self.split(key)?;
        if plen > self.max_prefixlen() {
            return Err(Errno::EINVAL);
        }
        let value = value.get(..self.value_size).ok_or(Errno::EINVAL)?;
        let mut g = self.inner.lock();
        let id = (plen, masked(data, plen));
        let exists = g.elems.contains_key(&id);
        match (exists, flags) {
            (true, uapi::BPF_NOEXIST) => return Err(Errno::EEXIST),
            (false, uapi::BPF_EXIST) => return Err(Errno::ENOENT),
            (false, _) if g.elems.len() >= self.max_entries as usize => return Err(Errno::ENOSPC),
            _ => {}
        }
        let slot = g.slab.alloc().ok_or(Errno::ENOMEM)?;
        g.slab.write(slot, 0, value);
        if let Some(old) = g.elems.insert(id, Elem { data: data.into(), slot }) {
            g.slab.free(old.slot);
        }
        Ok(())
    }
}

impl MapOps for LpmTrie {
    fn lookup(&self, key: &[u8]) -> Option<u64> {
        let g = self.inner.lock();
        self.find(&g, key).map(|slot| g.slab.addr(slot, 0))
    }

    fn sys_lookup(&self, key: &[u8], out: &mut [u8], flags: u64) -> Result<(), Errno> {
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        let g = self.inner.lock();
        let slot = self.find(&g, key).ok_or(Errno::ENOENT)?;
        g.slab.read(slot, 0, out.get_mut(..self.value_size).ok_or(Errno::EINVAL)?);
        Ok(())
    }

    fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), Errno> {
        self.store(key, value, flags)
    }

    /// `trie_delete_elem()`: the exact prefix.
    fn delete(&self, key: &[u8]) -> Result<(), Errno> {
        let (plen, data) = self.split(key)?;
        if plen > self.max_prefixlen() {
            return Err(Errno::EINVAL);
        }
        let mut g = self.inner.lock();
        let e = g.elems.remove(&(plen, masked(data, plen))).ok_or(Errno::ENOENT)?;
        g.slab.free(e.slot);
        Ok(())
    }

    /// `trie_get_next_key()` (see the module docs).
    fn get_next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<(), Errno> {
        let g = self.inner.lock();
        let mut all: Vec<(u32, &[u8])> = g.elems.iter().map(|((l, _), e)| (*l, &e.data[..])).collect();
        all.sort_by(|a, b| walk_order(*a, *b));
        let current = key
            .and_then(|k| self.split(k).ok())
            .filter(|(plen, _)| *plen <= self.max_prefixlen())
            .and_then(|(plen, data)| g.elems.get(&(plen, masked(data, plen))).map(|e| (plen, &e.data[..])));
        let at = match current {
            None => 0,
            Some(c) => all.iter().position(|x| walk_order(*x, c) == Ordering::Equal).map_or(0, |i| i + 1),
        };
        let (plen, data) = *all.get(at).ok_or(Errno::ENOENT)?;
        let next = next.get_mut(..4 + self.data_size).ok_or(Errno::EINVAL)?;
        next[..4].copy_from_slice(&plen.to_ne_bytes());
        next[4..].copy_from_slice(data);
        Ok(())
    }

    /// `bpf_map_meta_equal()`.
    fn meta_equal(&self, meta: &MapDef, inner: &MapDef) -> Option<bool> {
        Some(meta_equal_common(meta, inner))
    }

    fn value_regions(&self) -> Vec<(u64, u64, bool)> {
        self.inner.lock().slab.regions().into_iter().map(|(s, l)| (s, l, true)).collect()
    }

    /// No `map_for_each_callback` for this type (the verifier refuses).
    fn for_each(&self, _f: &mut dyn FnMut(&[u8], u64) -> bool) -> u32 {
        0
    }

    fn btf_name(&self) -> &'static str {
        "lpm_trie"
    }

    /// `trie_mem_usage()`: a node with its data and value per element.
    fn mem_usage(&self) -> u64 {
        let per = u64::from(NODE_SIZE) + self.data_size as u64 + self.value_size as u64;
        per * self.inner.lock().elems.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::array::tests::{ENV, attr};
    use crate::map::create::create;
    use crate::uapi::MapType;

    fn trie(max: u32) -> Map {
        let mut a = attr(MapType::LpmTrie, 4, max, uapi::BPF_F_NO_PREALLOC);
        a.key_size = 8;
        create(&a, 1, &ENV, None).unwrap()
    }

    fn k(plen: u32, ip: [u8; 4]) -> Vec<u8> {
        let mut v = plen.to_ne_bytes().to_vec();
        v.extend_from_slice(&ip);
        v
    }

    fn get(m: &Map, key: &[u8]) -> Result<u32, Errno> {
        let mut out = [0u8; 4];
        m.ops.sys_lookup(key, &mut out, 0).map(|()| u32::from_ne_bytes(out))
    }

    fn put(m: &Map, key: &[u8], v: u32, flags: u64) -> Result<(), Errno> {
        m.ops.sys_update(key, &v.to_ne_bytes(), flags)
    }

    #[test]
    fn create_checks() {
        let e = |f: &dyn Fn(&mut MapCreateAttr)| {
            let mut a = attr(MapType::LpmTrie, 4, 4, uapi::BPF_F_NO_PREALLOC);
            a.key_size = 8;
            f(&mut a);
            create(&a, 1, &ENV, None).map(|_| ()).unwrap_err()
        };
        assert_eq!(e(&|a| a.map_flags = 0), Errno::EINVAL, "BPF_F_NO_PREALLOC is required");
        assert_eq!(e(&|a| a.max_entries = 0), Errno::EINVAL);
        assert_eq!(e(&|a| a.key_size = 4), Errno::EINVAL);
        assert_eq!(e(&|a| a.key_size = 261), Errno::EINVAL);
        assert_eq!(e(&|a| a.value_size = 0), Errno::EINVAL);
        assert_eq!(e(&|a| a.map_flags |= uapi::BPF_F_ZERO_SEED), Errno::EINVAL);
        assert_eq!(trie(4).ops.btf_name(), "lpm_trie");
    }

    #[test]
    fn the_longest_matching_prefix_answers() {
        let m = trie(8);
        put(&m, &k(16, [192, 168, 0, 0]), 16, 0).unwrap();
        put(&m, &k(24, [192, 168, 1, 99]), 24, 0).unwrap();
        put(&m, &k(0, [0, 0, 0, 0]), 0, 0).unwrap();
        assert_eq!(get(&m, &k(32, [192, 168, 1, 7])), Ok(24));
        assert_eq!(get(&m, &k(32, [192, 168, 2, 7])), Ok(16));
        assert_eq!(get(&m, &k(32, [10, 0, 0, 1])), Ok(0));
        // The key's own length bounds the match.
        assert_eq!(get(&m, &k(20, [192, 168, 1, 7])), Ok(16));
        assert_eq!(get(&m, &k(33, [192, 168, 1, 7])), Err(Errno::ENOENT));
        // Program-side lookups return the value's address.
        let addr = m.ops.lookup(&k(32, [192, 168, 1, 1])).unwrap();
        assert!(m.ops.value_regions().iter().any(|&(s, l, _)| addr >= s && addr + 4 <= s + l));
    }

    #[test]
    fn update_flags_limits_and_delete() {
        let m = trie(2);
        put(&m, &k(8, [10, 0, 0, 0]), 1, uapi::BPF_NOEXIST).unwrap();
        // The same prefix with other bits beyond it is the same element.
        assert_eq!(put(&m, &k(8, [10, 9, 9, 9]), 2, uapi::BPF_NOEXIST), Err(Errno::EEXIST));
        assert_eq!(put(&m, &k(9, [10, 0, 0, 0]), 2, uapi::BPF_EXIST), Err(Errno::ENOENT));
        assert_eq!(put(&m, &k(33, [10, 0, 0, 0]), 2, 0), Err(Errno::EINVAL));
        assert_eq!(put(&m, &k(8, [10, 0, 0, 0]), 2, 4), Err(Errno::EINVAL));
        put(&m, &k(16, [10, 1, 0, 0]), 3, 0).unwrap();
        assert_eq!(put(&m, &k(24, [10, 1, 2, 0]), 4, 0), Err(Errno::ENOSPC));
        put(&m, &k(8, [10, 7, 7, 7]), 5, uapi::BPF_EXIST).unwrap();
        assert_eq!(get(&m, &k(32, [10, 2, 3, 4])), Ok(5));
        assert_eq!(m.ops.delete(&k(9, [10, 0, 0, 0])), Err(Errno::ENOENT));
        assert_eq!(m.ops.delete(&k(33, [10, 0, 0, 0])), Err(Errno::EINVAL));
        m.ops.delete(&k(8, [10, 255, 0, 0])).unwrap();
        assert_eq!(get(&m, &k(32, [10, 2, 3, 4])), Err(Errno::ENOENT));
        assert_eq!(m.ops.mem_usage(), u64::from(NODE_SIZE + 4 + 4));
    }

    #[test]
    fn the_walk_is_the_kernels_post_order() {
        // The example of lpm_trie.c: 192.168.0.0/24, 192.168.1.0/24,
        // 192.168.128.0/24, then 192.168.0.0/16.
        let m = trie(8);
        for (plen, ip) in
            [(16, [192, 168, 0, 0]), (24, [192, 168, 128, 0]), (24, [192, 168, 0, 0]), (24, [192, 168, 1, 0])]
        {
            put(&m, &k(plen, ip), plen, 0).unwrap();
        }
        let mut seen = Vec::new();
        let mut cur: Option<Vec<u8>> = None;
        loop {
            let mut next = [0u8; 8];
            match m.ops.get_next_key(cur.as_deref(), &mut next) {
                Ok(()) => {
                    seen.push((u32::from_ne_bytes(next[..4].try_into().unwrap()), next[6]));
                    cur = Some(next.to_vec());
                }
                Err(e) => {
                    assert_eq!(e, Errno::ENOENT);
                    break;
                }
            }
        }
        assert_eq!(seen, [(24, 0), (24, 1), (24, 128), (16, 0)]);
        // A key that is not an element starts over.
        let mut next = [0u8; 8];
        m.ops.get_next_key(Some(&k(24, [192, 168, 7, 0])), &mut next).unwrap();
        assert_eq!((u32::from_ne_bytes(next[..4].try_into().unwrap()), next[6]), (24, 0));
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        /// The reference: the longest element prefix that the key's first
        /// `plen` bits start with.
        fn brute(elems: &[(u32, [u8; 2], u32)], plen: u32, data: [u8; 2]) -> Option<u32> {
            elems
                .iter()
                .filter(|(l, d, _)| *l <= plen && (0..*l).all(|i| bit(d, i) == bit(&data, i)))
                .max_by_key(|(l, _, _)| *l)
                .map(|(_, _, v)| *v)
        }

        fn key(plen: u32, data: [u8; 2]) -> Vec<u8> {
            let mut v = plen.to_ne_bytes().to_vec();
            v.extend_from_slice(&data);
            v
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            #[test]
            fn lookups_match_a_brute_force_search_and_the_walk_visits_each_once(
                puts in proptest::collection::vec((0u32..=16, any::<[u8; 2]>()), 1..24),
                probes in proptest::collection::vec((0u32..=17, any::<[u8; 2]>()), 1..24),
            ) {
                let mut a = attr(MapType::LpmTrie, 4, 64, uapi::BPF_F_NO_PREALLOC);
                a.key_size = 6;
                let m = create(&a, 1, &ENV, None).unwrap();
                let mut model: Vec<(u32, [u8; 2], u32)> = Vec::new();
                for (i, (plen, data)) in puts.iter().enumerate() {
                    let v = i as u32;
                    m.ops.sys_update(&key(*plen, *data), &v.to_ne_bytes(), 0).unwrap();
                    let same = |(l, d, _): &(u32, [u8; 2], u32)| {
                        *l == *plen && (0..*plen).all(|b| bit(d, b) == bit(data, b))
                    };
                    model.retain(|e| !same(e));
                    model.push((*plen, *data, v));
                }
                for (plen, data) in probes {
                    let mut out = [0u8; 4];
                    let got = m.ops.sys_lookup(&key(plen, data), &mut out, 0).ok().map(|()| u32::from_ne_bytes(out));
                    let want = if plen > 16 { None } else { brute(&model, plen, data) };
                    prop_assert_eq!(got, want, "key {}/{:?}", plen, data);
                }
                // The walk visits every element once, more specific first.
                let mut seen: Vec<(u32, Box<[u8]>)> = Vec::new();
                let mut cur: Option<Vec<u8>> = None;
                loop {
                    let mut next = [0u8; 6];
                    if m.ops.get_next_key(cur.as_deref(), &mut next).is_err() {
                        break;
                    }
                    let plen = u32::from_ne_bytes(next[..4].try_into().unwrap());
                    let id = (plen, masked(&next[4..], plen));
                    prop_assert!(!seen.contains(&id), "visited twice");
                    for (l, d) in &seen {
                        // Nothing visited earlier contains a later prefix.
                        let contains = *l < plen && (0..*l).all(|b| bit(d, b) == bit(&next[4..], b));
                        prop_assert!(!contains, "{}/{:?} before {}/{:?}", l, d, plen, &next[4..]);
                    }
                    seen.push(id);
                    cur = Some(next.to_vec());
                }
                prop_assert_eq!(seen.len(), model.len());
            }
        }
    }
}
