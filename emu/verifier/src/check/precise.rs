//! Precision tracking (`mark_chain_precision()`, `backtrack_insn()`,
//! `propagate_precision()`, `mark_all_scalars_precise()` in
//! kernel/bpf/verifier.c).
//!
//! Pruning may ignore the exact value of a scalar that no safety decision
//! depended on. When one does — a scalar added to a pointer, a branch
//! decided by bounds, a call argument, the exit value — the scalar is
//! marked *precise*, and the marking is carried back along the path: the
//! walk's history tells which registers and stack slots the value came
//! from, and those become precise in every kept state on the way. A kept
//! state's scalars that are not precise then match any scalar
//! ([`super::prune`]). When a path is pruned, the precise registers of the
//! state that covered it become precise along the pruned path too.
//!
//! The walk follows the frames as the kernel's `backtrack_insn()` does,
//! with a register mask per frame: going back into a callee's `exit`, the
//! caller's r0 becomes the callee's (none for a callback run, whose r0 its
//! helper consumed) while the caller's r6-r9 wait in their frame; going
//! back past a callee's first instruction, its r1-r5 become the caller's
//! (a bpf2bpf call) or are dropped (set by a callback's helper). Stack
//! slots are named by frame and slot, whichever frame accesses them.
//!
//! Simplifications, all towards more precision: every call argument and
//! every exit value is precise; a need of a callee's own stack slot at its
//! first instruction, an atomic fetch into a precise register, or a
//! comparison of values with copies outside the current frame's registers
//! gives up and marks every scalar of every kept ancestor precise.

use super::Verifier;
use crate::proto::is_sync_callback_helper;
use crate::state::{FuncState, MAX_CALL_FRAMES, RegType, VerifierState};
use bpfemu_isa::{AluOp, AtomicOp, CallTarget, Instruction, Source};

/// One instruction of a path's history (`struct bpf_jmp_history_entry`,
/// here kept for every instruction).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistEntry {
    /// Its slot.
    pub idx: u32,
    /// Frames when it ran.
    pub frames: u32,
    /// The fixed stack slot `(frame, spi)` it loaded from or stored to.
    pub slot: Option<(u32, u32)>,
    /// A conditional jump: current-frame registers linked to an operand.
    pub linked: u16,
    /// A conditional jump: linked copies outside the current frame's
    /// registers.
    pub linked_other: bool,
    /// An `exit` that ended a run of a callback (it returned to the
    /// helper call, not after it).
    pub cb_exit: bool,
}

/// What must stay exact going backwards (`struct backtrack_state`):
/// registers per frame (index = frame number), stack slots `(frame, spi)`,
/// and the frame the walk is in.
struct Need {
    regs: [u16; MAX_CALL_FRAMES],
    slots: Vec<(u32, u32)>,
    frame: usize,
}

impl Need {
    fn new(frame: usize) -> Need {
        Need { regs: [0; MAX_CALL_FRAMES], slots: Vec::new(), frame }
    }
    fn empty(&self) -> bool {
        self.regs.iter().all(|&m| m == 0) && self.slots.is_empty()
    }
    fn mask(&mut self) -> &mut u16 {
        &mut self.regs[self.frame]
    }
    fn has(&self, r: usize) -> bool {
        self.regs[self.frame] & (1 << r) != 0
    }
    fn set(&mut self, r: usize) {
        *self.mask() |= 1 << r;
    }
    fn clear(&mut self, r: usize) {
        *self.mask() &= !(1 << r);
    }

    /// Going backwards from frame `frame` into the `exit` of the callee
    /// frame above it (`backtrack_insn()`'s `BPF_EXIT` case): a
    /// subprogram's r0 was the caller's r0 after the call, a callback's r0
    /// was consumed by its helper; the caller's r1-r5 were clobbered by
    /// the call; its r6-r9 wait in their frame.
    fn enter_callee(&mut self, callback: bool) -> bool {
        let c = self.frame;
        if c + 1 >= MAX_CALL_FRAMES {
            return false;
        }
        let r0 = self.regs[c] & 1;
        self.regs[c] &= !0b11_1111;
        self.regs[c + 1] = if callback { 0 } else { r0 };
        self.frame = c + 1;
        true
    }

