//! BPF helpers: their prototypes (what the verifier checks, the shape of
//! `struct bpf_func_proto` in include/linux/bpf.h; [`proto`]) and their
//! implementations (kernel/bpf/helpers.c, kernel/trace/bpf_trace.c),
//! registered with the interpreter by id ([`register_all`]).
//!
//! Every helper is an `extern "C" fn(u64, u64, u64, u64, u64) -> u64` that
//! reads the run's [`RunCtx`](crate::runctx::RunCtx) (CPU, clocks,
//! `current`, RNG, the guest memory and maps the run may touch) and
//! returns r0: a value, or a negative errno as the kernel's helper does.
//! All raw guest-memory access is in `guest` (private); a helper given a bogus
//! pointer by an unverified program fails with `-EFAULT` and touches
//! nothing.
//!
//! Implemented (by uapi id): map_lookup_elem (1), map_update_elem (2),
//! map_delete_elem (3), ktime_get_ns (5), trace_printk (6),
//! get_prandom_u32 (7), get_smp_processor_id (8), get_current_pid_tgid
//! (14), get_current_uid_gid (15), get_current_comm (16), get_numa_node_id
//! (42), map_push/pop/peek_elem (87–89, `-EINVAL` until queue/stack maps
//! exist), spin_lock / spin_unlock (93/94), probe_read_user /
//! probe_read_kernel / _str (112–115), jiffies64 (118), ktime_get_boot_ns (125),
//! seq_printf (126), seq_write (127),
//! ktime_get_coarse_ns (160), for_each_map_elem (164), snprintf (165),
//! loop (181), ringbuf_output / reserve / submit / discard / query
//! (130–134, [`ringbuf`]), perf_event_output (25, [`perf_output`]),
//! dynptr_from_mem, ringbuf_reserve/submit/discard_dynptr, dynptr_read,
//! dynptr_write, dynptr_data (197–203, [`dynptr`]), get_func_ip (173,
//! the tracing flavour), get_func_arg / get_func_ret / get_func_arg_cnt
//! (183–185, [`func_args`]). `bpf_tail_call` (12) is run by the VM; only its prototype is
//! here. The two callback helpers are in [`CALLBACK_HELPERS`] and
//! registered as such ([`callback`]).
//!
//! Not yet: every other helper of the uapi.

pub mod callback;
pub mod dynptr;
pub mod func_args;
pub(crate) mod guest;
pub mod kfunc;
pub mod lock;
pub mod map;
pub mod misc;
pub mod perf_output;
pub mod printf;
pub mod probe;
pub mod proto;
pub mod ringbuf;
pub mod seq;
pub mod sk_assign;
pub mod skb;
pub mod trace;

#[cfg(test)]
mod tests;

use crate::errno::Errno;
use bpfemu_vm::{HelperFn, Interpreter};
use proto::id;

/// A negative errno as r0.
pub(crate) fn neg(e: Errno) -> u64 {
    e.neg() as u64
}

/// Every implemented helper with its uapi id.
pub const HELPERS: &[(i32, HelperFn)] = &[
    (id::MAP_LOOKUP_ELEM, map::map_lookup_elem),
    (id::MAP_UPDATE_ELEM, map::map_update_elem),
    (id::MAP_DELETE_ELEM, map::map_delete_elem),
    (id::KTIME_GET_NS, misc::ktime_get_ns),
    (id::TRACE_PRINTK, trace::trace_printk),
    (id::GET_PRANDOM_U32, misc::get_prandom_u32),
    (id::GET_SMP_PROCESSOR_ID, misc::get_smp_processor_id),
    (id::GET_CURRENT_PID_TGID, misc::get_current_pid_tgid),
    (id::GET_CURRENT_UID_GID, misc::get_current_uid_gid),
    (id::GET_CURRENT_COMM, misc::get_current_comm),
    (id::PERF_EVENT_OUTPUT, perf_output::perf_event_output),
    (id::SKB_LOAD_BYTES, skb::skb_load_bytes),
    (id::GET_NUMA_NODE_ID, misc::get_numa_node_id),
    (id::SK_RELEASE, sk_assign::sk_release),
    (id::MAP_PUSH_ELEM, map::map_push_elem),
    (id::MAP_POP_ELEM, map::map_pop_elem),
    (id::MAP_PEEK_ELEM, map::map_peek_elem),
    (id::SPIN_LOCK, lock::spin_lock),
    (id::SPIN_UNLOCK, lock::spin_unlock),
    (id::PROBE_READ_USER, probe::probe_read_user),
    (id::PROBE_READ_KERNEL, probe::probe_read_kernel),
    (id::PROBE_READ_USER_STR, probe::probe_read_user_str),
    (id::PROBE_READ_KERNEL_STR, probe::probe_read_kernel_str),
    (id::SK_ASSIGN, sk_assign::sk_assign),
    (id::JIFFIES64, misc::jiffies64),
    (id::KTIME_GET_BOOT_NS, misc::ktime_get_boot_ns),
    (id::SEQ_PRINTF, seq::seq_printf),
    (id::SEQ_WRITE, seq::seq_write),
    (id::KTIME_GET_COARSE_NS, misc::ktime_get_coarse_ns),
    (id::SNPRINTF, trace::snprintf),
    (id::RINGBUF_OUTPUT, ringbuf::ringbuf_output),
    (id::RINGBUF_RESERVE, ringbuf::ringbuf_reserve),
    (id::RINGBUF_SUBMIT, ringbuf::ringbuf_submit),
    (id::RINGBUF_DISCARD, ringbuf::ringbuf_discard),
    (id::RINGBUF_QUERY, ringbuf::ringbuf_query),
    (id::GET_FUNC_IP, func_args::get_func_ip),
    (id::GET_FUNC_ARG, func_args::get_func_arg),
    (id::GET_FUNC_RET, func_args::get_func_ret),
    (id::GET_FUNC_ARG_CNT, func_args::get_func_arg_cnt),
    (id::DYNPTR_FROM_MEM, dynptr::dynptr_from_mem),
    (id::RINGBUF_RESERVE_DYNPTR, dynptr::ringbuf_reserve_dynptr),
    (id::RINGBUF_SUBMIT_DYNPTR, dynptr::ringbuf_submit_dynptr),
    (id::RINGBUF_DISCARD_DYNPTR, dynptr::ringbuf_discard_dynptr),
    (id::DYNPTR_READ, dynptr::dynptr_read),
    (id::DYNPTR_WRITE, dynptr::dynptr_write),
    (id::DYNPTR_DATA, dynptr::dynptr_data),
];

/// Implemented helpers that call back into the program (registered with
/// [`Interpreter::register_callback_helper`]).
pub const CALLBACK_HELPERS: &[(i32, HelperFn)] =
    &[(id::FOR_EACH_MAP_ELEM, callback::for_each_map_elem), (id::LOOP, callback::bpf_loop)];

/// The implementation of helper `id`, if any.
pub fn helper(id: i32) -> Option<HelperFn> {
    HELPERS.iter().chain(CALLBACK_HELPERS).find(|(i, _)| *i == id).map(|&(_, f)| f)
}

/// Registers every implemented helper with `vm`.
pub fn register_all(vm: &mut Interpreter) {
    vm.set_after_call(Some(bpfemu_vm::AfterCall {
        armed: &crate::runctx::SWITCHING,
        hook: crate::runctx::after_call,
    }));
    for &(id, f) in HELPERS {
        vm.register_helper(id, f);
    }
    for &(id, f) in CALLBACK_HELPERS {
        vm.register_callback_helper(id, f);
    }
    kfunc::register_kfuncs(vm);
}
