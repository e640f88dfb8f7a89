//! Which helpers a program type may call: the `get_func_proto` chains of
//! the kernel, reduced to the helpers bpfemu has prototypes for.
//!
//! - `bpf_base_func_proto()` (kernel/bpf/helpers.c, Linux 6.16 and
//!   later): a first group for every loader (map operations, prandom,
//!   cpu/numa ids, tail call, ktime ns/boot, ring buffer,
//!   `get_current_pid_tgid` (6.10), `get_current_uid_gid` (6.16)), a
//!   second for `CAP_BPF` (spin locks, `bpf_jiffies64`, `bpf_loop`,
//!   `bpf_for_each_map_elem`, ring buffer dynptrs, the dynptr helpers), a
//!   third for `CAP_PERFMON` (trace_printk, `get_current_comm` (6.16),
//!   snprintf, probe_read_{user,kernel}{,_str}). 6.16's "bpf: Allow some
//!   trace helpers for all prog types" moved `get_current_uid_gid` and
//!   `get_current_comm` there from the tracing and cgroup chains;
//! - `bpf_sk_base_func_proto()` (net/core/filter.c): the base plus
//!   `ktime_get_coarse_ns` — the chain of socket filters, flow dissectors,
//!   sk_lookup, tc and XDP programs;
//! - `bpf_tracing_func_proto()` (kernel/trace/bpf_trace.c): the base plus
//!   the `current` helpers, trace_printk, probe reads and
//!   `perf_event_output` — kprobe, tracepoint, perf_event, raw and BTF
//!   tracing programs, and (through `tracing_prog_func_proto()`) syscall
//!   programs. Tracing programs do not get `ktime_get_coarse_ns`. It
//!   offers `bpf_get_func_ip` (its tracing flavour) to every one of
//!   them; the verifier's `check_get_func_ip()` then refuses it except
//!   for programs with a trampoline (`ProgTypeOps::check_get_func_ip`);
//!   kprobes have their own flavour (`kprobe_prog_func_proto()`), not
//!   emulated (see [`super::tracing::Kprobe`]);
//! - `tracing_prog_func_proto()` (kernel/trace/bpf_trace.c) for programs
//!   with a trampoline (`bpf_prog_has_trampoline()`: fentry, fexit,
//!   fmod_ret): `bpf_get_func_arg`, `bpf_get_func_ret`,
//!   `bpf_get_func_arg_cnt` on top ([`trampoline`]); for iterators
//!   (`BPF_TRACE_ITER`), `bpf_seq_printf` and `bpf_seq_write` on top
//!   ([`iter`]).
//!
//! A helper bpfemu does not implement (`implemented == false` in
//! [`bpfemu_verifier::proto::PROTOS`]) is never returned, so a program
//! calling it is refused at load with the verifier's "program of this type cannot use helper"
//! instead of failing at run time. Type-specific helpers are offered by
//! their program type (sk_lookup: `sk_assign`, `sk_release`; the skb
//! types: `skb_load_bytes`); the others (skb stores, checksums, stack
//! ids, ...) are not in the table and so are unknown.

use bpfemu_verifier::proto::{FuncProto, id, proto};

/// The loader's capabilities as the helper chains test them
/// (`bpf_token_capable(.., CAP_BPF / CAP_PERFMON)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    pub bpf: bool,
    pub perfmon: bool,
}

impl Caps {
    /// A root loader: every capability.
    pub const ROOT: Caps = Caps { bpf: true, perfmon: true };
    /// An unprivileged loader.
    pub const NONE: Caps = Caps { bpf: false, perfmon: false };
}

/// The implemented prototype of `id`.
fn implemented(id: i32) -> Option<&'static FuncProto> {
    proto(id).filter(|p| p.implemented)
}

