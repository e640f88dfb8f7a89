//! `BPF_PROG_TEST_RUN` for programs on `struct __sk_buff`
//! (net/bpf/test_run.c `bpf_prog_test_run_skb()`, with
//! `convert___skb_to_skb()` / `convert_skb_to___skb()`): socket_filter,
//! sched_cls, sched_act, cgroup_skb, lwt_in, lwt_out, lwt_xmit.
//!
//! Checks, in the kernel's order: `flags`, `cpu`, `batch_size` must be 0
//! (`EINVAL`); `data_in` holds 14 to 3712 bytes (`bpf_test_init()`: a page
//! less `NET_SKB_PAD` 64 and the aligned `skb_shared_info` 320 of x86-64;
//! `EINVAL`); `ctx_in` bytes past `struct __sk_buff` must be zero
//! (`E2BIG`, and a `ctx_in` over a page is `E2BIG`); `ifindex` above 1
//! names a device of the caller's namespace (`ENODEV`: only the loopback
//! device, ifindex 1, exists for a test run here); only `mark`,
//! `priority`, `ingress_ifindex`, `ifindex`, `cb[]`, `tstamp`, `wire_len`,
//! `gso_segs`, `gso_size` and `hwtstamp` may be non-zero (`EINVAL`);
//! `wire_len` 0 or between the packet length and 65536, `gso_segs` at
//! most 65535 (`EINVAL`).
//!
//! The packet: `eth_type_trans()` on the loopback device gives
//! `protocol` (the Ethernet type) and `pkt_type` (host for a zero
//! destination, broadcast, multicast, else other-host); the test socket's
//! family and addresses come from an IPv4 or IPv6 header (`local_*` the
//! source, `remote_*` the destination). sched_cls/sched_act see the frame
//! from its Ethernet header, the other types from the network header
//! (`len` 14 less). Only tc and lwt programs get `data_meta` and
//! `data_end` (`bpf_compute_data_pointers()`); for socket filters and
//! cgroup_skb programs they stay 0, as in the kernel's test run, so a
//! cgroup_skb program's direct packet reads fail their bounds check. The
//! program runs `repeat` times (at least once) on one
//! [`crate::progtype::convert::kern::SkBuffKern`]; writes persist between
//! runs. Afterwards, for the types that saw the network header the
//! Ethernet header comes back zeroed, as the kernel pushes a blank one.
//! `data_out` gets the frame (`ENOSPC` after a partial copy into a
//! non-empty smaller buffer), `data_size_out` its length; `ctx_out` (only
//! when the data fitted) the input ctx with `mark`, `priority`,
//! `ingress_ifindex`, `ifindex`, `tstamp`, `cb[]`, `wire_len`, `gso_segs`,
//! `hwtstamp` as the run left them (`ENOSPC` when smaller than the
//! struct). `duration` is the virtual cost of one run.
//!
//! Deviation: a non-null `data_out` with `data_size_out` 0 makes the
//! kernel copy the whole frame unchecked; here nothing is copied.
//! Not emulated: helpers that resize the packet (none exists yet), the
//! test socket beyond its addresses (`__sk_buff::sk` is refused by the
//! verifier).

use super::attr::{TestRunAttr, TestRunOut};
use crate::bpf::prog::Prog;
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::progtype::convert::kern::KernCtx;
use crate::progtype::skb::off;
use crate::uapi::ProgType;
use bpfemu_vm::MemRegion;
use std::sync::Arc;

/// `ETH_HLEN`.
pub const ETH_HLEN: usize = 14;
/// The largest frame `bpf_test_init()` takes for an skb run on x86-64.
pub const SKB_MAX_DATA: usize = 4096 - 64 - 320;
/// `__sk_buff` offsets not in [`off`].
mod uoff {
    use crate::vmlinux::types::SkBuff;
    use std::mem::offset_of;
    pub const LEN: usize = offset_of!(SkBuff, len);
    pub const PKT_TYPE: usize = offset_of!(SkBuff, pkt_type);
    pub const PROTOCOL: usize = offset_of!(SkBuff, protocol);
    pub const INGRESS_IFINDEX: usize = offset_of!(SkBuff, ingress_ifindex);
    pub const IFINDEX: usize = offset_of!(SkBuff, ifindex);
    pub const GSO_SIZE: usize = offset_of!(SkBuff, gso_size);
}

/// `GSO_LEGACY_MAX_SIZE`.
const GSO_LEGACY_MAX_SIZE: u32 = 65536;
/// `GSO_MAX_SEGS`.
const GSO_MAX_SEGS: u32 = 65535;

