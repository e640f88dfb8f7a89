//! Calls: helpers, callbacks, tail calls, bpf2bpf calls, kfuncs
//! (kernel/bpf/verifier.c, Linux 6.1, callbacks as in 6.7+: the
//! `BPF_CALL` case of `do_check()`, `check_helper_call()`,
//! `record_func_map()`, `check_map_func_compatibility()`,
//! `__check_func_call()` with `set_callee_state()`,
//! `push_callback_call()` with `set_loop_callback_state()` and
//! `set_map_elem_callback_state()`, `check_kfunc_call()`,
//! `check_max_stack_depth()`). Argument checks are in `args`.
//!
//! **Callbacks** (`bpf_loop`, `bpf_for_each_map_elem`) are verified as
//! Linux 6.7+ verifies them ("bpf: verify callbacks as if they are called
//! unknown number of times"): the helper call is a prune point where a
//! state is always kept (`calls_callback`, `force_checkpoint`). Checking
//! the call pushes one run of the callback as a path of its own
//! (`push_callback_call()`: the current state with the callback's frame on
//! top, `callback_unroll_depth` and the caller's `callback_depth` bumped)
//! and goes on after the call with the callback run no more times. The
//! callback's `exit` (r0 in `[0, 1]`, its own references released) pops
//! its frame and returns to the call itself, which is checked again from
//! the caller's state as the run left it, pushing the next run. Runs stop
//! when `bpf_loop`'s count argument (precise) is reached
//! (`callback_depth >= umax`), or when the state returning to the call is
//! covered by one kept there earlier on the same path, compared with
//! `RANGE_WITHIN` (`super::prune`); scalars that changed since that state
//! and that no check needed exact are widened to unknown first
//! (`super::widen`). Runs that never converge end at the 1M-instruction
//! limit; a loop inside one run is an infinite loop as anywhere else. The
//! callback's path keeps its caller's references, which it may not
//! release (`callback_ref_floor`, `refs`); calls are refused while a lock
//! is held. `bpf_loop`'s `nr_loops` limit
//! (`BPF_MAX_LOOPS`) and its zero `flags` are run-time checks.
//!
//! Differences from the kernel:
//! * Callback runs: every call argument and exit value is precise here
//!   (`super::precise`), so a few more scalars stay exact than in the
//!   kernel and are not widened. States kept inside a loop of callback
//!   runs are compared as other kept states are (the kernel's later
//!   strongly-connected-component rule for such states is not emulated).
//! * **Global functions**: with BTF func info ([`crate::env::VerifyInput::btf`]), a
//!   call to a `BTF_FUNC_GLOBAL` subprogram is checked against its
//!   prototype and not followed (`super::global`); every other
//!   subprogram is static and verified at each call site.
//! * **kfuncs**: pointers to kernel objects must match the argument's BTF
//!   type exactly, at offset 0 (the kernel also accepts a pointer to a
//!   struct whose first member has the type); only vmlinux kfuncs
//!   (`off == 0`) are looked up.
//! * Helpers that change packet data would invalidate packet pointers
//!   (`clear_all_pkt_pointers()`); none is in the prototype table yet.
//!   `bpf_snprintf`'s format string is not parsed at load time.

use super::args::{ArgMeta, EACCES, EFAULT, ENOTSUPP, reg_is_null};
use super::fmt::reg_type_str;
use super::{VResult, Verifier};
use crate::bounds::ScalarBounds;
use crate::env::{Access, KfuncArg, KfuncRet, PseudoKind, map_type};
use crate::errno::{E2BIG, EINVAL, EPROTO};
use crate::log::{BPF_LOG_LEVEL1, BPF_LOG_LEVEL2};
use crate::proto::ArgType;
use crate::proto::{FuncProto, RetType, id};
use crate::state::{FuncState, MAX_BPF_STACK, MAX_CALL_FRAMES, RegState, RegType};
use bpfemu_isa::disasm::helper_name;
use bpfemu_isa::{CallTarget, Instruction};

/// `-MAX_ERRNO`: the lowest error a helper returns.
const MAX_ERRNO: i64 = 4095;

/// `func_id_name()`.
fn func_id_name(id: i32) -> &'static str {
    helper_name(id).unwrap_or("unknown")
}

