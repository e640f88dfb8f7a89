//! Network header types of vmlinux BTF: what guest programs parse packets
//! with (`guest-progs/src/flow_dissector.bpf.c`).
//!
//! Kernel counterparts: `struct ethhdr` (include/uapi/linux/if_ether.h),
//! `struct vlan_hdr` (include/linux/if_vlan.h), `struct iphdr`
//! (include/uapi/linux/ip.h), `struct in6_addr` (include/uapi/linux/in6.h),
//! `struct ipv6hdr`, `struct ipv6_opt_hdr` (include/uapi/linux/ipv6.h),
//! `struct frag_hdr` (include/net/ipv6.h), `struct tcphdr`
//! (include/uapi/linux/tcp.h), `struct udphdr` (include/uapi/linux/udp.h),
//! the `__sum16` typedef (include/uapi/linux/types.h). (`struct
//! bpf_sk_lookup` is in [`super::types`].) Layouts are x86-64 little-endian
//! (bitfields in the `__LITTLE_ENDIAN_BITFIELD` order).
//!
//! Emulated: every member's name, type, offset and bitfield position.
//! Deviation: recent kernels wrap `iphdr`/`ipv6hdr` `saddr`/`daddr` in a
//! `__struct_group` union (an anonymous struct plus a named `addrs` copy);
//! here they are plain members at the same offsets, so `iph->saddr` and
//! CO-RE accesses to it relocate the same, but `iph->addrs` does not exist.

#![allow(non_camel_case_types)]

use super::c::*;
use super::{BtfDescribe, Field, VmlinuxBuilder};
use bpfemu_btf::TypeId;
use std::mem::{offset_of, size_of};

/// A [`Field`] named as the Rust field, at its `offset_of!`.
macro_rules! f {
    ($s:ty, $f:ident, $ty:expr) => {
        Field::new(stringify!($f), $ty, offset_of!($s, $f))
    };
}

/// `__sum16` (a `__u16` typedef).
#[derive(Debug)]
pub struct __sum16;

impl BtfDescribe for __sum16 {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        let t = b.ty::<__u16>();
        b.once("__sum16", |b| b.btf.add_typedef("__sum16", t))
    }
}

/// `struct ethhdr` (14 bytes, packed).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EthHdr {
    pub h_dest: [u8; 6],
    pub h_source: [u8; 6],
    pub h_proto: u16,
}

impl BtfDescribe for EthHdr {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("ethhdr", false, size_of::<Self>(), |b| {
            let mac = b.array::<UChar>(6);
            let be16 = b.ty::<__be16>();
            vec![f!(Self, h_dest, mac), f!(Self, h_source, mac), f!(Self, h_proto, be16)]
        })
    }
}

/// `struct vlan_hdr` (the 802.1Q tag after the Ethernet addresses).
#[allow(non_snake_case)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VlanHdr {
    pub h_vlan_TCI: u16,
    pub h_vlan_encapsulated_proto: u16,
}

impl BtfDescribe for VlanHdr {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("vlan_hdr", false, size_of::<Self>(), |b| {
            let be16 = b.ty::<__be16>();
            vec![f!(Self, h_vlan_TCI, be16), f!(Self, h_vlan_encapsulated_proto, be16)]
        })
    }
}

/// `struct iphdr`: byte 0 holds the `ihl:4` (low nibble) and `version:4`
/// bitfields.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpHdr {
    /// `__u8 ihl:4, version:4;`.
    pub ihl_version: u8,
    pub tos: u8,
    pub tot_len: u16,
    pub id: u16,
    pub frag_off: u16,
    pub ttl: u8,
    pub protocol: u8,
    pub check: u16,
    pub saddr: u32,
    pub daddr: u32,
}

impl BtfDescribe for IpHdr {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("iphdr", false, size_of::<Self>(), |b| {
            let (u8_, be16, be32, sum) =
                (b.ty::<__u8>(), b.ty::<__be16>(), b.ty::<__be32>(), b.ty::<__sum16>());
            let bits = offset_of!(Self, ihl_version);
            vec![
                Field::bitfield("ihl", u8_, bits, 0, 4),
                Field::bitfield("version", u8_, bits, 4, 4),
                f!(Self, tos, u8_),
                f!(Self, tot_len, be16),
                f!(Self, id, be16),
                f!(Self, frag_off, be16),
                f!(Self, ttl, u8_),
                f!(Self, protocol, u8_),
                f!(Self, check, sum),
                f!(Self, saddr, be32),
                f!(Self, daddr, be32),
            ]
        })
    }
}

