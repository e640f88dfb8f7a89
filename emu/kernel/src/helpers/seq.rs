//! `bpf_seq_printf` and `bpf_seq_write` (kernel/trace/bpf_trace.c), the
//! output helpers of iterator programs, over the seq_file buffer of the
//! read in progress ([`crate::runctx::RunCtx::seq`], an
//! [`crate::iter::seq::SeqBuf`]).
//!
//! `bpf_seq_printf(m, fmt, fmt_size, data, data_len)`: `data_len` a
//! multiple of 8, at most 12 arguments, and a NULL `data` only with
//! `data_len` 0 (`-EINVAL`); `fmt` must hold a NUL within `fmt_size`
//! bytes and pass `bpf_bprintf_prepare()` ([`super::printf`]); the
//! rendering is appended as `seq_bprintf()` does it: it must fit with
//! room to spare (`count + len < size`), else the buffer is marked
//! overflowed; returns `-EOVERFLOW` when the buffer has overflowed, else
//! 0. `bpf_seq_write(m, data, len)`: appends `len` bytes if they fit
//! (`count + len <= size`, `seq_write()`), else marks the overflow and
//! returns `-EOVERFLOW`.
//!
//! `m` must be the seq_file of the run (the verifier proves a
//! `struct seq_file` pointer, which only an iterator's `meta->seq`
//! yields); another address (an unverified program) is `-EINVAL`.

use super::guest::{self, Ptr};
use super::neg;
use super::printf::{MAX_BPRINTF_VARARGS, format};
use crate::errno::Errno;
use crate::runctx;

/// `long bpf_seq_printf(struct seq_file *m, const char *fmt, u32
/// fmt_size, const void *data, u32 data_len)`.
pub extern "C" fn seq_printf(m: u64, fmt: u64, fmt_size: u64, data: u64, data_len: u64) -> u64 {
    let data_len = data_len as u32 as usize;
    if !data_len.is_multiple_of(8) || data_len > MAX_BPRINTF_VARARGS * 8 || (data_len > 0 && data == 0) {
        return neg(Errno::EINVAL);
    }
    runctx::with(|c| {
        if c.seq.as_ref().is_none_or(|s| s.addr != m) {
            return neg(Errno::EINVAL);
        }
        let Some(f) = guest::read(c, fmt, fmt_size as u32 as usize, Ptr::Proven) else {
            return neg(Errno::EFAULT);
        };
        let Some(end) = f.iter().position(|&b| b == 0) else { return neg(Errno::EINVAL) };
        let Some(raw) = guest::read(c, data, data_len, Ptr::Proven) else { return neg(Errno::EFAULT) };
        let args: Vec<u64> =
            raw.chunks_exact(8).map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes"))).collect();
        let out = match format(c, &f[..end], &args) {
            Ok(out) => out,
            Err(e) => return neg(e),
        };
        let Some(seq) = c.seq.as_mut() else { return neg(Errno::EINVAL) };
        seq.printf(&out);
        if seq.overflowed() { neg(Errno::EOVERFLOW) } else { 0 }
    })
    .unwrap_or(neg(Errno::EFAULT))
}

/// `long bpf_seq_write(struct seq_file *m, const void *data, u32 len)`.
pub extern "C" fn seq_write(m: u64, data: u64, len: u64, _: u64, _: u64) -> u64 {
    runctx::with(|c| {
        if c.seq.as_ref().is_none_or(|s| s.addr != m) {
            return neg(Errno::EINVAL);
        }
        let Some(bytes) = guest::read(c, data, len as u32 as usize, Ptr::Proven) else {
            return neg(Errno::EFAULT);
        };
        let Some(seq) = c.seq.as_mut() else { return neg(Errno::EINVAL) };
        if seq.write(&bytes) { 0 } else { neg(Errno::EOVERFLOW) }
    })
    .unwrap_or(neg(Errno::EFAULT))
}
