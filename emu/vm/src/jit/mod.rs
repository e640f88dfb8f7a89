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
//!
//! **Patchable entries.** Every function entry (slot 0 and each bpf2bpf
//! call target) starts with a 5-byte NOP, where the kernel's
//! `bpf_arch_text_poke()` writes a `jmp`/`call` for freplace and for
//! fentry/fexit on BPF programs. bpfemu never rewrites code another thread
//! may be running: [`JitProgram::retarget`] builds a *new* image whose
//! patch site jumps to the replacement, and swaps it in atomically. A run
//! takes the current image when it starts and keeps it to the end. Old
//! images (and the replacements they jump into) are kept until the
//! program is dropped — the kernel frees them after an RCU grace period;
//! bpfemu's grace period is the program's lifetime, which makes starting a
//! run a single atomic load (no reference count on the hot path). Each
//! retarget adds one image.

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
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

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
    /// [`JitProgram::retarget`] was given a slot that is no function entry.
    #[error("slot {pc} is not a function entry")]
    NotAnEntry { pc: usize },
}

/// A compiled program: native code plus the slot → native offset map.
pub struct JitProgram {
    /// The current image: always the last of `images`.
    current: AtomicPtr<Image>,
    /// Every image this program has had, oldest first, kept until the
    /// program is dropped (see the module docs).
    images: Mutex<Vec<Arc<Image>>>,
    shared: Arc<Shared>,
    /// What [`retarget`](Self::retarget) recompiles, and its patches
    /// (function-entry slot → replacement image); the lock serialises
    /// retargets.
    source: Mutex<(Program, BTreeMap<usize, Arc<Image>>)>,
    offsets: Vec<usize>,
}

impl fmt::Debug for JitProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JitProgram")
            .field("code_len", &self.image().buf.len())
            .field("insns", &self.offsets.len())
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
        let offsets = image.offsets.clone();
        Ok(JitProgram {
            current: AtomicPtr::new(Arc::as_ptr(&image).cast_mut()),
            images: Mutex::new(vec![image]),
            shared: Arc::new(Shared::new(interp)),
            source: Mutex::new((prog.clone(), BTreeMap::new())),
            offsets,
        })
    }

    /// The image runs start from now.
    fn image(&self) -> &Image {
        let p = self.current.load(Ordering::Acquire);
        // SAFETY: `current` only ever holds `Arc::as_ptr` of an image
        // pushed to `images` (stored after the push, with release ordering
        // paired with the acquire above), and `images` only grows until
        // `self` is dropped, so the image is alive for as long as `&self`.
        unsafe { &*p }
    }

    /// The current image, counted (for patching it into another program).
    fn current(&self) -> Arc<Image> {
        let images = self.images.lock().unwrap_or_else(PoisonError::into_inner);
        images.last().expect("a program has at least its first image").clone()
    }

    /// Native offset (from the entry) of the code of each instruction slot;
    /// the second slot of a `ld_imm64` has the offset of the code after it.
    /// Retargeting never moves code: the offsets stay valid.
    pub fn native_offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// The current image's native code, entry first.
    pub fn code(&self) -> Vec<u8> {
        let img = self.current();
        img.buf[img.entry.0..].to_vec()
    }

    /// The slots whose code starts with a patchable entry: slot 0 and
    /// every bpf2bpf call target, in order.
    pub fn entries(&self) -> Vec<usize> {
        entries_of(&self.source.lock().unwrap_or_else(PoisonError::into_inner).0)
    }

    /// Redirects the function entered at `slot` (one of
    /// [`entries`](Self::entries)) to the main function of `target`, or
    /// back to its own code with `None` — what attaching and detaching an
    /// freplace program or a BPF-program fentry trampoline does to the
    /// target's entry (`bpf_arch_text_poke()`).
    ///
    /// The replacement runs with the caller's arguments (r1..r5) and a
    /// frame of its own, exactly as the function it replaces would; its
    /// helper calls are its own, its tail calls use this program's
    /// resolver. Safe while other threads run this program: a new image is
    /// compiled and swapped in; runs already started finish on the image
    /// they started with.
    pub fn retarget(&self, slot: usize, target: Option<&JitProgram>) -> Result<(), JitError> {
        let mut src = self.source.lock().unwrap_or_else(PoisonError::into_inner);
        if !entries_of(&src.0).contains(&slot) {
            return Err(JitError::NotAnEntry { pc: slot });
        }
        let mut patches = src.1.clone();
        match target {
            Some(t) => patches.insert(slot, t.current()),
            None => patches.remove(&slot),
        };
        let img = Arc::new(compile::compile_patched(&src.0, &self.shared.interp, &patches)?);
        let mut images = self.images.lock().unwrap_or_else(PoisonError::into_inner);
        images.push(img);
        let newest = images.last().expect("just pushed");
        self.current.store(Arc::as_ptr(newest).cast_mut(), Ordering::Release);
        src.1 = patches;
        Ok(())
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
        let meta = &self.image().meta;
        // SAFETY: the image (alive while `self` is borrowed) and `shared`
        // are this program's; slot 0 starts an instruction; the rest is the
        // caller's contract.
        unsafe { runtime::run_image(&self.shared, meta, meta.addrs().slots[0], args, 0, packet) }
    }
}

/// Slot 0 and every bpf2bpf call target of `prog`, sorted.
fn entries_of(prog: &Program) -> Vec<usize> {
    let mut v = vec![0];
    v.extend(prog.ops().iter().filter_map(|op| match op {
        crate::op::Op::CallLocal(t) => Some(*t as usize),
        _ => None,
    }));
    v.sort_unstable();
    v.dedup();
    v
}
