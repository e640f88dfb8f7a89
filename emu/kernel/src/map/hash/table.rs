//! The hash table shared by every hash map type: buckets, elements, the
//! update / delete / iteration logic of kernel/bpf/hashtab.c, and the LRU
//! order of kernel/bpf/bpf_lru_list.c in a simplified form.
//!
//! Emulated:
//! - buckets: `roundup_pow_of_two(max_entries)` of them, selected by the
//!   low bits of a seeded hash ([`super::hashfn`]); a new element goes to
//!   the head of its bucket, and `get_next_key` walks buckets in index
//!   order and each bucket from its head, as the kernel does, so the
//!   iteration order is a deterministic function of the map's creation
//!   attributes and its history of updates;
//! - update flags and their errnos, `E2BIG` when full;
//! - replacing an existing element of a (non-per-CPU, non-fd) map puts the
//!   new value in a *different* element and turns the old one into this
//!   CPU's spare ("extra element" with preallocation, a free element
//!   reused last without it): a program still holding the old value
//!   pointer keeps reading the old value, never freed memory; per-CPU and
//!   fd maps update in place as the kernel does;
//! - deleted elements go back to the free list; their memory stays valid
//!   (it belongs to the slab until the map is freed).
//!
//! Not emulated: `BPF_F_LOCK` (no BTF record, so every map is "without a
//! spin lock" and the flag is `EINVAL`), special fields (timers, kptrs),
//! batch operations, iterators, `map_gen_lookup` inlining, the percpu
//! counter. Locking is one mutex per map (the kernel has one lock per
//! bucket); the mutex is never held while a callback or program runs.
//!
//! LRU simplification: each LRU list is ordered by the last "use"
//! (insertion or program-side lookup) and a full list evicts the element
//! used least recently. There is one list for the map, or with
//! `BPF_F_NO_COMMON_LRU` one per CPU holding `max_entries / nr_cpus`
//! elements: as in the kernel, an insert on CPU c evicts from CPU c's list
//! once that list is full, even if other CPUs' lists have room; a deleted
//! element frees room on its own list; a replacement stays on the replaced
//! element's list. The kernel approximates LRU with active/inactive lists,
//! reference bits and (common list) per-CPU local free lists that can
//! evict before the map is full, so its victim can differ; the emulator's
//! victim is always the exact least recently used element of the list,
//! and nothing is evicted before the list is full.

