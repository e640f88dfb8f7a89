//! Dynptr helpers: `bpf_dynptr_from_mem`, `bpf_dynptr_read`,
//! `bpf_dynptr_write`, `bpf_dynptr_data` (kernel/bpf/helpers.c) and the
//! ring buffer's `bpf_ringbuf_reserve_dynptr`, `_submit_dynptr`,
//! `_discard_dynptr` (kernel/bpf/ringbuf.c).
//!
//! The program's opaque 16-byte `struct bpf_dynptr` holds the kernel's
//! `struct bpf_dynptr_kern` ([`DynptrKern`]): the data address (8 bytes),
//! the size with the type in bits 28-30 and the read-only flag in bit 31,
//! and the offset (4 bytes each), little endian. Only these helpers write
//! it: the verifier refuses any other write to (and any read of) its
//! stack slots, so for a verified program the helpers trust it as the
//! kernel does. For an unverified (checked, or paranoid) run the dynptr's
//! own bytes and every byte reached through it are validated against the
//! run's memory (`Ptr::Proven`: trusted when verified, validated
//! otherwise), so a forged dynptr reaches nothing the run may not touch
//! (`-EFAULT`, or NULL from `bpf_dynptr_data`).
//!
//! Errors as the kernel's: a size above `DYNPTR_MAX_SIZE` (2^24 - 1) is
//! `-E2BIG`, non-zero flags `-EINVAL` (`from_mem` and `reserve_dynptr`
//! then leave a null dynptr, which `read`/`write` refuse with `-EINVAL`
//! and `submit`/`discard` ignore), an offset and length beyond the
//! dynptr's size `-E2BIG`, a failed reservation `-EINVAL` (with a null
//! dynptr that must still be submitted or discarded: the verifier tracks
//! the reference either way).

use super::guest::{self, Ptr};
use super::neg;
use super::ringbuf;
use crate::errno::Errno;
use crate::runctx::{self, RunCtx};

/// `DYNPTR_MAX_SIZE`.
pub const DYNPTR_MAX_SIZE: u32 = (1 << 24) - 1;
/// `DYNPTR_SIZE_MASK`.
const DYNPTR_SIZE_MASK: u32 = 0xff_ffff;
/// `DYNPTR_TYPE_SHIFT`.
const DYNPTR_TYPE_SHIFT: u32 = 28;
/// `DYNPTR_RDONLY_BIT`.
const DYNPTR_RDONLY_BIT: u32 = 1 << 31;
/// `BPF_DYNPTR_TYPE_LOCAL`.
pub const BPF_DYNPTR_TYPE_LOCAL: u32 = 1;
/// `BPF_DYNPTR_TYPE_RINGBUF`.
pub const BPF_DYNPTR_TYPE_RINGBUF: u32 = 2;
/// `sizeof(struct bpf_dynptr)`.
pub const BPF_DYNPTR_SIZE: usize = 16;

/// `struct bpf_dynptr_kern`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DynptrKern {
    pub data: u64,
    /// Size, type and read-only bit.
    pub size: u32,
    pub offset: u32,
}

impl DynptrKern {
    /// `bpf_dynptr_init()`.
    pub fn new(data: u64, typ: u32, offset: u32, size: u32) -> DynptrKern {
        DynptrKern { data, size: size | typ << DYNPTR_TYPE_SHIFT, offset }
    }

    pub fn to_bytes(self) -> [u8; BPF_DYNPTR_SIZE] {
        let mut b = [0u8; BPF_DYNPTR_SIZE];
        b[..8].copy_from_slice(&self.data.to_le_bytes());
        b[8..12].copy_from_slice(&self.size.to_le_bytes());
        b[12..].copy_from_slice(&self.offset.to_le_bytes());
        b
    }

    pub fn from_bytes(b: &[u8]) -> Option<DynptrKern> {
        Some(DynptrKern {
            data: u64::from_le_bytes(b.get(..8)?.try_into().ok()?),
            size: u32::from_le_bytes(b.get(8..12)?.try_into().ok()?),
            offset: u32::from_le_bytes(b.get(12..16)?.try_into().ok()?),
        })
    }

    /// `__bpf_dynptr_size()`.
    pub fn size(self) -> u32 {
        self.size & DYNPTR_SIZE_MASK
    }

    /// `bpf_dynptr_get_type()`.
    pub fn typ(self) -> u32 {
        (self.size & !DYNPTR_RDONLY_BIT) >> DYNPTR_TYPE_SHIFT
    }

    /// `__bpf_dynptr_is_rdonly()`.
    pub fn rdonly(self) -> bool {
        self.size & DYNPTR_RDONLY_BIT != 0
    }

