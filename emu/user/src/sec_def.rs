//! libbpf's SEC() conventions: the section name of a program gives its
//! program type, expected attach type, load flags and attach target
//! (`section_defs[]`, `sec_def_matches()` and `libbpf_prepare_prog_load()`
//! in libbpf `src/libbpf.c`).
//!
//! Matching, as libbpf 1.x: a definition ending in `/` matches any name
//! with that prefix; one ending in `+` matches the bare name or the name
//! followed by `/` and anything; any other must match exactly. The first
//! matching row wins, in the table's order. A name no row matches is an
//! error naming the section (libbpf: "prog '%s': missing BPF prog type,
//! check ELF section name '%s'").
//!
//! Not emulated: custom handlers (`libbpf_register_prog_handler()`), and
//! the feature probes libbpf runs before passing an optional expected
//! attach type (`SEC_EXP_ATTACH_OPT`): it is always passed.

use bpfemu_kernel::uapi::ProgType;

/// No extra behaviour.
pub const SEC_NONE: u32 = 0;
/// The expected attach type may be dropped on old kernels.
pub const SEC_EXP_ATTACH_OPT: u32 = 1 << 0;
/// `bpf_program__attach()` / `PROG_ATTACH` usable with this type.
pub const SEC_ATTACHABLE: u32 = 1 << 1;
pub const SEC_ATTACHABLE_OPT: u32 = SEC_ATTACHABLE | SEC_EXP_ATTACH_OPT;
/// The attach target is a BTF id found from the name after `/`.
pub const SEC_ATTACH_BTF: u32 = 1 << 2;
/// Load with `BPF_F_SLEEPABLE`.
pub const SEC_SLEEPABLE: u32 = 1 << 3;
/// Load with `BPF_F_XDP_HAS_FRAGS`.
pub const SEC_XDP_FRAGS: u32 = 1 << 4;
/// USDT programs (need the USDT support library; not emulated).
pub const SEC_USDT: u32 = 1 << 5;

/// `BPF_F_SLEEPABLE`.
pub const BPF_F_SLEEPABLE: u32 = 1 << 4;
/// `BPF_F_XDP_HAS_FRAGS`.
pub const BPF_F_XDP_HAS_FRAGS: u32 = 1 << 5;

/// How `Program::attach` attaches programs of this definition
/// (libbpf's `prog_attach_fn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoAttach {
    /// No automatic attach: use an explicit `attach_*` call.
    None,
    Kprobe,
    Uprobe,
    Ksyscall,
    Usdt,
    Tracepoint,
    RawTracepoint,
    /// fentry/fexit/fmod_ret/freplace/tp_btf (`BPF_LINK_CREATE` on the
    /// BTF attach target).
    Trace,
    KprobeMulti,
    UprobeMulti,
    Lsm,
    Iter,
}

/// One row of `section_defs[]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecDef {
    pub sec: &'static str,
    pub prog_type: ProgType,
    /// `enum bpf_attach_type` as a raw number (some values, e.g. tcx and
    /// netkit, have no [`bpfemu_kernel::uapi::AttachType`] variant yet).
    pub expected_attach_type: u32,
    pub flags: u32,
    pub attach: AutoAttach,
}

const fn d(sec: &'static str, prog_type: ProgType, eat: u32, flags: u32, attach: AutoAttach) -> SecDef {
    SecDef { sec, prog_type, expected_attach_type: eat, flags, attach }
}