impl Verifier<'_, '_> {
    /// Checks the `call` at `self.insn_idx` and applies its effect on the
    /// current state. Returns `Some(slot)` when the walk continues
    /// elsewhere (the first slot of a bpf2bpf callee, a new frame pushed),
    /// `None` to continue with the next instruction.
    pub(crate) fn check_call(&mut self, target: CallTarget) -> VResult<Option<usize>> {
        if let CallTarget::Reg(_) = target {
            return self.fail(EINVAL, "BPF_CALL uses reserved fields");
        }
        if self.cur.active_lock != 0 && target != CallTarget::Helper(id::SPIN_UNLOCK) {
            return self.fail(EINVAL, "function calls are not allowed while holding a lock");
        }
        match target {
            CallTarget::Helper(func_id) => self.check_helper_call(func_id),
            CallTarget::Local(imm) => self.check_func_call(imm),
            CallTarget::Kfunc { btf_id, btf_fd_idx } => self.check_kfunc_call(btf_id, btf_fd_idx),
            CallTarget::Reg(_) => Ok(None),
        }
    }

    /// r0-r5 are scratched by any call (`clear_caller_saved_regs()`).
    fn clear_caller_saved(&mut self) {
        for r in 0..=5 {
            self.cur.cur_mut().regs[r] = RegState::not_init();
            self.mark_reg_written(r);
        }
    }

    /// `check_helper_call()`.
    fn check_helper_call(&mut self, func_id: i32) -> VResult<Option<usize>> {
        let Some(name) = helper_name(func_id).filter(|_| func_id >= 0) else {
            return self.fail(EINVAL, format!("invalid func unknown#{func_id}"));
        };
        let Some(fp) = self.input.prog_type.func_proto(func_id) else {
            return self.fail(EINVAL, format!("program of this type cannot use helper {name}#{func_id}"));
        };
        if fp.gpl_only && !self.input.opts.gpl_compatible {
            return self.fail(EINVAL, "cannot call GPL-restricted function from non-GPL compatible program");
        }
        if fp.might_sleep && !self.input.opts.sleepable {
            return self.fail(EINVAL, "helper call might sleep in a non-sleepable prog");
        }
        let mut meta = ArgMeta { func_id, ..ArgMeta::default() };
        for arg in 0..5 {
            self.check_func_arg(arg, &mut meta, fp)?;
        }
        self.record_func_map(&meta, func_id)?;
        self.record_func_key(&meta, func_id)?;
        if meta.release_regno != 0 {
            let dynptr = matches!(fp.args[meta.release_regno - 1], ArgType::PtrToDynptr { .. });
            let ok = if dynptr {
                self.unmark_stack_slots_dynptr(meta.release_regno).is_ok()
            } else if meta.ref_obj_id != 0 {
                self.release_reference(meta.ref_obj_id).is_ok()
            } else {
                reg_is_null(&self.arg_reg(meta.release_regno))
            };
            if !ok {
                return self
                    .fail(EINVAL, format!("func {name}#{func_id} reference has not been acquired before"));
            }
        }
        match func_id {
            id::TAIL_CALL => {
                self.check_reference_leak(Some("tail_call would lead to reference leak"), true)?
            }
            id::LOOP => {
                // The iteration count decides when the runs stop: it is
                // precise (every call argument is, see `check_insn`).
                let umax = self.arg_reg(1).var.umax;
                if u64::from(self.cur.cur().callback_depth) < umax {
                    self.push_callback(func_id, &meta)?;
                } else {
                    self.cur.cur_mut().callback_depth = 0;
                    if self.log.level2() {
                        let n = self.cur.frames.len() - 1;
                        self.log.line(&format!("frame{n} bpf_loop iteration limit reached"));
                    }
                }
            }
            id::FOR_EACH_MAP_ELEM => self.push_callback(func_id, &meta)?,
            id::DYNPTR_FROM_MEM => {
                // `check_helper_call()`: the data of a local dynptr must be
                // a map value (whatever the argument type accepts); the
                // whole type is compared, flags included.
                let r1 = self.arg_reg(1);
                if r1.typ != RegType::MapValue || r1.flags != crate::state::RegFlags::default() {
                    let t = reg_type_str(&r1);
                    return self
                        .fail(EACCES, format!("Unsupported reg type {t} for bpf_dynptr_from_mem data"));
                }
            }
            id::GET_FUNC_IP => {
                if let Err(msg) = self.input.prog_type.check_get_func_ip() {
                    return self.fail(ENOTSUPP, msg);
                }
            }
            _ => {}
        }
        self.clear_caller_saved();
        let r0 = self.helper_ret(fp, &meta, name)?;
        self.cur.cur_mut().regs[0] = r0;
        self.mark_reg_written(0);
        if let Some(m) = meta.map {
            self.check_map_func_compatibility(m, func_id)?;
        }
        Ok(None)
    }