    /// Going backwards past the first instruction of a callee frame into
    /// the call that created it: a bpf2bpf callee's r1-r5 were the
    /// caller's (`bt_subprog_enter()`); a callback's were set by its
    /// helper, not by the caller. The callee's own stack did not exist.
    fn leave_callee(&mut self, bpf2bpf: bool) -> bool {
        let c = self.frame;
        if c == 0 || self.slots.iter().any(|&(f, _)| f as usize >= c) {
            return false;
        }
        if bpf2bpf {
            self.regs[c - 1] |= self.regs[c] & 0b11_1110;
        }
        self.regs[c] = 0;
        self.frame = c - 1;
        true
    }
}

/// Steps back over one instruction (`backtrack_insn()`); `false` to give up.
fn backtrack(ins: &Instruction, e: &HistEntry, need: &mut Need) -> bool {
    use Instruction::*;
    match *ins {
        Alu { op: AluOp::Mov | AluOp::MovSx(_), dst, src, .. } => {
            if need.has(dst.idx()) {
                need.clear(dst.idx());
                if let Source::Reg(s) = src {
                    need.set(s.idx());
                }
            }
        }
        Alu { dst, src, .. } => {
            if need.has(dst.idx())
                && let Source::Reg(s) = src
            {
                need.set(s.idx());
            }
        }
        Neg { .. } | Endian { .. } | Ja { .. } => {}
        Jmp { dst, src, .. } => {
            let mut group = e.linked | 1 << dst.idx();
            if let Source::Reg(s) = src {
                group |= 1 << s.idx();
            }
            if *need.mask() & group != 0 {
                if e.linked_other {
                    return false;
                }
                *need.mask() |= group;
            }
        }
        LdImm64 { dst, .. } => need.clear(dst.idx()),
        LdPacket { .. } | Call(_) => *need.mask() &= !0b11_1111,
        // Reached only after entering the callee's frame (`Need::enter_callee`).
        Exit => {}
        Ldx { dst, .. } => {
            if need.has(dst.idx()) {
                need.clear(dst.idx());
                if let Some(s) = e.slot
                    && !need.slots.contains(&s)
                {
                    need.slots.push(s);
                }
            }
        }
        St { .. } => {
            if let Some(s) = e.slot {
                need.slots.retain(|x| *x != s);
            }
        }
        Stx { src, .. } => {
            if let Some(s) = e.slot
                && need.slots.contains(&s)
            {
                need.slots.retain(|x| *x != s);
                need.set(src.idx());
            }
        }
        Atomic { op, src, .. } => {
            let load = match op {
                AtomicOp::CmpXchg => Some(0),
                AtomicOp::Add { fetch: false }
                | AtomicOp::Or { fetch: false }
                | AtomicOp::And { fetch: false }
                | AtomicOp::Xor { fetch: false } => None,
                _ => Some(src.idx()),
            };
            if load.is_some_and(|r| need.has(r)) || e.slot.is_some_and(|s| need.slots.contains(&s)) {
                return false;
            }
        }
    }
    true
}

/// Marks what `need` names precise in `st` (the registers of each of its
/// frames, stack slots), dropping from `need` what already was.
fn mark_in_state(st: &mut VerifierState, need: &mut Need) {
    for (fi, f) in st.frames.iter_mut().enumerate().take(MAX_CALL_FRAMES) {
        for r in 0..f.regs.len() {
            if need.regs[fi] & (1 << r) != 0 {
                let reg = &mut f.regs[r];
                if reg.typ != RegType::Scalar || reg.precise {
                    need.regs[fi] &= !(1 << r);
                } else {
                    reg.precise = true;
                }
            }
        }
    }
    need.slots.retain(|&(fr, spi)| {
        let Some(slot) = st.frames.get_mut(fr as usize).and_then(|f| f.stack.get_mut(spi as usize)) else {
            return true;
        };
        if slot.spilled.typ == RegType::Scalar && slot.slot_type.contains(&crate::state::SlotType::Spill) {
            if slot.spilled.precise {
                return false;
            }
            slot.spilled.precise = true;
        }
        true
    });
}

fn mark_all_in_frame(f: &mut FuncState) {
    for r in f.regs.iter_mut() {
        if r.typ == RegType::Scalar {
            r.precise = true;
        }
    }
    for s in f.stack.iter_mut() {
        if s.spilled.typ == RegType::Scalar {
            s.spilled.precise = true;
        }
    }
}

impl Verifier<'_, '_> {
    /// `mark_chain_precision()` for the registers in `mask` (innermost
    /// frame) at the instruction being checked.
    pub(crate) fn mark_precise(&mut self, mask: u16) {
        let mut need = Need::new(self.cur.frames.len() - 1);
        need.regs[need.frame] = mask;
        self.backtrack_from_cur(&mut need);
    }