// enum bpf_attach_type values (include/uapi/linux/bpf.h).
const CGROUP_INET_INGRESS: u32 = 0;
const CGROUP_INET_EGRESS: u32 = 1;
const CGROUP_INET_SOCK_CREATE: u32 = 2;
const CGROUP_SOCK_OPS: u32 = 3;
const SK_SKB_STREAM_PARSER: u32 = 4;
const SK_SKB_STREAM_VERDICT: u32 = 5;
const CGROUP_DEVICE: u32 = 6;
const SK_MSG_VERDICT: u32 = 7;
const CGROUP_INET4_BIND: u32 = 8;
const CGROUP_INET6_BIND: u32 = 9;
const CGROUP_INET4_CONNECT: u32 = 10;
const CGROUP_INET6_CONNECT: u32 = 11;
const CGROUP_INET4_POST_BIND: u32 = 12;
const CGROUP_INET6_POST_BIND: u32 = 13;
const CGROUP_UDP4_SENDMSG: u32 = 14;
const CGROUP_UDP6_SENDMSG: u32 = 15;
const LIRC_MODE2: u32 = 16;
const FLOW_DISSECTOR: u32 = 17;
const CGROUP_SYSCTL: u32 = 18;
const CGROUP_UDP4_RECVMSG: u32 = 19;
const CGROUP_UDP6_RECVMSG: u32 = 20;
const CGROUP_GETSOCKOPT: u32 = 21;
const CGROUP_SETSOCKOPT: u32 = 22;
pub const TRACE_RAW_TP: u32 = 23;
pub const TRACE_FENTRY: u32 = 24;
pub const TRACE_FEXIT: u32 = 25;
pub const MODIFY_RETURN: u32 = 26;
pub const LSM_MAC: u32 = 27;
pub const TRACE_ITER: u32 = 28;
const CGROUP_INET4_GETPEERNAME: u32 = 29;
const CGROUP_INET6_GETPEERNAME: u32 = 30;
const CGROUP_INET4_GETSOCKNAME: u32 = 31;
const CGROUP_INET6_GETSOCKNAME: u32 = 32;
const XDP_DEVMAP: u32 = 33;
const CGROUP_INET_SOCK_RELEASE: u32 = 34;
const XDP_CPUMAP: u32 = 35;
const SK_LOOKUP: u32 = 36;
const XDP: u32 = 37;
const SK_REUSEPORT_SELECT: u32 = 39;
const SK_REUSEPORT_SELECT_OR_MIGRATE: u32 = 40;
const TRACE_KPROBE_MULTI: u32 = 42;
pub const LSM_CGROUP: u32 = 43;
const NETFILTER: u32 = 45;
const TCX_INGRESS: u32 = 46;
const TCX_EGRESS: u32 = 47;
const TRACE_UPROBE_MULTI: u32 = 48;
const CGROUP_UNIX_CONNECT: u32 = 49;
const CGROUP_UNIX_SENDMSG: u32 = 50;
const CGROUP_UNIX_RECVMSG: u32 = 51;
const CGROUP_UNIX_GETPEERNAME: u32 = 52;
const CGROUP_UNIX_GETSOCKNAME: u32 = 53;
const NETKIT_PRIMARY: u32 = 54;
const NETKIT_PEER: u32 = 55;

use AutoAttach as A;
use ProgType as P;

