//! Global functions and source lines (kernel/bpf/verifier.c:
//! `check_func_call()` for a `BTF_FUNC_GLOBAL` callee,
//! `btf_check_subprog_call()`, `do_check_subprogs()`,
//! `do_check_common()` for a subprogram, and kernel/bpf/log.c
//! `verbose_linfo()`).
//!
//! A call to a global function is not followed: its arguments are checked
//! against the prototype the kernel crate resolved from BTF
//! ([`SubprogArg`]), r1-r5 are scratched and r0 becomes an unknown scalar.
//! Once the main program is verified, every global function that a
//! verified path called is verified once on its own, from a state built
//! from its prototype (scalars unknown, ctx pointers, `PTR_TO_MEM` of the
//! pointee's size, `_or_null` unless `__arg_nonnull`), until no new one is
//! called. Its `exit` must leave a scalar in r0.
//!
//! Not emulated: `__arg_trusted`, `__arg_arena`, dynptr arguments,
//! `PTR_TO_BTF_ID` arguments, the "might sleep" and lock checks on the
//! call. `changes_pkt_data`: no helper of the prototype table changes
//! packet data, so packet pointers stay valid across the call.

use super::args::{EACCES, reg_is_null};
use super::{VResult, Verifier};
use crate::btf_info::SubprogArg;
use crate::env::Access;
use crate::errno::EINVAL;
use crate::log::{BPF_LOG_LEVEL1, BPF_LOG_LEVEL2};
use crate::state::{FuncState, RegState, RegType, VerifierState};

impl Verifier<'_, '_> {
    fn log_verbose(&self) -> bool {
        self.log.level() & (BPF_LOG_LEVEL1 | BPF_LOG_LEVEL2) != 0
    }

    /// Before the log line of the instruction at `idx`: its source line,
    /// `; <line> @ <file>:<n>`, when it starts a new line record that
    /// names another line than the last one printed.
    pub(crate) fn verbose_linfo(&mut self, idx: usize) {
        let Some(info) = self.input.btf else { return };
        let Some(l) = info.find_line(idx) else { return };
        if self.prev_linfo == Some(l) {
            return;
        }
        if let Some(prev) = self.prev_linfo
            && info.same_line(prev, l)
        {
            return;
        }
        if let Some(text) = info.line_text(l) {
            self.log.line(&format!("; {text}"));
        }
        self.prev_linfo = Some(l);
    }

    /// The global function (its func_info index and whether it is global)
    /// starting at slot `start`.
    pub(crate) fn global_subprog(&self, start: usize) -> Option<usize> {
        self.input.btf.and_then(|b| b.global_at(start)).map(|(i, _)| i)
    }

    /// A call to the global function `func` (func_info index): the
    /// arguments against its prototype, then the effects of the call.
    pub(crate) fn check_global_call(&mut self, func: usize) -> VResult<Option<usize>> {
        let Some(f) = self.input.btf.and_then(|b| b.funcs.get(func)) else { return Ok(None) };
        let name = f.name.clone();
        // btf_check_subprog_call() runs (and logs) first.
        let args = self.check_global_args(func);
        if self.cur.active_lock != 0 {
            return self.fail(
                EINVAL,
                "global function calls are not allowed while holding a lock,\nuse static function instead",
            );
        }
        if let Err(e) = args {
            let errno = e.errno;
            return Err(self.reject(errno, format!("Caller passes invalid args into func#{func} ('{name}')")));
        }
        if self.log_verbose() {
            self.log.line(&format!("Func#{func} ('{name}') is global and assumed valid."));
        }
        if let Some(c) = self.global_called.get_mut(func) {
            *c = true;
        }
        for r in 0..=5 {
            self.cur.cur_mut().regs[r] = RegState::not_init();
            self.mark_reg_written(r);
        }
        self.cur.cur_mut().regs[0] = RegState::unknown_scalar();
        Ok(None)
    }

    /// `btf_check_func_arg_match()` for a global callee: each argument
    /// register against the prototype.
    fn check_global_args(&mut self, func: usize) -> VResult<()> {
        let Some(f) = self.input.btf.and_then(|b| b.funcs.get(func)) else { return Ok(()) };
        let args = match &f.args {
            Ok(a) => a.clone(),
            Err(msg) => {
                let msg = msg.clone();
                return self.fail(EINVAL, msg);
            }
        };
        for (i, arg) in args.iter().enumerate() {
            let regno = i + 1;
            let reg = self.arg_reg(regno);
            match *arg {
                SubprogArg::Scalar => {
                    if reg.typ != RegType::Scalar {
                        return self.fail(EINVAL, format!("R{regno} is not a scalar"));
                    }
                }
                SubprogArg::Ctx => {
                    if reg.typ != RegType::Ctx {
                        return self.fail(EINVAL, format!("arg#{i} expects pointer to ctx"));
                    }
                    if reg.off != 0 {
                        return self.fail(
                            EACCES,
                            format!("dereference of modified ctx ptr R{regno} off={} disallowed", reg.off),
                        );
                    }
                }
                SubprogArg::Mem { size, nullable } => {
                    // check_mem_reg(): NULL passes; anything else must give
                    // `size` readable and writable bytes.
                    if !reg_is_null(&reg) || !reg.is_scalar() {
                        let saved = reg.clone();
                        if saved.flags.maybe_null {
                            self.cur.cur_mut().regs[regno].flags.maybe_null = false;
                        }
                        let res = self
                            .check_helper_mem(regno, u64::from(size), Access::Read, false, false)
                            .and_then(|()| {
                                self.check_helper_mem(regno, u64::from(size), Access::Write, false, false)
                            });
                        self.cur.cur_mut().regs[regno] = saved;
                        res?;
                    }
                    if !nullable && reg.flags.maybe_null {
                        return self.fail(EINVAL, format!("arg#{i} is expected to be non-NULL"));
                    }
                }
            }
        }
        Ok(())
    }