use super::slab::{Reuse, Slab};
use super::{HTAB_ELEM_SIZE, hashfn};
use crate::errno::Errno;
use crate::map::Map;
use crate::runctx;
use crate::uapi::{BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What kind of hash table this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kind {
    pub percpu: bool,
    pub lru: bool,
    /// Map-in-map: elements hold an inner map.
    pub fd: bool,
    /// LRU with `BPF_F_NO_COMMON_LRU`: one LRU list per CPU.
    pub percpu_lru: bool,
}

impl Kind {
    pub const HASH: Kind = Kind { percpu: false, lru: false, fd: false, percpu_lru: false };
    pub const PERCPU_HASH: Kind = Kind { percpu: true, ..Kind::HASH };
    pub const LRU_HASH: Kind = Kind { lru: true, ..Kind::HASH };
    pub const LRU_PERCPU_HASH: Kind = Kind { percpu: true, lru: true, ..Kind::HASH };
    pub const HASH_OF_MAPS: Kind = Kind { fd: true, ..Kind::HASH };
}

/// Where an update's value comes from.
#[derive(Clone, Copy, Debug)]
pub enum Src<'a> {
    /// A program: `value_size` bytes; per-CPU maps write this CPU's copy.
    Prog(&'a [u8]),
    /// The syscall: per-CPU maps take `round_up(value_size, 8)` bytes per
    /// CPU and write every CPU's copy.
    Sys(&'a [u8]),
}

#[derive(Debug)]
struct Elem {
    key: Box<[u8]>,
    hash: u32,
    /// LRU order: the tick of the last use.
    tick: u64,
    /// The LRU list the element belongs to (its CPU's with per-CPU lists).
    list: u32,
    /// Map-in-map: the inner map (a `refcnt` reference).
    inner: Option<Arc<Map>>,
}

#[derive(Debug)]
struct Inner {
    slab: Slab,
    /// Element metadata by slot.
    elems: Vec<Option<Elem>>,
    /// Non-empty buckets by index; each lists slots from the head.
    buckets: BTreeMap<u32, Vec<u32>>,
    count: u32,
    /// Per-CPU spare slot for replacing elements (preallocated maps).
    extras: Vec<u32>,
    /// LRU order per list: tick → slot.
    lru: Vec<BTreeMap<u64, u32>>,
    /// Elements per LRU list.
    list_count: Vec<u32>,
    tick: u64,
    /// Inner maps removed from a map-in-map, kept alive until
    /// [`Htab::reclaim`] (the emulator's RCU grace period).
    retired: Vec<Arc<Map>>,
}

/// The table. All methods take `&self`; the state is behind one mutex.
#[derive(Debug)]
pub struct Htab {
    pub key_size: usize,
    pub value_size: usize,
    pub max_entries: u32,
    pub nr_cpus: u32,
    pub kind: Kind,
    pub prealloc: bool,
    /// Replacement goes to a new element (not in place).
    replace_moves: bool,
    /// Number of LRU lists (1, or one per CPU) and the elements each holds.
    lru_lists: u32,
    list_cap: u32,
    seed: u32,
    n_buckets: u32,
    /// Bytes per CPU copy: `round_up(value_size, 8)`.
    stride: usize,
    inner: Mutex<Inner>,
}

/// Approximate `sizeof(struct bpf_htab)`.
const HTAB_SIZE: u64 = 320;
/// `sizeof(struct bucket)`.
const BUCKET_SIZE: u64 = 16;

impl Htab {
    pub fn new(
        key_size: u32,
        value_size: u32,
        max_entries: u32,
        nr_cpus: u32,
        kind: Kind,
        prealloc: bool,
        seed: u32,
    ) -> Htab {
        let nr_cpus = nr_cpus.max(1);
        let stride = (value_size as usize).next_multiple_of(8);
        let replace_moves = !kind.percpu && !kind.fd;
        let slot_bytes = if kind.percpu { stride * nr_cpus as usize } else { stride };
        let nr_slots = max_entries + if replace_moves { nr_cpus } else { 0 };
        let lru_lists = if kind.lru && kind.percpu_lru { nr_cpus } else { 1 };
        let reuse = if prealloc { Reuse::Lifo } else { Reuse::Fifo };
        let mut slab = Slab::new(nr_slots, slot_bytes, prealloc, reuse);
        let mut extras = Vec::new();
        if replace_moves && prealloc {
            for _ in 0..nr_cpus {
                extras.push(slab.alloc().expect("slab holds the extra elements"));
            }
        }
        Htab {
            key_size: key_size as usize,
            value_size: value_size as usize,
            max_entries,
            nr_cpus,
            kind,
            prealloc,
            replace_moves,
            lru_lists,
            list_cap: max_entries / lru_lists,
            seed,
            n_buckets: max_entries.next_power_of_two(),
            stride,
            inner: Mutex::new(Inner {
                slab,
                elems: Vec::new(),
                buckets: BTreeMap::new(),
                count: 0,
                extras,
                lru: vec![BTreeMap::new(); lru_lists as usize],
                list_count: vec![0; lru_lists as usize],
                tick: 0,
                retired: Vec::new(),
            }),
        }
    }

    /// Size of a value as the syscall side copies it.
    pub fn sys_value_size(&self) -> usize {
        if self.kind.percpu { self.stride * self.nr_cpus as usize } else { self.value_size }
    }

    fn cpu(&self) -> u32 {
        runctx::this_cpu().min(self.nr_cpus - 1)
    }

    fn check_key(&self, key: &[u8]) -> Result<(), Errno> {
        if key.len() == self.key_size { Ok(()) } else { Err(Errno::EINVAL) }
    }

    /// Bucket index and position in it of `key`.
    fn find(&self, g: &Inner, key: &[u8], hash: u32) -> Option<(u32, usize)> {
        let b = hash & (self.n_buckets - 1);
        let list = g.buckets.get(&b)?;
        list.iter()
            .position(|&s| g.elems[s as usize].as_ref().is_some_and(|e| e.hash == hash && *e.key == *key))
            .map(|p| (b, p))
    }

    fn slot_of(&self, g: &Inner, key: &[u8]) -> Option<u32> {
        let hash = hashfn::hash(key, self.seed);
        self.find(g, key, hash).map(|(b, p)| g.buckets[&b][p])
    }

    fn touch(g: &mut Inner, slot: u32) {
        g.tick += 1;
        let t = g.tick;
        if let Some(e) = g.elems[slot as usize].as_mut() {
            let old = std::mem::replace(&mut e.tick, t);
            g.lru[e.list as usize].remove(&old);
            g.lru[e.list as usize].insert(t, slot);
        }
    }

    /// Program-side lookup: the value address (this CPU's copy), and the
    /// inner map for map-in-map. Marks LRU elements used.
    pub fn lookup(&self, key: &[u8]) -> Option<(u64, Option<Arc<Map>>)> {
        if key.len() != self.key_size {
            return None;
        }
        let mut g = self.inner.lock();
        let slot = self.slot_of(&g, key)?;
        if self.kind.lru {
            Self::touch(&mut g, slot);
        }
        let off = if self.kind.percpu { self.cpu() as usize * self.stride } else { 0 };
        let inner = g.elems[slot as usize].as_ref().and_then(|e| e.inner.clone());
        Some((g.slab.addr(slot, off), inner))
    }

    fn copy_out(&self, g: &Inner, slot: u32, out: &mut [u8]) -> Result<(), Errno> {
        let n = self.sys_value_size();
        if out.len() < n {
            return Err(Errno::EINVAL);
        }
        g.slab.read(slot, 0, &mut out[..n]);
        Ok(())
    }

    /// Syscall-side lookup: copies the value (every CPU's copy for per-CPU
    /// maps). Does not touch the LRU order (`htab_lru_map_lookup_elem_sys`).
    pub fn sys_lookup(&self, key: &[u8], out: &mut [u8], flags: u64) -> Result<(), Errno> {
        self.check_key(key)?;
        check_lookup_flags(flags)?;
        let g = self.inner.lock();
        let slot = self.slot_of(&g, key).ok_or(Errno::ENOENT)?;
        self.copy_out(&g, slot, out)
    }

    /// The inner map stored under `key` (map-in-map).
    pub fn inner_map(&self, key: &[u8]) -> Option<Arc<Map>> {
        let g = self.inner.lock();
        let slot = self.slot_of(&g, key)?;
        g.elems[slot as usize].as_ref().and_then(|e| e.inner.clone())
    }

    fn write_value(&self, g: &Inner, slot: u32, src: Src<'_>, new: bool) -> Result<(), Errno> {
        match (self.kind.percpu, src) {
            (false, Src::Prog(v) | Src::Sys(v)) => {
                g.slab.write(slot, 0, &v[..self.value_size]);
            }
            (true, Src::Prog(v)) => {
                let cpu = self.cpu() as usize;
                if new {
                    g.slab.zero(slot, 0, self.stride * self.nr_cpus as usize);
                }
                g.slab.write(slot, cpu * self.stride, &v[..self.value_size]);
            }
            (true, Src::Sys(v)) => {
                g.slab.write(slot, 0, &v[..self.stride * self.nr_cpus as usize]);
            }
        }
        Ok(())
    }

    /// Update (insert or replace). `inner` is the inner map of a
    /// map-in-map update; its value is the inner map's id.
    pub fn update(&self, key: &[u8], src: Src<'_>, flags: u64, inner: Option<Arc<Map>>) -> Result<(), Errno> {
        self.check_key(key)?;
        check_update_flags(flags)?;
        let need = match src {
            Src::Prog(v) => (v.len(), self.value_size),
            Src::Sys(v) => (v.len(), self.sys_value_size()),
        };
        if need.0 < need.1 {
            return Err(Errno::EINVAL);
        }
        let hash = hashfn::hash(key, self.seed);
        let mut guard = self.inner.lock();
        let g = &mut *guard;
        let found = self.find(g, key, hash);
        match (found.is_some(), flags & !BPF_F_LOCK) {
            (true, BPF_NOEXIST) => return Err(Errno::EEXIST),
            (false, BPF_EXIST) => return Err(Errno::ENOENT),
            _ => {}
        }
        if let Some((b, p)) = found
            && !self.replace_moves
        {
            // In place: per-CPU values and map-in-map slots.
            let slot = g.buckets[&b][p];
            self.write_value(g, slot, src, false)?;
            if let Some(e) = g.elems[slot as usize].as_mut()
                && let Some(old) = std::mem::replace(&mut e.inner, inner)
            {
                g.retired.push(old);
            }
            if self.kind.lru {
                Self::touch(g, slot);
            }
            return Ok(());
        }
        let cpu = self.cpu() as usize;
        // A replacement stays on the old element's LRU list; a new element
        // goes to this CPU's list (per-CPU lists) or the common one.
        let list = match found {
            Some((b, p)) => g.elems[g.buckets[&b][p] as usize].as_ref().map_or(0, |e| e.list),
            None if self.lru_lists > 1 => cpu as u32,
            None => 0,
        };
        if found.is_none() {
            if self.kind.lru {
                if g.list_count[list as usize] >= self.list_cap {
                    self.evict_lru(g, list);
                }
            } else if g.count >= self.max_entries {
                return Err(Errno::E2BIG);
            }
        }
        let slot = if found.is_some() && self.prealloc {
            g.extras[cpu]
        } else {
            g.slab.alloc().ok_or(Errno::E2BIG)?
        };
        self.write_value(g, slot, src, true)?;
        g.tick += 1;
        let tick = g.tick;
        if g.elems.len() <= slot as usize {
            g.elems.resize_with(slot as usize + 1, || None);
        }
        g.elems[slot as usize] = Some(Elem { key: key.into(), hash, tick, list, inner });
        if self.kind.lru {
            g.lru[list as usize].insert(tick, slot);
        }
        let b = hash & (self.n_buckets - 1);
        let chain = g.buckets.entry(b).or_default();
        chain.insert(0, slot);
        if let Some((_, p)) = found {
            // The old element sat at `p`, now `p + 1` behind the new head.
            let old = chain.remove(p + 1);
            let e = g.elems[old as usize].take();
            if let Some(e) = e {
                g.lru[e.list as usize].remove(&e.tick);
                g.retired.extend(e.inner);
            }
            if self.prealloc {
                g.extras[cpu] = old;
            } else {
                g.slab.free(old);
            }
        } else {
            g.count += 1;
            g.list_count[list as usize] += 1;
        }
        Ok(())
    }

    fn evict_lru(&self, g: &mut Inner, list: u32) {
        let Some((_, slot)) = g.lru[list as usize].pop_first() else { return };
        let e = g.elems[slot as usize].take().expect("LRU lists live elements");
        let b = e.hash & (self.n_buckets - 1);
        Self::unlink(g, b, slot);
        g.retired.extend(e.inner);
        g.slab.free(slot);
        g.count -= 1;
        g.list_count[list as usize] -= 1;
    }

    fn unlink(g: &mut Inner, b: u32, slot: u32) {
        if let Some(list) = g.buckets.get_mut(&b) {
            list.retain(|&s| s != slot);
            if list.is_empty() {
                g.buckets.remove(&b);
            }
        }
    }

    /// Delete; with `out`, copies the value first (lookup-and-delete).
    pub fn delete(&self, key: &[u8], out: Option<&mut [u8]>) -> Result<(), Errno> {
        self.check_key(key)?;
        let hash = hashfn::hash(key, self.seed);
        let mut guard = self.inner.lock();
        let g = &mut *guard;
        let (b, p) = self.find(g, key, hash).ok_or(Errno::ENOENT)?;
        let slot = g.buckets[&b][p];
        if let Some(out) = out {
            self.copy_out(g, slot, out)?;
        }
        let e = g.elems[slot as usize].take().expect("bucket lists live elements");
        g.lru[e.list as usize].remove(&e.tick);
        g.list_count[e.list as usize] -= 1;
        g.retired.extend(e.inner);
        Self::unlink(g, b, slot);
        g.slab.free(slot);
        g.count -= 1;
        Ok(())
    }

    /// `get_next_key`: the key after `key` in bucket order; the first key
    /// if `key` is `None` or absent; `ENOENT` after the last.
    pub fn get_next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<(), Errno> {
        if next.len() < self.key_size {
            return Err(Errno::EINVAL);
        }
        let g = self.inner.lock();
        let mut start = 0u32;
        if let Some(k) = key {
            self.check_key(k)?;
            let hash = hashfn::hash(k, self.seed);
            if let Some((b, p)) = self.find(&g, k, hash) {
                let list = &g.buckets[&b];
                if let Some(&s) = list.get(p + 1) {
                    return Self::copy_key(&g, s, next);
                }
                start = b + 1;
                if start >= self.n_buckets {
                    return Err(Errno::ENOENT);
                }
            }
        }
        match g.buckets.range(start..).next() {
            Some((_, list)) => Self::copy_key(&g, list[0], next),
            None => Err(Errno::ENOENT),
        }
    }

    fn copy_key(g: &Inner, slot: u32, next: &mut [u8]) -> Result<(), Errno> {
        let e = g.elems[slot as usize].as_ref().expect("bucket lists live elements");
        next[..e.key.len()].copy_from_slice(&e.key);
        Ok(())
    }

    /// `(key, value address)` of every element in iteration order, this
    /// CPU's copy for per-CPU maps. Taken under the lock; callers run
    /// callbacks afterwards, without it.
    pub fn snapshot(&self) -> Vec<(Box<[u8]>, u64)> {
        let off = if self.kind.percpu { self.cpu() as usize * self.stride } else { 0 };
        let g = self.inner.lock();
        let mut v = Vec::with_capacity(g.count as usize);
        for list in g.buckets.values() {
            for &s in list {
                let e = g.elems[s as usize].as_ref().expect("bucket lists live elements");
                v.push((e.key.clone(), g.slab.addr(s, off)));
            }
        }
        v
    }

    /// What a program holding `addr` reads there (tests).
    #[cfg(test)]
    pub fn peek(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        assert!(self.inner.lock().slab.peek(addr, &mut out), "address outside the map");
        out
    }

    /// Number of elements.
    pub fn count(&self) -> u32 {
        self.inner.lock().count
    }

    /// Drops the inner maps removed from a map-in-map; call only when no
    /// program can still use them (the end of an RCU grace period).
    pub fn reclaim(&self) -> usize {
        // Dropped after the lock is released.
        let retired = std::mem::take(&mut self.inner.lock().retired);
        retired.len()
    }

    /// `htab_map_mem_usage()`, with the same structure sizes as x86-64.
    /// Element memory allocated so far (see [`Slab::regions`]); chunks a
    /// map without preallocation adds later are not included.
    pub fn value_regions(&self) -> Vec<(u64, u64, bool)> {
        self.inner.lock().slab.regions().into_iter().map(|(a, l)| (a, l, true)).collect()
    }

    pub fn mem_usage(&self) -> u64 {
        let value = self.stride as u64;
        let cpus = u64::from(self.nr_cpus);
        let elem_size = HTAB_ELEM_SIZE
            + self.key_size.next_multiple_of(8) as u64
            + if self.kind.percpu { 8 } else { value.max(8) };
        let mut usage = HTAB_SIZE + BUCKET_SIZE * u64::from(self.n_buckets);
        if self.prealloc {
            let extra = self.replace_moves && !self.kind.lru;
            let n = u64::from(self.max_entries) + if extra { cpus } else { 0 };
            usage += elem_size * n;
            if self.kind.percpu {
                usage += value * cpus * n;
            } else if !self.kind.lru {
                usage += 8 * cpus;
            }
        } else {
            let n = u64::from(self.count());
            usage += (elem_size + 8) * n;
            if self.kind.percpu {
                usage += 16 * n + value * cpus * n;
            }
        }
        usage
    }
}

/// `BPF_MAP_LOOKUP_ELEM` / `LOOKUP_AND_DELETE` flags: only `BPF_F_LOCK`
/// exists, and it needs a spin lock in the value, which no emulated map
/// has: any flag is `EINVAL`.
pub fn check_lookup_flags(flags: u64) -> Result<(), Errno> {
    if flags != 0 { Err(Errno::EINVAL) } else { Ok(()) }
}

/// Update flags: beyond `BPF_EXIST` (ignoring `BPF_F_LOCK`) is `EINVAL`;
/// `BPF_F_LOCK` without a spin lock in the value is `EINVAL`.
pub fn check_update_flags(flags: u64) -> Result<(), Errno> {
    if (flags & !BPF_F_LOCK) > BPF_EXIST || flags & BPF_F_LOCK != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}
