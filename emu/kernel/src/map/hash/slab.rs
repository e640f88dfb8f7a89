//! The element slab of the hash maps: a fixed number of value slots, each
//! 8-byte aligned, whose addresses never change for the map's lifetime
//! (programs keep raw pointers to values), with a free list.
//!
//! The kernel counterpart is the preallocated element area of
//! kernel/bpf/hashtab.c (`prealloc_init()`, `htab->elems`) with its
//! `pcpu_freelist` (kernel/bpf/percpu_freelist.c); for `BPF_F_NO_PREALLOC`
//! maps the kernel allocates elements on demand from `bpf_mem_alloc`.
//!
//! Emulation: slots live in chunks of [`CHUNK_SLOTS`] slots, each chunk one
//! boxed slice of `AtomicU64` that is never moved or freed before the map
//! is. Preallocated maps create every chunk up front; on-demand maps create
//! chunks as they first need them, so a large, sparse `BPF_F_NO_PREALLOC`
//! map does not reserve all its memory. Memory is accessed through atomics
//! only, so this module needs no `unsafe`: the Rust side reads and writes
//! words with relaxed atomic operations while programs access the same
//! memory with plain loads and stores through the addresses handed out
//! (the kernel has the same unsynchronised sharing; `BPF_F_LOCK` would be
//! the way to serialise, and it is not emulated).
//!
//! This is a stand-in for `crate::map::valmem::ValueMem`; the two are to
//! be unified.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

/// Slots per chunk.
pub const CHUNK_SLOTS: u32 = 64;

/// How freed slots are reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reuse {
    /// Last freed, first reused (the kernel's preallocated free list).
    Lifo,
    /// First freed, first reused: a freed element's memory keeps its
    /// contents for as long as possible (stands in for the RCU-deferred
    /// freeing of on-demand elements).
    Fifo,
}

/// Fixed-capacity slab of 8-byte-aligned slots with stable addresses.
#[derive(Debug)]
pub struct Slab {
    slot_words: usize,
    nr_slots: u32,
    chunks: Vec<Box<[AtomicU64]>>,
    /// Slots never handed out yet are `fresh..nr_slots`.
    fresh: u32,
    free: VecDeque<u32>,
    reuse: Reuse,
}

impl Slab {
    /// A slab of `nr_slots` slots of `slot_bytes` bytes (rounded up to 8).
    /// With `prealloc` all memory is allocated (zeroed) now.
    pub fn new(nr_slots: u32, slot_bytes: usize, prealloc: bool, reuse: Reuse) -> Slab {
        let slot_words = slot_bytes.div_ceil(8).max(1);
        let mut s = Slab { slot_words, nr_slots, chunks: Vec::new(), fresh: 0, free: VecDeque::new(), reuse };
        if prealloc {
            while (s.chunks.len() as u64) * u64::from(CHUNK_SLOTS) < u64::from(nr_slots) {
                s.add_chunk();
            }
        }
        s
    }

    /// Bytes of one slot.
    pub fn slot_bytes(&self) -> usize {
        self.slot_words * 8
    }

    /// Bytes of memory allocated so far.
    pub fn allocated_bytes(&self) -> u64 {
        self.chunks.len() as u64 * u64::from(CHUNK_SLOTS) * self.slot_bytes() as u64
    }

    /// `(start, len)` of every allocated chunk: the memory programs may
    /// reach through element addresses.
    pub fn regions(&self) -> Vec<(u64, u64)> {
        let bytes = u64::from(CHUNK_SLOTS) * self.slot_bytes() as u64;
        self.chunks.iter().map(|c| (c.as_ptr().expose_provenance() as u64, bytes)).collect()
    }

    fn add_chunk(&mut self) {
        let words = CHUNK_SLOTS as usize * self.slot_words;
        self.chunks.push((0..words).map(|_| AtomicU64::new(0)).collect());
    }

    /// Takes a free slot (`None` when all are in use).
    pub fn alloc(&mut self) -> Option<u32> {
        if let Some(i) = self.free.pop_front() {
            return Some(i);
        }
        if self.fresh >= self.nr_slots {
            return None;
        }
        let i = self.fresh;
        self.fresh += 1;
        while (self.chunks.len() as u64) * u64::from(CHUNK_SLOTS) <= u64::from(i) {
            self.add_chunk();
        }
        Some(i)
    }

    /// Returns a slot to the free list. Its memory stays mapped and keeps
    /// its contents until the slot is handed out again.
    pub fn free(&mut self, slot: u32) {
        match self.reuse {
            Reuse::Lifo => self.free.push_front(slot),
            Reuse::Fifo => self.free.push_back(slot),
        }
    }

