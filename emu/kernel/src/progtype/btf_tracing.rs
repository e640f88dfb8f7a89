//! `BPF_PROG_TYPE_TRACING` programs with a BTF attach target (fentry,
//! fexit, fmod_ret, tp_btf): the ctx is the target function's arguments, one
//! `u64` slot each (a struct passed by value takes its size rounded up to
//! 8), then for fexit and fmod_ret its return value.
//!
//! Kernel counterpart: `tracing_prog_is_valid_access()` →
//! `bpf_tracing_btf_ctx_access()` → `btf_ctx_access()` and
//! `btf_ctx_arg_idx()` (kernel/bpf/btf.c), as in current mainline (the 6.19-cycle sources; fsession, new there, not emulated):
//!
//! - reads only, at `0 <= off < 8 * MAX_BPF_FUNC_ARGS`, aligned to their
//!   size, at a multiple of 8 ("func 'F' offset N is not multiple of 8");
//! - an argument the function does not have: "func 'F' doesn't have N-th
//!   argument" (the return value slot counts for fexit; fmod_ret needs an
//!   integer return type: "ret type T not allowed for fmod_ret");
//! - integers, enums and structs by value load as scalars, at any size;
//! - other non-pointers: "func 'F' argN 'T' has type K. Only pointer
//!   access is allowed";
//! - pointers: 8-byte loads only ("func 'F' size N must be 8"); a pointer
//!   to a struct is `PTR_TO_BTF_ID` of that struct, logged as "func 'F'
//!   argN has btf_id ID type STRUCT 'S'" — not `PTR_TRUSTED`
//!   (`prog_args_trusted()` is false for fentry/fexit/fmod_ret); any other
//!   pointer (`void *`, `int *`, pointers to pointers) is a scalar.
//!
//! The `btf_ctx_access()` part is [`BtfCtx`], shared with struct_ops
//! programs ([`super::struct_ops`]: trusted arguments, `ctx_arg_info` of
//! `__nullable` arguments).
//! tp_btf programs (`BPF_TRACE_RAW_TP`, `prog->aux->attach_btf_trace`):
//! the target is the FUNC_PROTO of a `btf_trace_<tp>` typedef; its first
//! parameter (`void *__data`) is skipped, so ctx slot 0 is the
//! tracepoint's first argument, while the argument index is still
//! computed over the whole prototype (an access one slot past the last
//! argument is "doesn't have N-th argument" with N = the tracepoint's
//! argument count + 1, one more slot past it N + 2, as in the kernel);
//! there is no return-value slot and any return value is accepted. The
//! kernel marks tp_btf pointer arguments `PTR_TRUSTED`
//! (`prog_args_trusted()`); the emulated tracepoints have no struct
//! pointer argument, so bpfemu does not model the flag.
//!
//! Loads through such pointers go to the vmlinux struct walk of
//! [`crate::kfuncs::ops`]. Not modelled: `__nullable` arguments,
//! `__user` / `__percpu` type tags, targets in BPF programs.
//!
//! Return values (`check_return_code()`): fentry and fexit 0, fmod_ret
//! any value.
//!
//! Helpers: `tracing_prog_func_proto()` for programs with a trampoline
//! ([`super::funcs::trampoline`]: the tracing set plus
//! `bpf_get_func_arg`, `_ret`, `_arg_cnt`); `bpf_get_func_ip` passes
//! `check_get_func_ip()` for fentry, fexit and fmod_ret.
//!
//! `BPF_PROG_TYPE_LSM` programs (`lsm_verifier_ops`: `btf_ctx_access()`
//! too, kernel/bpf/bpf_lsm.c) use the same rules with `lsm` set: name
//! `lsm`; the slot after the arguments is the return value for
//! `BPF_LSM_MAC` (and `BPF_LSM_CGROUP`), as for fexit; helpers
//! `bpf_lsm_func_proto()` ([`super::funcs::lsm`]); `bpf_get_func_ip` is
//! refused ("func bpf_get_func_ip#173 not supported for program type
//! 29"); `BPF_LSM_MAC` programs return a value of
//! `bpf_lsm_get_retval_range()` (`[-MAX_ERRNO, 0]` for the emulated
//! hooks) checked on the low 32 bits of r0 (`return_32bit`), the other
//! attach types anything. A load of the return value slot of a
//! `BPF_LSM_MAC` program is a scalar in that range (`is_retval`:
//! `mark_reg_unknown()` then `__mark_reg_s32_range()`, as with the
//! pending stale-bounds fix of the bpf tree; unfixed kernels intersect
//! with the register's previous bounds), so it may be returned as it is.
//! Not modelled: the `PTR_TRUSTED` flag of LSM arguments
//! (`bpf_lsm_is_trusted()`), void hooks (none is emulated).

