//! Reference tracking (kernel/bpf/verifier.c: `acquire_reference_state()`,
//! `release_reference_state()`, `release_reference()`,
//! `check_reference_leak()`).
//!
//! An acquired object (a ring-buffer record from `bpf_ringbuf_reserve`, a
//! kernel object from an acquiring kfunc) gets a fresh id, recorded with the
//! acquiring instruction in [`VerifierState::refs`]; the returned register
//! carries it as `ref_obj_id` (and as `id`, so the null check finds every
//! copy). Releasing it removes the record and kills every register and
//! spilled register, in every frame, that still holds that id: "released
//! references are dead" (the kernel marks them `NOT_INIT`, or unknown when
//! pointer leaks are allowed; here they are always `NOT_INIT`).
//!
//! Differences from the kernel: references live in the whole path's state
//! instead of being copied between frames (`copy_reference_state()`), which
//! is equivalent because only one path is walked at a time. A callback's
//! path keeps its caller's references (the caller goes on with them after
//! the callback returns, see `call`); [`FuncState::callback_ref_floor`]
//! tells the references a callback acquired (ids above it: ids only grow)
//! from its caller's: it must release its own before it returns, and may
//! not release its caller's (it may run zero times). Pruning compares that
//! split too.
//!
//! [`VerifierState::refs`]: crate::state::VerifierState::refs
//! [`FuncState::callback_ref_floor`]: crate::state::FuncState::callback_ref_floor

use super::{VResult, Verifier, VerifyError};
use crate::errno::EINVAL;
use crate::state::{RefState, RegState};

impl Verifier<'_, '_> {
    /// Records a new reference acquired by the instruction being checked
    /// (`acquire_reference_state()`); returns its id.
    pub(crate) fn acquire_reference(&mut self) -> u32 {
        let id = self.new_id();
        self.cur.refs.push(RefState { id, insn_idx: self.insn_idx });
        id
    }

    /// Forgets reference `id` without touching registers
    /// (`release_reference_state()`): what the `== NULL` branch of a null
    /// check does for the register that held it. Returns whether it was
    /// held.
    pub(crate) fn release_reference_state(&mut self, id: u32) -> bool {
        match self.cur.refs.iter().position(|r| r.id == id) {
            Some(i) => {
                self.cur.refs.remove(i);
                true
            }
            None => false,
        }
    }

    /// The innermost callback frame's floor: references with an id at or
    /// below it were acquired outside the callback.
    fn callback_floor(&self) -> Option<u32> {
        self.cur.frames.iter().rev().find(|f| f.in_callback_fn).map(|f| f.callback_ref_floor)
    }

    /// Releases reference `ref_obj_id` (`release_reference()`): the record
    /// goes and every register or spilled register holding it becomes
    /// `NOT_INIT`, or an unknown scalar when pointer leaks are allowed
    /// (`mark_reg_invalid()`). `Err(())` when the reference is not held (the caller
    /// logs its own message), or was acquired outside the callback being
    /// verified (a callback may run any number of times, even zero, so it
    /// cannot consume its caller's references).
    pub(crate) fn release_reference(&mut self, ref_obj_id: u32) -> Result<(), ()> {
        if ref_obj_id == 0 {
            return Err(());
        }
        if let Some(floor) = self.callback_floor()
            && ref_obj_id <= floor
        {
            return Err(());
        }
        if !self.release_reference_state(ref_obj_id) {
            return Err(());
        }
        // mark_reg_invalid(): NOT_INIT, or an unknown scalar for loaders
        // allowed to leak pointers (root).
        let invalid =
            if self.input.opts.allow_ptr_leaks { RegState::unknown_scalar() } else { RegState::not_init() };
        for frame in &mut self.cur.frames {
            for reg in frame.regs.iter_mut() {
                if reg.ref_obj_id == ref_obj_id {
                    *reg = invalid.clone();
                }
            }
            for slot in &mut frame.stack {
                if slot.is_spilled_reg() && slot.spilled.ref_obj_id == ref_obj_id {
                    slot.spilled = invalid.clone();
                }
            }
        }
        Ok(())
    }

    /// The references a leak check at this point must find released
    /// (`check_reference_leak()`): all of them at the main program's exit
    /// or a tail call, those the callback acquired at a callback's exit,
    /// none at a plain subprogram's exit (they go back to the caller).
    fn leaked_refs(&self, all: bool) -> Vec<RefState> {
        if all {
            return self.cur.refs.clone();
        }
        let f = self.cur.cur();
        if f.frameno != 0 && !f.in_callback_fn {
            return Vec::new();
        }
        let floor = if f.in_callback_fn { f.callback_ref_floor } else { 0 };
        self.cur.refs.iter().filter(|r| r.id > floor).copied().collect()
    }

    /// `check_reference_leak()`: logs `Unreleased reference id=%d
    /// alloc_insn=%d` for each leaked reference; `EINVAL`. With `extra`,
    /// one more line follows (the tail call's message). With `all`, every
    /// held reference counts, in any frame: a tail call never returns to
    /// any caller (the kernel of this era checks only the main frame and
    /// callbacks, and later kernels fixed that).
    pub(crate) fn check_reference_leak(&mut self, extra: Option<&str>, all: bool) -> VResult<()> {
        let leaked = self.leaked_refs(all);
        if leaked.is_empty() {
            return Ok(());
        }
        let mut lines: Vec<String> = leaked
            .iter()
            .map(|r| format!("Unreleased reference id={} alloc_insn={}", r.id, r.insn_idx))
            .collect();
        if let Some(e) = extra {
            lines.push(e.to_string());
        }
        for l in &lines {
            self.log.line(l);
        }
        Err(VerifyError { errno: EINVAL, msg: lines.join("\n") })
    }
}
