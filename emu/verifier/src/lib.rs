//! # bpfemu-verifier — the BPF verifier
//!
//! The emulator's counterpart of `kernel/bpf/verifier.c`, run by every
//! `BPF_PROG_LOAD` of the kernel crate. Its parts, each with the kernel's
//! semantics and wording:
//!
//! * [`tnum`] — tristate numbers (`kernel/bpf/tnum.c`, `include/linux/tnum.h`):
//!   which bits of a value are known and what they are.
//! * [`bounds`] — a scalar register's abstract value: a tnum plus signed and
//!   unsigned, 64- and 32-bit ranges; the kernel's `reg_bounds_sync()`
//!   family, ALU transfer functions (`adjust_scalar_min_max_vals()` and the
//!   `scalar*_min_max_*` helpers), branch refinement (`regs_refine_cond_op()`)
//!   and `is_branch_taken()`; the scalar text of a level-2 log state line.
//! * [`mod@cfg`] — the structural checks run before the walk: subprogram
//!   discovery (`add_subprog_and_kfunc()`), `check_subprogs()` and
//!   `check_cfg()`, with the kernel's messages and `EINVAL`.
//! * [`btf_info`] — the program's BTF func and line info: the layout
//!   checks of `check_btf_func()` / `check_btf_line()`, global function
//!   prototypes, the source lines the log prints (`verbose_linfo()`).
//! * [`log`] — the verifier log buffer (`kernel/bpf/log.c`): levels, fixed
//!   and rotating truncation, `ENOSPC`, and the final statistics line.
//!
//! * [`check`] — the abstract interpreter ([`verify`], `do_check()`): path
//!   exploration with a stack of pending branches, ALU and pointer
//!   arithmetic, memory access checks for every pointer type, conditional
//!   jumps with bounds refinement, null checks and packet ranges, state
//!   pruning with static liveness and precision tracking, helper / kfunc /
//!   bpf2bpf calls, global functions (verified once against their BTF
//!   prototype) and callbacks, reference tracking, exit checks, the log's
//!   instruction and state lines.
//! * [`proto`] — helper prototypes (`struct bpf_func_proto`).
//! * [`mod@env`] — what a verification is given ([`env::VerifyInput`]) and the
//!   program-type trait ([`env::ProgTypeOps`], `struct bpf_verifier_ops`).
//! * [`state`] — the abstract machine state.
//!
//! Not implemented: speculative-execution sanitation, BTF-id and tagged
//! (`__arg_trusted`, `__arg_arena`) arguments of global functions,
//! dynptr kfuncs and `CONST_PTR_TO_DYNPTR` arguments, stack-slot liveness, the rewrites after verification (the emulator's ctx layouts are the uapi
//! ones, so none are needed).
//!
//! The implementation is original; only behaviour (results, messages,
//! errnos) follows the kernel.

#![forbid(unsafe_code)]

pub mod bounds;
pub mod btf_info;
pub mod cfg;
pub mod check;
#[cfg(test)]
mod concrete;
pub mod env;
pub mod log;
pub mod proto;
pub mod state;
pub mod tnum;

pub use bounds::{Branch, ScalarBounds};
pub use cfg::{CfgError, CfgInfo, CfgOptions, check_cfg};
pub use check::{Stats, VerifyError, VerifyOutcome, verify};
pub use log::{LogError, VerifierLog, stats_line};
pub use tnum::Tnum;

/// Linux errno numbers this crate reports (positive, as `Errno` in the
/// kernel crate carries them).
pub mod errno {
    pub const EPERM: i32 = 1;
    pub const E2BIG: i32 = 7;
    pub const EINVAL: i32 = 22;
    pub const ENOSPC: i32 = 28;
    pub const EPROTO: i32 = 71;
}