use super::attach::{AttachTarget, MAX_BPF_FUNC_ARGS, type_str};
use super::funcs::{Caps, iter, lsm, tracing, trampoline};
use super::scalar;
use crate::uapi::AttachType;
use bpfemu_btf::{Btf, Kind, TypeId};
use bpfemu_verifier::env::{Access, CtxAccess, CtxField, ProgTypeOps};
use bpfemu_verifier::proto::FuncProto;
use std::sync::Arc;

/// A tracing program attached to `target`.
#[derive(Debug)]
pub struct BtfTracing {
    /// `BPF_PROG_TYPE_LSM` rather than `BPF_PROG_TYPE_TRACING`.
    pub lsm: bool,
    pub caps: Caps,
    pub attach: Option<AttachType>,
    pub target: AttachTarget,
    /// The target's BTF (vmlinux).
    pub btf: Arc<Btf>,
    /// `prog->aux->ctx_arg_info` (iterator programs: their target's).
    pub ctx_arg_info: Vec<(u32, CtxField)>,
}

/// `__btf_name_by_offset()`: "(anon)" for no name.
fn name_of(btf: &Btf, id: TypeId) -> String {
    match btf.get(id) {
        Some(t) if t.name_off != 0 => btf.str_at(t.name_off).to_owned(),
        _ => "(anon)".to_owned(),
    }
}

/// What `btf_ctx_access()` reads of a program with a BTF function as its
/// ctx: the function (`attach_func_name`, `attach_func_proto`), the
/// expected attach type (for the return-value slot), whether its pointer
/// arguments are trusted (`prog_args_trusted()`) and the fixed argument
/// types of `prog->aux->ctx_arg_info` (struct_ops `__nullable`
/// arguments). Shared by BTF tracing and struct_ops programs
/// ([`super::struct_ops`]).
#[derive(Clone, Copy, Debug)]
pub struct BtfCtx<'a> {
    pub btf: &'a Btf,
    pub target: &'a AttachTarget,
    pub attach: Option<AttachType>,
    pub args_trusted: bool,
    /// `(offset, type)`: a pointer argument at that ctx offset loads as
    /// that type, without the "has btf_id" log line.
    pub ctx_arg_info: &'a [(u32, CtxField)],
}

