//! `BPF_PROG_TEST_RUN` (kernel/bpf/syscall.c `bpf_prog_test_run()`,
//! net/bpf/test_run.c).
//!
//! Emulated: `BPF_PROG_TYPE_SYSCALL` (`bpf_prog_test_run_syscall()`): the
//! program runs once with r1 pointing to a copy of `ctx_in` (or NULL when
//! it is empty), and the return value comes back in `retval`. As in the
//! kernel, `data_in`, `data_out`, `repeat`, `flags`, `batch_size` and a
//! non-zero `duration` are `EINVAL`, and so is a ctx larger than `U16_MAX`
//! or smaller than the program's highest ctx access (`max_ctx_offset`,
//! found by the verifier: the program may then rely on the ctx existing).
//!
//! **Deviation (ctx write-back).** The kernel copies the ctx back into
//! `ctx_in` (a syscall program's ctx is its in/out argument block) and
//! refuses `ctx_out`. The emulator's `ctx_in` is a read-only slice, so the
//! written-back ctx goes to `ctx_out` instead when one is given
//! (`ctx_size_out` = the ctx size; a shorter `ctx_out` is `ENOSPC`), and
//! `ctx_out` is accepted.
//!
//! `BPF_PROG_TYPE_FLOW_DISSECTOR` (`bpf_prog_test_run_flow_dissector()`):
//! `flags`, `cpu` and `batch_size` must be 0, `data_in` holds a frame of
//! 14 to 4096 bytes (`EINVAL`), `ctx_in` may only set
//! `bpf_flow_keys::flags` (`EINVAL`; bytes past the struct must be zero:
//! `E2BIG`). The program runs `repeat` times (at least once) through
//! `bpf_flow_dissect()` with `n_proto` from the Ethernet header and
//! `nhoff` 14; `data_out` receives the resulting `bpf_flow_keys`
//! (`data_size_out` 56, `ENOSPC` after a partial copy into a smaller
//! buffer), `ctx_out` the input keys back.
//!
//! `BPF_PROG_TYPE_SK_LOOKUP` (`bpf_prog_test_run_sk_lookup()`): no data
//! in or out, `flags`/`cpu`/`batch_size` 0 (`EINVAL`); `ctx_in` is a
//! `struct bpf_sk_lookup` (required: `EINVAL`) with `sk` 0 and nothing
//! after `local_port` (`EINVAL`), `local_port` at most 65535 (`ERANGE`),
//! family `AF_INET` or `AF_INET6` (`EAFNOSUPPORT`); the program runs
//! `repeat` times as a one-program run array over the caller's namespace's
//! sockets; `ctx_out` gets the ctx back with `cookie` set to the selected
//! socket's cookie (0 for none).
//!
//! BTF tracing programs (fentry, fexit, fmod_ret):
//! [`crate::trampoline::run`] (`bpf_prog_test_run_tracing()`).
//! struct_ops programs of `bpf_dummy_ops`: [`super::test_run_struct_ops`]
//! (`bpf_struct_ops_test_run()`; the state argument comes from `data_in`
//! and goes back to `data_out`, a documented deviation).
//! raw_tracepoint programs: [`crate::tracepoint::run`]
//! (`bpf_prog_test_run_raw_tp()`). The skb, XDP and flow dissector runs
//! end as `bpf_test_finish()` does, firing the `bpf_test_finish`
//! tracepoint.
//!
//! Packet programs: socket_filter, sched_cls/sched_act, cgroup_skb and
//! lwt_* in [`super::test_run_skb`] (`bpf_prog_test_run_skb()`), XDP in
//! [`super::test_run_xdp`] (`bpf_prog_test_run_xdp()`). They run on the
//! emulated kernel ctx structs their accesses were rewritten for after
//! verification ([`crate::progtype::convert`]).
//!
//! Not emulated (partial): every other program type answers `ENOTSUPP`
//! (524), the kernel's answer for a type without `test_run` (sk_skb,
//! sk_msg, cgroup_device, perf_event, ...) and bpfemu's for the types
//! whose test run is not there yet (
//! netfilter, cgroup sockopt/sock_addr).