    /// `bpf_dynptr_check_off_len()`: the address of `[offset, offset +
    /// len)` inside the dynptr, or `-E2BIG`.
    fn at(self, offset: u32, len: u32) -> Result<u64, u64> {
        let size = self.size();
        if len > size || offset > size - len {
            return Err(neg(Errno::E2BIG));
        }
        Ok(self.data.wrapping_add(u64::from(self.offset)).wrapping_add(u64::from(offset)))
    }
}

/// `bpf_dynptr_check_size()`.
fn check_size(size: u32) -> Result<(), Errno> {
    if size > DYNPTR_MAX_SIZE { Err(Errno::E2BIG) } else { Ok(()) }
}

/// The dynptr at `ptr`, if its 16 bytes may be read.
fn load(c: &RunCtx, ptr: u64) -> Option<DynptrKern> {
    guest::read(c, ptr, BPF_DYNPTR_SIZE, Ptr::Proven).and_then(|b| DynptrKern::from_bytes(&b))
}

/// Writes the dynptr at `ptr`; `false` if its bytes may not be written.
fn store(c: &RunCtx, ptr: u64, d: DynptrKern) -> bool {
    guest::write(c, ptr, &d.to_bytes(), Ptr::Proven)
}

/// `bpf_dynptr_set_null()`, then `err`.
fn set_null(c: &RunCtx, ptr: u64, err: Errno) -> u64 {
    if !store(c, ptr, DynptrKern::default()) {
        return neg(Errno::EFAULT);
    }
    neg(err)
}

/// `long bpf_dynptr_from_mem(data, size, flags, ptr)`: a local dynptr over
/// `[data, data + size)`.
pub extern "C" fn dynptr_from_mem(data: u64, size: u64, flags: u64, ptr: u64, _: u64) -> u64 {
    let size = size as u32;
    runctx::with(|c| {
        if let Err(e) = check_size(size) {
            return set_null(c, ptr, e);
        }
        if flags != 0 {
            return set_null(c, ptr, Errno::EINVAL);
        }
        // The verifier proved the memory for `size` bytes; an unverified
        // run must show it.
        if !guest::valid(c, data, u64::from(size), true, Ptr::Proven) {
            return set_null(c, ptr, Errno::EFAULT);
        }
        if !store(c, ptr, DynptrKern::new(data, BPF_DYNPTR_TYPE_LOCAL, 0, size)) {
            return neg(Errno::EFAULT);
        }
        0
    })
    .unwrap_or(neg(Errno::EFAULT))
}

/// `long bpf_dynptr_read(dst, len, src, offset, flags)`.
pub extern "C" fn dynptr_read(dst: u64, len: u64, src: u64, offset: u64, flags: u64) -> u64 {
    let (len, offset) = (len as u32, offset as u32);
    runctx::with(|c| {
        let Some(d) = load(c, src) else { return neg(Errno::EFAULT) };
        if d.data == 0 || flags != 0 {
            return neg(Errno::EINVAL);
        }
        let from = match d.at(offset, len) {
            Ok(a) => a,
            Err(e) => return e,
        };
        // memmove: read whole, then write (the ranges may overlap).
        let Some(bytes) = guest::read(c, from, len as usize, Ptr::Proven) else {
            return neg(Errno::EFAULT);
        };
        if !guest::write(c, dst, &bytes, Ptr::Proven) {
            return neg(Errno::EFAULT);
        }
        0
    })
    .unwrap_or(neg(Errno::EFAULT))
}

/// `long bpf_dynptr_write(dst, offset, src, len, flags)`.
pub extern "C" fn dynptr_write(dst: u64, offset: u64, src: u64, len: u64, flags: u64) -> u64 {
    let (len, offset) = (len as u32, offset as u32);
    runctx::with(|c| {
        let Some(d) = load(c, dst) else { return neg(Errno::EFAULT) };
        if d.data == 0 || d.rdonly() {
            return neg(Errno::EINVAL);
        }
        let to = match d.at(offset, len) {
            Ok(a) => a,
            Err(e) => return e,
        };
        if flags != 0 {
            return neg(Errno::EINVAL);
        }
        let Some(bytes) = guest::read(c, src, len as usize, Ptr::Proven) else {
            return neg(Errno::EFAULT);
        };
        if !guest::write(c, to, &bytes, Ptr::Proven) {
            return neg(Errno::EFAULT);
        }
        0
    })
    .unwrap_or(neg(Errno::EFAULT))
}

