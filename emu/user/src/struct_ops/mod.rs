//! struct_ops on the library side: turning a `SEC(".struct_ops")` /
//! `SEC(".struct_ops.link")` variable (`struct tcp_congestion_ops cc = {
//! .init = (void *)my_init, .name = "bpf_cc" };`) into the kernel's map
//! value and the programs' attach parameters.
//!
//! Counterparts in `tools/lib/bpf/libbpf.c`: `init_struct_ops_maps`
//! ([`collect_maps`]), `bpf_object__collect_st_ops_relos` ([`bind_prog`]),
//! `find_struct_ops_kern_types` + `bpf_map__init_kern_struct_ops`
//! ([`init_kern`]); the design is the seed `001_844d1771bea0173d` (member
//! name + BTF kind + size matching in any order; program type, attach_btf_id
//! and expected_attach_type = member index taken from the kernel BTF, not
//! from section names) as libbpf does it today.
//!
//! This module is pure: it computes, the loader acts. The loader creates
//! the `BPF_MAP_TYPE_STRUCT_OPS` map (key 4 bytes, value
//! [`KernStructOps::value_size`], `btf_vmlinux_value_type_id` =
//! [`KernStructOps::kern_vtype_id`], flags [`StructOpsMap::map_flags`]),
//! loads each program as `BPF_PROG_TYPE_STRUCT_OPS` with the
//! [`ProgAttach`] from [`assign_programs`], writes each program's fd as a
//! u64 at [`FuncSlot::value_off`] of [`KernStructOps::value`], and
//! registers at attach time. Not here: the shadow-type API
//! (`bpf_map__initial_value` of struct_ops maps), module BTFs,
//! `autoload` adjustment of programs no map uses.

mod collect;
mod error;
mod kern;

#[cfg(test)]
mod tests;

pub use collect::{bind_prog, collect_maps, map_at_offset};
pub use error::StructOpsError;
pub use kern::{assign_programs, init_kern};

/// libbpf's `STRUCT_OPS_SEC`.
pub const STRUCT_OPS_SEC: &str = ".struct_ops";
/// libbpf's `STRUCT_OPS_LINK_SEC`: maps registered through a link.
pub const STRUCT_OPS_LINK_SEC: &str = ".struct_ops.link";
/// uapi `BPF_F_LINK` (map flag of `.struct_ops.link` maps).
pub const BPF_F_LINK: u32 = 1 << 13;
/// The kernel's value type is `struct bpf_struct_ops_<name>`.
pub const STRUCT_OPS_VALUE_PREFIX: &str = "bpf_struct_ops_";

/// One struct_ops variable of the object (libbpf's `struct bpf_map` with
/// its `struct bpf_struct_ops`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructOpsMap {
    /// The variable name, which is also the map name.
    pub name: String,
    /// `.struct_ops` or `.struct_ops.link`.
    pub sec_name: String,
    /// Offset of the variable in its section.
    pub sec_offset: u32,
    /// 0, or [`BPF_F_LINK`] for `.struct_ops.link`.
    pub map_flags: u32,
    /// The variable's struct type in the object's BTF.
    pub type_id: u32,
    /// Its name (possibly with a `___flavor` suffix).
    pub type_name: String,
    /// The variable's initial bytes (the struct's size).
    pub data: Vec<u8>,
    /// Program bound to each member of the local struct, by member index.
    pub progs: Vec<Option<String>>,
}

/// A function-pointer member bound to a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncSlot {
    /// Member name.
    pub member: String,
    /// Program name.
    pub prog: String,
    /// Member index in the object's struct.
    pub local_member_idx: usize,
    /// Member index in the kernel's struct: the program's
    /// `expected_attach_type`.
    pub kern_member_idx: u32,
    /// The kernel struct's type id: the program's `attach_btf_id`.
    pub attach_btf_id: u32,
    /// Where in [`KernStructOps::value`] the program fd goes (8 bytes).
    pub value_off: u32,
}

/// The kernel-side layout of one struct_ops map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernStructOps {
    /// `struct X` in the kernel BTF.
    pub kern_type_id: u32,
    /// `struct bpf_struct_ops_X` in the kernel BTF
    /// (`btf_vmlinux_value_type_id` of the map).
    pub kern_vtype_id: u32,
    /// Size of the value type: the map's value size.
    pub value_size: u32,
    /// Offset of the `struct X` member inside the value type.
    pub kern_data_off: u32,
    /// The value, non-pointer members copied, function slots zero.
    pub value: Vec<u8>,
    /// Bound function pointers, in local member order.
    pub funcs: Vec<FuncSlot>,
    /// Local members absent from the kernel type, skipped because zero.
    pub skipped: Vec<String>,
}

/// What a struct_ops program is loaded with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgAttach {
    pub attach_btf_id: u32,
    pub expected_attach_type: u32,
}
