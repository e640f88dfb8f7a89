//! The run loop: kernel/bpf/core.c `___bpf_prog_run()` over lowered ops.
//!
//! One `match` per step on an 8-byte [`Op`], registers in a local array
//! indexed by [`R`](crate::op::R) (no bounds checks), conditional jumps as
//! real host branches. The loop is generic over an [`Env`] (fast,
//! checked, traced) and over `COUNT` (whether a step budget is enforced),
//! so each combination is compiled separately and fast mode carries no
//! checks at all.
//!
//! Calling conventions, as the kernel (and what differs):
//! - **Helpers/kfuncs**: r0 = f(r1..r5). The kernel leaves r1..r5
//!   undefined after a call (the verifier marks them unreadable; the JIT
//!   really clobbers them). Here they keep their values, which is what the
//!   kernel's interpreter does too and is deterministic.
//! - **callx**: the register holds a helper id (the bpf_conformance suite's
//!   convention). Linux does not accept `callx`; it exists for that suite.
//! - **bpf2bpf**: a new 512-byte frame, r10 = its top; r1..r5 pass
//!   arguments, r0 comes back, and r1..r10 are restored on return — as in the
//!   kernel's interpreter, where the callee runs on its own register array.
//!   More than `MAX_CALL_FRAMES` frames is an error.
//! - **Tail calls** (`call 12`): `JMP_TAIL_CALL` semantics. The count is
//!   checked first (at most `MAX_TAIL_CALL_CNT` = 33 per run, shared by all
//!   frames), then incremented, then the resolver is asked; a failed tail
//!   call continues with the next instruction, r0 unchanged. The kernel does
//!   not count an index beyond `max_entries` but does count an empty slot;
//!   the resolver cannot tell the two apart, so here both count. A success
//!   continues at slot 0 of the target in the *same* frame, all registers
//!   kept (r1 is the ctx). In a bpf2bpf callee, the target replaces the
//!   callee: its `exit` returns to the caller's frame and program.
//! - **exit** from frame 0 ends the run with r0.
//! - **Callbacks** ([`crate::callback`]): a helper registered as taking
//!   callbacks runs with a re-entry context published ([`Reentry`]); a
//!   callback is a nested `execute` of the calling program from the
//!   callback's slot, with the frames already in use counted ([`Nest`]).

use crate::alu;
use crate::callback::{self, Reenter};
use crate::env::Env;
use crate::error::VmError;
use crate::helpers::{CallTable, Helper, TailCallResolver};
use crate::mem::{self, FRAME_SIZE, ORD, Stack, StackMem};
use crate::op::Op;
use crate::packet;
use crate::program::Program;
use bpfemu_isa::opcode::{BPF_FUNC_TAIL_CALL, MAX_CALL_FRAMES, MAX_TAIL_CALL_CNT};
use std::sync::Arc;

/// What a run is given besides the program and the environment.
pub(crate) struct RunCtx<'a> {
    pub(crate) calls: &'a CallTable,
    pub(crate) resolver: Option<&'a dyn TailCallResolver>,
    /// The step budget; only enforced when `COUNT`.
    pub(crate) step_limit: u64,
    pub(crate) packet: Option<&'a [u8]>,
}

/// Where a run sits among nested callback runs.
pub(crate) struct Nest {
    /// Frames used by the runs this one is a callback of (0 for a
    /// top-level run).
    pub(crate) base: usize,
    /// Steps executed so far across the nesting (in), and at the run's end
    /// (out, on success).
    pub(crate) steps: u64,
}

impl Nest {
    pub(crate) fn root() -> Nest {
        Nest { base: 0, steps: 0 }
    }
}

/// The re-entry context a callback-taking helper call publishes: what a
/// nested run of the calling program needs.
struct Reentry<'a, 'c, E: Env, const COUNT: bool> {
    ctx: &'a RunCtx<'c>,
    prog: &'a Program,
    env: &'a mut E,
    /// Frames in use, the helper's caller's included.
    used: usize,
    /// The helper call's slot (for errors).
    pc: usize,
    steps: u64,
    /// The first error of a callback run; the run fails with it.
    error: Option<VmError>,
}

