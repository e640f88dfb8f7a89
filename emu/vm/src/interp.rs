//! The interpreter's public face: configuration (helpers, kfuncs, tail-call
//! resolver, step budget) and the three ways to run a program.
//!
//! Kernel counterpart: `bpf_prog_run()` → `___bpf_prog_run()` in
//! kernel/bpf/core.c for programs without a JIT image. The run loop is in
//! [`crate::exec`]; see there for calling conventions.

use crate::env::{Checked, Env, Fast, TraceStep, Traced};
use crate::error::VmError;
use crate::exec::{Nest, RunCtx, execute};
use crate::helpers::{CallTable, HelperFn, TailCallResolver};
use crate::mem::MemRegion;
use crate::program::Program;
use std::fmt;
use std::sync::Arc;

/// Which engine mode to run in (for configuration surfaces such as the CLI
/// and scenarios; the run methods pick the mode by name).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// No per-access checks: for verified programs ([`Interpreter::run_fast`]).
    Fast,
    /// Every access validated ([`Interpreter::run_checked`]).
    #[default]
    Checked,
}

/// The reference interpreter. Holds what a run can call out to; cheap to
/// share (`Send + Sync`), and runs take `&self`, so one interpreter serves
/// all simulated CPUs.
#[derive(Clone, Default)]
pub struct Interpreter {
    calls: CallTable,
    resolver: Option<Arc<dyn TailCallResolver>>,
    step_limit: Option<u64>,
}

impl fmt::Debug for Interpreter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interpreter")
            .field("calls", &self.calls)
            .field("resolver", &self.resolver.as_ref().map(|_| "<dyn TailCallResolver>"))
            .field("step_limit", &self.step_limit)
            .finish()
    }
}

