use super::types::*;
use super::*;
use crate::bpf::attr::{BpfAttr, ObjInfo};
use crate::kernel::{Kernel, KernelConfig};
use bpfemu_btf::decode;
use std::mem::{offset_of, size_of};

fn id_of(btf: &Btf, name: &str) -> TypeId {
    struct_id(btf, name).unwrap_or_else(|| panic!("struct {name} missing"))
}

/// Asserts the struct's BTF size and each member's BTF offset equal the
/// Rust layout (members in anonymous unions are found through them).
macro_rules! check_layout {
    ($btf:expr, $name:literal, $s:ty, [$($f:ident $(as $bn:literal)?),* $(,)?]) => {{
        let id = id_of($btf, $name);
        assert_eq!($btf.resolve_size(id).unwrap() as usize, size_of::<$s>(), "sizeof({})", $name);
        $(
            let bname = check_layout!(@name $f $($bn)?);
            let m = $btf.member_offset(id, bname).unwrap_or_else(|| panic!("{}.{} missing", $name, bname));
            assert_eq!(m.bit_offset as usize, offset_of!($s, $f) * 8, "{}.{}", $name, bname);
            assert_eq!(m.bitfield_size, 0);
        )*
    }};
    (@name $f:ident) => { stringify!($f) };
    (@name $f:ident $bn:literal) => { $bn };
}

#[test]
fn layouts_match_rust() {
    let btf = vmlinux_btf();
    check_layout!(&btf, "bpf_spin_lock", BpfSpinLock, [val]);
    check_layout!(&btf, "bpf_dynptr", BpfDynptr, [opaque as "__opaque"]);
    check_layout!(
        &btf,
        "xdp_md",
        XdpMd,
        [data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex]
    );
    check_layout!(
        &btf,
        "__sk_buff",
        SkBuff,
        [
            len,
            pkt_type,
            mark,
            queue_mapping,
            protocol,
            vlan_present,
            vlan_tci,
            vlan_proto,
            priority,
            ingress_ifindex,
            ifindex,
            tc_index,
            cb,
            hash,
            tc_classid,
            data,
            data_end,
            napi_id,
            family,
            remote_ip4,
            local_ip4,
            remote_ip6,
            local_ip6,
            remote_port,
            local_port,
            data_meta,
            flow_keys,
            tstamp,
            wire_len,
            gso_segs,
            sk,
            gso_size,
            tstamp_type,
            hwtstamp,
        ]
    );
    check_layout!(
        &btf,
        "bpf_flow_keys",
        BpfFlowKeys,
        [
            nhoff,
            thoff,
            addr_proto,
            is_frag,
            is_first_frag,
            is_encap,
            ip_proto,
            n_proto,
            sport,
            dport,
            flags,
            flow_label,
        ]
    );
    check_layout!(&btf, "bpf_sock", BpfSock, [
        bound_dev_if, family, r#type as "type", protocol, mark, priority, src_ip4, src_ip6, src_port,
        dst_port, dst_ip4, dst_ip6, state, rx_queue_mapping,
    ]);
    check_layout!(&btf, "bpf_sock_tuple", BpfSockTuple, [ipv4, ipv6]);
    check_layout!(&btf, "task_struct", TaskStruct, [__state, flags, pid, tgid, real_parent, parent, comm]);
    check_layout!(
        &btf,
        "bpf_map",
        BpfMap,
        [ops, inner_map_meta, map_type, key_size, value_size, max_entries, map_extra, map_flags, id, name,]
    );
    check_layout!(&btf, "bpf_array", BpfArray, [map, elem_size, index_mask]);
    for name in MAP_STRUCT_SUBSETS {
        assert_eq!(btf.resolve_size(id_of(&btf, name)).unwrap() as usize, size_of::<MapSubset>());
    }

    // Members inside the anonymous structs of the unions.
    let fk = id_of(&btf, "bpf_flow_keys");
    for (name, off) in [
        ("ipv4_src", offset_of!(BpfFlowKeys, addrs) + offset_of!(FlowKeysV4, ipv4_src)),
        ("ipv4_dst", 20),
        ("ipv6_src", 16),
        ("ipv6_dst", 32),
    ] {
        assert_eq!(btf.member_offset(fk, name).unwrap().bit_offset as usize, off * 8, "{name}");
    }
    let tuple = id_of(&btf, "bpf_sock_tuple");
    let v6 = btf.member_offset(tuple, "ipv6").unwrap().ty;
    assert_eq!(btf.resolve_size(v6).unwrap() as usize, size_of::<SockTupleV6>());
    assert_eq!(
        btf.member_offset(v6, "dport").unwrap().bit_offset as usize,
        offset_of!(SockTupleV6, dport) * 8
    );
}

