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
//!
//! **Guest memory.** Helpers receive guest pointers (host addresses). For a
//! verified program ([`RunCtx::verified`]) the verifier has proven every
//! pointer argument whose prototype type is a pointer type; for an
//! unverified one (checked mode) helpers validate each pointer and size
//! against [`RunCtx::regions`] and fail with `-EFAULT` instead of touching
//! memory outside it. Pointers the verifier never proves (the source of
//! `bpf_probe_read_*`, `%s` arguments of `bpf_trace_printk`) are validated
//! against the table in both modes.

use crate::map::Map;
use crate::sim::preempt::RunPoints;
use crate::sim::rng::SimRng;
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A range of guest memory helpers may access during a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestRegion {
    pub start: u64,
    pub len: u64,
    pub writable: bool,
}

impl GuestRegion {
    /// Whether `[addr, addr+len)` lies inside the region (a zero-length
    /// access at its end included).
    pub fn contains(&self, addr: u64, len: u64) -> bool {
        addr >= self.start
            && u128::from(addr) + u128::from(len) <= u128::from(self.start) + u128::from(self.len)
    }
}

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
    /// `get_jiffies_64()`: ticks since boot, from `INITIAL_JIFFIES`.
    pub jiffies: u64,
    /// `bpf_get_current_pid_tgid()`: tgid in the upper 32 bits, pid below.
    pub pid_tgid: u64,
    /// `bpf_get_current_uid_gid()`: gid in the upper 32 bits, uid below.
    pub uid_gid: u64,
    /// `current->comm`, NUL-padded.
    pub comm: [u8; 16],
    /// This CPU's `bpf_get_prandom_u32()` state.
    pub rng: SimRng,
    /// Lines written by `bpf_trace_printk()` during the run, in order, as
    /// the trace pipe shows them (see [`crate::helpers::trace`]).
    pub trace: Vec<String>,
    /// Whether the running program passed the verifier: helpers then trust
    /// pointer arguments the verifier checks (see the module doc).
    pub verified: bool,
    /// Guest memory valid for this run. Filled by whoever starts the run
    /// (the program runner: the ctx buffer, the interpreter's stack when it
    /// is exposed, map values, packet data, kernel objects handed to the
    /// program) with [`RunCtx::add_region`]; `bpf_map_lookup_elem` adds the
    /// value it returns. The interpreter's stack is not known here unless
    /// the runner registers it: an unverified program passing stack
    /// pointers to helpers gets `-EFAULT` otherwise.
    pub regions: Vec<GuestRegion>,
    /// Maps the program may name in r1 of map helpers (its `used_maps`,
    /// provided by the runner; inner maps found by lookups are added). A
    /// map helper finds its map here by [`Map::addr`], so no map pointer is
    /// ever dereferenced.
    pub maps: Vec<Arc<Map>>,
    /// Address of the `bpf_spin_lock` this run holds, if any (the verifier
    /// allows one at a time).
    pub spin_lock_held: Option<u64>,
    /// `in_nmi()`: the run is in NMI context (a perf-event overflow or an
    /// NMI a scenario injected at a preemption point).
    pub nmi: bool,
    /// Hooks of preemption points hit inside the run (see
    /// [`crate::sim::preempt::RunPoints`]); `None`: points only count
    /// nothing.
    pub points: Option<Arc<RunPoints>>,
    /// The tasks kfuncs may hand out (`bpf_task_from_pid`), when the
    /// program calls kfuncs (see [`crate::kfuncs::task`]).
    pub tasks: Option<Arc<crate::kfuncs::task::TaskTable>>,
    /// Who lets other simulated CPUs run at this run's interleaving points
    /// ([`after_call`]); `None` for runs that run to completion.
    pub switcher: Option<Arc<dyn Switcher>>,
    /// The programs attached to raw tracepoints, for tracepoints fired
    /// inside a run (`bpf_trace_printk`; [`crate::tracepoint::run`]).
    pub raw_tps: Option<Arc<crate::tracepoint::link::RawTracepoints>>,
    /// Ids of the programs running as raw tracepoint probes in this run's
    /// nesting on this CPU (their `prog->active` is set): a tracepoint
    /// fired inside skips them (`recursion_misses`).
    pub probe_active: Vec<u32>,
    /// The seq_file buffer an iterator program prints into
    /// (`bpf_seq_printf`, `bpf_seq_write`), during the runs of an
    /// iterator read ([`crate::iter::seq`]).
    pub seq: Option<crate::iter::seq::SeqBuf>,
}

/// Interleaves a run with work on other simulated CPUs: a `concurrent`
/// block of a scenario runs programs of several branches "at once" and
/// lets its seeded scheduler decide, at each interleaving point, which
/// branch goes on.
///
/// The interleaving points are the returns from helper and kfunc calls
/// (not those of helpers taking callbacks, whose callbacks' calls are
/// points themselves): both engines reach them in the same order, so a
/// seed gives the same interleaving under the interpreter and the JIT. No
/// point is taken while the run holds a `bpf_spin_lock` (the other CPU
/// would spin on it) or in NMI context. On real hardware the CPUs also
/// interleave between any two instructions; bpfemu's points are coarser.
pub trait Switcher: Send + Sync + std::fmt::Debug {
    /// Lets other CPUs run; returns when this run is to go on.
    fn switch(&self);
}

