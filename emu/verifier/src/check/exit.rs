//! `exit`: the end of a subprogram, a callback, or a path of the main
//! program (kernel/bpf/verifier.c, Linux 6.1, callbacks as in 6.7+: the `BPF_EXIT` case of
//! `do_check()`, `prepare_func_exit()`, `check_reference_leak()`,
//! `check_return_code()`, `verbose_invalid_scalar()`).
//!
//! * Any frame: no `bpf_spin_lock` may be held ("bpf_spin_unlock is
//!   missing"), and the leak check runs (it only finds something at the
//!   main program's exit and at a callback's exit).
//! * A subprogram frame: the frame is popped and the caller continues after
//!   the call with the callee's r0 (which may be `NOT_INIT`: a `void`
//!   static function leaves it unset, as in the kernel, and the caller
//!   fails only if it reads it). A pointer to the stack may not be
//!   returned ("cannot return stack pointer to the caller"). Pointers to the
//!   popped frame's stack that the callee stored in its callers' stacks
//!   are scrubbed (the kernel keeps them; here they would dangle).
//! * A callback frame: r0 must be a scalar inside the callback's return
//!   range; the frame is popped and the walk goes back to the helper call
//!   that ran the callback, which pushes its next run (see `call`). The
//!   caller's scalars that changed since the state kept at that call
//!   earlier on this path, and were not needed precise, are widened to
//!   unknown (`widen_imprecise_scalars()`), so that the runs converge.
//! * The main program: r0 must be initialised, must not leak a pointer
//!   unless pointer leaks are allowed, and must lie in the program type's
//!   return range ([`crate::env::ProgTypeOps::return_range`]), checked on
//!   its signed bounds and marked precise, as Linux 6.8+ does
//!   (`retval_range_within()`, the message of `verbose_invalid_scalar()`);
//!   nothing is checked for a type whose function returns `void` (an LSM
//!   hook or a struct_ops member: [`crate::env::ProgTypeOps::return_unchecked`]).

use super::args::EACCES;
use super::fmt::reg_type_str;
use super::{VResult, Verifier};
use crate::errno::EINVAL;
use crate::log::{BPF_LOG_LEVEL1, BPF_LOG_LEVEL2};
use crate::state::{RegState, RegType, SlotType};
use crate::tnum::Tnum;

/// `tnum_strn()`: `(value; mask)` printed with `%#llx`; the kernel's
/// `vsnprintf()` (lib/vsprintf.c `number()`) writes the `0x` prefix even
/// for zero, so 0 prints as `0x0`, unlike C's libc.
pub(crate) fn tnum_str(t: Tnum) -> String {
    t.to_string()
}

/// `verbose_invalid_scalar()` (Linux 6.8+): `<ctx> the register R0 has
/// smin=N smax=M should have been in [lo, hi]`, each bound printed only
/// when it is not the type's extreme ("unknown scalar value" when neither
/// is known).
fn invalid_scalar(ctx: &str, reg: &RegState, (lo, hi): (i64, i64)) -> String {
    let mut has = String::new();
    if reg.var.smin > i64::MIN {
        has.push_str(&format!(" smin={}", reg.var.smin));
    }
    if reg.var.smax < i64::MAX {
        has.push_str(&format!(" smax={}", reg.var.smax));
    }
    if has.is_empty() {
        has.push_str(" unknown scalar value");
    }
    format!("{ctx} the register R0 has{has} should have been in [{lo}, {hi}]")
}

/// `retval_range_within()`: r0's signed bounds inside `[lo, hi]`, the
/// 64-bit ones, or the 32-bit ones for a type whose function returns an
/// `int` in a 64-bit register (`return_32bit`: LSM hooks).
fn in_range(reg: &RegState, (lo, hi): (i64, i64), bits32: bool) -> bool {
    if bits32 {
        i64::from(reg.var.s32_min) >= lo && i64::from(reg.var.s32_max) <= hi
    } else {
        reg.var.smin >= lo && reg.var.smax <= hi
    }
}

