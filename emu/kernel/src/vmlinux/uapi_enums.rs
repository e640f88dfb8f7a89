//! uapi enums of vmlinux BTF that guest programs name: map types, update
//! flags, `perf_event_output` / ring-buffer flags, program return codes.
//!
//! Kernel counterpart: the enums of include/uapi/linux/bpf.h, which pahole
//! records in vmlinux BTF (named ones by name, anonymous ones as anonymous
//! ENUM / ENUM64 types) and `bpftool btf dump format c` prints into
//! `vmlinux.h`, so that `BPF_ANY`, `BPF_F_CURRENT_CPU`, `SK_PASS`... are
//! available to programs, and `bpf_core_enum_value()` can relocate them.
//!
//! Emulated: the enumerators listed below with the kernel's values (aliases
//! such as `BPF_MAP_TYPE_CGROUP_STORAGE` included, in header order). Not
//! emulated: the other uapi enums (`bpf_cmd`, `bpf_prog_type`,
//! `bpf_attach_type`, `bpf_func_id`, ...).

use super::VmlinuxBuilder;
use bpfemu_btf::TypeId;

/// `enum bpf_map_type`.
pub const BPF_MAP_TYPE: &[(&str, i32)] = &[
    ("BPF_MAP_TYPE_UNSPEC", 0),
    ("BPF_MAP_TYPE_HASH", 1),
    ("BPF_MAP_TYPE_ARRAY", 2),
    ("BPF_MAP_TYPE_PROG_ARRAY", 3),
    ("BPF_MAP_TYPE_PERF_EVENT_ARRAY", 4),
    ("BPF_MAP_TYPE_PERCPU_HASH", 5),
    ("BPF_MAP_TYPE_PERCPU_ARRAY", 6),
    ("BPF_MAP_TYPE_STACK_TRACE", 7),
    ("BPF_MAP_TYPE_CGROUP_ARRAY", 8),
    ("BPF_MAP_TYPE_LRU_HASH", 9),
    ("BPF_MAP_TYPE_LRU_PERCPU_HASH", 10),
    ("BPF_MAP_TYPE_LPM_TRIE", 11),
    ("BPF_MAP_TYPE_ARRAY_OF_MAPS", 12),
    ("BPF_MAP_TYPE_HASH_OF_MAPS", 13),
    ("BPF_MAP_TYPE_DEVMAP", 14),
    ("BPF_MAP_TYPE_SOCKMAP", 15),
    ("BPF_MAP_TYPE_CPUMAP", 16),
    ("BPF_MAP_TYPE_XSKMAP", 17),
    ("BPF_MAP_TYPE_SOCKHASH", 18),
    ("BPF_MAP_TYPE_CGROUP_STORAGE_DEPRECATED", 19),
    ("BPF_MAP_TYPE_CGROUP_STORAGE", 19),
    ("BPF_MAP_TYPE_REUSEPORT_SOCKARRAY", 20),
    ("BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE_DEPRECATED", 21),
    ("BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE", 21),
    ("BPF_MAP_TYPE_QUEUE", 22),
    ("BPF_MAP_TYPE_STACK", 23),
    ("BPF_MAP_TYPE_SK_STORAGE", 24),
    ("BPF_MAP_TYPE_DEVMAP_HASH", 25),
    ("BPF_MAP_TYPE_STRUCT_OPS", 26),
    ("BPF_MAP_TYPE_RINGBUF", 27),
    ("BPF_MAP_TYPE_INODE_STORAGE", 28),
    ("BPF_MAP_TYPE_TASK_STORAGE", 29),
    ("BPF_MAP_TYPE_BLOOM_FILTER", 30),
    ("BPF_MAP_TYPE_USER_RINGBUF", 31),
    ("BPF_MAP_TYPE_CGRP_STORAGE", 32),
    ("BPF_MAP_TYPE_ARENA", 33),
    ("__MAX_BPF_MAP_TYPE", 34),
];

/// The anonymous enum of `BPF_MAP_UPDATE_ELEM` flags.
pub const UPDATE_FLAGS: &[(&str, i32)] =
    &[("BPF_ANY", 0), ("BPF_NOEXIST", 1), ("BPF_EXIST", 2), ("BPF_F_LOCK", 4)];

