//! uapi numbers and names from `include/uapi/linux/bpf.h`: commands, map
//! types, program types, attach types, link types and flags, with the names
//! bpftool prints (`tools/bpf/bpftool` uses the lower-case enum suffix).

macro_rules! uapi_enum {
    ($(#[$m:meta])* $name:ident { $($var:ident = $val:expr, $s:expr;)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(non_camel_case_types)]
        pub enum $name { $($var = $val,)* }

        impl $name {
            /// Every value, in numeric order.
            pub const ALL: &'static [$name] = &[$($name::$var,)*];

            /// The value for a raw uapi number.
            pub fn from_raw(v: u32) -> Option<$name> {
                match v { $($val => Some($name::$var),)* _ => None }
            }

            pub fn raw(self) -> u32 {
                self as u32
            }

            /// The name bpftool prints (e.g. `hash`, `socket_filter`).
            pub fn name(self) -> &'static str {
                match self { $($name::$var => $s,)* }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

uapi_enum! {
    /// `enum bpf_cmd`.
    BpfCmd {
        MapCreate = 0, "map_create";
        MapLookupElem = 1, "map_lookup_elem";
        MapUpdateElem = 2, "map_update_elem";
        MapDeleteElem = 3, "map_delete_elem";
        MapGetNextKey = 4, "map_get_next_key";
        ProgLoad = 5, "prog_load";
        ObjPin = 6, "obj_pin";
        ObjGet = 7, "obj_get";
        ProgAttach = 8, "prog_attach";
        ProgDetach = 9, "prog_detach";
        ProgTestRun = 10, "prog_test_run";
        ProgGetNextId = 11, "prog_get_next_id";
        MapGetNextId = 12, "map_get_next_id";
        ProgGetFdById = 13, "prog_get_fd_by_id";
        MapGetFdById = 14, "map_get_fd_by_id";
        ObjGetInfoByFd = 15, "obj_get_info_by_fd";
        ProgQuery = 16, "prog_query";
        RawTracepointOpen = 17, "raw_tracepoint_open";
        BtfLoad = 18, "btf_load";
        BtfGetFdById = 19, "btf_get_fd_by_id";
        TaskFdQuery = 20, "task_fd_query";
        MapLookupAndDeleteElem = 21, "map_lookup_and_delete_elem";
        MapFreeze = 22, "map_freeze";
        BtfGetNextId = 23, "btf_get_next_id";
        MapLookupBatch = 24, "map_lookup_batch";
        MapLookupAndDeleteBatch = 25, "map_lookup_and_delete_batch";
        MapUpdateBatch = 26, "map_update_batch";
        MapDeleteBatch = 27, "map_delete_batch";
        LinkCreate = 28, "link_create";
        LinkUpdate = 29, "link_update";
        LinkGetFdById = 30, "link_get_fd_by_id";
        LinkGetNextId = 31, "link_get_next_id";
        EnableStats = 32, "enable_stats";
        IterCreate = 33, "iter_create";
        LinkDetach = 34, "link_detach";
        ProgBindMap = 35, "prog_bind_map";
    }
}

uapi_enum! {
    /// `enum bpf_map_type`.
    MapType {
        Unspec = 0, "unspec";
        Hash = 1, "hash";
        Array = 2, "array";
        ProgArray = 3, "prog_array";
        PerfEventArray = 4, "perf_event_array";
        PercpuHash = 5, "percpu_hash";
        PercpuArray = 6, "percpu_array";
        StackTrace = 7, "stack_trace";
        CgroupArray = 8, "cgroup_array";
        LruHash = 9, "lru_hash";
        LruPercpuHash = 10, "lru_percpu_hash";
        LpmTrie = 11, "lpm_trie";
        ArrayOfMaps = 12, "array_of_maps";
        HashOfMaps = 13, "hash_of_maps";
        Devmap = 14, "devmap";
        Sockmap = 15, "sockmap";
        Cpumap = 16, "cpumap";
        Xskmap = 17, "xskmap";
        Sockhash = 18, "sockhash";
        CgroupStorage = 19, "cgroup_storage";
        ReuseportSockarray = 20, "reuseport_sockarray";
        PercpuCgroupStorage = 21, "percpu_cgroup_storage";
        Queue = 22, "queue";
        Stack = 23, "stack";
        SkStorage = 24, "sk_storage";
        DevmapHash = 25, "devmap_hash";
        StructOps = 26, "struct_ops";
        Ringbuf = 27, "ringbuf";
        InodeStorage = 28, "inode_storage";
        TaskStorage = 29, "task_storage";
        BloomFilter = 30, "bloom_filter";
        UserRingbuf = 31, "user_ringbuf";
        CgrpStorage = 32, "cgrp_storage";
        Arena = 33, "arena";
    }
}

uapi_enum! {
    /// `enum bpf_prog_type`.
    ProgType {
        Unspec = 0, "unspec";
        SocketFilter = 1, "socket_filter";
        Kprobe = 2, "kprobe";
        SchedCls = 3, "sched_cls";
        SchedAct = 4, "sched_act";
        Tracepoint = 5, "tracepoint";
        Xdp = 6, "xdp";
        PerfEvent = 7, "perf_event";
        CgroupSkb = 8, "cgroup_skb";
        CgroupSock = 9, "cgroup_sock";
        LwtIn = 10, "lwt_in";
        LwtOut = 11, "lwt_out";
        LwtXmit = 12, "lwt_xmit";
        SockOps = 13, "sock_ops";
        SkSkb = 14, "sk_skb";
        CgroupDevice = 15, "cgroup_device";
        SkMsg = 16, "sk_msg";
        RawTracepoint = 17, "raw_tracepoint";
        CgroupSockAddr = 18, "cgroup_sock_addr";
        LwtSeg6local = 19, "lwt_seg6local";
        LircMode2 = 20, "lirc_mode2";
        SkReuseport = 21, "sk_reuseport";
        FlowDissector = 22, "flow_dissector";
        CgroupSysctl = 23, "cgroup_sysctl";
        RawTracepointWritable = 24, "raw_tracepoint_writable";
        CgroupSockopt = 25, "cgroup_sockopt";
        Tracing = 26, "tracing";
        StructOps = 27, "struct_ops";
        Ext = 28, "ext";
        Lsm = 29, "lsm";
        SkLookup = 30, "sk_lookup";
        Syscall = 31, "syscall";
        Netfilter = 32, "netfilter";
    }
}

uapi_enum! {
    /// `enum bpf_link_type`.
    LinkType {
        Unspec = 0, "unspec";
        RawTracepoint = 1, "raw_tracepoint";
        Tracing = 2, "tracing";
        Cgroup = 3, "cgroup";
        Iter = 4, "iter";
        Netns = 5, "netns";
        Xdp = 6, "xdp";
        PerfEvent = 7, "perf_event";
        KprobeMulti = 8, "kprobe_multi";
        StructOps = 9, "struct_ops";
        Netfilter = 10, "netfilter";
        Tcx = 11, "tcx";
        UprobeMulti = 12, "uprobe_multi";
        Netkit = 13, "netkit";
        Sockmap = 14, "sockmap";
    }
}

uapi_enum! {
    /// `enum bpf_attach_type` (names as bpftool's `attach_type_name`).
    AttachType {
        CgroupInetIngress = 0, "cgroup_inet_ingress";
        CgroupInetEgress = 1, "cgroup_inet_egress";
        CgroupInetSockCreate = 2, "cgroup_inet_sock_create";
        CgroupSockOps = 3, "cgroup_sock_ops";
        SkSkbStreamParser = 4, "sk_skb_stream_parser";
        SkSkbStreamVerdict = 5, "sk_skb_stream_verdict";
        CgroupDevice = 6, "cgroup_device";
        SkMsgVerdict = 7, "sk_msg_verdict";
        CgroupInet4Bind = 8, "cgroup_inet4_bind";
        CgroupInet6Bind = 9, "cgroup_inet6_bind";
        CgroupInet4Connect = 10, "cgroup_inet4_connect";
        CgroupInet6Connect = 11, "cgroup_inet6_connect";
        CgroupInet4PostBind = 12, "cgroup_inet4_post_bind";
        CgroupInet6PostBind = 13, "cgroup_inet6_post_bind";
        CgroupUdp4Sendmsg = 14, "cgroup_udp4_sendmsg";
        CgroupUdp6Sendmsg = 15, "cgroup_udp6_sendmsg";
        LircMode2 = 16, "lirc_mode2";
        FlowDissector = 17, "flow_dissector";
        CgroupSysctl = 18, "cgroup_sysctl";
        CgroupUdp4Recvmsg = 19, "cgroup_udp4_recvmsg";
        CgroupUdp6Recvmsg = 20, "cgroup_udp6_recvmsg";
        CgroupGetsockopt = 21, "cgroup_getsockopt";
        CgroupSetsockopt = 22, "cgroup_setsockopt";
        TraceRawTp = 23, "trace_raw_tp";
        TraceFentry = 24, "trace_fentry";
        TraceFexit = 25, "trace_fexit";
        ModifyReturn = 26, "modify_return";
        LsmMac = 27, "lsm_mac";
        TraceIter = 28, "trace_iter";
        CgroupInet4Getpeername = 29, "cgroup_inet4_getpeername";
        CgroupInet6Getpeername = 30, "cgroup_inet6_getpeername";
        CgroupInet4Getsockname = 31, "cgroup_inet4_getsockname";
        CgroupInet6Getsockname = 32, "cgroup_inet6_getsockname";
        XdpDevmap = 33, "xdp_devmap";
        CgroupInetSockRelease = 34, "cgroup_inet_sock_release";
        XdpCpumap = 35, "xdp_cpumap";
        SkLookup = 36, "sk_lookup";
        Xdp = 37, "xdp";
        SkSkbVerdict = 38, "sk_skb_verdict";
        SkReuseportSelect = 39, "sk_reuseport_select";
        SkReuseportSelectOrMigrate = 40, "sk_reuseport_select_or_migrate";
        PerfEvent = 41, "perf_event";
        TraceKprobeMulti = 42, "trace_kprobe_multi";
        LsmCgroup = 43, "lsm_cgroup";
        StructOps = 44, "struct_ops";
        Netfilter = 45, "netfilter";
    }
}

// Map update flags (`BPF_ANY` ...).
pub const BPF_ANY: u64 = 0;
pub const BPF_NOEXIST: u64 = 1;
pub const BPF_EXIST: u64 = 2;
pub const BPF_F_LOCK: u64 = 4;

// Map creation flags.
pub const BPF_F_NO_PREALLOC: u32 = 1 << 0;
pub const BPF_F_NO_COMMON_LRU: u32 = 1 << 1;
pub const BPF_F_NUMA_NODE: u32 = 1 << 2;
pub const BPF_F_RDONLY: u32 = 1 << 3;
pub const BPF_F_WRONLY: u32 = 1 << 4;
pub const BPF_F_STACK_BUILD_ID: u32 = 1 << 5;
pub const BPF_F_ZERO_SEED: u32 = 1 << 6;
pub const BPF_F_RDONLY_PROG: u32 = 1 << 7;
pub const BPF_F_WRONLY_PROG: u32 = 1 << 8;
pub const BPF_F_CLONE: u32 = 1 << 9;
pub const BPF_F_MMAPABLE: u32 = 1 << 10;
pub const BPF_F_PRESERVE_ELEMS: u32 = 1 << 11;
pub const BPF_F_INNER_MAP: u32 = 1 << 12;
pub const BPF_F_LINK: u32 = 1 << 13;
pub const BPF_F_PATH_FD: u32 = 1 << 14;

// PROG_ATTACH / LINK_UPDATE flags.
pub const BPF_F_ALLOW_OVERRIDE: u32 = 1 << 0;
pub const BPF_F_ALLOW_MULTI: u32 = 1 << 1;
pub const BPF_F_REPLACE: u32 = 1 << 2;

/// `BPF_OBJ_NAME_LEN`: object names are at most 15 characters plus NUL.
pub const BPF_OBJ_NAME_LEN: usize = 16;
/// `BPF_TAG_SIZE`.
pub const BPF_TAG_SIZE: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names() {
        assert_eq!(MapType::from_raw(27), Some(MapType::Ringbuf));
        assert_eq!(MapType::Ringbuf.name(), "ringbuf");
        assert_eq!(ProgType::from_raw(22), Some(ProgType::FlowDissector));
        assert_eq!(AttachType::FlowDissector.raw(), 17);
        assert_eq!(AttachType::SkLookup.raw(), 36);
        assert_eq!(LinkType::Netns.raw(), 5);
        assert_eq!(BpfCmd::LinkDetach.raw(), 34);
        assert_eq!(MapType::from_raw(99), None);
        for (i, t) in MapType::ALL.iter().enumerate() {
            assert_eq!(t.raw() as usize, i);
        }
    }
}