impl Interpreter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the hook run after helper and kfunc calls ([`AfterCall`]);
    /// JIT images compiled from now on call it too.
    pub fn set_after_call(&mut self, a: Option<crate::helpers::AfterCall>) {
        self.calls.after_call = a;
    }

    /// Registers helper `id` (`call id`, or `callx` with the id in a
    /// register). Id 12 (`bpf_tail_call`) is handled by the interpreter and
    /// never reaches a registered helper.
    pub fn register_helper(&mut self, id: i32, f: HelperFn) {
        self.calls.set_helper(id, f, false);
    }

    /// Registers helper `id` as one that calls back into the program with
    /// [`call_callback`](crate::call_callback) (`bpf_loop`,
    /// `bpf_for_each_map_elem`): its calls publish the run's re-entry
    /// context (see [`crate::callback`]); other helper calls do not pay for
    /// that.
    pub fn register_callback_helper(&mut self, id: i32, f: HelperFn) {
        self.calls.set_helper(id, f, true);
    }

    /// Registers a kfunc by BTF id (`call` with `src_reg = 2`). The module
    /// BTF slot (`off`) of the call is not consulted.
    pub fn register_kfunc(&mut self, btf_id: i32, f: HelperFn) {
        self.calls.set_kfunc(btf_id, f);
    }

    /// Sets who answers tail calls; without one every tail call fails.
    pub fn set_tail_call_resolver(&mut self, r: Arc<dyn TailCallResolver>) {
        self.resolver = Some(r);
    }

    /// Limits a run to `limit` executed instructions (across frames and
    /// tail calls); the next one fails with
    /// [`VmError::StepLimitExceeded`]. `None` (the default) is unlimited.
    pub fn set_step_limit(&mut self, limit: Option<u64>) {
        self.step_limit = limit;
    }

    /// Runs `prog` with `args` in r1..r5 (at most 5), validating every load,
    /// store and atomic: each must lie entirely inside one of `regions` (and
    /// be a read, or the region writable) or inside one active stack frame.
    /// Safe for any program.
    ///
    /// The region table is the caller's statement that those ranges are
    /// valid memory for the duration of the run (see [`MemRegion`]); the
    /// slice constructors of `MemRegion` make that a borrow.
    pub fn run_checked(&self, prog: &Program, args: &[u64], regions: &[MemRegion]) -> Result<u64, VmError> {
        self.checked(prog, args, regions, None)
    }

    /// [`run_checked`](Self::run_checked) with packet data for the legacy
    /// `LD_ABS`/`LD_IND` loads (which read the packet directly, as the kernel
    /// reads `skb->data`; add a region too if the program also reaches the
    /// packet through pointers).
    pub fn run_checked_with_packet(
        &self,
        prog: &Program,
        args: &[u64],
        regions: &[MemRegion],
        packet: &[u8],
    ) -> Result<u64, VmError> {
        self.checked(prog, args, regions, Some(packet))
    }

    /// Runs `prog` with `args` in r1..r5 and no per-access checks.
    ///
    /// # Safety
    /// Every load, store and atomic the program performs in this run must
    /// target memory valid for that access for the whole run (its stack,
    /// and memory reachable from the arguments or helper results), and every
    /// atomic must be naturally aligned — what the verifier proves of a
    /// loaded program.
    pub unsafe fn run_fast(&self, prog: &Program, args: &[u64]) -> Result<u64, VmError> {
        // SAFETY: forwarded contract.
        unsafe { self.fast(prog, args, None) }
    }

    /// [`run_fast`](Self::run_fast) with packet data for `LD_ABS`/`LD_IND`.
    ///
    /// # Safety
    /// As [`run_fast`](Self::run_fast).
    pub unsafe fn run_fast_with_packet(
        &self,
        prog: &Program,
        args: &[u64],
        packet: &[u8],
    ) -> Result<u64, VmError> {
        // SAFETY: forwarded contract.
        unsafe { self.fast(prog, args, Some(packet)) }
    }

    /// Like [`run_checked`](Self::run_checked), calling `f` before each
    /// executed instruction with its slot, the decoded instruction, r0..r10
    /// and the call depth.
    pub fn run_traced(
        &self,
        prog: &Program,
        args: &[u64],
        regions: &[MemRegion],
        f: &mut dyn FnMut(&TraceStep),
    ) -> Result<u64, VmError> {
        self.traced(prog, args, regions, None, f)
    }

    /// [`run_traced`](Self::run_traced) with packet data for `LD_ABS`/`LD_IND`.
    pub fn run_traced_with_packet(
        &self,
        prog: &Program,
        args: &[u64],
        regions: &[MemRegion],
        packet: &[u8],
        f: &mut dyn FnMut(&TraceStep),
    ) -> Result<u64, VmError> {
        self.traced(prog, args, regions, Some(packet), f)
    }

    /// The helper table (the JIT binds helper calls from it).
    pub(crate) fn calls(&self) -> &CallTable {
        &self.calls
    }

    /// The tail-call resolver (the JIT resolves tail calls through it).
    pub(crate) fn resolver(&self) -> Option<&dyn TailCallResolver> {
        self.resolver.as_deref()
    }

    fn ctx<'a>(&'a self, packet: Option<&'a [u8]>) -> RunCtx<'a> {
        RunCtx {
            calls: &self.calls,
            resolver: self.resolver.as_deref(),
            step_limit: self.step_limit.unwrap_or(u64::MAX),
            packet,
        }
    }

    /// Runs under `env`, counting steps only when a limit is set.
    ///
    /// # Safety
    /// As [`execute`].
    unsafe fn dispatch<E: Env>(
        &self,
        prog: &Program,
        args: &[u64],
        packet: Option<&[u8]>,
        env: &mut E,
    ) -> Result<u64, VmError> {
        let ctx = self.ctx(packet);
        // SAFETY: forwarded contract.
        unsafe {
            if self.step_limit.is_some() {
                execute::<E, true>(&ctx, prog, 0, args, env, &mut Nest::root())
            } else {
                execute::<E, false>(&ctx, prog, 0, args, env, &mut Nest::root())
            }
        }
    }

    fn checked(
        &self,
        prog: &Program,
        args: &[u64],
        regions: &[MemRegion],
        packet: Option<&[u8]>,
    ) -> Result<u64, VmError> {
        // SAFETY: the Checked environment validates every access against
        // the active stack frames (memory this run owns) and `regions`,
        // which by MemRegion's contract describe valid memory.
        unsafe { self.dispatch(prog, args, packet, &mut Checked::new(regions)) }
    }

    /// # Safety
    /// As [`run_fast`](Self::run_fast).
    unsafe fn fast(&self, prog: &Program, args: &[u64], packet: Option<&[u8]>) -> Result<u64, VmError> {
        // SAFETY: forwarded contract.
        unsafe { self.dispatch(prog, args, packet, &mut Fast) }
    }

    fn traced(
        &self,
        prog: &Program,
        args: &[u64],
        regions: &[MemRegion],
        packet: Option<&[u8]>,
        f: &mut dyn FnMut(&TraceStep),
    ) -> Result<u64, VmError> {
        let ctx = self.ctx(packet);
        let mut env = Traced::new(regions, f);
        // SAFETY: as in `checked`: the Traced environment validates every
        // access. Always counting keeps tracing to one instantiation; with no
        // limit the budget is u64::MAX.
        unsafe { execute::<_, true>(&ctx, prog, 0, args, &mut env, &mut Nest::root()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpreter_is_send_sync_and_debug() {
        fn check<T: Send + Sync + fmt::Debug>() {}
        check::<Interpreter>();
        let s = format!("{:?}", Interpreter::new());
        assert!(s.starts_with("Interpreter {"), "{s}");
    }
}
