//! Load-time work: laying a struct_ops variable out in the kernel's value
//! type (`find_struct_ops_kern_types` and `bpf_map__init_kern_struct_ops`
//! in `tools/lib/bpf/libbpf.c`).
//!
//! The kernel type `struct X` is found by the essential name of the local
//! type (a `___flavor` suffix is dropped), the value type is `struct
//! bpf_struct_ops_X`, and its member whose type is `struct X` is where the
//! data goes. Each local member is matched by name (any order) to a kernel
//! member; both must not be bitfields, must have the same BTF kind after
//! modifiers and, unless they are pointers, the same size. Pointers bound
//! to a program become function slots; other members are copied.
//! A local member missing from the kernel type is skipped if its bytes are
//! all zero and no program is bound to it, an error otherwise.

use std::collections::BTreeMap;

use bpfemu_btf::{Btf, BtfKind, Kind};

use super::collect::is_func_ptr;
use super::error::StructOpsError;
use super::{FuncSlot, KernStructOps, ProgAttach, STRUCT_OPS_VALUE_PREFIX, StructOpsMap};
use crate::core::essential_name;

fn kind_num(btf: &Btf, id: u32) -> u8 {
    btf.kind(id).map(|k| k.tag() as u8).unwrap_or(0)
}

/// Builds the kernel value of `map` from the kernel BTF `kern`.
pub fn init_kern(local: &Btf, kern: &Btf, map: &StructOpsMap) -> Result<KernStructOps, StructOpsError> {
    let tname = essential_name(&map.type_name).to_string();
    let Some(kern_type_id) = kern.find_by_name_kind(&tname, BtfKind::Struct) else {
        return Err(StructOpsError::NoKernType { name: tname });
    };
    let vname = format!("{STRUCT_OPS_VALUE_PREFIX}{tname}");
    let Some(kern_vtype_id) = kern.find_by_name_kind(&vname, BtfKind::Struct) else {
        return Err(StructOpsError::NoKernValueType { name: tname });
    };
    let (Some(Kind::Struct(kt)), Some(Kind::Struct(vt))) =
        (kern.kind(kern_type_id), kern.kind(kern_vtype_id))
    else {
        return Err(StructOpsError::NoKernType { name: tname });
    };
    let Some(data_member) = vt.members.iter().find(|m| m.ty == kern_type_id) else {
        return Err(StructOpsError::NoKernData { name: tname });
    };
    let kern_data_off = data_member.bit_offset / 8;
    let mut value = vec![0u8; vt.size as usize];
    let Some(Kind::Struct(lt)) = local.kind(map.type_id) else {
        return Err(StructOpsError::NotStruct { name: map.type_name.clone() });
    };
    let mut out = KernStructOps {
        kern_type_id,
        kern_vtype_id,
        value_size: vt.size,
        kern_data_off,
        value: Vec::new(),
        funcs: Vec::new(),
        skipped: Vec::new(),
    };
    let oob = |member: &str, off: u32, size: u32| StructOpsError::OutOfBounds {
        map: map.name.clone(),
        member: member.to_string(),
        off,
        size,
    };
    for (i, lm) in lt.members.iter().enumerate() {
        let mname = local.str_at(lm.name_off).to_string();
        let moff = lm.bit_offset / 8;
        let prog = map.progs.get(i).cloned().flatten();
        let Ok(msize) = local.resolve_size(lm.ty) else {
            return Err(StructOpsError::MemberSize { map: map.name.clone(), member: mname });
        };
        let Some(mdata) = map.data.get(moff as usize..(moff as usize).saturating_add(msize as usize)) else {
            return Err(oob(&mname, moff, msize));
        };
        let Some(ki) = kt.members.iter().position(|m| kern.str_at(m.name_off) == mname) else {
            if prog.is_some() || mdata.iter().any(|b| *b != 0) {
                return Err(StructOpsError::NoKernMember { map: map.name.clone(), member: mname });
            }
            out.skipped.push(mname);
            continue;
        };
        let km = &kt.members[ki];
        if (lt.kflag && lm.bitfield_size != 0) || (kt.kflag && km.bitfield_size != 0) {
            return Err(StructOpsError::Bitfield { map: map.name.clone(), member: mname });
        }
        let kern_moff = km.bit_offset / 8;
        let mtype = local.skip_mods_and_typedefs(lm.ty);
        let kmtype = kern.skip_mods_and_typedefs(km.ty);
        let (k, kk) = (kind_num(local, mtype), kind_num(kern, kmtype));
        if k != kk {
            return Err(StructOpsError::KindMismatch {
                map: map.name.clone(),
                member: mname,
                kind: k,
                kern_kind: kk,
            });
        }
        if k == BtfKind::Ptr as u8 {
            let Some(prog) = prog else { continue };
            if !is_func_ptr(kern, kmtype) {
                return Err(StructOpsError::KernNotFuncPtr { map: map.name.clone(), member: mname });
            }
            let value_off = kern_data_off.saturating_add(kern_moff);
            if u64::from(value_off) + 8 > u64::from(vt.size) {
                return Err(oob(&mname, value_off, 8));
            }
            out.funcs.push(FuncSlot {
                member: mname,
                prog,
                local_member_idx: i,
                kern_member_idx: ki as u32,
                attach_btf_id: kern_type_id,
                value_off,
            });
            continue;
        }
        let kern_msize = kern.resolve_size(kmtype);
        if kern_msize != Ok(msize) {
            return Err(StructOpsError::SizeMismatch {
                map: map.name.clone(),
                member: mname,
                size: i64::from(msize),
                kern_size: kern_msize.map(i64::from).unwrap_or(-22),
            });
        }
        let dst = kern_data_off as usize + kern_moff as usize;
        let Some(slot) = value.get_mut(dst..dst.saturating_add(msize as usize)) else {
            return Err(oob(&mname, dst as u32, msize));
        };
        slot.copy_from_slice(mdata);
    }
    out.value = value;
    Ok(out)
}

/// Gives each program bound in `maps` (in order) its attach_btf_id and
/// expected_attach_type; a program reused for a different struct or
/// member is an error, as in libbpf.
pub fn assign_programs<'a>(
    maps: impl IntoIterator<Item = (&'a str, &'a KernStructOps)>,
) -> Result<BTreeMap<String, ProgAttach>, StructOpsError> {
    let mut out: BTreeMap<String, ProgAttach> = BTreeMap::new();
    for (map, k) in maps {
        for f in &k.funcs {
            let want = ProgAttach { attach_btf_id: f.attach_btf_id, expected_attach_type: f.kern_member_idx };
            match out.get(&f.prog) {
                None => {
                    out.insert(f.prog.clone(), want);
                }
                Some(have) if *have == want => {}
                Some(have) => {
                    return Err(StructOpsError::ProgReuse {
                        map: map.to_string(),
                        member: f.member.clone(),
                        prog: f.prog.clone(),
                        attach_btf_id: have.attach_btf_id,
                        kern_type_id: want.attach_btf_id,
                        eat: have.expected_attach_type,
                        member_idx: want.expected_attach_type,
                    });
                }
            }
        }
    }
    Ok(out)
}
