//! The kfuncs' FUNC and FUNC_PROTO entries of vmlinux BTF.
//!
//! Kernel counterpart: pahole emits a `FUNC` (global linkage) with its
//! `FUNC_PROTO` for each function of vmlinux, and resolve_btfids fills the
//! `BTF_ID_FLAGS` sets with their ids. Here the entries are appended at the
//! end of the type list, in [`super::KFUNCS`] order, so the ids of every
//! type described before them do not move. Not emitted: the
//! `bpf_kfunc` DECL_TAGs of newer pahole versions.

use super::{CType, KFUNCS};
use crate::vmlinux::VmlinuxBuilder;
use crate::vmlinux::c::{Int, KS32};
use crate::vmlinux::types::TaskStruct;
use bpfemu_btf::{FuncLinkage, TypeId};

fn ctype(b: &mut VmlinuxBuilder, c: CType) -> TypeId {
    match c {
        CType::Void => 0,
        CType::S32 => b.ty::<KS32>(),
        CType::TaskPtr => b.ptr::<TaskStruct>(),
    }
}

/// Appends every kfunc's FUNC_PROTO and FUNC.
pub fn describe_all(b: &mut VmlinuxBuilder) {
    b.ty::<Int>();
    for k in KFUNCS {
        let ret = ctype(b, k.ret);
        let params: Vec<(&str, TypeId)> = k.params.iter().map(|&(n, c)| (n, ctype(b, c))).collect();
        let proto = b.btf.add_func_proto(ret, &params, false);
        b.btf.add_func(k.name, proto, FuncLinkage::Global);
    }
}
