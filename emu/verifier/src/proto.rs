//! Helper prototypes: what the verifier checks at a `call` (the shape of
//! `struct bpf_func_proto`, `enum bpf_arg_type` and `enum
//! bpf_return_type` in include/linux/bpf.h).
//!
//! The kernel composes argument and return types from a base type and flag
//! bits (`MEM_RDONLY`, `MEM_UNINIT`, `PTR_MAYBE_NULL`, `OBJ_RELEASE`, ...);
//! here the bases are enum variants and the flags that matter for a base
//! are its fields. The table lists every helper implemented in this module
//! plus a few whose implementation comes later (`implemented: false`, see the kernel crate):
//! `bpf_tail_call` (run by the VM itself; its prototype is here), the ring
//! buffer helpers and `bpf_perf_event_output`. The dynptr helpers (197-203)
//! have the prototypes of Linux 6.5+ (`MEM_RDONLY` dynptr arguments).
//!
//! Not modelled: `arg_btf_id` sets, `allowed()` callbacks, `arg_size`
//! for fixed-size memory, per-program-type prototype variants (e.g. the
//! `_tp` / `_raw_tp` versions of tracing helpers).

/// Flags of a `ARG_PTR_TO_MEM`-style argument.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MemFlags {
    /// `MEM_RDONLY`: the helper only reads the memory (read-only memory,
    /// such as a `.rodata` value, is accepted).
    pub rdonly: bool,
    /// `MEM_UNINIT`: the helper writes it before reading; uninitialised
    /// stack is accepted and becomes initialised.
    pub uninit: bool,
    /// `PTR_MAYBE_NULL`: NULL is accepted (with a zero size).
    pub maybe_null: bool,
}

impl MemFlags {
    pub const NONE: MemFlags = MemFlags { rdonly: false, uninit: false, maybe_null: false };
    pub const RDONLY: MemFlags = MemFlags { rdonly: true, uninit: false, maybe_null: false };
    pub const UNINIT: MemFlags = MemFlags { rdonly: false, uninit: true, maybe_null: false };
    pub const OR_NULL: MemFlags = MemFlags { rdonly: false, uninit: false, maybe_null: true };
    pub const RDONLY_OR_NULL: MemFlags = MemFlags { rdonly: true, uninit: false, maybe_null: true };
}