impl<E: Env, const COUNT: bool> Reenter for Reentry<'_, '_, E, COUNT> {
    fn call(&mut self, token: u64, args: &[u64; 5], mem: Option<(u64, u64)>) -> Result<u64, VmError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let r = match callback::callback_target(token) {
            Some(start) => self.run(start as usize, args, mem),
            None => Err(VmError::NotACallback { pc: self.pc, token }),
        };
        if let Err(e) = &r {
            self.error = Some(e.clone());
        }
        r
    }
}

impl<E: Env, const COUNT: bool> Reentry<'_, '_, E, COUNT> {
    fn run(&mut self, start: usize, args: &[u64; 5], mem: Option<(u64, u64)>) -> Result<u64, VmError> {
        // The target must be the first slot of an instruction (the same
        // guarantee Program::new gives jump and call targets).
        if start >= self.prog.len() || matches!(self.prog.ops()[start], Op::LdImm64Hi(_)) {
            return Err(VmError::BadCallback { pc: self.pc, target: start });
        }
        if self.used >= MAX_CALL_FRAMES {
            return Err(VmError::CallDepthExceeded { pc: self.pc, max: MAX_CALL_FRAMES });
        }
        let outer = crate::stack_window::current_stack();
        let mut windows = [(0u64, 0u64, false); 2];
        let mut n = 0;
        if let Some((s, l)) = outer {
            windows[n] = (s, l, true);
            n += 1;
        }
        if let Some((s, l)) = mem {
            windows[n] = (s, l, false);
            n += 1;
        }
        let saved = self.env.suspend(&windows[..n], self.used);
        let _outer = crate::stack_window::Outer::push();
        let mut nest = Nest { base: self.used, steps: self.steps };
        // SAFETY: `execute`'s contract for this nested run is the outer
        // run's: the callback is part of the program the outer run's caller
        // vouched for (fast: verified, its accesses proven; checked/traced:
        // `env` validates every access against the outer run's regions, this
        // run's stack, the suspended runs' stacks — alive and not moved,
        // their `execute` frames are suspended below us — and `mem`, which
        // `call_callback_with_memory` borrows for the whole call). The
        // start slot was validated above.
        let r = unsafe { execute::<E, COUNT>(self.ctx, self.prog, start, args, self.env, &mut nest) };
        self.env.resume(saved);
        if r.is_ok() {
            self.steps = nest.steps;
        }
        r
    }
}

/// A caller's state saved across a bpf2bpf call.
#[derive(Clone, Copy)]
struct Frame {
    /// r1..r10.
    saved: [u64; 10],
    /// Slot to continue at in the caller.
    ret: u32,
    /// The caller's program: 0 = root, i = `chain[i - 1]`.
    prog: u32,
}

impl Frame {
    const EMPTY: Frame = Frame { saved: [0; 10], ret: 0, prog: 0 };
}

