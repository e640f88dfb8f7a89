//! The three execution environments the run loop is monomorphised over:
//! [`Fast`] (no checks: the kernel's situation after verification),
//! [`Checked`] (every access validated, a sanitizer) and [`Traced`]
//! (checked, plus a callback before each instruction). Fast mode pays
//! nothing for the other two: its hooks are empty and inline away.

use crate::error::VmError;
use crate::mem::{Checker, MAX_EXTRA, MemRegion};
use crate::program::Program;
use bpfemu_isa::Instruction;

/// One executed instruction, as the tracing callback sees it before the
/// instruction runs.
#[derive(Clone, Copy, Debug)]
pub struct TraceStep<'a> {
    /// Slot index in the program executing (after a tail call: the target).
    pub pc: usize,
    pub insn: &'a Instruction,
    /// r0..r10.
    pub regs: &'a [u64; 11],
    /// Call depth: 0 in the main frame, +1 per bpf2bpf call and per
    /// callback level (a callback's first frame is one below its caller's
    /// frame).
    pub frame: usize,
}

/// Hooks of the run loop. An environment whose `check`/`check_atomic`
/// accept everything ([`Fast`]) leaves memory safety to `run_fast`'s contract.
pub(crate) trait Env {
    /// Called once the run's stack exists.
    fn begin(&mut self, stack_top: u64);

    fn check(&self, pc: usize, addr: u64, size: u64, write: bool, depth: usize) -> Result<(), VmError>;

    fn check_atomic(&self, pc: usize, addr: u64, size: u64, depth: usize) -> Result<(), VmError>;

    fn trace(&mut self, pc: usize, prog: &Program, regs: &[u64; 11], depth: usize);

    /// What [`Env::suspend`] saves.
    type Saved: Copy;

    /// Before a callback's nested run: `windows` (`(start, len, writable)`)
    /// become accessible too, the nested run's `begin` may move the stack,
    /// and its frame 0 is frame `base` of the whole call chain. Not on any
    /// per-instruction path.
    fn suspend(&mut self, windows: &[(u64, u64, bool)], base: usize) -> Self::Saved;

    /// After the nested run: back to the state `suspend` saved.
    fn resume(&mut self, saved: Self::Saved);
}

/// No checks, no tracing.
pub(crate) struct Fast;

impl Env for Fast {
    #[inline(always)]
    fn begin(&mut self, _: u64) {}

    #[inline(always)]
    fn check(&self, _: usize, _: u64, _: u64, _: bool, _: usize) -> Result<(), VmError> {
        Ok(())
    }

    #[inline(always)]
    fn check_atomic(&self, _: usize, _: u64, _: u64, _: usize) -> Result<(), VmError> {
        Ok(())
    }

    #[inline(always)]
    fn trace(&mut self, _: usize, _: &Program, _: &[u64; 11], _: usize) {}

    type Saved = ();

    fn suspend(&mut self, _: &[(u64, u64, bool)], _: usize) {}

    fn resume(&mut self, _: ()) {}
}

/// Every access validated against the regions and the active stack frames.
pub(crate) struct Checked<'r> {
    checker: Checker<'r>,
}

impl<'r> Checked<'r> {
    pub(crate) fn new(regions: &'r [MemRegion<'r>]) -> Self {
        Checked { checker: Checker { regions, stack_top: 0, extra: [(0, 0, false); MAX_EXTRA], n_extra: 0 } }
    }
}

impl Env for Checked<'_> {
    fn begin(&mut self, stack_top: u64) {
        self.checker.stack_top = stack_top;
    }

    #[inline(always)]
    fn check(&self, pc: usize, addr: u64, size: u64, write: bool, depth: usize) -> Result<(), VmError> {
        self.checker.check(pc, addr, size, write, depth)
    }

    #[inline(always)]
    fn check_atomic(&self, pc: usize, addr: u64, size: u64, depth: usize) -> Result<(), VmError> {
        self.checker.check_atomic(pc, addr, size, depth)
    }

    #[inline(always)]
    fn trace(&mut self, _: usize, _: &Program, _: &[u64; 11], _: usize) {}

    type Saved = (u64, usize);

    fn suspend(&mut self, windows: &[(u64, u64, bool)], _: usize) -> (u64, usize) {
        let c = &mut self.checker;
        let saved = (c.stack_top, c.n_extra);
        for &w in windows {
            // Nesting is bounded by MAX_CALL_FRAMES, and each level adds at
            // most two windows, so there is always room.
            if c.n_extra < MAX_EXTRA {
                c.extra[c.n_extra] = w;
                c.n_extra += 1;
            }
        }
        saved
    }

    fn resume(&mut self, (top, n): (u64, usize)) {
        self.checker.stack_top = top;
        self.checker.n_extra = n;
    }
}

/// Checked, and reports each instruction to a callback.
pub(crate) struct Traced<'r, 'f> {
    checked: Checked<'r>,
    f: &'f mut dyn FnMut(&TraceStep),
    /// Frames used by the runs a callback run is nested in.
    base: usize,
}

impl<'r, 'f> Traced<'r, 'f> {
    pub(crate) fn new(regions: &'r [MemRegion<'r>], f: &'f mut dyn FnMut(&TraceStep)) -> Self {
        Traced { checked: Checked::new(regions), f, base: 0 }
    }
}

impl Env for Traced<'_, '_> {
    fn begin(&mut self, stack_top: u64) {
        self.checked.begin(stack_top);
    }

    #[inline(always)]
    fn check(&self, pc: usize, addr: u64, size: u64, write: bool, depth: usize) -> Result<(), VmError> {
        self.checked.check(pc, addr, size, write, depth)
    }

    #[inline(always)]
    fn check_atomic(&self, pc: usize, addr: u64, size: u64, depth: usize) -> Result<(), VmError> {
        self.checked.check_atomic(pc, addr, size, depth)
    }

    fn trace(&mut self, pc: usize, prog: &Program, regs: &[u64; 11], depth: usize) {
        // The sentinel after the last slot has no instruction: not traced.
        if let Some(insn) = prog.instrs().get(pc) {
            (self.f)(&TraceStep { pc, insn, regs, frame: self.base + depth });
        }
    }

    type Saved = ((u64, usize), usize);

    fn suspend(&mut self, windows: &[(u64, u64, bool)], base: usize) -> ((u64, usize), usize) {
        let saved = (self.checked.suspend(windows, base), self.base);
        self.base = base;
        saved
    }

    fn resume(&mut self, (checked, base): ((u64, usize), usize)) {
        self.checked.resume(checked);
        self.base = base;
    }
}