/// `enum bpf_arg_type`: what a helper argument must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArgType {
    /// `ARG_DONTCARE`: unused (or unchecked) argument.
    DontCare,
    /// `ARG_CONST_MAP_PTR`: a map loaded with `ld_imm64`.
    ConstMapPtr,
    /// `ARG_PTR_TO_MAP_KEY`: `key_size` readable bytes.
    PtrToMapKey,
    /// `ARG_PTR_TO_MAP_VALUE`: `value_size` readable bytes.
    PtrToMapValue,
    /// `ARG_PTR_TO_MAP_VALUE | MEM_UNINIT` (`ARG_PTR_TO_UNINIT_MAP_VALUE`):
    /// `value_size` bytes the helper writes.
    PtrToUninitMapValue,
    /// `ARG_PTR_TO_MEM` with flags; the next argument is its size.
    PtrToMem(MemFlags),
    /// `ARG_CONST_SIZE`: size of the previous memory argument, > 0.
    ConstSize,
    /// `ARG_CONST_SIZE_OR_ZERO`.
    ConstSizeOrZero,
    /// `ARG_CONST_ALLOC_SIZE_OR_ZERO`: size of memory the helper returns.
    ConstAllocSizeOrZero,
    /// `ARG_PTR_TO_CTX`.
    PtrToCtx,
    /// `ARG_PTR_TO_CTX_OR_NULL`.
    PtrToCtxOrNull,
    /// `ARG_ANYTHING`: any initialised value.
    Anything,
    /// `ARG_PTR_TO_STACK`.
    PtrToStack,
    /// `ARG_PTR_TO_STACK_OR_NULL`.
    PtrToStackOrNull,
    /// `ARG_PTR_TO_LONG`: 8 writable bytes.
    PtrToLong,
    /// `ARG_PTR_TO_INT`: 4 writable bytes.
    PtrToInt,
    /// `ARG_PTR_TO_CONST_STR`: a NUL-terminated string in a read-only map.
    PtrToConstStr,
    /// `ARG_PTR_TO_FUNC`: a callback (`ld_imm64` with `BPF_PSEUDO_FUNC`).
    PtrToFunc,
    /// `ARG_PTR_TO_SPIN_LOCK`: the `bpf_spin_lock` field of a map value or
    /// allocated object.
    PtrToSpinLock,
    /// `ARG_PTR_TO_BTF_ID` (optionally `PTR_MAYBE_NULL`), with the
    /// struct its `arg_btf_id` names (`None`: any kernel type).
    PtrToBtfId { maybe_null: bool, btf_struct: Option<&'static str> },
    /// `ARG_PTR_TO_RINGBUF_MEM | OBJ_RELEASE`: a record from
    /// `bpf_ringbuf_reserve`, released by the call.
    PtrToRingbufMemRelease,
    /// `ARG_PTR_TO_DYNPTR` with its flags: the dynptr type it takes
    /// (`DYNPTR_TYPE_LOCAL` / `_RINGBUF`; `Invalid` for any), `MEM_UNINIT`
    /// (the helper initialises a dynptr there), `OBJ_RELEASE` (the call
    /// releases it). `MEM_RDONLY` (the helper neither changes nor destroys
    /// the dynptr) is implied by the absence of the two others.
    PtrToDynptr { kind: DynptrKind, uninit: bool, release: bool },
    /// `ARG_PTR_TO_TIMER`.
    PtrToTimer,
    /// `ARG_PTR_TO_SOCKET_OR_NULL`: a full socket, or NULL.
    PtrToSocketOrNull,
    /// `ARG_PTR_TO_BTF_ID_SOCK_COMMON | OBJ_RELEASE`: a referenced socket,
    /// released by the call (only `PTR_TO_SOCKET` exists here).
    PtrToSockCommonRelease,
}

/// `enum bpf_return_type`: what r0 holds after the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RetType {
    /// `RET_INTEGER`: a scalar.
    Integer,
    /// `RET_VOID`: r0 is not readable afterwards.
    Void,
    /// `RET_PTR_TO_MAP_VALUE_OR_NULL`.
    PtrToMapValueOrNull,
    /// `RET_PTR_TO_MEM_OR_NULL` of a fixed size (`ret_size`), or
    /// `RET_PTR_TO_RINGBUF_MEM_OR_NULL` when `ringbuf` (size from the
    /// `ConstAllocSizeOrZero` argument, an acquired reference).
    PtrToMemOrNull { size: u32, ringbuf: bool },
    /// `RET_PTR_TO_BTF_ID_OR_NULL`.
    PtrToBtfIdOrNull,
    /// `RET_PTR_TO_DYNPTR_MEM_OR_NULL`: a slice of the dynptr argument, of
    /// the `ARG_CONST_ALLOC_SIZE_OR_ZERO` argument's size.
    PtrToDynptrMemOrNull,
    /// `RET_PTR_TO_BTF_ID`.
    PtrToBtfId,
}

/// `struct bpf_func_proto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FuncProto {
    /// uapi `BPF_FUNC_*` id.
    pub id: i32,
    /// Name without the `bpf_` prefix, as `___BPF_FUNC_MAPPER` spells it.
    pub name: &'static str,
    pub ret: RetType,
    pub args: [ArgType; 5],
    /// Only GPL-compatible programs may call it.
    pub gpl_only: bool,
    /// Only sleepable programs may call it (`might_sleep`).
    pub might_sleep: bool,
    /// May be called with packet pointers as memory arguments
    /// (`pkt_access`).
    pub pkt_access: bool,
    /// Whether this crate implements it (registered by
    /// the kernel crate's `helpers::register_all`; `bpf_tail_call` counts as implemented, the
    /// VM runs it).
    pub implemented: bool,
}

