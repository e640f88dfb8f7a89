//! The emulated kernel's types as `#[repr(C)]` Rust structs, with their BTF
//! descriptions.
//!
//! uapi structs (include/uapi/linux/bpf.h) match Linux's x86-64 layout
//! exactly; the `const` assertions below pin sizes and key offsets to the
//! kernel's. `__bpf_md_ptr` members are `u64` fields here and anonymous
//! 8-byte unions holding the pointer in BTF, as in the kernel's BTF.
//! Kernel-internal structs (`bpf_map`, `bpf_array`, `task_struct`) are
//! subsets: CO-RE-readable fields only, at our own offsets.

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

/// `struct bpf_spin_lock`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpfSpinLock {
    pub val: u32,
}

impl BtfDescribe for BpfSpinLock {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("bpf_spin_lock", false, size_of::<Self>(), |b| vec![f!(Self, val, b.ty::<__u32>())])
    }
}

/// `struct bpf_dynptr` (include/uapi/linux/bpf.h): opaque to programs,
/// 16 bytes, 8-byte aligned; what the helpers keep there is
/// `crate::helpers::dynptr::DynptrKern`.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpfDynptr {
    pub opaque: [u64; 2],
}

impl BtfDescribe for BpfDynptr {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("bpf_dynptr", false, size_of::<Self>(), |b| {
            let a = b.array::<__u64>(2);
            vec![Field::new("__opaque", a, offset_of!(Self, opaque))]
        })
    }
}

/// The IPv4 half of `bpf_flow_keys`' address union.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowKeysV4 {
    pub ipv4_src: u32,
    pub ipv4_dst: u32,
}

/// The IPv6 half of `bpf_flow_keys`' address union.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowKeysV6 {
    pub ipv6_src: [u32; 4],
    pub ipv6_dst: [u32; 4],
}

/// The anonymous address union of `bpf_flow_keys`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union FlowKeysAddrs {
    pub v4: FlowKeysV4,
    pub v6: FlowKeysV6,
}

impl std::fmt::Debug for FlowKeysAddrs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlowKeysAddrs { .. }")
    }
}

/// `struct bpf_flow_keys` (the flow dissector's output).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BpfFlowKeys {
    pub nhoff: u16,
    pub thoff: u16,
    pub addr_proto: u16,
    pub is_frag: u8,
    pub is_first_frag: u8,
    pub is_encap: u8,
    pub ip_proto: u8,
    pub n_proto: u16,
    pub sport: u16,
    pub dport: u16,
    pub addrs: FlowKeysAddrs,
    pub flags: u32,
    pub flow_label: u32,
}

impl BtfDescribe for BpfFlowKeys {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("bpf_flow_keys", false, size_of::<Self>(), |b| {
            let (u8_, u16_, u32_) = (b.ty::<__u8>(), b.ty::<__u16>(), b.ty::<__u32>());
            let (be16, be32) = (b.ty::<__be16>(), b.ty::<__be32>());
            let u32x4 = b.array::<__u32>(4);
            let v4 = b.anon(
                false,
                size_of::<FlowKeysV4>(),
                &[f!(FlowKeysV4, ipv4_src, be32), f!(FlowKeysV4, ipv4_dst, be32)],
            );
            let v6 = b.anon(
                false,
                size_of::<FlowKeysV6>(),
                &[f!(FlowKeysV6, ipv6_src, u32x4), f!(FlowKeysV6, ipv6_dst, u32x4)],
            );
            let addrs = b.anon(
                true,
                size_of::<FlowKeysAddrs>(),
                &[
                    Field::new("", v4, offset_of!(FlowKeysAddrs, v4)),
                    Field::new("", v6, offset_of!(FlowKeysAddrs, v6)),
                ],
            );
            vec![
                f!(Self, nhoff, u16_),
                f!(Self, thoff, u16_),
                f!(Self, addr_proto, u16_),
                f!(Self, is_frag, u8_),
                f!(Self, is_first_frag, u8_),
                f!(Self, is_encap, u8_),
                f!(Self, ip_proto, u8_),
                f!(Self, n_proto, be16),
                f!(Self, sport, be16),
                f!(Self, dport, be16),
                Field::new("", addrs, offset_of!(Self, addrs)),
                f!(Self, flags, u32_),
                f!(Self, flow_label, be32),
            ]
        })
    }
}

/// `struct bpf_sock`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpfSock {
    pub bound_dev_if: u32,
    pub family: u32,
    pub r#type: u32,
    pub protocol: u32,
    pub mark: u32,
    pub priority: u32,
    pub src_ip4: u32,
    pub src_ip6: [u32; 4],
    pub src_port: u32,
    pub dst_port: u16,
    /// `__u16 :16;` (not in BTF).
    pub _pad: u16,
    pub dst_ip4: u32,
    pub dst_ip6: [u32; 4],
    pub state: u32,
    pub rx_queue_mapping: i32,
}