    /// r0 after a helper call, from the prototype's return type
    /// (`check_helper_call()`'s `ret_type` switch, the acquire step and
    /// `do_refine_retval_range()`).
    fn helper_ret(&mut self, fp: &FuncProto, meta: &ArgMeta, name: &str) -> VResult<RegState> {
        let r0 = match fp.ret {
            RetType::Integer => {
                let mut r = RegState::unknown_scalar();
                if matches!(fp.id, id::PROBE_READ_USER_STR | id::PROBE_READ_KERNEL_STR) {
                    // A string read returns its length (at most the size
                    // argument) or a negative error.
                    let mut b = ScalarBounds::unknown();
                    b.smax = meta.msize_max.min(i64::MAX as u64) as i64;
                    b.s32_max = meta.msize_max.min(i32::MAX as u64) as i32;
                    b.smin = -MAX_ERRNO;
                    b.s32_min = -(MAX_ERRNO as i32);
                    b.sync();
                    r.var = b;
                }
                if fp.id == id::GET_SMP_PROCESSOR_ID
                    && let Some(n) = self.input.opts.nr_cpu_ids
                {
                    // A CPU number below nr_cpu_ids.
                    r.var = ScalarBounds::urange(0, u64::from(n.saturating_sub(1)));
                }
                r
            }
            RetType::Void => RegState::not_init(),
            RetType::PtrToMapValueOrNull => {
                let Some((idx, inner)) = meta.map else {
                    return self.fail(EINVAL, "kernel subsystem misconfigured verifier");
                };
                let Some(m) = self.map_ref_info((idx, inner)) else {
                    return self.fail(EINVAL, "kernel subsystem misconfigured verifier");
                };
                if matches!(m.map_type, map_type::SOCKMAP | map_type::SOCKHASH) {
                    // The kernel types r0 `map_value_or_null` and turns it
                    // into `PTR_TO_SOCKET` at the NULL check
                    // (`mark_ptr_not_null_reg()`); the lookup acquires a
                    // reference (`is_acquire_function()`). Here r0 is a
                    // `sock_or_null` at once, as map-in-map lookups are a
                    // map pointer at once.
                    let mut r = RegState::pointer(RegType::Sock);
                    r.flags.maybe_null = true;
                    let ref_id = self.acquire_reference();
                    r.id = ref_id;
                    r.ref_obj_id = ref_id;
                    return Ok(r);
                }
                let mut r = if matches!(m.map_type, map_type::ARRAY_OF_MAPS | map_type::HASH_OF_MAPS) {
                    if inner || m.inner.is_none() {
                        return self.fail(
                            EINVAL,
                            format!("map '{}': lookups in nested map-in-map are not supported", m.name),
                        );
                    }
                    RegState { map: idx, inner_map: true, ..RegState::pointer(RegType::ConstMapPtr) }
                } else {
                    RegState { map: idx, inner_map: inner, ..RegState::pointer(RegType::MapValue) }
                };
                // A constant key in bounds of an array: the lookup cannot
                // miss, r0 is not NULL and needs no id but for a spin lock.
                let hit = fp.id == id::MAP_LOOKUP_ELEM
                    && super::const_key::can_elide_value_nullness(m)
                    && meta.const_map_key.is_some_and(|k| k < u64::from(m.max_entries));
                r.flags.maybe_null = !hit;
                if !hit || m.spin_lock_off.is_some() {
                    r.id = self.new_id();
                }
                r
            }
            RetType::PtrToMemOrNull { size, ringbuf } => {
                let mut r = RegState::pointer(RegType::Mem);
                r.mem_size = if ringbuf { meta.mem_size } else { size };
                r.flags.ringbuf = ringbuf;
                r.flags.maybe_null = true;
                r.id = self.new_id();
                if ringbuf {
                    let ref_id = self.acquire_reference();
                    r.id = ref_id;
                    r.ref_obj_id = ref_id;
                }
                r
            }
            RetType::PtrToDynptrMemOrNull => self.dynptr_slice(meta)?,
            RetType::PtrToBtfId | RetType::PtrToBtfIdOrNull => {
                return self.fail(EINVAL, format!("unknown return type of func {name}#{}", fp.id));
            }
        };
        Ok(r0)
    }