impl BtfCtx<'_> {
    fn params(&self) -> Vec<TypeId> {
        match self.btf.kind(self.target.proto) {
            Some(Kind::FuncProto { params, .. }) => params.iter().map(|p| p.ty).collect(),
            _ => Vec::new(),
        }
    }

    fn ret(&self) -> TypeId {
        match self.btf.kind(self.target.proto) {
            Some(Kind::FuncProto { ret, .. }) => *ret,
            _ => 0,
        }
    }

    /// The bytes a parameter or return value of type `id` takes in the
    /// ctx: 8 for a pointer, else its size rounded up to 8.
    fn slot_bytes(&self, id: TypeId) -> u32 {
        let t = self.btf.skip_mods_and_typedefs(id);
        match self.btf.kind(t) {
            Some(Kind::Ptr { .. }) => 8,
            _ => self.btf.resolve_size(t).unwrap_or(0).div_ceil(8) * 8,
        }
    }

    /// `btf_ctx_arg_offset()`: the ctx offset of argument `arg`.
    pub fn arg_offset(&self, arg: usize) -> u32 {
        self.params().iter().take(arg).map(|&p| self.slot_bytes(p)).sum()
    }

    /// `btf_ctx_arg_idx()`: the argument `off` falls in (`nr_args` for
    /// the return value, `nr_args + 1` beyond).
    fn arg_idx(&self, off: u32) -> usize {
        let params = self.params();
        let mut end = 0;
        for (i, &p) in params.iter().enumerate() {
            end += self.slot_bytes(p);
            if off < end {
                return i;
            }
        }
        end += self.slot_bytes(self.ret());
        if off < end { params.len() } else { params.len() + 1 }
    }

    /// `bpf_tracing_btf_ctx_access()`: `bpf_tracing_ctx_access()` (reads
    /// in the `u64` array, aligned to their size: no log) then
    /// `btf_ctx_access()`.
    pub fn access(&self, off: i32, size: u32, access: Access) -> (Option<CtxAccess>, Option<String>) {
        let Ok(o) = u32::try_from(off) else { return (None, None) };
        if o as usize >= 8 * MAX_BPF_FUNC_ARGS
            || access != Access::Read
            || size == 0
            || !o.is_multiple_of(size)
        {
            return (None, None);
        }
        self.btf_ctx_access(o, size)
    }

    /// `btf_ctx_access()`: what a load yields, and the line the kernel
    /// logs on the way.
    fn btf_ctx_access(&self, off: u32, size: u32) -> (Option<CtxAccess>, Option<String>) {
        let tname = &self.target.name;
        let fail = |msg: String| (None, Some(msg));
        if !off.is_multiple_of(8) {
            return fail(format!("func '{tname}' offset {off} is not multiple of 8"));
        }
        let btf = self.btf;
        let arg = self.arg_idx(off);
        let mut params = self.params();
        if self.attach == Some(AttachType::TraceRawTp) && !params.is_empty() {
            // `attach_btf_trace`: skip the first `void *__data` argument of
            // the btf_trace_<tp> typedef (the index stays the one of the
            // whole prototype, as in the kernel).
            params.remove(0);
        }
        let nr_args = params.len();
        if arg > nr_args {
            return fail(format!("func '{tname}' doesn't have {}-th argument", arg + 1));
        }
        let ty = if arg == nr_args {
            match self.attach {
                // LSM programs read the return value of the programs
                // before them (MODIFY_RETURN trampoline) or of the hook.
                Some(AttachType::TraceFexit | AttachType::LsmMac | AttachType::LsmCgroup) => self.ret(),
                Some(AttachType::ModifyReturn) => {
                    let t = btf.skip_mods_and_typedefs(self.ret());
                    if !matches!(btf.kind(t), Some(Kind::Int { size, .. }) if *size <= 8) {
                        return fail(format!("ret type {} not allowed for fmod_ret", type_str(btf, t)));
                    }
                    t
                }
                _ => return fail(format!("func '{tname}' doesn't have {}-th argument", arg + 1)),
            }
        } else {
            params[arg]
        };
        let t = btf.skip_mods_and_typedefs(ty);
        // is_retval (BPF_LSM_MAC): the load is within the hook's range
        // (check_mem_access() with get_func_retval_range()).
        if arg == nr_args
            && self.attach == Some(AttachType::LsmMac)
            && let Some((min, max)) = crate::lsm::retval_range(self.target.btf_id)
        {
            let field = CtxField::ScalarS32Range { min: min as i32, max: max as i32 };
            return (Some(CtxAccess { field, field_size: 0 }), None);
        }
        match btf.kind(t) {
            Some(Kind::Int { size, .. }) if *size <= 8 => return (scalar(), None),
            Some(Kind::Enum { .. } | Kind::Enum64 { .. } | Kind::Struct(_) | Kind::Union(_)) => {
                return (scalar(), None);
            }
            Some(Kind::Ptr { .. }) => {}
            _ => {
                let (n, k) = (name_of(btf, t), type_str(btf, t));
                return fail(format!(
                    "func '{tname}' arg{arg} '{n}' has type {k}. Only pointer access is allowed"
                ));
            }
        }
        if size != 8 {
            return fail(format!("func '{tname}' size {size} must be 8"));
        }
        let Some(Kind::Ptr { ty: pointee }) = btf.kind(t) else { return (None, None) };
        let target = btf.skip_mods_and_typedefs(*pointee);
        let is_struct = matches!(btf.kind(target), Some(Kind::Struct(_) | Kind::Union(_)));
        if is_struct && let Some(&(_, field)) = self.ctx_arg_info.iter().find(|(o, _)| *o == off) {
            return (Some(CtxAccess { field, field_size: 0 }), None);
        }
        if !is_struct {
            // Pointers to anything but a struct are scalars.
            return (scalar(), None);
        }
        let (n, k) = (name_of(btf, target), type_str(btf, target));
        let note = format!("func '{tname}' arg{arg} has btf_id {target} type {k} '{n}'");
        let field = CtxField::BtfId { btf_id: target, maybe_null: false, trusted: self.args_trusted };
        (Some(CtxAccess { field, field_size: 0 }), Some(note))
    }
}

