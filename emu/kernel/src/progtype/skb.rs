//! Program types whose ctx is `struct __sk_buff` (include/uapi/linux/bpf.h;
//! layout from [`crate::vmlinux::types::SkBuff`]): socket filters,
//! flow dissectors and tc classifiers/actions (net/core/filter.c).
//!
//! - [`skb_access`] is `bpf_skb_is_valid_access()`: offsets inside the
//!   struct and aligned to the size; `cb[]` in any aligned size; the
//!   address fields, `data`, `data_meta` and `data_end` only as whole
//!   `u32`s; `tstamp` only as a `u64`, `hwtstamp` only read as a `u64`;
//!   `flow_keys`, `tstamp_type` and the padding before `hwtstamp` refused;
//!   every other field read as a `u32` or narrower (recorded as a narrow
//!   load of a 4-byte field), written only as a whole `u32`.
//! - [`SocketFilter`] is `sk_filter_is_valid_access()`: no `tc_classid`,
//!   packet pointers, socket address fields, `tstamp`, `wire_len` or
//!   `hwtstamp`; writes only to `cb[]`. No direct packet access; `LD_ABS` /
//!   `LD_IND` are allowed (`may_access_skb()`). Helpers:
//!   `sk_filter_func_proto()` → `bpf_sk_base_func_proto()`. Any return
//!   value.
//! - [`FlowDissector`] is `flow_dissector_is_valid_access()`: read only;
//!   `data` (packet), `data_end` (packet end) as `u32`, `flow_keys`
//!   (`PTR_TO_FLOW_KEYS`) as `u64`, nothing else. Direct packet reads.
//! - [`TcClsAct`] is `tc_cls_act_is_valid_access()` (sched_cls and
//!   sched_act): writes to `mark`, `tc_index`, `priority`, `tc_classid`,
//!   `cb[]`, `tstamp`, `queue_mapping`; packet pointers; `tstamp_type` as a
//!   byte; no socket address fields. Direct packet reads and writes.
//!
//! - [`CgroupSkb`] is `cg_skb_is_valid_access()`: no `tc_classid`,
//!   `data_meta`, `wire_len`; `data` / `data_end` (packet pointers, read
//!   only) and `tstamp` writes only with `CAP_BPF`; writes to `mark`,
//!   `priority`, `cb[]`. Return value in [0, 1], or [0, 3] for egress
//!   programs (`check_return_code()`). No `LD_ABS`.
//!
//! - [`SkSkb`] is `sk_skb_is_valid_access()`: no `tc_classid`, `data_meta`,
//!   `tstamp`, `wire_len`, `hwtstamp`, `mark`; writes to `tc_index` and
//!   `priority`; packet pointers, direct packet reads and writes.
//! - [`Lwt`] is `lwt_is_valid_access()` (lwt_in, lwt_out, lwt_xmit): no
//!   `tc_classid`, socket addresses, `data_meta`, `tstamp`, `wire_len`,
//!   `hwtstamp`; writes to `mark`, `priority`, `cb[]`; packet pointers,
//!   direct packet reads (and writes for lwt_xmit).
//!
//! Deviation: `__sk_buff::sk` (`PTR_TO_SOCK_COMMON_OR_NULL`) is refused,
//! the verifier has no socket pointer types yet.

use super::funcs::{self, Caps, sk_base};
use super::{narrow, narrow_ok, scalar};
use crate::uapi::AttachType;
use crate::vmlinux::types::SkBuff;
use bpfemu_verifier::env::{Access, CtxAccess, CtxField, ProgTypeOps};
use bpfemu_verifier::proto::FuncProto;
use std::mem::{offset_of, size_of};

