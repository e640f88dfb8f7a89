//! Helpers of the `struct __sk_buff` program types (net/core/filter.c):
//! `bpf_skb_load_bytes`.
//!
//! r1 is the program's ctx: after the ctx rewrite, the address of the
//! emulated `struct sk_buff`
//! ([`crate::progtype::convert::kern::SkBuffKern`]), whose `data` field is
//! where the program's view of the packet starts and whose `__sk_buff::len`
//! is its length (`skb->len`; every emulated skb is linear).

use super::guest::{self, Ptr};
use super::neg;
use crate::errno::Errno;
use crate::progtype::convert::kern::SKB_DATA;
use crate::runctx;

/// `long bpf_skb_load_bytes(skb, offset, to, len)`: copies `len` bytes at
/// `offset` from the packet into `to`; an offset above `INT_MAX` or a range
/// past the packet's end zeroes `to` and is `-EFAULT`
/// (`skb_header_pointer()` failing).
pub extern "C" fn skb_load_bytes(skb: u64, offset: u64, to: u64, len: u64, _: u64) -> u64 {
    let (offset, len) = (offset as u32, len as u32);
    runctx::with(|c| {
        let header = guest::read(c, skb, SKB_DATA + 8, Ptr::Proven)?;
        let skb_len = u32::from_ne_bytes(header[0..4].try_into().ok()?);
        let data = u64::from_ne_bytes(header[SKB_DATA..SKB_DATA + 8].try_into().ok()?);
        let bytes = (offset <= i32::MAX as u32 && u64::from(offset) + u64::from(len) <= u64::from(skb_len))
            .then(|| guest::read(c, data + u64::from(offset), len as usize, Ptr::Unproven))
            .flatten();
        let (out, ret) = match bytes {
            Some(b) => (b, 0),
            None => (vec![0; len as usize], neg(Errno::EFAULT)),
        };
        guest::write(c, to, &out, Ptr::Proven).then_some(ret)
    })
    .flatten()
    .unwrap_or(neg(Errno::EFAULT))
}
