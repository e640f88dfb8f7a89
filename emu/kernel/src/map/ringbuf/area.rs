//! Shared memory of the ring buffer and the perf buffer: a memfd mapped
//! into this process as a list of segments placed back to back, so the
//! ring buffer's data pages can appear twice in a row (the virtual
//! contiguity `bpf_ringbuf_area_alloc()` builds with `vmap()` in
//! kernel/bpf/ringbuf.c, and that libbpf's `ring_buffer__add()` gets from
//! two `mmap()` calls on the map fd).
//!
//! How: reserve the whole address range with one anonymous `PROT_NONE`
//! mapping, then map each segment of the memfd over it with `MAP_FIXED |
//! MAP_SHARED`; one `munmap` of the whole range on drop. Every raw access
//! to the mapping goes through the accessors here (the only `unsafe` of the
//! ring and perf buffers), which check bounds and alignment first.

#![allow(unsafe_code)]

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::mm::{MapFlags, ProtFlags};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64};

/// One piece of a [`Mapping`]: `len` bytes of the file from `file_off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seg {
    pub file_off: u64,
    pub len: usize,
    pub writable: bool,
}

/// A mapping of a memfd as consecutive segments.
#[derive(Debug)]
pub struct Mapping {
    base: NonNull<u8>,
    len: usize,
    /// Which byte ranges of the mapping are writable (start, end).
    writable: Vec<(usize, usize)>,
}

// SAFETY: the mapping is plain shared memory owned by this value; all
// accesses through it are atomics or byte copies whose synchronisation is
// the callers' protocol (acquire/release on positions and headers).
unsafe impl Send for Mapping {}
// SAFETY: as for `Send`: `&Mapping` only gives atomic or copying access.
unsafe impl Sync for Mapping {}

/// A new memfd of `len` bytes (zero-filled).
pub fn memfd(name: &str, len: u64) -> rustix::io::Result<OwnedFd> {
    let fd = rustix::fs::memfd_create(name, rustix::fs::MemfdFlags::CLOEXEC)?;
    rustix::fs::ftruncate(&fd, len)?;
    Ok(fd)
}

