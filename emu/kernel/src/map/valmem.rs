//! Value memory of maps: one zeroed, 8-byte aligned buffer that never moves
//! or grows for the lifetime of its owner (the kernel's `bpf_map_area_alloc`
//! area behind `struct bpf_array`'s `value[]`, or a hash map's element
//! pool).
//!
//! Programs get raw addresses into this buffer (the result of
//! `bpf_map_lookup_elem`, `BPF_PSEUDO_MAP_VALUE` loads) and read and write
//! it with plain loads and stores, from any CPU, while the syscall side
//! copies values in and out. [`ValueMem`] is therefore a bag of
//! `UnsafeCell`s: Rust code never forms a reference to its contents, only
//! raw pointers, and copies bytes with `ptr::copy_nonoverlapping`.
//!
//! Concurrency: a syscall-side copy racing with a program's store to the
//! same bytes may observe a torn value. That is what the kernel does too
//! (`copy_map_value()` is a plain `memcpy` unless the value holds a
//! `bpf_spin_lock` and `BPF_F_LOCK` is used), and the emulated programs rely
//! on nothing stronger. Copies never go outside the buffer: every method
//! checks its range and panics on a caller bug.
//!
//! This is one of the few modules allowed to use `unsafe` (see
//! ARCHITECTURE.md, "Conventions").

#![allow(unsafe_code)]

use crate::errno::Errno;
use std::cell::UnsafeCell;
use std::fmt;

/// The emulator's ceiling on one value-memory allocation, in bytes. A map
/// whose values need more fails with `ENOMEM`, as the kernel's
/// `bpf_map_area_alloc()` fails for areas vmalloc cannot provide.
pub const MAX_ALLOC: usize = 1 << 30;

/// A zeroed, 8-byte aligned byte buffer at a fixed address, shared between
/// the syscall side (through [`ValueMem::read`] / [`ValueMem::write`]) and
/// running programs (through raw addresses from [`ValueMem::addr`]).
pub struct ValueMem {
    /// Backing words: `u64` gives the 8-byte alignment, `UnsafeCell` the
    /// permission to mutate through shared references. The boxed slice is
    /// never reallocated, so addresses stay valid until drop.
    words: Box<[UnsafeCell<u64>]>,
    len: usize,
}

// SAFETY: `ValueMem` is plain memory with no thread affinity; it owns its
// buffer, so moving it to another thread is sound.
unsafe impl Send for ValueMem {}

// SAFETY: shared access only ever reaches the contents through raw-pointer
// byte copies (never references), so no Rust reference aliasing rule is at
// stake; concurrent copies to the same bytes may tear, exactly as the
// kernel's unlocked `memcpy` of map values (documented above).
unsafe impl Sync for ValueMem {}

impl fmt::Debug for ValueMem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValueMem")
            .field("base", &format_args!("{:#x}", self.base()))
            .field("len", &self.len)
            .finish()
    }
}

impl ValueMem {
    /// Allocates `len` zeroed bytes (rounded up to whole 8-byte words);
    /// `ENOMEM` above [`MAX_ALLOC`] or when the host refuses the memory.
    pub fn new(len: usize) -> Result<ValueMem, Errno> {
        if len > MAX_ALLOC {
            return Err(Errno::ENOMEM);
        }
        let nwords = len.div_ceil(8).max(1);
        let mut v: Vec<UnsafeCell<u64>> = Vec::new();
        v.try_reserve_exact(nwords).map_err(|_| Errno::ENOMEM)?;
        v.resize_with(nwords, || UnsafeCell::new(0));
        Ok(ValueMem { words: v.into_boxed_slice(), len })
    }

    /// Usable length in bytes (as asked for in [`ValueMem::new`]).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn ptr(&self) -> *mut u8 {
        UnsafeCell::raw_get(self.words.as_ptr()).cast::<u8>()
    }

    /// Address of the first byte, as programs see it (provenance exposed so
    /// the VM can turn the number back into a pointer).
    pub fn base(&self) -> u64 {
        self.ptr().expose_provenance() as u64
    }

    /// Address of byte `offset` (`offset <= len`); panics beyond the end.
    pub fn addr(&self, offset: usize) -> u64 {
        assert!(offset <= self.len, "ValueMem::addr({offset}) beyond {}", self.len);
        self.base() + offset as u64
    }

    fn check(&self, offset: usize, n: usize) {
        let end = offset.checked_add(n).expect("ValueMem range overflows");
        assert!(end <= self.len, "ValueMem range {offset}..{end} beyond {}", self.len);
    }

    /// Copies `out.len()` bytes starting at `offset` into `out`.
    pub fn read(&self, offset: usize, out: &mut [u8]) {
        self.check(offset, out.len());
        // SAFETY: the range offset..offset+out.len() lies inside the live
        // buffer (checked above); `out` is a distinct Rust allocation, so
        // the regions do not overlap. Racing program stores can only tear
        // the copied bytes (see the module comment).
        unsafe { std::ptr::copy_nonoverlapping(self.ptr().add(offset), out.as_mut_ptr(), out.len()) }
    }

    /// Copies `src` into the buffer starting at `offset`.
    pub fn write(&self, offset: usize, src: &[u8]) {
        self.check(offset, src.len());
        // SAFETY: the destination range lies inside the live buffer (checked
        // above) and the buffer is mutable through `UnsafeCell`; `src`
        // cannot overlap it because no reference into the buffer is ever
        // handed out. Concurrent writers can only tear values, as in the
        // kernel.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr().add(offset), src.len()) }
    }

    /// Sets `n` bytes starting at `offset` to zero.
    pub fn zero(&self, offset: usize, n: usize) {
        self.check(offset, n);
        // SAFETY: the range lies inside the live buffer (checked above),
        // which is mutable through `UnsafeCell`.
        unsafe { std::ptr::write_bytes(self.ptr().add(offset), 0, n) }
    }

    /// Copies `n` bytes from `src_off` to `dst_off` inside the buffer (the
    /// ranges may overlap).
    pub fn copy_within(&self, src_off: usize, dst_off: usize, n: usize) {
        self.check(src_off, n);
        self.check(dst_off, n);
        // SAFETY: both ranges lie inside the live buffer (checked above);
        // `ptr::copy` allows them to overlap.
        unsafe { std::ptr::copy(self.ptr().add(src_off), self.ptr().add(dst_off), n) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_aligned_and_bounded() {
        let m = ValueMem::new(20).unwrap();
        assert_eq!(m.len(), 20);
        assert_eq!(m.base() % 8, 0);
        let mut out = [0xffu8; 20];
        m.read(0, &mut out);
        assert_eq!(out, [0; 20]);
        m.write(3, &[1, 2, 3]);
        let mut b = [0u8; 5];
        m.read(2, &mut b);
        assert_eq!(b, [0, 1, 2, 3, 0]);
        m.copy_within(3, 10, 3);
        m.read(10, &mut b[..3]);
        assert_eq!(&b[..3], &[1, 2, 3]);
        m.zero(3, 3);
        m.read(2, &mut b);
        assert_eq!(b, [0; 5]);
        assert_eq!(m.addr(20), m.base() + 20);
        assert_eq!(ValueMem::new(MAX_ALLOC + 1).unwrap_err(), Errno::ENOMEM);
    }

    #[test]
    #[should_panic]
    fn out_of_range_write_panics() {
        ValueMem::new(8).unwrap().write(5, &[0; 4]);
    }
}