/// The anonymous enum of `BPF_MAP_CREATE` flags.
pub const MAP_CREATE_FLAGS: &[(&str, i32)] = &[
    ("BPF_F_NO_PREALLOC", 1),
    ("BPF_F_NO_COMMON_LRU", 2),
    ("BPF_F_NUMA_NODE", 4),
    ("BPF_F_RDONLY", 8),
    ("BPF_F_WRONLY", 16),
    ("BPF_F_STACK_BUILD_ID", 32),
    ("BPF_F_ZERO_SEED", 64),
    ("BPF_F_RDONLY_PROG", 128),
    ("BPF_F_WRONLY_PROG", 256),
    ("BPF_F_CLONE", 512),
    ("BPF_F_MMAPABLE", 1024),
    ("BPF_F_PRESERVE_ELEMS", 2048),
    ("BPF_F_INNER_MAP", 4096),
    ("BPF_F_LINK", 8192),
];

/// The anonymous 64-bit enum of `bpf_perf_event_output()` flags.
pub const PERF_OUTPUT_FLAGS: &[(&str, u64)] = &[
    ("BPF_F_INDEX_MASK", 0xffff_ffff),
    ("BPF_F_CURRENT_CPU", 0xffff_ffff),
    ("BPF_F_CTXLEN_MASK", 0xfffff << 32),
];

/// The anonymous enum of `bpf_ringbuf_output/submit/discard()` flags.
pub const RINGBUF_WAKEUP_FLAGS: &[(&str, i32)] = &[("BPF_RB_NO_WAKEUP", 1), ("BPF_RB_FORCE_WAKEUP", 2)];

/// The anonymous enum of `bpf_ringbuf_query()` selectors.
pub const RINGBUF_QUERY: &[(&str, i32)] =
    &[("BPF_RB_AVAIL_DATA", 0), ("BPF_RB_RING_SIZE", 1), ("BPF_RB_CONS_POS", 2), ("BPF_RB_PROD_POS", 3)];

/// `enum sk_action`.
pub const SK_ACTION: &[(&str, i32)] = &[("SK_DROP", 0), ("SK_PASS", 1)];

/// `enum bpf_ret_code` (flow dissector and lwt returns).
pub const BPF_RET_CODE: &[(&str, i32)] = &[
    ("BPF_OK", 0),
    ("BPF_DROP", 2),
    ("BPF_REDIRECT", 7),
    ("BPF_LWT_REROUTE", 128),
    ("BPF_FLOW_DISSECTOR_CONTINUE", 129),
];

/// The anonymous enum of `bpf_flow_keys.flags` input flags.
pub const FLOW_DISSECTOR_FLAGS: &[(&str, i32)] = &[
    ("BPF_FLOW_DISSECTOR_F_PARSE_1ST_FRAG", 1),
    ("BPF_FLOW_DISSECTOR_F_STOP_AT_FLOW_LABEL", 2),
    ("BPF_FLOW_DISSECTOR_F_STOP_AT_ENCAP", 4),
];

/// Adds the enums in a fixed order; returns the id of `enum bpf_map_type`.
pub fn describe_all(b: &mut VmlinuxBuilder) -> TypeId {
    let map_type = b.once("enum bpf_map_type", |b| b.btf.add_enum("bpf_map_type", 4, false, BPF_MAP_TYPE));
    for values in [UPDATE_FLAGS, MAP_CREATE_FLAGS] {
        b.btf.add_enum("", 4, false, values);
    }
    b.btf.add_enum64("", 8, false, PERF_OUTPUT_FLAGS);
    for values in [RINGBUF_WAKEUP_FLAGS, RINGBUF_QUERY] {
        b.btf.add_enum("", 4, false, values);
    }
    b.once("enum sk_action", |b| b.btf.add_enum("sk_action", 4, false, SK_ACTION));
    b.once("enum bpf_ret_code", |b| b.btf.add_enum("bpf_ret_code", 4, false, BPF_RET_CODE));
    b.btf.add_enum("", 4, false, FLOW_DISSECTOR_FLAGS);
    map_type
}
