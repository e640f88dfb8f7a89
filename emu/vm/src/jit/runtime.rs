//! The Rust side of a run: starting an image, the shims native code calls
//! (tail-call resolution, `callx`, callback helpers), and callbacks
//! re-entering the JIT.
//!
//! Kernel counterpart: `bpf_prog_run()` calling `bpf_func`, the
//! `prog_array` lookup of `emit_bpf_tail_call_indirect()`, and a callback
//! helper calling a subprogram's JIT address (`bpf_loop()` in
//! kernel/bpf/bpf_iter.c). Callbacks follow the interpreter exactly
//! ([`crate::callback`]): a nested run of the calling image from the
//! callback's slot on a fresh stack, one frame below the helper's caller,
//! with its own tail-call count; its error fails the outer run.

use super::frame::{ERR_HELPER, ERR_RUST, Entry, State};
use super::image::{Meta, Shared};
use crate::callback::{self, Reenter};
use crate::helpers::{Helper, HelperFn};
use crate::mem::{FRAME_SIZE, STACK_SIZE};
use crate::{VmError, stack_window};
use bpfemu_isa::opcode::MAX_CALL_FRAMES;
use std::mem::MaybeUninit;

/// A run's packet: `None`, or its address and length.
pub(super) type Packet = Option<(u64, u64)>;

/// Runs the image of `meta` from native address `start` with `args` in
/// r1..r5, as callback level `base`.
///
/// # Safety
/// `meta` must belong to an image alive for the whole run, `shared` to
/// the program that image was compiled for (or reached by tail calls),
/// `start` must be the address of one of its slots that starts an
/// instruction, and every access the program makes must be valid
/// ([`JitProgram::run`](super::JitProgram::run)'s contract), as must the
/// packet if given.
pub(super) unsafe fn run_image(
    shared: &Shared,
    meta: &Meta,
    start: u64,
    args: &[u64],
    base: usize,
    packet: Packet,
) -> Result<u64, VmError> {
    #[repr(C, align(16))]
    struct Stack(MaybeUninit<[u8; STACK_SIZE]>);
    if args.len() > 5 {
        return Err(VmError::TooManyArgs { given: args.len() });
    }
    let mut a = [0u64; 5];
    a[..args.len()].copy_from_slice(args);
    // Helpers of this run reach this run's callbacks only.
    let _callbacks = callback::Scope::empty();
    let mut stack = Stack(MaybeUninit::uninit());
    let low = stack.0.as_mut_ptr().cast::<u8>();
    // Frames are zeroed up front: all of them when the run may go below
    // frame 0 (equivalent to the interpreter's zeroing on first entry: a
    // frame not yet entered cannot have been written), else frame 0.
    let used = if meta.deep { STACK_SIZE } else { FRAME_SIZE as usize };
    // SAFETY: `used <= STACK_SIZE`, so the range lies inside `stack`, which
    // this function owns; u8 has no invalid values.
    unsafe { std::ptr::write_bytes(low.add(STACK_SIZE - used), 0, used) };
    let top = low.wrapping_add(STACK_SIZE).expose_provenance() as u64;
    let _window = stack_window::Published::new(top - used as u64, used as u64);
    let max_depth = MAX_CALL_FRAMES.saturating_sub(base).max(1) as u64;
    let (pkt, pkt_len) = packet.unwrap_or((0, 0));
    let mut st = State {
        saved_rsp: 0,
        top,
        min_rbp: top - (max_depth - 1) * FRAME_SIZE,
        start,
        pkt,
        pkt_len,
        pkt_present: u64::from(packet.is_some()),
        cur_rbp: top,
        arg_f: 0,
        arg_meta: 0,
        arg_val: 0,
        arg_pc: 0,
        err_val: 0,
        tail_calls: 0,
        err: 0,
        err_pc: 0,
        base: base as u32,
        shared,
        error: None,
    };
    // SAFETY: `entry` is the trampoline `compile_image` emitted at the
    // start of the (finalized, immutable, alive) image, with the signature
    // of `Entry`.
    let f: Entry = unsafe { std::mem::transmute::<usize, Entry>(meta.addrs().entry as usize) };
    // SAFETY: the code touches its stack (`low..top`, alive until after
    // the call), the state (a local, not otherwise used during the call)
    // and memory the caller vouched for; it saves the callee-saved
    // registers it uses and returns with rsp restored (aborts included).
    let r = unsafe { f(a[0], a[1], a[2], a[3], a[4], &raw mut st) };
    std::hint::black_box(&mut stack);
    match st.take_error() {
        Some(e) => Err(e),
        None => Ok(r),
    }
}

/// Gives a shim the state native code passed.
///
/// # Safety
/// `state` must be the pointer a running image passed (its run's `State`,
/// alive, and not otherwise referenced while the shim runs).
unsafe fn state<'a>(state: *mut State) -> &'a mut State {
    // SAFETY: the caller's contract.
    unsafe { &mut *state }
}

