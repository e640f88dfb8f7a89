//! Memory access checks (`check_mem_access()` and its per-type parts).
//! OWNER: helper "core" (replace this placeholder).

use super::{VResult, Verifier};
use crate::env::Access;

impl Verifier<'_, '_> {
    /// Checks a helper's memory argument in register `regno`:
    /// `[reg, reg + size)` must be accessible for `access`
    /// (`check_helper_mem_access()`): stack (initialised for reads unless
    /// `uninit`, marked initialised on writes), map value, packet (within
    /// the proven range), mem, ctx is refused. `size` is the largest size
    /// the size argument may have (`umax`); `zero_size_allowed` also
    /// accepts a NULL pointer with size 0 when the caller allows NULL.
    pub(crate) fn check_helper_mem(
        &mut self,
        regno: usize,
        size: u64,
        access: Access,
        uninit: bool,
        zero_size_allowed: bool,
    ) -> VResult<()> {
        let _ = (regno, size, access, uninit, zero_size_allowed);
        todo!("core")
    }

    /// `check_reg_arg(regno, SRC_OP)`: the register must be initialised
    /// ("R%d !read_ok"); marks it read for liveness.
    pub(crate) fn check_reg_read(&mut self, regno: usize) -> VResult<()> {
        let _ = regno;
        todo!("core")
    }

    /// `check_reg_arg(regno, DST_OP)` after the caller set the register:
    /// marks it written for liveness ("frame pointer is read only" for
    /// r10 is checked by the caller).
    pub(crate) fn mark_reg_written(&mut self, regno: usize) {
        let _ = regno;
        todo!("core")
    }

    /// Pushes a pending path: `state` will be walked from slot `insn`
    /// (`push_stack()`); `E2BIG` "The sequence of %d jumps is too complex."
    /// when too many are pending.
    pub(crate) fn push_branch(&mut self, state: crate::state::VerifierState, insn: usize) -> VResult<()> {
        let _ = (state, insn);
        todo!("core")
    }
}