/// Runs `root` from slot `start` with `args` in r1.. under `env`, as
/// callback level `nest` (top-level runs: slot 0, [`Nest::root`]).
///
/// # Safety
/// Every load, store and atomic the program performs that `env` accepts
/// must be to memory valid for that access for the whole run, and accepted
/// atomics must be naturally aligned. `start` must be a slot `< root.len()`
/// that is not the second slot of a `ld_imm64`. For [`Fast`](crate::env::Fast), which
/// accepts everything, that is `run_fast`'s contract (the verifier proved
/// it); for the checked environments it follows from the
/// [`MemRegion`](crate::MemRegion) contract.
pub(crate) unsafe fn execute<E: Env, const COUNT: bool>(
    ctx: &RunCtx<'_>,
    root: &Program,
    start: usize,
    args: &[u64],
    env: &mut E,
    nest: &mut Nest,
) -> Result<u64, VmError> {
    if args.len() > 5 {
        return Err(VmError::TooManyArgs { given: args.len() });
    }
    // Helpers of this run reach this run's callbacks only.
    let _callbacks = callback::Scope::empty();
    // Frames this run may use (callback runs: what their callers left).
    let max_depth = MAX_CALL_FRAMES - nest.base;
    let mut stack_mem = StackMem::new();
    let stack = Stack::new(&mut stack_mem);
    let top = stack.top();
    env.begin(top);
    // Helpers may see the frames initialised so far (frame 0 now).
    let window = crate::stack_window::Published::new(top - FRAME_SIZE, FRAME_SIZE);

    // Registers r0..r10, indexed by `R` (always < 11: no bounds check).
    let mut regs = [0u64; 11];
    regs[1..1 + args.len()].copy_from_slice(args);
    regs[10] = top;

    let mut frames = [Frame::EMPTY; MAX_CALL_FRAMES - 1];
    let mut depth = 0usize;
    let mut zeroed = 0usize; // deepest frame initialised so far
    let mut chain: Vec<Arc<Program>> = Vec::new();
    let mut cur = 0u32;
    let mut prog: &Program = root;
    let mut ops: &[Op] = prog.ops();
    let mut pc = start;
    let mut steps = nest.steps;
    let mut tail_calls = 0u32;

    macro_rules! reg {
        ($i:expr) => {
            regs[$i as usize]
        };
    }
    macro_rules! k64 {
        ($k:expr) => {
            i64::from($k) as u64
        };
    }
    macro_rules! addr {
        ($r:expr, $off:expr) => {
            reg!($r).wrapping_add(i64::from($off) as u64)
        };
    }
    macro_rules! alu64 {
        ($d:expr, $b:expr, $f:expr) => {{
            let b = $b;
            let v = $f(reg!($d), b);
            reg!($d) = v;
        }};
    }
    macro_rules! alu32 {
        ($d:expr, $b:expr, $f:expr) => {{
            let b = $b as u32;
            let v: u32 = $f(reg!($d) as u32, b);
            reg!($d) = u64::from(v);
        }};
    }
    // Conditional jump by the relative offset `$off` (from the next slot).
    // `cold_path` marks the branch as biased, which keeps it a real,
    // predicted host branch: as a conditional move (what LLVM picks
    // otherwise) the next op's address would wait for the comparison,
    // serialising the run loop on the latency of the guest register loads
    // (this alone halved the time of branchy programs). Which side is
    // marked only affects block layout.
    macro_rules! jif {
        ($c:expr, $off:expr) => {
            if $c {
                std::hint::cold_path();
                pc = pc.wrapping_add_signed(isize::from($off) + 1);
                continue;
            }
        };
    }
    macro_rules! switch_prog {
        ($idx:expr) => {{
            cur = $idx;
            prog = if cur == 0 { root } else { &chain[cur as usize - 1] };
            ops = prog.ops();
        }};
    }
    // freplace: run `$r` from its slot 0 in place of the function just
    // entered (kept in the chain once, however often it is entered).
    macro_rules! enter_replacement {
        ($r:expr) => {{
            let r: Arc<Program> = $r;
            let idx = match chain.iter().position(|p| Arc::ptr_eq(p, &r)) {
                Some(i) => i + 1,
                None => {
                    chain.push(r);
                    chain.len()
                }
            };
            switch_prog!(idx as u32);
            pc = 0;
        }};
    }
    if start == 0
        && let Some(r) = root.replacement(0)
    {
        enter_replacement!(r);
    }
    macro_rules! exit {
        () => {{
            if depth == 0 {
                nest.steps = steps;
                return Ok(regs[0]);
            }
            depth -= 1;
            let f = frames[depth];
            regs[1..11].copy_from_slice(&f.saved);
            pc = f.ret as usize;
            if f.prog != cur {
                switch_prog!(f.prog);
            }
            continue;
        }};
    }
    macro_rules! tail_call {
        () => {{
            if tail_calls < MAX_TAIL_CALL_CNT {
                tail_calls += 1;
                let next = ctx.resolver.and_then(|r| r.resolve(regs[2], regs[3] & 0xffff_ffff));
                if let Some(next) = next {
                    chain.push(next);
                    switch_prog!(chain.len() as u32);
                    pc = 0;
                    continue;
                }
            }
        }};
    }
    macro_rules! helper {
        ($f:expr) => {{
            let f = $f;
            regs[0] = f(regs[1], regs[2], regs[3], regs[4], regs[5]);
            if let Some(a) = ctx.calls.after_call
                && a.armed.load(std::sync::atomic::Ordering::Relaxed)
            {
                (a.hook)();
            }
        }};
    }
    // A registered helper; one that takes callbacks runs with the re-entry
    // context published, and a failed callback fails the run.
    macro_rules! helper_call {
        ($h:expr) => {{
            let h: Helper = $h;
            if h.callbacks {
                let mut re = Reentry::<E, COUNT> {
                    ctx,
                    prog,
                    env: &mut *env,
                    used: nest.base + depth + 1,
                    pc,
                    steps,
                    error: None,
                };
                let f = h.f;
                let r = callback::with_reentry(&mut re, || f(regs[1], regs[2], regs[3], regs[4], regs[5]));
                if let Some(e) = re.error {
                    return Err(e);
                }
                steps = re.steps;
                regs[0] = r;
            } else {
                helper!(h.f);
            }
        }};
    }
    // Legacy packet load of `$size` bytes at packet offset `$off` into r0;
    // out of bounds ends the program with r0 = 0 (as the kernel does).
    macro_rules! ld_packet {
        ($size:expr, $off:expr) => {{
            let Some(p) = ctx.packet else {
                return Err(VmError::NoPacket { pc });
            };
            match packet::load_be(p, $off, $size) {
                Some(v) => regs[0] = v,
                None => {
                    regs[0] = 0;
                    exit!();
                }
            }
        }};
    }
    // Loads, stores and atomics. SAFETY (all of them): `env.check*` has
    // validated the access against memory the caller vouched for (checked
    // environments), or `execute`'s contract covers it (fast).
    macro_rules! ld {
        ($t:ty, $d:expr, $s:expr, $off:expr, $ext:expr) => {{
            let a = addr!($s, $off);
            env.check(pc, a, size_of::<$t>() as u64, false, depth)?;
            // SAFETY: see the comment above `ld!`.
            let v = unsafe { mem::load::<$t>(a) };
            reg!($d) = $ext(v);
        }};
    }
    macro_rules! st {
        ($t:ty, $d:expr, $off:expr, $v:expr) => {{
            let a = addr!($d, $off);
            env.check(pc, a, size_of::<$t>() as u64, true, depth)?;
            let v = $v as $t;
            // SAFETY: see the comment above `ld!`.
            unsafe { mem::store::<$t>(a, v) };
        }};
    }
    macro_rules! atomic32 {
        ($d:expr, $s:expr, $off:expr, $op:ident, $fetch:expr) => {{
            let a = addr!($d, $off);
            env.check_atomic(pc, a, 4, depth)?;
            let v = reg!($s) as u32;
            // SAFETY: see the comment above `ld!`; alignment is checked by
            // check_atomic or guaranteed by the verifier.
            let old = unsafe { mem::atomic32(a) }.$op(v, ORD);
            if $fetch {
                reg!($s) = u64::from(old);
            }
        }};
    }
    macro_rules! atomic64 {
        ($d:expr, $s:expr, $off:expr, $op:ident, $fetch:expr) => {{
            let a = addr!($d, $off);
            env.check_atomic(pc, a, 8, depth)?;
            let v = reg!($s);
            // SAFETY: as in atomic32!.
            let old = unsafe { mem::atomic64(a) }.$op(v, ORD);
            if $fetch {
                reg!($s) = old;
            }
        }};
    }

    loop {
        // SAFETY: `pc < ops.len()`: execution starts at 0 of a non-empty
        // program, or at a validated `start` (execute's contract); every op either continues at `pc + 1` (at most `len()`,
        // the sentinel, since the last slot is never a ld_imm64 first slot
        // and the sentinel never continues), `pc + 2` after a ld_imm64
        // (whose second slot exists), a validated target `< len()` (absolute,
        // or the next slot plus a validated conditional offset), slot 0 of
        // another program, or a saved return slot `<= len()` of the program
        // it belongs to (Program::ops invariants).
        let op = unsafe { ops.get_unchecked(pc) };
        if COUNT {
            if steps >= ctx.step_limit {
                return Err(VmError::StepLimitExceeded { pc, limit: ctx.step_limit });
            }
            steps += 1;
        }
        env.trace(pc, prog, &regs, depth);
        // Ops that continue at the next slot fall through to `pc += 1`
        // below the match; jumps, calls and returns `continue` instead.
        // (Incrementing only there keeps the dispatch itself minimal and
        // `pc` the executing slot for errors.)
        match *op {
            Op::Add64X(d, s) => alu64!(d, reg!(s), u64::wrapping_add),
            Op::Sub64X(d, s) => alu64!(d, reg!(s), u64::wrapping_sub),
            Op::Mul64X(d, s) => alu64!(d, reg!(s), u64::wrapping_mul),
            Op::Div64X(d, s) => alu64!(d, reg!(s), alu::div64),
            Op::SDiv64X(d, s) => alu64!(d, reg!(s), alu::sdiv64),
            Op::Or64X(d, s) => alu64!(d, reg!(s), |a, b| a | b),
            Op::And64X(d, s) => alu64!(d, reg!(s), |a, b| a & b),
            Op::Lsh64X(d, s) => alu64!(d, reg!(s), alu::lsh64),
            Op::Rsh64X(d, s) => alu64!(d, reg!(s), alu::rsh64),
            Op::Mod64X(d, s) => alu64!(d, reg!(s), alu::mod64),
            Op::SMod64X(d, s) => alu64!(d, reg!(s), alu::smod64),
            Op::Xor64X(d, s) => alu64!(d, reg!(s), |a, b| a ^ b),
            Op::Mov64X(d, s) => reg!(d) = reg!(s),
            Op::Arsh64X(d, s) => alu64!(d, reg!(s), alu::arsh64),
            Op::MovSx64B(d, s) => reg!(d) = reg!(s) as i8 as u64,
            Op::MovSx64H(d, s) => reg!(d) = reg!(s) as i16 as u64,
            Op::MovSx64W(d, s) => reg!(d) = reg!(s) as i32 as u64,

            Op::Add64K(d, k) => alu64!(d, k64!(k), u64::wrapping_add),
            Op::Sub64K(d, k) => alu64!(d, k64!(k), u64::wrapping_sub),
            Op::Mul64K(d, k) => alu64!(d, k64!(k), u64::wrapping_mul),
            Op::Div64K(d, k) => alu64!(d, k64!(k), alu::div64),
            Op::SDiv64K(d, k) => alu64!(d, k64!(k), alu::sdiv64),
            Op::Or64K(d, k) => alu64!(d, k64!(k), |a, b| a | b),
            Op::And64K(d, k) => alu64!(d, k64!(k), |a, b| a & b),
            Op::Lsh64K(d, k) => alu64!(d, k64!(k), alu::lsh64),
            Op::Rsh64K(d, k) => alu64!(d, k64!(k), alu::rsh64),
            Op::Mod64K(d, k) => alu64!(d, k64!(k), alu::mod64),
            Op::SMod64K(d, k) => alu64!(d, k64!(k), alu::smod64),
            Op::Xor64K(d, k) => alu64!(d, k64!(k), |a, b| a ^ b),
            Op::Mov64K(d, k) => reg!(d) = k64!(k),
            Op::Arsh64K(d, k) => alu64!(d, k64!(k), alu::arsh64),

            Op::Add32X(d, s) => alu32!(d, reg!(s), u32::wrapping_add),
            Op::Sub32X(d, s) => alu32!(d, reg!(s), u32::wrapping_sub),
            Op::Mul32X(d, s) => alu32!(d, reg!(s), u32::wrapping_mul),
            Op::Div32X(d, s) => alu32!(d, reg!(s), alu::div32),
            Op::SDiv32X(d, s) => alu32!(d, reg!(s), alu::sdiv32),
            Op::Or32X(d, s) => alu32!(d, reg!(s), |a, b| a | b),
            Op::And32X(d, s) => alu32!(d, reg!(s), |a, b| a & b),
            Op::Lsh32X(d, s) => alu32!(d, reg!(s), alu::lsh32),
            Op::Rsh32X(d, s) => alu32!(d, reg!(s), alu::rsh32),
            Op::Mod32X(d, s) => alu32!(d, reg!(s), alu::mod32),
            Op::SMod32X(d, s) => alu32!(d, reg!(s), alu::smod32),
            Op::Xor32X(d, s) => alu32!(d, reg!(s), |a, b| a ^ b),
            Op::Mov32X(d, s) => reg!(d) = u64::from(reg!(s) as u32),
            Op::Arsh32X(d, s) => alu32!(d, reg!(s), alu::arsh32),
            Op::MovSx32B(d, s) => reg!(d) = u64::from(reg!(s) as i8 as u32),
            Op::MovSx32H(d, s) => reg!(d) = u64::from(reg!(s) as i16 as u32),

            Op::Add32K(d, k) => alu32!(d, k, u32::wrapping_add),
            Op::Sub32K(d, k) => alu32!(d, k, u32::wrapping_sub),
            Op::Mul32K(d, k) => alu32!(d, k, u32::wrapping_mul),
            Op::Div32K(d, k) => alu32!(d, k, alu::div32),
            Op::SDiv32K(d, k) => alu32!(d, k, alu::sdiv32),
            Op::Or32K(d, k) => alu32!(d, k, |a, b| a | b),
            Op::And32K(d, k) => alu32!(d, k, |a, b| a & b),
            Op::Lsh32K(d, k) => alu32!(d, k, alu::lsh32),
            Op::Rsh32K(d, k) => alu32!(d, k, alu::rsh32),
            Op::Mod32K(d, k) => alu32!(d, k, alu::mod32),
            Op::SMod32K(d, k) => alu32!(d, k, alu::smod32),
            Op::Xor32K(d, k) => alu32!(d, k, |a, b| a ^ b),
            Op::Mov32K(d, k) => reg!(d) = u64::from(k as u32),
            Op::Arsh32K(d, k) => alu32!(d, k, alu::arsh32),

            Op::Neg64(d) => reg!(d) = reg!(d).wrapping_neg(),
            Op::Neg32(d) => reg!(d) = u64::from((reg!(d) as u32).wrapping_neg()),
            Op::Be16(d) => reg!(d) = alu::to_be(reg!(d), 16),
            Op::Be32(d) => reg!(d) = alu::to_be(reg!(d), 32),
            Op::Be64(d) => reg!(d) = alu::to_be(reg!(d), 64),
            Op::Le16(d) => reg!(d) = alu::to_le(reg!(d), 16),
            Op::Le32(d) => reg!(d) = alu::to_le(reg!(d), 32),
            Op::Swap16(d) => reg!(d) = u64::from((reg!(d) as u16).swap_bytes()),
            Op::Swap32(d) => reg!(d) = u64::from((reg!(d) as u32).swap_bytes()),
            Op::Swap64(d) => reg!(d) = reg!(d).swap_bytes(),
            Op::Nop => {}

            Op::Ja(t) => {
                pc = t as usize;
                continue;
            }
            Op::Jeq64X(d, s, o) => jif!(reg!(d) == reg!(s), o),
            Op::Jgt64X(d, s, o) => jif!(reg!(d) > reg!(s), o),
            Op::Jge64X(d, s, o) => jif!(reg!(d) >= reg!(s), o),
            Op::Jset64X(d, s, o) => jif!(reg!(d) & reg!(s) != 0, o),
            Op::Jne64X(d, s, o) => jif!(reg!(d) != reg!(s), o),
            Op::Jsgt64X(d, s, o) => jif!((reg!(d) as i64) > reg!(s) as i64, o),
            Op::Jsge64X(d, s, o) => jif!((reg!(d) as i64) >= reg!(s) as i64, o),
            Op::Jlt64X(d, s, o) => jif!(reg!(d) < reg!(s), o),
            Op::Jle64X(d, s, o) => jif!(reg!(d) <= reg!(s), o),
            Op::Jslt64X(d, s, o) => jif!((reg!(d) as i64) < reg!(s) as i64, o),
            Op::Jsle64X(d, s, o) => jif!((reg!(d) as i64) <= reg!(s) as i64, o),

            Op::Jeq64K(d, k, o) => jif!(reg!(d) == k64!(k), o),
            Op::Jgt64K(d, k, o) => jif!(reg!(d) > k64!(k), o),
            Op::Jge64K(d, k, o) => jif!(reg!(d) >= k64!(k), o),
            Op::Jset64K(d, k, o) => jif!(reg!(d) & k64!(k) != 0, o),
            Op::Jne64K(d, k, o) => jif!(reg!(d) != k64!(k), o),
            Op::Jsgt64K(d, k, o) => jif!((reg!(d) as i64) > i64::from(k), o),
            Op::Jsge64K(d, k, o) => jif!((reg!(d) as i64) >= i64::from(k), o),
            Op::Jlt64K(d, k, o) => jif!(reg!(d) < k64!(k), o),
            Op::Jle64K(d, k, o) => jif!(reg!(d) <= k64!(k), o),
            Op::Jslt64K(d, k, o) => jif!((reg!(d) as i64) < i64::from(k), o),
            Op::Jsle64K(d, k, o) => jif!((reg!(d) as i64) <= i64::from(k), o),

            Op::Jeq32X(d, s, o) => jif!(reg!(d) as u32 == reg!(s) as u32, o),
            Op::Jgt32X(d, s, o) => jif!(reg!(d) as u32 > reg!(s) as u32, o),
            Op::Jge32X(d, s, o) => jif!(reg!(d) as u32 >= reg!(s) as u32, o),
            Op::Jset32X(d, s, o) => jif!(reg!(d) as u32 & reg!(s) as u32 != 0, o),
            Op::Jne32X(d, s, o) => jif!(reg!(d) as u32 != reg!(s) as u32, o),
            Op::Jsgt32X(d, s, o) => jif!(reg!(d) as i32 > reg!(s) as i32, o),
            Op::Jsge32X(d, s, o) => jif!(reg!(d) as i32 >= reg!(s) as i32, o),
            Op::Jlt32X(d, s, o) => jif!((reg!(d) as u32) < reg!(s) as u32, o),
            Op::Jle32X(d, s, o) => jif!(reg!(d) as u32 <= reg!(s) as u32, o),
            Op::Jslt32X(d, s, o) => jif!((reg!(d) as i32) < reg!(s) as i32, o),
            Op::Jsle32X(d, s, o) => jif!(reg!(d) as i32 <= reg!(s) as i32, o),

            Op::Jeq32K(d, k, o) => jif!(reg!(d) as u32 == k as u32, o),
            Op::Jgt32K(d, k, o) => jif!(reg!(d) as u32 > k as u32, o),
            Op::Jge32K(d, k, o) => jif!(reg!(d) as u32 >= k as u32, o),
            Op::Jset32K(d, k, o) => jif!(reg!(d) as u32 & k as u32 != 0, o),
            Op::Jne32K(d, k, o) => jif!(reg!(d) as u32 != k as u32, o),
            Op::Jsgt32K(d, k, o) => jif!(reg!(d) as i32 > k, o),
            Op::Jsge32K(d, k, o) => jif!(reg!(d) as i32 >= k, o),
            Op::Jlt32K(d, k, o) => jif!((reg!(d) as u32) < k as u32, o),
            Op::Jle32K(d, k, o) => jif!(reg!(d) as u32 <= k as u32, o),
            Op::Jslt32K(d, k, o) => jif!((reg!(d) as i32) < k, o),
            Op::Jsle32K(d, k, o) => jif!(reg!(d) as i32 <= k, o),

            Op::Call(id) => match ctx.calls.helper(id.into()) {
                Some(h) => helper_call!(h),
                None => {
                    return Err(VmError::UnknownHelper { pc, id: id.into() });
                }
            },
            Op::TailCall => tail_call!(),
            Op::CallX(r) => {
                let id = reg!(r) as i64;
                if id == i64::from(BPF_FUNC_TAIL_CALL) {
                    tail_call!();
                } else {
                    match ctx.calls.helper(id) {
                        Some(h) => helper_call!(h),
                        None => return Err(VmError::UnknownHelper { pc, id }),
                    }
                }
            }
            Op::Kfunc(btf_id) => match ctx.calls.kfunc(btf_id) {
                Some(f) => helper!(f),
                None => return Err(VmError::UnknownKfunc { pc, btf_id }),
            },
            Op::CallLocal(t) => {
                if depth + 1 >= max_depth {
                    return Err(VmError::CallDepthExceeded { pc, max: MAX_CALL_FRAMES });
                }
                let f = &mut frames[depth];
                f.saved.copy_from_slice(&regs[1..11]);
                f.ret = pc as u32 + 1;
                f.prog = cur;
                depth += 1;
                if depth > zeroed {
                    stack.zero_frame(depth);
                    zeroed = depth;
                    window.update(top - (depth as u64 + 1) * FRAME_SIZE, (depth as u64 + 1) * FRAME_SIZE);
                }
                regs[10] = top - depth as u64 * FRAME_SIZE;
                pc = t as usize;
                if let Some(r) = prog.replacement(pc) {
                    enter_replacement!(r);
                }
                continue;
            }
            Op::Exit => exit!(),

            Op::LdImm64(d, lo) => {
                let Some(&Op::LdImm64Hi(hi)) = ops.get(pc + 1) else {
                    unreachable!("ld_imm64 without its second slot (Program::ops invariant)");
                };
                reg!(d) = u64::from(lo) | (u64::from(hi) << 32);
                pc += 2;
                continue;
            }
            Op::LdAbs(size, k) => ld_packet!(size, k),
            Op::LdInd(size, s, k) => ld_packet!(size, reg!(s).wrapping_add(k64!(k)) as i32),

            Op::LdxB(d, s, off) => ld!(u8, d, s, off, u64::from),
            Op::LdxH(d, s, off) => ld!(u16, d, s, off, u64::from),
            Op::LdxW(d, s, off) => ld!(u32, d, s, off, u64::from),
            Op::LdxDW(d, s, off) => ld!(u64, d, s, off, |v| v),
            Op::LdsxB(d, s, off) => ld!(u8, d, s, off, |v| v as i8 as u64),
            Op::LdsxH(d, s, off) => ld!(u16, d, s, off, |v| v as i16 as u64),
            Op::LdsxW(d, s, off) => ld!(u32, d, s, off, |v| v as i32 as u64),

            Op::StB(d, off, k) => st!(u8, d, off, k),
            Op::StH(d, off, k) => st!(u16, d, off, k),
            Op::StW(d, off, k) => st!(u32, d, off, k),
            Op::StDW(d, off, k) => st!(u64, d, off, k64!(k)),
            Op::StxB(d, s, off) => st!(u8, d, off, reg!(s)),
            Op::StxH(d, s, off) => st!(u16, d, off, reg!(s)),
            Op::StxW(d, s, off) => st!(u32, d, off, reg!(s)),
            Op::StxDW(d, s, off) => st!(u64, d, off, reg!(s)),

            Op::AAdd32(d, s, off) => atomic32!(d, s, off, fetch_add, false),
            Op::AOr32(d, s, off) => atomic32!(d, s, off, fetch_or, false),
            Op::AAnd32(d, s, off) => atomic32!(d, s, off, fetch_and, false),
            Op::AXor32(d, s, off) => atomic32!(d, s, off, fetch_xor, false),
            Op::AFAdd32(d, s, off) => atomic32!(d, s, off, fetch_add, true),
            Op::AFOr32(d, s, off) => atomic32!(d, s, off, fetch_or, true),
            Op::AFAnd32(d, s, off) => atomic32!(d, s, off, fetch_and, true),
            Op::AFXor32(d, s, off) => atomic32!(d, s, off, fetch_xor, true),
            Op::AXchg32(d, s, off) => atomic32!(d, s, off, swap, true),
            Op::ACmpXchg32(d, s, off) => {
                let a = addr!(d, off);
                env.check_atomic(pc, a, 4, depth)?;
                let (expected, new) = (regs[0] as u32, reg!(s) as u32);
                // SAFETY: as in atomic32!.
                let cell = unsafe { mem::atomic32(a) };
                let (Ok(old) | Err(old)) = cell.compare_exchange(expected, new, ORD, ORD);
                regs[0] = u64::from(old);
            }
            Op::AAdd64(d, s, off) => atomic64!(d, s, off, fetch_add, false),
            Op::AOr64(d, s, off) => atomic64!(d, s, off, fetch_or, false),
            Op::AAnd64(d, s, off) => atomic64!(d, s, off, fetch_and, false),
            Op::AXor64(d, s, off) => atomic64!(d, s, off, fetch_xor, false),
            Op::AFAdd64(d, s, off) => atomic64!(d, s, off, fetch_add, true),
            Op::AFOr64(d, s, off) => atomic64!(d, s, off, fetch_or, true),
            Op::AFAnd64(d, s, off) => atomic64!(d, s, off, fetch_and, true),
            Op::AFXor64(d, s, off) => atomic64!(d, s, off, fetch_xor, true),
            Op::AXchg64(d, s, off) => atomic64!(d, s, off, swap, true),
            Op::ACmpXchg64(d, s, off) => {
                let a = addr!(d, off);
                env.check_atomic(pc, a, 8, depth)?;
                let (expected, new) = (regs[0], reg!(s));
                // SAFETY: as in atomic32!.
                let cell = unsafe { mem::atomic64(a) };
                let (Ok(old) | Err(old)) = cell.compare_exchange(expected, new, ORD, ORD);
                regs[0] = old;
            }

            Op::LdImm64Hi(_) => return Err(VmError::InvalidSlot { pc }),
            Op::FallOff => return Err(VmError::FellOffEnd { pc }),
        }
        pc += 1;
    }
}
