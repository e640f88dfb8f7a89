//! Program-type rules for the verifier: the kernel's `struct
//! bpf_verifier_ops` of each program type (`get_func_proto`,
//! `is_valid_access`) with the per-type facts the verifier looks up
//! elsewhere (`check_return_code()`, `may_access_direct_pkt_data()`,
//! `may_access_skb()`), as implementations of
//! [`bpfemu_verifier::env::ProgTypeOps`]; and the load-time checks of a
//! type's attach target (`check_attach_btf_id()` in kernel/bpf/verifier.c).
//!
//! One file per family: [`skb`] (socket_filter, flow_dissector,
//! sched_cls/sched_act, cgroup_skb, sk_skb, lwt_in/out/xmit), [`xdp`],
//! [`sk_lookup`], [`reuseport`], [`sockmsg`] (sk_msg, cgroup_device),
//! [`tracing`] (kprobe, tracepoint, perf_event, raw_tracepoint, BTF
//! tracing), [`syscall`], [`struct_ops`]; [`funcs`] holds the helper chains, [`convert`]
//! the ctx access conversions applied after verification
//! (`convert_ctx_access`) and the kernel ctx structs programs run on.
//!
//! BTF tracing programs (fentry, fexit, fmod_ret) load with a vmlinux
//! FUNC as target, tp_btf programs with a `btf_trace_*` typedef
//! ([`attach`]), LSM programs (`BPF_LSM_MAC`) with a
//! `bpf_lsm_*` hook of the bpf syscall ([`crate::lsm`]; both verified by
//! [`btf_tracing`]); ext programs load with a global function
//! of a loaded program as target ([`ext`]) and are verified with that
//! program's type rules; struct_ops programs load with a member of a
//! registered struct_ops type (`bpf_dummy_ops`) as target
//! ([`struct_ops`]). Not supported yet (refused at load,
//! [`check_load`]): `BPF_LSM_CGROUP` programs, tracing programs with
//! targets in BPF programs (`attach_prog_fd`), iterator
//! targets other than `bpf_map` ([`crate::iter`]), and the other
//! cgroup types, lwt_seg6local, sock_ops, lirc, writable raw tracepoint
//! and netfilter types.

pub mod attach;
pub mod btf_tracing;
pub mod convert;
pub mod ext;
pub mod funcs;
pub mod reuseport;
pub mod sk_lookup;
pub mod skb;
pub mod sockmsg;
pub mod struct_ops;
pub mod syscall;
pub mod tracing;
pub mod xdp;

pub use attach::AttachTarget;
pub use funcs::Caps;

use crate::errno::Errno;
use crate::uapi::{AttachType, ProgType};
use bpfemu_verifier::env::{CtxAccess, CtxField, ProgTypeOps};

/// A scalar field loaded or stored exactly.
pub(crate) fn scalar() -> Option<CtxAccess> {
    Some(CtxAccess { field: CtxField::Scalar, field_size: 0 })
}

/// A scalar field of `field_size` bytes (`bpf_ctx_record_field_size()`),
/// possibly loaded narrower.
pub(crate) fn narrow(field_size: u32) -> Option<CtxAccess> {
    Some(CtxAccess { field: CtxField::Scalar, field_size })
}

/// `bpf_ctx_narrow_access_ok()`: a power of two no wider than the field.
pub(crate) fn narrow_ok(size: usize, field: usize) -> bool {
    size != 0 && size <= field && size.is_power_of_two()
}

