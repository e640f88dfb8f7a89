//! Packet buffers below 4 GiB, so that the `u32` fields `__sk_buff::data`
//! and `data_end` can hold their addresses.
//!
//! The kernel rewrites a flow dissector's `__sk_buff` loads after
//! verification (`flow_dissector_convert_ctx_access()`: `data` becomes a
//! 64-bit load of `bpf_flow_dissector::data`). bpfemu runs programs on the
//! uapi layout without that rewrite, so it puts the packet where a 32-bit
//! field can point at it: an anonymous mapping made with `MAP_32BIT`
//! (x86-64 Linux). Elsewhere no such buffer exists and running a flow
//! dissector program is `ENOTSUPP`.

use crate::errno::Errno;

/// One mapping below 4 GiB, unmapped on drop.
#[derive(Debug)]
pub struct LowBuf {
    ptr: *mut u8,
    len: usize,
}

impl LowBuf {
    /// A zeroed buffer of `len` bytes (at least one page) whose addresses
    /// fit in 32 bits; `ENOTSUPP` where that cannot be had, `ENOMEM` when
    /// the mapping fails.
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    #[allow(unsafe_code)]
    pub fn new(len: usize) -> Result<LowBuf, Errno> {
        let len = len.max(1).div_ceil(4096) * 4096;
        // SAFETY: an anonymous private mapping with no fixed address touches
        // no existing memory; the result is checked before use.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_32BIT,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Errno::ENOMEM);
        }
        let buf = LowBuf { ptr: p.cast(), len };
        if (buf.ptr as u64).saturating_add(len as u64) > u64::from(u32::MAX) {
            return Err(Errno::ENOTSUPP);
        }
        Ok(buf)
    }

    /// See the other `new`: no 32-bit mappings on this target.
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    pub fn new(_len: usize) -> Result<LowBuf, Errno> {
        Err(Errno::ENOTSUPP)
    }

    /// The whole buffer.
    #[allow(unsafe_code)]
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` is a live mapping of `len` readable and writable
        // bytes owned by `self` (unmapped only in Drop), and the `&mut self`
        // borrow makes this the only reference to it.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for LowBuf {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
        // SAFETY: `ptr`/`len` are exactly the mapping `new` made, and no
        // reference into it outlives `self`.
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_fit_in_32_bits() {
        match LowBuf::new(100) {
            Ok(mut b) => {
                let s = b.as_mut_slice();
                assert_eq!(s.len(), 4096);
                assert!(s.iter().all(|&x| x == 0));
                s[5] = 7;
                assert!((s.as_ptr() as u64) + 4096 <= u64::from(u32::MAX));
            }
            #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
            Err(e) => panic!("no 32-bit mapping on x86-64 Linux: {e:?}"),
            #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
            Err(e) => assert_eq!(e, Errno::ENOTSUPP),
        }
    }
}
