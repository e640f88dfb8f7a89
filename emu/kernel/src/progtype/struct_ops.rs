//! `BPF_PROG_TYPE_STRUCT_OPS`: programs that implement one member (a
//! function pointer) of a kernel struct of operations.
//!
//! Kernel counterparts: `check_struct_ops_btf_id()` (kernel/bpf/verifier.c),
//! `bpf_struct_ops_find()` / `bpf_struct_ops_desc_init()` /
//! `bpf_struct_ops_supported()` (kernel/bpf/bpf_struct_ops.c), and the one
//! registered type, the kernel's test struct_ops `bpf_dummy_ops`
//! (net/bpf/bpf_dummy_struct_ops.c: `bpf_dummy_ops_check_member()`,
//! `bpf_dummy_verifier_ops`, the `__nullable` stub `bpf_dummy_ops__test_1`),
//! as in current mainline.
//!
//! Load ([`check_struct_ops_btf_id`]), in the kernel's order:
//!
//! - not GPL compatible: `EINVAL`, "struct ops programs must have a GPL
//!   compatible license";
//! - `attach_btf_id` 0: `ENOTSUPP` (no log);
//! - an id that is not a registered struct: `ENOTSUPP`, "attach_btf_id N
//!   is not a supported struct";
//! - the member index is `expected_attach_type` (its raw value): past the
//!   last member `EINVAL`, "attach to invalid member idx N of struct S";
//!   a member that is not a function pointer `EINVAL`, "attach to invalid
//!   member M(@idx N) of struct S";
//! - the type's `check_member`: for `bpf_dummy_ops` only `test_sleepable`
//!   may be sleepable (`EINVAL`, "attach to unsupported member M of struct
//!   S"). Every member of `bpf_dummy_ops` has a cfi stub, so
//!   `bpf_struct_ops_supported()` refuses none.
//!
//! The program's target is the member: its name is `attach_func_name`, its
//! FUNC_PROTO the ctx (`attach_func_proto`), `attach_btf_id` the struct.
//!
//! Verification ([`StructOps`], `bpf_dummy_verifier_ops`):
//!
//! - ctx: `bpf_tracing_btf_ctx_access()` → `btf_ctx_access()` on the
//!   member's FUNC_PROTO ([`super::btf_tracing::BtfCtx`]), one `u64` per
//!   argument; pointer-to-struct arguments are `PTR_TO_BTF_ID |
//!   PTR_TRUSTED` (`prog_args_trusted()` is true for struct_ops); a
//!   `__nullable` argument of the type's cfi stub (`test_1`'s state) is
//!   in `ctx_arg_info` as `PTR_TRUSTED | PTR_TO_BTF_ID | PTR_MAYBE_NULL`
//!   (`prepare_arg_info()`), loaded without the "has btf_id" log line;
//! - helpers: none — `bpf_dummy_verifier_ops` has no `get_func_proto`, so
//!   every helper call is refused ("program of this type cannot use
//!   helper"); kfuncs: the struct_ops id sets;
//! - `btf_struct_access` (`bpf_dummy_ops_btf_struct_access()`, asked for
//!   writes only): writes only into `struct bpf_dummy_ops_state` ("only
//!   access to bpf_dummy_ops_state is supported", `EACCES`) and within it
//!   ("write access at off N with size M", `EACCES`); reads go through the
//!   vmlinux struct walk as for every type;
//! - return value (`check_return_code()`): a member returning `void` is not
//!   checked at all (r0 need not be set); any other may return any value.
//!
//! Not emulated: `BPF_MAP_TYPE_STRUCT_OPS` maps (registration, links),
//! `tcp_congestion_ops` and every other struct_ops type, `__ref`
//! arguments, returning referenced kptrs, private stacks.

use super::attach::{AttachTarget, distill_func_proto};
use super::btf_tracing::BtfCtx;
use super::tracing::MAX_BPF_FUNC_ARGS;
use super::{LoadTarget, Refusal, refuse};
use crate::errno::Errno;
use crate::uapi::AttachType;
use crate::vmlinux::struct_ops::DUMMY_OPS_STATE_SIZE;
use bpfemu_btf::{Btf, BtfKind, Kind, TypeId};
use bpfemu_verifier::env::{Access, CtxAccess, CtxField, ProgTypeOps};
use bpfemu_verifier::proto::FuncProto;
use std::sync::Arc;

/// A registered struct_ops type (`struct bpf_struct_ops` with what
/// `bpf_struct_ops_desc_init()` derives from its cfi stubs).
#[derive(Debug)]
pub struct StructOpsDesc {
    /// The struct's name (`st_ops->name`), a STRUCT of vmlinux BTF.
    pub name: &'static str,
    /// `check_member(t, member, prog)`: the member's byte offset and
    /// whether the program is sleepable; the errno it refuses with.
    pub check_member: fn(moff: u32, sleepable: bool) -> Result<(), Errno>,
    /// `(member, argument)` pairs whose cfi stub parameter is named
    /// `*__nullable`.
    pub nullable: &'static [(&'static str, usize)],
    /// `verifier_ops->btf_struct_access` (writes through `PTR_TO_BTF_ID`):
    /// `(btf, btf_id of the pointee, off, size)`.
    pub btf_struct_write: fn(&Btf, u32, i32, u32) -> Result<(), String>,
}

