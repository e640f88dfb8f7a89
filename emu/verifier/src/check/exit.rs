//! `exit`: return from a subprogram or callback frame, or the end of a path
//! in the main program. OWNER: helper "calls" (replace this placeholder).
//!
//! Interim body (core branch only, replaced by the "calls" helper): the
//! main program's exit needs an initialised, non-pointer r0; frames are
//! not popped yet.

use super::{EACCES, VResult, Verifier};
use crate::errno::EINVAL;

impl Verifier<'_, '_> {
    /// Checks the `exit` at `self.insn_idx`. Returns `Some(slot)` when a
    /// frame was popped and the walk continues in the caller at `slot`
    /// (the instruction after the call), `None` when this path is done
    /// (main program exit, checks passed: r0 initialised and in the
    /// program type's return range, no leaked reference, no held lock).
    pub(crate) fn check_exit(&mut self) -> VResult<Option<usize>> {
        if self.cur.frames.len() > 1 {
            return Err(self.reject(EINVAL, "exit from a subprogram frame is not supported"));
        }
        self.check_reg_read(0)?;
        if self.is_pointer_value(0) {
            return Err(self.reject(EACCES, "R0 leaks addr as return value"));
        }
        Ok(None)
    }
}
