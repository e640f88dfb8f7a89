//! The `btf_trace_<name>` typedefs of the emulated tracepoints
//! ([`crate::tracepoint::TRACEPOINTS`]), the targets of BTF-enabled raw
//! tracepoint programs (`tp_btf`).
//!
//! Kernel counterpart: `include/trace/bpf_probe.h` declares, per event,
//! `typedef void (*btf_trace_##call)(void *__data, proto);`, which pahole
//! emits as TYPEDEF → PTR → FUNC_PROTO (return type void, parameters
//! without names, the first a `void *`).
//!
//! Appended after every other vmlinux type (the test functions of
//! [`crate::trampoline::btf`] included), in registry order, so that no
//! earlier id moves.

use super::VmlinuxBuilder;
use super::c::{Char, Int};
use crate::tracepoint::{TRACEPOINTS, TpArg, TracepointDef};
use bpfemu_btf::TypeId;

fn arg_type(b: &mut VmlinuxBuilder, t: TpArg) -> TypeId {
    match t {
        TpArg::IntPtr => b.ptr::<Int>(),
        TpArg::ConstCharPtr => {
            let c = b.ty::<Char>();
            let k = b.once("const char", |b| b.btf.add_const(c));
            b.ptr_to(k)
        }
    }
}

/// Appends the typedef of `tp`; its id.
pub fn describe(b: &mut VmlinuxBuilder, tp: &TracepointDef) -> TypeId {
    let void_ptr = b.ptr_to(0);
    let mut params: Vec<(&str, TypeId)> = vec![("", void_ptr)];
    for &(_, t) in tp.args {
        params.push(("", arg_type(b, t)));
    }
    let proto = b.btf.add_func_proto(0, &params, false);
    let ptr = b.btf.add_ptr(proto);
    b.btf.add_typedef(&tp.btf_name(), ptr)
}

/// Appends every tracepoint's typedef.
pub fn describe_all(b: &mut VmlinuxBuilder) {
    for tp in TRACEPOINTS {
        describe(b, tp);
    }
}
