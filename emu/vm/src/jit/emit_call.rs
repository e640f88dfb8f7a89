//! Calls: helpers, kfuncs, `callx`, bpf2bpf calls, tail calls and helpers
//! that call back into the program.
//!
//! Kernel counterpart: `emit_call()`, `emit_bpf_tail_call_indirect()` and
//! the bpf2bpf fix-up pass of arch/x86/net/bpf_jit_comp.c.
//!
//! - **Helpers/kfuncs** registered when compiling: `mov rax, imm64; call
//!   rax` (JIT memory is too far from the binary for rel32), rsp 16-byte
//!   aligned. Ids unknown at compile time abort the run when reached, with
//!   the interpreter's `UnknownHelper`/`UnknownKfunc`.
//! - **bpf2bpf** (`CallTarget::Local`): the interpreter's semantics, not
//!   the kernel's register clobbering: the caller pushes r1..r10, the
//!   callee gets r10 = caller's r10 - 512 (its frame), and everything but
//!   r0 is restored on return. A callee frame below `State::min_rbp`
//!   (more than `MAX_CALL_FRAMES` frames, callback levels included) aborts
//!   with `CallDepthExceeded`.
//! - **Tail calls** (`call 12`, and `callx` with 12): `JMP_TAIL_CALL`'s
//!   order — count checked (`MAX_TAIL_CALL_CNT` per run), incremented,
//!   then the resolver asked through [`tail_call_shim`]; the target's image
//!   (compiled on first use) is entered at its slot 0 by `jmp`, in the same
//!   frame with every register kept; a failure continues after the call
//!   with r0 unchanged.
//! - **Callback helpers** and `callx`: through Rust shims
//!   ([`callback_helper_shim`], [`callx_shim`]) that publish the re-entry
//!   context, with the helper, slot and image in the [`State`](super::frame::State).

// dynasm!'s expansion converts register numbers with `.into()` (u8 → u8).
#![allow(clippy::useless_conversion)]
// Helper and shim addresses are embedded in the code as integers.
#![allow(clippy::fn_to_numeric_cast_any)]

use super::compile::Ctx;
use super::frame::{
    self, ARG_F, ARG_META, ARG_PC, ARG_VAL, CUR_RBP, ERR, ERR_DEPTH, ERR_HELPER, ERR_KFUNC, MIN_RBP,
    TAIL_CALLS,
};
use super::regs::x;
use super::runtime::{callback_helper_shim, callx_shim, tail_call_shim};
use crate::helpers::HelperFn;
use crate::mem::FRAME_SIZE;
use crate::op::R;
use bpfemu_isa::opcode::{BPF_FUNC_TAIL_CALL, MAX_TAIL_CALL_CNT};
use dynasmrt::{DynasmApi, DynasmLabelApi, dynasm};

/// The address of a helper, as `call rax` needs it.
fn addr(f: HelperFn) -> i64 {
    f as *const () as i64
}