    /// `record_func_map()`: map-writing helpers refuse maps the program
    /// may only read.
    fn record_func_map(&mut self, meta: &ArgMeta, func_id: i32) -> VResult<()> {
        let writes = matches!(
            func_id,
            id::MAP_DELETE_ELEM | id::MAP_UPDATE_ELEM | id::MAP_PUSH_ELEM | id::MAP_POP_ELEM
        );
        if writes && meta.map.and_then(|m| self.map_ref_info(m)).is_some_and(|m| m.rdonly_prog) {
            return self.fail(EACCES, "write into map forbidden");
        }
        Ok(())
    }

    /// `record_func_key()`: a tail call's map must be a program array,
    /// checked before `check_map_func_compatibility()` (so the message is
    /// this one, not "cannot pass map_type"), `EINVAL` since the commit
    /// "bpf: Avoid warning on unexpected map for tail call" (in 6.18). The
    /// kernel prints it without a newline, so the next log text follows
    /// on the same line.
    fn record_func_key(&mut self, meta: &ArgMeta, func_id: i32) -> VResult<()> {
        if func_id != id::TAIL_CALL {
            return Ok(());
        }
        let prog_array = meta.map.and_then(|m| self.map_ref_info(m)).map(|m| m.map_type);
        if prog_array != Some(map_type::PROG_ARRAY) {
            return Err(self.reject_unterminated(EINVAL, "expected prog array map for tail call"));
        }
        Ok(())
    }

    /// `check_map_func_compatibility()` for the map types and helpers the
    /// emulator knows: both directions of the kernel's check.
    fn check_map_func_compatibility(&mut self, m: (u32, bool), func_id: i32) -> VResult<()> {
        let Some(map) = self.map_ref_info(m) else {
            return Ok(());
        };
        let t = map.map_type;
        let by_map = match t {
            map_type::PROG_ARRAY => func_id == id::TAIL_CALL,
            map_type::PERF_EVENT_ARRAY => func_id == id::PERF_EVENT_OUTPUT,
            map_type::RINGBUF => matches!(
                func_id,
                id::RINGBUF_OUTPUT
                    | id::RINGBUF_RESERVE
                    | id::RINGBUF_QUERY
                    | id::RINGBUF_RESERVE_DYNPTR
                    | id::RINGBUF_SUBMIT_DYNPTR
                    | id::RINGBUF_DISCARD_DYNPTR
            ),
            map_type::ARRAY_OF_MAPS | map_type::HASH_OF_MAPS => func_id == id::MAP_LOOKUP_ELEM,
            map_type::QUEUE | map_type::STACK => {
                matches!(func_id, id::MAP_PEEK_ELEM | id::MAP_POP_ELEM | id::MAP_PUSH_ELEM)
            }
            map_type::BLOOM_FILTER => matches!(func_id, id::MAP_PEEK_ELEM | id::MAP_PUSH_ELEM),
            // Program-side updates (`may_update_sockmap()`, a socket as
            // the value) and the redirect helpers are not emulated.
            map_type::SOCKMAP | map_type::SOCKHASH => {
                matches!(func_id, id::MAP_LOOKUP_ELEM | id::MAP_DELETE_ELEM)
            }
            _ => true,
        };
        let by_func = match func_id {
            id::TAIL_CALL => t == map_type::PROG_ARRAY,
            id::PERF_EVENT_OUTPUT => t == map_type::PERF_EVENT_ARRAY,
            id::RINGBUF_OUTPUT
            | id::RINGBUF_RESERVE
            | id::RINGBUF_QUERY
            | id::RINGBUF_RESERVE_DYNPTR
            | id::RINGBUF_SUBMIT_DYNPTR
            | id::RINGBUF_DISCARD_DYNPTR => t == map_type::RINGBUF,
            id::MAP_POP_ELEM => matches!(t, map_type::QUEUE | map_type::STACK),
            id::MAP_PEEK_ELEM | id::MAP_PUSH_ELEM => {
                matches!(t, map_type::QUEUE | map_type::STACK | map_type::BLOOM_FILTER)
            }
            _ => true,
        };
        if by_map && by_func {
            return Ok(());
        }
        let name = func_id_name(func_id);
        self.fail(EINVAL, format!("cannot pass map_type {t} into func {name}#{func_id}"))
    }