/// `bpf_base_func_proto()`.
pub fn base(func: i32, caps: Caps) -> Option<&'static FuncProto> {
    let open = matches!(
        func,
        id::MAP_LOOKUP_ELEM
            | id::MAP_UPDATE_ELEM
            | id::MAP_DELETE_ELEM
            | id::MAP_PUSH_ELEM
            | id::MAP_POP_ELEM
            | id::MAP_PEEK_ELEM
            | id::GET_PRANDOM_U32
            | id::GET_SMP_PROCESSOR_ID
            | id::GET_NUMA_NODE_ID
            | id::TAIL_CALL
            | id::KTIME_GET_NS
            | id::KTIME_GET_BOOT_NS
            | id::RINGBUF_OUTPUT
            | id::RINGBUF_RESERVE
            | id::RINGBUF_SUBMIT
            | id::RINGBUF_DISCARD
            | id::RINGBUF_QUERY
            | id::GET_CURRENT_PID_TGID
            | id::GET_CURRENT_UID_GID
    );
    let bpf = matches!(
        func,
        id::SPIN_LOCK
            | id::SPIN_UNLOCK
            | id::FOR_EACH_MAP_ELEM
            | id::LOOP
            | id::RINGBUF_RESERVE_DYNPTR
            | id::RINGBUF_SUBMIT_DYNPTR
            | id::RINGBUF_DISCARD_DYNPTR
            | id::DYNPTR_FROM_MEM
            | id::DYNPTR_READ
            | id::DYNPTR_WRITE
            | id::DYNPTR_DATA
            | id::JIFFIES64
    );
    let perfmon = matches!(
        func,
        id::TRACE_PRINTK
            | id::GET_CURRENT_COMM
            | id::SNPRINTF
            | id::PROBE_READ_USER
            | id::PROBE_READ_KERNEL
            | id::PROBE_READ_USER_STR
            | id::PROBE_READ_KERNEL_STR
    );
    let allowed = open || (bpf && caps.bpf) || (perfmon && caps.bpf && caps.perfmon);
    if allowed { implemented(func) } else { None }
}

/// The skb program types' own helpers on top of their base chain
/// (`sk_filter_func_proto()`, `tc_cls_act_func_proto()`,
/// `cg_skb_func_proto()`, `sk_skb_func_proto()`, `lwt_out_func_proto()`
/// in net/core/filter.c): `bpf_skb_load_bytes`, the one bpfemu implements.
pub fn skb(func: i32, caps: Caps) -> Option<&'static FuncProto> {
    match func {
        id::SKB_LOAD_BYTES => implemented(func),
        _ => sk_base(func, caps),
    }
}

/// `bpf_sk_base_func_proto()`.
pub fn sk_base(func: i32, caps: Caps) -> Option<&'static FuncProto> {
    match func {
        id::KTIME_GET_COARSE_NS => implemented(func),
        _ => base(func, caps),
    }
}

/// `bpf_tracing_func_proto()` (`get_current_uid_gid` and
/// `get_current_comm` come from the base set since 6.16; loading a tracing
/// program takes `CAP_PERFMON` anyway).
pub fn tracing(func: i32, caps: Caps) -> Option<&'static FuncProto> {
    match func {
        id::GET_CURRENT_PID_TGID
        | id::TRACE_PRINTK
        | id::PERF_EVENT_OUTPUT
        | id::PROBE_READ_USER
        | id::PROBE_READ_KERNEL
        | id::PROBE_READ_USER_STR
        | id::PROBE_READ_KERNEL_STR
        | id::GET_FUNC_IP => implemented(func),
        id::KTIME_GET_COARSE_NS => None,
        _ => base(func, caps),
    }
}

/// `tracing_prog_func_proto()` of a program with a trampoline
/// (`bpf_prog_has_trampoline()`): the argument helpers, then
/// [`tracing`]. (`bpf_get_attach_cookie` is not emulated: tracing links
/// have no cookies yet.)
pub fn trampoline(func: i32, caps: Caps) -> Option<&'static FuncProto> {
    match func {
        id::GET_FUNC_ARG | id::GET_FUNC_RET | id::GET_FUNC_ARG_CNT => implemented(func),
        _ => tracing(func, caps),
    }
}

/// `tracing_prog_func_proto()` of an iterator program
/// (`BPF_TRACE_ITER`): `bpf_seq_printf` and `bpf_seq_write` (offered to
/// no other program), then [`tracing`]. `bpf_seq_printf_btf` and the
/// target's own helpers (`bpf_iter_get_func_proto()`; the `bpf_map`
/// target has none) are not emulated.
pub fn iter(func: i32, caps: Caps) -> Option<&'static FuncProto> {
    match func {
        id::SEQ_PRINTF | id::SEQ_WRITE => implemented(func),
        _ => tracing(func, caps),
    }
}

