//! The context a running program's helpers see: the kernel's `current`,
//! `smp_processor_id()`, the clocks and per-CPU state, as of the moment the
//! program was started.
//!
//! Helpers are plain `extern "C"` functions (the JIT and the interpreter
//! call them with r1–r5 only), so the kernel publishes the run's context in
//! a thread-local for the duration of the run — the emulator's stand-in for
//! per-CPU variables and `current`. The context is owned by value while the
//! program runs and handed back afterwards with whatever the helpers
//! changed (RNG state, trace output), so no pointer into the kernel escapes.

use crate::sim::rng::SimRng;
use std::cell::RefCell;

/// What helpers read (and the little they write) during one program run.
#[derive(Debug, Clone)]
pub struct RunCtx {
    /// `smp_processor_id()` of the CPU the program runs on.
    pub cpu: u32,
    /// Number of possible CPUs (`num_possible_cpus()`): per-CPU maps hold one
    /// value per CPU.
    pub nr_cpus: u32,
    /// `ktime_get_ns()`: monotonic virtual time.
    pub now_ns: u64,
    /// `ktime_get_boot_ns()`: monotonic time including suspend.
    pub boot_ns: u64,
    /// `ktime_get_coarse_ns()`: time at the last tick.
    pub coarse_ns: u64,
    /// `bpf_get_current_pid_tgid()`: tgid in the upper 32 bits, pid below.
    pub pid_tgid: u64,
    /// `bpf_get_current_uid_gid()`: gid in the upper 32 bits, uid below.
    pub uid_gid: u64,
    /// `current->comm`, NUL-padded.
    pub comm: [u8; 16],
    /// This CPU's `bpf_get_prandom_u32()` state.
    pub rng: SimRng,
    /// Lines written by `bpf_trace_printk()` during the run, in order.
    pub trace: Vec<String>,
}

thread_local! {
    static CURRENT: RefCell<Option<RunCtx>> = const { RefCell::new(None) };
}

/// Runs `f` with `ctx` published to helpers; returns `f`'s result and the
/// context as the helpers left it. Runs nest (a helper may run a callback
/// program): the outer context is restored afterwards.
pub fn enter<R>(ctx: RunCtx, f: impl FnOnce() -> R) -> (R, RunCtx) {
    let outer = CURRENT.with_borrow_mut(|c| c.replace(ctx));
    let r = f();
    let ctx = CURRENT.with_borrow_mut(|c| std::mem::replace(c, outer));
    (r, ctx.expect("run context present until the run ends"))
}

/// Calls `f` with the current run's context, or returns `None` when no
/// program is running on this thread (a helper called from outside a run).
pub fn with<R>(f: impl FnOnce(&mut RunCtx) -> R) -> Option<R> {
    CURRENT.with_borrow_mut(|c| c.as_mut().map(f))
}

/// `smp_processor_id()` of the running program, 0 outside a run.
pub fn this_cpu() -> u32 {
    with(|c| c.cpu).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(cpu: u32) -> RunCtx {
        RunCtx {
            cpu,
            nr_cpus: 4,
            now_ns: 0,
            boot_ns: 0,
            coarse_ns: 0,
            pid_tgid: 0,
            uid_gid: 0,
            comm: [0; 16],
            rng: SimRng::new(1),
            trace: Vec::new(),
        }
    }

    #[test]
    fn nested_runs_restore_the_outer_context() {
        assert_eq!(this_cpu(), 0);
        assert!(with(|_| ()).is_none());
        let ((), out) = enter(ctx(2), || {
            assert_eq!(this_cpu(), 2);
            let ((), inner) = enter(ctx(3), || {
                assert_eq!(this_cpu(), 3);
                with(|c| c.trace.push("inner".into()));
            });
            assert_eq!(inner.trace, vec!["inner".to_string()]);
            assert_eq!(this_cpu(), 2);
            with(|c| c.trace.push("outer".into()));
        });
        assert_eq!(out.trace, vec!["outer".to_string()]);
        assert!(with(|_| ()).is_none());
    }
}