/// Resolves a tail call: 0 to continue after the call, 1 to abort (the
/// target has no image), else the native address of the target's slot 0.
pub(super) extern "sysv64" fn tail_call_shim(state_ptr: *mut State, map: u64, index: u64) -> u64 {
    // SAFETY: only called by native code, with its run's state.
    let st = unsafe { state(state_ptr) };
    // SAFETY: `shared` outlives the run (the JitProgram is borrowed by it).
    let shared = unsafe { &*st.shared };
    let Some(prog) = shared.interp.resolver().and_then(|r| r.resolve(map, index & 0xffff_ffff)) else {
        return 0;
    };
    match shared.image_for(&prog) {
        Ok(img) => img.meta.addrs().slots[0],
        Err(e) => {
            st.error = Some(VmError::NotJitted { pc: st.arg_pc as usize, reason: e.to_string() });
            st.err = ERR_RUST;
            1
        }
    }
}

/// A callback helper call: the helper in `arg_f`.
pub(super) extern "sysv64" fn callback_helper_shim(
    a1: u64,
    a2: u64,
    a3: u64,
    a4: u64,
    a5: u64,
    state_ptr: *mut State,
) -> u64 {
    // SAFETY: only called by native code, with its run's state.
    let st = unsafe { state(state_ptr) };
    // SAFETY: native code stored a `HelperFn` address in `arg_f`.
    let f = unsafe { std::mem::transmute::<usize, HelperFn>(st.arg_f as usize) };
    with_callbacks(st, f, [a1, a2, a3, a4, a5])
}

/// `callx`: the helper id in `arg_val`.
pub(super) extern "sysv64" fn callx_shim(
    a1: u64,
    a2: u64,
    a3: u64,
    a4: u64,
    a5: u64,
    state_ptr: *mut State,
) -> u64 {
    // SAFETY: only called by native code, with its run's state.
    let st = unsafe { state(state_ptr) };
    // SAFETY: as in `tail_call_shim`.
    let shared = unsafe { &*st.shared };
    let id = st.arg_val as i64;
    match shared.interp.calls().helper(id) {
        Some(Helper { f, callbacks: true }) => with_callbacks(st, f, [a1, a2, a3, a4, a5]),
        Some(Helper { f, callbacks: false }) => {
            let r = f(a1, a2, a3, a4, a5);
            if let Some(a) = shared.interp.calls().after_call
                && a.armed.load(std::sync::atomic::Ordering::Relaxed)
            {
                (a.hook)();
            }
            r
        }
        None => {
            st.err = ERR_HELPER;
            st.err_pc = st.arg_pc as u32;
            st.err_val = id as u64;
            0
        }
    }
}

/// Calls `f` with this run's re-entry context published.
fn with_callbacks(st: &mut State, f: HelperFn, a: [u64; 5]) -> u64 {
    let depth = (st.top - st.cur_rbp) / FRAME_SIZE;
    let mut re = JitReentry {
        // SAFETY: as in `tail_call_shim`.
        shared: unsafe { &*st.shared },
        // SAFETY: native code stored its image's `Meta` address, alive as
        // long as the image runs.
        meta: unsafe { &*std::ptr::with_exposed_provenance::<Meta>(st.arg_meta as usize) },
        pc: st.arg_pc as usize,
        used: st.base as usize + depth as usize + 1,
        packet: (st.pkt_present != 0).then_some((st.pkt, st.pkt_len)),
        error: None,
    };
    let r = callback::with_reentry(&mut re, || f(a[0], a[1], a[2], a[3], a[4]));
    if let Some(e) = re.error {
        st.error = Some(e);
        st.err = ERR_RUST;
    }
    r
}

/// The re-entry context of a callback helper called from JIT code.
struct JitReentry<'a> {
    shared: &'a Shared,
    meta: &'a Meta,
    /// The helper call's slot (for errors).
    pc: usize,
    /// Frames in use, the helper's caller's included.
    used: usize,
    packet: Packet,
    /// The first error of a callback run; the run fails with it.
    error: Option<VmError>,
}

impl Reenter for JitReentry<'_> {
    fn call(&mut self, token: u64, args: &[u64; 5], _mem: Option<(u64, u64)>) -> Result<u64, VmError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let r = self.run(token, args);
        if let Err(e) = &r {
            self.error = Some(e.clone());
        }
        r
    }
}

impl JitReentry<'_> {
    fn run(&mut self, token: u64, args: &[u64; 5]) -> Result<u64, VmError> {
        let Some(start) = callback::callback_target(token) else {
            return Err(VmError::NotACallback { pc: self.pc, token });
        };
        let start = start as usize;
        if !self.meta.is_start.get(start).copied().unwrap_or(false) {
            return Err(VmError::BadCallback { pc: self.pc, target: start });
        }
        if self.used >= MAX_CALL_FRAMES {
            return Err(VmError::CallDepthExceeded { pc: self.pc, max: MAX_CALL_FRAMES });
        }
        let _outer = stack_window::Outer::push();
        let addr = self.meta.addrs().slots[start];
        // SAFETY: the callback is part of the image the outer run is
        // running (alive, as is `shared`), `start` is an instruction's
        // first slot, and its accesses are covered by the outer run's
        // contract (the verifier proved the callback with the program).
        unsafe { run_image(self.shared, self.meta, addr, args, self.used, self.packet) }
    }
}
