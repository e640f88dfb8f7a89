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
//! buffer), `ctx_out` the input keys back. See [`crate::net::lowmem`] for
//! where the packet is placed.
//!
//! Not emulated (partial): every other program type answers `ENOTSUPP`
//! (524), the kernel's answer for a type without `test_run`. The packet
//! types (socket filter, sched_cls, XDP, ...) need the ctx rewriting done
//! after verification (`convert_ctx_accesses()`: `__sk_buff`/`xdp_md` field
//! loads turned into kernel-struct loads), which bpfemu does not do yet; so
//! do `repeat` and `duration` (only those types use them).

use super::attr::{TestRunAttr, TestRunOut};
use crate::bpf::prog::Prog;
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::uapi::ProgType;
use bpfemu_vm::MemRegion;
use std::sync::Arc;

impl Kernel {
    /// `BPF_PROG_TEST_RUN`: 0, with `retval` (and `ctx_out`) filled.
    /// A bad prog fd is `EBADF`, an fd that is not a program `EINVAL`.
    pub(crate) fn test_run(&mut self, attr: &mut TestRunAttr<'_>) -> Result<i64, Errno> {
        let prog = self.fd_obj(attr.prog_fd)?.prog()?.clone();
        match prog.prog_type {
            ProgType::Syscall => {}
            ProgType::FlowDissector => return self.test_run_flow_dissector(attr, &prog),
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
        if attr.ctx_in.len() > usize::from(u16::MAX) || attr.ctx_in.len() < prog.max_ctx_offset as usize {
            return Err(Errno::EINVAL);
        }
        let mut ctx = attr.ctx_in.to_vec();
        let retval = if ctx.is_empty() {
            self.run_prog(&prog, &[0], &[])?
        } else {
            let region = MemRegion::from_mut_slice("ctx", &mut ctx);
            let addr = region.start();
            self.run_prog(&prog, &[addr], &[region])?
        };
        if let Some(out) = attr.ctx_out.as_deref_mut() {
            let dst = out.get_mut(..ctx.len()).ok_or(Errno::ENOSPC)?;
            dst.copy_from_slice(&ctx);
        }
        if let Some(out) = attr.out.as_deref_mut() {
            *out = TestRunOut {
                retval: retval as u32,
                duration: Self::prog_run_cost(&prog) as u32,
                data_size_out: 0,
                ctx_size_out: ctx.len() as u32,
            };
        }
        Ok(0)
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
