//! The kfunc registry: which kernel functions BPF programs may call, with
//! their flags, per program type.
//!
//! Kernel counterpart: `register_btf_kfunc_id_set()` (kernel/bpf/btf.c)
//! with the id sets of kernel/bpf/helpers.c (`BTF_KFUNCS_START` /
//! `BTF_ID_FLAGS`): `generic_kfunc_set` registered for tracing, sched_cls,
//! xdp, struct_ops, syscall and cgroup_skb programs, `common_kfunc_set` for
//! every type (`BPF_PROG_TYPE_UNSPEC`); the flags of include/linux/btf.h;
//! `bpf_prog_type_to_kfunc_hook()` (a sched_act program, for instance, has
//! no hook, so it only gets the common set); and the lookup
//! `btf_kfunc_id_set_contains()` that `fetch_kfunc_meta()` uses (a FUNC in
//! no set of the program type: `EACCES` "calling kernel function NAME is
//! not allowed").
//!
//! Each kfunc is a FUNC (with its FUNC_PROTO) appended at the end of the
//! vmlinux BTF ([`btf::describe_all`]), so its BTF id is what a loader's
//! `__ksym` extern resolves to, and the VM calls its implementation by that
//! id ([`crate::helpers::kfunc::register_kfuncs`]).
//!
//! Emulated kfuncs: `bpf_task_from_pid` (`KF_ACQUIRE | KF_RET_NULL`),
//! `bpf_task_acquire` (`KF_ACQUIRE | KF_RCU | KF_RET_NULL`),
//! `bpf_task_release` (`KF_RELEASE`) of the generic set and
//! `bpf_rcu_read_lock` / `bpf_rcu_read_unlock` of the common set. Task
//! pointers are `PTR_TO_BTF_ID` of the emulated `task_struct` ([`task`]).
//! Not emulated: every other kfunc of the kernel (objects, lists, rbtrees,
//! cgroups, dynptrs, iterators, ...), module kfunc sets, the verifier's
//! RCU read-section tracking (`KF_RCU` arguments are checked as non-NULL
//! trusted pointers), kfunc id sets filtered by `.filter` callbacks.

pub mod asm;
pub mod btf;
pub mod ops;
pub mod task;
mod task_mem;

#[cfg(test)]
mod tests;

use crate::uapi::ProgType;
use bpfemu_btf::{BtfKind, Kind};
use bpfemu_verifier::env::{KfuncArg, KfuncProto, KfuncRet};
use bpfemu_vm::HelperFn;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// `KF_ACQUIRE`: the kfunc returns a new reference.
pub const KF_ACQUIRE: u32 = 1 << 0;
/// `KF_RELEASE`: the kfunc releases the reference passed to it.
pub const KF_RELEASE: u32 = 1 << 1;
/// `KF_RET_NULL`: the returned pointer may be NULL.
pub const KF_RET_NULL: u32 = 1 << 2;
/// `KF_TRUSTED_ARGS`: pointer arguments must be trusted.
pub const KF_TRUSTED_ARGS: u32 = 1 << 4;
/// `KF_SLEEPABLE`.
pub const KF_SLEEPABLE: u32 = 1 << 5;
/// `KF_RCU`: pointer arguments may be RCU-protected.
pub const KF_RCU: u32 = 1 << 7;

/// A C type of a kfunc's prototype, as far as the emulated kfuncs need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CType {
    Void,
    /// `s32`.
    S32,
    /// `struct task_struct *`.
    TaskPtr,
}

/// One kfunc: its name, prototype and implementation.
#[derive(Clone, Copy, Debug)]
pub struct KfuncDef {
    pub name: &'static str,
    pub ret: CType,
    pub params: &'static [(&'static str, CType)],
    pub imp: HelperFn,
}

