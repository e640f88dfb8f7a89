//! vmlinux BTF of the BPF LSM hooks of the `bpf()` syscall: the
//! `bpf_lsm_*` FUNCs BPF_PROG_TYPE_LSM programs attach to, and the types
//! their prototypes name.
//!
//! Kernel counterpart: the nop functions `bpf_lsm_NAME()` that
//! kernel/bpf/bpf_lsm.c defines for every `LSM_HOOK()` of
//! include/linux/lsm_hook_defs.h, with the prototypes of current mainline
//! (the `bool kernel` arguments are there since 6.13):
//!
//! ```c
//! int bpf_lsm_bpf(int cmd, union bpf_attr *attr, unsigned int size, bool kernel);
//! int bpf_lsm_bpf_map(struct bpf_map *map, fmode_t fmode);
//! int bpf_lsm_bpf_prog(struct bpf_prog *prog);
//! int bpf_lsm_bpf_map_create(struct bpf_map *map, union bpf_attr *attr,
//!                            struct bpf_token *token, bool kernel);
//! int bpf_lsm_bpf_prog_load(struct bpf_prog *prog, union bpf_attr *attr,
//!                           struct bpf_token *token, bool kernel);
//! ```
//!
//! Appended after every other vmlinux type (ids of earlier types do not
//! move). The types:
//!
//! - `union bpf_attr` (uapi, include/uapi/linux/bpf.h), a faithful
//!   *subset*: the anonymous members of `BPF_MAP_CREATE`, the element
//!   commands, `BPF_PROG_LOAD` (up to `fd_array_cnt`), `BPF_OBJ_*`,
//!   `BPF_PROG_TEST_RUN`, the `*_GET_*_ID` commands, `BPF_OBJ_GET_INFO_BY_FD`
//!   and `BPF_LINK_CREATE` (up to `target_btf_id`), at the uapi offsets;
//!   where the uapi has a union of names (`value` / `next_key`,
//!   `start_id` / `prog_id` / ..., `target_fd` / `target_ifindex`) the
//!   first name only. Its size here is [`BPF_ATTR_SIZE`] (the largest
//!   described member, `BPF_PROG_LOAD`'s); the kernel's union is larger
//!   (the members bpfemu does not describe);
//! - `struct bpf_prog` and `struct bpf_token`: kernel-internal, subsets at
//!   offsets of our own (as `struct bpf_map` in [`super::types`]);
//! - `fmode_t`: `typedef unsigned int fmode_t`.
//!
//! Not described: the other `LSM_HOOK()`s (file, task, socket, ...), and
//! the free/token hooks of the bpf syscall (`bpf_map_free`,
//! `bpf_prog_free`, `bpf_token_create`, `_free`, `_cmd`, `_capable`):
//! bpfemu has no tokens and does not call the free hooks.

use super::c::*;
use super::types::BpfMap;
use super::{BtfDescribe, Field, VmlinuxBuilder};
use bpfemu_btf::{FuncLinkage, TypeId};
use std::mem::{offset_of, size_of};

macro_rules! f {
    ($s:ty, $f:ident, $ty:expr) => {
        Field::new(stringify!($f), $ty, offset_of!($s, $f))
    };
}

/// `union bpf_attr`'s `BPF_MAP_CREATE` member.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct AttrMapCreate {
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub inner_map_fd: u32,
    pub numa_node: u32,
    pub map_name: [u8; 16],
    pub map_ifindex: u32,
    pub btf_fd: u32,
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    pub btf_vmlinux_value_type_id: u32,
    pub map_extra: u64,
    pub value_type_btf_obj_fd: i32,
    pub map_token_fd: i32,
}

/// The element commands' member (`BPF_MAP_*_ELEM`, `BPF_MAP_GET_NEXT_KEY`,
/// `BPF_MAP_FREEZE`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct AttrElem {
    pub map_fd: u32,
    pub key: u64,
    /// `value` / `next_key`.
    pub value: u64,
    pub flags: u64,
}

/// `BPF_PROG_LOAD`'s member, up to `fd_array_cnt`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct AttrProgLoad {
    pub prog_type: u32,
    pub insn_cnt: u32,
    pub insns: u64,
    pub license: u64,
    pub log_level: u32,
    pub log_size: u32,
    pub log_buf: u64,
    pub kern_version: u32,
    pub prog_flags: u32,
    pub prog_name: [u8; 16],
    pub prog_ifindex: u32,
    pub expected_attach_type: u32,
    pub prog_btf_fd: u32,
    pub func_info_rec_size: u32,
    pub func_info: u64,
    pub func_info_cnt: u32,
    pub line_info_rec_size: u32,
    pub line_info: u64,
    pub line_info_cnt: u32,
    pub attach_btf_id: u32,
    /// `attach_prog_fd` / `attach_btf_obj_fd`.
    pub attach_prog_fd: u32,
    pub core_relo_cnt: u32,
    pub fd_array: u64,
    pub core_relos: u64,
    pub core_relo_rec_size: u32,
    pub log_true_size: u32,
    pub prog_token_fd: i32,
    pub fd_array_cnt: u32,
}

