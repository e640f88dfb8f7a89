//! Firing tracepoints, and `BPF_PROG_TEST_RUN` of raw_tracepoint
//! programs.
//!
//! Kernel counterparts: kernel/trace/bpf_trace.c `bpf_trace_run<N>()` /
//! `__bpf_trace_run()` (the probe each attached link registered: the
//! tracepoint's arguments copied into `u64 args[N]`, the program run on
//! them, its return value ignored) and net/bpf/test_run.c
//! `bpf_prog_test_run_raw_tp()`.
//!
//! A firing runs every program attached to the tracepoint, in
//! registration order, each on its own copy of the arguments (read-only
//! memory of `num_args * 8` bytes), on the engine the kernel's setting
//! gives (JIT, interpreter, checked in paranoid mode; [`Kernel::run_prog`]).
//! Objects the arguments point at are memory of the run too (read-only):
//! for `bpf_test_finish`, the `int err` of `bpf_test_finish()`, for
//! `bpf_trace_printk` the rendered message. A tracepoint fired inside a
//! program run (`bpf_trace_printk`, [`fire_in_run`]) runs its probes
//! nested in that run; the per-CPU recursion check of `__bpf_trace_run()`
//! (`prog->active`) skips a probe already running in the nesting and
//! counts a `recursion_misses` (a probe of `bpf_trace_printk` that calls
//! `bpf_trace_printk` runs once per outer message). Nested probe runs are
//! checked when the calling run is (paranoid mode), but a failure there
//! is not recorded as a soundness violation. Not emulated:
//! `bpf_get_attach_cookie`.
//!
//! `BPF_PROG_TEST_RUN` of a raw_tracepoint program, in the kernel's order:
//! `data_in`, `data_out`, `ctx_out`, `duration` or `repeat` given:
//! `EINVAL`; `ctx_in` shorter than the program's `max_ctx_offset` or
//! longer than `MAX_BPF_FUNC_ARGS * 8` (96) bytes: `EINVAL`; a `cpu`
//! without `BPF_F_TEST_RUN_ON_CPU`: `EINVAL`. The program runs once with
//! r1 = a copy of `ctx_in` (NULL when empty) on the calling CPU, or with
//! `BPF_F_TEST_RUN_ON_CPU` on CPU `cpu` (`ENXIO` past the last CPU; every
//! emulated CPU is online); only `retval` comes back.

use super::{BPF_TEST_FINISH, BPF_TRACE_PRINTK};
use crate::bpf::attr::{TestRunAttr, TestRunOut};
use crate::bpf::prog::Prog;
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::progtype::tracing::MAX_BPF_FUNC_ARGS;
use crate::runctx;
use bpfemu_vm::MemRegion;
use std::sync::Arc;

/// `BPF_F_TEST_RUN_ON_CPU`.
pub const BPF_F_TEST_RUN_ON_CPU: u32 = 1;

