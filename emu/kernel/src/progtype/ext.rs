//! Extension programs (`BPF_PROG_TYPE_EXT`, freplace): the target checks
//! `BPF_PROG_LOAD` makes when `attach_prog_fd` names a loaded program and
//! `attach_btf_id` one of its global functions.
//!
//! Kernel counterpart: the `tgt_prog` part of `bpf_check_attach_target()`
//! and the ext part of `check_attach_btf_id()` (kernel/bpf/verifier.c),
//! `btf_check_type_match()` / `btf_check_func_type_match()`
//! (kernel/bpf/btf.c). In the kernel's order, each `EINVAL`:
//!
//! - the target has no BTF: "FENTRY/FEXIT program can only be attached to
//!   another program annotated with BTF";
//! - `attach_btf_id` not a type of the target's BTF: "attach_btf_id N is
//!   invalid"; no func_info record of the target with that FUNC:
//!   "Subprog NAME doesn't exist";
//! - the function's BTF is unreliable ([`FuncAux::unreliable`]): "Cannot
//!   replace static functions";
//! - the JIT is off (`jit_requested`): "Extension programs should be
//!   JITed"; the target is not jited: "Can attach to only JITed progs";
//! - the target is an extension: "Cannot recursively attach"; an
//!   fentry/fexit program: "Cannot extend fentry/fexit";
//! - `btf_check_type_match()`: the extension without func_info: "Program
//!   extension requires BTF"; either function not global: "F() is not a
//!   global function"; argument count, return type, argument kinds and
//!   sizes, pointers that are not to a struct (ctx), ctx structs of
//!   other names — the kernel's messages;
//! - `btf_distill_func_proto()` of the target's prototype.
//!
//! Not emulated: the `changes_pkt_data` / `might_sleep` comparisons (no
//! helper of the emulated tables changes packet data; sleepable
//! extensions are refused earlier), device-bound programs, exception
//! callbacks (bpfemu has none).

use super::attach::{FuncModel, distill_func_proto};
use super::{Refusal, refuse};
use crate::bpf::prog::FuncBtf;
use crate::errno::Errno;
use crate::uapi::{AttachType, ProgType};
use bpfemu_btf::{Btf, FuncLinkage, Kind, TypeId};

/// The extension being loaded: its BTF with `func_info[0].type_id`
/// (`None` without func_info), and whether the JIT is on
/// (`prog->jit_requested`).
#[derive(Clone, Copy, Debug)]
pub struct ExtProg<'a> {
    pub btf: Option<(&'a Btf, u32)>,
    pub jit_requested: bool,
}

/// What the extension's target program is.
#[derive(Clone, Copy, Debug)]
pub struct TargetProg<'a> {
    pub prog_type: ProgType,
    pub expected_attach_type: Option<AttachType>,
    pub jited: bool,
    pub func_btf: Option<&'a FuncBtf>,
}

/// A resolved extension target: the function replaced and the program
/// type the extension is verified as (`resolve_prog_type()`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtTarget {
    /// The FUNC's id in the target program's BTF.
    pub btf_id: u32,
    pub name: String,
    /// The func_info index of the function in the target program.
    pub subprog: usize,
    pub prog_type: ProgType,
    pub expected_attach_type: Option<AttachType>,
    pub model: FuncModel,
}

fn inval(msg: impl Into<String>) -> Refusal {
    refuse(Errno::EINVAL, msg)
}

/// `t->info` of a type: kind, vlen and kind_flag, as the kernel compares
/// them (void is 0).
fn info_word(btf: &Btf, id: TypeId) -> u32 {
    let Some(k) = btf.kind(id) else { return 0 };
    let (vlen, kflag) = match k {
        Kind::Struct(c) | Kind::Union(c) => (c.members.len(), c.kflag),
        Kind::Enum { values, signed, .. } => (values.len(), *signed),
        Kind::Enum64 { values, signed, .. } => (values.len(), *signed),
        Kind::FuncProto { params, .. } => (params.len(), false),
        Kind::Func { linkage, .. } => (*linkage as usize, false),
        Kind::Datasec { vars, .. } => (vars.len(), false),
        Kind::Fwd { is_union } => (0, *is_union),
        _ => (0, false),
    };
    (u32::from(kflag) << 31) | ((k.tag() as u32) << 24) | vlen as u32
}

/// `btf_type_has_size()`: the size of a sized kind.
fn sized(btf: &Btf, id: TypeId) -> Option<u32> {
    match btf.kind(id)? {
        Kind::Int { size, .. }
        | Kind::Enum { size, .. }
        | Kind::Enum64 { size, .. }
        | Kind::Float { size } => Some(*size),
        Kind::Struct(c) | Kind::Union(c) => Some(c.size),
        Kind::Datasec { size, .. } => Some(*size),
        _ => None,
    }
}

fn type_str(btf: &Btf, id: TypeId) -> &'static str {
    super::attach::type_str(btf, id)
}