/// The rules of `prog_type` (with its `expected_attach_type` and, for BTF
/// tracing programs, the attach target [`check_load`] resolved) for a
/// loader with `caps`; `None` for a type bpfemu cannot verify yet.
pub fn ops_for(
    prog_type: ProgType,
    expected_attach_type: Option<AttachType>,
    caps: Caps,
    target: Option<&AttachTarget>,
) -> Option<Box<dyn ProgTypeOps>> {
    use ProgType as T;
    let ops: Box<dyn ProgTypeOps> = match prog_type {
        T::SocketFilter => Box::new(skb::SocketFilter { caps }),
        T::FlowDissector => Box::new(skb::FlowDissector { caps }),
        T::SchedCls => Box::new(skb::TcClsAct { caps, act: false }),
        T::CgroupSkb => Box::new(skb::CgroupSkb { caps, attach: expected_attach_type }),
        T::SkSkb => Box::new(skb::SkSkb { caps }),
        T::SkMsg => Box::new(sockmsg::SkMsg { caps }),
        T::SkReuseport => Box::new(reuseport::SkReuseport { caps }),
        T::CgroupDevice => Box::new(sockmsg::CgroupDevice { caps }),
        T::LwtIn => Box::new(skb::Lwt { caps, kind: skb::LwtKind::In }),
        T::LwtOut => Box::new(skb::Lwt { caps, kind: skb::LwtKind::Out }),
        T::LwtXmit => Box::new(skb::Lwt { caps, kind: skb::LwtKind::Xmit }),
        T::SchedAct => Box::new(skb::TcClsAct { caps, act: true }),
        T::Xdp => Box::new(xdp::Xdp { caps, attach: expected_attach_type }),
        T::SkLookup => Box::new(sk_lookup::SkLookup { caps }),
        T::Kprobe => Box::new(tracing::Kprobe { caps }),
        T::Tracepoint => Box::new(tracing::Tracepoint { caps }),
        T::PerfEvent => Box::new(tracing::PerfEvent { caps }),
        T::RawTracepoint => Box::new(tracing::RawTracepoint { caps }),
        T::Syscall => Box::new(syscall::Syscall { caps }),
        T::StructOps => {
            Box::new(struct_ops::StructOps::new(target?, expected_attach_type, crate::vmlinux::shared())?)
        }
        T::Tracing | T::Lsm => Box::new(btf_tracing::BtfTracing::new(
            prog_type == T::Lsm,
            caps,
            expected_attach_type,
            target?.clone(),
            crate::vmlinux::shared(),
        )),
        _ => return None,
    };
    Some(crate::kfuncs::ops::with_kfuncs(prog_type, ops))
}

/// A load refused before verification: the errno and the log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub errno: Errno,
    pub msg: String,
}

fn refuse(errno: Errno, msg: impl Into<String>) -> Refusal {
    Refusal { errno, msg: msg.into() }
}

/// What `attach_prog_fd` (the same field as `attach_btf_obj_fd`) of a
/// load refers to, as `bpf_prog_load()` tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachFd {
    /// 0: no target object.
    None,
    /// A BPF program (freplace, fentry/fexit of a BPF program).
    Prog,
    /// A kernel BTF object (vmlinux).
    KernelBtf,
    /// A BTF object loaded by a program (`ENOTSUPP` in the kernel).
    UserBtf,
    /// Neither (`EINVAL`).
    Invalid,
}

/// What [`check_load`] looks at.
#[derive(Clone, Copy, Debug)]
pub struct LoadTarget {
    pub prog_type: ProgType,
    pub expected_attach_type: Option<AttachType>,
    /// `expected_attach_type` as passed (a struct_ops program's member
    /// index, which need not be an attach type).
    pub expected_attach_raw: u32,
    pub attach_btf_id: u32,
    pub attach_fd: AttachFd,
    pub sleepable: bool,
    pub gpl_compatible: bool,
}

/// `BTF_MAX_TYPE`.
pub const BTF_MAX_TYPE: u32 = 0x000f_ffff;

/// `can_be_sleepable()` (kernel/bpf/verifier.c), with syscall programs
/// (checked before it in `check_attach_btf_id()`). Kprobe programs (for
/// uprobes) are not: bpfemu has no uprobes.
fn can_be_sleepable(t: &LoadTarget) -> bool {
    use AttachType as A;
    match t.prog_type {
        ProgType::Tracing => matches!(
            t.expected_attach_type,
            Some(A::TraceFentry | A::TraceFexit | A::ModifyReturn | A::TraceIter)
        ),
        ProgType::Lsm | ProgType::StructOps | ProgType::Syscall => true,
        _ => false,
    }
}