use super::attr::{TestRunAttr, TestRunOut};
use crate::bpf::prog::Prog;
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::uapi::ProgType;
use std::sync::Arc;

impl Kernel {
    /// `BPF_PROG_TEST_RUN`: 0, with `retval` (and `ctx_out`) filled.
    /// A bad prog fd is `EBADF`, an fd that is not a program `EINVAL`.
    pub(crate) fn test_run(&mut self, attr: &mut TestRunAttr<'_>) -> Result<i64, Errno> {
        let prog = self.fd_obj(attr.prog_fd)?.prog()?.clone();
        match prog.prog_type {
            ProgType::Syscall => {}
            ProgType::FlowDissector => return self.test_run_flow_dissector(attr, &prog),
            ProgType::SkLookup => return self.test_run_sk_lookup(attr, &prog),
            ProgType::Xdp => return self.test_run_xdp(attr, &prog),
            ProgType::Tracing => return self.test_run_tracing(attr, &prog),
            ProgType::StructOps => return self.test_run_struct_ops(attr, &prog),
            ProgType::RawTracepoint => return self.test_run_raw_tp(attr, &prog),
            t if super::test_run_skb::is_skb_test_type(t) => return self.test_run_skb(attr, &prog),
            _ => return Err(Errno::ENOTSUPP),
        }
        if !attr.data_in.is_empty()
            || attr.data_out.is_some()
            || attr.duration != 0
            || attr.repeat != 0
            || attr.flags != 0
            || attr.batch_size != 0
        {
            return Err(Errno::EINVAL);
        }
        let run = self.syscall_run(prog, attr.ctx_in, true)?;
        let done = self.test_run_reattach(run.execute(None))?;
        if let Some(out) = attr.ctx_out.as_deref_mut() {
            let dst = out.get_mut(..done.ctx.len()).ok_or(Errno::ENOSPC)?;
            dst.copy_from_slice(&done.ctx);
        }
        if let Some(out) = attr.out.as_deref_mut() {
            *out = TestRunOut {
                retval: done.retval,
                duration: done.duration,
                data_size_out: 0,
                ctx_size_out: done.ctx.len() as u32,
            };
        }
        Ok(0)
    }