    /// `push_callback_call()` (Linux 6.7+): one more run of the callback is
    /// pushed as a path of its own — a copy of the current state with the
    /// callback's frame on top, set up per helper
    /// (`set_loop_callback_state()`, `set_map_elem_callback_state()`) —
    /// while the current path goes on after the call as if the callback
    /// had run no more. The callback's `exit` returns to the call itself
    /// (`prepare_func_exit()` in `exit`), which pushes the next run from
    /// the caller's state as the callback left it; the runs end when
    /// `bpf_loop`'s count is reached or when the state at the call is
    /// covered by one kept there earlier on the same path (see the module
    /// doc).
    fn push_callback(&mut self, func_id: i32, meta: &ArgMeta) -> VResult<()> {
        let Some(start) = meta.callback else {
            return self.fail(EFAULT, "verifier internal error: callback helper without a callback");
        };
        if self.cfg.subprogs.binary_search(&start).is_err() {
            return self.fail(EFAULT, format!("verifier bug. No program starts at insn {start}"));
        }
        if self.cur.frames.len() >= MAX_CALL_FRAMES {
            let n = self.cur.frames.len() + 1;
            return self.fail(E2BIG, format!("the call stack of {n} frames is too deep"));
        }
        let caller = self.cur.cur().clone();
        let mut callee = FuncState::new(caller.frameno + 1, self.insn_idx, start);
        let ctx = caller.regs[3].clone();
        match func_id {
            id::LOOP => {
                callee.regs[1] = RegState::unknown_scalar();
                callee.regs[2] = ctx.clone();
            }
            _ => {
                let Some((idx, inner)) = meta.map else {
                    return self.fail(EINVAL, "kernel subsystem misconfigured verifier");
                };
                let map = self.map_ref_info((idx, inner));
                let supported = map.is_some_and(|m| {
                    matches!(
                        m.map_type,
                        map_type::HASH
                            | map_type::PERCPU_HASH
                            | map_type::LRU_HASH
                            | map_type::LRU_PERCPU_HASH
                            | map_type::ARRAY
                            | map_type::PERCPU_ARRAY
                    )
                });
                if !supported {
                    return self.fail(ENOTSUPP, "callback function not allowed for map");
                }
                callee.regs[1] = caller.regs[1].clone();
                callee.regs[2] =
                    RegState { map: idx, inner_map: inner, ..RegState::pointer(RegType::MapKey) };
                callee.regs[3] =
                    RegState { map: idx, inner_map: inner, ..RegState::pointer(RegType::MapValue) };
                callee.regs[4] = ctx.clone();
            }
        }
        callee.in_callback_fn = true;
        callee.callback_ret_range = (0, 1);
        // The references held now are the caller's: the callback may
        // neither release them nor leave its own behind (`refs`).
        callee.callback_ref_floor = self.id_gen;
        // The caller's registers stay as they are in the pushed state:
        // the callback returns to the call, which checks them again.
        let mut st = self.cur.clone();
        st.callback_unroll_depth += 1;
        if let Some(f) = st.frames.last_mut() {
            f.callback_depth += 1;
        }
        self.cur.cur_mut().callback_depth = 0;
        st.frames.push(callee);
        // No caller:/callee: lines (`push_callback_call()` prints none):
        // the run shows up as "from N to M:" at level 2.
        self.push_branch(st, start)?;
        Ok(())
    }