pub use crate::state::DynptrKind;
use ArgType::*;
use RetType::*;

const D: ArgType = DontCare;

macro_rules! proto {
    ($id:expr, $name:literal, $ret:expr, [$($arg:expr),* $(,)?] $(, $field:ident: $val:expr)* $(,)?) => {{
        let mut args = [D; 5];
        let given: &[ArgType] = &[$($arg),*];
        let mut i = 0;
        while i < given.len() {
            args[i] = given[i];
            i += 1;
        }
        #[allow(unused_mut)]
        let mut p = FuncProto {
            id: $id,
            name: $name,
            ret: $ret,
            args,
            gpl_only: false,
            might_sleep: false,
            pkt_access: false,
            implemented: true,
        };
        $(p.$field = $val;)*
        p
    }};
}

/// Helper ids (uapi `BPF_FUNC_*`) of everything in the table.
pub mod id {
    pub const MAP_LOOKUP_ELEM: i32 = 1;
    pub const MAP_UPDATE_ELEM: i32 = 2;
    pub const MAP_DELETE_ELEM: i32 = 3;
    pub const KTIME_GET_NS: i32 = 5;
    pub const TRACE_PRINTK: i32 = 6;
    pub const GET_PRANDOM_U32: i32 = 7;
    pub const GET_SMP_PROCESSOR_ID: i32 = 8;
    pub const TAIL_CALL: i32 = 12;
    pub const GET_CURRENT_PID_TGID: i32 = 14;
    pub const GET_CURRENT_UID_GID: i32 = 15;
    pub const GET_CURRENT_COMM: i32 = 16;
    pub const PERF_EVENT_OUTPUT: i32 = 25;
    pub const SKB_LOAD_BYTES: i32 = 26;
    pub const GET_NUMA_NODE_ID: i32 = 42;
    pub const MAP_PUSH_ELEM: i32 = 87;
    pub const MAP_POP_ELEM: i32 = 88;
    pub const MAP_PEEK_ELEM: i32 = 89;
    pub const SK_RELEASE: i32 = 86;
    pub const SPIN_LOCK: i32 = 93;
    pub const SPIN_UNLOCK: i32 = 94;
    pub const PROBE_READ_USER: i32 = 112;
    pub const PROBE_READ_KERNEL: i32 = 113;
    pub const PROBE_READ_USER_STR: i32 = 114;
    pub const PROBE_READ_KERNEL_STR: i32 = 115;
    pub const JIFFIES64: i32 = 118;
    pub const SK_ASSIGN: i32 = 124;
    pub const KTIME_GET_BOOT_NS: i32 = 125;
    pub const SEQ_PRINTF: i32 = 126;
    pub const SEQ_WRITE: i32 = 127;
    pub const RINGBUF_OUTPUT: i32 = 130;
    pub const RINGBUF_RESERVE: i32 = 131;
    pub const RINGBUF_SUBMIT: i32 = 132;
    pub const RINGBUF_DISCARD: i32 = 133;
    pub const RINGBUF_QUERY: i32 = 134;
    pub const KTIME_GET_COARSE_NS: i32 = 160;
    pub const FOR_EACH_MAP_ELEM: i32 = 164;
    pub const SNPRINTF: i32 = 165;
    pub const GET_FUNC_IP: i32 = 173;
    pub const LOOP: i32 = 181;
    pub const GET_FUNC_ARG: i32 = 183;
    pub const GET_FUNC_RET: i32 = 184;
    pub const GET_FUNC_ARG_CNT: i32 = 185;
    pub const DYNPTR_FROM_MEM: i32 = 197;
    pub const RINGBUF_RESERVE_DYNPTR: i32 = 198;
    pub const RINGBUF_SUBMIT_DYNPTR: i32 = 199;
    pub const RINGBUF_DISCARD_DYNPTR: i32 = 200;
    pub const DYNPTR_READ: i32 = 201;
    pub const DYNPTR_WRITE: i32 = 202;
    pub const DYNPTR_DATA: i32 = 203;
}