impl BtfTracing {
    /// The rules of a program attached to `target`; an iterator program
    /// (`BPF_TRACE_ITER`) gets its target's `ctx_arg_info`
    /// (`bpf_iter_prog_supported()` → `bpf_prog_ctx_arg_info_init()`).
    pub fn new(
        lsm: bool,
        caps: Caps,
        attach: Option<AttachType>,
        target: AttachTarget,
        btf: Arc<Btf>,
    ) -> Self {
        let mut ctx_arg_info = Vec::new();
        if !lsm
            && attach == Some(AttachType::TraceIter)
            && let Some(t) = crate::iter::target_of_func(&target.name)
        {
            for &(off, sname, maybe_null) in t.ctx_arg_info {
                if let Some(btf_id) = crate::vmlinux::struct_id(&btf, sname) {
                    ctx_arg_info.push((off, CtxField::BtfId { btf_id, maybe_null, trusted: true }));
                }
            }
        }
        BtfTracing { lsm, caps, attach, target, btf, ctx_arg_info }
    }

    fn is_iter(&self) -> bool {
        !self.lsm && self.attach == Some(AttachType::TraceIter)
    }

    /// The ctx facts of a tracing program: its arguments are trusted for
    /// tp_btf and iterators only (`prog_args_trusted()`), not for
    /// fentry/fexit/fmod_ret.
    fn ctx(&self) -> BtfCtx<'_> {
        BtfCtx {
            btf: &self.btf,
            target: &self.target,
            attach: self.attach,
            args_trusted: self.is_iter(),
            ctx_arg_info: &self.ctx_arg_info,
        }
    }
}

impl ProgTypeOps for BtfTracing {
    fn name(&self) -> &str {
        if self.lsm { "lsm" } else { "tracing" }
    }

