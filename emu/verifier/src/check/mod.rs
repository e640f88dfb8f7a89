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
//!   and `check_helper_mem` for helper memory arguments;
//! * `jmp` — conditional jumps, branch refinement, null checks, packet
//!   range marking (`check_cond_jmp_op()`, `mark_ptr_or_null_regs()`,
//!   `find_good_pkt_pointers()`);
//! * `prune` — explored states and equivalence (`is_state_visited()`,
//!   `states_equal()`, `regsafe()`), liveness and precision;
//! * `fmt` — the level-2 state lines (`print_verifier_state()`);
//! * `call` — helper calls and argument checks (`check_helper_call()`,
//!   `check_func_arg()`), kfuncs (`check_kfunc_call()`), bpf2bpf calls and
//!   callbacks verified to convergence (`check_func_call()`,
//!   `push_callback_call()`), tail calls;
//! * `dynptr` — dynptrs on the stack (`process_dynptr_func()`,
//!   `mark_stack_slots_dynptr()`, `destroy_if_dynptr_stack_slot()`);
//! * `refs` — reference tracking (`acquire_reference_state()`,
//!   `release_reference()`, `check_reference_leak()`);
//! * `exit` — `exit` in a subprogram, a callback, or the main program
//!   (`prepare_func_exit()`, `check_return_code()`).

//! * `live` — static register liveness (a backward dataflow standing in
//!   for the kernel's `REG_LIVE_*` marks on registers);
//! * `stack_live` — stack-slot liveness, dynamic as in the kernel
//!   (`mark_reg_read()`, `propagate_liveness()` on stack slots);
//! * `precise` — precision marking and backtracking
//!   (`mark_chain_precision()`);
//! * `widen` — widening of imprecise scalars after a callback run
//!   (`widen_imprecise_scalars()`).
//!
//! What is not emulated: speculative-execution sanitation
//! (`sanitize_ptr_alu()` and the "speculative execution" paths), the
//! rewrites after verification.

mod alu;
mod args;
mod call;
mod const_key;
mod dynptr;
mod exit;
mod fmt;
mod global;
mod jmp;
mod live;
pub(crate) mod mem;
mod precise;
mod prune;
mod refs;
mod stack_live;
#[cfg(test)]
mod tests;
mod widen;

pub use fmt::{reg_type_str, state_repr};

use crate::cfg::{CfgInfo, CfgOptions, check_cfg};
use crate::env::{CtxField, VerifyInput};
use crate::errno::{E2BIG, EINVAL};
use crate::log::{VerifierLog, insn_line, stats_block, stats_line};
use crate::state::VerifierState;
use bpfemu_isa::Instruction;
use std::fmt as sfmt;

/// `BPF_COMPLEXITY_LIMIT_JMP_SEQ`: pending branches at most.
pub const COMPLEXITY_LIMIT_JMP_SEQ: usize = 8192;
/// `EACCES`.
pub const EACCES: i32 = 13;

/// A state line waiting for the next instruction: the scratched
/// registers and stack slots (`None`: the whole frame) and the
/// instruction's line in the log, to append to.
#[derive(Clone, Copy, Debug)]
pub struct PendingPrint {
    pub only: Option<(u16, u64)>,
    pub line: Option<(usize, usize)>,
}

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
    /// The most kept states one read mark walk reached (stack slots
    /// only, see [`stack_live`]); the log prints 0 for it, as Linux 6.18
    /// does for `longest_mark_read_walk`.
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
    /// The ctx loads and stores, by slot, for the rewrite after
    /// verification (`convert_ctx_accesses()`; the kernel keeps them in
    /// `aux->ptr_type` and `aux->ctx_field_size`).
    pub ctx_accesses: Vec<(usize, CtxRecord)>,
    /// The loads through `PTR_TO_BTF_ID` pointers, by slot: the kernel
    /// turns them into `BPF_PROBE_MEM` loads (a faulting address reads 0);
    /// stores through them are not listed.
    pub btf_loads: Vec<usize>,
}

