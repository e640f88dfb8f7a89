//! The struct_ops types of vmlinux BTF: the kernel's test struct_ops
//! `struct bpf_dummy_ops` and its argument `struct bpf_dummy_ops_state`
//! (include/linux/bpf.h, registered by net/bpf/bpf_dummy_struct_ops.c):
//!
//! ```c
//! struct bpf_dummy_ops_state { int val; };
//! struct bpf_dummy_ops {
//!     int (*test_1)(struct bpf_dummy_ops_state *cb);
//!     int (*test_2)(struct bpf_dummy_ops_state *cb, int a1, unsigned short a2,
//!                   char a3, unsigned long a4);
//!     int (*test_sleepable)(struct bpf_dummy_ops_state *cb);
//! };
//! ```
//!
//! Each function-pointer member is a PTR to its own FUNC_PROTO, as pahole
//! emits them. Appended after every earlier type of
//! [`super::vmlinux_btf`], so that no earlier id moves.

use super::c::{Char, Int, ULong, UShort};
use super::{Field, VmlinuxBuilder};
use bpfemu_btf::TypeId;
use std::mem::{offset_of, size_of};

/// `struct bpf_dummy_ops_state`: what `bpf_struct_ops_test_run()` copies
/// in before and out after the call.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpfDummyOpsState {
    pub val: i32,
}

/// `struct bpf_dummy_ops`: three function pointers.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpfDummyOps {
    pub test_1: u64,
    pub test_2: u64,
    pub test_sleepable: u64,
}

/// `sizeof(struct bpf_dummy_ops_state)`.
pub const DUMMY_OPS_STATE_SIZE: usize = size_of::<BpfDummyOpsState>();

/// Adds both structs; the id of `struct bpf_dummy_ops`.
pub fn describe_all(b: &mut VmlinuxBuilder) -> TypeId {
    let state = b.composite("bpf_dummy_ops_state", false, DUMMY_OPS_STATE_SIZE, |b| {
        vec![Field::new("val", b.ty::<Int>(), offset_of!(BpfDummyOpsState, val))]
    });
    b.composite("bpf_dummy_ops", false, size_of::<BpfDummyOps>(), |b| {
        let int = b.ty::<Int>();
        let cb = b.ptr_to(state);
        let one = b.btf.add_func_proto(int, &[("cb", cb)], false);
        let test_1 = b.ptr_to(one);
        let (ushort, ch, ulong) = (b.ty::<UShort>(), b.ty::<Char>(), b.ty::<ULong>());
        let five = b.btf.add_func_proto(
            int,
            &[("cb", cb), ("a1", int), ("a2", ushort), ("a3", ch), ("a4", ulong)],
            false,
        );
        let test_2 = b.ptr_to(five);
        let sl = b.btf.add_func_proto(int, &[("cb", cb)], false);
        let test_sleepable = b.ptr_to(sl);
        vec![
            Field::new("test_1", test_1, offset_of!(BpfDummyOps, test_1)),
            Field::new("test_2", test_2, offset_of!(BpfDummyOps, test_2)),
            Field::new("test_sleepable", test_sleepable, offset_of!(BpfDummyOps, test_sleepable)),
        ]
    })
}