/// `is_sync_callback_calling_function()`: helpers that run their
/// callback before they return, any number of times (`bpf_loop`,
/// `bpf_for_each_map_elem`; the others of the kernel, `bpf_find_vma` and
/// `bpf_user_ringbuf_drain`, are not in the table, nor is the async
/// `bpf_timer_set_callback`).
pub fn is_sync_callback_helper(func_id: i32) -> bool {
    matches!(func_id, id::LOOP | id::FOR_EACH_MAP_ELEM)
}

const MEM_RO: ArgType = PtrToMem(MemFlags::RDONLY);
/// `ARG_PTR_TO_BTF_ID` with `arg1_btf_id = &btf_seq_file_ids[0]`.
const SEQ_FILE: ArgType = ArgType::PtrToBtfId { maybe_null: false, btf_struct: Some("seq_file") };
const MEM_UNINIT: ArgType = PtrToMem(MemFlags::UNINIT);
/// `ARG_PTR_TO_DYNPTR | DYNPTR_TYPE_LOCAL | MEM_UNINIT`.
const DYNPTR_LOCAL_UNINIT: ArgType = PtrToDynptr { kind: DynptrKind::Local, uninit: true, release: false };
/// `ARG_PTR_TO_DYNPTR | DYNPTR_TYPE_RINGBUF | MEM_UNINIT`.
const DYNPTR_RINGBUF_UNINIT: ArgType =
    PtrToDynptr { kind: DynptrKind::Ringbuf, uninit: true, release: false };
/// `ARG_PTR_TO_DYNPTR | DYNPTR_TYPE_RINGBUF | OBJ_RELEASE`.
const DYNPTR_RINGBUF_RELEASE: ArgType =
    PtrToDynptr { kind: DynptrKind::Ringbuf, uninit: false, release: true };
/// `ARG_PTR_TO_DYNPTR | MEM_RDONLY`: any initialised dynptr.
const DYNPTR_RDONLY: ArgType = PtrToDynptr { kind: DynptrKind::Invalid, uninit: false, release: false };