/// One ctx load or store as the verifier accepted it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtxRecord {
    /// Offset into the uapi ctx.
    pub off: i32,
    /// Bytes accessed.
    pub size: u32,
    /// The whole field's size for a narrower load (`ctx_field_size`), 0
    /// when the access is the field itself.
    pub field_size: u32,
    /// What a load yields.
    pub field: CtxField,
    pub write: bool,
    /// A sign-extending load (`BPF_MEMSX`).
    pub sx: bool,
}

/// Per-instruction facts gathered by the walk (`struct bpf_insn_aux_data`).
#[derive(Clone, Debug, Default)]
pub struct InsnAux {
    /// Reached by some path (`seen`).
    pub seen: bool,
    /// A state-pruning point (`prune_point`), as `visit_insn()` marks
    /// them: conditional jumps, jump targets, the instructions after
    /// calls, subprogram calls and function-address loads.
    pub prune_point: bool,
    /// A call of a helper that runs a callback synchronously
    /// (`calls_callback`, `bpf_loop` and `bpf_for_each_map_elem`): also a
    /// prune point where a state is always kept (`force_checkpoint`), so
    /// that runs of the callback returning here converge
    /// ([`call`](self) module doc).
    pub calls_callback: bool,
    /// For a load or store: whether the pointer was the ctx
    /// (`aux->ptr_type`); a later path using another pointer is refused.
    pub mem_is_ctx: Option<bool>,
    /// The ctx access, when the pointer was the ctx.
    pub ctx: Option<CtxRecord>,
    /// For a load or store: whether the pointer was `PTR_TO_BTF_ID`
    /// (such loads become `BPF_PROBE_MEM` after verification).
    pub mem_is_btf: Option<bool>,
}

/// A path waiting to be walked (`struct bpf_verifier_stack_elem`).
#[derive(Clone, Debug)]
pub struct Pending {
    pub state: VerifierState,
    pub insn: usize,
    pub prev_insn: usize,
    /// Log length when it was pushed: at level 1 the log is rewound there
    /// when the path is popped, so only the failing path remains.
    pub log_pos: usize,
    /// The last explored state kept on the path before it was pushed
    /// (see [`Verifier::cur_parent`]).
    pub parent: Option<usize>,
    /// The path's history since `parent` (see [`Verifier::hist`]).
    pub hist: Vec<precise::HistEntry>,
    /// Stack slots the path wholly wrote since `parent` (see
    /// [`Verifier::cur_written`]).
    pub written: [u64; crate::state::MAX_CALL_FRAMES],
}

/// The bookkeeping of a kept state that outlives the state itself
/// (`parent`, `branches` and the jump history of `struct
/// bpf_verifier_state`).
#[derive(Clone, Debug, Default)]
pub struct ChainEntry {
    /// The state kept before it on its path.
    pub parent: Option<usize>,
    /// Paths below it not finished yet.
    pub branches: u32,
    /// Instructions walked from `parent` to it.
    pub hist: Vec<precise::HistEntry>,
    /// Every scalar of it and of its ancestors is already precise.
    pub all_precise: bool,
    /// The slot it was kept at.
    pub idx: usize,
    /// Its stack-slot liveness marks ([`stack_live`]).
    pub live: stack_live::StackLive,
    /// Evicted from its instruction's list while paths below it were
    /// unfinished (`in_free_list`): it still counts towards
    /// `peak_states` until they are (`maybe_free_verifier_state()`).
    pub in_free_list: bool,
}

