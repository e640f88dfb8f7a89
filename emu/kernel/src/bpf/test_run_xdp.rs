//! `BPF_PROG_TEST_RUN` for XDP programs (net/bpf/test_run.c
//! `bpf_prog_test_run_xdp()`, with `xdp_convert_md_to_buff()` /
//! `xdp_convert_buff_to_md()`).
//!
//! Checks, in the kernel's order: programs for `BPF_XDP_DEVMAP` /
//! `BPF_XDP_CPUMAP` are `EINVAL`; `flags` other than
//! `BPF_F_TEST_XDP_LIVE_FRAMES` are `EINVAL`, and `batch_size` without it;
//! `ctx_in` bytes past `struct xdp_md` must be zero (`E2BIG`); in the
//! ctx, `data_meta` must be 0, `data_end` the frame size, `data` at most
//! `data_end`, a multiple of 4 and at most 32 (the metadata length:
//! `xdp_metalen_invalid()`), `egress_ifindex` 0 (`EINVAL`);
//! `rx_queue_index` only with an `ingress_ifindex` (`EINVAL`), which must
//! name a device (`ENODEV`: only the loopback device, ifindex 1, with one
//! queue: another queue is `EINVAL`); the frame holds 14 bytes or more
//! (`EINVAL`).
//!
//! The buffer has `XDP_PACKET_HEADROOM` (256) bytes before the frame, the
//! metadata (`ctx.data` bytes at the frame's start) taken from them. The
//! program sees `ingress_ifindex` 1 and `rx_queue_index` 0 unless the ctx
//! says otherwise, and runs `repeat` times (at least once) on one
//! [`crate::progtype::convert::kern::XdpBuffKern`]. `data_out` gets the
//! bytes from `data_meta` to `data_end` (`ENOSPC` after a partial copy into
//! a non-empty smaller buffer), `ctx_out` (only when the data fitted) the
//! ctx with `data` / `data_end` relative to `data_meta`. `duration` is the
//! virtual cost of one run.
//!
//! Not emulated: `BPF_F_TEST_XDP_LIVE_FRAMES` (frames sent on) and frames
//! larger than one buffer (3520 bytes less the metadata: the kernel makes
//! them multi-buffer): `ENOTSUPP`. No helper moves the packet yet
//! (`bpf_xdp_adjust_head` and friends are not implemented), so the data
//! comes back where it went in.

use super::attr::{TestRunAttr, TestRunOut};
use super::test_run_skb::{ETH_HLEN, ctx_init, finish_ctx, finish_data};
use crate::bpf::prog::Prog;
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::progtype::convert::kern::{KernCtx, xdp_md};
use crate::uapi::AttachType;
use bpfemu_vm::MemRegion;
use std::sync::Arc;

