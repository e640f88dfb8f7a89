//! The helpers of programs with a trampoline (fentry, fexit, fmod_ret):
//! `bpf_get_func_arg` (183), `bpf_get_func_ret` (184),
//! `bpf_get_func_arg_cnt` (185) and the tracing flavour of
//! `bpf_get_func_ip` (173).
//!
//! Kernel counterpart: `get_func_arg()`, `get_func_ret()`,
//! `get_func_arg_cnt()` and `bpf_get_func_ip_tracing()` in
//! kernel/trace/bpf_trace.c, which the verifier inlines
//! (`do_misc_fixups()`); bpfemu calls them as helpers, with the same
//! results. r1 is the program's ctx: the function's arguments as `u64`s,
//! then its return value; the trampoline stores the argument count at
//! ctx - 8 and the function's address at ctx - 16
//! ([`crate::trampoline::run`]).
//!
//! - `bpf_get_func_arg(ctx, n, *value)`: argument `n` (compared as a
//!   `u32`, `JMP32`) into `*value`, 0; `n >= nr_args`: `-EINVAL`, `*value`
//!   untouched;
//! - `bpf_get_func_ret(ctx, *value)`: the return value slot into
//!   `*value`, 0. For fentry programs the kernel replaces the call by
//!   `r0 = -EOPNOTSUPP` ([`crate::bpf::load::fixups`]), so this only
//!   runs for fexit and fmod_ret programs;
//! - `bpf_get_func_arg_cnt(ctx)`: the argument count;
//! - `bpf_get_func_ip(ctx)`: the traced function's address
//!   ([`crate::trampoline::targets::func_ip`]).
//!
//! Current mainline masks the count with `0xff` (fsession keeps flags
//! above it); bpfemu's counts never exceed 12. A ctx that cannot be read
//! (only an unverified program can pass one) gives `-EFAULT`.

use super::guest::{self, Ptr};
use super::neg;
use crate::errno::Errno;
use crate::runctx::{self, RunCtx};

/// The `u64` at `addr`, if readable.
fn read_u64(c: &RunCtx, addr: u64) -> Option<u64> {
    let b = guest::read(c, addr, 8, Ptr::Proven)?;
    Some(u64::from_ne_bytes(b.try_into().ok()?))
}

/// `nr_args` stored at ctx - 8.
fn nr_args(c: &RunCtx, ctx: u64) -> Option<u64> {
    read_u64(c, ctx.wrapping_sub(8))
}

/// `long bpf_get_func_arg(void *ctx, u32 n, u64 *value)`.
pub extern "C" fn get_func_arg(ctx: u64, n: u64, value: u64, _: u64, _: u64) -> u64 {
    runctx::with(|c| {
        let nr = nr_args(c, ctx)?;
        let n = u64::from(n as u32);
        if n >= nr {
            return Some(neg(Errno::EINVAL));
        }
        let v = read_u64(c, ctx.wrapping_add(8 * n))?;
        guest::write(c, value, &v.to_ne_bytes(), Ptr::Proven).then_some(0)
    })
    .flatten()
    .unwrap_or(neg(Errno::EFAULT))
}

/// `long bpf_get_func_ret(void *ctx, u64 *value)`.
pub extern "C" fn get_func_ret(ctx: u64, value: u64, _: u64, _: u64, _: u64) -> u64 {
    runctx::with(|c| {
        let nr = nr_args(c, ctx)?;
        let v = read_u64(c, ctx.wrapping_add(8 * nr))?;
        guest::write(c, value, &v.to_ne_bytes(), Ptr::Proven).then_some(0)
    })
    .flatten()
    .unwrap_or(neg(Errno::EFAULT))
}

/// `long bpf_get_func_arg_cnt(void *ctx)`.
pub extern "C" fn get_func_arg_cnt(ctx: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    runctx::with(|c| nr_args(c, ctx)).flatten().unwrap_or(neg(Errno::EFAULT))
}

/// `u64 bpf_get_func_ip(void *ctx)` (`bpf_get_func_ip_tracing()`).
pub extern "C" fn get_func_ip(ctx: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    runctx::with(|c| read_u64(c, ctx.wrapping_sub(16))).flatten().unwrap_or(neg(Errno::EFAULT))
}