/// The checks of `bpf_prog_load()` (`bpf_prog_load_check_attach()`) and
/// `bpf_check()` (`check_attach_btf_id()`) on the attach target before
/// verifying, in the kernel's order; the resolved target of a tracing
/// program:
///
/// - `attach_prog_fd` / `attach_btf_obj_fd`: not an object → `EINVAL`; a
///   BTF object not of the kernel → `ENOTSUPP`; a program → `EINVAL`
///   only for extensions (bpfemu does not attach tracing programs to BPF
///   programs yet: `EINVAL`); the kernel's BTF → vmlinux as the target
///   BTF;
/// - `bpf_prog_load_check_attach()`: `attach_btf_id` above `BTF_MAX_TYPE`
///   or on a type other than tracing, LSM, struct_ops, ext → `EINVAL`; a
///   BTF object without `attach_btf_id` → `EINVAL`; ext programs with an
///   expected attach type → `EINVAL` (no log for these);
/// - a sleepable program that cannot sleep: `EINVAL`, "Only
///   fentry/fexit/fmod_ret, lsm, iter, uprobe, and struct_ops programs can
///   be sleepable" (syscall programs may sleep);
/// - struct_ops: [`struct_ops::check_struct_ops_btf_id`] (GPL, a
///   registered struct, the member `expected_attach_type` names, the
///   type's `check_member`), the member as the resolved target;
/// - tracing and LSM: [`attach::check_attach_target`]; ext: without
///   `attach_btf_id` "Tracing programs must provide btf_id" (`EINVAL`);
///   with a target program `Ok(None)`: the load resolves the function
///   with [`ext::check_ext_target`] once it has the extension's BTF;
///   without one, vmlinux: "attach_btf_id N is invalid" or "Cannot
///   replace kernel functions" (`EINVAL`);
/// - a type without rules ([`ops_for`]): `EINVAL`, "bpfemu: program type
///   X is not supported yet".
///
/// A refusal's message is empty where the kernel logs nothing.
pub fn check_load(t: &LoadTarget) -> Result<Option<AttachTarget>, Refusal> {
    use ProgType as T;
    let dst_prog = check_prog_load_attach(t)?;
    if dst_prog && t.prog_type != T::Ext {
        return Err(refuse(
            Errno::EINVAL,
            "bpfemu: attach_prog_fd targets of tracing programs (fentry/fexit of BPF programs) are not supported yet",
        ));
    }
    check_attach_btf_id(t, dst_prog)
}

/// The part of [`check_load`] `bpf_prog_load()` does before allocating
/// the program (and so before `security_bpf_prog_load()`): what
/// `attach_prog_fd` / `attach_btf_obj_fd` is and
/// `bpf_prog_load_check_attach()`, all without a log line. Whether the
/// target is a program.
pub fn check_prog_load_attach(t: &LoadTarget) -> Result<bool, Refusal> {
    use ProgType as T;
    // bpf_prog_load(): what attach_prog_fd / attach_btf_obj_fd is.
    let (attach_btf, dst_prog) = match t.attach_fd {
        AttachFd::None => (t.attach_btf_id != 0, false),
        AttachFd::Prog => (false, true),
        AttachFd::KernelBtf => (true, false),
        AttachFd::UserBtf => return Err(refuse(Errno::ENOTSUPP, "")),
        AttachFd::Invalid => return Err(refuse(Errno::EINVAL, "")),
    };
    // bpf_prog_load_check_attach().
    if t.attach_btf_id != 0 {
        let typed = matches!(t.prog_type, T::Tracing | T::Lsm | T::StructOps | T::Ext);
        if t.attach_btf_id > BTF_MAX_TYPE || !typed {
            return Err(refuse(Errno::EINVAL, ""));
        }
    }
    if attach_btf && (t.attach_btf_id == 0 || dst_prog) {
        return Err(refuse(Errno::EINVAL, ""));
    }
    if dst_prog && !matches!(t.prog_type, T::Tracing | T::Ext) {
        return Err(refuse(Errno::EINVAL, ""));
    }
    if t.prog_type == T::Ext && t.expected_attach_type.is_some_and(|a| a.raw() != 0) {
        return Err(refuse(Errno::EINVAL, ""));
    }
    Ok(dst_prog)
}