/// Every emulated kfunc, in the order their FUNCs are appended to vmlinux
/// BTF (append only: ids must not move).
pub const KFUNCS: &[KfuncDef] = &[
    KfuncDef {
        name: "bpf_task_acquire",
        ret: CType::TaskPtr,
        params: &[("p", CType::TaskPtr)],
        imp: task::bpf_task_acquire,
    },
    KfuncDef {
        name: "bpf_task_release",
        ret: CType::Void,
        params: &[("p", CType::TaskPtr)],
        imp: task::bpf_task_release,
    },
    KfuncDef {
        name: "bpf_task_from_pid",
        ret: CType::TaskPtr,
        params: &[("pid", CType::S32)],
        imp: task::bpf_task_from_pid,
    },
    KfuncDef { name: "bpf_rcu_read_lock", ret: CType::Void, params: &[], imp: task::bpf_rcu_read_lock },
    KfuncDef { name: "bpf_rcu_read_unlock", ret: CType::Void, params: &[], imp: task::bpf_rcu_read_unlock },
];

/// A `struct btf_kfunc_id_set`: kfunc names with their `BTF_ID_FLAGS`.
#[derive(Clone, Copy, Debug)]
pub struct KfuncIdSet {
    pub name: &'static str,
    pub set: &'static [(&'static str, u32)],
}

/// `generic_kfunc_set` (the emulated part of `generic_btf_ids`).
pub const GENERIC: KfuncIdSet = KfuncIdSet {
    name: "generic_kfunc_set",
    set: &[
        ("bpf_task_acquire", KF_ACQUIRE | KF_RCU | KF_RET_NULL),
        ("bpf_task_release", KF_RELEASE),
        ("bpf_task_from_pid", KF_ACQUIRE | KF_RET_NULL),
    ],
};

/// `common_kfunc_set` (the emulated part of `common_btf_ids`).
pub const COMMON: KfuncIdSet =
    KfuncIdSet { name: "common_kfunc_set", set: &[("bpf_rcu_read_lock", 0), ("bpf_rcu_read_unlock", 0)] };

/// `enum btf_kfunc_hook`: the program types that share an id set table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Hook {
    Common,
    Xdp,
    Tc,
    StructOps,
    Tracing,
    Syscall,
    Fmodret,
    CgroupSkb,
    SchedAct,
    SkSkb,
    SocketFilter,
    Lwt,
    Netfilter,
    Kprobe,
}

/// `bpf_prog_type_to_kfunc_hook()`; `None` for `BTF_KFUNC_HOOK_MAX` (a
/// type no set can be registered for: only the common set applies).
pub fn hook_of(t: ProgType) -> Option<Hook> {
    use ProgType as T;
    Some(match t {
        T::Xdp => Hook::Xdp,
        T::SchedCls => Hook::Tc,
        T::StructOps => Hook::StructOps,
        T::Tracing | T::Lsm => Hook::Tracing,
        T::Syscall => Hook::Syscall,
        T::CgroupSkb => Hook::CgroupSkb,
        T::SchedAct => Hook::SchedAct,
        T::SkSkb => Hook::SkSkb,
        T::SocketFilter => Hook::SocketFilter,
        T::LwtOut | T::LwtIn | T::LwtXmit | T::LwtSeg6local => Hook::Lwt,
        T::Netfilter => Hook::Netfilter,
        T::Kprobe => Hook::Kprobe,
        _ => return None,
    })
}

/// The `register_btf_kfunc_id_set()` calls of `kfunc_init()` that bpfemu
/// makes at boot: (program type, set); `None` is `BPF_PROG_TYPE_UNSPEC`.
pub const REGISTRATIONS: &[(Option<ProgType>, KfuncIdSet)] = &[
    (Some(ProgType::Tracing), GENERIC),
    (Some(ProgType::SchedCls), GENERIC),
    (Some(ProgType::Xdp), GENERIC),
    (Some(ProgType::StructOps), GENERIC),
    (Some(ProgType::Syscall), GENERIC),
    (Some(ProgType::CgroupSkb), GENERIC),
    (None, COMMON),
];

/// The registry built from [`REGISTRATIONS`]: BTF id → flags, per hook.
#[derive(Debug, Default)]
pub struct Registry {
    hooks: BTreeMap<Hook, BTreeMap<u32, u32>>,
}