/// The `BPF_OBJ_PIN` / `BPF_OBJ_GET` member.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct AttrObj {
    pub pathname: u64,
    pub bpf_fd: u32,
    pub file_flags: u32,
    pub path_fd: i32,
}

/// `BPF_PROG_TEST_RUN`'s member (`attr->test`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct AttrTest {
    pub prog_fd: u32,
    pub retval: u32,
    pub data_size_in: u32,
    pub data_size_out: u32,
    pub data_in: u64,
    pub data_out: u64,
    pub repeat: u32,
    pub duration: u32,
    pub ctx_size_in: u32,
    pub ctx_size_out: u32,
    pub ctx_in: u64,
    pub ctx_out: u64,
    pub flags: u32,
    pub cpu: u32,
    pub batch_size: u32,
}

/// The `*_GET_NEXT_ID` / `*_GET_FD_BY_ID` member.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct AttrGetId {
    /// `start_id` / `prog_id` / `map_id` / `btf_id` / `link_id`.
    pub start_id: u32,
    pub next_id: u32,
    pub open_flags: u32,
}

/// `BPF_OBJ_GET_INFO_BY_FD`'s member (`attr->info`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct AttrInfo {
    pub bpf_fd: u32,
    pub info_len: u32,
    pub info: u64,
}

/// `BPF_LINK_CREATE`'s member (`attr->link_create`), up to
/// `target_btf_id`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct AttrLinkCreate {
    pub prog_fd: u32,
    /// `target_fd` / `target_ifindex`.
    pub target_fd: u32,
    pub attach_type: u32,
    pub flags: u32,
    pub target_btf_id: u32,
}

/// The size of bpfemu's `union bpf_attr`: its largest described member.
pub const BPF_ATTR_SIZE: usize = size_of::<AttrProgLoad>();

/// `union bpf_attr` (the subset of the module docs).
#[derive(Debug)]
pub struct BpfAttrUnion;

