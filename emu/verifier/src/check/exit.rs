//! `exit`: return from a subprogram or callback frame, or the end of a path
//! in the main program. OWNER: helper "calls" (replace this placeholder).

use super::{VResult, Verifier};

impl Verifier<'_, '_> {
    /// Checks the `exit` at `self.insn_idx`. Returns `Some(slot)` when a
    /// frame was popped and the walk continues in the caller at `slot`
    /// (the instruction after the call), `None` when this path is done
    /// (main program exit, checks passed: r0 initialised and in the
    /// program type's return range, no leaked reference, no held lock).
    pub(crate) fn check_exit(&mut self) -> VResult<Option<usize>> {
        todo!("calls")
    }
}
