//! Callbacks: a helper calling back into the running program
//! (`bpf_loop`, `bpf_for_each_map_elem`, ...).
//!
//! Kernel counterpart: a `PTR_TO_FUNC` value (`ld_imm64` with
//! `BPF_PSEUDO_FUNC`, the address of a subprogram after the JIT) that a
//! helper calls as an ordinary C function; the verifier treats the call as
//! a bpf2bpf call with its own frame (`push_callback_call()` in
//! kernel/bpf/verifier.c), so it counts against `MAX_CALL_FRAMES`.
//!
//! Here:
//! - **Tokens.** The loader turns the `ld_imm64` into a plain constant, a
//!   *callback token*: [`CALLBACK_TAG`] in the upper 32 bits, the absolute
//!   slot of the callback subprogram in the lower 32 ([`callback_token`]).
//!   The tag makes the value a non-canonical address on x86-64 and aarch64
//!   (bits 48..63 set but not all set, and a non-zero byte in bits 48..55
//!   even with top-byte-ignore), so it is never a host pointer a program
//!   could dereference: to the program it is a scalar.
//! - **Calling back.** Helpers registered with
//!   [`Interpreter::register_callback_helper`](crate::Interpreter::register_callback_helper)
//!   run with a *re-entry context* published in a thread-local (only
//!   those: other helper calls pay nothing). [`call_callback`] uses it to
//!   run the subprogram at the token's slot *of the program that made the
//!   helper call* (after a tail call, the tail-called program), in the same
//!   mode (fast / checked / traced), with the same helpers, resolver,
//!   packet and region table, and sharing the run's step budget.
//! - **Frames.** The callback counts as one frame below the caller's
//!   current one: a helper called at depth `d` (with `b` frames already used
//!   by enclosing callback levels) gives its callback frame `b + d + 1`;
//!   `MAX_CALL_FRAMES` frames in all, across nesting levels; one more is
//!   [`VmError::CallDepthExceeded`].
//!
//! Deviations: the callback runs as a nested execution on a fresh stack
//! (`STACK_SIZE` bytes), not contiguous with the caller's frames; its r10
//! is the top of that stack. In checked mode the caller's stack (the frames
//! initialised when the helper was called, as one window) stays accessible
//! to the callback, as it is in the kernel (callback_ctx usually points
//! there); an access straddling two of the caller's frames is accepted.
//! A tail call inside a callback starts its own tail-call count. If a
//! callback run fails (memory violation, step limit, ...), the helper gets
//! the error and the whole run fails with it when the helper returns.

use crate::error::VmError;
use std::cell::Cell;
use std::ptr::NonNull;

/// Upper 32 bits of a callback token.
pub const CALLBACK_TAG: u64 = 0xb9f0_ca11_0000_0000;

/// The callback token for the subprogram starting at slot `insn`.
pub fn callback_token(insn: u32) -> u64 {
    CALLBACK_TAG | u64::from(insn)
}

/// The slot a callback token names, or `None` if `token` is not one.
pub fn callback_target(token: u64) -> Option<u32> {
    (token & 0xffff_ffff_0000_0000 == CALLBACK_TAG).then_some(token as u32)
}

/// What a run publishes while a callback-taking helper runs.
pub(crate) trait Reenter {
    /// Runs the callback `token` of the calling program with `args` in
    /// r1..r5 (and `mem` readable, see [`call_callback_with_memory`]).
    fn call(&mut self, token: u64, args: &[u64; 5], mem: Option<(u64, u64)>) -> Result<u64, VmError>;
}

type Slot = Option<NonNull<dyn Reenter + 'static>>;

thread_local! {
    static CURRENT: Cell<Slot> = const { Cell::new(None) };
}

/// Restores the previous slot when dropped.
pub(crate) struct Scope(Slot);

impl Scope {
    /// A run starts with no re-entry context: helpers of this run reach the
    /// run's own callbacks only, never an enclosing run's.
    pub(crate) fn empty() -> Scope {
        Scope(CURRENT.replace(None))
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        CURRENT.set(self.0);
    }
}

/// Calls `f` with `re` published for [`call_callback`].
pub(crate) fn with_reentry<R>(re: &mut dyn Reenter, f: impl FnOnce() -> R) -> R {
    let p: NonNull<dyn Reenter + '_> = NonNull::from(re);
    // SAFETY: only the trait object's lifetime bound is erased (same
    // layout). The pointer leaves the slot (the `Scope` guard restores the
    // previous value) before this function returns, i.e. while `re`'s
    // borrow is still live, and it is only dereferenced by
    // `call_callback`, on this thread, during `f`.
    let p: NonNull<dyn Reenter + 'static> = unsafe { std::mem::transmute(p) };
    let _scope = Scope(CURRENT.replace(Some(p)));
    f()
}

fn call(token: u64, args: [u64; 5], mem: Option<(u64, u64)>) -> Result<u64, VmError> {
    // Taken out of the slot while the callback runs: no second reference
    // can be made from it (helpers of the callback run publish their own).
    let Some(mut p) = CURRENT.take() else {
        return Err(VmError::NoCallbackContext);
    };
    struct Put(NonNull<dyn Reenter + 'static>);
    impl Drop for Put {
        fn drop(&mut self) {
            CURRENT.set(Some(self.0));
        }
    }
    let _put = Put(p);
    // SAFETY: `p` was published by `with_reentry` from a `&mut dyn
    // Reenter` that stays borrowed for the whole helper call we are in (we
    // are on the same thread, inside its `f`), and nothing else uses that
    // borrow meanwhile: the run loop is suspended in the helper call, and
    // the pointer was taken out of the slot, so this is the only
    // reference made from it until `_put` puts it back.
    let re = unsafe { p.as_mut() };
    re.call(token, &args, mem)
}

/// Runs the callback `token` (a value the program loaded with `r = subprog[..]`)
/// with `args` in r1..r5; its r0.
///
/// Only valid inside a helper registered with
/// [`Interpreter::register_callback_helper`](crate::Interpreter::register_callback_helper),
/// while the program that called it runs ([`VmError::NoCallbackContext`]
/// otherwise). Errors: [`VmError::NotACallback`] for a value that is not a
/// token, [`VmError::BadCallback`] for a slot that is not an instruction of
/// the calling program, [`VmError::CallDepthExceeded`] when no frame is
/// left, and whatever stopped the callback's run. After an error the
/// helper should return at once: the run fails with that error.
pub fn call_callback(token: u64, args: [u64; 5]) -> Result<u64, VmError> {
    call(token, args, None)
}

/// [`call_callback`], with `mem` readable by the callback in checked mode
/// (for data the helper hands the callback by pointer, such as
/// `bpf_for_each_map_elem`'s key).
pub fn call_callback_with_memory(token: u64, args: [u64; 5], mem: &[u8]) -> Result<u64, VmError> {
    call(token, args, Some((mem.as_ptr().expose_provenance() as u64, mem.len() as u64)))
}
