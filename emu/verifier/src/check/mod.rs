//! The abstract interpreter (`do_check()` and friends in
//! kernel/bpf/verifier.c): walks every path of the program from the entry
//! state, one instruction at a time, keeping pending branches on a stack
//! and pruning a path when its state is covered by one already explored.
//!
//! Module map (one concern each, the kernel function they stand for in
//! brackets):
//!
//! * this file — [`Verifier`], the walk loop, branch stack, statistics;
//! * `alu` — ALU on scalars and pointers (`check_alu_op()`,
//!   `adjust_ptr_min_max_vals()`, `adjust_scalar_min_max_vals()`);
//! * `mem` — loads, stores, atomics on every pointer type
//!   (`check_mem_access()`, `check_stack_read/write()`,
//!   `check_ctx_access()`, `check_packet_access()`, `check_map_access()`),
//!   and [`Verifier::check_ptr_range`] for helper memory arguments;
//! * `jmp` — conditional jumps, branch refinement, null checks, packet
//!   range marking (`check_cond_jmp_op()`, `mark_ptr_or_null_regs()`,
//!   `find_good_pkt_pointers()`);
//! * `prune` — explored states and equivalence (`is_state_visited()`,
//!   `states_equal()`, `regsafe()`), liveness and precision;
//! * `fmt` — the level-2 state lines (`print_verifier_state()`);
//! * `call` — helper calls and argument checks (`check_helper_call()`,
//!   `check_func_arg()`), kfuncs (`check_kfunc_call()`), bpf2bpf calls and
//!   callbacks (`check_func_call()`, `push_callback_call()`), tail calls;
//! * `refs` — reference tracking (`acquire_reference_state()`,
//!   `release_reference()`, `check_reference_leak()`);
//! * `exit` — `exit` in a subprogram, a callback, or the main program
//!   (`prepare_func_exit()`, `check_return_code()`).

mod alu;
mod args;
mod call;
mod exit;
mod fmt;
mod jmp;
mod mem;
mod prune;
mod refs;

use crate::cfg::CfgInfo;
use crate::env::VerifyInput;
use crate::log::VerifierLog;
use crate::state::VerifierState;
use bpfemu_isa::Instruction;
use std::fmt as sfmt;

/// A rejection: the errno the load fails with and the log line that
/// explains it (already written to the log when it was raised).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyError {
    /// Positive errno (`EACCES` for most rejections, `EINVAL` for
    /// malformed programs, `E2BIG` for the complexity limit).
    pub errno: i32,
    pub msg: String,
}

impl sfmt::Display for VerifyError {
    fn fmt(&self, f: &mut sfmt::Formatter<'_>) -> sfmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for VerifyError {}

pub type VResult<T> = Result<T, VerifyError>;

/// The statistics of the final log line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub insn_processed: u32,
    pub max_states_per_insn: u32,
    pub total_states: u32,
    pub peak_states: u32,
    pub mark_read: u32,
}

/// What a successful verification reports back to `BPF_PROG_LOAD`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyOutcome {
    pub stats: Stats,
    /// Stack depth of each subprogram, in order (`stack_depth`).
    pub stack_depth: Vec<u32>,
    /// One past the highest ctx byte the program reads or writes
    /// (`aux->max_ctx_offset`).
    pub max_ctx_offset: u32,
    /// Subprogram start slots (index 0 = main).
    pub subprogs: Vec<usize>,
}

/// Per-instruction facts gathered by the walk (`struct bpf_insn_aux_data`).
#[derive(Clone, Debug, Default)]
pub struct InsnAux {
    /// Reached by some path (`seen`).
    pub seen: bool,
    /// Preceded by a state-pruning point (`prune_point`): jump targets
    /// and the instructions after jumps and calls.
    pub prune_point: bool,
}

/// One verification in progress (`struct bpf_verifier_env`).
pub struct Verifier<'a, 'l> {
    pub input: &'a VerifyInput<'a>,
    pub log: &'l mut VerifierLog,
    /// The decoded program, one entry per instruction.
    pub prog: Vec<(usize, Instruction)>,
    /// `slot_to_insn[slot]`: index into `prog` of the instruction starting
    /// at `slot` (`usize::MAX` for the second half of a `ld_imm64`).
    pub slot_to_insn: Vec<usize>,
    pub cfg: CfgInfo,
    /// The state of the path being walked (`env->cur_state`).
    pub cur: VerifierState,
    /// Slot of the instruction being checked (`env->insn_idx`).
    pub insn_idx: usize,
    /// Slot of the previous instruction on this path (`prev_insn_idx`).
    pub prev_insn_idx: usize,
    pub aux: Vec<InsnAux>,
    /// Id counter for `id` / `ref_obj_id` (`env->id_gen`).
    pub id_gen: u32,
    pub stats: Stats,
    /// Deepest stack use per subprogram.
    pub stack_depth: Vec<u32>,
    pub max_ctx_offset: u32,
}

impl Verifier<'_, '_> {
    /// A fresh id (`++env->id_gen`).
    pub fn new_id(&mut self) -> u32 {
        self.id_gen += 1;
        self.id_gen
    }

    /// Logs `msg` (one line) and returns it as an error with `errno`
    /// (`verbose(env, ...); return -EACCES;`).
    pub fn reject(&mut self, errno: i32, msg: impl Into<String>) -> VerifyError {
        let msg = msg.into();
        self.log.line(&msg);
        VerifyError { errno, msg }
    }
}