impl BtfDescribe for BpfAttrUnion {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("bpf_attr", true, BPF_ATTR_SIZE, |b| {
            let (u32_, u64_, s32_) = (b.ty::<__u32>(), b.ty::<__u64>(), b.ty::<__s32>());
            let name = b.array::<Char>(16);
            let mc = b.anon(
                false,
                size_of::<AttrMapCreate>(),
                &[
                    f!(AttrMapCreate, map_type, u32_),
                    f!(AttrMapCreate, key_size, u32_),
                    f!(AttrMapCreate, value_size, u32_),
                    f!(AttrMapCreate, max_entries, u32_),
                    f!(AttrMapCreate, map_flags, u32_),
                    f!(AttrMapCreate, inner_map_fd, u32_),
                    f!(AttrMapCreate, numa_node, u32_),
                    f!(AttrMapCreate, map_name, name),
                    f!(AttrMapCreate, map_ifindex, u32_),
                    f!(AttrMapCreate, btf_fd, u32_),
                    f!(AttrMapCreate, btf_key_type_id, u32_),
                    f!(AttrMapCreate, btf_value_type_id, u32_),
                    f!(AttrMapCreate, btf_vmlinux_value_type_id, u32_),
                    f!(AttrMapCreate, map_extra, u64_),
                    f!(AttrMapCreate, value_type_btf_obj_fd, s32_),
                    f!(AttrMapCreate, map_token_fd, s32_),
                ],
            );
            let elem = b.anon(
                false,
                size_of::<AttrElem>(),
                &[
                    f!(AttrElem, map_fd, u32_),
                    f!(AttrElem, key, u64_),
                    f!(AttrElem, value, u64_),
                    f!(AttrElem, flags, u64_),
                ],
            );
            let pl = b.anon(
                false,
                size_of::<AttrProgLoad>(),
                &[
                    f!(AttrProgLoad, prog_type, u32_),
                    f!(AttrProgLoad, insn_cnt, u32_),
                    f!(AttrProgLoad, insns, u64_),
                    f!(AttrProgLoad, license, u64_),
                    f!(AttrProgLoad, log_level, u32_),
                    f!(AttrProgLoad, log_size, u32_),
                    f!(AttrProgLoad, log_buf, u64_),
                    f!(AttrProgLoad, kern_version, u32_),
                    f!(AttrProgLoad, prog_flags, u32_),
                    f!(AttrProgLoad, prog_name, name),
                    f!(AttrProgLoad, prog_ifindex, u32_),
                    f!(AttrProgLoad, expected_attach_type, u32_),
                    f!(AttrProgLoad, prog_btf_fd, u32_),
                    f!(AttrProgLoad, func_info_rec_size, u32_),
                    f!(AttrProgLoad, func_info, u64_),
                    f!(AttrProgLoad, func_info_cnt, u32_),
                    f!(AttrProgLoad, line_info_rec_size, u32_),
                    f!(AttrProgLoad, line_info, u64_),
                    f!(AttrProgLoad, line_info_cnt, u32_),
                    f!(AttrProgLoad, attach_btf_id, u32_),
                    f!(AttrProgLoad, attach_prog_fd, u32_),
                    f!(AttrProgLoad, core_relo_cnt, u32_),
                    f!(AttrProgLoad, fd_array, u64_),
                    f!(AttrProgLoad, core_relos, u64_),
                    f!(AttrProgLoad, core_relo_rec_size, u32_),
                    f!(AttrProgLoad, log_true_size, u32_),
                    f!(AttrProgLoad, prog_token_fd, s32_),
                    f!(AttrProgLoad, fd_array_cnt, u32_),
                ],
            );
            let obj = b.anon(
                false,
                size_of::<AttrObj>(),
                &[
                    f!(AttrObj, pathname, u64_),
                    f!(AttrObj, bpf_fd, u32_),
                    f!(AttrObj, file_flags, u32_),
                    f!(AttrObj, path_fd, s32_),
                ],
            );
            let test = b.anon(
                false,
                size_of::<AttrTest>(),
                &[
                    f!(AttrTest, prog_fd, u32_),
                    f!(AttrTest, retval, u32_),
                    f!(AttrTest, data_size_in, u32_),
                    f!(AttrTest, data_size_out, u32_),
                    f!(AttrTest, data_in, u64_),
                    f!(AttrTest, data_out, u64_),
                    f!(AttrTest, repeat, u32_),
                    f!(AttrTest, duration, u32_),
                    f!(AttrTest, ctx_size_in, u32_),
                    f!(AttrTest, ctx_size_out, u32_),
                    f!(AttrTest, ctx_in, u64_),
                    f!(AttrTest, ctx_out, u64_),
                    f!(AttrTest, flags, u32_),
                    f!(AttrTest, cpu, u32_),
                    f!(AttrTest, batch_size, u32_),
                ],
            );
            let id = b.anon(
                false,
                size_of::<AttrGetId>(),
                &[
                    f!(AttrGetId, start_id, u32_),
                    f!(AttrGetId, next_id, u32_),
                    f!(AttrGetId, open_flags, u32_),
                ],
            );
            let info = b.anon(
                false,
                size_of::<AttrInfo>(),
                &[f!(AttrInfo, bpf_fd, u32_), f!(AttrInfo, info_len, u32_), f!(AttrInfo, info, u64_)],
            );
            let link = b.anon(
                false,
                size_of::<AttrLinkCreate>(),
                &[
                    f!(AttrLinkCreate, prog_fd, u32_),
                    f!(AttrLinkCreate, target_fd, u32_),
                    f!(AttrLinkCreate, attach_type, u32_),
                    f!(AttrLinkCreate, flags, u32_),
                    f!(AttrLinkCreate, target_btf_id, u32_),
                ],
            );
            // Anonymous members, except `test`, `info` and `link_create`,
            // which the uapi names.
            vec![
                Field::new("", mc, 0),
                Field::new("", elem, 0),
                Field::new("", pl, 0),
                Field::new("", obj, 0),
                Field::new("test", test, 0),
                Field::new("", id, 0),
                Field::new("info", info, 0),
                Field::new("link_create", link, 0),
            ]
        })
    }
}

/// `struct bpf_prog`, a subset at our own offsets: what the hooks'
/// programs read (`prog->type`, `expected_attach_type`, `len`,
/// `jited_len`, `tag`). `type` is `u32` here (an `enum bpf_prog_type` in
/// the kernel, same size), as is `expected_attach_type`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpfProg {
    pub r#type: u32,
    pub expected_attach_type: u32,
    pub len: u32,
    pub jited_len: u32,
    pub tag: [u8; 8],
}

impl BtfDescribe for BpfProg {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("bpf_prog", false, size_of::<Self>(), |b| {
            let u32_ = b.ty::<KU32>();
            let tag = b.array::<UChar>(8);
            vec![
                Field::new("type", u32_, offset_of!(Self, r#type)),
                f!(Self, expected_attach_type, u32_),
                f!(Self, len, u32_),
                f!(Self, jited_len, u32_),
                f!(Self, tag, tag),
            ]
        })
    }
}

/// `struct bpf_token`, a subset at our own offsets (bpfemu has no BPF
/// tokens: the hooks always get NULL).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpfToken {
    pub allowed_cmds: u64,
    pub allowed_maps: u64,
    pub allowed_progs: u64,
    pub allowed_attachs: u64,
}