/// libbpf's `section_defs[]`, in its order.
pub static SECTION_DEFS: &[SecDef] = &[
    d("socket", P::SocketFilter, 0, SEC_NONE, A::None),
    d("sk_reuseport/migrate", P::SkReuseport, SK_REUSEPORT_SELECT_OR_MIGRATE, SEC_ATTACHABLE, A::None),
    d("sk_reuseport", P::SkReuseport, SK_REUSEPORT_SELECT, SEC_ATTACHABLE, A::None),
    d("kprobe+", P::Kprobe, 0, SEC_NONE, A::Kprobe),
    d("uprobe+", P::Kprobe, 0, SEC_NONE, A::Uprobe),
    d("uprobe.s+", P::Kprobe, 0, SEC_SLEEPABLE, A::Uprobe),
    d("kretprobe+", P::Kprobe, 0, SEC_NONE, A::Kprobe),
    d("uretprobe+", P::Kprobe, 0, SEC_NONE, A::Uprobe),
    d("uretprobe.s+", P::Kprobe, 0, SEC_SLEEPABLE, A::Uprobe),
    d("kprobe.multi+", P::Kprobe, TRACE_KPROBE_MULTI, SEC_NONE, A::KprobeMulti),
    d("kretprobe.multi+", P::Kprobe, TRACE_KPROBE_MULTI, SEC_NONE, A::KprobeMulti),
    d("uprobe.multi+", P::Kprobe, TRACE_UPROBE_MULTI, SEC_NONE, A::UprobeMulti),
    d("uretprobe.multi+", P::Kprobe, TRACE_UPROBE_MULTI, SEC_NONE, A::UprobeMulti),
    d("uprobe.multi.s+", P::Kprobe, TRACE_UPROBE_MULTI, SEC_SLEEPABLE, A::UprobeMulti),
    d("uretprobe.multi.s+", P::Kprobe, TRACE_UPROBE_MULTI, SEC_SLEEPABLE, A::UprobeMulti),
    d("ksyscall+", P::Kprobe, 0, SEC_NONE, A::Ksyscall),
    d("kretsyscall+", P::Kprobe, 0, SEC_NONE, A::Ksyscall),
    d("usdt+", P::Kprobe, 0, SEC_USDT, A::Usdt),
    d("usdt.s+", P::Kprobe, 0, SEC_USDT | SEC_SLEEPABLE, A::Usdt),
    d("tc/ingress", P::SchedCls, TCX_INGRESS, SEC_NONE, A::None),
    d("tc/egress", P::SchedCls, TCX_EGRESS, SEC_NONE, A::None),
    d("tcx/ingress", P::SchedCls, TCX_INGRESS, SEC_NONE, A::None),
    d("tcx/egress", P::SchedCls, TCX_EGRESS, SEC_NONE, A::None),
    d("tc", P::SchedCls, 0, SEC_NONE, A::None),
    d("classifier", P::SchedCls, 0, SEC_NONE, A::None),
    d("action", P::SchedAct, 0, SEC_NONE, A::None),
    d("netkit/primary", P::SchedCls, NETKIT_PRIMARY, SEC_NONE, A::None),
    d("netkit/peer", P::SchedCls, NETKIT_PEER, SEC_NONE, A::None),
    d("tracepoint+", P::Tracepoint, 0, SEC_NONE, A::Tracepoint),
    d("tp+", P::Tracepoint, 0, SEC_NONE, A::Tracepoint),
    d("raw_tracepoint+", P::RawTracepoint, 0, SEC_NONE, A::RawTracepoint),
    d("raw_tp+", P::RawTracepoint, 0, SEC_NONE, A::RawTracepoint),
    d("raw_tracepoint.w+", P::RawTracepointWritable, 0, SEC_NONE, A::RawTracepoint),
    d("raw_tp.w+", P::RawTracepointWritable, 0, SEC_NONE, A::RawTracepoint),
    d("tp_btf+", P::Tracing, TRACE_RAW_TP, SEC_ATTACH_BTF, A::Trace),
    d("fentry+", P::Tracing, TRACE_FENTRY, SEC_ATTACH_BTF, A::Trace),
    d("fmod_ret+", P::Tracing, MODIFY_RETURN, SEC_ATTACH_BTF, A::Trace),
    d("fexit+", P::Tracing, TRACE_FEXIT, SEC_ATTACH_BTF, A::Trace),
    d("fentry.s+", P::Tracing, TRACE_FENTRY, SEC_ATTACH_BTF | SEC_SLEEPABLE, A::Trace),
    d("fmod_ret.s+", P::Tracing, MODIFY_RETURN, SEC_ATTACH_BTF | SEC_SLEEPABLE, A::Trace),
    d("fexit.s+", P::Tracing, TRACE_FEXIT, SEC_ATTACH_BTF | SEC_SLEEPABLE, A::Trace),
    d("freplace+", P::Ext, 0, SEC_ATTACH_BTF, A::Trace),
    d("lsm+", P::Lsm, LSM_MAC, SEC_ATTACH_BTF, A::Lsm),
    d("lsm.s+", P::Lsm, LSM_MAC, SEC_ATTACH_BTF | SEC_SLEEPABLE, A::Lsm),
    d("lsm_cgroup+", P::Lsm, LSM_CGROUP, SEC_ATTACH_BTF, A::None),
    d("iter+", P::Tracing, TRACE_ITER, SEC_ATTACH_BTF, A::Iter),
    d("iter.s+", P::Tracing, TRACE_ITER, SEC_ATTACH_BTF | SEC_SLEEPABLE, A::Iter),
    d("syscall", P::Syscall, 0, SEC_SLEEPABLE, A::None),
    d("xdp.frags/devmap", P::Xdp, XDP_DEVMAP, SEC_XDP_FRAGS, A::None),
    d("xdp/devmap", P::Xdp, XDP_DEVMAP, SEC_ATTACHABLE, A::None),
    d("xdp.frags/cpumap", P::Xdp, XDP_CPUMAP, SEC_XDP_FRAGS, A::None),
    d("xdp/cpumap", P::Xdp, XDP_CPUMAP, SEC_ATTACHABLE, A::None),
    d("xdp.frags", P::Xdp, XDP, SEC_XDP_FRAGS, A::None),
    d("xdp", P::Xdp, XDP, SEC_ATTACHABLE_OPT, A::None),
    d("perf_event", P::PerfEvent, 0, SEC_NONE, A::None),
    d("lwt_in", P::LwtIn, 0, SEC_NONE, A::None),
    d("lwt_out", P::LwtOut, 0, SEC_NONE, A::None),
    d("lwt_xmit", P::LwtXmit, 0, SEC_NONE, A::None),
    d("lwt_seg6local", P::LwtSeg6local, 0, SEC_NONE, A::None),
    d("sockops", P::SockOps, CGROUP_SOCK_OPS, SEC_ATTACHABLE_OPT, A::None),
    d("sk_skb/stream_parser", P::SkSkb, SK_SKB_STREAM_PARSER, SEC_ATTACHABLE_OPT, A::None),
    d("sk_skb/stream_verdict", P::SkSkb, SK_SKB_STREAM_VERDICT, SEC_ATTACHABLE_OPT, A::None),
    d("sk_skb", P::SkSkb, 0, SEC_NONE, A::None),
    d("sk_msg", P::SkMsg, SK_MSG_VERDICT, SEC_ATTACHABLE_OPT, A::None),
    d("lirc_mode2", P::LircMode2, LIRC_MODE2, SEC_ATTACHABLE_OPT, A::None),
    d("flow_dissector", P::FlowDissector, FLOW_DISSECTOR, SEC_ATTACHABLE_OPT, A::None),
    d("cgroup_skb/ingress", P::CgroupSkb, CGROUP_INET_INGRESS, SEC_ATTACHABLE_OPT, A::None),
    d("cgroup_skb/egress", P::CgroupSkb, CGROUP_INET_EGRESS, SEC_ATTACHABLE_OPT, A::None),
    d("cgroup/skb", P::CgroupSkb, 0, SEC_NONE, A::None),
    d("cgroup/sock_create", P::CgroupSock, CGROUP_INET_SOCK_CREATE, SEC_ATTACHABLE, A::None),
    d("cgroup/sock_release", P::CgroupSock, CGROUP_INET_SOCK_RELEASE, SEC_ATTACHABLE, A::None),
    d("cgroup/sock", P::CgroupSock, CGROUP_INET_SOCK_CREATE, SEC_ATTACHABLE_OPT, A::None),
    d("cgroup/post_bind4", P::CgroupSock, CGROUP_INET4_POST_BIND, SEC_ATTACHABLE, A::None),
    d("cgroup/post_bind6", P::CgroupSock, CGROUP_INET6_POST_BIND, SEC_ATTACHABLE, A::None),
    d("cgroup/bind4", P::CgroupSockAddr, CGROUP_INET4_BIND, SEC_ATTACHABLE, A::None),
    d("cgroup/bind6", P::CgroupSockAddr, CGROUP_INET6_BIND, SEC_ATTACHABLE, A::None),
    d("cgroup/connect4", P::CgroupSockAddr, CGROUP_INET4_CONNECT, SEC_ATTACHABLE, A::None),
    d("cgroup/connect6", P::CgroupSockAddr, CGROUP_INET6_CONNECT, SEC_ATTACHABLE, A::None),
    d("cgroup/connect_unix", P::CgroupSockAddr, CGROUP_UNIX_CONNECT, SEC_ATTACHABLE, A::None),
    d("cgroup/sendmsg4", P::CgroupSockAddr, CGROUP_UDP4_SENDMSG, SEC_ATTACHABLE, A::None),
    d("cgroup/sendmsg6", P::CgroupSockAddr, CGROUP_UDP6_SENDMSG, SEC_ATTACHABLE, A::None),
    d("cgroup/sendmsg_unix", P::CgroupSockAddr, CGROUP_UNIX_SENDMSG, SEC_ATTACHABLE, A::None),
    d("cgroup/recvmsg4", P::CgroupSockAddr, CGROUP_UDP4_RECVMSG, SEC_ATTACHABLE, A::None),
    d("cgroup/recvmsg6", P::CgroupSockAddr, CGROUP_UDP6_RECVMSG, SEC_ATTACHABLE, A::None),
    d("cgroup/recvmsg_unix", P::CgroupSockAddr, CGROUP_UNIX_RECVMSG, SEC_ATTACHABLE, A::None),
    d("cgroup/getpeername4", P::CgroupSockAddr, CGROUP_INET4_GETPEERNAME, SEC_ATTACHABLE, A::None),
    d("cgroup/getpeername6", P::CgroupSockAddr, CGROUP_INET6_GETPEERNAME, SEC_ATTACHABLE, A::None),
    d("cgroup/getpeername_unix", P::CgroupSockAddr, CGROUP_UNIX_GETPEERNAME, SEC_ATTACHABLE, A::None),
    d("cgroup/getsockname4", P::CgroupSockAddr, CGROUP_INET4_GETSOCKNAME, SEC_ATTACHABLE, A::None),
    d("cgroup/getsockname6", P::CgroupSockAddr, CGROUP_INET6_GETSOCKNAME, SEC_ATTACHABLE, A::None),
    d("cgroup/getsockname_unix", P::CgroupSockAddr, CGROUP_UNIX_GETSOCKNAME, SEC_ATTACHABLE, A::None),
    d("cgroup/sysctl", P::CgroupSysctl, CGROUP_SYSCTL, SEC_ATTACHABLE, A::None),
    d("cgroup/getsockopt", P::CgroupSockopt, CGROUP_GETSOCKOPT, SEC_ATTACHABLE, A::None),
    d("cgroup/setsockopt", P::CgroupSockopt, CGROUP_SETSOCKOPT, SEC_ATTACHABLE, A::None),
    d("cgroup/dev", P::CgroupDevice, CGROUP_DEVICE, SEC_ATTACHABLE_OPT, A::None),
    d("struct_ops+", P::StructOps, 0, SEC_NONE, A::None),
    d("struct_ops.s+", P::StructOps, 0, SEC_SLEEPABLE, A::None),
    d("sk_lookup", P::SkLookup, SK_LOOKUP, SEC_ATTACHABLE, A::None),
    d("netfilter", P::Netfilter, NETFILTER, SEC_NONE, A::None),
];