/// `check_attach_btf_id()` of `bpf_check()` (see [`check_load`]).
fn check_attach_btf_id(t: &LoadTarget, dst_prog: bool) -> Result<Option<AttachTarget>, Refusal> {
    use ProgType as T;
    // Syscall programs run from the bpf() syscall, in process context,
    // and must be loaded sleepable (libbpf sets BPF_F_SLEEPABLE for
    // SEC("syscall")).
    if t.prog_type == T::Syscall && !t.sleepable {
        return Err(refuse(Errno::EINVAL, "Syscall programs can only be sleepable"));
    }
    if t.sleepable && !can_be_sleepable(t) {
        return Err(refuse(
            Errno::EINVAL,
            "Only fentry/fexit/fmod_ret, lsm, iter, uprobe, and struct_ops programs can be sleepable",
        ));
    }
    match t.prog_type {
        T::StructOps => struct_ops::check_struct_ops_btf_id(&crate::vmlinux::shared(), t).map(Some),
        T::Ext if t.attach_btf_id == 0 => Err(refuse(Errno::EINVAL, "Tracing programs must provide btf_id")),
        // The target program's function is resolved by the load, which
        // has the extension's BTF ([`ext::check_ext_target`]).
        T::Ext if dst_prog => Ok(None),
        // bpf_check_attach_target() without a target program: vmlinux.
        T::Ext if crate::vmlinux::shared().get(t.attach_btf_id).is_none() => {
            Err(refuse(Errno::EINVAL, format!("attach_btf_id {} is invalid", t.attach_btf_id)))
        }
        T::Ext => Err(refuse(Errno::EINVAL, "Cannot replace kernel functions")),
        T::Tracing | T::Lsm => attach::check_attach_target(&crate::vmlinux::shared(), t).map(Some),
        other if ops_for(other, t.expected_attach_type, Caps::ROOT, None).is_none() => {
            Err(refuse(Errno::EINVAL, format!("bpfemu: program type {other} is not supported yet")))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(prog_type: ProgType) -> LoadTarget {
        LoadTarget {
            prog_type,
            expected_attach_type: None,
            expected_attach_raw: 0,
            attach_btf_id: 0,
            attach_fd: AttachFd::None,
            sleepable: false,
            gpl_compatible: true,
        }
    }

    #[test]
    fn supported_types_have_rules() {
        for t in [
            ProgType::SocketFilter,
            ProgType::FlowDissector,
            ProgType::SchedCls,
            ProgType::SchedAct,
            ProgType::CgroupSkb,
            ProgType::SkSkb,
            ProgType::SkMsg,
            ProgType::SkReuseport,
            ProgType::CgroupDevice,
            ProgType::LwtIn,
            ProgType::LwtOut,
            ProgType::LwtXmit,
            ProgType::Xdp,
            ProgType::SkLookup,
            ProgType::Kprobe,
            ProgType::Tracepoint,
            ProgType::PerfEvent,
            ProgType::RawTracepoint,
            ProgType::Syscall,
        ] {
            let ops = ops_for(t, None, Caps::ROOT, None).unwrap();
            assert_eq!(ops.name(), t.name());
            let mut lt = target(t);
            lt.sleepable = t == ProgType::Syscall;
            assert_eq!(check_load(&lt), Ok(None));
        }
    }

    #[test]
    fn refusals() {
        let r = check_load(&target(ProgType::Tracing)).unwrap_err();
        assert_eq!((r.errno, r.msg.as_str()), (Errno::EINVAL, "Tracing programs must provide btf_id"));
        assert_eq!(check_load(&target(ProgType::Lsm)).unwrap_err().errno, Errno::EINVAL);
        assert_eq!(check_load(&target(ProgType::Ext)).unwrap_err().errno, Errno::EINVAL);
        assert_eq!(check_load(&target(ProgType::StructOps)).unwrap_err().errno, Errno::ENOTSUPP);
        let mut s = target(ProgType::StructOps);
        s.gpl_compatible = false;
        assert_eq!(check_load(&s).unwrap_err().errno, Errno::EINVAL);
        let r = check_load(&target(ProgType::CgroupSock)).unwrap_err();
        assert_eq!(r.msg, "bpfemu: program type cgroup_sock is not supported yet");
        let mut a = target(ProgType::Kprobe);
        a.attach_btf_id = 5;
        assert_eq!(check_load(&a).unwrap_err().errno, Errno::EINVAL);
        let mut sl = target(ProgType::SocketFilter);
        sl.sleepable = true;
        assert!(check_load(&sl).unwrap_err().msg.starts_with("Only fentry"));
        let mut sy = target(ProgType::Syscall);
        let r = check_load(&sy).unwrap_err();
        assert_eq!((r.errno, r.msg.as_str()), (Errno::EINVAL, "Syscall programs can only be sleepable"));
        sy.sleepable = true;
        assert_eq!(check_load(&sy), Ok(None));
    }
}