#[test]
fn base_types_and_typedefs() {
    let btf = vmlinux_btf();
    assert_eq!(btf.name(1), "int");
    for (name, size) in [
        ("__u8", 1),
        ("__s8", 1),
        ("__u16", 2),
        ("__s16", 2),
        ("__u32", 4),
        ("__s32", 4),
        ("__u64", 8),
        ("__s64", 8),
        ("__be16", 2),
        ("__be32", 4),
        ("__wsum", 4),
        ("u8", 1),
        ("u16", 2),
        ("u32", 4),
        ("u64", 8),
        ("s32", 4),
        ("pid_t", 4),
        ("bool", 1),
    ] {
        let id = btf.find_by_name_kind(name, BtfKind::Typedef).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(btf.resolve_size(id).unwrap(), size, "{name}");
    }
}

#[test]
fn validates_round_trips_and_is_deterministic() {
    let btf = vmlinux_btf();
    btf.validate().unwrap();
    let bytes = btf.encode().unwrap();
    assert_eq!(decode(&bytes).unwrap(), btf);
    assert_eq!(vmlinux_btf().encode().unwrap(), bytes);
}

#[test]
fn header_declares_the_contexts() {
    let h = bpfemu_btf::dump_c(&vmlinux_btf());
    for s in ["struct __sk_buff {", "struct xdp_md {", "struct bpf_flow_keys {", "typedef __u32 __be32;"] {
        assert!(h.contains(s), "{s} missing from:\n{h}");
    }
}

#[test]
fn kernel_loads_vmlinux_as_btf_id_1() {
    let mut k = Kernel::new(KernelConfig::default());
    assert_eq!(k.vmlinux_btf_id(), 1);
    let mut next = 0;
    k.bpf(BpfAttr::BtfGetNextId { start_id: 0, next_id: &mut next }).unwrap();
    assert_eq!(next, 1);
    let fd = k.bpf(BpfAttr::BtfGetFdById { id: 1 }).unwrap() as i32;
    let mut info = None;
    k.bpf(BpfAttr::ObjGetInfoByFd { bpf_fd: fd, info: &mut info }).unwrap();
    let Some(ObjInfo::Btf(i)) = info else { panic!("{info:?}") };
    assert_eq!((i.id, i.name.as_str(), i.kernel_btf), (1, "vmlinux", true));
    assert_eq!(i.btf_size as usize, vmlinux_btf().encode().unwrap().len());
    assert!(k.map_btf_id("bpf_array").is_some());
    assert!(k.map_btf_id("bpf_htab").is_some());
    assert_eq!(k.map_btf_id("no_such_map"), None);
}

#[test]
fn every_map_types_btf_name_is_in_vmlinux() {
    use crate::map::MapCreateAttr;
    use crate::uapi::MapType;
    let mut k = Kernel::new(KernelConfig::default());
    let mut created = 0;
    for &t in MapType::ALL {
        let (key_size, value_size) = match t {
            MapType::ProgArray | MapType::ArrayOfMaps | MapType::HashOfMaps => (4, 4),
            _ => (4, 8),
        };
        let attr =
            MapCreateAttr { map_type: t.raw(), key_size, value_size, max_entries: 4, ..Default::default() };
        let Ok(fd) = k.bpf(BpfAttr::MapCreate(attr)) else { continue };
        let map = k.fd_obj(fd as i32).unwrap().map().unwrap().clone();
        let name = map.ops.btf_name();
        assert!(k.map_btf_id(name).is_some(), "{t:?}: struct {name} not in vmlinux BTF");
        created += 1;
    }
    assert!(created >= 5, "only {created} map types could be created");
}
