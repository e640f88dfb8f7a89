//! Attach targets of BTF-typed programs (tracing, LSM, ext): what
//! `BPF_PROG_LOAD` resolves `attach_btf_id` to before verifying.
//!
//! Kernel counterpart: `bpf_check_attach_target()` and the part of
//! `check_attach_btf_id()` after it (kernel/bpf/verifier.c),
//! `btf_distill_func_proto()` (kernel/bpf/btf.c), `bpf_lsm_verify_prog()`
//! (kernel/bpf/bpf_lsm.c), as in current mainline (the 6.19-cycle sources; fsession, new there, not emulated).
//!
//! The target BTF is vmlinux (an `attach_btf_id` alone, or an
//! `attach_btf_obj_fd` of the kernel's BTF object). A FUNC has an address
//! (`kallsyms_lookup_name()`) only when it is an emulated traceable
//! function ([`crate::trampoline::targets`]); sleepable programs and
//! fmod_ret need the function in the fmodret id set (`KF_SLEEPABLE` for
//! sleepable), as nothing in the emulated kernel is on the error-injection
//! list nor named `security_*`. Iterator programs (`BPF_TRACE_ITER`)
//! take a FUNC named `bpf_iter_<target>` of a registered target
//! ([`crate::iter`]: `bpf_iter_bpf_map`; `bpf_iter_prog_supported()`:
//! another name is `EINVAL` without a log line). Raw tracepoint BTF programs (tp_btf) take the
//! `btf_trace_*` typedefs of the emulated tracepoints
//! ([`crate::tracepoint`]). LSM
//! programs attach to the `bpf_lsm_*` hooks of [`crate::lsm`] (which have
//! an address for them only: a tracing program on a hook finds none,
//! `ENOENT`, where the kernel would trace the nop function); sleepable
//! ones need `sleepable_lsm_hooks`; `bpf_lsm_verify_prog()` then wants a
//! GPL license and a hook of `bpf_lsm_hooks`. `BPF_LSM_CGROUP` is refused
//! after these checks ("bpfemu: BPF_LSM_CGROUP programs are not supported
//! yet", `EINVAL`).

use super::{LoadTarget, Refusal, refuse};
use crate::errno::Errno;
use crate::lsm;
use crate::trampoline::targets;
use crate::uapi::{AttachType, ProgType};
use bpfemu_btf::{Btf, Kind, TypeId};

pub use super::tracing::MAX_BPF_FUNC_ARGS;

/// `struct btf_func_model`: the sizes of the return value and arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncModel {
    pub ret_size: u32,
    pub arg_size: Vec<u32>,
}

/// A resolved attach target (`struct bpf_attach_target_info` with
/// `attach_func_name` / `attach_func_proto`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachTarget {
    /// The FUNC's id in vmlinux BTF.
    pub btf_id: u32,
    pub name: String,
    /// Its FUNC_PROTO.
    pub proto: TypeId,
    pub model: FuncModel,
    /// A line the check logs on success (the raw_tp fallback note).
    pub note: Option<String>,
}