    /// `bpf_prog_test_run_sk_lookup()`.
    fn test_run_sk_lookup(&mut self, attr: &mut TestRunAttr<'_>, prog: &Arc<Prog>) -> Result<i64, Errno> {
        use crate::net::sk_lookup::{AF_INET, AF_INET6, LookupReq};
        use crate::progtype::sk_lookup::off;
        if attr.flags != 0 || attr.cpu != 0 || attr.batch_size != 0 {
            return Err(Errno::EINVAL);
        }
        if !attr.data_in.is_empty() || attr.data_out.is_some() {
            return Err(Errno::EINVAL);
        }
        if attr.ctx_in.is_empty() && attr.ctx_out.is_none() {
            return Err(Errno::EINVAL);
        }
        let mut user = [0u8; off::SIZE];
        let n = attr.ctx_in.len().min(off::SIZE);
        user[..n].copy_from_slice(&attr.ctx_in[..n]);
        if attr.ctx_in[n..].iter().any(|&b| b != 0) {
            return Err(Errno::E2BIG);
        }
        let u32at = |o: usize| u32::from_le_bytes([user[o], user[o + 1], user[o + 2], user[o + 3]]);
        if user[off::SK..off::SK + 8].iter().any(|&b| b != 0)
            || user[off::LOCAL_PORT + 4..].iter().any(|&b| b != 0)
        {
            return Err(Errno::EINVAL);
        }
        let local_port = u16::try_from(u32at(off::LOCAL_PORT)).map_err(|_| Errno::ERANGE)?;
        let remote_port = u16::from_be_bytes([user[off::REMOTE_PORT], user[off::REMOTE_PORT + 1]]);
        let ip4 = |o: usize| std::net::IpAddr::from([user[o], user[o + 1], user[o + 2], user[o + 3]]);
        let ip6 = |o: usize| {
            let mut a = [0u8; 16];
            a.copy_from_slice(&user[o..o + 16]);
            std::net::IpAddr::from(a)
        };
        let (remote, local) = match u32at(off::FAMILY) as u16 {
            AF_INET => (ip4(off::REMOTE_IP4), ip4(off::LOCAL_IP4)),
            AF_INET6 => (ip6(off::REMOTE_IP6), ip6(off::LOCAL_IP6)),
            _ => return Err(Errno::EAFNOSUPPORT),
        };
        let req = LookupReq {
            protocol: u32at(off::PROTOCOL) as u8,
            remote: std::net::SocketAddr::new(remote, remote_port),
            local: std::net::SocketAddr::new(local, local_port),
        };
        let net = self.net.task_net(self.user).net().id;
        let mut last = (0, None);
        for _ in 0..attr.repeat.max(1) {
            last = self.sk_lookup_run(net, std::slice::from_ref(prog), req)?;
        }
        user[off::SK..off::SK + 8].copy_from_slice(&last.1.unwrap_or(0).to_le_bytes());
        let mut err = None;
        let mut ctx_size_out = 0;
        if let Some(out) = attr.ctx_out.as_deref_mut() {
            let n = out.len().min(off::SIZE);
            out[..n].copy_from_slice(&user[..n]);
            ctx_size_out = off::SIZE as u32;
            if n < off::SIZE {
                err = Some(Errno::ENOSPC);
            }
        }
        if let Some(out) = attr.out.as_deref_mut() {
            *out = TestRunOut {
                retval: last.0,
                duration: Self::prog_run_cost(prog) as u32,
                data_size_out: 0,
                ctx_size_out,
            };
        }
        match err {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }

    /// `bpf_prog_test_run_flow_dissector()`.
    fn test_run_flow_dissector(
        &mut self,
        attr: &mut TestRunAttr<'_>,
        prog: &Arc<Prog>,
    ) -> Result<i64, Errno> {
        use crate::net::flow_dissector::{test_run_size_ok, user_keys_flags};
        use crate::net::flow_keys::{FLOW_KEYS_SIZE, FlowKeys};
        if attr.flags != 0 || attr.cpu != 0 || attr.batch_size != 0 {
            return Err(Errno::EINVAL);
        }
        let data = attr.data_in;
        if !test_run_size_ok(data.len()) {
            return Err(Errno::EINVAL);
        }
        let user = !attr.ctx_in.is_empty() || attr.ctx_out.is_some();
        let flags = user_keys_flags(attr.ctx_in)?;
        let proto = [data[12], data[13]];
        let repeat = attr.repeat.max(1);
        let mut last = (0u32, FlowKeys::default());
        for _ in 0..repeat {
            last = self.bpf_flow_dissect(prog, data, proto, 14, flags)?;
        }
        let keys = last.1.to_bytes();
        let mut err = None;
        if let Some(out) = attr.data_out.as_deref_mut() {
            let n = out.len().min(FLOW_KEYS_SIZE);
            out[..n].copy_from_slice(&keys[..n]);
            if n < FLOW_KEYS_SIZE {
                err = Some(Errno::ENOSPC);
            }
        }
        // bpf_test_finish() ends with trace_bpf_test_finish(&err).
        self.trace_bpf_test_finish(err);
        let mut ctx_size_out = 0;
        if user && let Some(out) = attr.ctx_out.as_deref_mut() {
            let input = FlowKeys { flags, ..FlowKeys::default() }.to_bytes();
            let n = out.len().min(FLOW_KEYS_SIZE);
            out[..n].copy_from_slice(&input[..n]);
            ctx_size_out = FLOW_KEYS_SIZE as u32;
            if n < FLOW_KEYS_SIZE {
                err = err.or(Some(Errno::ENOSPC));
            }
        }
        if let Some(out) = attr.out.as_deref_mut() {
            *out = TestRunOut {
                retval: last.0,
                duration: Self::prog_run_cost(prog) as u32,
                data_size_out: FLOW_KEYS_SIZE as u32,
                ctx_size_out,
            };
        }
        match err {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}
