//! The types of the `bpf_map` iterator target: `struct seq_file`
//! (opaque), `struct bpf_iter_meta`, `struct bpf_iter__bpf_map` and the
//! FUNC `bpf_iter_bpf_map`, the attach target of iterator programs
//! (`BPF_TRACE_ITER`, libbpf `SEC("iter/bpf_map")`).
//!
//! Kernel counterparts: `struct bpf_iter_meta` (include/linux/bpf.h: the
//! seq_file as `__bpf_md_ptr`, then `session_id` and `seq_num`), `struct
//! bpf_iter__bpf_map` and `DEFINE_BPF_ITER_FUNC(bpf_map, ...)`
//! (kernel/bpf/map_iter.c), which pahole emits as a global FUNC `int
//! bpf_iter_bpf_map(struct bpf_iter_meta *meta, struct bpf_map *map)`.
//! `struct seq_file` is described without members (size 0): programs
//! only pass it to `bpf_seq_printf` / `bpf_seq_write`; any load through
//! it is refused by the struct walk.
//!
//! Appended after every other vmlinux type (the `btf_trace_*` typedefs
//! included), so that no earlier id moves.

use super::c::{Int, KU64};
use super::types::BpfMap;
use super::{BtfDescribe, Field, VmlinuxBuilder};
use bpfemu_btf::{FuncLinkage, TypeId};
use std::mem::offset_of;

/// `struct seq_file`, opaque.
#[derive(Clone, Copy, Debug, Default)]
pub struct SeqFile;

impl BtfDescribe for SeqFile {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("seq_file", false, 0, |_| Vec::new())
    }
}

/// `struct bpf_iter_meta`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpfIterMeta {
    /// `__bpf_md_ptr(struct seq_file *, seq)`.
    pub seq: u64,
    pub session_id: u64,
    pub seq_num: u64,
}

impl BtfDescribe for BpfIterMeta {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("bpf_iter_meta", false, size_of::<Self>(), |b| {
            let u64_ = b.ty::<KU64>();
            let seq = b.md_ptr::<SeqFile>("seq");
            vec![
                Field::new("", seq, offset_of!(Self, seq)),
                Field::new("session_id", u64_, offset_of!(Self, session_id)),
                Field::new("seq_num", u64_, offset_of!(Self, seq_num)),
            ]
        })
    }
}

/// `struct bpf_iter__bpf_map`: the ctx of a `bpf_map` iterator program.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpfIterBpfMap {
    /// `__bpf_md_ptr(struct bpf_iter_meta *, meta)`.
    pub meta: u64,
    /// `__bpf_md_ptr(struct bpf_map *, map)`.
    pub map: u64,
}

impl BtfDescribe for BpfIterBpfMap {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("bpf_iter__bpf_map", false, size_of::<Self>(), |b| {
            let meta = b.md_ptr::<BpfIterMeta>("meta");
            let map = b.md_ptr::<BpfMap>("map");
            vec![Field::new("", meta, offset_of!(Self, meta)), Field::new("", map, offset_of!(Self, map))]
        })
    }
}

/// Appends the types and the FUNC `bpf_iter_bpf_map`.
pub fn describe_all(b: &mut VmlinuxBuilder) {
    b.ty::<SeqFile>();
    b.ty::<BpfIterMeta>();
    b.ty::<BpfIterBpfMap>();
    let int = b.ty::<Int>();
    let meta = b.ptr::<BpfIterMeta>();
    let map = b.ptr::<BpfMap>();
    let proto = b.btf.add_func_proto(int, &[("meta", meta), ("map", map)], false);
    b.btf.add_func("bpf_iter_bpf_map", proto, FuncLinkage::Global);
}

#[cfg(test)]
mod tests {
    use bpfemu_btf::{BtfKind, Kind};

    #[test]
    fn layouts_and_func() {
        let btf = crate::vmlinux::shared();
        let meta = btf.find_by_name_kind("bpf_iter_meta", BtfKind::Struct).unwrap();
        assert_eq!(btf.resolve_size(meta).unwrap(), 24);
        let ctx = btf.find_by_name_kind("bpf_iter__bpf_map", BtfKind::Struct).unwrap();
        assert_eq!(btf.resolve_size(ctx).unwrap(), 16);
        let f = crate::vmlinux::func_id("bpf_iter_bpf_map").unwrap();
        let Some(Kind::Func { proto, .. }) = btf.kind(f) else { panic!("not a func") };
        let Some(Kind::FuncProto { params, .. }) = btf.kind(*proto) else { panic!("no proto") };
        assert_eq!(params.len(), 2);
        // Last in vmlinux: everything before keeps its id.
        assert_eq!(f as usize, btf.types.len());
    }
}