/// `btf_check_func_type_match()`: FUNC `f1` of `b1` (the extension)
/// against FUNC `f2` of `b2` (the replaced function).
pub fn check_func_type_match(b1: &Btf, f1: TypeId, b2: &Btf, f2: TypeId) -> Result<(), Refusal> {
    let fn1 = b1.name(f1).to_owned();
    let fn2 = b2.name(f2).to_owned();
    let (Some(Kind::Func { proto: p1, linkage: l1 }), Some(Kind::Func { proto: p2, linkage: l2 })) =
        (b1.kind(f1), b2.kind(f2))
    else {
        return Err(refuse(Errno::EFAULT, ""));
    };
    if *l1 != FuncLinkage::Global {
        return Err(inval(format!("{fn1}() is not a global function")));
    }
    if *l2 != FuncLinkage::Global {
        return Err(inval(format!("{fn2}() is not a global function")));
    }
    let (Some(Kind::FuncProto { ret: r1, params: a1 }), Some(Kind::FuncProto { ret: r2, params: a2 })) =
        (b1.kind(*p1), b2.kind(*p2))
    else {
        return Err(refuse(Errno::EFAULT, ""));
    };
    if a1.len() != a2.len() {
        return Err(inval(format!("{fn1}() has {} args while {fn2}() has {} args", a1.len(), a2.len())));
    }
    let (t1, t2) = (b1.skip_mods_and_typedefs(*r1), b2.skip_mods_and_typedefs(*r2));
    if info_word(b1, t1) != info_word(b2, t2) {
        return Err(inval(format!(
            "Return type {} of {fn1}() doesn't match type {} of {fn2}()",
            type_str(b1, t1),
            type_str(b2, t2)
        )));
    }
    for (i, (x1, x2)) in a1.iter().zip(a2).enumerate() {
        let (t1, t2) = (b1.skip_mods_and_typedefs(x1.ty), b2.skip_mods_and_typedefs(x2.ty));
        if info_word(b1, t1) != info_word(b2, t2) {
            return Err(inval(format!(
                "arg{i} in {fn1}() is {} while {fn2}() has {}",
                type_str(b1, t1),
                type_str(b2, t2)
            )));
        }
        if let (Some(s1), Some(s2)) = (sized(b1, t1), sized(b2, t2))
            && s1 != s2
        {
            return Err(inval(format!("arg{i} in {fn1}() has size {s1} while {fn2}() has {s2}")));
        }
        // Global functions take scalars and pointers to ctx only.
        match b1.kind(t1) {
            Some(Kind::Int { .. } | Kind::Enum { .. } | Kind::Enum64 { .. }) => continue,
            Some(Kind::Ptr { .. }) => {}
            _ => return Err(inval(format!("arg{i} in {fn1}() has unrecognized type"))),
        }
        let pointee = |b: &Btf, t: TypeId| match b.kind(t) {
            Some(Kind::Ptr { ty }) => b.skip_mods_and_typedefs(*ty),
            _ => 0,
        };
        let (s1, s2) = (pointee(b1, t1), pointee(b2, t2));
        if !matches!(b1.kind(s1), Some(Kind::Struct(_))) {
            return Err(inval(format!("arg{i} in {fn1}() is not a pointer to context")));
        }
        if !matches!(b2.kind(s2), Some(Kind::Struct(_))) {
            return Err(inval(format!("arg{i} in {fn2}() is not a pointer to context")));
        }
        let (n1, n2) = (b1.name(s1), b2.name(s2));
        if n1 != n2 {
            return Err(inval(format!("arg{i} {fn1}(struct {n1} *) doesn't match {fn2}(struct {n2} *)")));
        }
    }
    Ok(())
}

/// `bpf_check_attach_target()` for an extension with a target program,
/// `btf_id` being `attach_btf_id` (not 0).
pub fn check_ext_target(ext: &ExtProg<'_>, tgt: &TargetProg<'_>, btf_id: u32) -> Result<ExtTarget, Refusal> {
    let Some(fb) = tgt.func_btf else {
        return Err(inval("FENTRY/FEXIT program can only be attached to another program annotated with BTF"));
    };
    let btf = &*fb.btf;
    if btf.get(btf_id).is_none() {
        return Err(inval(format!("attach_btf_id {btf_id} is invalid")));
    }
    let tname = btf.name(btf_id).to_owned();
    let Some(subprog) = fb.funcs.iter().position(|f| f.type_id == btf_id) else {
        return Err(inval(format!("Subprog {tname} doesn't exist")));
    };
    if fb.funcs[subprog].unreliable {
        return Err(inval("Cannot replace static functions"));
    }
    if !ext.jit_requested {
        return Err(inval("Extension programs should be JITed"));
    }
    if !tgt.jited {
        return Err(inval("Can attach to only JITed progs"));
    }
    if tgt.prog_type == ProgType::Ext {
        return Err(inval("Cannot recursively attach"));
    }
    if tgt.prog_type == ProgType::Tracing
        && matches!(tgt.expected_attach_type, Some(AttachType::TraceFentry | AttachType::TraceFexit))
    {
        return Err(inval("Cannot extend fentry/fexit"));
    }
    let Some(Kind::Func { proto, .. }) = btf.kind(btf_id) else {
        return Err(inval(format!("attach_btf_id {btf_id} is not a function")));
    };
    let proto = *proto;
    // btf_check_type_match().
    let Some((ext_btf, ext_func)) = ext.btf else {
        return Err(inval("Program extension requires BTF"));
    };
    check_func_type_match(ext_btf, ext_func, btf, btf_id)?;
    if !matches!(btf.kind(proto), Some(Kind::FuncProto { .. })) {
        return Err(inval(""));
    }
    let model = distill_func_proto(btf, proto, &tname)?;
    Ok(ExtTarget {
        btf_id,
        name: tname,
        subprog,
        prog_type: tgt.prog_type,
        expected_attach_type: tgt.expected_attach_type,
        model,
    })
}