impl BtfDescribe for BpfSock {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("bpf_sock", false, size_of::<Self>(), |b| {
            let (u32_, s32, be16) = (b.ty::<__u32>(), b.ty::<__s32>(), b.ty::<__be16>());
            let u32x4 = b.array::<__u32>(4);
            vec![
                f!(Self, bound_dev_if, u32_),
                f!(Self, family, u32_),
                Field::new("type", u32_, offset_of!(Self, r#type)),
                f!(Self, protocol, u32_),
                f!(Self, mark, u32_),
                f!(Self, priority, u32_),
                f!(Self, src_ip4, u32_),
                f!(Self, src_ip6, u32x4),
                f!(Self, src_port, u32_),
                f!(Self, dst_port, be16),
                f!(Self, dst_ip4, u32_),
                f!(Self, dst_ip6, u32x4),
                f!(Self, state, u32_),
                f!(Self, rx_queue_mapping, s32),
            ]
        })
    }
}

/// `struct __sk_buff`, the socket-buffer context of tc, socket filter,
/// cgroup skb, flow dissector, ... programs.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SkBuff {
    pub len: u32,
    pub pkt_type: u32,
    pub mark: u32,
    pub queue_mapping: u32,
    pub protocol: u32,
    pub vlan_present: u32,
    pub vlan_tci: u32,
    pub vlan_proto: u32,
    pub priority: u32,
    pub ingress_ifindex: u32,
    pub ifindex: u32,
    pub tc_index: u32,
    pub cb: [u32; 5],
    pub hash: u32,
    pub tc_classid: u32,
    pub data: u32,
    pub data_end: u32,
    pub napi_id: u32,
    pub family: u32,
    pub remote_ip4: u32,
    pub local_ip4: u32,
    pub remote_ip6: [u32; 4],
    pub local_ip6: [u32; 4],
    pub remote_port: u32,
    pub local_port: u32,
    pub data_meta: u32,
    /// `__bpf_md_ptr(struct bpf_flow_keys *, flow_keys)`.
    pub flow_keys: u64,
    pub tstamp: u64,
    pub wire_len: u32,
    pub gso_segs: u32,
    /// `__bpf_md_ptr(struct bpf_sock *, sk)`.
    pub sk: u64,
    pub gso_size: u32,
    pub tstamp_type: u8,
    /// `__u32 :24;` (not in BTF).
    pub _pad: [u8; 3],
    pub hwtstamp: u64,
}

impl BtfDescribe for SkBuff {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("__sk_buff", false, size_of::<Self>(), |b| {
            let (u8_, u32_, u64_) = (b.ty::<__u8>(), b.ty::<__u32>(), b.ty::<__u64>());
            let u32x4 = b.array::<__u32>(4);
            let u32x5 = b.array::<__u32>(5);
            let flow_keys = b.md_ptr::<BpfFlowKeys>("flow_keys");
            let sk = b.md_ptr::<BpfSock>("sk");
            vec![
                f!(Self, len, u32_),
                f!(Self, pkt_type, u32_),
                f!(Self, mark, u32_),
                f!(Self, queue_mapping, u32_),
                f!(Self, protocol, u32_),
                f!(Self, vlan_present, u32_),
                f!(Self, vlan_tci, u32_),
                f!(Self, vlan_proto, u32_),
                f!(Self, priority, u32_),
                f!(Self, ingress_ifindex, u32_),
                f!(Self, ifindex, u32_),
                f!(Self, tc_index, u32_),
                f!(Self, cb, u32x5),
                f!(Self, hash, u32_),
                f!(Self, tc_classid, u32_),
                f!(Self, data, u32_),
                f!(Self, data_end, u32_),
                f!(Self, napi_id, u32_),
                f!(Self, family, u32_),
                f!(Self, remote_ip4, u32_),
                f!(Self, local_ip4, u32_),
                f!(Self, remote_ip6, u32x4),
                f!(Self, local_ip6, u32x4),
                f!(Self, remote_port, u32_),
                f!(Self, local_port, u32_),
                f!(Self, data_meta, u32_),
                Field::new("", flow_keys, offset_of!(Self, flow_keys)),
                f!(Self, tstamp, u64_),
                f!(Self, wire_len, u32_),
                f!(Self, gso_segs, u32_),
                Field::new("", sk, offset_of!(Self, sk)),
                f!(Self, gso_size, u32_),
                f!(Self, tstamp_type, u8_),
                f!(Self, hwtstamp, u64_),
            ]
        })
    }
}

/// `struct xdp_md`, the XDP context.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpMd {
    pub data: u32,
    pub data_end: u32,
    pub data_meta: u32,
    pub ingress_ifindex: u32,
    pub rx_queue_index: u32,
    pub egress_ifindex: u32,
}

