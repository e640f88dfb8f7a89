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
//! tracing), [`syscall`]; [`funcs`] holds the helper chains, [`convert`]
//! the ctx access conversions applied after verification
//! (`convert_ctx_access`) and the kernel ctx structs programs run on.
//!
//! Not supported yet (refused at load, [`check_load`]): tracing, LSM and
//! ext programs (they need `attach_btf_id` / `attach_prog_fd`, which
//! `BPF_PROG_LOAD` does not resolve yet), struct_ops, and the other
//! cgroup types, lwt_seg6local, sock_ops, lirc, writable raw tracepoint
//! and netfilter types.

pub mod convert;
pub mod funcs;
pub mod reuseport;
pub mod sk_lookup;
pub mod skb;
pub mod sockmsg;
pub mod syscall;
pub mod tracing;
pub mod xdp;

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

/// The rules of `prog_type` (with its `expected_attach_type`) for a loader
/// with `caps`; `None` for a type bpfemu cannot verify yet.
pub fn ops_for(
    prog_type: ProgType,
    expected_attach_type: Option<AttachType>,
    caps: Caps,
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

/// What [`check_load`] looks at.
#[derive(Clone, Copy, Debug)]
pub struct LoadTarget {
    pub prog_type: ProgType,
    pub expected_attach_type: Option<AttachType>,
    pub attach_btf_id: u32,
    pub attach_prog_fd: i32,
    pub sleepable: bool,
    pub gpl_compatible: bool,
}

/// The checks `bpf_check()` runs on the attach target before verifying
/// (`check_attach_btf_id()`), plus bpfemu's own refusals:
///
/// - a sleepable program of a type that cannot sleep: `EINVAL`, "Only
///   fentry/fexit/fmod_ret, lsm, iter, uprobe, and struct_ops programs can
///   be sleepable" (syscall programs may sleep);
/// - struct_ops: not GPL → `EINVAL` "struct ops programs must have a GPL
///   compatible license"; no struct → `ENOTSUPP` "attach_btf_id 0 is not a
///   supported struct";
/// - tracing, LSM, ext without a target: `EINVAL` "Tracing programs must
///   provide btf_id" (`bpf_check_attach_target()`);
/// - any attach target (`attach_btf_id`, `attach_prog_fd`): `EINVAL`,
///   bpfemu does not resolve them yet;
/// - a type without rules ([`ops_for`]): `EINVAL`, "bpfemu: program type
///   X is not supported yet".
pub fn check_load(t: &LoadTarget) -> Result<(), Refusal> {
    use ProgType as T;
    let sleepable_ok = matches!(t.prog_type, T::Tracing | T::Lsm | T::StructOps | T::Syscall);
    if t.sleepable && !sleepable_ok {
        return Err(refuse(
            Errno::EINVAL,
            "Only fentry/fexit/fmod_ret, lsm, iter, uprobe, and struct_ops programs can be sleepable",
        ));
    }
    if t.attach_btf_id != 0 || t.attach_prog_fd != 0 {
        return Err(refuse(
            Errno::EINVAL,
            "bpfemu: attach targets (attach_btf_id, attach_prog_fd) are not supported yet",
        ));
    }
    match t.prog_type {
        T::StructOps if !t.gpl_compatible => {
            Err(refuse(Errno::EINVAL, "struct ops programs must have a GPL compatible license"))
        }
        T::StructOps => Err(refuse(Errno::ENOTSUPP, "attach_btf_id 0 is not a supported struct")),
        T::Tracing | T::Lsm | T::Ext => Err(refuse(Errno::EINVAL, "Tracing programs must provide btf_id")),
        other if ops_for(other, t.expected_attach_type, Caps::ROOT).is_none() => {
            Err(refuse(Errno::EINVAL, format!("bpfemu: program type {other} is not supported yet")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(prog_type: ProgType) -> LoadTarget {
        LoadTarget {
            prog_type,
            expected_attach_type: None,
            attach_btf_id: 0,
            attach_prog_fd: 0,
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
            let ops = ops_for(t, None, Caps::ROOT).unwrap();
            assert_eq!(ops.name(), t.name());
            assert_eq!(check_load(&target(t)), Ok(()));
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
        sy.sleepable = true;
        assert_eq!(check_load(&sy), Ok(()));
    }
}