/// `void *bpf_dynptr_data(ptr, offset, len)`: the address of `len` bytes
/// at `offset`, or NULL (null or read-only dynptr, out of bounds).
pub extern "C" fn dynptr_data(ptr: u64, offset: u64, len: u64, _: u64, _: u64) -> u64 {
    let (len, offset) = (len as u32, offset as u32);
    runctx::with(|c| {
        let Some(d) = load(c, ptr) else { return 0 };
        if d.data == 0 || d.rdonly() {
            return 0;
        }
        match d.at(offset, len) {
            Ok(a) if guest::valid(c, a, u64::from(len), true, Ptr::Proven) => a,
            _ => 0,
        }
    })
    .unwrap_or(0)
}

/// `long bpf_ringbuf_reserve_dynptr(map, size, flags, ptr)`.
pub extern "C" fn ringbuf_reserve_dynptr(map: u64, size: u64, flags: u64, ptr: u64, _: u64) -> u64 {
    let size = size as u32;
    let early = runctx::with(|c| {
        if !guest::valid(c, ptr, BPF_DYNPTR_SIZE as u64, true, Ptr::Proven) {
            return Some(neg(Errno::EFAULT));
        }
        if flags != 0 {
            return Some(set_null(c, ptr, Errno::EINVAL));
        }
        check_size(size).err().map(|e| set_null(c, ptr, e))
    });
    match early {
        Some(None) => {}
        Some(Some(r)) => return r,
        None => return neg(Errno::EFAULT),
    }
    // Outside any borrow of the run context: the reservation takes it.
    let sample = ringbuf::ringbuf_reserve(map, u64::from(size), 0, 0, 0);
    runctx::with(|c| {
        if sample == 0 {
            return set_null(c, ptr, Errno::EINVAL);
        }
        if !store(c, ptr, DynptrKern::new(sample, BPF_DYNPTR_TYPE_RINGBUF, 0, size)) {
            return neg(Errno::EFAULT);
        }
        0
    })
    .unwrap_or(neg(Errno::EFAULT))
}

/// Submit or discard the record of the ring-buffer dynptr at `ptr`, then
/// make it null; a null dynptr is left alone.
fn commit_dynptr(ptr: u64, flags: u64, discard: bool) -> u64 {
    let Some(d) = runctx::with(|c| load(c, ptr)).flatten() else { return neg(Errno::EFAULT) };
    if d.data == 0 {
        return 0;
    }
    if d.typ() != BPF_DYNPTR_TYPE_RINGBUF {
        // Only a forged dynptr of an unverified program gets here.
        return neg(Errno::EINVAL);
    }
    let r = if discard {
        ringbuf::ringbuf_discard(d.data, flags, 0, 0, 0)
    } else {
        ringbuf::ringbuf_submit(d.data, flags, 0, 0, 0)
    };
    if r != 0 {
        return r;
    }
    runctx::with(|c| store(c, ptr, DynptrKern::default()));
    0
}

/// `void bpf_ringbuf_submit_dynptr(ptr, flags)`.
pub extern "C" fn ringbuf_submit_dynptr(ptr: u64, flags: u64, _: u64, _: u64, _: u64) -> u64 {
    commit_dynptr(ptr, flags, false)
}

/// `void bpf_ringbuf_discard_dynptr(ptr, flags)`.
pub extern "C" fn ringbuf_discard_dynptr(ptr: u64, flags: u64, _: u64, _: u64, _: u64) -> u64 {
    commit_dynptr(ptr, flags, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kern_layout_round_trips() {
        let d = DynptrKern::new(0x1122_3344_5566_7788, BPF_DYNPTR_TYPE_RINGBUF, 4, 100);
        let b = d.to_bytes();
        assert_eq!(&b[..8], &0x1122_3344_5566_7788u64.to_le_bytes());
        assert_eq!(u32::from_le_bytes(b[8..12].try_into().unwrap()), 100 | 2 << 28);
        assert_eq!(DynptrKern::from_bytes(&b), Some(d));
        assert_eq!((d.size(), d.typ(), d.rdonly()), (100, BPF_DYNPTR_TYPE_RINGBUF, false));
    }

    #[test]
    fn bounds_are_e2big() {
        let d = DynptrKern::new(0x1000, BPF_DYNPTR_TYPE_LOCAL, 0, 8);
        assert_eq!(d.at(0, 8), Ok(0x1000));
        assert_eq!(d.at(8, 0), Ok(0x1008));
        assert_eq!(d.at(1, 8), Err(neg(Errno::E2BIG)));
        assert_eq!(d.at(9, 0), Err(neg(Errno::E2BIG)));
        assert_eq!(d.at(u32::MAX, 1), Err(neg(Errno::E2BIG)));
        assert_eq!(check_size(DYNPTR_MAX_SIZE), Ok(()));
        assert_eq!(check_size(DYNPTR_MAX_SIZE + 1), Err(Errno::E2BIG));
    }
}
