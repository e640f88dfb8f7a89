//! struct_ops errors, worded like libbpf's `pr_warn` messages in
//! `init_struct_ops_maps`, `bpf_object__collect_st_ops_relos`,
//! `find_struct_ops_kern_types` and `bpf_map__init_kern_struct_ops`
//! (`tools/lib/bpf/libbpf.c`).

use bpfemu_kernel::errno::Errno;

/// Why a struct_ops variable could not be prepared.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StructOpsError {
    #[error("struct_ops init: DATASEC {sec} not found")]
    NoDatasec { sec: String },
    #[error("struct_ops init: Cannot resolve var type_id {type_id} in DATASEC {sec}")]
    BadVarType { type_id: u32, sec: String },
    #[error("struct_ops init: anonymous type is not supported")]
    AnonType,
    #[error("struct_ops init: {name} is not a struct")]
    NotStruct { name: String },
    #[error("struct_ops init: var {var} is beyond the end of DATASEC {sec}")]
    BeyondDatasec { var: String, sec: String },
    #[error("struct_ops reloc: cannot find map at rel->r_offset {offset}")]
    NoMapAtOffset { offset: u64 },
    #[error("struct_ops reloc {map}: cannot find member at moff {moff}")]
    NoMemberAtOffset { map: String, moff: u32 },
    #[error("struct_ops reloc {map}: cannot relocate non func ptr {member}")]
    NotFuncPtr { map: String, member: String },
    #[error("struct_ops reloc {map}: prog {prog} is not struct_ops BPF program")]
    NotStructOpsProg { map: String, prog: String },
    #[error("struct_ops init_kern: struct {name} is not found in kernel BTF")]
    NoKernType { name: String },
    #[error("struct_ops init_kern: struct bpf_struct_ops_{name} is not found in kernel BTF")]
    NoKernValueType { name: String },
    #[error("struct_ops init_kern: struct {name} data is not found in struct bpf_struct_ops_{name}")]
    NoKernData { name: String },
    #[error("struct_ops init_kern {map}: failed to resolve the size of member {member}")]
    MemberSize { map: String, member: String },
    #[error("struct_ops init_kern {map}: Cannot find member {member} in kernel BTF")]
    NoKernMember { map: String, member: String },
    #[error("struct_ops init_kern {map}: bitfield {member} is not supported")]
    Bitfield { map: String, member: String },
    #[error("struct_ops init_kern {map}: Unmatched member type {member} {kind} != {kern_kind}(kernel)")]
    KindMismatch { map: String, member: String, kind: u8, kern_kind: u8 },
    #[error("struct_ops init_kern {map}: kernel member {member} is not a func ptr")]
    KernNotFuncPtr { map: String, member: String },
    #[error("struct_ops init_kern {map}: Error in size of member {member}: {size} != {kern_size}(kernel)")]
    SizeMismatch { map: String, member: String, size: i64, kern_size: i64 },
    #[error("struct_ops init_kern {map}: member {member} at offset {off} size {size} is outside the value")]
    OutOfBounds { map: String, member: String, off: u32, size: u32 },
    #[error(
        "struct_ops init_kern {map} func ptr {member}: invalid reuse of prog {prog}: attach_btf_id {attach_btf_id} != kern_type_id {kern_type_id} || expected_attach_type {eat} != kern_member_idx {member_idx}"
    )]
    ProgReuse {
        map: String,
        member: String,
        prog: String,
        attach_btf_id: u32,
        kern_type_id: u32,
        eat: u32,
        member_idx: u32,
    },
}

impl StructOpsError {
    /// The errno libbpf returns (`ENOTSUP` is user space's `EOPNOTSUPP`).
    pub fn errno(&self) -> Errno {
        use StructOpsError::*;
        match self {
            AnonType
            | NoKernMember { .. }
            | Bitfield { .. }
            | KindMismatch { .. }
            | KernNotFuncPtr { .. }
            | SizeMismatch { .. } => Errno::EOPNOTSUPP,
            NoKernType { .. } | NoKernValueType { .. } => Errno::ENOENT,
            _ => Errno::EINVAL,
        }
    }
}
