//! State pruning (`is_state_visited()`, `states_equal()`, `regsafe()`,
//! `stacksafe()`, `refsafe()` in kernel/bpf/verifier.c).
//!
//! At each prune point the current state is compared with the states kept
//! there by paths already finished: if one of them is at least as general
//! (every value the current state allows, it allows too), the current
//! path can only do what that one did, and it is dropped. States kept by
//! the current path itself (its ancestors, the ones with unfinished paths
//! below them: [`Verifier::chain`]) are only used to detect an infinite loop (the same state again at a loop head,
//! "infinite loop detected at insn %d"), never to prune.
//!
//! A scalar of the old state that is not *precise* ([`super::precise`])
//! matches any scalar: nothing below that state depended on its value.
//!
//! At a callback-calling helper call (`calls_callback()`) a state is always
//! kept, and a state kept there by the current path itself does prune: a
//! run of the callback returning to the call from a state that the earlier
//! one covers with `RANGE_WITHIN` (every scalar's range inside the old
//! one, precise or not; the same register and stack-byte kinds; no more
//! simulated runs in the old state, `callback_depth`) adds nothing, since
//! the walk from the old state explores all of it. Such checkpoints on the
//! path are evicted only after 64 misses. Two states that differ in
//! `callback_unroll_depth` are different runs of a callback, not an
//! infinite loop.
//!
//! Differences from the kernel, all on the side of exploring more:
//! * precision: see [`super::precise`] for where it is more conservative;
//! * liveness: registers are ignored where they are statically dead
//!   ([`super::live`]); stack slots no path from the old state reads are
//!   ignored as in the kernel ([`super::stack_live`]), with a few more
//!   kinds of access counted as reads;
//! * a state is kept under the kernel's heuristics (at least 2 jumps and 8
//!   instructions since the last one; inside a loop, where a state of the
//!   current path is at the same instruction, 20 jumps or 100
//!   instructions), and dropped after missing too often (`miss_cnt >
//!   hit_cnt * 3 + 3`, misses counted only when a state is to be added);
//!   `max_states_per_insn` counts the states looked at before adding one.
//!   Bpfemu keeps one list per instruction where the kernel hashes
//!   (instruction, callsite) into `prog->len` buckets, so in programs with
//!   subprograms the kernel's `max_states_per_insn` can count states of
//!   other instructions that share a bucket.

use super::stack_live::StackLive;
use super::{EINVAL, Explored, VResult, Verifier};
use crate::bounds::ScalarBounds;
use crate::state::{BPF_REG_SIZE, FuncState, RegState, RegType, SlotType, StackSlot, VerifierState};

/// `BPF_COMPLEXITY_LIMIT_STATES`: without `CAP_BPF`, at most this many
/// states are kept per instruction.
pub const COMPLEXITY_LIMIT_STATES: usize = 64;

/// A consistent renaming of ids from the old state to the current one
/// (`struct bpf_idmap`, `check_ids()`).
#[derive(Default)]
pub(super) struct IdMap(Vec<(u32, u32)>);

/// How closely a kept state must cover the current one (`enum
/// exact_level`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Exact {
    /// Ordinary pruning against a finished state: imprecise scalars and
    /// uninitialised registers or stack of the old state match anything.
    NotExact,
    /// Convergence of callback runs at their helper call, against a state
    /// kept on the current path (`RANGE_WITHIN`): every scalar's range
    /// must hold the current one, precise or not, and registers and stack
    /// bytes must have the same kinds.
    RangeWithin,
}

impl IdMap {
    pub(super) fn check(&mut self, old: u32, cur: u32) -> bool {
        if old == 0 && cur == 0 {
            return true;
        }
        if old == 0 || cur == 0 {
            return false;
        }
        for &(o, c) in &self.0 {
            if o == old {
                return c == cur;
            }
            if c == cur {
                return false;
            }
        }
        self.0.push((old, cur));
        true
    }
}

/// Every value `cur` allows, `old` allows (`range_within()` and
/// `tnum_in()`).
fn bounds_within(old: &ScalarBounds, cur: &ScalarBounds) -> bool {
    old.umin <= cur.umin
        && old.umax >= cur.umax
        && old.smin <= cur.smin
        && old.smax >= cur.smax
        && old.u32_min <= cur.u32_min
        && old.u32_max >= cur.u32_max
        && old.s32_min <= cur.s32_min
        && old.s32_max >= cur.s32_max
        && old.var_off.includes(cur.var_off)
}