impl BtfDescribe for BpfToken {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("bpf_token", false, size_of::<Self>(), |b| {
            let u64_ = b.ty::<KU64>();
            vec![
                f!(Self, allowed_cmds, u64_),
                f!(Self, allowed_maps, u64_),
                f!(Self, allowed_progs, u64_),
                f!(Self, allowed_attachs, u64_),
            ]
        })
    }
}

/// A parameter type of a hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookArg {
    /// `int`.
    Int,
    /// `unsigned int`.
    UInt,
    /// `bool`.
    Bool,
    /// `fmode_t`.
    FMode,
    /// `union bpf_attr *`.
    Attr,
    /// `struct bpf_map *`.
    Map,
    /// `struct bpf_prog *`.
    Prog,
    /// `struct bpf_token *`.
    Token,
}

/// One emulated LSM hook: `bpf_lsm_NAME`, its parameters (every one
/// returns `int`).
#[derive(Clone, Copy, Debug)]
pub struct Hook {
    pub name: &'static str,
    pub params: &'static [(&'static str, HookArg)],
}

use HookArg as H;

/// The hooks, in the order their FUNCs are appended (append only).
pub const HOOKS: &[Hook] = &[
    Hook {
        name: "bpf_lsm_bpf",
        params: &[("cmd", H::Int), ("attr", H::Attr), ("size", H::UInt), ("kernel", H::Bool)],
    },
    Hook { name: "bpf_lsm_bpf_map", params: &[("map", H::Map), ("fmode", H::FMode)] },
    Hook { name: "bpf_lsm_bpf_prog", params: &[("prog", H::Prog)] },
    Hook {
        name: "bpf_lsm_bpf_map_create",
        params: &[("map", H::Map), ("attr", H::Attr), ("token", H::Token), ("kernel", H::Bool)],
    },
    Hook {
        name: "bpf_lsm_bpf_prog_load",
        params: &[("prog", H::Prog), ("attr", H::Attr), ("token", H::Token), ("kernel", H::Bool)],
    },
];

fn ctype(b: &mut VmlinuxBuilder, t: HookArg) -> TypeId {
    match t {
        H::Int => b.ty::<Int>(),
        H::UInt => b.ty::<UInt>(),
        H::Bool => b.ty::<KBool>(),
        H::FMode => {
            let u = b.ty::<UInt>();
            b.once("fmode_t", |b| b.btf.add_typedef("fmode_t", u))
        }
        H::Attr => {
            let a = b.ty::<BpfAttrUnion>();
            b.ptr_to(a)
        }
        H::Map => b.ptr::<BpfMap>(),
        H::Prog => b.ptr::<BpfProg>(),
        H::Token => b.ptr::<BpfToken>(),
    }
}

/// Appends the types, then every hook's FUNC_PROTO and FUNC.
pub fn describe_all(b: &mut VmlinuxBuilder) {
    b.ty::<BpfAttrUnion>();
    b.ty::<BpfProg>();
    b.ty::<BpfToken>();
    let int = b.ty::<Int>();
    for h in HOOKS {
        let params: Vec<(&str, TypeId)> = h.params.iter().map(|&(n, t)| (n, ctype(b, t))).collect();
        let proto = b.btf.add_func_proto(int, &params, false);
        b.btf.add_func(h.name, proto, FuncLinkage::Global);
    }
}

// The uapi offsets (include/uapi/linux/bpf.h, x86-64).
const _: () = {
    assert!(size_of::<AttrMapCreate>() == 80);
    assert!(offset_of!(AttrMapCreate, map_name) == 28);
    assert!(offset_of!(AttrMapCreate, map_extra) == 64);
    assert!(offset_of!(AttrMapCreate, map_token_fd) == 76);
    assert!(offset_of!(AttrElem, flags) == 24);
    assert!(offset_of!(AttrProgLoad, prog_name) == 48);
    assert!(offset_of!(AttrProgLoad, expected_attach_type) == 68);
    assert!(offset_of!(AttrProgLoad, attach_btf_id) == 108);
    assert!(offset_of!(AttrProgLoad, fd_array) == 120);
    assert!(offset_of!(AttrProgLoad, fd_array_cnt) == 148);
    assert!(BPF_ATTR_SIZE == 152);
    assert!(offset_of!(AttrObj, file_flags) == 12);
    assert!(offset_of!(AttrTest, batch_size) == 72);
    assert!(offset_of!(AttrLinkCreate, target_btf_id) == 16);
};