    /// `do_check_subprogs()`: verifies every called global function once,
    /// again while new ones get called.
    pub(crate) fn do_check_globals(&mut self) -> VResult<()> {
        let Some(info) = self.input.btf else { return Ok(()) };
        let mut verified = vec![false; info.funcs.len()];
        loop {
            let mut new = 0;
            for (i, f) in info.funcs.iter().enumerate().skip(1) {
                if !f.global || verified[i] || !self.global_called.get(i).copied().unwrap_or(false) {
                    continue;
                }
                self.check_global_func(i)?;
                if self.log_verbose() {
                    self.log.line(&format!(
                        "Func#{i} ('{}') is safe for any args that match its prototype",
                        f.name
                    ));
                }
                verified[i] = true;
                new += 1;
            }
            if new == 0 {
                return Ok(());
            }
        }
    }

    /// `do_check_common()` for global function `func`: a fresh walk from
    /// its first slot with the registers its prototype describes.
    fn check_global_func(&mut self, func: usize) -> VResult<()> {
        let Some(f) = self.input.btf.and_then(|b| b.funcs.get(func)) else { return Ok(()) };
        let start = f.insn_off as usize;
        if self.log_verbose() {
            self.log.line(&format!("Validating {}() func#{func}...", f.name));
        }
        let args = match &f.args {
            Ok(a) => a.clone(),
            Err(msg) => {
                let msg = msg.clone();
                return self.fail(EINVAL, msg);
            }
        };
        let frame = self.entry_frame(&args, start);
        self.cur =
            VerifierState { frames: vec![frame], refs: Vec::new(), active_lock: 0, callback_unroll_depth: 0 };
        self.insn_idx = start;
        self.prev_insn_idx = start;
        self.prev_linfo = None;
        self.entry_start = start;
        self.branches.clear();
        self.explored.clear();
        for at in &mut self.explored_at {
            at.clear();
        }
        self.chain.clear();
        self.hist.clear();
        self.cur_parent = None;
        self.cur_written = Default::default();
        // `free_states()` between functions does not lower the count
        // `peak_states` is taken from: it carries over.
        self.do_check()
    }

    /// The first frame of a function verified on its own, starting at
    /// `start`: r1-r5 as its prototype's `args` describe them
    /// (`btf_prepare_func_args()` results, as `do_check_common()` sets
    /// them up).
    fn entry_frame(&mut self, args: &[SubprogArg], start: usize) -> FuncState {
        let mut frame = FuncState::new(0, 0, start);
        for (i, arg) in args.iter().enumerate() {
            frame.regs[i + 1] = match *arg {
                SubprogArg::Scalar => RegState::unknown_scalar(),
                SubprogArg::Ctx => RegState::pointer(RegType::Ctx),
                SubprogArg::Mem { size, nullable } => {
                    let mut r = RegState::pointer(RegType::Mem);
                    r.mem_size = size;
                    if nullable {
                        r.flags.maybe_null = true;
                        r.id = self.new_id();
                    }
                    r
                }
            };
        }
        frame
    }

    /// `do_check_common()` for the main function of an extension
    /// (`BPF_PROG_TYPE_EXT`): "Validating NAME() func#0...", then its
    /// registers from its own prototype (a prototype
    /// `btf_prepare_func_args()` refuses fails the load). Its `exit` is
    /// the main program's: the return value is checked against the
    /// target program type's range (`check_return_code()` with
    /// `resolve_prog_type()`).
    pub(crate) fn start_extension(&mut self) -> VResult<()> {
        let Some(f) = self.input.btf.and_then(|b| b.funcs.first()) else {
            return self.fail(EINVAL, "Program extension requires BTF");
        };
        if self.log_verbose() {
            self.log.line(&format!("Validating {}() func#0...", f.name));
        }
        let args = match &f.args {
            Ok(a) => a.clone(),
            Err(msg) => {
                let msg = msg.clone();
                return self.fail(EINVAL, msg);
            }
        };
        let frame = self.entry_frame(&args, 0);
        self.cur =
            VerifierState { frames: vec![frame], refs: Vec::new(), active_lock: 0, callback_unroll_depth: 0 };
        Ok(())
    }

    /// `do_check_common()` for the main program: a global main function's
    /// prototype goes through `btf_prepare_func_args()` too, and what it
    /// refuses only marks the BTF unreliable: the message stays in the
    /// log, the load goes on. Only the prototype-wide messages (return
    /// type, argument count) are printed; per-argument ones are not.
    pub(crate) fn check_main_prototype(&mut self) {
        let Some(f) = self.input.btf.and_then(|b| b.funcs.first()) else { return };
        if let Err(msg) = &f.args
            && f.global
            && msg.starts_with("Global function ")
        {
            self.log.line(msg);
        }
    }

    /// At the exit of a global function verified on its own: r0 must be
    /// a scalar.
    pub(crate) fn check_global_return(&mut self) -> VResult<()> {
        self.check_reg_read(0)?;
        let r0 = self.arg_reg(0);
        if r0.typ != RegType::Scalar {
            let t = super::fmt::reg_type_str(&r0);
            return self
                .fail(EINVAL, format!("At subprogram exit the register R0 is not a scalar value ({t})"));
        }
        Ok(())
    }
}