impl Verifier<'_, '_> {
    /// Checks the `exit` at `self.insn_idx`. Returns `Some(slot)` when a
    /// frame was popped and the walk continues in the caller at `slot`
    /// (the instruction after the call), `None` when this path is done
    /// (main program exit, checks passed: r0 initialised and in the
    /// program type's return range, no leaked reference, no held lock;
    /// or a callback's exit).
    pub(crate) fn check_exit(&mut self) -> VResult<Option<usize>> {
        if self.cur.active_lock != 0 {
            return self.fail(EINVAL, "bpf_spin_unlock is missing");
        }
        self.check_reference_leak(None, false)?;
        if self.cur.frames.len() > 1 {
            return self.prepare_func_exit();
        }
        if self.entry_start != 0 {
            return self.check_global_return().map(|()| None);
        }
        self.check_return_code()?;
        Ok(None)
    }

    /// `prepare_func_exit()`.
    fn prepare_func_exit(&mut self) -> VResult<Option<usize>> {
        let callee = self.cur.cur();
        let r0 = callee.regs[0].clone();
        if r0.typ == RegType::Stack {
            return self.fail(EINVAL, "cannot return stack pointer to the caller");
        }
        let in_callback = callee.in_callback_fn;
        let callsite = callee.callsite;
        if in_callback {
            let range = callee.callback_ret_range;
            if r0.typ != RegType::Scalar {
                return self.fail(EACCES, "R0 not a scalar value");
            }
            self.check_reg_read(0)?;
            // The range check relies on r0's value: precise.
            self.mark_precise(1);
            if !in_range(&r0, range, false) {
                let msg = invalid_scalar("At callback return", &r0, range);
                return self.fail(EINVAL, msg);
            }
        }
        // A callback returns to the helper call that ran it, which pushes
        // the next run (`push_callback_call()`); a subprogram to the
        // instruction after its call.
        let ret = if in_callback { callsite } else { callsite + 1 };
        let verbose = self.log.level() & (BPF_LOG_LEVEL1 | BPF_LOG_LEVEL2) != 0;
        let callee_text = if verbose {
            super::fmt::frame_repr(self, self.cur.frames.len() - 1, None)
        } else {
            String::new()
        };
        let Some(popped) = self.cur.frames.pop() else {
            return Ok(None);
        };
        self.scrub_dead_frame_pointers(popped.frameno);
        if !in_callback {
            self.cur.cur_mut().regs[0] = r0;
            self.mark_reg_written(0);
        }
        if verbose {
            let caller_text = super::fmt::frame_repr(self, self.cur.frames.len() - 1, None);
            self.log.line("returning from callee:");
            self.log.line(&callee_text);
            self.log.line(&format!("to caller at {ret}:"));
            self.log.line(&caller_text);
        }
        if in_callback {
            self.last_cb_exit = true;
            self.widen_after_callback(ret);
        }
        Ok(Some(ret))
    }

    /// After frame `frameno` is gone, no register or spilled register of
    /// the remaining frames may point into its stack.
    fn scrub_dead_frame_pointers(&mut self, frameno: u32) {
        let dead = |r: &RegState| r.typ == RegType::Stack && r.frameno >= frameno;
        for f in &mut self.cur.frames {
            for r in f.regs.iter_mut() {
                if dead(r) {
                    *r = RegState::not_init();
                }
            }
            for slot in &mut f.stack {
                if slot.is_spilled_reg() && dead(&slot.spilled) {
                    slot.spilled = RegState::not_init();
                    slot.slot_type = [SlotType::Misc; crate::state::BPF_REG_SIZE];
                }
            }
        }
    }

    /// `check_return_code()` at the main program's exit.
    fn check_return_code(&mut self) -> VResult<()> {
        if self.input.prog_type.return_unchecked() {
            return Ok(());
        }
        self.check_reg_read(0)?;
        let r0 = self.arg_reg(0);
        if self.leaks_addr(&r0) {
            return self.fail(EACCES, "R0 leaks addr as return value");
        }
        let Some(range) = self.input.prog_type.return_range() else {
            return Ok(());
        };
        if r0.typ != RegType::Scalar {
            let t = reg_type_str(&r0);
            return self.fail(EINVAL, format!("At program exit the register R0 is not a known value ({t})"));
        }
        self.mark_precise(1);
        if !in_range(&r0, range, self.input.prog_type.return_range_32bit()) {
            let msg = invalid_scalar("At program exit", &r0, range);
            return self.fail(EINVAL, msg);
        }
        Ok(())
    }
}