    /// `mark_chain_precision()` for the spilled register in stack slot
    /// `spi` of frame `frame` (`bt_set_frame_slot()` + the batch walk).
    pub(crate) fn mark_slot_precise(&mut self, frame: u32, spi: u32) {
        let mut need = Need::new(self.cur.frames.len() - 1);
        need.slots.push((frame, spi));
        self.backtrack_from_cur(&mut need);
    }

    /// After the current state was found covered by `old`: what was
    /// precise there must be precise along the current path
    /// (`propagate_precision()`).
    pub(crate) fn propagate_precision(&mut self, old: &VerifierState) {
        let mut need = Need::new(self.cur.frames.len() - 1);
        if old.frames.len() > MAX_CALL_FRAMES {
            self.mark_all_precise();
            return;
        }
        for (fi, f) in old.frames.iter().enumerate() {
            for (r, reg) in f.regs.iter().enumerate() {
                if reg.typ == RegType::Scalar && reg.precise {
                    need.regs[fi] |= 1 << r;
                }
            }
            for (spi, s) in f.stack.iter().enumerate() {
                if s.spilled.typ == RegType::Scalar && s.spilled.precise {
                    need.slots.push((fi as u32, spi as u32));
                }
            }
        }
        self.backtrack_from_cur(&mut need);
    }

    fn backtrack_from_cur(&mut self, need: &mut Need) {
        // The current state itself is not marked: it is never the old
        // side of a comparison, and the states kept after this point get
        // their marks from later backtracking if they need them
        // (`__mark_chain_precision()` skips its starting state).
        let hist = std::mem::take(&mut self.hist);
        let ok = self.walk_back(&hist, need);
        self.hist = hist;
        if !ok {
            self.mark_all_precise();
        }
    }

    /// Walks `hist` (the current segment) and then the kept ancestors.
    fn walk_back(&mut self, first: &[HistEntry], need: &mut Need) -> bool {
        if need.empty() {
            return true;
        }
        if !self.walk_segment(first, need) {
            return false;
        }
        let mut at = self.cur_parent;
        while let Some(id) = at {
            if need.empty() {
                return true;
            }
            if let Some(e) = self.explored.get_mut(id).and_then(Option::as_mut) {
                if e.state.frames.len() != need.frame + 1 {
                    return false;
                }
                mark_in_state(&mut e.state, need);
            }
            if need.empty() {
                return true;
            }
            let hist = std::mem::take(&mut self.chain[id].hist);
            let ok = self.walk_segment(&hist, need);
            self.chain[id].hist = hist;
            if !ok {
                return false;
            }
            at = self.chain[id].parent;
        }
        true
    }

    fn walk_segment(&self, hist: &[HistEntry], need: &mut Need) -> bool {
        for e in hist.iter().rev() {
            if need.empty() {
                return true;
            }
            let Some(&pi) = self.slot_to_insn.get(e.idx as usize) else { return false };
            let Some((_, ins)) = self.prog.get(pi) else { return false };
            let fi = (e.frames as usize).wrapping_sub(1);
            if fi == need.frame + 1 {
                // The exit of a callee (or of a callback run) that
                // returned to the instruction walked last.
                if !matches!(ins, Instruction::Exit) || !need.enter_callee(e.cb_exit) {
                    return false;
                }
                continue;
            }
            if fi + 1 == need.frame {
                // The call that created the frame walked so far.
                match ins {
                    Instruction::Call(CallTarget::Local(_)) => {
                        if !need.leave_callee(true) {
                            return false;
                        }
                        // The call reads the arguments just moved here.
                        continue;
                    }
                    Instruction::Call(CallTarget::Helper(id)) if is_sync_callback_helper(*id) => {
                        if !need.leave_callee(false) {
                            return false;
                        }
                    }
                    _ => return false,
                }
            } else if fi != need.frame {
                return false;
            }
            if !backtrack(ins, e, need) {
                return false;
            }
        }
        true
    }

    /// The fallback (`mark_all_scalars_precise()`): every scalar of every
    /// kept ancestor becomes precise (not the current state's, as above).
    pub(crate) fn mark_all_precise(&mut self) {
        let mut at = self.cur_parent;
        while let Some(id) = at {
            if self.chain[id].all_precise {
                break;
            }
            self.chain[id].all_precise = true;
            if let Some(e) = self.explored.get_mut(id).and_then(Option::as_mut) {
                for f in e.state.frames.iter_mut() {
                    mark_all_in_frame(f);
                }
            }
            at = self.chain[id].parent;
        }
    }
}
