//! x86-64 JIT: a [`Program`] (all its subprograms) to one block of native
//! code; tail-call targets get their own images, compiled on first use.
//!
//! Kernel counterpart: arch/x86/net/bpf_jit_comp.c (`do_jit()`), with the
//! kernel's register map ([`regs`]). One module per concept:
//! [`frame`] (run state, entry trampoline, aborts), [`compile`] (the pass
//! over the ops), [`emit_alu`], [`emit_jmp`], [`emit_mem`], [`emit_call`]
//! (helpers, kfuncs, callx, bpf2bpf, tail calls, callback helpers),
//! [`emit_packet`] (`LD_ABS`/`LD_IND`), [`image`] (images, tail-call image
//! cache) and [`runtime`] (running an image, shims, callbacks).
//!
//! The JIT's semantics are the interpreter's, exactly (it is the oracle of
//! the differential tests), including its run-time errors: a run that the
//! interpreter would end with a [`VmError`] ends with the same error (call
//! depth, unknown helper/kfunc/callx id, no packet, callback errors,
//! falling off the end). Deviations:
//! - No step limit (`Interpreter::set_step_limit` does not apply).
//! - R1..R5 are clobbered by helper and kfunc calls, as in the kernel (the
//!   interpreter keeps them; only unverifiable programs can tell). bpf2bpf
//!   calls keep them, as the interpreter does.
//! - Helpers see the whole stack published ([`crate::current_stack`]) from
//!   the start: all 8 frames (zeroed) when the program has bpf2bpf calls,
//!   tail calls or `callx`, else frame 0.
//! - A tail call into a program that cannot be compiled fails the run with
//!   [`VmError::NotJitted`] (the kernel refuses to mix JITed and
//!   interpreted programs in a prog_array).
//! - Programs writing r10 are not compiled ([`JitError::Unsupported`]).
//!
//! Code is built with one dynasmrt `Assembler` per image and `finalize()`d
//! into an `ExecutableBuffer` (never writable and executable at once).

mod compile;
mod emit_alu;
mod emit_call;
mod emit_jmp;
mod emit_mem;
mod emit_packet;
mod frame;
mod image;
mod regs;
mod runtime;

#[cfg(test)]
mod tests;

use crate::program::Program;
use crate::{Interpreter, VmError};
pub use frame::ENTRY_NOP;
use image::{Image, Shared};
use std::fmt;
use std::sync::Arc;

/// Why a program was not compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JitError {
    /// The instruction at `pc` is outside this JIT's subset; run the
    /// program on the interpreter instead.
    #[error("pc {pc}: {what} is not supported by the JIT")]
    Unsupported { pc: usize, what: &'static str },
    /// The assembler failed (mapping memory, relocation).
    #[error("assembler: {0}")]
    Assembler(String),
}

/// A compiled program: native code plus the slot → native offset map.
pub struct JitProgram {
    image: Arc<Image>,
    shared: Arc<Shared>,
}

impl fmt::Debug for JitProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JitProgram")
            .field("code_len", &self.image.buf.len())
            .field("insns", &self.image.offsets.len())
            .finish()
    }
}

impl JitProgram {
    /// Compiles `prog`. Helper and kfunc calls are bound now to those
    /// registered in `interp` (the same tables the interpreter calls), and
    /// its tail-call resolver is kept: register everything before compiling;
    /// later registrations do not reach this program.
    pub fn compile(prog: &Program, interp: &Interpreter) -> Result<JitProgram, JitError> {
        let image = Arc::new(compile::compile_image(prog, interp)?);
        Ok(JitProgram { image, shared: Arc::new(Shared::new(interp)) })
    }

    /// Native offset (from the entry) of the code of each instruction slot;
    /// the second slot of a `ld_imm64` has the offset of the code after it.
    pub fn native_offsets(&self) -> &[usize] {
        &self.image.offsets
    }

    /// The native code, entry first.
    pub fn code(&self) -> &[u8] {
        &self.image.buf[self.image.entry.0..]
    }

    /// Runs the program with `args` (at most 5) in r1..r5 and returns r0,
    /// or the error the interpreter would report (see the module docs).
    ///
    /// The stack (zeroed) lives in this call and is published through
    /// [`crate::current_stack`] for helpers.
    ///
    /// # Safety
    /// As [`Interpreter::run_fast`]: every load, store and atomic must target
    /// memory valid for it for the whole run, atomics naturally aligned, and
    /// the program must end with `exit` on every path (what the verifier
    /// proves).
    pub unsafe fn run(&self, args: &[u64]) -> Result<u64, VmError> {
        // SAFETY: forwarded contract.
        unsafe { self.start(args, None) }
    }

    /// [`run`](Self::run) with packet data for `LD_ABS`/`LD_IND`.
    ///
    /// # Safety
    /// As [`run`](Self::run).
    pub unsafe fn run_with_packet(&self, args: &[u64], packet: &[u8]) -> Result<u64, VmError> {
        let p = (packet.as_ptr().expose_provenance() as u64, packet.len() as u64);
        // SAFETY: forwarded contract; `packet` is borrowed for the run.
        unsafe { self.start(args, Some(p)) }
    }

    /// # Safety
    /// As [`run`](Self::run).
    unsafe fn start(&self, args: &[u64], packet: runtime::Packet) -> Result<u64, VmError> {
        let meta = &self.image.meta;
        // SAFETY: the image and `shared` are this program's and outlive the
        // run; slot 0 starts an instruction; the rest is the caller's
        // contract.
        unsafe { runtime::run_image(&self.shared, meta, meta.addrs().slots[0], args, 0, packet) }
    }
}