/// `struct in6_addr`: one union `in6_u` of byte, half-word and word views.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct In6Addr {
    pub in6_u: [u8; 16],
}

impl BtfDescribe for In6Addr {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("in6_addr", false, size_of::<Self>(), |b| {
            let a8 = b.array::<__u8>(16);
            let a16 = b.array::<__be16>(8);
            let a32 = b.array::<__be32>(4);
            let u = b.anon(
                true,
                16,
                &[
                    Field::new("u6_addr8", a8, 0),
                    Field::new("u6_addr16", a16, 0),
                    Field::new("u6_addr32", a32, 0),
                ],
            );
            vec![Field::new("in6_u", u, 0)]
        })
    }
}

/// `struct ipv6hdr`: byte 0 holds `priority:4` (low nibble) and
/// `version:4`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ipv6Hdr {
    /// `__u8 priority:4, version:4;`.
    pub priority_version: u8,
    pub flow_lbl: [u8; 3],
    pub payload_len: u16,
    pub nexthdr: u8,
    pub hop_limit: u8,
    pub saddr: In6Addr,
    pub daddr: In6Addr,
}

impl BtfDescribe for Ipv6Hdr {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("ipv6hdr", false, size_of::<Self>(), |b| {
            let (u8_, be16, addr) = (b.ty::<__u8>(), b.ty::<__be16>(), b.ty::<In6Addr>());
            let lbl = b.array::<__u8>(3);
            let bits = offset_of!(Self, priority_version);
            vec![
                Field::bitfield("priority", u8_, bits, 0, 4),
                Field::bitfield("version", u8_, bits, 4, 4),
                f!(Self, flow_lbl, lbl),
                f!(Self, payload_len, be16),
                f!(Self, nexthdr, u8_),
                f!(Self, hop_limit, u8_),
                f!(Self, saddr, addr),
                f!(Self, daddr, addr),
            ]
        })
    }
}

/// `struct ipv6_opt_hdr`, the common head of IPv6 extension headers.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ipv6OptHdr {
    pub nexthdr: u8,
    pub hdrlen: u8,
}

impl BtfDescribe for Ipv6OptHdr {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("ipv6_opt_hdr", false, size_of::<Self>(), |b| {
            let u8_ = b.ty::<__u8>();
            vec![f!(Self, nexthdr, u8_), f!(Self, hdrlen, u8_)]
        })
    }
}

/// `struct frag_hdr`, the IPv6 fragment extension header.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FragHdr {
    pub nexthdr: u8,
    pub reserved: u8,
    pub frag_off: u16,
    pub identification: u32,
}

impl BtfDescribe for FragHdr {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("frag_hdr", false, size_of::<Self>(), |b| {
            let (u8_, be16, be32) = (b.ty::<__u8>(), b.ty::<__be16>(), b.ty::<__be32>());
            vec![
                f!(Self, nexthdr, u8_),
                f!(Self, reserved, u8_),
                f!(Self, frag_off, be16),
                f!(Self, identification, be32),
            ]
        })
    }
}

/// `struct tcphdr`: bytes 12-13 hold the `res1:4, doff:4, fin:1, syn:1,
/// rst:1, psh:1, ack:1, urg:1, ece:1, cwr:1` bitfields (`__u16`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpHdr {
    pub source: u16,
    pub dest: u16,
    pub seq: u32,
    pub ack_seq: u32,
    /// The flag bitfields.
    pub flags: u16,
    pub window: u16,
    pub check: u16,
    pub urg_ptr: u16,
}

/// `struct tcphdr`'s bitfields: name, first bit (from byte 12), width.
pub const TCP_BITFIELDS: [(&str, u32, u8); 10] = [
    ("res1", 0, 4),
    ("doff", 4, 4),
    ("fin", 8, 1),
    ("syn", 9, 1),
    ("rst", 10, 1),
    ("psh", 11, 1),
    ("ack", 12, 1),
    ("urg", 13, 1),
    ("ece", 14, 1),
    ("cwr", 15, 1),
];

impl BtfDescribe for TcpHdr {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("tcphdr", false, size_of::<Self>(), |b| {
            let (u16_, be16, be32, sum) =
                (b.ty::<__u16>(), b.ty::<__be16>(), b.ty::<__be32>(), b.ty::<__sum16>());
            let mut v = vec![
                f!(Self, source, be16),
                f!(Self, dest, be16),
                f!(Self, seq, be32),
                f!(Self, ack_seq, be32),
            ];
            let at = offset_of!(Self, flags);
            v.extend(
                TCP_BITFIELDS.iter().map(|&(name, bit, bits)| Field::bitfield(name, u16_, at, bit, bits)),
            );
            v.extend([f!(Self, window, be16), f!(Self, check, sum), f!(Self, urg_ptr, be16)]);
            v
        })
    }
}