/// Byte offsets of `struct __sk_buff`.
pub mod off {
    use super::*;
    pub const MARK: usize = offset_of!(SkBuff, mark);
    pub const QUEUE_MAPPING: usize = offset_of!(SkBuff, queue_mapping);
    pub const PRIORITY: usize = offset_of!(SkBuff, priority);
    pub const TC_INDEX: usize = offset_of!(SkBuff, tc_index);
    pub const CB: usize = offset_of!(SkBuff, cb);
    pub const CB_END: usize = CB + 5 * 4;
    pub const TC_CLASSID: usize = offset_of!(SkBuff, tc_classid);
    pub const DATA: usize = offset_of!(SkBuff, data);
    pub const DATA_END: usize = offset_of!(SkBuff, data_end);
    pub const FAMILY: usize = offset_of!(SkBuff, family);
    pub const REMOTE_IP4: usize = offset_of!(SkBuff, remote_ip4);
    pub const LOCAL_IP4: usize = offset_of!(SkBuff, local_ip4);
    pub const REMOTE_IP6: usize = offset_of!(SkBuff, remote_ip6);
    pub const LOCAL_IP6: usize = offset_of!(SkBuff, local_ip6);
    pub const LOCAL_PORT: usize = offset_of!(SkBuff, local_port);
    pub const DATA_META: usize = offset_of!(SkBuff, data_meta);
    pub const FLOW_KEYS: usize = offset_of!(SkBuff, flow_keys);
    pub const TSTAMP: usize = offset_of!(SkBuff, tstamp);
    pub const WIRE_LEN: usize = offset_of!(SkBuff, wire_len);
    pub const SK: usize = offset_of!(SkBuff, sk);
    pub const TSTAMP_TYPE: usize = offset_of!(SkBuff, tstamp_type);
    pub const HWTSTAMP: usize = offset_of!(SkBuff, hwtstamp);
    pub const SIZE: usize = size_of::<SkBuff>();
}

/// Whether `off` lies in the `width`-byte field at `start`
/// (`bpf_ctx_range()`).
fn within(off: usize, start: usize, width: usize) -> bool {
    (start..start + width).contains(&off)
}

/// The socket address fields `family` .. `local_port`.
fn sock_addr_field(off: usize) -> bool {
    (off::FAMILY..off::LOCAL_PORT + 4).contains(&off)
}

/// `bpf_skb_is_valid_access()`; `packet` gives the pointer types of
/// `data`, `data_meta` and `data_end` for the types that have them.
pub fn skb_access(off: i32, size: u32, access: Access, packet: bool) -> Option<CtxAccess> {
    let o = usize::try_from(off).ok().filter(|&o| o < off::SIZE)?;
    let sz = size as usize;
    if sz == 0 || o % sz != 0 {
        return None;
    }
    let exact = |field| Some(CtxAccess { field, field_size: 0 });
    if within(o, off::CB, off::CB_END - off::CB) {
        return if o + sz <= off::CB_END { scalar() } else { None };
    }
    let ptr = |field| if !packet { CtxField::Scalar } else { field };
    if within(o, off::REMOTE_IP6, 16)
        || within(o, off::LOCAL_IP6, 16)
        || within(o, off::REMOTE_IP4, 4)
        || within(o, off::LOCAL_IP4, 4)
    {
        return if sz == 4 { scalar() } else { None };
    }
    if within(o, off::DATA, 4) {
        return if sz == 4 { exact(ptr(CtxField::Packet)) } else { None };
    }
    if within(o, off::DATA_META, 4) {
        return if sz == 4 { exact(ptr(CtxField::PacketMeta)) } else { None };
    }
    if within(o, off::DATA_END, 4) {
        return if sz == 4 { exact(ptr(CtxField::PacketEnd)) } else { None };
    }
    if within(o, off::FLOW_KEYS, 8) {
        return None;
    }
    if within(o, off::HWTSTAMP, 8) {
        return if access == Access::Read && sz == 8 { scalar() } else { None };
    }
    if within(o, off::TSTAMP, 8) {
        return if sz == 8 { scalar() } else { None };
    }
    if within(o, off::SK, 8) {
        // PTR_TO_SOCK_COMMON_OR_NULL in the kernel: not modelled.
        return None;
    }
    if o == off::TSTAMP_TYPE || (off::TSTAMP_TYPE + 1..off::HWTSTAMP).contains(&o) {
        return None;
    }
    match access {
        Access::Write => {
            if sz == 4 {
                scalar()
            } else {
                None
            }
        }
        Access::Read => {
            if narrow_ok(sz, 4) {
                narrow(4)
            } else {
                None
            }
        }
    }
}

/// `BPF_PROG_TYPE_SOCKET_FILTER` (`sk_filter_verifier_ops`).
#[derive(Debug)]
pub struct SocketFilter {
    pub caps: Caps,
}

impl ProgTypeOps for SocketFilter {
    fn name(&self) -> &str {
        "socket_filter"
    }