/// `offsetof(struct bpf_dummy_ops, test_sleepable)`.
const DUMMY_TEST_SLEEPABLE_OFF: u32 =
    std::mem::offset_of!(crate::vmlinux::struct_ops::BpfDummyOps, test_sleepable) as u32;

/// `bpf_dummy_ops_check_member()`: only `test_sleepable` may sleep.
fn dummy_check_member(moff: u32, sleepable: bool) -> Result<(), Errno> {
    if moff != DUMMY_TEST_SLEEPABLE_OFF && sleepable { Err(Errno::EINVAL) } else { Ok(()) }
}

/// `bpf_dummy_ops_btf_struct_access()`.
fn dummy_btf_struct_write(btf: &Btf, btf_id: u32, off: i32, size: u32) -> Result<(), String> {
    if btf.find_by_name_kind("bpf_dummy_ops_state", BtfKind::Struct) != Some(btf_id) {
        return Err("only access to bpf_dummy_ops_state is supported".into());
    }
    if i64::from(off) + i64::from(size) > DUMMY_OPS_STATE_SIZE as i64 {
        return Err(format!("write access at off {off} with size {size}"));
    }
    Ok(())
}

/// `bpf_bpf_dummy_ops` (net/bpf/bpf_dummy_struct_ops.c).
pub static BPF_DUMMY_OPS: StructOpsDesc = StructOpsDesc {
    name: "bpf_dummy_ops",
    check_member: dummy_check_member,
    // bpf_dummy_ops__test_1(struct bpf_dummy_ops_state *cb__nullable)
    nullable: &[("test_1", 0)],
    btf_struct_write: dummy_btf_struct_write,
};

/// Every registered struct_ops type.
pub static STRUCT_OPS: &[&StructOpsDesc] = &[&BPF_DUMMY_OPS];

/// `bpf_struct_ops_find()`: the registered type whose struct is `btf_id`.
pub fn find(btf: &Btf, btf_id: u32) -> Option<&'static StructOpsDesc> {
    STRUCT_OPS.iter().copied().find(|d| btf.find_by_name_kind(d.name, BtfKind::Struct) == Some(btf_id))
}

/// `btf_type_resolve_func_ptr()`: the FUNC_PROTO a member of type `ty`
/// points to (modifiers and typedefs skipped on both sides).
fn resolve_func_ptr(btf: &Btf, ty: TypeId) -> Option<TypeId> {
    let Some(Kind::Ptr { ty: pointee }) = btf.kind(btf.skip_mods_and_typedefs(ty)) else { return None };
    let f = btf.skip_mods_and_typedefs(*pointee);
    matches!(btf.kind(f), Some(Kind::FuncProto { .. })).then_some(f)
}

/// Member `idx` of struct `btf_id`: its name, byte offset and, for a
/// function pointer, its FUNC_PROTO.
fn member(btf: &Btf, btf_id: u32, idx: u32) -> Option<(String, u32, Option<TypeId>)> {
    let Some(Kind::Struct(c)) = btf.kind(btf_id) else { return None };
    let m = c.members.get(idx as usize)?;
    Some((btf.str_at(m.name_off).to_owned(), m.bit_offset / 8, resolve_func_ptr(btf, m.ty)))
}

/// `check_struct_ops_btf_id()` (see the module docs): the member as the
/// program's target.
pub fn check_struct_ops_btf_id(btf: &Btf, t: &LoadTarget) -> Result<AttachTarget, Refusal> {
    if !t.gpl_compatible {
        return Err(refuse(Errno::EINVAL, "struct ops programs must have a GPL compatible license"));
    }
    if t.attach_btf_id == 0 {
        return Err(refuse(Errno::ENOTSUPP, ""));
    }
    let Some(desc) = find(btf, t.attach_btf_id) else {
        return Err(refuse(
            Errno::ENOTSUPP,
            format!("attach_btf_id {} is not a supported struct", t.attach_btf_id),
        ));
    };
    let idx = t.expected_attach_raw;
    let Some((mname, moff, proto)) = member(btf, t.attach_btf_id, idx) else {
        return Err(refuse(
            Errno::EINVAL,
            format!("attach to invalid member idx {idx} of struct {}", desc.name),
        ));
    };
    let Some(proto) = proto else {
        return Err(refuse(
            Errno::EINVAL,
            format!("attach to invalid member {mname}(@idx {idx}) of struct {}", desc.name),
        ));
    };
    if let Err(errno) = (desc.check_member)(moff, t.sleepable) {
        return Err(refuse(errno, format!("attach to unsupported member {mname} of struct {}", desc.name)));
    }
    let model = distill_func_proto(btf, proto, &mname)?;
    Ok(AttachTarget { btf_id: t.attach_btf_id, name: mname, proto, model, note: None })
}

