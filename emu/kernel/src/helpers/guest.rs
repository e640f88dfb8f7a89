//! Guest memory as helpers see it: every raw access a helper makes goes
//! through this module, after validation against the run's context.
//!
//! Kernel counterpart: plain accesses to verifier-checked arguments, and
//! `copy_from_kernel_nofault()` / `strncpy_from_kernel_nofault()` (and the
//! `_user_` variants) in mm/maccess.c for pointers nobody proved. There a
//! bad address faults and the fault is caught; here an address is only
//! touched once it is known valid, so a bad one fails the same way
//! (`-EFAULT`) without a fault.
//!
//! Two kinds of pointer:
//! - **proven**: helper arguments whose prototype type the verifier checks
//!   (`ARG_PTR_TO_MAP_KEY`, `ARG_PTR_TO_MEM`, ...). Trusted when the run's
//!   program is verified ([`RunCtx::verified`]); otherwise validated against
//!   [`RunCtx::regions`] and the running program's call stack, or those
//!   of the runs a callback is nested in ([`bpfemu_vm::stack_contains`]).
//! - **unproven**: values the verifier treats as scalars (the source of
//!   `bpf_probe_read_*`, `%s` arguments). Always validated.

#![allow(unsafe_code)]

use crate::runctx::RunCtx;
use std::ptr;
use std::sync::atomic::AtomicU32;

/// How far a pointer argument is vouched for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ptr {
    /// Checked by the verifier when the program is verified.
    Proven,
    /// Never checked by the verifier.
    Unproven,
}

/// Whether `[addr, addr+len)` may be accessed (written, when `write`).
/// Zero-length accesses touch nothing and are always allowed.
pub(crate) fn valid(ctx: &RunCtx, addr: u64, len: u64, write: bool, kind: Ptr) -> bool {
    if len == 0 {
        return true;
    }
    if kind == Ptr::Proven && ctx.verified {
        return true;
    }
    bpfemu_vm::stack_contains(addr, len)
        || ctx.regions.iter().any(|r| r.contains(addr, len) && (r.writable || !write))
}

fn host(addr: u64) -> *mut u8 {
    ptr::with_exposed_provenance_mut::<u8>(addr as usize)
}

/// Copies `len` bytes from guest `addr`; `None` if not readable.
pub(crate) fn read(ctx: &RunCtx, addr: u64, len: usize, kind: Ptr) -> Option<Vec<u8>> {
    if !valid(ctx, addr, len as u64, false, kind) {
        return None;
    }
    let mut out = vec![0u8; len];
    if len > 0 {
        // SAFETY: `valid` established that `[addr, addr+len)` is readable
        // guest memory for this run: either inside a region the runner
        // declared valid for the run, or an argument the verifier proved
        // readable for `len` bytes. `out` is a fresh allocation, so the two
        // ranges do not overlap. Bytes are copied, no reference is formed.
        unsafe { ptr::copy_nonoverlapping(host(addr).cast_const(), out.as_mut_ptr(), len) };
    }
    Some(out)
}

/// Copies `data` to guest `addr`; `false` (nothing written) if not writable.
pub(crate) fn write(ctx: &RunCtx, addr: u64, data: &[u8], kind: Ptr) -> bool {
    if !valid(ctx, addr, data.len() as u64, true, kind) {
        return false;
    }
    if !data.is_empty() {
        // SAFETY: `valid` established that `[addr, addr+len)` is writable
        // guest memory for this run (a writable region or a verifier-proven
        // destination). `data` is host memory of the helper (a Vec or a
        // local), never guest memory, so the ranges do not overlap.
        unsafe { ptr::copy_nonoverlapping(data.as_ptr(), host(addr), data.len()) };
    }
    true
}

/// Sets `len` bytes at guest `addr` to `byte`; `false` if not writable.
pub(crate) fn fill(ctx: &RunCtx, addr: u64, len: usize, byte: u8, kind: Ptr) -> bool {
    if !valid(ctx, addr, len as u64, true, kind) {
        return false;
    }
    if len > 0 {
        // SAFETY: `valid` established that `[addr, addr+len)` is writable
        // guest memory for this run.
        unsafe { ptr::write_bytes(host(addr), byte, len) };
    }
    true
}

/// Reads a NUL-terminated string at `addr` of at most `max` bytes
/// including the NUL (as `strncpy_from_kernel_nofault(dst, addr, max)`):
/// `Ok(bytes without NUL)` when a NUL was found within `max - 1` bytes or
/// `max - 1` bytes were read (truncated), `Err(())` if a byte that would be
/// read is not readable.
pub(crate) fn read_str(ctx: &RunCtx, addr: u64, max: usize, kind: Ptr) -> Result<Vec<u8>, ()> {
    let mut out = Vec::new();
    if max == 0 {
        return Ok(out);
    }
    let mut a = addr;
    while out.len() < max - 1 {
        let Some(b) = read(ctx, a, 1, kind) else { return Err(()) };
        if b[0] == 0 {
            return Ok(out);
        }
        out.push(b[0]);
        a = a.wrapping_add(1);
    }
    Ok(out)
}

/// Calls `f` with the `bpf_spin_lock` word (`struct bpf_spin_lock { u32
/// val; }`) at `addr`; `None` unless it is a writable, 4-byte aligned guest
/// location.
pub(crate) fn with_lock_word<R>(
    ctx: &RunCtx,
    addr: u64,
    kind: Ptr,
    f: impl FnOnce(&AtomicU32) -> R,
) -> Option<R> {
    if !addr.is_multiple_of(4) || addr == 0 || !valid(ctx, addr, 4, true, kind) {
        return None;
    }
    // SAFETY: the word is writable guest memory for this run (so valid for
    // the duration of `f`, which cannot outlive this helper call), 4-byte
    // aligned (checked above), and all concurrent accesses to a
    // bpf_spin_lock are atomic: the verifier forbids plain loads and stores
    // to it, and the only other accessors are these helpers.
    let word = unsafe { AtomicU32::from_ptr(host(addr).cast::<u32>()) };
    Some(f(word))
}