/// Fires tracepoint `tp` from inside a program run (a helper): each probe
/// runs nested in the calling run's context (CPU, task, clocks; checked
/// when the calling run is, e.g. in paranoid mode), with `objects` valid;
/// a probe already running in this nesting is skipped and its
/// `recursion_misses` counted (`prog->active`). The probes' trace lines
/// join the calling run's.
pub fn fire_in_run(tp: &str, args: &[u64], objects: &[MemRegion<'_>]) {
    let probes = runctx::with(|c| c.raw_tps.as_ref().map(|t| t.probes(tp)).unwrap_or_default());
    let Some(probes) = probes.filter(|p| !p.is_empty()) else { return };
    let bytes: Vec<u8> = args.iter().flat_map(|a| a.to_ne_bytes()).collect();
    for prog in &probes {
        let Some(mut rctx) = runctx::with(|c| c.clone()) else { return };
        if rctx.probe_active.contains(&prog.id) {
            prog.inc_misses();
            continue;
        }
        rctx.probe_active.push(prog.id);
        // Tracepoint probes run with preemption off: no interleaving
        // point inside them.
        rctx.switcher = None;
        let fast = prog.verified && rctx.verified;
        let ctx = MemRegion::from_slice("ctx", &bytes);
        let addr = ctx.start();
        let mut regions = vec![ctx];
        regions.extend(objects.iter().cloned());
        let (_, done) = crate::bpf::run::run_with_ctx(prog, &[addr], &regions, rctx, fast);
        runctx::with(|c| c.trace.extend(done.trace));
    }
}

/// `trace_bpf_trace_printk(buf)`: `buf` is the rendered message with its
/// NUL (read-only memory of the probes' runs).
pub(crate) fn trace_bpf_trace_printk(buf: &[u8]) {
    let obj = MemRegion::from_slice("bpf_trace_printk buf", buf);
    let addr = obj.start();
    fire_in_run(BPF_TRACE_PRINTK.name, &[addr], &[obj]);
}

impl Kernel {
    /// Runs the programs attached to tracepoint `tp` on `args`, with
    /// `objects` (what the arguments point at) valid during each run.
    fn fire(&mut self, tp: &str, args: &[u64], objects: &[MemRegion<'_>]) {
        let progs = self.raw_tps.probes(tp);
        let bytes: Vec<u8> = args.iter().flat_map(|a| a.to_ne_bytes()).collect();
        for prog in &progs {
            let ctx = MemRegion::from_slice("ctx", &bytes);
            let addr = ctx.start();
            let mut regions = vec![ctx];
            regions.extend(objects.iter().cloned());
            // `(void) bpf_prog_run(prog, args)`: a failed run (an unsound
            // verification) is recorded by the paranoid mode.
            let _ = self.run_prog_as(prog, &[addr], &regions, true);
        }
    }

    /// `trace_bpf_test_finish(&err)` at the end of `bpf_test_finish()`.
    pub(crate) fn trace_bpf_test_finish(&mut self, err: Option<Errno>) {
        if self.raw_tps.probes(BPF_TEST_FINISH.name).is_empty() {
            return;
        }
        let err: i32 = err.map_or(0, |e| -(e as i32));
        let cell = err.to_ne_bytes();
        let obj = MemRegion::from_slice("bpf_test_finish err", &cell);
        let addr = obj.start();
        self.fire(BPF_TEST_FINISH.name, &[addr], &[obj]);
    }

    /// `bpf_prog_test_run_raw_tp()` (see the module docs).
    pub(crate) fn test_run_raw_tp(
        &mut self,
        attr: &mut TestRunAttr<'_>,
        prog: &Arc<Prog>,
    ) -> Result<i64, Errno> {
        if !attr.data_in.is_empty()
            || attr.data_out.is_some()
            || attr.ctx_out.is_some()
            || attr.duration != 0
            || attr.repeat != 0
        {
            return Err(Errno::EINVAL);
        }
        let size = attr.ctx_in.len();
        if size < prog.max_ctx_offset as usize || size > MAX_BPF_FUNC_ARGS * 8 {
            return Err(Errno::EINVAL);
        }
        let on_cpu = attr.flags & BPF_F_TEST_RUN_ON_CPU != 0;
        if !on_cpu && attr.cpu != 0 {
            return Err(Errno::EINVAL);
        }
        let here = self.sim.smp_processor_id();
        let cpu = if on_cpu { attr.cpu } else { here };
        if cpu != here && cpu >= self.sim.nr_cpus() {
            return Err(Errno::ENXIO);
        }
        let ctx = attr.ctx_in.to_vec();
        self.sim.set_this_cpu(cpu)?;
        let retval = if ctx.is_empty() {
            self.run_prog(prog, &[0], &[])
        } else {
            let region = MemRegion::from_slice("ctx", &ctx);
            let addr = region.start();
            self.run_prog(prog, &[addr], &[region])
        };
        self.sim.set_this_cpu(here)?;
        let retval = retval? as u32;
        if let Some(out) = attr.out.as_deref_mut() {
            *out = TestRunOut { retval, ..TestRunOut::default() };
        }
        Ok(0)
    }
}