/// `sec_def_matches()`.
fn matches(def: &str, name: &str) -> bool {
    if def.ends_with('/') {
        return name.starts_with(def);
    }
    if let Some(base) = def.strip_suffix('+') {
        return match name.strip_prefix(base) {
            Some(rest) => rest.is_empty() || rest.starts_with('/'),
            None => false,
        };
    }
    name == def
}

/// `find_sec_def()`: the first definition matching `sec_name`.
pub fn find(sec_name: &str) -> Option<&'static SecDef> {
    SECTION_DEFS.iter().find(|d| matches(d.sec, sec_name))
}

impl SecDef {
    /// The `prog_flags` this definition loads with.
    pub fn prog_flags(&self) -> u32 {
        let mut f = 0;
        if self.flags & SEC_SLEEPABLE != 0 {
            f |= BPF_F_SLEEPABLE;
        }
        if self.flags & SEC_XDP_FRAGS != 0 {
            f |= BPF_F_XDP_HAS_FRAGS;
        }
        f
    }

    /// The BTF attach target named by the section (`fentry/tcp_v4_rcv` →
    /// `tcp_v4_rcv`), for definitions with `SEC_ATTACH_BTF`; `None` if the
    /// section names none.
    pub fn attach_target<'a>(&self, sec_name: &'a str) -> Option<&'a str> {
        if self.flags & SEC_ATTACH_BTF == 0 {
            return None;
        }
        sec_name.split_once('/').map(|(_, t)| t).filter(|t| !t.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libbpf_matching_rules() {
        assert_eq!(find("socket").unwrap().prog_type, P::SocketFilter);
        assert!(find("socket/foo").is_none(), "exact-match rows take no suffix");
        assert_eq!(find("kprobe/do_sys_open").unwrap().sec, "kprobe+");
        assert_eq!(find("kprobe").unwrap().sec, "kprobe+");
        assert!(find("kprobefoo").is_none());
        assert_eq!(find("kprobe.multi/x*").unwrap().expected_attach_type, TRACE_KPROBE_MULTI);
        assert_eq!(
            find("sk_reuseport/migrate").unwrap().expected_attach_type,
            SK_REUSEPORT_SELECT_OR_MIGRATE
        );
        assert_eq!(find("tc/ingress").unwrap().expected_attach_type, TCX_INGRESS);
        assert_eq!(find("tc").unwrap().expected_attach_type, 0);
        assert_eq!(find("xdp.frags").unwrap().prog_flags(), BPF_F_XDP_HAS_FRAGS);
        assert_eq!(find("fentry.s/foo").unwrap().prog_flags(), BPF_F_SLEEPABLE);
        assert_eq!(find("struct_ops/cwnd").unwrap().prog_type, P::StructOps);
        assert_eq!(find("struct_ops").unwrap().prog_type, P::StructOps);
        assert_eq!(find("flow_dissector").unwrap().expected_attach_type, FLOW_DISSECTOR);
        assert_eq!(find("sk_lookup").unwrap().expected_attach_type, SK_LOOKUP);
        assert_eq!(find("syscall").unwrap().prog_flags(), BPF_F_SLEEPABLE);
        assert!(find("nonsense").is_none());
        assert!(find("").is_none());
    }

    #[test]
    fn attach_targets_come_after_the_slash() {
        let fentry = find("fentry/tcp_v4_rcv").unwrap();
        assert_eq!(fentry.attach_target("fentry/tcp_v4_rcv"), Some("tcp_v4_rcv"));
        assert_eq!(fentry.attach_target("fentry"), None);
        assert_eq!(find("kprobe/x").unwrap().attach_target("kprobe/x"), None);
    }
}