/// `bpf_check_attach_target()` for `BPF_TRACE_RAW_TP` (tp_btf): `btf_id`
/// must be a TYPEDEF ("attach_btf_id N is not a typedef") named
/// `btf_trace_<tp>` ("attach_btf_id N points to wrong type name T"), all
/// `EINVAL`; `<tp>` must be a tracepoint of the kernel
/// (`bpf_get_raw_tracepoint()`: `EINVAL`, no log). Current mainline then
/// looks for the FUNC of the tracepoint's probe (`__bpf_trace_<template>`)
/// for argument names; the emulated vmlinux has none, so the kernel's
/// fallback is taken and logged ("Cannot find btf of tracepoint template,
/// fall back to btf_trace_<tp>."): the typedef must point to a PTR to a
/// FUNC_PROTO (`EINVAL`, no log: "should never happen in valid vmlinux
/// build"). The target's name is `<tp>` (`attach_func_name`), its
/// prototype the FUNC_PROTO (first parameter `void *__data`). No
/// function model is distilled and no address looked up.
fn raw_tp_target(btf: &Btf, btf_id: u32, kind: &Kind, tname: String) -> Result<AttachTarget, Refusal> {
    use crate::tracepoint::BTF_TRACE_PREFIX;
    let Kind::Typedef { ty } = *kind else {
        return Err(refuse(Errno::EINVAL, format!("attach_btf_id {btf_id} is not a typedef")));
    };
    let Some(tp) = tname.strip_prefix(BTF_TRACE_PREFIX) else {
        return Err(refuse(
            Errno::EINVAL,
            format!("attach_btf_id {btf_id} points to wrong type name {tname}"),
        ));
    };
    if crate::tracepoint::by_name(tp).is_none() {
        return Err(quiet(Errno::EINVAL));
    }
    let note = format!("Cannot find btf of tracepoint template, fall back to {BTF_TRACE_PREFIX}{tp}.");
    let Some(Kind::Ptr { ty: proto }) = btf.kind(ty) else { return Err(quiet(Errno::EINVAL)) };
    if !matches!(btf.kind(*proto), Some(Kind::FuncProto { .. })) {
        return Err(quiet(Errno::EINVAL));
    }
    Ok(AttachTarget {
        btf_id,
        name: tp.to_owned(),
        proto: *proto,
        model: FuncModel { ret_size: 0, arg_size: Vec::new() },
        note: Some(note),
    })
}

/// `btf_type_str()`: the kind's name, `UNKNOWN` for void.
pub fn type_str(btf: &Btf, id: TypeId) -> &'static str {
    btf.kind(id).map_or("UNKNOWN", |k| k.tag().name())
}

/// `btf_type_skip_modifiers()` (typedefs included).
fn skip_mods(btf: &Btf, id: TypeId) -> TypeId {
    btf.skip_mods_and_typedefs(id)
}

/// `__get_type_size()`: the size of a parameter or return type (0 for
/// void), with the type it resolved to; `None` for an unsupported kind.
fn get_type_size(btf: &Btf, id: TypeId) -> (Option<u32>, TypeId) {
    if id == 0 {
        return (Some(0), 0);
    }
    let t = skip_mods(btf, id);
    let size = match btf.kind(t) {
        Some(Kind::Ptr { .. }) => Some(8),
        Some(Kind::Int { size, .. } | Kind::Enum { size, .. } | Kind::Enum64 { size, .. }) => Some(*size),
        Some(Kind::Struct(c) | Kind::Union(c)) => Some(c.size),
        _ => None,
    };
    (size, t)
}

/// `btf_distill_func_proto()`: the function model of FUNC_PROTO `proto`
/// of function `tname`, or the kernel's message (`EINVAL`).
pub fn distill_func_proto(btf: &Btf, proto: TypeId, tname: &str) -> Result<FuncModel, Refusal> {
    let Some(Kind::FuncProto { ret, params }) = btf.kind(proto) else {
        return Err(refuse(Errno::EINVAL, ""));
    };
    let nargs = params.len();
    if nargs > MAX_BPF_FUNC_ARGS {
        return Err(refuse(Errno::EINVAL, format!("The function {tname} has {nargs} arguments. Too many.")));
    }
    let (ret_size, rt) = get_type_size(btf, *ret);
    let ret_struct = matches!(btf.kind(rt), Some(Kind::Struct(_) | Kind::Union(_)));
    let Some(ret_size) = ret_size.filter(|_| !ret_struct) else {
        let s = type_str(btf, rt);
        return Err(refuse(Errno::EINVAL, format!("The function {tname} return type {s} is unsupported.")));
    };
    let mut arg_size = Vec::with_capacity(nargs);
    for (i, p) in params.iter().enumerate() {
        if i == nargs - 1 && p.ty == 0 {
            return Err(refuse(
                Errno::EINVAL,
                format!("The function {tname} with variable args is unsupported."),
            ));
        }
        let (size, t) = get_type_size(btf, p.ty);
        match size {
            Some(0) => {
                return Err(refuse(
                    Errno::EINVAL,
                    format!("The function {tname} has malformed void argument."),
                ));
            }
            Some(s) if s <= 16 => arg_size.push(s),
            _ => {
                let s = type_str(btf, t);
                return Err(refuse(
                    Errno::EINVAL,
                    format!("The function {tname} arg{i} type {s} is unsupported."),
                ));
            }
        }
    }
    Ok(FuncModel { ret_size, arg_size })
}