/// `bpf_ctx_init()`: the user's ctx padded or checked to `max` bytes;
/// `None` when neither `ctx_in` nor `ctx_out` is given. `E2BIG` for
/// non-zero bytes past the struct or a ctx over a page
/// (`bpf_check_uarg_tail_zero()`).
pub fn ctx_init(attr: &TestRunAttr<'_>, max: usize) -> Result<Option<Vec<u8>>, Errno> {
    if attr.ctx_in.is_empty() && attr.ctx_out.is_none() {
        return Ok(None);
    }
    if attr.ctx_in.len() > 4096 {
        return Err(Errno::E2BIG);
    }
    let n = attr.ctx_in.len().min(max);
    if attr.ctx_in[n..].iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    let mut ctx = vec![0u8; max];
    ctx[..n].copy_from_slice(&attr.ctx_in[..n]);
    Ok(Some(ctx))
}

/// `bpf_test_finish()`'s copy of `data` into `data_out`: `ENOSPC` when
/// it was cut short.
pub fn finish_data(out: Option<&mut [u8]>, data: &[u8]) -> Option<Errno> {
    let out = out.filter(|o| !o.is_empty())?;
    let n = out.len().min(data.len());
    out[..n].copy_from_slice(&data[..n]);
    (n < data.len()).then_some(Errno::ENOSPC)
}