    /// `check_func_call()`: a bpf2bpf call pushes the callee's frame with
    /// the caller's r1-r5; the walk goes on at the callee's first slot.
    fn check_func_call(&mut self, imm: i32) -> VResult<Option<usize>> {
        let target = self.insn_idx as i64 + 1 + i64::from(imm);
        let start = usize::try_from(target).ok().filter(|t| self.cfg.subprogs.binary_search(t).is_ok());
        let Some(start) = start else {
            return self.fail(EFAULT, format!("verifier bug. No program starts at insn {target}"));
        };
        if self.cur.frames.len() >= MAX_CALL_FRAMES {
            let n = self.cur.frames.len() + 1;
            return self.fail(E2BIG, format!("the call stack of {n} frames is too deep"));
        }
        if let Some(func) = self.global_subprog(start) {
            return self.check_global_call(func);
        }
        let caller = self.cur.cur();
        let mut callee = FuncState::new(caller.frameno + 1, self.insn_idx, start);
        for r in 1..=5 {
            callee.regs[r] = caller.regs[r].clone();
        }
        self.clear_caller_saved();
        self.cur.frames.push(callee);
        if self.log.level() & (BPF_LOG_LEVEL1 | BPF_LOG_LEVEL2) != 0 {
            self.log_call_frames();
        }
        Ok(Some(start))
    }

    /// The `caller:` / `callee:` lines `__check_func_call()` logs: the two
    /// innermost frames of the current state.
    fn log_call_frames(&mut self) {
        let n = self.cur.frames.len();
        if n < 2 {
            return;
        }
        let caller = super::fmt::frame_repr(self, n - 2, None);
        let callee = super::fmt::frame_repr(self, n - 1, None);
        self.log.line("caller:");
        self.log.line(&caller);
        self.log.line("callee:");
        self.log.line(&callee);
    }

