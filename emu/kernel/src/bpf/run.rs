//! Running a loaded program (`bpf_prog_run()` in include/linux/filter.h
//! with the statistics of `__bpf_prog_run()`'s `bpf_prog_stats`).
//!
//! A run builds an [`Interpreter`] with every implemented helper
//! ([`crate::helpers::register_all`]) and a tail-call resolver over the
//! program's prog-array maps, publishes the run context for the helpers
//! ([`crate::runctx`]), runs, and appends the helpers' trace output to the
//! kernel's trace pipe.
//!
//! **Mode.** Every program runs in checked mode, verified or not (the
//! fast mode and the JIT are not wired in yet; only helpers trust a verified
//! program's pointer arguments, [`crate::runctx`]): every access must lie in the caller's regions (ctx,
//! packet data), the program's stack, or the value memory of a map the
//! program uses ([`crate::map::MapOps::value_regions`]), and a run is cut
//! off after [`UNVERIFIED_STEP_LIMIT`] instructions (for test fixtures that
//! skip the verifier, whose termination nothing proved). Limitation: the region table is fixed when the run starts,
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
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::map::Map;
use bpfemu_vm::{Interpreter, MemRegion, Program, TailCallResolver, VmError};
use parking_lot::Mutex;
use std::sync::Arc;

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

impl Kernel {
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
        let mut vm = Interpreter::new();
        crate::helpers::register_all(&mut vm);
        vm.set_tail_call_resolver(Arc::new(UsedMapsResolver { maps: Mutex::new(prog.used_maps.clone()) }));
        vm.set_step_limit(Some(UNVERIFIED_STEP_LIMIT));

        let mut all: Vec<MemRegion<'_>> = regions.to_vec();
        for map in &prog.used_maps {
            all.extend(map_value_regions(map));
        }
        // What the helpers may touch: the same regions, and the maps the
        // program holds (map helpers find maps by address among these).
        let mut rctx = self.run_ctx();
        rctx.verified = prog.verified;
        rctx.maps = prog.used_maps.clone();
        for r in &all {
            rctx.add_region(r.start(), r.len(), r.is_writable());
        }
        let image = prog.image.clone();
        let (result, ctx) = crate::runctx::enter(rctx, || vm.run_checked(&image, args, &all));
        self.trace_pipe.extend(ctx.trace);
        prog.account_run(Self::prog_run_cost(prog));
        result
    }

    /// The virtual duration one run of `prog` is charged.
    pub fn prog_run_cost(prog: &Prog) -> u64 {
        NS_PER_INSN * prog.xlated.len() as u64
    }
}