    fn func_proto(&self, id: i32) -> Option<&'static FuncProto> {
        if self.lsm {
            // bpf_prog_has_trampoline(): BPF_LSM_MAC.
            return lsm(id, self.caps, self.attach == Some(AttachType::LsmMac));
        }
        // bpf_prog_has_trampoline(): fentry, fexit, fmod_ret.
        match self.attach {
            Some(AttachType::TraceFentry | AttachType::TraceFexit | AttachType::ModifyReturn) => {
                trampoline(id, self.caps)
            }
            Some(AttachType::TraceIter) => iter(id, self.caps),
            _ => tracing(id, self.caps),
        }
    }

    fn check_get_func_ip(&self) -> Result<(), String> {
        if self.lsm {
            return Err(super::tracing::get_func_ip_refused(crate::uapi::ProgType::Lsm));
        }
        match self.attach {
            Some(AttachType::TraceFentry | AttachType::TraceFexit | AttachType::ModifyReturn) => Ok(()),
            _ => Err(format!(
                "func bpf_get_func_ip#{} supported only for fentry/fexit/fmod_ret programs",
                bpfemu_verifier::proto::id::GET_FUNC_IP
            )),
        }
    }

    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        self.ctx_access_logged(off, size, access).0
    }

    fn ctx_access_logged(&self, off: i32, size: u32, access: Access) -> (Option<CtxAccess>, Option<String>) {
        self.ctx().access(off, size, access)
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        if self.lsm {
            // get_func_retval_range(): BPF_LSM_MAC only; the other
            // attach types may return anything (BPF_LSM_CGROUP is not
            // emulated).
            return match self.attach {
                Some(AttachType::LsmMac) => crate::lsm::retval_range(self.target.btf_id),
                _ => None,
            };
        }
        match self.attach {
            Some(AttachType::TraceFentry | AttachType::TraceFexit) => Some((0, 0)),
            // BPF_TRACE_ITER keeps check_return_code()'s default [0, 1].
            Some(AttachType::TraceIter) => Some((0, 1)),
            _ => None,
        }
    }

    fn return_range_32bit(&self) -> bool {
        self.lsm
    }

    fn ctx_size(&self) -> u32 {
        (8 * MAX_BPF_FUNC_ARGS) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progtype::{AttachFd, LoadTarget, check_load};
    use Access::{Read, Write};

    fn prog(attach: AttachType, func: &str) -> BtfTracing {
        let t = LoadTarget {
            prog_type: crate::uapi::ProgType::Tracing,
            expected_attach_type: Some(attach),
            expected_attach_raw: attach.raw(),
            attach_btf_id: crate::vmlinux::func_id(func).unwrap(),
            attach_fd: AttachFd::None,
            sleepable: false,
            gpl_compatible: true,
        };
        let target = check_load(&t).unwrap().unwrap();
        BtfTracing::new(false, Caps::ROOT, Some(attach), target, crate::vmlinux::shared())
    }

    fn msg(p: &BtfTracing, off: i32, size: u32) -> String {
        p.ctx_access_logged(off, size, Read).1.unwrap_or_default()
    }

    #[test]
    fn argument_slots() {
        let p = prog(AttachType::TraceFentry, "bpf_fentry_test6");
        for i in 0..6 {
            assert_eq!(p.ctx_access(i * 8, 8, Read).map(|a| a.field), Some(CtxField::Scalar), "arg{i}");
        }
        assert_eq!(p.ctx_access(48, 8, Read), None);
        assert_eq!(msg(&p, 48, 8), "func 'bpf_fentry_test6' doesn't have 7-th argument");
        assert_eq!(p.ctx_access(16, 2, Read).map(|a| a.field), Some(CtxField::Scalar), "short, narrow");
        assert_eq!(msg(&p, 8, 4), "func 'bpf_fentry_test6' size 4 must be 8");
        assert_eq!(msg(&p, 12, 4), "func 'bpf_fentry_test6' offset 12 is not multiple of 8");
        assert_eq!(p.ctx_access_logged(0, 8, Write), (None, None));
        assert_eq!(p.ctx_access_logged(96, 8, Read), (None, None));
        assert_eq!(p.ctx_access_logged(4, 8, Read), (None, None), "off % size");
        assert_eq!(p.return_range(), Some((0, 0)));
    }

    #[test]
    fn return_value_slot() {
        let x = prog(AttachType::TraceFexit, "bpf_fentry_test2");
        assert!(x.ctx_access(16, 8, Read).is_some());
        assert_eq!(msg(&x, 24, 8), "func 'bpf_fentry_test2' doesn't have 4-th argument");
        let m = prog(AttachType::ModifyReturn, "bpf_modify_return_test");
        assert!(m.ctx_access(16, 4, Read).is_some());
        assert_eq!(m.return_range(), None);
        let f = prog(AttachType::TraceFentry, "bpf_modify_return_test");
        assert_eq!(msg(&f, 16, 8), "func 'bpf_modify_return_test' doesn't have 3-th argument");
    }

    #[test]
    fn raw_tp_skips_the_data_argument() {
        let t = LoadTarget {
            prog_type: crate::uapi::ProgType::Tracing,
            expected_attach_type: Some(AttachType::TraceRawTp),
            expected_attach_raw: AttachType::TraceRawTp.raw(),
            attach_btf_id: crate::vmlinux::typedef_id("btf_trace_bpf_test_finish").unwrap(),
            attach_fd: AttachFd::None,
            sleepable: false,
            gpl_compatible: true,
        };
        let target = check_load(&t).unwrap().unwrap();
        let p = BtfTracing::new(
            false,
            Caps::ROOT,
            Some(AttachType::TraceRawTp),
            target,
            crate::vmlinux::shared(),
        );
        // Slot 0 is `int *err`: a scalar (pointer to int).
        assert_eq!(p.ctx_access_logged(0, 8, Read), (scalar(), None));
        assert_eq!(msg(&p, 0, 4), "func 'bpf_test_finish' size 4 must be 8");
        assert_eq!(msg(&p, 8, 8), "func 'bpf_test_finish' doesn't have 2-th argument");
        assert_eq!(msg(&p, 16, 8), "func 'bpf_test_finish' doesn't have 4-th argument");
        assert_eq!(p.return_range(), None);
        assert!(p.func_proto(bpfemu_verifier::proto::id::GET_FUNC_ARG_CNT).is_none());
        assert!(p.check_get_func_ip().is_err());
    }

    #[test]
    fn struct_pointer_is_btf_id() {
        let p = prog(AttachType::TraceFentry, "bpf_fentry_test7");
        let sid = crate::vmlinux::struct_id(&p.btf, "bpf_fentry_test_t").unwrap();
        let (a, note) = p.ctx_access_logged(0, 8, Read);
        assert_eq!(
            a.map(|a| a.field),
            Some(CtxField::BtfId { btf_id: sid, maybe_null: false, trusted: false })
        );
        assert_eq!(
            note.as_deref(),
            Some(
                format!("func 'bpf_fentry_test7' arg0 has btf_id {sid} type STRUCT 'bpf_fentry_test_t'")
                    .as_str()
            )
        );
        // void * and int * are scalars.
        let q = prog(AttachType::TraceFentry, "bpf_fentry_test4");
        assert_eq!(q.ctx_access_logged(0, 8, Read), (scalar(), None));
        let r = prog(AttachType::TraceFentry, "bpf_modify_return_test");
        assert_eq!(r.ctx_access_logged(8, 8, Read), (scalar(), None));
    }
}