/// A state kept at a prune point (`struct bpf_verifier_state_list`).
#[derive(Clone, Debug)]
pub struct Explored {
    pub state: VerifierState,
    pub hit: u32,
    pub miss: u32,
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
    /// Pending paths (`env->head`), last pushed on top.
    pub branches: Vec<Pending>,
    /// Every state kept for pruning, by id; `None` once evicted.
    pub explored: Vec<Option<Explored>>,
    /// Ids of [`Verifier::explored`] kept at each slot.
    pub explored_at: Vec<Vec<usize>>,
    /// For every explored state id, the state kept before it on its path
    /// and how many paths below it are unfinished (`parent`, `branches`
    /// of `struct bpf_verifier_state`). A state with unfinished paths is
    /// an ancestor of the current path: it serves for loop detection
    /// only, never for pruning. Kept when the state itself is evicted.
    pub chain: Vec<ChainEntry>,
    /// The instructions walked since [`Verifier::cur_parent`] was kept
    /// (`jmp_history`), for precision backtracking.
    pub hist: Vec<precise::HistEntry>,
    /// The fixed stack slot `(frame, spi)` the instruction being checked
    /// accessed, for its history entry.
    pub last_stack_slot: Option<(u32, u32)>,
    /// Stack slots (by index) the current instruction read or wrote
    /// (`mark_stack_slot_scratched()`), for its state line.
    pub scratched_stack: u64,
    /// The whole current frame is to be printed before the next
    /// instruction (`mark_verifier_state_scratched()`: a new path, a
    /// function entered).
    pub scratch_all: bool,
    /// The state line the last instruction left to print.
    pub pending_print: Option<PendingPrint>,
    /// The last conditional jump was decided by its operands (its state
    /// line is printed at once).
    pub branch_decided: bool,
    /// At a conditional jump: the registers of the current frame linked to
    /// its operands by a scalar id, and whether copies exist elsewhere
    /// (other frames, the stack).
    pub last_linked: (u16, bool),
    /// The `exit` being checked ended a run of a callback.
    pub last_cb_exit: bool,
    /// The last explored state kept on the current path.
    pub cur_parent: Option<usize>,
    /// Per frame, the stack slots the current path wholly wrote since
    /// [`Verifier::cur_parent`] (`REG_LIVE_WRITTEN`, [`stack_live`]).
    pub cur_written: [u64; crate::state::MAX_CALL_FRAMES],
    /// Registers live at the start of each slot (bit `r`).
    pub live_in: Vec<u16>,
    /// Jumps and instructions processed when a state was last kept
    /// (`prev_jmps_processed`, `prev_insn_processed`).
    pub jmps_processed: u32,
    pub prev_jmps_processed: u32,
    pub prev_insn_processed: u32,
    /// Explored states currently kept.
    pub cur_states: u32,
    /// The line record whose source line the log printed last
    /// (`env->prev_linfo`).
    pub prev_linfo: Option<usize>,
    /// First slot of the function being verified: 0 for the main
    /// program, a global function's start when it is verified on its own
    /// (`do_check_common(env, subprog)`).
    pub entry_start: usize,
    /// Global functions (by func_info index) some verified path called
    /// (`subprog_aux()->called`).
    pub global_called: Vec<bool>,
    /// The ctx access the last memory check accepted.
    pub last_ctx: Option<CtxRecord>,
}

