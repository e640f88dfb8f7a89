//! The kernel-side objects the bpf hooks get pointers to, built for one
//! hook call: the copy of `union bpf_attr` `__sys_bpf()` made, `struct
//! bpf_map`, `struct bpf_prog` (the layouts of [`crate::vmlinux::lsm`] and
//! [`crate::vmlinux::types::BpfMap`]).
//!
//! bpfemu's `bpf()` takes a typed attr ([`BpfAttr`]); the image holds its
//! numeric fields at their uapi offsets. User-space pointers (keys,
//! values, instructions, license, log buffers, path names, info buffers)
//! are 0: bpfemu's callers pass host memory, not user addresses. Commands
//! whose member [`crate::vmlinux::lsm`] does not describe (`BPF_BTF_LOAD`,
//! the batch commands, `BPF_PROG_ATTACH`/`DETACH`/`QUERY`,
//! `BPF_LINK_UPDATE`/`DETACH`) get their leading fd field only where it
//! is the first `u32` (`link_fd`, `target_fd`), zeros otherwise.

use crate::bpf::attr::{BpfAttr, MapCreateAttr, ProgLoadAttr};
use crate::bpf::prog::Prog;
use crate::map::Map;
use crate::vmlinux::lsm::*;
use crate::vmlinux::types::BpfMap;
use std::mem::offset_of;

/// The bytes of `union bpf_attr` as the hook sees them.
pub type AttrImage = [u8; BPF_ATTR_SIZE];

fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}

fn put64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_ne_bytes());
}

fn put_name(b: &mut [u8], off: usize, name: &[u8]) {
    let n = name.len().min(15);
    b[off..off + n].copy_from_slice(&name[..n]);
}

/// The image of `attr`.
pub fn image(attr: &BpfAttr<'_>) -> AttrImage {
    use BpfAttr as A;
    let mut b = [0u8; BPF_ATTR_SIZE];
    let elem = |b: &mut AttrImage, fd: i32, flags: u64| {
        put32(b, offset_of!(AttrElem, map_fd), fd as u32);
        put64(b, offset_of!(AttrElem, flags), flags);
    };
    match attr {
        A::MapCreate(a) => map_create_fields(&mut b, a),
        A::MapLookupElem { map_fd, flags, .. }
        | A::MapUpdateElem { map_fd, flags, .. }
        | A::MapDeleteElem { map_fd, flags, .. }
        | A::MapLookupAndDeleteElem { map_fd, flags, .. } => elem(&mut b, *map_fd, *flags),
        A::MapGetNextKey { map_fd, .. } | A::MapFreeze { map_fd } => elem(&mut b, *map_fd, 0),
        A::ProgLoad(a) => prog_load_fields(&mut b, a),
        A::ProgTestRun(a) => {
            type T = AttrTest;
            put32(&mut b, offset_of!(T, prog_fd), a.prog_fd as u32);
            put32(&mut b, offset_of!(T, data_size_in), a.data_in.len() as u32);
            put32(&mut b, offset_of!(T, data_size_out), a.data_out.as_ref().map_or(0, |d| d.len() as u32));
            put32(&mut b, offset_of!(T, repeat), a.repeat);
            put32(&mut b, offset_of!(T, duration), a.duration);
            put32(&mut b, offset_of!(T, ctx_size_in), a.ctx_in.len() as u32);
            put32(&mut b, offset_of!(T, ctx_size_out), a.ctx_out.as_ref().map_or(0, |d| d.len() as u32));
            put32(&mut b, offset_of!(T, flags), a.flags);
            put32(&mut b, offset_of!(T, cpu), a.cpu);
            put32(&mut b, offset_of!(T, batch_size), a.batch_size);
        }
        A::ObjPin { bpf_fd, file_flags, .. } => {
            put32(&mut b, offset_of!(AttrObj, bpf_fd), *bpf_fd as u32);
            put32(&mut b, offset_of!(AttrObj, file_flags), *file_flags);
        }
        A::ObjGet { file_flags, .. } => put32(&mut b, offset_of!(AttrObj, file_flags), *file_flags),
        A::ProgGetNextId { start_id, .. }
        | A::MapGetNextId { start_id, .. }
        | A::LinkGetNextId { start_id, .. }
        | A::BtfGetNextId { start_id, .. } => put32(&mut b, offset_of!(AttrGetId, start_id), *start_id),
        A::ProgGetFdById { id } | A::LinkGetFdById { id } | A::BtfGetFdById { id } => {
            put32(&mut b, offset_of!(AttrGetId, start_id), *id);
        }
        A::MapGetFdById { id, open_flags } => {
            put32(&mut b, offset_of!(AttrGetId, start_id), *id);
            put32(&mut b, offset_of!(AttrGetId, open_flags), *open_flags);
        }
        A::ObjGetInfoByFd { bpf_fd, .. } => put32(&mut b, offset_of!(AttrInfo, bpf_fd), *bpf_fd as u32),
        A::LinkCreate(a) => {
            type L = AttrLinkCreate;
            put32(&mut b, offset_of!(L, prog_fd), a.prog_fd as u32);
            put32(&mut b, offset_of!(L, target_fd), a.target_fd as u32);
            put32(&mut b, offset_of!(L, attach_type), a.attach_type);
            put32(&mut b, offset_of!(L, flags), a.flags);
            put32(&mut b, offset_of!(L, target_btf_id), a.target_btf_id);
        }
        A::ProgAttach { target_fd, .. }
        | A::ProgDetach { target_fd, .. }
        | A::ProgQuery { target_fd, .. } => {
            put32(&mut b, 0, *target_fd as u32);
        }
        A::LinkUpdate { link_fd, .. } | A::LinkDetach { link_fd } => put32(&mut b, 0, *link_fd as u32),
        // `iter_create`: `link_fd` at 0, `flags` at 4.
        A::IterCreate { link_fd, flags } => {
            put32(&mut b, 0, *link_fd as u32);
            put32(&mut b, 4, *flags);
        }
        // `raw_tracepoint`: the name pointer (0 here, as every user
        // pointer), `prog_fd` at 8, `cookie` at 16.
        A::RawTracepointOpen { prog_fd, cookie, .. } => {
            put32(&mut b, 8, *prog_fd as u32);
            put64(&mut b, 16, *cookie);
        }
        A::MapLookupBatch(_)
        | A::MapLookupAndDeleteBatch(_)
        | A::MapUpdateBatch(_)
        | A::MapDeleteBatch(_)
        | A::BtfLoad { .. } => {}
    }
    b
}

