//! Running a loaded program (`bpf_prog_run()` in include/linux/filter.h
//! with the statistics of `__bpf_prog_run()`'s `bpf_prog_stats`).
//!
//! A run builds an [`Interpreter`] with every implemented helper
//! ([`crate::helpers::register_all`]) and a tail-call resolver over the
//! program's prog-array maps, publishes the run context for the helpers
//! ([`crate::runctx`]), runs, and appends the helpers' trace output to the
//! kernel's trace pipe.
//!
//! **Mode.** Verified programs run in the interpreter's fast mode (no
//! per-access checks: the verifier proved every access). Unverified programs
//! run in checked mode: every access must lie in the caller's regions (ctx,
//! packet data), the program's stack, or the value memory of a map the
//! program uses ([`crate::map::MapOps::value_regions`]), and a run is cut
//! off after [`UNVERIFIED_STEP_LIMIT`] instructions (nothing proved it
//! terminates).
//!
//! **JIT.** A verified program jited at load ([`crate::bpf::jit`], knob
//! `bpf_jit_enable`) runs its native image instead of the fast interpreter,
//! with the same helpers, run context and accounting; the JIT reproduces
//! the fast interpreter's results (docs/jit.md). Paranoid mode and
//! unverified programs always use the interpreter.
//!
//! **Paranoid mode** ([`Kernel::set_paranoid`], off by default; the
//! soundness fuzzer's switch, no kernel counterpart): verified programs run
//! in checked mode too, under the same step limit, and their helpers
//! validate every pointer as for an unverified program. A verified program
//! whose run fails there is a verifier (or helper) soundness bug: the run
//! still fails as any other, and the failure is also recorded as a
//! [`SoundnessViolation`] ([`Kernel::take_soundness_violations`]) so that
//! callers going through `BPF_PROG_TEST_RUN` (which only sees `EFAULT`)
//! can tell it apart. Limitation: a helper refusing a bad pointer of a
//! verified program answers `-EFAULT` to the program like the kernel's
//! `*_nofault` accessors, and is not recorded.
//!
//! Limitation (checked mode): the region table is fixed when the run starts,
//! so values of maps used only by tail-called programs are not reachable in
//! checked mode (their prog arrays are: see `UsedMapsResolver`).
//!
//! **Errors.** The kernel has no run-time failures (the verifier rules
//! them out); here a [`VmError`] (memory violation, unknown helper, step
//! limit, ...) becomes `EFAULT` in [`Kernel::run_prog`];
//! [`Kernel::run_prog_vm`] keeps the error for callers that report it. A
//! failed run is still accounted.
//!
//! **Virtual time.** The interpreter does not report executed steps, so a
//! run costs a fixed [`NS_PER_INSN`] × the program's length in
//! instructions: deterministic, and proportional to program size. Runs do
//! not advance the virtual clock (a program runs "instantly" at the time
//! it starts); they only add to `run_time_ns`.

use super::prog::Prog;
#[cfg(test)]
use super::prog::ProgParts;
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::map::Map;
use bpfemu_vm::{Interpreter, MemRegion, Program, TailCallResolver, VmError};
use parking_lot::Mutex;
use std::sync::Arc;

/// How verified programs run (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExecMode {
    /// Verified programs run unchecked, as the kernel runs them.
    #[default]
    Trusting,
    /// Verified programs run checked; their failures are recorded.
    Paranoid,
}

/// A run of a verified program that failed in paranoid mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoundnessViolation {
    pub prog_id: u32,
    pub prog_name: String,
    /// What the checked interpreter caught.
    pub error: VmError,
}

/// The kernel's execution policy: the mode, `bpf_jit_enable`
/// ([`crate::bpf::jit`]), and the violations paranoid runs found since they
/// were last taken.
#[derive(Clone, Debug)]
pub struct ExecPolicy {
    pub mode: ExecMode,
    /// `net.core.bpf_jit_enable`: on by default where there is a JIT.
    pub jit_enable: bool,
    pub violations: Vec<SoundnessViolation>,
}