/// The prototype table, sorted by id.
pub static PROTOS: &[FuncProto] = &[
    proto!(id::MAP_LOOKUP_ELEM, "map_lookup_elem", PtrToMapValueOrNull, [ConstMapPtr, PtrToMapKey],
        pkt_access: true),
    proto!(id::MAP_UPDATE_ELEM, "map_update_elem", Integer,
        [ConstMapPtr, PtrToMapKey, PtrToMapValue, Anything], pkt_access: true),
    proto!(id::MAP_DELETE_ELEM, "map_delete_elem", Integer, [ConstMapPtr, PtrToMapKey], pkt_access: true),
    proto!(id::KTIME_GET_NS, "ktime_get_ns", Integer, []),
    proto!(id::TRACE_PRINTK, "trace_printk", Integer, [MEM_RO, ConstSize], gpl_only: true),
    proto!(id::GET_PRANDOM_U32, "get_prandom_u32", Integer, []),
    proto!(id::GET_SMP_PROCESSOR_ID, "get_smp_processor_id", Integer, []),
    proto!(id::TAIL_CALL, "tail_call", Void, [PtrToCtx, ConstMapPtr, Anything]),
    proto!(id::GET_CURRENT_PID_TGID, "get_current_pid_tgid", Integer, []),
    proto!(id::GET_CURRENT_UID_GID, "get_current_uid_gid", Integer, []),
    proto!(id::GET_CURRENT_COMM, "get_current_comm", Integer, [MEM_UNINIT, ConstSize]),
    proto!(id::PERF_EVENT_OUTPUT, "perf_event_output", Integer,
        [PtrToCtx, ConstMapPtr, Anything, MEM_RO, ConstSizeOrZero], gpl_only: true),
    // net/core/filter.c `bpf_skb_load_bytes_proto`.
    proto!(id::SKB_LOAD_BYTES, "skb_load_bytes", Integer, [PtrToCtx, Anything, MEM_UNINIT, ConstSize]),
    proto!(id::GET_NUMA_NODE_ID, "get_numa_node_id", Integer, []),
    proto!(id::SK_RELEASE, "sk_release", Integer, [PtrToSockCommonRelease]),
    proto!(id::MAP_PUSH_ELEM, "map_push_elem", Integer, [ConstMapPtr, PtrToMapValue, Anything]),
    proto!(id::MAP_POP_ELEM, "map_pop_elem", Integer, [ConstMapPtr, PtrToUninitMapValue]),
    proto!(id::MAP_PEEK_ELEM, "map_peek_elem", Integer, [ConstMapPtr, PtrToUninitMapValue]),
    proto!(id::SPIN_LOCK, "spin_lock", Void, [PtrToSpinLock]),
    proto!(id::SPIN_UNLOCK, "spin_unlock", Void, [PtrToSpinLock]),
    proto!(id::PROBE_READ_USER, "probe_read_user", Integer, [MEM_UNINIT, ConstSizeOrZero, Anything],
        gpl_only: true),
    proto!(id::PROBE_READ_KERNEL, "probe_read_kernel", Integer, [MEM_UNINIT, ConstSizeOrZero, Anything],
        gpl_only: true),
    proto!(id::PROBE_READ_USER_STR, "probe_read_user_str", Integer,
        [MEM_UNINIT, ConstSizeOrZero, Anything], gpl_only: true),
    proto!(id::PROBE_READ_KERNEL_STR, "probe_read_kernel_str", Integer,
        [MEM_UNINIT, ConstSizeOrZero, Anything], gpl_only: true),
    // kernel/bpf/helpers.c `bpf_jiffies64_proto`.
    proto!(id::JIFFIES64, "jiffies64", Integer, []),
    // `bpf_sk_lookup_assign_proto` (the sk_lookup flavour; tc's
    // `bpf_sk_assign_proto` is not emulated).
    proto!(id::SK_ASSIGN, "sk_assign", Integer, [PtrToCtx, PtrToSocketOrNull, Anything]),
    proto!(id::KTIME_GET_BOOT_NS, "ktime_get_boot_ns", Integer, []),
    // kernel/trace/bpf_trace.c, for iterator programs only
    // (`tracing_prog_func_proto()` with `BPF_TRACE_ITER`).
    proto!(id::SEQ_PRINTF, "seq_printf", Integer,
        [SEQ_FILE, MEM_RO, ConstSize, PtrToMem(MemFlags::RDONLY_OR_NULL), ConstSizeOrZero], gpl_only: true),
    proto!(id::SEQ_WRITE, "seq_write", Integer, [SEQ_FILE, MEM_RO, ConstSizeOrZero], gpl_only: true),
    proto!(id::RINGBUF_OUTPUT, "ringbuf_output", Integer, [ConstMapPtr, MEM_RO, ConstSizeOrZero, Anything]),
    proto!(
        id::RINGBUF_RESERVE,
        "ringbuf_reserve",
        PtrToMemOrNull { size: 0, ringbuf: true },
        [ConstMapPtr, ConstAllocSizeOrZero, Anything]
    ),
    proto!(id::RINGBUF_SUBMIT, "ringbuf_submit", Void, [PtrToRingbufMemRelease, Anything]),
    proto!(id::RINGBUF_DISCARD, "ringbuf_discard", Void, [PtrToRingbufMemRelease, Anything]),
    proto!(id::RINGBUF_QUERY, "ringbuf_query", Integer, [ConstMapPtr, Anything]),
    proto!(id::KTIME_GET_COARSE_NS, "ktime_get_coarse_ns", Integer, []),
    proto!(
        id::FOR_EACH_MAP_ELEM,
        "for_each_map_elem",
        Integer,
        [ConstMapPtr, PtrToFunc, PtrToStackOrNull, Anything]
    ),
    proto!(id::SNPRINTF, "snprintf", Integer,
        [PtrToMem(MemFlags::OR_NULL), ConstSizeOrZero, PtrToConstStr, PtrToMem(MemFlags::RDONLY_OR_NULL),
         ConstSizeOrZero], gpl_only: true),
    // kernel/trace/bpf_trace.c `bpf_get_func_ip_proto_tracing` (the
    // flavour of `bpf_tracing_func_proto()`; kprobes have their own).
    proto!(id::GET_FUNC_IP, "get_func_ip", Integer, [PtrToCtx], gpl_only: true),
    proto!(id::LOOP, "loop", Integer, [Anything, PtrToFunc, PtrToStackOrNull, Anything]),
    // kernel/trace/bpf_trace.c, for programs with a trampoline
    // (`tracing_prog_func_proto()`).
    proto!(id::GET_FUNC_ARG, "get_func_arg", Integer, [PtrToCtx, Anything, PtrToLong]),
    proto!(id::GET_FUNC_RET, "get_func_ret", Integer, [PtrToCtx, PtrToLong]),
    proto!(id::GET_FUNC_ARG_CNT, "get_func_arg_cnt", Integer, [PtrToCtx]),
    // kernel/bpf/helpers.c and kernel/bpf/ringbuf.c.
    proto!(
        id::DYNPTR_FROM_MEM,
        "dynptr_from_mem",
        Integer,
        [MEM_UNINIT, ConstSizeOrZero, Anything, DYNPTR_LOCAL_UNINIT]
    ),
    proto!(
        id::RINGBUF_RESERVE_DYNPTR,
        "ringbuf_reserve_dynptr",
        Integer,
        [ConstMapPtr, Anything, Anything, DYNPTR_RINGBUF_UNINIT]
    ),
    proto!(id::RINGBUF_SUBMIT_DYNPTR, "ringbuf_submit_dynptr", Void, [DYNPTR_RINGBUF_RELEASE, Anything]),
    proto!(id::RINGBUF_DISCARD_DYNPTR, "ringbuf_discard_dynptr", Void, [DYNPTR_RINGBUF_RELEASE, Anything]),
    proto!(
        id::DYNPTR_READ,
        "dynptr_read",
        Integer,
        [MEM_UNINIT, ConstSizeOrZero, DYNPTR_RDONLY, Anything, Anything]
    ),
    proto!(
        id::DYNPTR_WRITE,
        "dynptr_write",
        Integer,
        [DYNPTR_RDONLY, Anything, MEM_RO, ConstSizeOrZero, Anything]
    ),
    proto!(
        id::DYNPTR_DATA,
        "dynptr_data",
        PtrToDynptrMemOrNull,
        [DYNPTR_RDONLY, Anything, ConstAllocSizeOrZero]
    ),
];

