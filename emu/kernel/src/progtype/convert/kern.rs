//! The emulated kernel-side ctx structs programs run on after the ctx
//! rewrite (the counterparts of `struct sk_buff` / `struct
//! bpf_flow_dissector` for `__sk_buff`, and `struct xdp_buff` for
//! `xdp_md`; include/linux/skbuff.h, include/net/xdp.h).
//!
//! Each embeds the uapi image byte for byte (so every field but the packet
//! pointers keeps its uapi offset) and appends the 64-bit `data`,
//! `data_end` and `data_meta`. Linux's own layouts are not reproduced:
//! only the uapi view is observable, through the rewritten loads.
//!
//! A run builds one with [`KernCtx`], a byte buffer laid out as the
//! struct, and hands its address to the program.

use crate::progtype::skb::off;
use crate::vmlinux::types::{SkBuff, XdpMd};
use std::mem::{offset_of, size_of};

/// The emulated `struct sk_buff` (and `struct bpf_flow_dissector`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SkBuffKern {
    /// The `struct __sk_buff` image; its `u32` `data`, `data_end`,
    /// `data_meta` stay 0.
    pub uapi: [u8; size_of::<SkBuff>()],
    pub data: u64,
    pub data_end: u64,
    pub data_meta: u64,
}

/// The emulated `struct xdp_buff`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct XdpBuffKern {
    /// The `struct xdp_md` image; its pointer fields stay 0.
    pub uapi: [u8; size_of::<XdpMd>()],
    pub _pad: u32,
    pub data: u64,
    pub data_end: u64,
    pub data_meta: u64,
}

pub const SKB_DATA: usize = offset_of!(SkBuffKern, data);
pub const SKB_DATA_END: usize = offset_of!(SkBuffKern, data_end);
pub const SKB_DATA_META: usize = offset_of!(SkBuffKern, data_meta);
pub const SKB_SIZE: usize = size_of::<SkBuffKern>();
pub const XDP_DATA: usize = offset_of!(XdpBuffKern, data);
pub const XDP_DATA_END: usize = offset_of!(XdpBuffKern, data_end);
pub const XDP_DATA_META: usize = offset_of!(XdpBuffKern, data_meta);
pub const XDP_SIZE: usize = size_of::<XdpBuffKern>();

/// Byte offsets of `struct xdp_md`.
pub mod xdp_md {
    use super::*;
    pub const DATA: usize = offset_of!(XdpMd, data);
    pub const DATA_END: usize = offset_of!(XdpMd, data_end);
    pub const DATA_META: usize = offset_of!(XdpMd, data_meta);
    pub const INGRESS_IFINDEX: usize = offset_of!(XdpMd, ingress_ifindex);
    pub const RX_QUEUE_INDEX: usize = offset_of!(XdpMd, rx_queue_index);
    pub const EGRESS_IFINDEX: usize = offset_of!(XdpMd, egress_ifindex);
    pub const SIZE: usize = size_of::<XdpMd>();
}

/// A kernel ctx as bytes: the uapi image followed by the pointers, as in
/// [`SkBuffKern`] or [`XdpBuffKern`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernCtx {
    pub bytes: Vec<u8>,
    uapi_len: usize,
    ptrs: [usize; 3],
}

impl KernCtx {
    /// A zeroed [`SkBuffKern`].
    pub fn skb() -> KernCtx {
        KernCtx {
            bytes: vec![0; SKB_SIZE],
            uapi_len: off::SIZE,
            ptrs: [SKB_DATA, SKB_DATA_END, SKB_DATA_META],
        }
    }

    /// A zeroed [`XdpBuffKern`].
    pub fn xdp() -> KernCtx {
        KernCtx {
            bytes: vec![0; XDP_SIZE],
            uapi_len: xdp_md::SIZE,
            ptrs: [XDP_DATA, XDP_DATA_END, XDP_DATA_META],
        }
    }

    /// The uapi image.
    pub fn uapi(&self) -> &[u8] {
        &self.bytes[..self.uapi_len]
    }

    /// The uapi image, to fill or to read back.
    pub fn uapi_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[..self.uapi_len]
    }

    /// Sets a `u32` of the uapi image.
    pub fn set_u32(&mut self, at: usize, v: u32) {
        self.bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    /// Sets a `u64` of the uapi image.
    pub fn set_u64(&mut self, at: usize, v: u64) {
        self.bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }

    /// A `u32` of the uapi image.
    pub fn u32_at(&self, at: usize) -> u32 {
        u32::from_le_bytes([self.bytes[at], self.bytes[at + 1], self.bytes[at + 2], self.bytes[at + 3]])
    }

    /// Sets the packet pointers `data_meta`, `data`, `data_end`.
    pub fn set_packet(&mut self, meta: u64, data: u64, end: u64) {
        let [d, e, m] = self.ptrs;
        self.set_u64(d, data);
        self.set_u64(e, end);
        self.set_u64(m, meta);
    }

    /// The packet pointers `(data_meta, data, data_end)` (the program may
    /// not write them, but helpers such as `bpf_xdp_adjust_head` would).
    pub fn packet(&self) -> (u64, u64, u64) {
        let [d, e, m] = self.ptrs;
        let g = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&self.bytes[at..at + 8]);
            u64::from_le_bytes(b)
        };
        (g(m), g(d), g(e))
    }

    /// The address the program gets in r1.
    pub fn addr(&self) -> u64 {
        self.bytes.as_ptr() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        assert_eq!(SKB_DATA, off::SIZE);
        assert_eq!((SKB_DATA_END, SKB_DATA_META, SKB_SIZE), (off::SIZE + 8, off::SIZE + 16, off::SIZE + 24));
        assert_eq!((XDP_DATA, XDP_DATA_END, XDP_DATA_META, XDP_SIZE), (32, 40, 48, 56));
        let mut k = KernCtx::xdp();
        k.set_packet(1, 2, 3);
        assert_eq!(k.packet(), (1, 2, 3));
        k.set_u32(xdp_md::INGRESS_IFINDEX, 7);
        assert_eq!(k.u32_at(12), 7);
        assert_eq!(k.uapi().len(), 24);
    }
}