/// `bpf_ctx_finish()`: `ENOSPC` when `ctx_out` is smaller than `ctx`;
/// the size to report.
pub fn finish_ctx(out: Option<&mut [u8]>, ctx: Option<&[u8]>) -> (u32, Option<Errno>) {
    let (Some(out), Some(ctx)) = (out, ctx) else { return (0, None) };
    let n = out.len().min(ctx.len());
    out[..n].copy_from_slice(&ctx[..n]);
    (ctx.len() as u32, (n < ctx.len()).then_some(Errno::ENOSPC))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// `convert___skb_to_skb()`'s checks on the user's `__sk_buff`.
fn check_user_skb(u: &[u8], pkt_len: u32) -> Result<(), Errno> {
    let allowed: [(usize, usize); 9] = [
        (off::MARK, 4),
        (off::PRIORITY, 4),
        (uoff::INGRESS_IFINDEX, 4),
        (uoff::IFINDEX, 4),
        (off::CB, 20),
        (off::TSTAMP, 8),
        (off::WIRE_LEN, 8), // wire_len, gso_segs
        (uoff::GSO_SIZE, 4),
        (off::HWTSTAMP, 8),
    ];
    let ok = |i: usize| allowed.iter().any(|&(s, l)| (s..s + l).contains(&i));
    if (0..off::SIZE).any(|i| u[i] != 0 && !ok(i)) {
        return Err(Errno::EINVAL);
    }
    let wire_len = u32_at(u, off::WIRE_LEN);
    if wire_len != 0 && (wire_len < pkt_len || wire_len > GSO_LEGACY_MAX_SIZE) {
        return Err(Errno::EINVAL);
    }
    if u32_at(u, off::WIRE_LEN + 4) > GSO_MAX_SEGS {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `eth_type_trans()`'s `pkt_type` on a device with a zero address.
fn pkt_type(dst: &[u8]) -> u32 {
    if dst.iter().all(|&b| b == 0) {
        0
    } else if dst.iter().all(|&b| b == 0xff) {
        1
    } else if dst[0] & 1 != 0 {
        2
    } else {
        3
    }
}

/// The test socket's family and addresses from the network header
/// (`AF_INET` 2, `AF_INET6` 10).
fn fill_sock(k: &mut KernCtx, frame: &[u8]) {
    let l3 = &frame[ETH_HLEN..];
    match u16::from_be_bytes([frame[12], frame[13]]) {
        0x0800 => {
            k.set_u32(off::FAMILY, 2);
            if l3.len() >= 20 {
                k.uapi_mut()[off::LOCAL_IP4..off::LOCAL_IP4 + 4].copy_from_slice(&l3[12..16]);
                k.uapi_mut()[off::REMOTE_IP4..off::REMOTE_IP4 + 4].copy_from_slice(&l3[16..20]);
            }
        }
        0x86dd => {
            k.set_u32(off::FAMILY, 10);
            if l3.len() >= 40 {
                k.uapi_mut()[off::LOCAL_IP6..off::LOCAL_IP6 + 16].copy_from_slice(&l3[8..24]);
                k.uapi_mut()[off::REMOTE_IP6..off::REMOTE_IP6 + 16].copy_from_slice(&l3[24..40]);
            }
        }
        _ => {}
    }
}

/// Whether `t` is run by [`Kernel::test_run_skb`].
pub fn is_skb_test_type(t: ProgType) -> bool {
    matches!(
        t,
        ProgType::SocketFilter
            | ProgType::SchedCls
            | ProgType::SchedAct
            | ProgType::CgroupSkb
            | ProgType::LwtIn
            | ProgType::LwtOut
            | ProgType::LwtXmit
    )
}

impl Kernel {
    /// `bpf_prog_test_run_skb()`.
    pub(crate) fn test_run_skb(
        &mut self,
        attr: &mut TestRunAttr<'_>,
        prog: &Arc<Prog>,
    ) -> Result<i64, Errno> {
        if attr.flags != 0 || attr.cpu != 0 || attr.batch_size != 0 {
            return Err(Errno::EINVAL);
        }
        let size = attr.data_in.len();
        if !(ETH_HLEN..=SKB_MAX_DATA).contains(&size) {
            return Err(Errno::EINVAL);
        }
        let mut user = ctx_init(attr, off::SIZE)?;
        let is_l2 = matches!(prog.prog_type, ProgType::SchedCls | ProgType::SchedAct);
        let mut frame = attr.data_in.to_vec();
        let ifindex = user.as_deref().map_or(0, |u| u32_at(u, uoff::IFINDEX));
        if ifindex > 1 {
            return Err(Errno::ENODEV);
        }
        let start = if is_l2 { 0 } else { ETH_HLEN };
        let len = (size - start) as u32;
        let mut k = KernCtx::skb();
        if let Some(u) = user.as_deref() {
            check_user_skb(u, len)?;
            k.uapi_mut().copy_from_slice(u);
            // Fields the program cannot see through a test ctx.
            let wire = u32_at(u, off::WIRE_LEN);
            k.set_u32(off::WIRE_LEN, if wire == 0 { len } else { wire });
        }
        k.set_u32(uoff::LEN, len);
        k.set_u32(uoff::PKT_TYPE, pkt_type(&frame[..6]));
        k.set_u32(uoff::PROTOCOL, u32::from(u16::from_ne_bytes([frame[12], frame[13]])));
        k.set_u32(uoff::IFINDEX, 1);
        fill_sock(&mut k, &frame);
        let base = frame.as_mut_ptr() as u64;
        let direct =
            is_l2 || matches!(prog.prog_type, ProgType::LwtIn | ProgType::LwtOut | ProgType::LwtXmit);
        if direct {
            k.set_packet(base + start as u64, base + start as u64, base + size as u64);
        } else {
            // `bpf_compute_data_pointers()` is not called: `data_meta` and
            // `data_end` (kept in the skb's control block) stay zero.
            k.set_packet(0, base + start as u64, 0);
        }
        let mut retval = 0u32;
        for _ in 0..attr.repeat.max(1) {
            let addr = k.addr();
            let regions =
                [MemRegion::from_slice("ctx", &k.bytes), MemRegion::from_mut_slice("packet", &mut frame)];
            retval = self.run_prog(prog, &[addr], &regions)? as u32;
        }
        if !is_l2 {
            frame[..ETH_HLEN].fill(0);
        }
        if let Some(u) = user.as_deref_mut() {
            for (at, n) in [
                (off::MARK, 4),
                (off::PRIORITY, 4),
                (uoff::INGRESS_IFINDEX, 8),
                (off::CB, 20),
                (off::TSTAMP, 8),
                (off::WIRE_LEN, 8),
                (off::HWTSTAMP, 8),
            ] {
                u[at..at + n].copy_from_slice(&k.uapi()[at..at + n]);
            }
        }
        let err = finish_data(attr.data_out.as_deref_mut(), &frame);
        // bpf_test_finish() ends with trace_bpf_test_finish(&err).
        self.trace_bpf_test_finish(err);
        let (ctx_size_out, cerr) =
            if err.is_none() { finish_ctx(attr.ctx_out.as_deref_mut(), user.as_deref()) } else { (0, None) };
        if let Some(out) = attr.out.as_deref_mut() {
            *out = TestRunOut {
                retval,
                duration: Self::prog_run_cost(prog) as u32,
                data_size_out: frame.len() as u32,
                ctx_size_out,
            };
        }
        match err.or(cerr) {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}