impl BtfDescribe for XdpMd {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("xdp_md", false, size_of::<Self>(), |b| {
            let u = b.ty::<__u32>();
            vec![
                f!(Self, data, u),
                f!(Self, data_end, u),
                f!(Self, data_meta, u),
                f!(Self, ingress_ifindex, u),
                f!(Self, rx_queue_index, u),
                f!(Self, egress_ifindex, u),
            ]
        })
    }
}

/// `bpf_sock_tuple.ipv4`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockTupleV4 {
    pub saddr: u32,
    pub daddr: u32,
    pub sport: u16,
    pub dport: u16,
}

/// `bpf_sock_tuple.ipv6`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockTupleV6 {
    pub saddr: [u32; 4],
    pub daddr: [u32; 4],
    pub sport: u16,
    pub dport: u16,
}

/// `struct bpf_sock_tuple`: one anonymous union of `ipv4` and `ipv6`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union BpfSockTuple {
    pub ipv4: SockTupleV4,
    pub ipv6: SockTupleV6,
}

impl std::fmt::Debug for BpfSockTuple {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BpfSockTuple { .. }")
    }
}

impl BtfDescribe for BpfSockTuple {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("bpf_sock_tuple", false, size_of::<Self>(), |b| {
            let (be16, be32) = (b.ty::<__be16>(), b.ty::<__be32>());
            let be32x4 = b.array::<__be32>(4);
            let v4 = b.anon(
                false,
                size_of::<SockTupleV4>(),
                &[
                    f!(SockTupleV4, saddr, be32),
                    f!(SockTupleV4, daddr, be32),
                    f!(SockTupleV4, sport, be16),
                    f!(SockTupleV4, dport, be16),
                ],
            );
            let v6 = b.anon(
                false,
                size_of::<SockTupleV6>(),
                &[
                    f!(SockTupleV6, saddr, be32x4),
                    f!(SockTupleV6, daddr, be32x4),
                    f!(SockTupleV6, sport, be16),
                    f!(SockTupleV6, dport, be16),
                ],
            );
            let u = b.anon(true, size_of::<Self>(), &[f!(Self, ipv4, v4), f!(Self, ipv6, v6)]);
            vec![Field::new("", u, 0)]
        })
    }
}

/// `struct task_struct`, a subset: what programs read of `current`
/// (`bpf_get_current_task_btf()`, CO-RE reads).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskStruct {
    pub __state: u32,
    pub flags: u32,
    pub pid: i32,
    pub tgid: i32,
    /// `struct task_struct *real_parent`.
    pub real_parent: u64,
    /// `struct task_struct *parent`.
    pub parent: u64,
    pub comm: [u8; 16],
}

impl BtfDescribe for TaskStruct {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("task_struct", false, size_of::<Self>(), |b| {
            let (uint, pid) = (b.ty::<UInt>(), b.ty::<PidT>());
            let me = b.ty::<TaskStruct>();
            let me_ptr = b.ptr_to(me);
            let comm = b.array::<Char>(16);
            vec![
                f!(Self, __state, uint),
                f!(Self, flags, uint),
                f!(Self, pid, pid),
                f!(Self, tgid, pid),
                f!(Self, real_parent, me_ptr),
                f!(Self, parent, me_ptr),
                f!(Self, comm, comm),
            ]
        })
    }
}

/// `struct bpf_map`, a subset: the fields programs read through CO-RE
/// (`map->max_entries` and friends). The kernel's struct is internal;
/// these offsets are ours. `map_type` is `u32` here (an `enum
/// bpf_map_type` in the kernel, same size).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpfMap {
    /// `const struct bpf_map_ops *ops`.
    pub ops: u64,
    /// `struct bpf_map *inner_map_meta`.
    pub inner_map_meta: u64,
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_extra: u64,
    pub map_flags: u32,
    pub id: u32,
    pub name: [u8; 16],
}

impl BtfDescribe for BpfMap {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("bpf_map", false, size_of::<Self>(), |b| {
            let (u32_, u64_) = (b.ty::<KU32>(), b.ty::<KU64>());
            let ops = b.fwd_ptr("bpf_map_ops");
            let me = b.ty::<BpfMap>();
            let me_ptr = b.ptr_to(me);
            let name = b.array::<Char>(16);
            vec![
                f!(Self, ops, ops),
                f!(Self, inner_map_meta, me_ptr),
                f!(Self, map_type, u32_),
                f!(Self, key_size, u32_),
                f!(Self, value_size, u32_),
                f!(Self, max_entries, u32_),
                f!(Self, map_extra, u64_),
                f!(Self, map_flags, u32_),
                f!(Self, id, u32_),
                f!(Self, name, name),
            ]
        })
    }
}

/// `struct bpf_array` (array, percpu_array, prog_array, array_of_maps), a
/// subset.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpfArray {
    pub map: BpfMap,
    pub elem_size: u32,
    pub index_mask: u32,
}