impl Registry {
    /// `register_btf_kfunc_id_set(prog_type, set)`: every name must be a
    /// FUNC of vmlinux BTF (`EINVAL` otherwise, as `btf_populate_kfunc_set`
    /// refuses ids it cannot resolve); a type without a hook cannot get a
    /// set (`EINVAL`).
    pub fn register(&mut self, prog_type: Option<ProgType>, set: &KfuncIdSet) -> Result<(), crate::Errno> {
        let hook = match prog_type {
            None => Hook::Common,
            Some(t) => hook_of(t).ok_or(crate::Errno::EINVAL)?,
        };
        let mut ids = Vec::new();
        for &(name, flags) in set.set {
            ids.push((kfunc_btf_id(name).ok_or(crate::Errno::EINVAL)?, flags));
        }
        self.hooks.entry(hook).or_default().extend(ids);
        Ok(())
    }

    /// `btf_kfunc_id_set_contains()`: the flags of `btf_id` for programs of
    /// `prog_type` (the common set first, then the type's hook).
    pub fn flags(&self, prog_type: ProgType, btf_id: u32) -> Option<u32> {
        let common = self.hooks.get(&Hook::Common).and_then(|s| s.get(&btf_id));
        let own = hook_of(prog_type).and_then(|h| self.hooks.get(&h)).and_then(|s| s.get(&btf_id));
        common.or(own).copied()
    }
}

/// The boot-time registry.
static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    let mut r = Registry::default();
    for (t, set) in REGISTRATIONS {
        r.register(*t, set).expect("every registered kfunc is a FUNC of vmlinux BTF");
    }
    r
});

/// The boot-time registry ([`REGISTRATIONS`]).
pub fn registry() -> &'static Registry {
    &REGISTRY
}

/// BTF ids of the emulated kfuncs in vmlinux BTF, by name.
static IDS: LazyLock<BTreeMap<&'static str, u32>> = LazyLock::new(|| {
    let btf = crate::vmlinux::shared();
    KFUNCS.iter().filter_map(|k| Some((k.name, btf.find_by_name_kind(k.name, BtfKind::Func)?))).collect()
});

/// The vmlinux BTF id of kfunc `name`.
pub fn kfunc_btf_id(name: &str) -> Option<u32> {
    IDS.get(name).copied()
}

/// The emulated kfunc whose FUNC is `btf_id`.
pub fn kfunc_by_id(btf_id: u32) -> Option<&'static KfuncDef> {
    KFUNCS.iter().find(|k| kfunc_btf_id(k.name) == Some(btf_id))
}

/// The name of `btf_id` when it is a FUNC of vmlinux BTF.
pub fn func_name(btf_id: u32) -> Option<String> {
    let btf = crate::vmlinux::shared();
    let t = btf.get(btf_id)?;
    matches!(t.kind, Kind::Func { .. }).then(|| btf.str_at(t.name_off).to_owned())
}

fn arg_of(c: CType) -> KfuncArg {
    match c {
        CType::TaskPtr => KfuncArg::BtfId(task::task_struct_id()),
        _ => KfuncArg::Scalar,
    }
}

/// What the verifier checks of a call of `btf_id` from a program of
/// `prog_type` (`fetch_kfunc_meta()`): `None` when the id is no kfunc the
/// type may call.
pub fn proto_for(prog_type: ProgType, btf_id: u32) -> Option<KfuncProto> {
    let flags = registry().flags(prog_type, btf_id)?;
    let def = kfunc_by_id(btf_id)?;
    Some(KfuncProto {
        name: def.name.to_owned(),
        args: def.params.iter().map(|&(_, c)| arg_of(c)).collect(),
        ret: match def.ret {
            CType::Void => KfuncRet::Void,
            CType::S32 => KfuncRet::Scalar,
            CType::TaskPtr => KfuncRet::BtfId(task::task_struct_id()),
        },
        acquire: flags & KF_ACQUIRE != 0,
        release: flags & KF_RELEASE != 0,
        ret_null: flags & KF_RET_NULL != 0,
        trusted_args: flags & KF_TRUSTED_ARGS != 0,
        rcu: flags & KF_RCU != 0,
        sleepable: flags & KF_SLEEPABLE != 0,
    })
}