impl Default for ExecPolicy {
    fn default() -> Self {
        ExecPolicy {
            mode: ExecMode::default(),
            jit_enable: crate::bpf::jit::JIT_AVAILABLE,
            violations: Vec::new(),
        }
    }
}

/// Instruction budget of one run of an unverified program (the verifier's
/// own budget, `BPF_COMPLEXITY_LIMIT_INSNS`, times 16).
pub const UNVERIFIED_STEP_LIMIT: u64 = 16_000_000;

/// Virtual nanoseconds charged per instruction of the program per run.
pub const NS_PER_INSN: u64 = 1;

/// Resolves tail calls: r2 holds the address of a prog-array map
/// ([`Map::addr`]). Only maps held by the running chain can be found — the
/// entry program's `used_maps`, plus those of every program a tail call
/// reached (its own tail calls use its own maps) — so an address is only
/// ever compared, never dereferenced.
struct UsedMapsResolver {
    maps: Mutex<Vec<Arc<Map>>>,
}

impl TailCallResolver for UsedMapsResolver {
    fn resolve(&self, map: u64, index: u64) -> Option<Arc<Program>> {
        let mut maps = self.maps.lock();
        let m = maps.iter().find(|m| m.addr() == map)?;
        let prog = m.ops.prog_at(index)?;
        for used in &prog.used_maps {
            if !maps.iter().any(|m| Arc::ptr_eq(m, used)) {
                maps.push(used.clone());
            }
        }
        Some(prog.image.clone())
    }
}

/// Checked-mode regions of a map's value memory.
#[allow(unsafe_code)]
fn map_value_regions(map: &Map) -> Vec<MemRegion<'_>> {
    map.ops
        .value_regions()
        .into_iter()
        .map(|(start, len, writable)| {
            // SAFETY: `MapOps::value_regions` reports memory the map owns
            // and never moves for its lifetime; the returned regions borrow
            // `map`, so they cannot outlive it. Rust code does not hold
            // references into map values while a program runs (values are
            // reached through raw addresses, ARCHITECTURE.md "Memory model").
            unsafe { MemRegion::from_raw(format!("map[{}]", map.id), start, len, writable) }
        })
        .collect()
}