    fn func_proto(&self, id: i32) -> Option<&'static FuncProto> {
        funcs::skb(id, self.caps)
    }

    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        let o = usize::try_from(off).ok()?;
        if within(o, off::TC_CLASSID, 4)
            || within(o, off::DATA, 4)
            || within(o, off::DATA_META, 4)
            || within(o, off::DATA_END, 4)
            || sock_addr_field(o)
            || within(o, off::TSTAMP, 8)
            || within(o, off::WIRE_LEN, 4)
            || within(o, off::HWTSTAMP, 8)
        {
            return None;
        }
        if access == Access::Write && !within(o, off::CB, off::CB_END - off::CB) {
            return None;
        }
        skb_access(off, size, access, false)
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        None
    }

    fn ld_abs_allowed(&self) -> bool {
        true
    }

    fn ctx_size(&self) -> u32 {
        off::SIZE as u32
    }
}

/// `BPF_PROG_TYPE_FLOW_DISSECTOR` (`flow_dissector_verifier_ops`).
#[derive(Debug)]
pub struct FlowDissector {
    pub caps: Caps,
}

impl ProgTypeOps for FlowDissector {
    fn name(&self) -> &str {
        "flow_dissector"
    }

    fn func_proto(&self, id: i32) -> Option<&'static FuncProto> {
        sk_base(id, self.caps)
    }

    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        let o = usize::try_from(off).ok().filter(|&o| o < off::SIZE)?;
        if access == Access::Write {
            return None;
        }
        // Pointer fields are loaded whole, from their first byte.
        let field = match (o, size) {
            (off::DATA, 4) => CtxField::Packet,
            (off::DATA_END, 4) => CtxField::PacketEnd,
            (off::FLOW_KEYS, 8) => CtxField::FlowKeys,
            _ => return None,
        };
        Some(CtxAccess { field, field_size: 0 })
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        None
    }

    fn packet_access(&self) -> (bool, bool) {
        (true, false)
    }

    fn ctx_size(&self) -> u32 {
        off::SIZE as u32
    }
}

/// `BPF_PROG_TYPE_SCHED_CLS` / `SCHED_ACT` (`tc_cls_act_verifier_ops`).
#[derive(Debug)]
pub struct TcClsAct {
    pub caps: Caps,
    pub act: bool,
}

impl ProgTypeOps for TcClsAct {
    fn name(&self) -> &str {
        if self.act { "sched_act" } else { "sched_cls" }
    }

    fn func_proto(&self, id: i32) -> Option<&'static FuncProto> {
        funcs::skb(id, self.caps)
    }

    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        let o = usize::try_from(off).ok()?;
        if access == Access::Write
            && !(within(o, off::MARK, 4)
                || within(o, off::TC_INDEX, 4)
                || within(o, off::PRIORITY, 4)
                || within(o, off::TC_CLASSID, 4)
                || within(o, off::CB, off::CB_END - off::CB)
                || within(o, off::TSTAMP, 8)
                || within(o, off::QUEUE_MAPPING, 4))
        {
            return None;
        }
        if sock_addr_field(o) {
            return None;
        }
        if o == off::TSTAMP_TYPE {
            return if size == 1 { scalar() } else { None };
        }
        skb_access(off, size, access, true)
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        None
    }

    fn packet_access(&self) -> (bool, bool) {
        (true, true)
    }

    fn ld_abs_allowed(&self) -> bool {
        true
    }

    fn ctx_size(&self) -> u32 {
        off::SIZE as u32
    }
}

/// `BPF_PROG_TYPE_CGROUP_SKB` (`cg_skb_verifier_ops`).
#[derive(Debug)]
pub struct CgroupSkb {
    pub caps: Caps,
    pub attach: Option<AttachType>,
}

impl ProgTypeOps for CgroupSkb {
    fn name(&self) -> &str {
        "cgroup_skb"
    }

