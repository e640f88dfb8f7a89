//! `bpf_probe_read_kernel`, `bpf_probe_read_user` and their `_str`
//! variants (kernel/trace/bpf_trace.c over mm/maccess.c).
//!
//! The source is an arbitrary address the verifier never checks: it is
//! validated against the run's regions in every mode, and an address
//! outside them fails as a faulting `copy_from_kernel_nofault()` does —
//! `-EFAULT` with the destination zeroed. The destination is a
//! verifier-checked `ARG_PTR_TO_UNINIT_MEM`: trusted for verified programs,
//! validated otherwise (not writable: `-EFAULT`, nothing written).
//!
//! Not emulated: the split between user and kernel address spaces (the
//! kernel refuses user addresses in `_kernel` and vice versa; here both
//! read any registered region), and partial reads that fault midway (the
//! kernel may have copied a prefix before zeroing; the result is the same).

use super::guest::{self, Ptr};
use super::neg;
use crate::errno::Errno;
use crate::runctx;

fn read_common(dst: u64, size: u64, src: u64) -> u64 {
    let size = size as u32 as usize;
    runctx::with(|c| {
        if !guest::valid(c, dst, size as u64, true, Ptr::Proven) {
            return neg(Errno::EFAULT);
        }
        match guest::read(c, src, size, Ptr::Unproven) {
            Some(bytes) => {
                guest::write(c, dst, &bytes, Ptr::Proven);
                0
            }
            None => {
                guest::fill(c, dst, size, 0, Ptr::Proven);
                neg(Errno::EFAULT)
            }
        }
    })
    .unwrap_or(neg(Errno::EFAULT))
}

/// Copies the string at `src` into `dst` (at most `size` bytes, always
/// NUL-terminated when `size > 0`, the rest of `dst` untouched) and returns
/// its length including the NUL; `size == 0` returns 0.
fn read_str_common(dst: u64, size: u64, src: u64) -> u64 {
    let size = size as u32 as usize;
    runctx::with(|c| {
        if !guest::valid(c, dst, size as u64, true, Ptr::Proven) {
            return neg(Errno::EFAULT);
        }
        if size == 0 {
            return 0;
        }
        match guest::read_str(c, src, size, Ptr::Unproven) {
            Ok(mut s) => {
                s.push(0);
                guest::write(c, dst, &s, Ptr::Proven);
                s.len() as u64
            }
            Err(()) => {
                guest::fill(c, dst, size, 0, Ptr::Proven);
                neg(Errno::EFAULT)
            }
        }
    })
    .unwrap_or(neg(Errno::EFAULT))
}

/// `long bpf_probe_read_user(dst, size, unsafe_ptr)`.
pub extern "C" fn probe_read_user(dst: u64, size: u64, src: u64, _: u64, _: u64) -> u64 {
    read_common(dst, size, src)
}

/// `long bpf_probe_read_kernel(dst, size, unsafe_ptr)`.
pub extern "C" fn probe_read_kernel(dst: u64, size: u64, src: u64, _: u64, _: u64) -> u64 {
    read_common(dst, size, src)
}

/// `long bpf_probe_read_user_str(dst, size, unsafe_ptr)`.
pub extern "C" fn probe_read_user_str(dst: u64, size: u64, src: u64, _: u64, _: u64) -> u64 {
    read_str_common(dst, size, src)
}

/// `long bpf_probe_read_kernel_str(dst, size, unsafe_ptr)`.
pub extern "C" fn probe_read_kernel_str(dst: u64, size: u64, src: u64, _: u64, _: u64) -> u64 {
    read_str_common(dst, size, src)
}
