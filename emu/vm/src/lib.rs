//! # bpfemu-vm — BPF execution engines
//!
//! The reference interpreter: the semantics of kernel/bpf/core.c
//! `___bpf_prog_run()` (RFC 9669, ISA v1–v4) as a program observes them
//! after the verifier's fix-ups (`do_misc_fixups()` in
//! kernel/bpf/verifier.c: division by zero, signed division by -1, tail
//! calls, legacy packet loads).
//!
//! - [`Program`]: decoded, validated and lowered once; shared via `Arc`.
//! - [`Interpreter`]: helpers, kfuncs, tail-call resolver, step budget; runs
//!   in *fast* mode (no checks; for verified programs, `unsafe`), *checked*
//!   mode (every access validated against a [`MemRegion`] table and the
//!   stack: a sanitizer for verifier bugs, safe for any program) or *traced*
//!   mode (checked, with a callback per instruction).
//!
//! Emulated: every instruction of the ISA incl. v4 (sdiv/smod, movsx, ldsx,
//! bswap, gotol, all atomics, callx as the conformance suite defines it),
//! helper and kfunc calls, bpf2bpf calls with 8 frames of 512 bytes, tail
//! calls (limit 33), legacy `LD_ABS`/`LD_IND` on a given packet, callbacks
//! (a helper calling a subprogram back: [`callback`]).
//! - [`JitProgram`] (x86-64 only): the JIT, same semantics, see [`jit`].
//!
//! Not here: `ld_imm64` pseudo sources (the loader resolves them first),
//! verification, exceptions (`bpf_throw`), arena address spaces,
//! `may_goto`/timed loops.
//!
//! Byte order is little-endian (the emulated machine is x86-64).

mod alu;
pub mod callback;
mod env;
mod error;
mod exec;
mod helpers;
mod interp;
#[cfg(target_arch = "x86_64")]
pub mod jit;
mod mem;
mod op;
mod packet;
mod program;
mod stack_window;

pub use callback::{CALLBACK_TAG, call_callback, call_callback_with_memory, callback_target, callback_token};
pub use env::TraceStep;
pub use error::{LoadError, TransferKind, VmError};
pub use helpers::{AfterCall, HelperFn, TailCallResolver};
pub use interp::{Interpreter, Mode};
#[cfg(target_arch = "x86_64")]
pub use jit::{JitError, JitProgram};
pub use mem::{FRAME_SIZE, MemRegion, STACK_SIZE};
pub use program::Program;
pub use stack_window::{current_stack, stack_contains};

#[cfg(test)]
mod tests;