/// A refusal without a log line.
fn quiet(errno: Errno) -> Refusal {
    refuse(errno, "")
}

/// `bpf_check_attach_target()` against `btf` (vmlinux) for a program
/// without a target program, followed by the per-type checks of
/// `check_attach_btf_id()` (iterators, LSM hooks).
pub fn check_attach_target(btf: &Btf, t: &LoadTarget) -> Result<AttachTarget, Refusal> {
    let btf_id = t.attach_btf_id;
    if btf_id == 0 {
        return Err(refuse(Errno::EINVAL, "Tracing programs must provide btf_id"));
    }
    let Some(ty) = btf.get(btf_id) else {
        return Err(refuse(Errno::EINVAL, format!("attach_btf_id {btf_id} is invalid")));
    };
    let tname = btf.str_at(ty.name_off).to_owned();
    let is_func = matches!(ty.kind, Kind::Func { .. });
    let not_func = || refuse(Errno::EINVAL, format!("attach_btf_id {btf_id} is not a function"));
    let proto_of = |k: &Kind| match k {
        Kind::Func { proto, .. } if matches!(btf.kind(*proto), Some(Kind::FuncProto { .. })) => Ok(*proto),
        _ => Err(quiet(Errno::EINVAL)),
    };
    use AttachType as A;
    match t.expected_attach_type {
        Some(A::TraceRawTp) => raw_tp_target(btf, btf_id, &ty.kind, tname),
        Some(A::TraceIter) => {
            if !is_func {
                return Err(not_func());
            }
            let proto = proto_of(&ty.kind)?;
            let model = distill_func_proto(btf, proto, &tname)?;
            // check_attach_btf_id() → bpf_iter_prog_supported(): the
            // `bpf_iter_` prefix and a registered target, else EINVAL
            // without a log line.
            if crate::iter::target_of_func(&tname).is_none() {
                return Err(quiet(Errno::EINVAL));
            }
            Ok(AttachTarget { btf_id, name: tname, proto, model, note: None })
        }
        Some(A::ModifyReturn | A::LsmMac | A::LsmCgroup | A::TraceFentry | A::TraceFexit) => {
            if !is_func {
                return Err(not_func());
            }
            let proto = proto_of(&ty.kind)?;
            let model = distill_func_proto(btf, proto, &tname)?;
            // kallsyms_lookup_name(): the test functions, and the LSM
            // hooks, whose trampolines only LSM programs use in bpfemu.
            let lsm_hook = t.prog_type == ProgType::Lsm && lsm::hook_by_btf_id(btf_id).is_some();
            if targets::by_btf_id(btf_id).is_none() && !lsm_hook {
                return Err(refuse(
                    Errno::ENOENT,
                    format!("The address of function {tname} cannot be found"),
                ));
            }
            let fmodret = targets::fmodret_flags(btf_id);
            if t.sleepable {
                // No error-injection list here: tracing programs need the
                // fmodret set's KF_SLEEPABLE; LSM programs a hook of
                // sleepable_lsm_hooks (bpf_lsm_is_sleepable_hook()).
                let ok = match t.prog_type {
                    ProgType::Tracing => fmodret.is_some_and(|f| f & crate::kfuncs::KF_SLEEPABLE != 0),
                    ProgType::Lsm => lsm::is_sleepable_hook(btf_id),
                    _ => false,
                };
                if !ok {
                    return Err(refuse(Errno::EINVAL, format!("{tname} is not sleepable")));
                }
            } else if t.expected_attach_type == Some(A::ModifyReturn) && fmodret.is_none() {
                return Err(refuse(Errno::EINVAL, format!("{tname}() is not modifiable")));
            }
            if t.prog_type == ProgType::Lsm {
                // check_attach_btf_id() → bpf_lsm_verify_prog().
                if !t.gpl_compatible {
                    return Err(refuse(Errno::EINVAL, "LSM programs must have a GPL compatible license"));
                }
                if !lsm_hook {
                    return Err(refuse(
                        Errno::EINVAL,
                        format!("attach_btf_id {btf_id} points to wrong type name {tname}"),
                    ));
                }
                if t.expected_attach_type == Some(A::LsmCgroup) {
                    return Err(refuse(
                        Errno::EINVAL,
                        "bpfemu: BPF_LSM_CGROUP programs are not supported yet",
                    ));
                }
            }
            Ok(AttachTarget { btf_id, name: tname, proto, model, note: None })
        }
        _ => Err(quiet(Errno::EINVAL)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progtype::{AttachFd, check_load};
    use bpfemu_btf::IntEncoding;

    fn target(prog_type: ProgType, attach: AttachType, func: &str) -> LoadTarget {
        LoadTarget {
            prog_type,
            expected_attach_type: Some(attach),
            expected_attach_raw: attach.raw(),
            attach_btf_id: crate::vmlinux::func_id(func).unwrap_or(0),
            attach_fd: AttachFd::None,
            sleepable: false,
            gpl_compatible: true,
        }
    }

    #[test]
    fn fentry_target_resolves() {
        let t = check_load(&target(ProgType::Tracing, AttachType::TraceFentry, "bpf_fentry_test6"))
            .unwrap()
            .unwrap();
        assert_eq!(t.name, "bpf_fentry_test6");
        assert_eq!(t.model, FuncModel { ret_size: 4, arg_size: vec![8, 8, 2, 4, 8, 8] });
        let m = check_load(&target(ProgType::Tracing, AttachType::ModifyReturn, "bpf_modify_return_test"));
        assert!(m.unwrap().is_some());
    }

    #[test]
    fn refusals() {
        let r = |t: LoadTarget| check_load(&t).unwrap_err();
        let e = r(target(ProgType::Tracing, AttachType::TraceFentry, "bpf_task_release"));
        assert_eq!(e.errno, Errno::ENOENT);
        let e = r(target(ProgType::Tracing, AttachType::ModifyReturn, "bpf_fentry_test3"));
        assert_eq!((e.errno, e.msg.as_str()), (Errno::EINVAL, "bpf_fentry_test3() is not modifiable"));
        let mut s = target(ProgType::Tracing, AttachType::TraceFexit, "bpf_fentry_test1");
        s.sleepable = true;
        assert!(check_load(&s).is_ok());
        s.attach_btf_id = crate::vmlinux::func_id("bpf_fentry_test8").unwrap();
        assert_eq!(r(s).msg, "bpf_fentry_test8 is not sleepable");
        let mut l = target(ProgType::Lsm, AttachType::LsmMac, "bpf_fentry_test1");
        l.gpl_compatible = false;
        assert_eq!(r(l).msg, "LSM programs must have a GPL compatible license");
        let mut k = target(ProgType::Kprobe, AttachType::TraceFentry, "bpf_fentry_test1");
        assert_eq!(r(k), refuse(Errno::EINVAL, ""));
        k.prog_type = ProgType::Tracing;
        k.attach_btf_id = BTF_MAX_TYPE_PLUS_ONE;
        assert_eq!(r(k).errno, Errno::EINVAL);
        let mut f = target(ProgType::Tracing, AttachType::TraceFentry, "bpf_fentry_test1");
        f.attach_fd = AttachFd::Prog;
        assert_eq!(r(f).errno, Errno::EINVAL);
        f.attach_fd = AttachFd::UserBtf;
        assert_eq!(r(f).errno, Errno::ENOTSUPP);
        f.attach_fd = AttachFd::KernelBtf;
        assert!(check_load(&f).unwrap().is_some());
        f.attach_btf_id = 0;
        assert_eq!(r(f), refuse(Errno::EINVAL, ""));
        let e = target(ProgType::Ext, AttachType::TraceFentry, "bpf_fentry_test1");
        assert_eq!(r(e).errno, Errno::EINVAL);
    }

    #[test]
    fn raw_tp_targets() {
        let id = crate::vmlinux::typedef_id("btf_trace_bpf_test_finish").unwrap();
        let mut t = target(ProgType::Tracing, AttachType::TraceRawTp, "bpf_fentry_test1");
        let e = check_load(&t).unwrap_err();
        assert_eq!(e.msg, format!("attach_btf_id {} is not a typedef", t.attach_btf_id));
        t.attach_btf_id = id;
        let got = check_load(&t).unwrap().unwrap();
        assert_eq!((got.btf_id, got.name.as_str()), (id, "bpf_test_finish"));
        assert_eq!(
            got.note.as_deref(),
            Some("Cannot find btf of tracepoint template, fall back to btf_trace_bpf_test_finish.")
        );
        // On a BTF of our own: a typedef of an unknown tracepoint (EINVAL,
        // no log), and one not pointing to a PTR to a FUNC_PROTO.
        let mut btf = Btf::default();
        let int = btf.add_int("int", 4, IntEncoding::Signed);
        let proto = btf.add_func_proto(0, &[("", int)], false);
        let ptr = btf.add_ptr(proto);
        let unknown = btf.add_typedef("btf_trace_sched_switch", ptr);
        let bad = btf.add_typedef("btf_trace_bpf_test_finish", int);
        let good = btf.add_typedef("btf_trace_bpf_test_finish", ptr);
        let other = btf.add_typedef("u32", int);
        let mut r = |id: u32| {
            t.attach_btf_id = id;
            check_attach_target(&btf, &t)
        };
        assert_eq!(r(unknown).unwrap_err(), refuse(Errno::EINVAL, ""));
        assert_eq!(r(bad).unwrap_err(), refuse(Errno::EINVAL, ""));
        assert_eq!(r(good).unwrap().proto, proto);
        assert_eq!(r(other).unwrap_err().msg, format!("attach_btf_id {other} points to wrong type name u32"));
    }

    const BTF_MAX_TYPE_PLUS_ONE: u32 = crate::progtype::BTF_MAX_TYPE + 1;

    #[test]
    fn distill_limits() {
        let mut btf = Btf::default();
        let int = btf.add_int("int", 4, IntEncoding::Signed);
        let many: Vec<(&str, TypeId)> = (0..13).map(|_| ("a", int)).collect();
        let p = btf.add_func_proto(int, &many, false);
        let e = distill_func_proto(&btf, p, "f").unwrap_err();
        assert_eq!(e.msg, "The function f has 13 arguments. Too many.");
        let twelve = btf.add_func_proto(int, &many[..12], false);
        assert_eq!(distill_func_proto(&btf, twelve, "f").unwrap().arg_size.len(), 12);
        let big = btf.add_struct("big", 24, &[]);
        let p = btf.add_func_proto(int, &[("s", big)], false);
        assert_eq!(
            distill_func_proto(&btf, p, "f").unwrap_err().msg,
            "The function f arg0 type STRUCT is unsupported."
        );
        let small = btf.add_struct("small", 16, &[]);
        let p = btf.add_func_proto(int, &[("s", small)], false);
        assert_eq!(distill_func_proto(&btf, p, "f").unwrap().arg_size, vec![16]);
        let p = btf.add_func_proto(small, &[], false);
        assert_eq!(
            distill_func_proto(&btf, p, "f").unwrap_err().msg,
            "The function f return type STRUCT is unsupported."
        );
        let p = btf.add_func_proto(int, &[("a", int)], true);
        assert_eq!(
            distill_func_proto(&btf, p, "f").unwrap_err().msg,
            "The function f with variable args is unsupported."
        );
        let p = btf.add_func_proto(int, &[("a", 0), ("b", int)], false);
        assert_eq!(
            distill_func_proto(&btf, p, "f").unwrap_err().msg,
            "The function f has malformed void argument."
        );
        let fl = btf.push(bpfemu_btf::Type { name_off: 0, kind: Kind::Float { size: 8 } });
        let p = btf.add_func_proto(int, &[("x", fl)], false);
        assert_eq!(
            distill_func_proto(&btf, p, "f").unwrap_err().msg,
            "The function f arg0 type FLOAT is unsupported."
        );
    }
}
