//! Calls: helpers, kfuncs, bpf2bpf, callbacks, tail calls.
//! OWNER: helper "calls" (replace this placeholder).

use super::{VResult, Verifier};
use bpfemu_isa::CallTarget;

impl Verifier<'_, '_> {
    /// Checks the `call` at `self.insn_idx` and applies its effect on the
    /// current state. Returns `Some(slot)` when the walk continues
    /// elsewhere (the first slot of a bpf2bpf callee, a new frame pushed),
    /// `None` to continue with the next instruction.
    pub(crate) fn check_call(&mut self, target: CallTarget) -> VResult<Option<usize>> {
        let _ = target;
        todo!("calls")
    }
}