impl Mapping {
    /// Maps `segs` of `fd` back to back. Every segment length and file
    /// offset must be a multiple of the host page size.
    pub fn new(fd: BorrowedFd<'_>, segs: &[Seg]) -> rustix::io::Result<Mapping> {
        let page = rustix::param::page_size();
        let len: usize = segs.iter().map(|s| s.len).sum();
        if len == 0 || segs.iter().any(|s| s.len % page != 0 || s.file_off % page as u64 != 0) {
            return Err(rustix::io::Errno::INVAL);
        }
        // SAFETY: a fresh anonymous reservation at an address the kernel
        // chooses: it cannot alias any existing Rust object.
        let base = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                len,
                ProtFlags::empty(),
                MapFlags::PRIVATE | MapFlags::NORESERVE,
            )?
        };
        let base = NonNull::new(base.cast::<u8>()).ok_or(rustix::io::Errno::NOMEM)?;
        let mut m = Mapping { base, len, writable: Vec::new() };
        let mut at = 0usize;
        for s in segs {
            let prot = if s.writable { ProtFlags::READ | ProtFlags::WRITE } else { ProtFlags::READ };
            // SAFETY: `[base+at, base+at+len)` lies inside the reservation
            // made above, which this value owns and nothing else references;
            // MAP_FIXED replaces that part of the reservation only. On error
            // `m` is dropped, which unmaps the whole reservation.
            let got = unsafe {
                rustix::mm::mmap(
                    base.as_ptr().add(at).cast(),
                    s.len,
                    prot,
                    MapFlags::SHARED | MapFlags::FIXED,
                    fd.as_fd(),
                    s.file_off,
                )?
            };
            debug_assert_eq!(got.cast::<u8>(), base.as_ptr().wrapping_add(at));
            if s.writable {
                // Adjacent writable segments form one writable range.
                match m.writable.last_mut() {
                    Some(last) if last.1 == at => last.1 = at + s.len,
                    _ => m.writable.push((at, at + s.len)),
                }
            }
            at += s.len;
        }
        Ok(m)
    }

    /// Length of the whole mapping.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty (never: kept for clippy's sake).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The host address of offset `off` (what programs get as a pointer).
    pub fn addr(&self, off: usize) -> u64 {
        self.base.as_ptr().expose_provenance() as u64 + off as u64
    }

    /// The offset of host address `addr`, if it lies in the mapping.
    pub fn offset_of(&self, addr: u64) -> Option<usize> {
        let start = self.addr(0);
        (addr >= start && addr < start + self.len as u64).then(|| (addr - start) as usize)
    }

    fn in_bounds(&self, off: usize, len: usize) -> bool {
        off.checked_add(len).is_some_and(|end| end <= self.len)
    }

    fn is_writable(&self, off: usize, len: usize) -> bool {
        self.writable.iter().any(|&(s, e)| off >= s && off + len <= e)
    }

    /// The 64-bit word at `off` (8-byte aligned, in bounds) as an atomic.
    /// Panics on a bad offset: offsets come from this crate's own layout.
    pub fn u64_at(&self, off: usize) -> &AtomicU64 {
        assert!(off.is_multiple_of(8) && self.in_bounds(off, 8), "bad u64 offset {off}");
        // SAFETY: in bounds and aligned (checked; the base is page aligned),
        // valid for the lifetime of `self` (unmapped only on drop). Every
        // access to the shared positions and headers is atomic, so no
        // non-atomic access races with it. A read-only segment is only
        // ever loaded from: stores are made by writers that hold a writable
        // view (the ring buffer's own, or the consumer page).
        unsafe { AtomicU64::from_ptr(self.base.as_ptr().add(off).cast::<u64>()) }
    }

    /// The 32-bit word at `off` (4-byte aligned, in bounds) as an atomic.
    pub fn u32_at(&self, off: usize) -> &AtomicU32 {
        assert!(off.is_multiple_of(4) && self.in_bounds(off, 4), "bad u32 offset {off}");
        // SAFETY: as for `u64_at`.
        unsafe { AtomicU32::from_ptr(self.base.as_ptr().add(off).cast::<u32>()) }
    }

    /// Copies `out.len()` bytes from `off`.
    pub fn read(&self, off: usize, out: &mut [u8]) {
        assert!(self.in_bounds(off, out.len()), "read out of the mapping");
        // SAFETY: the source range is inside the mapping (checked) and
        // `out` is a distinct Rust buffer; bytes are copied, no reference
        // into the shared memory is formed.
        unsafe { std::ptr::copy_nonoverlapping(self.base.as_ptr().add(off), out.as_mut_ptr(), out.len()) }
    }

    /// Copies `data` to `off`, which must lie in a writable segment.
    pub fn write(&self, off: usize, data: &[u8]) {
        assert!(self.is_writable(off, data.len()), "write outside a writable segment");
        // SAFETY: the destination is inside a writable segment (checked);
        // `data` is a Rust buffer, never this mapping (callers copy from
        // guest memory through `helpers::guest` first), so no overlap.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.base.as_ptr().add(off), data.len()) }
    }

    /// A shared view of `len` bytes at `off`.
    ///
    /// # Safety
    /// No one may write those bytes while the returned slice lives. The
    /// ring-buffer consumer uses it for a committed record between its
    /// header's acquire load and its release of the consumer position:
    /// producers write only to space they reserved, and space is not
    /// reserved again before the consumer position moves past it.
    pub unsafe fn slice(&self, off: usize, len: usize) -> &[u8] {
        assert!(self.in_bounds(off, len), "slice out of the mapping");
        // SAFETY: in bounds (checked), valid for `self`'s lifetime, and
        // not written meanwhile by the caller's contract.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr().add(off), len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `[base, base+len)` is exactly the reservation this value
        // made and owns; references into it borrow `self`, so none are left.
        let _ = unsafe { rustix::mm::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_pages_appear_twice() {
        let page = rustix::param::page_size();
        let fd = memfd("t", (3 * page) as u64).unwrap();
        let segs = [
            Seg { file_off: 0, len: 3 * page, writable: true },
            Seg { file_off: page as u64, len: 2 * page, writable: true },
        ];
        let m = Mapping::new(fd.as_fd(), &segs).unwrap();
        assert_eq!(m.len(), 5 * page);
        m.write(3 * page - 4, b"WRAPPED!");
        let mut b = [0u8; 8];
        m.read(3 * page - 4, &mut b);
        assert_eq!(&b, b"WRAPPED!");
        m.read(page, &mut b[..4]);
        assert_eq!(&b[..4], b"PED!");
        // A read-only view of the same file sees the writes.
        let ro = Mapping::new(fd.as_fd(), &[Seg { file_off: 0, len: 3 * page, writable: false }]).unwrap();
        ro.read(page, &mut b[..4]);
        assert_eq!(&b[..4], b"PED!");
        assert_eq!(m.offset_of(m.addr(7)), Some(7));
        assert_eq!(m.offset_of(m.addr(5 * page)), None);
    }
}