/// Set while any run has a [`Switcher`]: the engines only call
/// [`after_call`] then (see [`bpfemu_vm::AfterCall`]).
pub static SWITCHING: AtomicBool = AtomicBool::new(false);
static SWITCHING_RUNS: AtomicUsize = AtomicUsize::new(0);

/// Keeps [`SWITCHING`] set while alive.
#[derive(Debug)]
pub struct SwitchingArmed(());

impl SwitchingArmed {
    pub fn new() -> SwitchingArmed {
        SWITCHING_RUNS.fetch_add(1, Ordering::SeqCst);
        SWITCHING.store(true, Ordering::SeqCst);
        SwitchingArmed(())
    }
}

impl Default for SwitchingArmed {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for SwitchingArmed {
    fn drop(&mut self) {
        if SWITCHING_RUNS.fetch_sub(1, Ordering::SeqCst) == 1 {
            SWITCHING.store(false, Ordering::SeqCst);
        }
    }
}

/// The engines' after-call hook: an interleaving point of the run on this
/// thread, if it has a [`Switcher`] and holds no spin lock.
pub extern "C" fn after_call() {
    let s = with(|c| if c.spin_lock_held.is_none() && !c.nmi { c.switcher.clone() } else { None }).flatten();
    if let Some(s) = s {
        s.switch();
    }
}

impl RunCtx {
    /// A context with no task (pid/uid 0, empty comm), the given CPU and RNG
    /// seed, clocks at 0, no regions and no maps; unverified.
    pub fn new(cpu: u32, nr_cpus: u32, rng: SimRng) -> RunCtx {
        RunCtx {
            cpu,
            nr_cpus,
            now_ns: 0,
            boot_ns: 0,
            coarse_ns: 0,
            jiffies: 0,
            pid_tgid: 0,
            uid_gid: 0,
            comm: [0; 16],
            rng,
            trace: Vec::new(),
            verified: false,
            regions: Vec::new(),
            maps: Vec::new(),
            spin_lock_held: None,
            nmi: false,
            points: None,
            tasks: None,
            switcher: None,
            raw_tps: None,
            probe_active: Vec::new(),
            seq: None,
        }
    }

    /// Declares `[start, start+len)` valid guest memory for this run.
    pub fn add_region(&mut self, start: u64, len: u64, writable: bool) {
        let r = GuestRegion { start, len, writable };
        if !self.regions.contains(&r) {
            self.regions.push(r);
        }
    }

    /// Withdraws a region [`RunCtx::add_region`] declared (memory a helper
    /// lent for part of the run).
    pub fn remove_region(&mut self, start: u64, len: u64, writable: bool) {
        let r = GuestRegion { start, len, writable };
        self.regions.retain(|x| *x != r);
    }

    /// Declares `data` readable guest memory (a convenience for tests and
    /// runners that own the buffer for the run).
    pub fn add_slice(&mut self, data: &[u8]) {
        self.add_region(data.as_ptr().expose_provenance() as u64, data.len() as u64, false);
    }

    /// Declares `data` writable guest memory.
    pub fn add_mut_slice(&mut self, data: &mut [u8]) {
        self.add_region(data.as_mut_ptr().expose_provenance() as u64, data.len() as u64, true);
    }

    /// Makes `map` reachable from map helpers during this run.
    pub fn add_map(&mut self, map: Arc<Map>) {
        if !self.maps.iter().any(|m| Arc::ptr_eq(m, &map)) {
            self.maps.push(map);
        }
    }

    /// The map whose [`Map::addr`] is `addr`.
    pub fn map_at(&self, addr: u64) -> Option<Arc<Map>> {
        self.maps.iter().find(|m| m.addr() == addr).cloned()
    }
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

/// Runs `f` as if a program were running on `cpu` (for unit tests of
/// per-CPU code).
#[cfg(test)]
pub(crate) fn on_cpu_for_test<R>(cpu: u32, nr_cpus: u32, f: impl FnOnce() -> R) -> R {
    enter(RunCtx::new(cpu, nr_cpus, SimRng::new(1)), f).0
}

/// Hits the named preemption point `point` from inside a run: its hooks
/// run now, nested (see [`RunPoints`]). Returns how many ran.
pub fn preempt_point(point: &str) -> usize {
    match with(|c| c.points.clone()).flatten() {
        Some(p) => p.fire(point),
        None => 0,
    }
}

/// `smp_processor_id()` of the running program, 0 outside a run.
pub fn this_cpu() -> u32 {
    with(|c| c.cpu).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(cpu: u32) -> RunCtx {
        RunCtx::new(cpu, 4, SimRng::new(1))
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