/// `XDP_PACKET_HEADROOM`.
pub const XDP_PACKET_HEADROOM: usize = 256;
/// `BPF_F_TEST_XDP_LIVE_FRAMES`.
pub const BPF_F_TEST_XDP_LIVE_FRAMES: u32 = 1 << 1;
/// A page less the aligned `skb_shared_info` (320 on x86-64).
const XDP_BUF_ROOM: usize = 4096 - 320;

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl Kernel {
    /// `bpf_prog_test_run_xdp()`.
    pub(crate) fn test_run_xdp(
        &mut self,
        attr: &mut TestRunAttr<'_>,
        prog: &Arc<Prog>,
    ) -> Result<i64, Errno> {
        if matches!(prog.expected_attach_type, Some(AttachType::XdpDevmap | AttachType::XdpCpumap)) {
            return Err(Errno::EINVAL);
        }
        if attr.flags & !BPF_F_TEST_XDP_LIVE_FRAMES != 0 {
            return Err(Errno::EINVAL);
        }
        let live = attr.flags & BPF_F_TEST_XDP_LIVE_FRAMES != 0;
        if !live && attr.batch_size != 0 {
            return Err(Errno::EINVAL);
        }
        let mut user = ctx_init(attr, xdp_md::SIZE)?;
        let size = attr.data_in.len();
        let mut headroom = XDP_PACKET_HEADROOM;
        if let Some(u) = user.as_deref() {
            let (data, data_end) = (u32_at(u, xdp_md::DATA) as usize, u32_at(u, xdp_md::DATA_END) as usize);
            if u32_at(u, xdp_md::DATA_META) != 0
                || data_end != size
                || data > data_end
                || data % 4 != 0
                || data > 32
            {
                return Err(Errno::EINVAL);
            }
            headroom -= data;
        }
        if live || size > XDP_BUF_ROOM - headroom {
            return Err(Errno::ENOTSUPP);
        }
        if size < ETH_HLEN {
            return Err(Errno::EINVAL);
        }
        let (mut ingress, mut queue, mut meta_len) = (1, 0, 0usize);
        if let Some(u) = user.as_deref() {
            if u32_at(u, xdp_md::EGRESS_IFINDEX) != 0 {
                return Err(Errno::EINVAL);
            }
            let (ifi, q) = (u32_at(u, xdp_md::INGRESS_IFINDEX), u32_at(u, xdp_md::RX_QUEUE_INDEX));
            if ifi == 0 && q != 0 {
                return Err(Errno::EINVAL);
            }
            if ifi > 1 {
                return Err(Errno::ENODEV);
            }
            if ifi == 1 && q >= 1 {
                return Err(Errno::EINVAL);
            }
            if ifi == 1 {
                (ingress, queue) = (1, q);
            }
            meta_len = u32_at(u, xdp_md::DATA) as usize;
        }
        self.xdp_run(attr, prog, user.as_deref_mut(), ingress, queue, meta_len)
    }

    fn xdp_run(
        &mut self,
        attr: &mut TestRunAttr<'_>,
        prog: &Arc<Prog>,
        user: Option<&mut [u8]>,
        ingress: u32,
        queue: u32,
        meta_len: usize,
    ) -> Result<i64, Errno> {
        let size = attr.data_in.len();
        // The buffer from `data_hard_start`; the frame (metadata first)
        // after the headroom.
        let front = XDP_PACKET_HEADROOM - meta_len;
        let mut buf = vec![0u8; XDP_PACKET_HEADROOM + size - meta_len];
        buf[front..].copy_from_slice(attr.data_in);
        let base = buf.as_mut_ptr() as u64;
        let mut k = KernCtx::xdp();
        k.set_u32(xdp_md::INGRESS_IFINDEX, ingress);
        k.set_u32(xdp_md::RX_QUEUE_INDEX, queue);
        k.set_packet(base + front as u64, base + (front + meta_len) as u64, base + buf.len() as u64);
        let mut retval = 0u32;
        for _ in 0..attr.repeat.max(1) {
            let addr = k.addr();
            let regions =
                [MemRegion::from_slice("ctx", &k.bytes), MemRegion::from_mut_slice("packet", &mut buf)];
            retval = self.run_prog(prog, &[addr], &regions)? as u32;
        }
        let (meta, data, end) = k.packet();
        let rel =
            |p: u64| p.checked_sub(base).map(|v| v as usize).filter(|&v| v <= buf.len()).ok_or(Errno::EFAULT);
        let (m, d, e) = (rel(meta)?, rel(data)?, rel(end)?);
        let out_bytes = buf.get(m..e).ok_or(Errno::EFAULT)?;
        let mut user = user;
        if let Some(u) = user.as_deref_mut() {
            u[xdp_md::DATA..xdp_md::DATA + 4].copy_from_slice(&((d - m) as u32).to_le_bytes());
            u[xdp_md::DATA_END..xdp_md::DATA_END + 4].copy_from_slice(&((e - m) as u32).to_le_bytes());
        }
        let err = finish_data(attr.data_out.as_deref_mut(), out_bytes);
        // bpf_test_finish() ends with trace_bpf_test_finish(&err).
        self.trace_bpf_test_finish(err);
        let (ctx_size_out, cerr) =
            if err.is_none() { finish_ctx(attr.ctx_out.as_deref_mut(), user.as_deref()) } else { (0, None) };
        if let Some(out) = attr.out.as_deref_mut() {
            *out = TestRunOut {
                retval,
                duration: Self::prog_run_cost(prog) as u32,
                data_size_out: out_bytes.len() as u32,
                ctx_size_out,
            };
        }
        match err.or(cerr) {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}
