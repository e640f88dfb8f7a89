//! Stack-slot liveness: which stack slots of a kept state some path from
//! it reads before writing them (the kernel's `REG_LIVE_READ` /
//! `REG_LIVE_WRITTEN` marks on `stack[spi].spilled_ptr`, `mark_reg_read()`,
//! `propagate_liveness()`, and `stacksafe()` skipping the slots without a
//! read mark; kernel/bpf/verifier.c before the 6.18 rework).
//!
//! Each kept state ([`super::ChainEntry`]) carries, per frame, a bitmask of
//! its 64 slots (`MAX_BPF_STACK / BPF_REG_SIZE`):
//!
//! * `written`: slots wholly overwritten (an 8-byte store at a constant
//!   offset) on the way from its parent to it; the current path keeps the
//!   same mask for its segment since its last kept state
//!   ([`super::Verifier::cur_written`]);
//! * `read`: slots some path from it reads while they still hold the
//!   value they had in it.
//!
//! A read of slot `(frame, spi)` walks the chain of kept states up from
//! the current path's last one and marks each, until a segment that wrote
//! the slot (the older value was not read), a state already marked (its
//! own walk went on from there), or a state without that frame (the frame
//! was pushed after it) — `mark_reg_read()`. A path pruned against a kept
//! state reads what that state's paths read: its read marks are walked up
//! from the pruned path's last kept state (`propagate_liveness()`, which
//! does not look at the pruned path's own writes either).
//!
//! Only finished states (no pending path below them, `branches == 0`) are
//! used for ordinary pruning, so their marks are complete
//! (`clean_live_states()` waits for the same). One exception: a state
//! pruned against one on its own path (a callback run converging at its
//! helper call, `RANGE_WITHIN`) continues as that state does, whose marks
//! are not complete yet; every kept state between the two (what the
//! kernel's loop-entry rule compares exactly) is *poisoned*: all of its
//! slots count as read.
//!
//! What counts as a read, on the conservative side of the kernel:
//! loads (fixed and variable offset), atomics, helper and global-function
//! memory arguments that are read, dynptr arguments (both slots), and —
//! unlike the kernel — a store of fewer than 8 bytes
//! (its checks depend on the slot: "attempt to corrupt spilled pointer on
//! stack"). Writes that depend on what a slot holds otherwise only do so
//! for dynptr and iterator slots, so `stacksafe()` never skips a slot that
//! holds one of those in either state.
//!
//! The `mark_read` statistic counts the most kept states one walk marked
//! (the old kernels' `longest_mark_read_walk`, which also counted register
//! reads). Linux 6.18 computes stack liveness path-insensitively and no
//! longer walks parentage chains, so its log always says `mark_read 0`;
//! bpfemu's log does the same and the count is only in `Stats`.

use super::Verifier;
use crate::state::{MAX_CALL_FRAMES, SlotType, StackSlot};

/// Slots per frame (`MAX_BPF_STACK / BPF_REG_SIZE`): one bit each.
const SLOTS: usize = 64;

/// The liveness marks of one kept state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StackLive {
    /// Per frame: slots read by some path from the state (`REG_LIVE_READ`).
    pub read: [u64; MAX_CALL_FRAMES],
    /// Per frame: slots wholly written between the state's parent and it
    /// (`REG_LIVE_WRITTEN`).
    pub written: [u64; MAX_CALL_FRAMES],
    /// Some path from the state was pruned against a state on its own
    /// path: every slot counts as read.
    pub poisoned: bool,
    /// Frames of the state.
    pub frames: usize,
}

impl StackLive {
    /// `stacksafe()` may skip slot `spi` of frame `f` of the old state:
    /// no path from it reads the slot, and neither state holds a dynptr or
    /// an iterator there (writes over those are checked against them).
    pub fn skips(&self, f: usize, spi: usize, old: &StackSlot, cur: &StackSlot) -> bool {
        let special =
            |s: &StackSlot| s.slot_type.iter().any(|t| matches!(t, SlotType::Dynptr | SlotType::Iter));
        !self.poisoned
            && f < MAX_CALL_FRAMES
            && spi < SLOTS
            && self.read[f] & (1 << spi) == 0
            && !special(old)
            && !special(cur)
    }
}

/// `spi` of the byte at `off` from the frame pointer (`off < 0`).
fn spi_of(off: i64) -> usize {
    ((-off - 1) / crate::state::BPF_REG_SIZE as i64) as usize
}

impl Verifier<'_, '_> {
    /// `mark_reg_read()` for slot `spi` of frame `f`, read by the current
    /// path.
    pub(crate) fn mark_stack_read(&mut self, f: usize, spi: usize) {
        if f >= MAX_CALL_FRAMES || spi >= SLOTS || self.cur_written[f] & (1 << spi) != 0 {
            return;
        }
        self.mark_read_from(self.cur_parent, f, spi);
    }

    /// Every slot a read of `[min_off, max_off)` of frame `f` touches.
    pub(crate) fn mark_stack_range_read(&mut self, f: usize, min_off: i64, max_off: i64) {
        if min_off >= max_off || max_off > 0 {
            return;
        }
        for spi in spi_of(max_off - 1)..=spi_of(min_off) {
            self.mark_stack_read(f, spi);
        }
    }

    /// A store of all 8 bytes of slot `spi` of frame `f`: later reads on
    /// this path do not depend on the older value.
    pub(crate) fn mark_stack_written(&mut self, f: usize, spi: usize) {
        if f < MAX_CALL_FRAMES && spi < SLOTS {
            self.cur_written[f] |= 1 << spi;
        }
    }

    /// The walk of `mark_reg_read()` from kept state `at` up.
    fn mark_read_from(&mut self, mut at: Option<usize>, f: usize, spi: usize) {
        let bit = 1u64 << spi;
        let mut cnt = 0u32;
        while let Some(id) = at {
            let Some(c) = self.chain.get_mut(id) else { break };
            let l = &mut c.live;
            if l.frames <= f || l.read[f] & bit != 0 {
                break;
            }
            l.read[f] |= bit;
            cnt += 1;
            if l.written[f] & bit != 0 {
                break;
            }
            at = c.parent;
        }
        self.stats.mark_read = self.stats.mark_read.max(cnt);
    }

    /// `propagate_liveness()`: the current path was pruned against kept
    /// state `id`; what paths from that state read, the pruned path
    /// would have read. Against a state on the current path
    /// (`on_path`), whose marks are not complete, the kept states between
    /// the two are poisoned.
    pub(crate) fn propagate_stack_liveness(&mut self, id: usize, on_path: bool) {
        let Some(live) = self.chain.get(id).map(|c| c.live) else { return };
        for f in 0..live.frames.min(MAX_CALL_FRAMES) {
            let mask = if live.poisoned { u64::MAX } else { live.read[f] };
            for spi in 0..SLOTS {
                if mask & (1 << spi) != 0 {
                    self.mark_read_from(self.cur_parent, f, spi);
                }
            }
        }
        if on_path {
            let mut at = self.cur_parent;
            while let Some(a) = at {
                if a == id {
                    break;
                }
                let Some(c) = self.chain.get_mut(a) else { break };
                c.live.poisoned = true;
                at = c.parent;
            }
        }
    }
}