    /// `check_kfunc_call()` against the program type's kfunc set.
    fn check_kfunc_call(&mut self, btf_id: i32, btf_fd_idx: i16) -> VResult<Option<usize>> {
        let func_id = btf_id as u32;
        // find_kfunc_desc_btf(): the fd_array index is checked before the
        // module BTF is looked up.
        if btf_fd_idx < 0 {
            return self.fail(EINVAL, "negative offset disallowed for kernel module function call");
        }
        if btf_fd_idx > 0 && !self.input.opts.has_fd_array {
            return self.fail(EPROTO, "kfunc offset > 0 without fd_array is invalid");
        }
        if btf_fd_idx != 0 {
            return self.fail(
                EINVAL,
                format!(
                    "kfunc btf_id {func_id} from module BTF (fd_array index {btf_fd_idx}) is not supported"
                ),
            );
        }
        let ops = self.input.prog_type;
        let Some(kp) = ops.kfunc(func_id) else {
            return match ops.kfunc_name(func_id) {
                Some(n) => self.fail(EACCES, format!("calling kernel function {n} is not allowed")),
                None => self.fail(EINVAL, format!("kernel btf_id {func_id} is not a function")),
            };
        };
        let name = kp.name.clone();
        if !self.input.opts.gpl_compatible {
            return self.fail(EINVAL, "cannot call kernel function from non-GPL compatible program");
        }
        if kp.sleepable && !self.input.opts.sleepable {
            return self.fail(EACCES, format!("program must be sleepable to call sleepable kfunc {name}"));
        }
        if kp.args.len() > 5 {
            return self.fail(EINVAL, format!("kernel function {name} has more than 5 arguments"));
        }
        if kp.acquire && !matches!(kp.ret, KfuncRet::BtfId(_)) {
            return self.fail(EINVAL, "acquire kernel function does not return PTR_TO_BTF_ID");
        }
        let mut release_regno = 0;
        for (i, &arg) in kp.args.iter().enumerate() {
            let regno = i + 1;
            self.check_reg_read(regno)?;
            let reg = self.arg_reg(regno);
            match arg {
                KfuncArg::Scalar => {
                    if reg.typ != RegType::Scalar {
                        return self.fail(EINVAL, format!("R{regno} is not a scalar"));
                    }
                }
                KfuncArg::Ctx => {
                    if reg.typ != RegType::Ctx {
                        let got = super::fmt::reg_type_str(&reg);
                        return self.fail(EINVAL, format!("arg#{i} expected pointer to ctx, but got {got}"));
                    }
                    self.check_ptr_off_reg(regno, &reg, false)?;
                }
                KfuncArg::BtfId(want) => {
                    // check_kfunc_args(): KF_TRUSTED_ARGS, KF_RCU and
                    // KF_RELEASE kfuncs take no NULL (nor maybe-NULL) pointer.
                    let null = (reg.is_scalar() && reg.const_value() == Some(0))
                        || (reg.typ == RegType::BtfId && reg.flags.maybe_null);
                    if (kp.trusted_args || kp.rcu || kp.release) && null {
                        return self.fail(EACCES, format!("Possibly NULL pointer passed to trusted arg{i}"));
                    }
                    // get_kfunc_ptr_arg_type(): a scalar for a pointer to a
                    // struct is taken as memory (KF_ARG_PTR_TO_MEM), which a
                    // struct with pointers cannot be.
                    if reg.is_scalar() {
                        let tname = ops.btf_type_name(want).unwrap_or_else(|| format!("btf_id {want}"));
                        return self.fail(
                            EINVAL,
                            format!("arg#{i} pointer type STRUCT {tname} must point to scalar, or struct with scalar"),
                        );
                    }
                    let ok = reg.typ == RegType::BtfId
                        && reg.btf_id == want
                        && !reg.flags.maybe_null
                        && !reg.flags.user
                        && !reg.flags.untrusted;
                    if !ok {
                        let tname = ops.btf_type_name(want).unwrap_or_else(|| format!("btf_id {want}"));
                        let got = if reg.typ == RegType::BtfId {
                            ops.btf_type_name(reg.btf_id).unwrap_or_else(|| format!("btf_id {}", reg.btf_id))
                        } else {
                            super::fmt::reg_type_str(&reg)
                        };
                        return self.fail(
                            EINVAL,
                            format!(
                                "kernel function {name} args#{i} expected pointer to STRUCT {tname} \
                                 but R{regno} has a pointer to {got}"
                            ),
                        );
                    }
                    self.check_ptr_off_reg(regno, &reg, false)?;
                    // A pointer walked from another one is neither referenced
                    // nor trusted; RCU read sections are not tracked, so a
                    // KF_RCU argument must be trusted too.
                    if (kp.trusted_args || kp.rcu) && reg.ref_obj_id == 0 && !reg.flags.trusted {
                        let m =
                            if kp.rcu { "must be a rcu pointer" } else { "must be referenced or trusted" };
                        return self.fail(EINVAL, format!("R{regno} {m}"));
                    }
                    if kp.release && release_regno == 0 && reg.ref_obj_id != 0 {
                        release_regno = regno;
                    }
                }
                KfuncArg::Mem => self.check_kfunc_mem(&name, i, &kp.args)?,
            }
        }
        if kp.release {
            if release_regno == 0 {
                return self.fail(
                    EINVAL,
                    format!("release kernel function {name} expects refcounted PTR_TO_BTF_ID"),
                );
            }
            let ref_obj_id = self.arg_reg(release_regno).ref_obj_id;
            if self.release_reference(ref_obj_id).is_err() {
                return self
                    .fail(EINVAL, format!("kfunc {name}#{func_id} reference has not been acquired before"));
            }
        }
        self.clear_caller_saved();
        let r0 = match kp.ret {
            KfuncRet::Void => RegState::not_init(),
            KfuncRet::Scalar => RegState::unknown_scalar(),
            KfuncRet::BtfId(t) => {
                let mut r = RegState { btf_id: t, ..RegState::pointer(RegType::BtfId) };
                if kp.ret_null {
                    r.flags.maybe_null = true;
                    r.id = self.new_id();
                }
                if kp.acquire {
                    let ref_id = self.acquire_reference();
                    r.id = ref_id;
                    r.ref_obj_id = ref_id;
                }
                r
            }
        };
        self.cur.cur_mut().regs[0] = r0;
        self.mark_reg_written(0);
        Ok(None)
    }