/// The parts of a pointer that must match exactly.
fn same_pointer_base(old: &RegState, cur: &RegState) -> bool {
    old.typ == cur.typ
        && old.flags == cur.flags
        && old.off == cur.off
        && old.map == cur.map
        && old.inner_map == cur.inner_map
        && old.mem_size == cur.mem_size
        && old.btf_id == cur.btf_id
        && old.frameno == cur.frameno
        && old.subprog == cur.subprog
        && old.dynptr == cur.dynptr
}

/// `regs_exact()`: the same register, ids renamed consistently;
/// precision and liveness marks aside.
pub(super) fn regs_exact(old: &RegState, cur: &RegState, ids: &mut IdMap) -> bool {
    let strip = |r: &RegState| RegState {
        id: 0,
        ref_obj_id: 0,
        precise: false,
        live: Default::default(),
        ..r.clone()
    };
    strip(old) == strip(cur) && ids.check(old.id, cur.id) && ids.check(old.ref_obj_id, cur.ref_obj_id)
}

/// `regsafe()`: `cur` is covered by `old`.
fn regsafe(old: &RegState, cur: &RegState, ids: &mut IdMap, exact: Exact) -> bool {
    match old.typ {
        RegType::NotInit => exact == Exact::NotExact || cur.typ == RegType::NotInit,
        RegType::Scalar => {
            if !cur.is_scalar() {
                return false;
            }
            // No safety decision below the old state depended on its
            // value (see `precise`).
            if !old.precise && exact == Exact::NotExact {
                return true;
            }
            if exact == Exact::RangeWithin && regs_exact(old, cur, ids) {
                return true;
            }
            if !bounds_within(&old.var, &cur.var) {
                return false;
            }
            // Linked scalars are refined together: the link must hold in
            // the current state too.
            old.id == 0 || (cur.id != 0 && ids.check(old.id, cur.id))
        }
        _ => {
            if !same_pointer_base(old, cur)
                || !ids.check(old.id, cur.id)
                || !ids.check(old.ref_obj_id, cur.ref_obj_id)
                || !ids.check(old.dynptr_id, cur.dynptr_id)
            {
                return false;
            }
            match old.typ {
                RegType::Packet | RegType::PacketMeta => {
                    // At least the old range; the at/beyond-`pkt_end`
                    // marks (negative) only match themselves.
                    let range_ok = if old.range < 0 || cur.range < 0 {
                        old.range == cur.range
                    } else {
                        cur.range >= old.range
                    };
                    range_ok && bounds_within(&old.var, &cur.var)
                }
                RegType::MapValue | RegType::MapKey | RegType::Mem | RegType::BtfId => {
                    bounds_within(&old.var, &cur.var)
                }
                _ => old.var == cur.var && old.range == cur.range,
            }
        }
    }
}

