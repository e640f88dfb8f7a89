//! Tracepoints of the emulated kernel that BPF programs attach to as raw
//! tracepoints: `raw_tracepoint` programs (`BPF_RAW_TRACEPOINT_OPEN` with
//! a tracepoint name) and BTF-enabled raw tracepoint programs (`tp_btf`:
//! `BPF_PROG_TYPE_TRACING` with `BPF_TRACE_RAW_TP`, whose target is the
//! `btf_trace_<name>` typedef of vmlinux BTF).
//!
//! Kernel counterparts: the `__bpf_raw_tp` section of `struct
//! bpf_raw_event_map` (one per `TRACE_EVENT` / `DEFINE_EVENT`, with the
//! tracepoint, its probe `__bpf_trace_<template>` and `num_args`) that
//! `bpf_get_raw_tracepoint()` searches by name, and the `btf_trace_<name>`
//! typedefs `include/trace/bpf_probe.h` defines for each (`typedef void
//! (*btf_trace_<name>)(void *__data, proto)`), as pahole emits them:
//! a TYPEDEF of a PTR to a FUNC_PROTO returning void whose first
//! parameter is `void *` and whose parameters have no names.
//!
//! The registry ([`TRACEPOINTS`]) holds only tracepoints that fire in the
//! emulator, each with the prototype of its `include/trace/events/`
//! header:
//!
//! - `bpf_test_finish` (include/trace/events/bpf_test_run.h,
//!   `TP_PROTO(int *err)`): fired by `bpf_test_finish()` of
//!   net/bpf/test_run.c, i.e. at the end of `BPF_PROG_TEST_RUN` of skb
//!   programs, XDP programs and flow dissectors (after `data_out` was
//!   copied; `*err` is 0 or `-ENOSPC`), [`run`];
//! - `bpf_trace_printk` (kernel/trace/bpf_trace.h, `TP_PROTO(const char
//!   *bpf_string)`): fired by the `bpf_trace_printk` helper with the
//!   rendered message, from inside the calling program's run (its probes
//!   run nested, [`run::fire_in_run`]).
//!
//! Not emulated: every other tracepoint (`sys_enter`/`sys_exit` — no
//! `pt_regs` of a syscall —, the scheduler,
//! network and block tracepoints, ...): `BPF_RAW_TRACEPOINT_OPEN` of their
//! names is `ENOENT` and there is no `btf_trace_*` typedef for them; module
//! tracepoints; writable raw tracepoints (`BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE`,
//! `writable_size`).
//!
//! [`link`] holds `BPF_RAW_TRACEPOINT_OPEN`, the
//! `BPF_LINK_TYPE_RAW_TRACEPOINT` links and the programs attached to each
//! tracepoint; [`run`] runs them when a tracepoint fires and implements
//! `bpf_prog_test_run_raw_tp()`.

pub mod link;
pub mod run;

#[cfg(test)]
mod tests;

/// The C type of a tracepoint argument (the kinds the emulated
/// tracepoints use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TpArg {
    /// `int *`.
    IntPtr,
    /// `const char *`.
    ConstCharPtr,
}

/// One tracepoint (`struct bpf_raw_event_map` and its `TP_PROTO`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TracepointDef {
    /// `tp->name`.
    pub name: &'static str,
    /// `TP_PROTO`'s parameters (name, type), in order; their count is
    /// `num_args`.
    pub args: &'static [(&'static str, TpArg)],
}

impl TracepointDef {
    /// `btp->num_args`.
    pub fn num_args(&self) -> usize {
        self.args.len()
    }

    /// The name of its typedef in vmlinux BTF.
    pub fn btf_name(&self) -> String {
        format!("{BTF_TRACE_PREFIX}{}", self.name)
    }
}

/// The prefix of the typedefs `bpf_check_attach_target()` accepts for
/// `BPF_TRACE_RAW_TP` (`prefix[] = "btf_trace_"`).
pub const BTF_TRACE_PREFIX: &str = "btf_trace_";

/// `bpf_test_finish`.
pub const BPF_TEST_FINISH: TracepointDef =
    TracepointDef { name: "bpf_test_finish", args: &[("err", TpArg::IntPtr)] };

/// `bpf_trace_printk`.
pub const BPF_TRACE_PRINTK: TracepointDef =
    TracepointDef { name: "bpf_trace_printk", args: &[("bpf_string", TpArg::ConstCharPtr)] };

/// Every tracepoint of the emulated kernel, in the order their typedefs
/// are appended to vmlinux BTF.
pub const TRACEPOINTS: &[TracepointDef] = &[BPF_TEST_FINISH, BPF_TRACE_PRINTK];

/// `bpf_get_raw_tracepoint()`: the tracepoint named `name`.
pub fn by_name(name: &str) -> Option<&'static TracepointDef> {
    TRACEPOINTS.iter().find(|t| t.name == name)
}