/// The target of a loaded program implementing member `idx` of the
/// struct_ops type `btf_id` (`attach_func_name`, `attach_func_proto`).
pub fn member_target(btf: &Btf, btf_id: u32, idx: u32) -> Option<AttachTarget> {
    let (name, _, proto) = member(btf, btf_id, idx)?;
    let proto = proto?;
    let model = distill_func_proto(btf, proto, &name).ok()?;
    Some(AttachTarget { btf_id, name, proto, model, note: None })
}

/// The rules of a struct_ops program (see the module docs).
#[derive(Debug)]
pub struct StructOps {
    pub desc: &'static StructOpsDesc,
    /// The member (name and FUNC_PROTO), with the struct as `btf_id`.
    pub target: AttachTarget,
    /// `expected_attach_type`, the member index: `btf_ctx_access()` reads
    /// it for the return-value slot as it does for tracing programs.
    pub attach: Option<AttachType>,
    pub btf: Arc<Btf>,
    /// `prog->aux->ctx_arg_info` of the member (its `__nullable`
    /// arguments).
    pub ctx_arg_info: Vec<(u32, CtxField)>,
}

impl StructOps {
    /// The rules for a program attached to `target` (from
    /// [`check_struct_ops_btf_id`]); `None` if the struct is not a
    /// registered type.
    pub fn new(target: &AttachTarget, attach: Option<AttachType>, btf: Arc<Btf>) -> Option<StructOps> {
        let desc = find(&btf, target.btf_id)?;
        let mut ops = StructOps { desc, target: target.clone(), attach, btf, ctx_arg_info: Vec::new() };
        // prepare_arg_info(): PTR_TRUSTED | PTR_TO_BTF_ID | PTR_MAYBE_NULL
        // of the pointee struct, at the argument's ctx offset.
        let params: Vec<TypeId> = match ops.btf.kind(target.proto) {
            Some(Kind::FuncProto { params, .. }) => params.iter().map(|p| p.ty).collect(),
            _ => Vec::new(),
        };
        let mut info = Vec::new();
        for &(_, arg) in desc.nullable.iter().filter(|(m, _)| *m == target.name) {
            let Some(&ty) = params.get(arg) else { continue };
            let Some(Kind::Ptr { ty: pointee }) = ops.btf.kind(ops.btf.skip_mods_and_typedefs(ty)) else {
                continue;
            };
            let btf_id = ops.btf.skip_mods_and_typedefs(*pointee);
            let off = ops.ctx().arg_offset(arg);
            info.push((off, CtxField::BtfId { btf_id, maybe_null: true, trusted: true }));
        }
        ops.ctx_arg_info = info;
        Some(ops)
    }

    fn ctx(&self) -> BtfCtx<'_> {
        BtfCtx {
            btf: &self.btf,
            target: &self.target,
            attach: self.attach,
            args_trusted: true,
            ctx_arg_info: &self.ctx_arg_info,
        }
    }

    /// Whether argument `arg` of the member may be NULL (its ctx offset is
    /// in `ctx_arg_info` as `PTR_MAYBE_NULL`): what
    /// `check_test_run_args()` asks.
    pub fn arg_nullable(&self, arg: usize) -> bool {
        let off = self.ctx().arg_offset(arg);
        self.ctx_arg_info
            .iter()
            .any(|&(o, f)| o == off && matches!(f, CtxField::BtfId { maybe_null: true, .. }))
    }
}

impl ProgTypeOps for StructOps {
    fn name(&self) -> &str {
        "struct_ops"
    }

    /// `bpf_dummy_verifier_ops` has no `get_func_proto`: no helper.
    fn func_proto(&self, _id: i32) -> Option<&'static FuncProto> {
        None
    }

    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        self.ctx_access_logged(off, size, access).0
    }

    fn ctx_access_logged(&self, off: i32, size: u32, access: Access) -> (Option<CtxAccess>, Option<String>) {
        self.ctx().access(off, size, access)
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        None
    }

    fn return_unchecked(&self) -> bool {
        // check_return_code(): `!prog->aux->attach_func_proto->type`.
        matches!(self.btf.kind(self.target.proto), Some(Kind::FuncProto { ret: 0, .. }))
    }

    fn btf_struct_write(&self, btf_id: u32, off: i32, size: u32) -> Option<Result<(), String>> {
        Some((self.desc.btf_struct_write)(&self.btf, btf_id, off, size))
    }

    fn ctx_size(&self) -> u32 {
        (8 * MAX_BPF_FUNC_ARGS) as u32
    }
}

#[cfg(test)]
mod tests;