    fn words(&self, slot: u32) -> &[AtomicU64] {
        let chunk = &self.chunks[(slot / CHUNK_SLOTS) as usize];
        let start = (slot % CHUNK_SLOTS) as usize * self.slot_words;
        &chunk[start..start + self.slot_words]
    }

    /// Host address of byte `off` of `slot` (8-aligned when `off` is).
    pub fn addr(&self, slot: u32, off: usize) -> u64 {
        let base = self.words(slot).as_ptr().expose_provenance() as u64;
        base + off as u64
    }

    /// Reads `out.len()` bytes at host address `addr` if it lies in this
    /// slab (tests: what a program holding `addr` would see).
    #[cfg(test)]
    pub fn peek(&self, addr: u64, out: &mut [u8]) -> bool {
        let slot_bytes = self.slot_bytes() as u64;
        for (c, chunk) in self.chunks.iter().enumerate() {
            let base = chunk.as_ptr().expose_provenance() as u64;
            let len = chunk.len() as u64 * 8;
            if addr >= base && addr + out.len() as u64 <= base + len {
                let rel = addr - base;
                let slot = c as u32 * CHUNK_SLOTS + (rel / slot_bytes) as u32;
                self.read(slot, (rel % slot_bytes) as usize, out);
                return true;
            }
        }
        false
    }

    /// Copies `out.len()` bytes from byte `off` of `slot`.
    pub fn read(&self, slot: u32, off: usize, out: &mut [u8]) {
        let words = self.words(slot);
        for (i, b) in out.iter_mut().enumerate() {
            let pos = off + i;
            let w = words[pos / 8].load(Ordering::Relaxed).to_ne_bytes();
            *b = w[pos % 8];
        }
    }

    /// Copies `src` to byte `off` of `slot`. Whole words are stored at
    /// once; partial words are read, merged and stored.
    pub fn write(&self, slot: u32, off: usize, src: &[u8]) {
        let words = self.words(slot);
        let mut pos = off;
        let end = off + src.len();
        while pos < end {
            let w = pos / 8;
            let in_word = pos % 8;
            let n = (8 - in_word).min(end - pos);
            let cell = &words[w];
            let mut bytes = if n == 8 { [0; 8] } else { cell.load(Ordering::Relaxed).to_ne_bytes() };
            bytes[in_word..in_word + n].copy_from_slice(&src[pos - off..pos - off + n]);
            cell.store(u64::from_ne_bytes(bytes), Ordering::Relaxed);
            pos += n;
        }
    }

    /// Zeroes `len` bytes from byte `off` of `slot`.
    pub fn zero(&self, slot: u32, off: usize, len: usize) {
        const Z: [u8; 64] = [0; 64];
        let mut done = 0;
        while done < len {
            let n = (len - done).min(Z.len());
            self.write(slot, off + done, &Z[..n]);
            done += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_aligned_stable_and_reused_in_order() {
        let mut s = Slab::new(130, 12, false, Reuse::Lifo);
        assert_eq!(s.slot_bytes(), 16);
        let a = s.alloc().unwrap();
        let addr = s.addr(a, 0);
        assert_eq!(addr % 8, 0);
        let mut all = vec![a];
        while let Some(i) = s.alloc() {
            all.push(i);
        }
        assert_eq!(all.len(), 130);
        assert_eq!(s.addr(a, 0), addr, "growing must not move earlier slots");
        s.free(3);
        s.free(5);
        assert_eq!(s.alloc(), Some(5));
        let mut f = Slab::new(4, 8, true, Reuse::Fifo);
        (0..4).for_each(|_| {
            f.alloc().unwrap();
        });
        f.free(1);
        f.free(2);
        assert_eq!(f.alloc(), Some(1));
    }

    #[test]
    fn read_write_unaligned_ranges() {
        let s = Slab::new(2, 24, true, Reuse::Lifo);
        s.write(1, 3, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        let mut out = [0xffu8; 16];
        s.read(1, 0, &mut out);
        assert_eq!(out, [0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0, 0]);
        s.zero(1, 4, 2);
        s.read(1, 0, &mut out[..8]);
        assert_eq!(&out[..8], &[0, 0, 0, 1, 0, 0, 4, 5]);
        let mut other = [0xffu8; 24];
        s.read(0, 0, &mut other);
        assert_eq!(other, [0; 24]);
    }
}