impl BtfDescribe for BpfArray {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("bpf_array", false, size_of::<Self>(), |b| {
            let (map, u32_) = (b.ty::<BpfMap>(), b.ty::<KU32>());
            vec![f!(Self, map, map), f!(Self, elem_size, u32_), f!(Self, index_mask, u32_)]
        })
    }
}

/// The layout of every map struct without a richer definition:
/// `struct NAME { struct bpf_map map; }`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MapSubset {
    pub map: BpfMap,
}

/// Adds `struct name { struct bpf_map map; }`.
pub fn describe_map_subset(b: &mut VmlinuxBuilder, name: &str) -> TypeId {
    b.composite(name, false, size_of::<MapSubset>(), |b| {
        let map = b.ty::<BpfMap>();
        vec![f!(MapSubset, map, map)]
    })
}

// The kernel's sizes and a few offsets (x86-64), from
// include/uapi/linux/bpf.h.
const _: () = {
    assert!(size_of::<SkBuff>() == 192);
    assert!(offset_of!(SkBuff, cb) == 48);
    assert!(offset_of!(SkBuff, family) == 88);
    assert!(offset_of!(SkBuff, local_port) == 136);
    assert!(offset_of!(SkBuff, data_meta) == 140);
    assert!(offset_of!(SkBuff, flow_keys) == 144);
    assert!(offset_of!(SkBuff, tstamp) == 152);
    assert!(offset_of!(SkBuff, wire_len) == 160);
    assert!(offset_of!(SkBuff, sk) == 168);
    assert!(offset_of!(SkBuff, gso_size) == 176);
    assert!(offset_of!(SkBuff, tstamp_type) == 180);
    assert!(offset_of!(SkBuff, hwtstamp) == 184);
    assert!(size_of::<XdpMd>() == 24);
    assert!(size_of::<BpfFlowKeys>() == 56);
    assert!(offset_of!(BpfFlowKeys, n_proto) == 10);
    assert!(offset_of!(BpfFlowKeys, addrs) == 16);
    assert!(offset_of!(BpfFlowKeys, flags) == 48);
    assert!(offset_of!(BpfFlowKeys, flow_label) == 52);
    assert!(size_of::<BpfSock>() == 80);
    assert!(offset_of!(BpfSock, dst_port) == 48);
    assert!(offset_of!(BpfSock, dst_ip4) == 52);
    assert!(offset_of!(BpfSock, state) == 72);
    assert!(offset_of!(BpfSock, rx_queue_mapping) == 76);
    assert!(size_of::<BpfSockTuple>() == 36);
    assert!(size_of::<BpfSpinLock>() == 4);
    assert!(size_of::<BpfDynptr>() == 16);
};

/// `struct bpf_sk_lookup`, the sk_lookup programs' context (the layout
/// `crate::progtype::sk_lookup::off` and the sk_lookup hook use).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpfSkLookup {
    /// `union { __bpf_md_ptr(struct bpf_sock *, sk); __u64 cookie; }`.
    pub sk: u64,
    pub family: u32,
    pub protocol: u32,
    pub remote_ip4: u32,
    pub remote_ip6: [u32; 4],
    pub remote_port: u16,
    pub _pad: u16,
    pub local_ip4: u32,
    pub local_ip6: [u32; 4],
    pub local_port: u32,
    pub ingress_ifindex: u32,
}

impl BtfDescribe for BpfSkLookup {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("bpf_sk_lookup", false, size_of::<Self>(), |b| {
            let (u32_, u64_, be16) = (b.ty::<__u32>(), b.ty::<__u64>(), b.ty::<__be16>());
            let u32x4 = b.array::<__u32>(4);
            let sk = b.md_ptr::<BpfSock>("sk");
            let head = b.anon(true, 8, &[Field::new("", sk, 0), Field::new("cookie", u64_, 0)]);
            vec![
                Field::new("", head, offset_of!(Self, sk)),
                f!(Self, family, u32_),
                f!(Self, protocol, u32_),
                f!(Self, remote_ip4, u32_),
                f!(Self, remote_ip6, u32x4),
                f!(Self, remote_port, be16),
                f!(Self, local_ip4, u32_),
                f!(Self, local_ip6, u32x4),
                f!(Self, local_port, u32_),
                f!(Self, ingress_ifindex, u32_),
            ]
        })
    }
}

const _: () = {
    assert!(size_of::<BpfSkLookup>() == 72);
    assert!(offset_of!(BpfSkLookup, remote_port) == 36);
    assert!(offset_of!(BpfSkLookup, local_ip4) == 40);
    assert!(offset_of!(BpfSkLookup, local_port) == 60);
    assert!(offset_of!(BpfSkLookup, ingress_ifindex) == 64);
};