    /// A kfunc memory argument at `i` with its `__sz` size at `i + 1`
    /// (`check_kfunc_mem_size_reg()`): the whole range must be readable
    /// and writable.
    fn check_kfunc_mem(&mut self, name: &str, i: usize, args: &[KfuncArg]) -> VResult<()> {
        let regno = i + 1;
        if args.get(i + 1) != Some(&KfuncArg::Scalar) {
            return self.fail(EINVAL, format!("kernel function {name} args#{i} memory has no size argument"));
        }
        let reg = self.arg_reg(regno);
        let mem_ok = matches!(
            reg.typ,
            RegType::Stack
                | RegType::Packet
                | RegType::PacketMeta
                | RegType::MapKey
                | RegType::MapValue
                | RegType::Mem
        ) && !reg.flags.maybe_null;
        if !mem_ok {
            let got = super::fmt::reg_type_str(&reg);
            return self.fail(
                EACCES,
                format!("R{regno} type={got} expected=fp, pkt, pkt_meta, map_key, map_value, mem"),
            );
        }
        self.check_reg_read(regno + 1)?;
        let size = self.arg_reg(regno + 1);
        if size.typ != RegType::Scalar {
            return self.fail(EINVAL, format!("R{} is not a scalar", regno + 1));
        }
        if size.var.smin < 0 {
            return self.fail(
                EACCES,
                format!("R{} min value is negative, either use unsigned or 'var &= const'", regno + 1),
            );
        }
        if size.var.umax >= 1 << 29 {
            return self.fail(
                EACCES,
                format!("R{} unbounded memory access, use 'var &= const' or 'if (var < const)'", regno + 1),
            );
        }
        self.check_helper_mem(regno, size.var.umax, Access::Read, false, true)?;
        self.check_helper_mem(regno, size.var.umax, Access::Write, false, true)
    }

    /// `check_max_stack_depth()`, run after the walk: along every chain of
    /// bpf2bpf calls and callbacks from the main program, the frames'
    /// stacks (each rounded up to 32 bytes, at least 1) must fit in
    /// `MAX_BPF_STACK`, the chain in `MAX_CALL_FRAMES`, and a subprogram
    /// doing a tail call may not sit on 256 bytes or more of callers'
    /// stack. Uses [`Verifier::stack_depth`].
    pub(crate) fn check_max_stack_depth(&mut self) -> VResult<()> {
        let subprogs = self.cfg.subprogs.clone();
        let n = subprogs.len();
        let mut callees: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut has_tail_call = vec![false; n];
        for (slot, ins) in &self.prog {
            let from = self.cfg.subprog_of(*slot);
            let target = match ins {
                Instruction::Call(CallTarget::Local(imm)) => Some(*slot as i64 + 1 + i64::from(*imm)),
                Instruction::Call(CallTarget::Helper(id::TAIL_CALL)) => {
                    has_tail_call[from] = true;
                    None
                }
                Instruction::LdImm64 { .. } => match self.input.pseudo_at(*slot) {
                    Some(PseudoKind::Func { target }) => Some(target as i64),
                    _ => None,
                },
                _ => None,
            };
            if let Some(t) = target
                && let Ok(idx) = subprogs.binary_search(&(t.max(0) as usize))
                && t >= 0
            {
                callees[from].push(idx);
            }
        }
        // round_up_stack_depth() (Linux 6.8+).
        let jit = self.input.opts.jit_requested;
        let depth_of = |idx: usize| -> i64 {
            let d = self.stack_depth.get(idx).copied().unwrap_or(0);
            if jit { i64::from(d.div_ceil(16) * 16) } else { i64::from(d.max(1).div_ceil(32) * 32) }
        };
        // Depth-first over call chains: (subprogram, next callee index).
        let mut chain: Vec<(usize, usize)> = Vec::new();
        let mut depth = 0i64;
        let mut idx = 0usize;
        loop {
            // process_func
            if idx != 0 && has_tail_call[idx] && depth >= 256 {
                return self.fail(
                    EACCES,
                    format!(
                        "tail_calls are not allowed when call stack of previous frames is {depth} bytes. Too large"
                    ),
                );
            }
            depth += depth_of(idx);
            if depth > i64::from(MAX_BPF_STACK) {
                let calls = chain.len() + 1;
                return self
                    .fail(EACCES, format!("combined stack size of {calls} calls is {depth}. Too large"));
            }
            chain.push((idx, 0));
            // continue_func: the next callee of the innermost frame, or
            // return from it.
            loop {
                let Some(&(cur, next)) = chain.last() else {
                    return Ok(());
                };
                if let Some(&callee) = callees[cur].get(next) {
                    if let Some(top) = chain.last_mut() {
                        top.1 += 1;
                    }
                    let frame = chain.len();
                    if frame >= MAX_CALL_FRAMES {
                        return self.fail(E2BIG, format!("the call stack of {frame} frames is too deep !"));
                    }
                    idx = callee;
                    break;
                }
                chain.pop();
                depth -= depth_of(cur);
                if chain.is_empty() {
                    return Ok(());
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "call_tests.rs"]
mod tests;