fn map_create_fields(b: &mut AttrImage, a: &MapCreateAttr) {
    type M = AttrMapCreate;
    put32(b, offset_of!(M, map_type), a.map_type);
    put32(b, offset_of!(M, key_size), a.key_size);
    put32(b, offset_of!(M, value_size), a.value_size);
    put32(b, offset_of!(M, max_entries), a.max_entries);
    put32(b, offset_of!(M, map_flags), a.map_flags);
    put32(b, offset_of!(M, inner_map_fd), a.inner_map_fd as u32);
    put32(b, offset_of!(M, numa_node), a.numa_node);
    put_name(b, offset_of!(M, map_name), &a.map_name);
    put32(b, offset_of!(M, map_ifindex), a.map_ifindex);
    put32(b, offset_of!(M, btf_fd), a.btf_fd as u32);
    put32(b, offset_of!(M, btf_key_type_id), a.btf_key_type_id);
    put32(b, offset_of!(M, btf_value_type_id), a.btf_value_type_id);
    put32(b, offset_of!(M, btf_vmlinux_value_type_id), a.btf_vmlinux_value_type_id);
    put64(b, offset_of!(M, map_extra), a.map_extra);
}

fn prog_load_fields(b: &mut AttrImage, a: &ProgLoadAttr<'_>) {
    type P = AttrProgLoad;
    put32(b, offset_of!(P, prog_type), a.prog_type);
    put32(b, offset_of!(P, insn_cnt), a.insns.len() as u32);
    put32(b, offset_of!(P, log_level), a.log_level);
    put32(b, offset_of!(P, log_size), a.log_size);
    put32(b, offset_of!(P, kern_version), a.kern_version);
    put32(b, offset_of!(P, prog_flags), a.prog_flags);
    put_name(b, offset_of!(P, prog_name), a.prog_name);
    put32(b, offset_of!(P, prog_ifindex), a.prog_ifindex);
    put32(b, offset_of!(P, expected_attach_type), a.expected_attach_type);
    put32(b, offset_of!(P, prog_btf_fd), a.prog_btf_fd as u32);
    put32(b, offset_of!(P, func_info_rec_size), a.func_info_rec_size);
    let cnt = |len: usize, rec: u32| if rec == 0 { 0 } else { (len / rec as usize) as u32 };
    put32(b, offset_of!(P, func_info_cnt), cnt(a.func_info.len(), a.func_info_rec_size));
    put32(b, offset_of!(P, line_info_rec_size), a.line_info_rec_size);
    put32(b, offset_of!(P, line_info_cnt), cnt(a.line_info.len(), a.line_info_rec_size));
    put32(b, offset_of!(P, attach_btf_id), a.attach_btf_id);
    put32(b, offset_of!(P, attach_prog_fd), a.attach_prog_fd as u32);
}