/// `bpf_lsm_func_proto()` (kernel/bpf/bpf_lsm.c) of a `BPF_LSM_MAC`
/// program (`trampoline`: `bpf_prog_has_trampoline()`, true for
/// `BPF_LSM_MAC`): `bpf_spin_lock` / `bpf_spin_unlock` whatever the
/// loader's capabilities, then `tracing_prog_func_proto()`. Not emulated
/// (so "program of this type cannot use helper"): `bpf_inode_storage_get` / `_delete`,
/// `bpf_sk_storage_get` / `_delete`, `bpf_bprm_opts_set`,
/// `bpf_ima_inode_hash`, `bpf_ima_file_hash`, `bpf_get_attach_cookie`,
/// and the `BPF_LSM_CGROUP` helpers (`bpf_get_local_storage`,
/// `bpf_set_retval`, `bpf_get_retval`, `bpf_setsockopt`,
/// `bpf_getsockopt`, `cgroup_common_func_proto()`).
pub fn lsm(func: i32, caps: Caps, has_trampoline: bool) -> Option<&'static FuncProto> {
    match func {
        id::SPIN_LOCK | id::SPIN_UNLOCK => implemented(func),
        _ if has_trampoline => trampoline(func, caps),
        _ => tracing(func, caps),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains() {
        // The base set without privileges.
        assert!(base(id::MAP_LOOKUP_ELEM, Caps::NONE).is_some());
        assert!(base(id::TAIL_CALL, Caps::NONE).is_some());
        assert!(base(id::SPIN_LOCK, Caps::NONE).is_none());
        assert!(base(id::SPIN_LOCK, Caps::ROOT).is_some());
        assert!(base(id::TRACE_PRINTK, Caps::NONE).is_none());
        assert!(base(id::TRACE_PRINTK, Caps { bpf: true, perfmon: false }).is_none());
        assert!(base(id::TRACE_PRINTK, Caps::ROOT).is_some());
        assert!(base(id::LOOP, Caps::NONE).is_none());
        assert!(base(id::FOR_EACH_MAP_ELEM, Caps::ROOT).is_some());
        // pid_tgid and uid_gid are in the open base set, comm needs
        // CAP_PERFMON, jiffies64 CAP_BPF (6.16+).
        assert!(base(id::GET_CURRENT_PID_TGID, Caps::NONE).is_some());
        assert!(base(id::GET_CURRENT_UID_GID, Caps::NONE).is_some());
        assert!(base(id::GET_CURRENT_COMM, Caps::ROOT).is_some());
        assert!(base(id::GET_CURRENT_COMM, Caps { bpf: true, perfmon: false }).is_none());
        assert!(base(id::JIFFIES64, Caps::ROOT).is_some());
        assert!(base(id::JIFFIES64, Caps::NONE).is_none());
        assert!(tracing(id::GET_CURRENT_UID_GID, Caps::ROOT).is_some());
        // Coarse time: socket programs yes, tracing no.
        assert!(sk_base(id::KTIME_GET_COARSE_NS, Caps::NONE).is_some());
        assert!(tracing(id::KTIME_GET_COARSE_NS, Caps::ROOT).is_none());
        assert!(base(id::KTIME_GET_COARSE_NS, Caps::ROOT).is_none());
        // Dynptr helpers need CAP_BPF; unimplemented helpers are unknown.
        assert!(base(id::RINGBUF_RESERVE_DYNPTR, Caps::ROOT).is_some());
        assert!(base(id::DYNPTR_FROM_MEM, Caps::ROOT).is_some());
        assert!(base(id::DYNPTR_DATA, Caps::NONE).is_none());
        assert!(base(9, Caps::ROOT).is_none());
        assert!(base(id::RINGBUF_RESERVE, Caps::NONE).is_some());
        assert!(tracing(id::PERF_EVENT_OUTPUT, Caps::ROOT).is_some());
        assert!(tracing(9999, Caps::ROOT).is_none());
        // The argument helpers need a trampoline; bpf_get_func_ip is in
        // every tracing chain (the verifier decides who may call it).
        assert!(tracing(id::GET_FUNC_IP, Caps::NONE).is_some());
        for f in [id::GET_FUNC_ARG, id::GET_FUNC_RET, id::GET_FUNC_ARG_CNT] {
            assert!(tracing(f, Caps::ROOT).is_none());
            assert!(trampoline(f, Caps::NONE).is_some());
        }
        assert!(trampoline(id::GET_FUNC_IP, Caps::NONE).is_some());
        assert!(trampoline(id::MAP_LOOKUP_ELEM, Caps::NONE).is_some());
        assert!(base(id::GET_FUNC_IP, Caps::ROOT).is_none());
        // LSM: spin locks without CAP_BPF, the trampoline helpers.
        assert!(lsm(id::SPIN_LOCK, Caps::NONE, true).is_some());
        assert!(lsm(id::GET_FUNC_ARG, Caps::NONE, true).is_some());
        assert!(lsm(id::GET_FUNC_ARG, Caps::NONE, false).is_none());
        assert!(lsm(id::MAP_LOOKUP_ELEM, Caps::NONE, true).is_some());
        // The seq helpers: iterators only.
        for f in [id::SEQ_PRINTF, id::SEQ_WRITE] {
            assert!(iter(f, Caps::NONE).is_some());
            assert!(tracing(f, Caps::ROOT).is_none());
            assert!(trampoline(f, Caps::ROOT).is_none());
        }
        assert!(iter(id::TRACE_PRINTK, Caps::ROOT).is_some());
    }
}
