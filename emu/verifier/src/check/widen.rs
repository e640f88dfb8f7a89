//! Widening after a callback run (`find_prev_entry()`,
//! `widen_imprecise_scalars()` and `maybe_widen_reg()` in
//! kernel/bpf/verifier.c, Linux 6.7+).
//!
//! A callback may run any number of times, each run starting from the
//! caller's state as the previous one left it (see `call`). A counter the
//! callback bumps through its context would take a new value on every
//! run, and the runs would never converge. So when a run returns to its
//! helper call, every scalar register and spilled scalar of the state
//! that differs from the one in the state kept at that call earlier on
//! the same path, and that is precise in neither, becomes unknown: no
//! safety decision depended on its value, and an unknown value covers
//! every later run. A scalar some check needed stays exact; its runs end
//! when `bpf_loop`'s count is reached or the values repeat.

use super::Verifier;
use super::prune::{IdMap, regs_exact};
use crate::state::{RegState, RegType, VerifierState};

/// `maybe_widen_reg()`.
fn maybe_widen_reg(old: &RegState, cur: &mut RegState, ids: &mut IdMap) {
    if old.typ != RegType::Scalar || cur.typ != RegType::Scalar {
        return;
    }
    if old.precise || cur.precise || regs_exact(old, cur, ids) {
        return;
    }
    *cur = RegState { live: cur.live, ..RegState::unknown_scalar() };
}

/// The same frames, called from the same places (`same_callsites()`).
fn same_callsites(a: &VerifierState, b: &VerifierState) -> bool {
    a.frames.len() == b.frames.len() && a.frames.iter().zip(&b.frames).all(|(x, y)| x.callsite == y.callsite)
}

/// `widen_imprecise_scalars()`.
fn widen_imprecise_scalars(old: &VerifierState, cur: &mut VerifierState) {
    let mut ids = IdMap::default();
    for (fo, fc) in old.frames.iter().zip(cur.frames.iter_mut()) {
        for (ro, rc) in fo.regs.iter().zip(fc.regs.iter_mut()) {
            maybe_widen_reg(ro, rc, &mut ids);
        }
        for (so, sc) in fo.stack.iter().zip(fc.stack.iter_mut()) {
            if so.is_spilled_reg() && sc.is_spilled_reg() {
                maybe_widen_reg(&so.spilled, &mut sc.spilled, &mut ids);
            }
        }
    }
}

impl Verifier<'_, '_> {
    /// After a callback run returned to its helper call at `callsite`:
    /// widens against the latest state kept there on the current path
    /// (`find_prev_entry()`: an ancestor, with the same call frames), if
    /// any is still kept.
    pub(crate) fn widen_after_callback(&mut self, callsite: usize) {
        let mut at = self.cur_parent;
        while let Some(id) = at {
            let Some(c) = self.chain.get(id) else { return };
            if c.idx == callsite
                && c.branches > 0
                && let Some(Some(e)) = self.explored.get(id)
                && same_callsites(&e.state, &self.cur)
            {
                let old = e.state.clone();
                widen_imprecise_scalars(&old, &mut self.cur);
                return;
            }
            at = c.parent;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::FuncState;

    #[test]
    fn widens_changed_imprecise_scalars_only() {
        let mut f = FuncState::new(0, 0, 0);
        f.regs[6] = RegState::constant(0);
        f.regs[7] = RegState::constant(1);
        f.regs[8] = RegState { precise: true, ..RegState::constant(2) };
        f.regs[9] = RegState::pointer(RegType::Ctx);
        let old =
            VerifierState { frames: vec![f.clone()], refs: vec![], active_lock: 0, callback_unroll_depth: 0 };
        let mut g = f;
        g.regs[6] = RegState::constant(1); // changed, imprecise: widened
        g.regs[8] = RegState { precise: true, ..RegState::constant(3) }; // precise: kept
        let mut cur =
            VerifierState { frames: vec![g], refs: vec![], active_lock: 0, callback_unroll_depth: 1 };
        widen_imprecise_scalars(&old, &mut cur);
        let r = &cur.frames[0].regs;
        assert_eq!(r[6].typ, RegType::Scalar);
        assert!(r[6].var.const_value().is_none());
        assert_eq!(r[7].const_value(), Some(1));
        assert_eq!(r[8].const_value(), Some(3));
        assert_eq!(r[9].typ, RegType::Ctx);
    }
}