impl Ctx<'_> {
    /// `call id`.
    pub(super) fn helper_call(&mut self, pc: usize, id: i32) {
        match self.calls.helper(id.into()) {
            Some(h) if h.callbacks => self.shim_call(pc, callback_helper_shim as *const () as i64, Some(h.f)),
            Some(h) => {
                let f = addr(h.f);
                dynasm!(self.ops ; .arch x64 ; mov rax, QWORD f ; call rax);
                self.after_call();
            }
            None => frame::fail(&mut self.ops, self.abort, ERR_HELPER, pc, id.into()),
        }
    }

    /// The interpreter's [`AfterCall`](crate::AfterCall) hook, if one is
    /// registered: called when armed, r0 kept (rsp stays 16-byte aligned:
    /// two pushes).
    fn after_call(&mut self) {
        let Some(a) = self.calls.after_call else { return };
        let armed = std::ptr::from_ref(a.armed) as i64;
        let hook = a.hook as *const () as i64;
        dynasm!(self.ops ; .arch x64
            ; mov r11, QWORD armed
            ; cmp BYTE [r11], 0
            ; je >skip
            ; push rax
            ; push rax
            ; mov rax, QWORD hook
            ; call rax
            ; pop rax
            ; pop rax
            ; skip:
        );
    }

    /// A kfunc call by BTF id.
    pub(super) fn kfunc_call(&mut self, pc: usize, btf_id: i32) {
        match self.calls.kfunc(btf_id) {
            Some(f) => {
                let f = addr(f);
                dynasm!(self.ops ; .arch x64 ; mov rax, QWORD f ; call rax);
                self.after_call();
            }
            None => frame::fail(&mut self.ops, self.abort, ERR_KFUNC, pc, btf_id.into()),
        }
    }

    /// Calls a Rust shim with r1..r5 and the state: the shim's arguments
    /// (helper, slot, image; the callx id is stored by the caller) go
    /// through the state, the current r10 too; an error the shim records
    /// aborts the run.
    fn shim_call(&mut self, pc: usize, shim: i64, f: Option<HelperFn>) {
        let (pc, meta) = (pc as i32, self.meta as i64);
        let ops = &mut self.ops;
        if let Some(f) = f {
            let f = addr(f);
            dynasm!(ops ; .arch x64 ; mov r11, QWORD f ; mov [r12 + ARG_F], r11);
        }
        dynasm!(ops ; .arch x64
            ; mov [r12 + CUR_RBP], rbp
            ; mov r11, QWORD meta ; mov [r12 + ARG_META], r11
            ; mov QWORD [r12 + ARG_PC], pc
            ; mov r9, r12
            ; mov rax, QWORD shim ; call rax
            ; cmp DWORD [r12 + ERR], 0
            ; je >ok
            ; jmp =>self.abort
            ; ok:);
    }

    /// `call 12`: see the module docs.
    pub(super) fn tail_call(&mut self, pc: usize) {
        let (max, shim, pc) = (MAX_TAIL_CALL_CNT as i32, tail_call_shim as *const () as i64, pc as i32);
        dynasm!(self.ops ; .arch x64
            ; cmp DWORD [r12 + TAIL_CALLS], max
            ; jae >skip
            ; add DWORD [r12 + TAIL_CALLS], 1
            ; mov QWORD [r12 + ARG_PC], pc
            // r0..r5 survive the shim; six pushes keep rsp aligned.
            ; push rax ; push rdi ; push rsi ; push rdx ; push rcx ; push r8
            // shim(state, map = r2 (already rsi), index = r3 (already rdx)).
            ; mov rdi, r12
            ; mov rax, QWORD shim ; call rax
            ; mov r11, rax
            ; pop r8 ; pop rcx ; pop rdx ; pop rsi ; pop rdi ; pop rax
            ; cmp r11, 1
            ; jb >skip
            ; je =>self.abort
            ; jmp r11
            ; skip:);
    }

    /// `callx r`: the register holds a helper id (the conformance suite's
    /// convention); 12 is a tail call.
    pub(super) fn callx(&mut self, pc: usize, r: R) {
        let tc = BPF_FUNC_TAIL_CALL;
        dynasm!(self.ops ; .arch x64
            ; mov r11, Rq(x(r))
            ; cmp r11, tc
            ; jne >helper);
        self.tail_call(pc);
        dynasm!(self.ops ; .arch x64
            ; jmp >callx_done
            ; helper:
            ; mov [r12 + ARG_VAL], r11);
        self.shim_call(pc, callx_shim as *const () as i64, None);
        dynasm!(self.ops ; .arch x64 ; callx_done:);
    }

    /// A bpf2bpf call to slot `t`.
    pub(super) fn local_call(&mut self, pc: usize, t: usize) {
        let frame = -(FRAME_SIZE as i32);
        let target = self.labels[t];
        dynasm!(self.ops ; .arch x64
            ; lea r11, [rbp + frame]
            ; cmp r11, [r12 + MIN_RBP]
            ; jae >deep_ok);
        frame::fail(&mut self.ops, self.abort, ERR_DEPTH, pc, 0);
        dynasm!(self.ops ; .arch x64
            ; deep_ok:
            // r1..r10 saved: ten pushes, plus a pad so that the callee's
            // body runs with rsp aligned.
            ; push rdi ; push rsi ; push rdx ; push rcx ; push r8
            ; push rbp ; push rbx ; push r13 ; push r14 ; push r15
            ; mov rbp, r11
            ; sub rsp, 8
            ; call =>target
            ; add rsp, 8
            ; pop r15 ; pop r14 ; pop r13 ; pop rbx ; pop rbp
            ; pop r8 ; pop rcx ; pop rdx ; pop rsi ; pop rdi);
    }
}
