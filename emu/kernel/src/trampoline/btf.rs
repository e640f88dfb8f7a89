//! The test functions' FUNC and FUNC_PROTO entries of vmlinux BTF, with
//! `struct bpf_fentry_test_t` (net/bpf/test_run.c:
//! `struct bpf_fentry_test_t { struct bpf_fentry_test_t *a; };`).
//!
//! Appended last in [`crate::vmlinux::vmlinux_btf`], in
//! [`super::TEST_FUNCS`] order, as pahole emits a FUNC (global linkage)
//! with its FUNC_PROTO per function.

use super::targets::{ArgType, TEST_FUNCS};
use crate::vmlinux::c::{Char, Int, KU64, Short};
use crate::vmlinux::{Field, VmlinuxBuilder};
use bpfemu_btf::{FuncLinkage, TypeId};

/// `struct bpf_fentry_test_t`: one self pointer, 8 bytes.
pub fn fentry_test_t(b: &mut VmlinuxBuilder) -> TypeId {
    b.composite("bpf_fentry_test_t", false, 8, |b| {
        let me = b.composite("bpf_fentry_test_t", false, 8, |_| Vec::new());
        let p = b.ptr_to(me);
        vec![Field::new("a", p, 0)]
    })
}

fn ctype(b: &mut VmlinuxBuilder, t: ArgType) -> TypeId {
    match t {
        ArgType::Int => b.ty::<Int>(),
        ArgType::U64 => b.ty::<KU64>(),
        ArgType::Char => b.ty::<Char>(),
        ArgType::Short => b.ty::<Short>(),
        ArgType::VoidPtr => b.ptr_to(0),
        ArgType::IntPtr => b.ptr::<Int>(),
        ArgType::TestTPtr => {
            let s = fentry_test_t(b);
            b.ptr_to(s)
        }
    }
}

/// Appends every test function's FUNC_PROTO and FUNC.
pub fn describe_all(b: &mut VmlinuxBuilder) {
    let int = b.ty::<Int>();
    for f in TEST_FUNCS {
        let params: Vec<(&str, TypeId)> = f.params.iter().map(|&(n, t)| (n, ctype(b, t))).collect();
        let proto = b.btf.add_func_proto(int, &params, false);
        b.btf.add_func(f.name, proto, FuncLinkage::Global);
    }
}