/// The image of a `BPF_MAP_CREATE` attr.
pub fn map_create_image(a: &MapCreateAttr) -> AttrImage {
    let mut b = [0u8; BPF_ATTR_SIZE];
    map_create_fields(&mut b, a);
    b
}

/// The image of a `BPF_PROG_LOAD` attr.
pub fn prog_load_image(a: &ProgLoadAttr<'_>) -> AttrImage {
    let mut b = [0u8; BPF_ATTR_SIZE];
    prog_load_fields(&mut b, a);
    b
}

/// The bytes of a [`BpfMap`] image, as its fields are laid out.
pub type MapImage = [u8; size_of::<BpfMap>()];

/// `struct bpf_map` of `map` (`ops` and `inner_map_meta` are 0).
pub fn map_image(map: &Map) -> MapImage {
    let mut b = [0u8; size_of::<BpfMap>()];
    let d = &map.def;
    put32(&mut b, offset_of!(BpfMap, map_type), d.map_type.raw());
    put32(&mut b, offset_of!(BpfMap, key_size), d.key_size);
    put32(&mut b, offset_of!(BpfMap, value_size), d.value_size);
    put32(&mut b, offset_of!(BpfMap, max_entries), d.max_entries);
    put64(&mut b, offset_of!(BpfMap, map_extra), d.map_extra);
    put32(&mut b, offset_of!(BpfMap, map_flags), d.map_flags);
    put32(&mut b, offset_of!(BpfMap, id), map.id);
    put_name(&mut b, offset_of!(BpfMap, name), d.name.as_bytes());
    b
}

/// The bytes of a [`BpfProg`] image.
pub type ProgImage = [u8; size_of::<BpfProg>()];

/// `struct bpf_prog` with these fields.
pub fn prog_image(
    prog_type: u32,
    expected_attach_type: u32,
    len: u32,
    jited_len: u32,
    tag: [u8; 8],
) -> ProgImage {
    let mut b = [0u8; size_of::<BpfProg>()];
    put32(&mut b, offset_of!(BpfProg, r#type), prog_type);
    put32(&mut b, offset_of!(BpfProg, expected_attach_type), expected_attach_type);
    put32(&mut b, offset_of!(BpfProg, len), len);
    put32(&mut b, offset_of!(BpfProg, jited_len), jited_len);
    b[offset_of!(BpfProg, tag)..offset_of!(BpfProg, tag) + 8].copy_from_slice(&tag);
    b
}

/// `struct bpf_prog` of a loaded program.
pub fn loaded_prog_image(p: &Prog) -> ProgImage {
    prog_image(
        p.prog_type.raw(),
        p.expected_attach_type.map_or(0, |a| a.raw()),
        p.xlated.len() as u32,
        p.jited_len() as u32,
        p.tag,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_create_image() {
        let a = MapCreateAttr {
            map_type: 1,
            key_size: 4,
            value_size: 8,
            max_entries: 16,
            map_name: b"counts".to_vec(),
            map_extra: 7,
            ..Default::default()
        };
        let b = image(&BpfAttr::MapCreate(a));
        assert_eq!(&b[0..16], &[1, 0, 0, 0, 4, 0, 0, 0, 8, 0, 0, 0, 16, 0, 0, 0]);
        assert_eq!(&b[28..34], b"counts");
        assert_eq!(b[64], 7);
        let f = image(&BpfAttr::MapFreeze { map_fd: 3 });
        assert_eq!(f[0], 3);
    }

    #[test]
    fn prog_image_fields() {
        let b = prog_image(29, 27, 2, 0, [1; 8]);
        assert_eq!(&b[0..12], &[29, 0, 0, 0, 27, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(&b[16..24], &[1; 8]);
    }
}