/// Runs `prog` on this thread with the run context already published:
/// the JIT image or the interpreter (fast when `fast`, else checked against
/// `all` with the step limit).
#[allow(unsafe_code)]
fn exec(prog: &Arc<Prog>, args: &[u64], all: &[MemRegion<'_>], fast: bool) -> Result<u64, VmError> {
    #[cfg(target_arch = "x86_64")]
    if fast && let Some(jit) = prog.jited() {
        // SAFETY: as for `run_fast` below (the JIT's `run` has the same
        // contract); the image was compiled from this verified program's
        // `image`.
        return unsafe { jit.run(args) };
    }
    let image = prog.image.clone();
    let mut vm = Interpreter::new();
    crate::helpers::register_all(&mut vm);
    vm.set_tail_call_resolver(Arc::new(UsedMapsResolver { maps: Mutex::new(prog.run_maps().into_owned()) }));
    if !fast {
        vm.set_step_limit(Some(UNVERIFIED_STEP_LIMIT));
    }
    if fast {
        // SAFETY: `prog` passed the verifier, which proved that every
        // access it makes targets its stack, its ctx (the caller's
        // `regions`), or memory helpers hand it (map values the map keeps
        // alive while the program holds the map), and that atomics are
        // aligned: `run_fast`'s contract.
        unsafe { vm.run_fast(&image, args) }
    } else {
        vm.run_checked(&image, args, all)
    }
}

/// Runs `prog` nested inside the program run of this thread, as an
/// interrupt on the same CPU does (an NMI a scenario injects at a
/// preemption point): a context derived from the interrupted run's (same
/// CPU, clocks, task, preemption-point hooks), in NMI context when `nmi`,
/// with `regions` (its ctx) and its own maps; its trace lines join the
/// interrupted run's. `fast` as in [`Kernel::run_prog_vm`]. `Err(None)`
/// when no run is in progress on this thread.
pub fn run_nested(
    prog: &Arc<Prog>,
    args: &[u64],
    regions: &[MemRegion<'_>],
    fast: bool,
    nmi: bool,
) -> Result<u64, Option<VmError>> {
    let Some(mut rctx) = crate::runctx::with(|c| c.clone()) else { return Err(None) };
    rctx.nmi = nmi;
    let (result, ctx) = run_with_ctx(prog, args, regions, rctx, fast);
    crate::runctx::with(|c| c.trace.extend(ctx.trace));
    result.map_err(Some)
}

/// Runs `prog` on this thread with a context built from `base` (its CPU,
/// clocks, task, flags), the program's maps and `regions`: what a CPU of
/// concurrent mode does (benchmarks and stress tests run programs from
/// several threads this way, without the `Kernel`). Returns the result and
/// the context as the helpers left it (its trace lines).
pub fn run_with_ctx(
    prog: &Arc<Prog>,
    args: &[u64],
    regions: &[MemRegion<'_>],
    base: crate::runctx::RunCtx,
    fast: bool,
) -> (Result<u64, VmError>, crate::runctx::RunCtx) {
    let mut rctx = base;
    let tasks = rctx.tasks.clone();
    let maps = prog.run_maps();
    let mut all: Vec<MemRegion<'_>> = regions.to_vec();
    all.extend(tasks.as_ref().map(|t| t.region()));
    for map in maps.iter() {
        all.extend(map_value_regions(map));
    }
    rctx.verified = fast;
    rctx.trace.clear();
    rctx.regions.clear();
    rctx.spin_lock_held = None;
    rctx.maps = maps.to_vec();
    for r in &all {
        rctx.add_region(r.start(), r.len(), r.is_writable());
    }
    let out = crate::runctx::enter(rctx, || exec(prog, args, &all, fast));
    prog.account_run(Kernel::prog_run_cost(prog));
    out
}

impl Kernel {
    /// Turns paranoid mode on or off (see the module docs).
    pub fn set_paranoid(&mut self, on: bool) {
        self.exec.mode = if on { ExecMode::Paranoid } else { ExecMode::Trusting };
    }

    /// Whether paranoid mode is on.
    pub fn paranoid(&self) -> bool {
        self.exec.mode == ExecMode::Paranoid
    }

    /// The soundness violations recorded since the last call, oldest first.
    pub fn take_soundness_violations(&mut self) -> Vec<SoundnessViolation> {
        std::mem::take(&mut self.exec.violations)
    }

    /// Runs `prog` once with `args` in r1..r5 and `regions` (the ctx and
    /// data buffers of this run) valid; the program's return value (r0), or
    /// `EFAULT` if the run failed (see the module docs).
    pub fn run_prog(
        &mut self,
        prog: &Arc<Prog>,
        args: &[u64],
        regions: &[MemRegion<'_>],
    ) -> Result<u64, Errno> {
        self.run_prog_vm(prog, args, regions).map_err(|_| Errno::EFAULT)
    }

    /// [`Kernel::run_prog`] with the interpreter's error.
    pub fn run_prog_vm(
        &mut self,
        prog: &Arc<Prog>,
        args: &[u64],
        regions: &[MemRegion<'_>],
    ) -> Result<u64, VmError> {
        self.run_prog_as(prog, args, regions, false)
    }

    /// [`Kernel::run_prog_vm`]; `probe`: the program runs as a raw
    /// tracepoint probe (its `prog->active` set during the run).
    pub(crate) fn run_prog_as(
        &mut self,
        prog: &Arc<Prog>,
        args: &[u64],
        regions: &[MemRegion<'_>],
        probe: bool,
    ) -> Result<u64, VmError> {
        self.run_prog_with_seq(prog, args, regions, probe, None).0
    }

    /// [`Kernel::run_prog_as`] with `seq` as the run's seq_file buffer
    /// (an iterator program's run: `bpf_seq_printf` prints into it);
    /// the buffer as the run left it.
    pub(crate) fn run_prog_with_seq(
        &mut self,
        prog: &Arc<Prog>,
        args: &[u64],
        regions: &[MemRegion<'_>],
        probe: bool,
        seq: Option<crate::iter::seq::SeqBuf>,
    ) -> (Result<u64, VmError>, Option<crate::iter::seq::SeqBuf>) {
        let paranoid = self.paranoid();
        let fast = prog.verified && !paranoid;
        let tasks = crate::kfuncs::task::TaskTable::for_prog(prog, &self.sim.procs);
        let maps = prog.run_maps();
        let mut all: Vec<MemRegion<'_>> = regions.to_vec();
        all.extend(tasks.as_ref().map(|t| t.region()));
        for map in maps.iter() {
            all.extend(map_value_regions(map));
        }
        // What the helpers may touch: the same regions, and the maps the
        // program holds (map helpers find maps by address among these).
        let mut rctx = self.run_ctx();
        rctx.verified = fast;
        if probe {
            rctx.probe_active.push(prog.id);
        }
        rctx.maps = maps.to_vec();
        rctx.tasks = tasks.clone();
        rctx.seq = seq;
        for r in &all {
            rctx.add_region(r.start(), r.len(), r.is_writable());
        }
        let (result, mut ctx) = crate::runctx::enter(rctx, || exec(prog, args, &all, fast));
        let seq = ctx.seq.take();
        self.trace_pipe.extend(ctx.trace);
        prog.account_run(Self::prog_run_cost(prog));
        if paranoid
            && prog.verified
            && let Err(error) = &result
        {
            self.exec.violations.push(SoundnessViolation {
                prog_id: prog.id,
                prog_name: prog.name.clone(),
                error: error.clone(),
            });
        }
        (result, seq)
    }

    /// The virtual duration one run of `prog` is charged.
    pub fn prog_run_cost(prog: &Prog) -> u64 {
        NS_PER_INSN * prog.xlated.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::KernelConfig;
    use crate::testutil::prog_parts;
    use crate::uapi::ProgType;
    use bpfemu_isa::asm::kernel::assemble;

    /// A program reading 8 bytes at address 8 (no region holds it).
    fn wild(verified: bool) -> Arc<Prog> {
        let insns = assemble("r1 = 8\nr0 = *(u64 *)(r1 +0)\nexit").unwrap();
        let image = Arc::new(Program::new(&insns).unwrap());
        let parts = prog_parts(ProgType::Syscall, "wild", vec![]);
        Arc::new(Prog::new(7, ProgParts { insns: insns.clone(), xlated: insns, image, verified, ..parts }))
    }

    #[test]
    fn paranoid_mode_runs_verified_programs_checked_and_records_their_faults() {
        let mut k = Kernel::new(KernelConfig::default());
        assert!(!k.paranoid());
        k.set_paranoid(true);
        let err = k.run_prog_vm(&wild(true), &[], &[]).unwrap_err();
        assert!(matches!(err, VmError::MemoryViolation { pc: 1, addr: 8, .. }), "{err}");
        let v = k.take_soundness_violations();
        assert_eq!(v.len(), 1);
        assert_eq!((v[0].prog_id, v[0].prog_name.as_str(), &v[0].error), (7, "wild", &err));
        assert!(k.take_soundness_violations().is_empty());
        // An unverified program failing is no soundness bug.
        assert_eq!(k.run_prog(&wild(false), &[], &[]), Err(Errno::EFAULT));
        assert!(k.take_soundness_violations().is_empty());
        // A verified program that runs cleanly records nothing.
        let insns = assemble("r0 = 3\nexit").unwrap();
        let parts = prog_parts(ProgType::Syscall, "ok", vec![]);
        let image = Arc::new(Program::new(&insns).unwrap());
        let ok = Arc::new(Prog::new(8, ProgParts { xlated: insns, image, verified: true, ..parts }));
        assert_eq!(k.run_prog(&ok, &[], &[]), Ok(3));
        k.set_paranoid(false);
        assert_eq!(k.run_prog(&ok, &[], &[]), Ok(3));
        assert!(k.take_soundness_violations().is_empty());
    }
}