/// `struct udphdr`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UdpHdr {
    pub source: u16,
    pub dest: u16,
    pub len: u16,
    pub check: u16,
}

impl BtfDescribe for UdpHdr {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("udphdr", false, size_of::<Self>(), |b| {
            let (be16, sum) = (b.ty::<__be16>(), b.ty::<__sum16>());
            vec![f!(Self, source, be16), f!(Self, dest, be16), f!(Self, len, be16), f!(Self, check, sum)]
        })
    }
}

/// Adds the types of this module in a fixed order.
pub fn describe_all(b: &mut VmlinuxBuilder) {
    b.ty::<__sum16>();
    b.ty::<EthHdr>();
    b.ty::<VlanHdr>();
    b.ty::<IpHdr>();
    b.ty::<In6Addr>();
    b.ty::<Ipv6Hdr>();
    b.ty::<Ipv6OptHdr>();
    b.ty::<FragHdr>();
    b.ty::<TcpHdr>();
    b.ty::<UdpHdr>();
}

// Sizes and offsets of the kernel's x86-64 layouts.
const _: () = {
    assert!(size_of::<EthHdr>() == 14);
    assert!(size_of::<VlanHdr>() == 4);
    assert!(size_of::<IpHdr>() == 20);
    assert!(offset_of!(IpHdr, saddr) == 12);
    assert!(size_of::<In6Addr>() == 16);
    assert!(size_of::<Ipv6Hdr>() == 40);
    assert!(offset_of!(Ipv6Hdr, saddr) == 8);
    assert!(size_of::<FragHdr>() == 8);
    assert!(size_of::<TcpHdr>() == 20);
    assert!(offset_of!(TcpHdr, window) == 14);
    assert!(size_of::<UdpHdr>() == 8);
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vmlinux::{struct_id, vmlinux_btf};

    fn member(btf: &bpfemu_btf::Btf, s: &str, m: &str) -> (u32, u8) {
        let id = struct_id(btf, s).unwrap_or_else(|| panic!("struct {s}"));
        let m = btf.member_offset(id, m).unwrap_or_else(|| panic!("{s}.{m}"));
        (m.bit_offset, m.bitfield_size)
    }

    #[test]
    fn header_layouts_match_the_kernel() {
        let btf = vmlinux_btf();
        assert_eq!(member(&btf, "ethhdr", "h_proto"), (96, 0));
        assert_eq!(member(&btf, "iphdr", "ihl"), (0, 4));
        assert_eq!(member(&btf, "iphdr", "version"), (4, 4));
        assert_eq!(member(&btf, "iphdr", "protocol"), (72, 0));
        assert_eq!(member(&btf, "iphdr", "daddr"), (128, 0));
        assert_eq!(member(&btf, "ipv6hdr", "version"), (4, 4));
        assert_eq!(member(&btf, "ipv6hdr", "nexthdr"), (48, 0));
        assert_eq!(member(&btf, "ipv6hdr", "daddr"), (192, 0));
        assert_eq!(member(&btf, "tcphdr", "doff"), (100, 4));
        assert_eq!(member(&btf, "tcphdr", "syn"), (105, 1));
        assert_eq!(member(&btf, "tcphdr", "cwr"), (111, 1));
        assert_eq!(member(&btf, "udphdr", "dest"), (16, 0));
        assert_eq!(member(&btf, "bpf_sk_lookup", "remote_port"), (36 * 8, 0));
        assert_eq!(member(&btf, "bpf_sk_lookup", "local_port"), (60 * 8, 0));
        assert_eq!(member(&btf, "bpf_sk_lookup", "cookie"), (0, 0));
        assert_eq!(btf.resolve_size(struct_id(&btf, "bpf_sk_lookup").unwrap()).unwrap(), 72);
    }

    #[test]
    fn sk_lookup_offsets_match_the_verifier() {
        use crate::progtype::sk_lookup::off;
        use crate::vmlinux::types::BpfSkLookup;
        assert_eq!(offset_of!(BpfSkLookup, family), off::FAMILY);
        assert_eq!(offset_of!(BpfSkLookup, remote_port), off::REMOTE_PORT);
        assert_eq!(offset_of!(BpfSkLookup, local_ip6), off::LOCAL_IP6);
        assert_eq!(offset_of!(BpfSkLookup, ingress_ifindex), off::INGRESS_IFINDEX);
        assert_eq!(size_of::<BpfSkLookup>(), off::SIZE);
    }
}
