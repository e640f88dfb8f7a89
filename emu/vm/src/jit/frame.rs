//! The run state and the entry trampoline every image starts with.
//!
//! Kernel counterpart: the prologue/epilogue of `do_jit()` and
//! `emit_prologue()` in arch/x86/net/bpf_jit_comp.c. The kernel keeps the
//! tail-call count on the native stack and has no run-time errors; here a
//! per-run [`State`] (pointer in r12) holds the count, the stack bounds,
//! the packet of `LD_ABS`/`LD_IND`, the arguments of run-time shims and the
//! error that aborts a run.
//!
//! Native stack discipline: a BPF frame's body always runs with rsp 16-byte
//! aligned, entered by `call` (after an 8-byte pad) and left by `ret`
//! (`exit`). The trampoline saves the host's callee-saved registers and rsp
//! (in [`State::saved_rsp`]); an abort from any depth (even from another
//! image reached by a tail call: all trampolines have the same layout)
//! restores rsp from there and returns through the trampoline's epilogue.

// dynasm!'s expansion converts register numbers with `.into()` (u8 → u8).
#![allow(clippy::useless_conversion)]

use super::image::Shared;
use crate::VmError;
use dynasmrt::x64::Assembler;
use dynasmrt::{DynamicLabel, DynasmApi, DynasmLabelApi, dynasm};
use std::mem::offset_of;

/// The 5-byte NOP at every function entry (kernel `x86_nops[5]`,
/// `X86_PATCH_SIZE`).
pub const ENTRY_NOP: [u8; 5] = [0x0f, 0x1f, 0x44, 0x00, 0x00];

/// What a run's native code reads and writes through r12.
#[repr(C)]
pub(super) struct State {
    /// rsp of the trampoline after its pushes (abort target).
    pub(super) saved_rsp: u64,
    /// r10 of frame 0.
    pub(super) top: u64,
    /// The lowest r10 a bpf2bpf callee may get (deeper is
    /// `CallDepthExceeded`).
    pub(super) min_rbp: u64,
    /// Native address the trampoline calls (slot 0, or a callback's slot).
    pub(super) start: u64,
    pub(super) pkt: u64,
    pub(super) pkt_len: u64,
    /// Non-zero when the run has a packet.
    pub(super) pkt_present: u64,
    /// r10 at the last shim call (gives the call depth).
    pub(super) cur_rbp: u64,
    /// Shim arguments: helper, image metadata, callx id, slot.
    pub(super) arg_f: u64,
    pub(super) arg_meta: u64,
    pub(super) arg_val: u64,
    pub(super) arg_pc: u64,
    /// Error detail (helper id, kfunc BTF id).
    pub(super) err_val: u64,
    pub(super) tail_calls: u32,
    /// 0, or an `ERR_*` code: the run was aborted.
    pub(super) err: u32,
    pub(super) err_pc: u32,
    /// Frames used by the runs this one is a callback of.
    pub(super) base: u32,
    pub(super) shared: *const Shared,
    /// The error of [`ERR_RUST`].
    pub(super) error: Option<VmError>,
}

pub(super) const ERR_DEPTH: u32 = 1;
pub(super) const ERR_HELPER: u32 = 2;
pub(super) const ERR_KFUNC: u32 = 3;
pub(super) const ERR_NO_PACKET: u32 = 4;
pub(super) const ERR_FELL_OFF: u32 = 5;
/// The error is in [`State::error`].
pub(super) const ERR_RUST: u32 = 6;

macro_rules! field {
    ($name:ident, $f:ident) => {
        pub(super) const $name: i32 = offset_of!(State, $f) as i32;
    };
}
field!(SAVED_RSP, saved_rsp);
field!(TOP, top);
field!(MIN_RBP, min_rbp);
field!(START, start);
field!(PKT, pkt);
field!(PKT_LEN, pkt_len);
field!(PKT_PRESENT, pkt_present);
field!(CUR_RBP, cur_rbp);
field!(ARG_F, arg_f);
field!(ARG_META, arg_meta);
field!(ARG_VAL, arg_val);
field!(ARG_PC, arg_pc);
field!(ERR_VAL, err_val);
field!(TAIL_CALLS, tail_calls);
field!(ERR, err);
field!(ERR_PC, err_pc);

/// `extern "sysv64" fn(r1, r2, r3, r4, r5, state) -> r0`.
pub(super) type Entry = unsafe extern "sysv64" fn(u64, u64, u64, u64, u64, *mut State) -> u64;

/// Emits the trampoline (an [`Entry`]) and returns the label aborts jump
/// to. r0 and r6..r9 start at 0 (the interpreter's initial state).
pub(super) fn trampoline(ops: &mut Assembler) -> DynamicLabel {
    let abort = ops.new_dynamic_label();
    ops.extend(ENTRY_NOP);
    dynasm!(ops ; .arch x64
        ; push rbp ; push rbx ; push r12 ; push r13 ; push r14 ; push r15 ; sub rsp, 8
        ; mov r12, r9
        ; mov [r12 + SAVED_RSP], rsp
        ; mov rbp, [r12 + TOP]
        ; xor eax, eax ; xor ebx, ebx ; xor r13d, r13d ; xor r14d, r14d ; xor r15d, r15d
        ; mov r11, [r12 + START]
        ; sub rsp, 8
        ; call r11
        ; add rsp, 8
        ; done:
        ; add rsp, 8 ; pop r15 ; pop r14 ; pop r13 ; pop r12 ; pop rbx ; pop rbp ; ret
        ; =>abort
        ; mov rsp, [r12 + SAVED_RSP]
        ; jmp <done
    );
    abort
}

/// Emits: record error `code` at `pc` (detail `val`), abort the run.
pub(super) fn fail(ops: &mut Assembler, abort: DynamicLabel, code: u32, pc: usize, val: i64) {
    let (code, pc) = (code as i32, pc as i32);
    dynasm!(ops ; .arch x64
        ; mov DWORD [r12 + ERR], code
        ; mov DWORD [r12 + ERR_PC], pc
        ; mov r11, QWORD val
        ; mov [r12 + ERR_VAL], r11
        ; jmp =>abort);
}

impl State {
    /// The error an aborted run reports.
    pub(super) fn take_error(&mut self) -> Option<VmError> {
        let pc = self.err_pc as usize;
        Some(match self.err {
            0 => return None,
            ERR_DEPTH => VmError::CallDepthExceeded { pc, max: bpfemu_isa::opcode::MAX_CALL_FRAMES },
            ERR_HELPER => VmError::UnknownHelper { pc, id: self.err_val as i64 },
            ERR_KFUNC => VmError::UnknownKfunc { pc, btf_id: self.err_val as i32 },
            ERR_NO_PACKET => VmError::NoPacket { pc },
            ERR_FELL_OFF => VmError::FellOffEnd { pc },
            _ => self.error.take().unwrap_or(VmError::NoCallbackContext),
        })
    }
}