impl sfmt::Debug for Verifier<'_, '_> {
    fn fmt(&self, f: &mut sfmt::Formatter<'_>) -> sfmt::Result {
        f.debug_struct("Verifier")
            .field("insn_idx", &self.insn_idx)
            .field("cur", &self.cur)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Where the walk goes after an instruction.
pub(crate) enum Step {
    /// The next instruction.
    Next,
    /// Slot `n`.
    Goto(usize),
    /// The path ended (exit of the main program, or an impossible branch).
    Done,
}

impl<'a, 'l> Verifier<'a, 'l> {
    /// A verifier for a decoded program that passed [`check_cfg`].
    pub fn new(
        input: &'a VerifyInput<'a>,
        log: &'l mut VerifierLog,
        prog: Vec<(usize, Instruction)>,
        cfg: CfgInfo,
    ) -> Verifier<'a, 'l> {
        let len = cfg.len;
        let mut slot_to_insn = vec![usize::MAX; len];
        for (i, (at, _)) in prog.iter().enumerate() {
            slot_to_insn[*at] = i;
        }
        let mut aux = vec![InsnAux::default(); len];
        // The prune points of visit_insn() / visit_func_call_insn() /
        // push_insn() in kernel/bpf/verifier.c: a conditional jump and its
        // branch target, the target of a `goto`, the instruction after a
        // call (and the call itself when it enters a subprogram), a
        // `BPF_PSEUDO_FUNC` load and the instruction after it, a
        // callback-calling helper call.
        let mut points = Vec::new();
        let mut mark = |i: usize| points.push(i);
        for (at, ins) in &prog {
            let next = at + ins.slots();
            let target = ins.jump_offset().map(|off| (*at as i64 + 1 + i64::from(off)) as usize);
            match ins {
                Instruction::Ja { .. } => target.into_iter().for_each(&mut mark),
                Instruction::Jmp { .. } => {
                    mark(*at);
                    target.into_iter().for_each(&mut mark);
                }
                Instruction::Call(t) => {
                    mark(next);
                    match t {
                        bpfemu_isa::CallTarget::Local(_) => mark(*at),
                        bpfemu_isa::CallTarget::Helper(id) if crate::proto::is_sync_callback_helper(*id) => {
                            mark(*at);
                            aux[*at].calls_callback = true;
                        }
                        _ => {}
                    }
                }
                Instruction::LdImm64 { src: bpfemu_isa::LdImm64::Func(_), .. } => {
                    mark(*at);
                    mark(next);
                }
                _ => {}
            }
        }
        for i in points {
            if let Some(a) = aux.get_mut(i) {
                a.prune_point = true;
            }
        }
        let ops = input.prog_type;
        let params = |ins: &Instruction| -> Option<u8> {
            match ins {
                Instruction::Call(bpfemu_isa::CallTarget::Helper(id)) => ops.func_proto(*id).map(|p| {
                    p.args.iter().take_while(|a| **a != crate::proto::ArgType::DontCare).count() as u8
                }),
                Instruction::Call(bpfemu_isa::CallTarget::Kfunc { btf_id, btf_fd_idx: 0 }) => {
                    ops.kfunc(*btf_id as u32).map(|k| k.args.len() as u8)
                }
                _ => None,
            }
        };
        let live_in = live::compute(&prog, len, &params);
        let nsub = cfg.subprogs.len();
        Verifier {
            input,
            log,
            prog,
            slot_to_insn,
            cfg,
            cur: VerifierState::entry(),
            insn_idx: 0,
            prev_insn_idx: 0,
            aux,
            id_gen: 0,
            stats: Stats::default(),
            stack_depth: vec![0; nsub],
            max_ctx_offset: 0,
            branches: Vec::new(),
            explored: Vec::new(),
            explored_at: vec![Vec::new(); len],
            chain: Vec::new(),
            hist: Vec::new(),
            last_stack_slot: None,
            scratched_stack: 0,
            scratch_all: true,
            pending_print: None,
            branch_decided: false,
            last_linked: (0, false),
            last_cb_exit: false,
            cur_parent: None,
            cur_written: [0; crate::state::MAX_CALL_FRAMES],
            live_in,
            jmps_processed: 0,
            prev_jmps_processed: 0,
            prev_insn_processed: 0,
            cur_states: 0,
            prev_linfo: None,
            entry_start: 0,
            global_called: vec![false; input.btf.map_or(0, |b| b.funcs.len())],
            last_ctx: None,
        }
    }

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

    /// [`Self::reject`] for the few kernel messages `verbose()`d without
    /// a final newline: the log's next text (the statistics line) is
    /// glued to them, as in the kernel's log.
    pub fn reject_unterminated(&mut self, errno: i32, msg: impl Into<String>) -> VerifyError {
        let msg = msg.into();
        self.log.write(&msg);
        VerifyError { errno, msg }
    }

    /// The current path ended: its ancestors have one unfinished path
    /// less (`update_branch_counts()`).
    fn finish_path(&mut self) {
        let mut at = self.cur_parent;
        while let Some(id) = at {
            let Some(c) = self.chain.get_mut(id) else { break };
            c.branches = c.branches.saturating_sub(1);
            if c.branches != 0 {
                break;
            }
            if std::mem::take(&mut c.in_free_list) {
                self.cur_states = self.cur_states.saturating_sub(1);
            }
            at = c.parent;
        }
    }

    /// Takes the next pending path (`pop_stack()`); `false` when none is left.
    fn pop_branch(&mut self) -> bool {
        self.finish_path();
        let Some(p) = self.branches.pop() else { return false };
        self.cur = p.state;
        self.insn_idx = p.insn;
        self.prev_insn_idx = p.prev_insn;
        self.cur_parent = p.parent;
        self.cur_written = p.written;
        self.hist = p.hist;
        if !self.log.level2() {
            self.log.reset(p.log_pos);
        }
        // The new path's whole frame is shown before its first
        // instruction (`mark_verifier_state_scratched()` at the exit).
        self.scratch_all = true;
        true
    }

    /// One function's walk as `do_check_common()` ends it: at level 1 a
    /// successful walk leaves nothing in the log (it is reset to the
    /// start, `bpf_vlog_reset(&env->log, 0)`); level 2 keeps every path.
    pub fn do_check(&mut self) -> VResult<()> {
        self.walk()?;
        if self.log.insns() && !self.log.level2() {
            self.log.reset(0);
        }
        Ok(())
    }

    /// The walk (`do_check()`).
    fn walk(&mut self) -> VResult<()> {
        let mut do_print_state = false;
        self.scratch_all = true;
        loop {
            let idx = self.insn_idx;
            let Some(&pi) = self.slot_to_insn.get(idx).filter(|&&p| p != usize::MAX) else {
                return Err(self.reject(EINVAL, format!("invalid insn idx {idx} insn_cnt {}", self.cfg.len)));
            };
            let ins = self.prog[pi].1;
            self.stats.insn_processed += 1;
            if self.stats.insn_processed > self.input.opts.insn_limit {
                let n = self.stats.insn_processed;
                return Err(self.reject(E2BIG, format!("BPF program is too large. Processed {n} insn")));
            }
            if self.aux[idx].prune_point && self.is_state_visited(idx)? {
                // The previous instruction's state is not printed.
                self.pending_print = None;
                if self.log.insns() {
                    if do_print_state {
                        self.log.write(&format!("\nfrom {} to {idx}: safe\n", self.prev_insn_idx));
                    } else {
                        self.log.write(&format!("{idx}: safe\n"));
                    }
                }
                if !self.pop_branch() {
                    return Ok(());
                }
                do_print_state = true;
                continue;
            }
            if self.log.level2() && do_print_state {
                let st = fmt::frame_repr(self, self.cur.frames.len() - 1, None);
                self.log.write(&format!("\nfrom {} to {idx}:{st}\n", self.prev_insn_idx));
            }
            do_print_state = false;
            // The previous instruction's state (`print_insn_state()` at
            // the top of `do_check()`'s loop), or a new path's or
            // function's whole frame on a line of its own (after the
            // rewound branch instruction at level 1).
            if let Some(p) = self.pending_print.take() {
                self.print_insn_state(p);
            } else if self.log.insns() && self.scratch_all {
                self.print_insn_state(PendingPrint { only: None, line: None });
            }
            self.scratch_all = false;
            self.scratched_stack = 0;
            if self.log.insns() {
                self.verbose_linfo(idx);
            }
            let line_start = self.log.pos();
            if self.log.insns() {
                let line = self.log_insn_line(idx, &ins);
                self.log.line(&line);
            }
            let line_end = self.log.pos();
            self.aux[idx].seen = true;
            let pushed_before = self.branches.len();
            let frames_before = self.cur.frames.len() as u32;
            self.last_stack_slot = None;
            self.last_linked = (0, false);
            self.branch_decided = false;
            let step = self.check_insn(idx, &ins)?;
            let entry = precise::HistEntry {
                idx: idx as u32,
                frames: frames_before,
                slot: self.last_stack_slot,
                linked: self.last_linked.0,
                linked_other: self.last_linked.1,
                cb_exit: std::mem::take(&mut self.last_cb_exit),
            };
            self.hist.push(entry);
            // A path this instruction pushed went through it too.
            for b in self.branches.iter_mut().skip(pushed_before) {
                b.hist.push(entry);
            }
            if self.log.insns() {
                let callback = matches!(ins, Instruction::Call(_)) && self.branches.len() > pushed_before;
                self.log_insn_state(&ins, frames_before, callback, line_start, line_end);
                if matches!(step, Step::Done) {
                    self.pending_print = None;
                }
                // Paths pushed by this instruction resume right after its
                // line, where its state was appended: a level-1 rewind
                // keeps the first padding space (`push_stack()` saved
                // `log->end_pos` before `print_insn_state()`).
                for b in self.branches.iter_mut().skip(pushed_before) {
                    b.log_pos = line_end;
                }
            }
            self.prev_insn_idx = idx;
            // Back in the caller: its next instruction is announced as
            // "from EXIT to N" (level 2), as after a pop.
            if (self.cur.frames.len() as u32) < frames_before {
                do_print_state = true;
            }
            match step {
                Step::Next => self.insn_idx = idx + ins.slots(),
                Step::Goto(t) => self.insn_idx = t,
                Step::Done => {
                    if !self.pop_branch() {
                        return Ok(());
                    }
                    do_print_state = true;
                }
            }
        }
    }

    /// After an instruction, the registers and stack slots it touched
    /// (`print_insn_state()`): `0: (b7) r0 = 1   ; R0=1`, printed before
    /// the next instruction unless the path ends or is pruned there, or
    /// right away for a conditional jump the bounds decided
    /// (`check_cond_jmp_op()`). A call that pushed a callback run shows
    /// the whole frame; a call into a subprogram the callee's frame before
    /// its first instruction; a return nothing more.
    fn log_insn_state(
        &mut self,
        ins: &Instruction,
        frames_before: u32,
        callback: bool,
        line_start: usize,
        line_end: usize,
    ) {
        let frames = self.cur.frames.len() as u32;
        self.pending_print = None;
        if frames > frames_before {
            self.scratch_all = true;
            return;
        }
        if frames < frames_before {
            return;
        }
        let only = if callback {
            None
        } else {
            let regs = fmt::insn_scratch(ins);
            if regs == 0 && self.scratched_stack == 0 {
                return;
            }
            Some((regs, self.scratched_stack))
        };
        let p = PendingPrint { only, line: (line_end > line_start).then_some((line_start, line_end)) };
        if self.branch_decided {
            self.print_insn_state(p);
        } else {
            self.pending_print = Some(p);
        }
    }

    /// `print_insn_state()`: appended to the instruction's line when
    /// nothing came after it, else on a line of its own.
    fn print_insn_state(&mut self, p: PendingPrint) {
        let text = fmt::frame_repr(self, self.cur.frames.len() - 1, p.only);
        match p.line {
            Some((line_start, line_end)) if self.log.pos() == line_end => {
                let pos = line_end - line_start;
                self.log.reset(line_end - 1);
                let width = (pos + 4).max(40).div_ceil(8) * 8 - pos - 1;
                self.log.write(&format!("{:width$};{text}\n", ' '));
            }
            _ => self.log.write(&format!("{}:{text}\n", self.insn_idx)),
        }
    }

    /// One instruction (the body of `do_check()`'s loop).
    fn check_insn(&mut self, idx: usize, ins: &Instruction) -> VResult<Step> {
        match *ins {
            Instruction::Alu { .. } | Instruction::Neg { .. } | Instruction::Endian { .. } => {
                self.check_alu(ins)?;
                Ok(Step::Next)
            }
            Instruction::LdImm64 { dst, src } => {
                self.check_ld_imm64(idx, dst.idx(), src)?;
                Ok(Step::Next)
            }
            Instruction::LdPacket { size, src, imm } => {
                self.check_ld_abs(size, src.map(|r| r.idx()), imm)?;
                Ok(Step::Next)
            }
            Instruction::Ldx { size, sx, dst, src, off } => {
                self.check_ldx(size, sx, dst.idx(), src.idx(), off)?;
                Ok(Step::Next)
            }
            Instruction::St { size, dst, off, imm } => {
                self.check_st(size, dst.idx(), off, imm)?;
                Ok(Step::Next)
            }
            Instruction::Stx { size, dst, src, off } => {
                self.check_stx(size, dst.idx(), src.idx(), off)?;
                Ok(Step::Next)
            }
            Instruction::Atomic { size, op, dst, src, off } => {
                self.check_atomic(size, op, dst.idx(), src.idx(), off)?;
                Ok(Step::Next)
            }
            Instruction::Ja { off, .. } => {
                self.jmps_processed += 1;
                Ok(Step::Goto((idx as i64 + 1 + i64::from(off)) as usize))
            }
            Instruction::Jmp { width, op, dst, src, off } => {
                self.jmps_processed += 1;
                let target = (idx as i64 + 1 + i64::from(off)) as usize;
                self.check_cond_jmp(width, op, dst.idx(), src, target)
            }
            Instruction::Call(t) => {
                self.jmps_processed += 1;
                // Argument values may matter to the callee (sizes, flags):
                // they are kept exact (the kernel marks the ones that do).
                self.mark_precise(0b11_1110);
                Ok(match self.check_call(t)? {
                    Some(slot) => Step::Goto(slot),
                    None => Step::Next,
                })
            }
            Instruction::Exit => {
                self.jmps_processed += 1;
                // The exit value matters when it is range-checked: always
                // in a subprogram or callback, in the main program when
                // the program type restricts it.
                if self.cur.frames.len() > 1 || self.input.prog_type.return_range().is_some() {
                    self.mark_precise(1);
                }
                Ok(match self.check_exit()? {
                    Some(slot) => Step::Goto(slot),
                    None => Step::Done,
                })
            }
        }
    }
}

/// The kernel's message for an instruction that does not decode
/// (`do_check()`'s opcode and reserved-field checks).
fn decode_message(e: &bpfemu_isa::DecodeError) -> String {
    use bpfemu_isa::Reason;
    let class = match e.code & 7 {
        0 => "BPF_LD",
        1 => "BPF_LDX",
        2 => "BPF_ST",
        3 => "BPF_STX",
        4 | 7 => "BPF_ALU",
        _ => "BPF_JMP",
    };
    match &e.reason {
        Reason::UnknownOpcode => format!("unknown opcode {:02x}", e.code),
        Reason::TruncatedLdImm64 | Reason::BadLdImm64Tail => "invalid BPF_LD_IMM insn".to_string(),
        Reason::BadRegister { value, .. } => format!("R{value} is invalid"),
        Reason::Reserved { .. } | Reason::BadValue { .. } => format!("{class} uses reserved fields"),
    }
}

/// Verifies a program (`bpf_check()`): decoding, the CFG checks, the walk,
/// and the statistics line at the end of the log, success or not.
pub fn verify(input: &VerifyInput<'_>, log: &mut VerifierLog) -> Result<VerifyOutcome, VerifyError> {
    let prog = match bpfemu_isa::decode_program(input.insns) {
        Ok(p) => p,
        Err(e) => {
            let msg = decode_message(&e);
            log.line(&msg);
            return Err(VerifyError { errno: EINVAL, msg });
        }
    };
    let cfg = match check_cfg(&prog, CfgOptions { bpf_capable: input.opts.bpf_capable }) {
        Ok(c) => c,
        Err(e) => {
            let msg = e.to_string();
            if e != crate::cfg::CfgError::Empty {
                log.line(&msg);
            }
            return Err(VerifyError { errno: e.errno(), msg });
        }
    };
    let btf_checked = match input.btf {
        Some(info) => crate::btf_info::check(info, &cfg.subprogs, &prog, cfg.len),
        None => crate::btf_info::check_abnormal_return(&cfg.subprogs, &prog, cfg.len),
    };
    if let Err((errno, msg)) = btf_checked {
        log.line(&msg);
        return Err(VerifyError { errno, msg });
    }
    let mut v = Verifier::new(input, log, prog, cfg);
    let start = if input.opts.extension {
        v.start_extension()
    } else {
        v.check_main_prototype();
        Ok(())
    };
    // `check_max_stack_depth()` runs once every path is done (bpf_check()).
    let res = start
        .and_then(|()| v.do_check())
        .and_then(|()| v.do_check_globals())
        .and_then(|()| v.check_max_stack_depth());
    let stats = v.stats;
    let depths = v.stack_depth.clone();
    if v.log.stats() {
        // The time is reported as 0: the emulator is deterministic.
        let block = stats_block(0, &depths);
        v.log.write(&block);
    }
    if v.log.enabled() {
        let line = stats_line(
            stats.insn_processed,
            stats.max_states_per_insn,
            stats.total_states,
            stats.peak_states,
            // `longest_mark_read_walk`: Linux 6.18 replaced the parentage
            // chain walks of `mark_reg_read()` by a path-insensitive
            // liveness analysis and never updates it, so its logs say
            // `mark_read 0`; bpfemu's own walk count stays in `Stats`.
            0,
        );
        v.log.line(&line);
    }
    res?;
    Ok(VerifyOutcome {
        stats,
        stack_depth: depths,
        max_ctx_offset: v.max_ctx_offset,
        subprogs: v.cfg.subprogs.clone(),
        ctx_accesses: v.aux.iter().enumerate().filter_map(|(i, a)| a.ctx.map(|c| (i, c))).collect(),
        btf_loads: v
            .aux
            .iter()
            .enumerate()
            // Loads only: stores through such pointers (struct_ops
            // writes) stay plain stores, as `convert_ctx_accesses()`
            // rewrites only `BPF_READ`.
            .filter(|(i, a)| {
                a.mem_is_btf == Some(true)
                    && v.input.insns.get(*i).is_some_and(|n| n.code & 0x07 == bpfemu_isa::opcode::BPF_LDX)
            })
            .map(|(i, _)| i)
            .collect(),
    })
}

impl Verifier<'_, '_> {
    /// The log line of the instruction at `idx` (`print_bpf_insn()` with
    /// the verifier's callbacks, which set no `cb_imm`): a pseudo
    /// `ld_imm64` prints the 64-bit immediate `resolve_pseudo_ldimm64()`
    /// left, `r1 = 0x...`: the map's address for a map
    /// ([`crate::env::MapInfo::log_addr`]), that address plus the offset for a
    /// map value (a stand-in: the kernel prints the value's address), the
    /// relative offset for a function. The `BPF_PSEUDO_MAP_FD` and
    /// `BPF_PSEUDO_MAP_VALUE` forms print 0 without `allow_ptr_leaks`
    /// (the `_IDX` forms are not hidden, as in the kernel).
    fn log_insn_line(&self, idx: usize, ins: &Instruction) -> String {
        use crate::env::PseudoKind;
        use bpfemu_isa::LdImm64;
        if let Instruction::Call(bpfemu_isa::CallTarget::Kfunc { btf_id, btf_fd_idx: 0 }) = ins
            && let Some(name) = self.input.prog_type.kfunc_name(*btf_id as u32)
        {
            // The disassembler callback names kfuncs from the BTF.
            let code = ins.encode().first().map_or(0, |i| i.code);
            return format!("{idx}: ({code:02x}) call {name}#{btf_id}");
        }
        let Instruction::LdImm64 { dst, src } = ins else {
            return insn_line(idx, ins);
        };
        let Some(kind) = self.input.pseudo_at(idx) else {
            // `print_bpf_insn()` prints a plain 64-bit immediate as
            // `0x%llx`, without the assembler's `ll`.
            if let LdImm64::Imm(v) = src {
                let code = ins.encode().first().map_or(0, |i| i.code);
                return format!("{idx}: ({code:02x}) r{} = {v:#x}", dst.num());
            }
            return insn_line(idx, ins);
        };
        let map_addr = |m: u32| self.input.maps.get(m as usize).map_or(0, |i| i.log_addr);
        let imm = match kind {
            PseudoKind::Map { map } => map_addr(map),
            PseudoKind::MapValue { map, off } => map_addr(map).wrapping_add(u64::from(off)),
            PseudoKind::Func { target } => (target as i64 - idx as i64 - 1) as u64,
        };
        let hidden =
            matches!(src, LdImm64::MapFd(_) | LdImm64::MapValue { .. }) && !self.input.opts.allow_ptr_leaks;
        let imm = if hidden { 0 } else { imm };
        let code = ins.encode().first().map_or(0, |i| i.code);
        format!("{idx}: ({code:02x}) r{} = {imm:#x}", dst.num())
    }
}
