//! Open-time work: one struct_ops map per variable of a `.struct_ops` /
//! `.struct_ops.link` section (libbpf's `init_struct_ops_maps`), and
//! binding function-pointer members to programs from the section's
//! relocations (`bpf_object__collect_st_ops_relos`), in
//! `tools/lib/bpf/libbpf.c`.

use bpfemu_btf::{Btf, BtfKind, Kind};

use super::error::StructOpsError;
use super::{BPF_F_LINK, STRUCT_OPS_LINK_SEC, StructOpsMap};

/// `btf__resolve_type`: follows VAR, typedefs and modifiers.
fn resolve_type(btf: &Btf, mut id: u32) -> Option<u32> {
    for _ in 0..=btf.types.len() {
        match &btf.get(id)?.kind {
            Kind::Var { ty, .. }
            | Kind::Typedef { ty }
            | Kind::Const { ty }
            | Kind::Volatile { ty }
            | Kind::Restrict { ty }
            | Kind::TypeTag { ty, .. } => id = *ty,
            _ => return Some(id),
        }
    }
    None
}

/// Whether `id` is (after modifiers) a pointer to a FUNC_PROTO
/// (`resolve_func_ptr`).
pub(crate) fn is_func_ptr(btf: &Btf, id: u32) -> bool {
    let id = btf.skip_mods_and_typedefs(id);
    let Some(Kind::Ptr { ty }) = btf.kind(id) else { return false };
    matches!(btf.kind(btf.skip_mods_and_typedefs(*ty)), Some(Kind::FuncProto { .. }))
}

/// The maps of section `sec_name` (`.struct_ops` or `.struct_ops.link`)
/// whose bytes are `sec_data`, one per DATASEC variable, in DATASEC order.
pub fn collect_maps(
    local: &Btf,
    sec_name: &str,
    sec_data: &[u8],
) -> Result<Vec<StructOpsMap>, StructOpsError> {
    let Some(ds_id) = local.find_by_name_kind(sec_name, BtfKind::Datasec) else {
        return Err(StructOpsError::NoDatasec { sec: sec_name.to_string() });
    };
    let Some(Kind::Datasec { vars, .. }) = local.kind(ds_id) else {
        return Err(StructOpsError::NoDatasec { sec: sec_name.to_string() });
    };
    let map_flags = if sec_name == STRUCT_OPS_LINK_SEC { BPF_F_LINK } else { 0 };
    let mut maps = Vec::new();
    for vsi in vars {
        let var_name = local.name(vsi.ty).to_string();
        let Some(type_id) = resolve_type(local, vsi.ty) else {
            return Err(StructOpsError::BadVarType { type_id: vsi.ty, sec: sec_name.to_string() });
        };
        let type_name = local.name(type_id).to_string();
        if type_name.is_empty() {
            return Err(StructOpsError::AnonType);
        }
        let Some(Kind::Struct(c)) = local.kind(type_id) else {
            return Err(StructOpsError::NotStruct { name: type_name });
        };
        let end = u64::from(vsi.offset) + u64::from(c.size);
        if end > sec_data.len() as u64 {
            return Err(StructOpsError::BeyondDatasec { var: var_name, sec: sec_name.to_string() });
        }
        maps.push(StructOpsMap {
            name: var_name,
            sec_name: sec_name.to_string(),
            sec_offset: vsi.offset,
            map_flags,
            type_id,
            type_name,
            data: sec_data[vsi.offset as usize..end as usize].to_vec(),
            progs: vec![None; c.members.len()],
        });
    }
    Ok(maps)
}

/// The map of section `sec_name` whose variable covers byte `offset`
/// (`find_struct_ops_map_by_offset`).
pub fn map_at_offset(maps: &[StructOpsMap], sec_name: &str, offset: u64) -> Option<usize> {
    maps.iter().position(|m| {
        let start = u64::from(m.sec_offset);
        m.sec_name == sec_name && offset >= start && offset < start + m.data.len() as u64
    })
}

/// Records that the relocation at `r_offset` of section `sec_name` points
/// at program `prog` (whose section makes it a struct_ops program iff
/// `prog_is_struct_ops`). Returns (map index, local member index).
pub fn bind_prog(
    local: &Btf,
    maps: &mut [StructOpsMap],
    sec_name: &str,
    r_offset: u64,
    prog: &str,
    prog_is_struct_ops: bool,
) -> Result<(usize, usize), StructOpsError> {
    let Some(mi) = map_at_offset(maps, sec_name, r_offset) else {
        return Err(StructOpsError::NoMapAtOffset { offset: r_offset });
    };
    let map = &mut maps[mi];
    // In range: r_offset lies inside the variable.
    let moff = (r_offset - u64::from(map.sec_offset)) as u32;
    let Some(Kind::Struct(c)) = local.kind(map.type_id) else {
        return Err(StructOpsError::NotStruct { name: map.type_name.clone() });
    };
    let Some(idx) = c.members.iter().position(|m| u64::from(m.bit_offset) == u64::from(moff) * 8) else {
        return Err(StructOpsError::NoMemberAtOffset { map: map.name.clone(), moff });
    };
    let member = &c.members[idx];
    let mname = local.str_at(member.name_off).to_string();
    if !is_func_ptr(local, member.ty) {
        return Err(StructOpsError::NotFuncPtr { map: map.name.clone(), member: mname });
    }
    if !prog_is_struct_ops {
        return Err(StructOpsError::NotStructOpsProg { map: map.name.clone(), prog: prog.to_string() });
    }
    map.progs[idx] = Some(prog.to_string());
    Ok((mi, idx))
}