    fn func_proto(&self, id: i32) -> Option<&'static FuncProto> {
        funcs::skb(id, self.caps)
    }

    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        let o = usize::try_from(off).ok()?;
        if within(o, off::TC_CLASSID, 4) || within(o, off::DATA_META, 4) || within(o, off::WIRE_LEN, 4) {
            return None;
        }
        if (within(o, off::DATA, 4) || within(o, off::DATA_END, 4)) && !self.caps.bpf {
            return None;
        }
        if access == Access::Write {
            let ok = within(o, off::MARK, 4)
                || within(o, off::PRIORITY, 4)
                || within(o, off::CB, off::CB_END - off::CB)
                || (within(o, off::TSTAMP, 8) && self.caps.bpf);
            if !ok {
                return None;
            }
        }
        skb_access(off, size, access, true)
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        if self.attach == Some(AttachType::CgroupInetEgress) { Some((0, 3)) } else { Some((0, 1)) }
    }

    fn packet_access(&self) -> (bool, bool) {
        (true, false)
    }

    fn ctx_size(&self) -> u32 {
        off::SIZE as u32
    }
}

/// `BPF_PROG_TYPE_SK_SKB` (`sk_skb_verifier_ops`).
#[derive(Debug)]
pub struct SkSkb {
    pub caps: Caps,
}

impl ProgTypeOps for SkSkb {
    fn name(&self) -> &str {
        "sk_skb"
    }

    fn func_proto(&self, id: i32) -> Option<&'static FuncProto> {
        funcs::skb(id, self.caps)
    }

    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        let o = usize::try_from(off).ok()?;
        if within(o, off::TC_CLASSID, 4)
            || within(o, off::DATA_META, 4)
            || within(o, off::TSTAMP, 8)
            || within(o, off::WIRE_LEN, 4)
            || within(o, off::HWTSTAMP, 8)
            || within(o, off::MARK, 4)
        {
            return None;
        }
        if access == Access::Write && !(within(o, off::TC_INDEX, 4) || within(o, off::PRIORITY, 4)) {
            return None;
        }
        skb_access(off, size, access, true)
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        None
    }

    fn packet_access(&self) -> (bool, bool) {
        (true, true)
    }

    fn ctx_size(&self) -> u32 {
        off::SIZE as u32
    }
}

/// Which light-weight tunnel hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LwtKind {
    In,
    Out,
    Xmit,
}

/// `BPF_PROG_TYPE_LWT_IN` / `LWT_OUT` / `LWT_XMIT` (`lwt_*_verifier_ops`).
#[derive(Debug)]
pub struct Lwt {
    pub caps: Caps,
    pub kind: LwtKind,
}

impl ProgTypeOps for Lwt {
    fn name(&self) -> &str {
        match self.kind {
            LwtKind::In => "lwt_in",
            LwtKind::Out => "lwt_out",
            LwtKind::Xmit => "lwt_xmit",
        }
    }