/// The prototype of helper `id`, if the table has it.
pub fn proto(id: i32) -> Option<&'static FuncProto> {
    PROTOS.binary_search_by_key(&id, |p| p.id).ok().map(|i| &PROTOS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_names_match_the_uapi() {
        for w in PROTOS.windows(2) {
            assert!(w[0].id < w[1].id, "{} before {}", w[0].name, w[1].name);
        }
        for p in PROTOS {
            let uapi = bpfemu_isa::disasm::helper_name(p.id).expect("known id");
            assert_eq!(uapi, format!("bpf_{}", p.name), "id {}", p.id);
        }
    }

    #[test]
    fn lookups() {
        let p = proto(1).unwrap();
        assert_eq!(p.ret, PtrToMapValueOrNull);
        assert_eq!(p.args, [ConstMapPtr, PtrToMapKey, DontCare, DontCare, DontCare]);
        assert!(p.pkt_access && p.implemented && !p.gpl_only);
        assert!(proto(6).unwrap().gpl_only);
        assert!(proto(198).unwrap().implemented);
        assert_eq!(proto(id::DYNPTR_DATA).unwrap().ret, PtrToDynptrMemOrNull);
        assert_eq!(proto(12).unwrap().ret, Void);
        assert!(proto(4).is_none());
        assert!(proto(-1).is_none());
    }
}