/// `stacksafe()`: every byte the old state could read, the current state
/// holds at least as well. With `live` (the old state's marks and its
/// frame number), slots no path from the old state reads are skipped
/// (only for ordinary pruning against a finished state).
fn stacksafe(
    old: &FuncState,
    cur: &FuncState,
    ids: &mut IdMap,
    exact: Exact,
    live: Option<(&StackLive, usize)>,
) -> bool {
    let invalid = StackSlot::invalid();
    for (i, o) in old.stack.iter().enumerate() {
        let c = cur.stack.get(i).unwrap_or(&invalid);
        if exact == Exact::NotExact
            && let Some((l, f)) = live
            && l.skips(f, i, o, c)
        {
            // The explored state did not use this slot.
            continue;
        }
        let old_spill = o.byte(0) == SlotType::Spill;
        let cur_spill = c.byte(0) == SlotType::Spill;
        if old_spill {
            let n = (0..BPF_REG_SIZE).take_while(|&b| o.byte(b) == SlotType::Spill).count();
            let m = (0..BPF_REG_SIZE).take_while(|&b| c.byte(b) == SlotType::Spill).count();
            if !cur_spill || n != m || !regsafe(&o.spilled, &c.spilled, ids, exact) {
                return false;
            }
        }
        for b in 0..BPF_REG_SIZE {
            let (ot, ct) = (o.byte(b), c.byte(b));
            if exact == Exact::RangeWithin && ot != ct {
                return false;
            }
            let ok = match ot {
                SlotType::Invalid => true,
                SlotType::Spill => true, // compared above
                SlotType::Misc => match ct {
                    SlotType::Misc | SlotType::Zero => true,
                    SlotType::Spill => c.spilled.is_scalar(),
                    _ => false,
                },
                SlotType::Zero => ct == SlotType::Zero,
                // stacksafe()'s STACK_DYNPTR case: same type and slot, the
                // same object (id, reference) under the renaming.
                SlotType::Dynptr => {
                    ct == ot
                        && o.spilled.dynptr == c.spilled.dynptr
                        && ids.check(o.spilled.id, c.spilled.id)
                        && ids.check(o.spilled.ref_obj_id, c.spilled.ref_obj_id)
                }
                SlotType::Iter => ct == ot && o.spilled == c.spilled,
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

fn func_states_equal(
    old: &FuncState,
    cur: &FuncState,
    live: u16,
    stack_live: Option<(&StackLive, usize)>,
    ids: &mut IdMap,
    exact: Exact,
) -> bool {
    if old.callsite != cur.callsite || old.subprog_start != cur.subprog_start {
        return false;
    }
    // More simulated callback runs than the current state has: bpf_loop
    // would stop earlier from the old state than from this one.
    if old.callback_depth > cur.callback_depth {
        return false;
    }
    if old.in_callback_fn != cur.in_callback_fn || old.callback_ret_range != cur.callback_ret_range {
        return false;
    }
    for r in 0..old.regs.len() {
        if live & (1 << r) != 0 && !regsafe(&old.regs[r], &cur.regs[r], ids, exact) {
            return false;
        }
    }
    stacksafe(old, cur, ids, exact, stack_live)
}

/// The exact same state, precision marks aside (`states_maybe_looping()`
/// followed by an exact comparison).
fn same_ignoring_precision(a: &VerifierState, b: &VerifierState) -> bool {
    let clear = |s: &VerifierState| {
        let mut s = s.clone();
        for f in s.frames.iter_mut() {
            for r in f.regs.iter_mut() {
                r.precise = false;
            }
            for sl in f.stack.iter_mut() {
                sl.spilled.precise = false;
            }
        }
        s
    };
    a.frames.len() == b.frames.len() && clear(a) == clear(b)
}

impl Verifier<'_, '_> {
    /// `states_equal()`: the current state at slot `idx` is covered by `old`
    /// (with `stack_live`, its stack-slot liveness marks).
    fn states_equal(
        &self,
        old: &VerifierState,
        idx: usize,
        exact: Exact,
        stack_live: Option<&StackLive>,
    ) -> bool {
        let cur = &self.cur;
        if old.frames.len() != cur.frames.len() || old.refs.len() != cur.refs.len() {
            return false;
        }
        let mut ids = IdMap::default();
        if !ids.check(old.active_lock, cur.active_lock) {
            return false;
        }
        // Inside a callback, which references it acquired itself (and
        // must release) must match too.
        let floor = |s: &VerifierState| {
            s.frames.iter().rev().find(|f| f.in_callback_fn).map(|f| f.callback_ref_floor)
        };
        let (old_floor, cur_floor) = (floor(old), floor(cur));
        for (o, c) in old.refs.iter().zip(&cur.refs) {
            if !ids.check(o.id, c.id) {
                return false;
            }
            let owned = |id: u32, f: Option<u32>| f.is_some_and(|f| id > f);
            if owned(o.id, old_floor) != owned(c.id, cur_floor) {
                return false;
            }
        }
        let n = cur.frames.len();
        for i in 0..n {
            // Caller frames: after the return only r6-r9 (and r10) matter;
            // a callback returns to the helper call itself, which reads
            // its arguments again.
            let live = if i + 1 == n {
                self.live_in.get(idx).copied().unwrap_or(u16::MAX)
            } else if cur.frames[i + 1].in_callback_fn {
                self.live_in.get(cur.frames[i + 1].callsite).copied().unwrap_or(u16::MAX)
            } else {
                let ret = cur.frames[i + 1].callsite + 1;
                self.live_in.get(ret).copied().unwrap_or(u16::MAX) & 0b111_1100_0000
            };
            let sl = stack_live.map(|l| (l, i));
            if !func_states_equal(&old.frames[i], &cur.frames[i], live, sl, &mut ids, exact) {
                return false;
            }
        }
        true
    }

    /// `is_state_visited()`: `true` when the current path can be dropped.
    pub(crate) fn is_state_visited(&mut self, idx: usize) -> VResult<bool> {
        // A callback-calling helper call keeps a state every time
        // (`force_new_state`): the runs of its callback converge against
        // those.
        let calls_callback = self.aux[idx].calls_callback;
        let force_new_state = calls_callback;
        let jmps = self.jmps_processed - self.prev_jmps_processed;
        let insns = self.stats.insn_processed - self.prev_insn_processed;
        // Not before 2 jumps and 8 instructions since the last state.
        let mut add_new_state = force_new_state || (jmps >= 2 && insns >= 8);
        let list = self.explored_at[idx].clone();
        let mut evict = Vec::new();
        let mut states_cnt = 0usize;
        for &id in &list {
            let Some(e) = &self.explored[id] else { continue };
            states_cnt += 1;
            let on_path = self.chain.get(id).is_some_and(|c| c.branches > 0);
            let hit = if on_path {
                let hit = if calls_callback {
                    // Another run of the callback from a state the
                    // earlier one at this call covers adds nothing: the
                    // walk from that one explores it.
                    self.states_equal(&e.state, idx, Exact::RangeWithin, None)
                } else {
                    if same_ignoring_precision(&e.state, &self.cur) {
                        let st = super::fmt::state_repr(self, &self.cur);
                        let old = super::fmt::state_repr(self, &e.state);
                        let e = self.reject(EINVAL, format!("infinite loop detected at insn {idx}"));
                        self.log.line(&format!("cur state:{st}"));
                        self.log.line(&format!("old state:{old}"));
                        return Err(e);
                    }
                    false
                };
                // Inside a loop, keep a state only every 20 jumps or 100
                // instructions: the iterations differ anyway.
                if !hit && !force_new_state && jmps < 20 && insns < 100 {
                    add_new_state = false;
                }
                hit
            } else {
                // Finished (no path below it pending): its read marks are
                // complete.
                let live = self.chain.get(id).map(|c| &c.live);
                self.states_equal(&e.state, idx, Exact::NotExact, live)
            };
            if hit {
                let old = e.state.clone();
                if let Some(e) = self.explored[id].as_mut() {
                    e.hit += 1;
                }
                self.propagate_precision(&old);
                self.propagate_stack_liveness(id, on_path);
                return Ok(true);
            }
            // A miss counts only when a state is to be added here, so that
            // the iterations of a loop do not evict the earlier ones.
            // Checkpoints at a callback call stay longer on the path
            // (`n = 64` for force checkpoints in the kernel).
            let n = if calls_callback && on_path { 64 } else { 3 };
            if let Some(e) = self.explored[id].as_mut() {
                if add_new_state {
                    e.miss += 1;
                }
                if e.miss > e.hit * n + n {
                    evict.push(id);
                }
            }
        }
        // An evicted state is freed at once when no path below it is
        // pending, else when the last one finishes (it counts towards
        // `peak_states` until then, as the kernel's free list does).
        for id in evict {
            self.explored[id] = None;
            self.explored_at[idx].retain(|&x| x != id);
            match self.chain.get_mut(id) {
                Some(c) if c.branches > 0 => c.in_free_list = true,
                _ => self.cur_states = self.cur_states.saturating_sub(1),
            }
        }
        // The states looked at, before the new one.
        self.stats.max_states_per_insn = self.stats.max_states_per_insn.max(states_cnt as u32);
        let add = add_new_state && (self.input.opts.bpf_capable || states_cnt <= COMPLEXITY_LIMIT_STATES);
        if add {
            self.prev_jmps_processed = self.jmps_processed;
            self.prev_insn_processed = self.stats.insn_processed;
            let id = self.explored.len();
            self.explored.push(Some(Explored { state: self.cur.clone(), hit: 0, miss: 0 }));
            self.explored_at[idx].push(id);
            self.chain.push(super::ChainEntry {
                parent: self.cur_parent,
                branches: 1,
                hist: std::mem::take(&mut self.hist),
                all_precise: false,
                idx,
                live: StackLive {
                    written: std::mem::take(&mut self.cur_written),
                    frames: self.cur.frames.len(),
                    ..StackLive::default()
                },
                in_free_list: false,
            });
            self.cur_parent = Some(id);
            self.stats.total_states += 1;
            self.cur_states += 1;
            self.stats.peak_states = self.stats.peak_states.max(self.cur_states);
        }
        Ok(false)
    }
}