    fn func_proto(&self, id: i32) -> Option<&'static FuncProto> {
        funcs::skb(id, self.caps)
    }

    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        let o = usize::try_from(off).ok()?;
        if within(o, off::TC_CLASSID, 4)
            || sock_addr_field(o)
            || within(o, off::DATA_META, 4)
            || within(o, off::TSTAMP, 8)
            || within(o, off::WIRE_LEN, 4)
            || within(o, off::HWTSTAMP, 8)
        {
            return None;
        }
        if access == Access::Write
            && !(within(o, off::MARK, 4)
                || within(o, off::PRIORITY, 4)
                || within(o, off::CB, off::CB_END - off::CB))
        {
            return None;
        }
        skb_access(off, size, access, true)
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        None
    }

    fn packet_access(&self) -> (bool, bool) {
        (true, self.kind == LwtKind::Xmit)
    }

    fn ctx_size(&self) -> u32 {
        off::SIZE as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Access::{Read, Write};

    fn sf() -> SocketFilter {
        SocketFilter { caps: Caps::ROOT }
    }

    #[test]
    fn layout_matches_the_uapi() {
        assert_eq!(
            (off::CB, off::DATA, off::DATA_END, off::FLOW_KEYS, off::SK, off::HWTSTAMP, off::SIZE),
            (48, 76, 80, 144, 168, 184, 192)
        );
    }

    #[test]
    fn socket_filter_reads() {
        let f = sf();
        // len: whole and narrow loads, recorded as a 4-byte field.
        assert_eq!(f.ctx_access(0, 4, Read), Some(CtxAccess { field: CtxField::Scalar, field_size: 4 }));
        assert_eq!(f.ctx_access(2, 2, Read).map(|a| a.field_size), Some(4));
        assert_eq!(f.ctx_access(3, 1, Read).map(|a| a.field), Some(CtxField::Scalar));
        assert_eq!(f.ctx_access(0, 8, Read), None);
        assert_eq!(f.ctx_access(2, 4, Read), None);
        // cb[] any aligned size inside cb.
        assert!(f.ctx_access(48, 8, Read).is_some());
        assert!(f.ctx_access(64, 4, Read).is_some());
        assert_eq!(f.ctx_access(64, 8, Read), None);
        // Refused for socket filters.
        for off in [72, 76, 80, 140, 88, 92, 100, 136, 152, 160, 184] {
            assert_eq!(f.ctx_access(off, 4, Read), None, "off {off}");
        }
        assert_eq!(f.ctx_access(144, 8, Read), None);
        assert_eq!(f.ctx_access(168, 8, Read), None);
        assert_eq!(f.ctx_access(180, 1, Read), None);
        assert_eq!(f.ctx_access(181, 1, Read), None);
        // Allowed plain fields.
        for off in [4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 68, 84, 164, 176] {
            assert!(f.ctx_access(off, 4, Read).is_some(), "off {off}");
        }
        // Out of the struct.
        assert_eq!(f.ctx_access(-4, 4, Read), None);
        assert_eq!(f.ctx_access(192, 4, Read), None);
        assert_eq!(f.ctx_size(), 192);
    }

    #[test]
    fn socket_filter_writes() {
        let f = sf();
        assert!(f.ctx_access(48, 4, Write).is_some());
        assert!(f.ctx_access(56, 8, Write).is_some());
        assert!(f.ctx_access(50, 2, Write).is_some());
        assert_eq!(f.ctx_access(8, 4, Write), None, "mark is read-only here");
        assert_eq!(f.ctx_access(32, 4, Write), None);
        assert_eq!(f.ctx_access(0, 4, Write), None);
        assert_eq!(f.packet_access(), (false, false));
        assert!(f.ld_abs_allowed());
        assert_eq!(f.return_range(), None);
    }

    #[test]
    fn socket_filter_helpers() {
        use bpfemu_verifier::proto::id;
        let f = sf();
        assert!(f.func_proto(id::MAP_LOOKUP_ELEM).is_some());
        assert!(f.func_proto(id::KTIME_GET_COARSE_NS).is_some());
        // Base helpers since 6.16 (uid_gid for all, comm with CAP_PERFMON).
        assert!(f.func_proto(id::GET_CURRENT_UID_GID).is_some());
        assert!(f.func_proto(id::GET_CURRENT_COMM).is_some());
        assert!(f.func_proto(id::JIFFIES64).is_some());
        assert!(SocketFilter { caps: Caps::NONE }.func_proto(id::GET_CURRENT_COMM).is_none());
        assert!(f.func_proto(id::GET_CURRENT_PID_TGID).is_some());
        assert!(f.func_proto(id::PERF_EVENT_OUTPUT).is_none());
        assert!(SocketFilter { caps: Caps::NONE }.func_proto(id::TRACE_PRINTK).is_none());
    }

    #[test]
    fn flow_dissector() {
        let f = FlowDissector { caps: Caps::ROOT };
        assert_eq!(f.ctx_access(76, 4, Read).map(|a| a.field), Some(CtxField::Packet));
        assert_eq!(f.ctx_access(80, 4, Read).map(|a| a.field), Some(CtxField::PacketEnd));
        assert_eq!(f.ctx_access(144, 8, Read).map(|a| a.field), Some(CtxField::FlowKeys));
        assert_eq!(f.ctx_access(144, 4, Read), None);
        assert_eq!(f.ctx_access(76, 8, Read), None);
        assert_eq!(f.ctx_access(76, 4, Write), None);
        assert_eq!(f.ctx_access(0, 4, Read), None, "len is not readable");
        assert_eq!(f.ctx_access(48, 4, Read), None);
        assert_eq!(f.ctx_access(140, 4, Read), None, "no data_meta");
        assert_eq!(f.packet_access(), (true, false));
    }

    #[test]
    fn tc() {
        let t = TcClsAct { caps: Caps::ROOT, act: false };
        assert_eq!(t.name(), "sched_cls");
        assert_eq!(t.ctx_access(76, 4, Read).map(|a| a.field), Some(CtxField::Packet));
        assert_eq!(t.ctx_access(140, 4, Read).map(|a| a.field), Some(CtxField::PacketMeta));
        assert_eq!(t.ctx_access(80, 4, Read).map(|a| a.field), Some(CtxField::PacketEnd));
        assert_eq!(t.ctx_access(76, 2, Read), None);
        for off in [8, 44, 32, 72, 48, 12] {
            assert!(t.ctx_access(off, 4, Write).is_some(), "off {off}");
        }
        assert!(t.ctx_access(152, 8, Write).is_some());
        assert_eq!(t.ctx_access(8, 2, Write), None);
        assert_eq!(t.ctx_access(0, 4, Write), None);
        assert_eq!(t.ctx_access(76, 4, Write), None);
        assert!(t.ctx_access(180, 1, Read).is_some());
        assert_eq!(t.ctx_access(180, 2, Read), None);
        assert!(t.ctx_access(184, 8, Read).is_some());
        assert_eq!(t.ctx_access(184, 8, Write), None);
        assert_eq!(t.ctx_access(92, 4, Read), None);
        assert_eq!(t.packet_access(), (true, true));
    }

    #[test]
    fn cgroup_skb() {
        let c = CgroupSkb { caps: Caps::ROOT, attach: Some(AttachType::CgroupInetIngress) };
        assert_eq!(c.ctx_access(76, 4, Read).map(|a| a.field), Some(CtxField::Packet));
        assert_eq!(c.ctx_access(80, 4, Read).map(|a| a.field), Some(CtxField::PacketEnd));
        assert_eq!(c.ctx_access(140, 4, Read), None);
        assert_eq!(c.ctx_access(72, 4, Read), None);
        assert_eq!(c.ctx_access(160, 4, Read), None);
        assert!(c.ctx_access(8, 4, Write).is_some());
        assert!(c.ctx_access(32, 4, Write).is_some());
        assert!(c.ctx_access(152, 8, Write).is_some());
        assert_eq!(c.ctx_access(44, 4, Write), None);
        assert!(c.ctx_access(88, 4, Read).is_some(), "socket fields are readable");
        assert_eq!(c.return_range(), Some((0, 1)));
        assert_eq!(c.packet_access(), (true, false));
        assert!(!c.ld_abs_allowed());
        let unpriv = CgroupSkb { caps: Caps::NONE, attach: Some(AttachType::CgroupInetEgress) };
        assert_eq!(unpriv.ctx_access(76, 4, Read), None);
        assert_eq!(unpriv.ctx_access(152, 8, Write), None);
        assert_eq!(unpriv.return_range(), Some((0, 3)));
    }

    #[test]
    fn sk_skb() {
        let k = SkSkb { caps: Caps::ROOT };
        assert_eq!(k.ctx_access(76, 4, Read).map(|a| a.field), Some(CtxField::Packet));
        assert_eq!(k.ctx_access(80, 4, Read).map(|a| a.field), Some(CtxField::PacketEnd));
        assert_eq!(k.ctx_access(8, 4, Read), None, "no mark");
        assert_eq!(k.ctx_access(140, 4, Read), None);
        assert_eq!(k.ctx_access(152, 8, Read), None);
        assert!(k.ctx_access(44, 4, Write).is_some());
        assert!(k.ctx_access(32, 4, Write).is_some());
        assert_eq!(k.ctx_access(48, 4, Write), None);
        assert!(k.ctx_access(88, 4, Read).is_some(), "socket fields are readable");
        assert_eq!(k.packet_access(), (true, true));
    }

    #[test]
    fn lwt() {
        let l = Lwt { caps: Caps::ROOT, kind: LwtKind::Out };
        assert_eq!(l.name(), "lwt_out");
        assert_eq!(l.ctx_access(76, 4, Read).map(|a| a.field), Some(CtxField::Packet));
        assert_eq!(l.ctx_access(140, 4, Read), None);
        assert_eq!(l.ctx_access(88, 4, Read), None);
        assert_eq!(l.ctx_access(152, 8, Read), None);
        assert!(l.ctx_access(8, 4, Write).is_some());
        assert!(l.ctx_access(52, 4, Write).is_some());
        assert_eq!(l.ctx_access(44, 4, Write), None);
        assert_eq!(l.packet_access(), (true, false));
        assert_eq!(Lwt { caps: Caps::ROOT, kind: LwtKind::Xmit }.packet_access(), (true, true));
    }
}
