//! Matching a local spec against one target candidate
//! (`bpf_core_spec_match`, `bpf_core_match_member`,
//! `bpf_core_fields_are_compat` in `tools/lib/bpf/relo_core.c`).
//!
//! Fields are found by name, searching through anonymous struct/union
//! members depth-first in member order; the first member with the wanted
//! name decides (a type mismatch there is "no match", even if a later
//! anonymous member holds a compatible field of the same name). Array
//! indices must be in bounds unless the array is flexible.

use bpfemu_btf::{Btf, Kind};
use bpfemu_kernel::errno::Errno;

use super::cands::essential_name;
use super::compat::{types_are_compat, types_match};
use super::kind::ReloKind;
use super::spec::{Accessor, SPEC_MAX_LEN, Spec, is_flex_arr};
use super::types;

type R = Result<bool, Errno>;

/// `bpf_core_fields_are_compat`: whether a local member type can be
/// relocated to a target member type.
pub(crate) fn fields_are_compat(local: &Btf, mut lid: u32, target: &Btf, mut tid: u32) -> R {
    for _ in 0..32 {
        let (_, lt) = types::skip(local, lid).ok_or(Errno::EINVAL)?;
        let (_, tt) = types::skip(target, tid).ok_or(Errno::EINVAL)?;
        if lt.composite().is_some() && tt.composite().is_some() {
            return Ok(true);
        }
        if !types::kind_core_compat(lt, tt) {
            return Ok(false);
        }
        match (lt.kind(), tt.kind()) {
            (Some(Kind::Ptr { .. } | Kind::Float { .. }), _) => return Ok(true),
            (Some(Kind::Fwd { .. } | Kind::Enum { .. } | Kind::Enum64 { .. }), _) => {
                let ln = essential_name(local.str_at(lt.name_off()));
                let tn = essential_name(target.str_at(tt.name_off()));
                return Ok(ln.is_empty() || tn.is_empty() || ln == tn);
            }
            (Some(Kind::Int { offset: a, .. }), Some(Kind::Int { offset: b, .. })) => {
                return Ok(*a == 0 && *b == 0);
            }
            (Some(Kind::Array { elem: a, .. }), Some(Kind::Array { elem: b, .. })) => (lid, tid) = (*a, *b),
            _ => return Ok(false),
        }
    }
    Err(Errno::EINVAL)
}

/// `bpf_core_match_member`: finds the member named like local accessor
/// `lacc` in target composite `tid`, extending `spec`; returns the
/// member's type id on a match.
fn match_member(
    local: &Btf,
    lacc: &Accessor,
    target: &Btf,
    tid: u32,
    spec: &mut Spec,
    depth: usize,
) -> Result<Option<u32>, Errno> {
    if depth > SPEC_MAX_LEN {
        return Err(Errno::E2BIG);
    }
    let (tid, tt) = types::skip(target, tid).ok_or(Errno::EINVAL)?;
    let Some(tc) = tt.composite() else { return Ok(None) };
    let lc = types::ty(local, lacc.type_id).and_then(|v| v.composite()).ok_or(Errno::EINVAL)?;
    let lm = lc.members.get(lacc.idx as usize).ok_or(Errno::EINVAL)?;
    let lname = local.str_at(lm.name_off);
    for (i, m) in tc.members.iter().enumerate() {
        if spec.raw.len() == SPEC_MAX_LEN {
            return Err(Errno::E2BIG);
        }
        spec.bit_offset = spec.bit_offset.wrapping_add(u64::from(m.bit_offset));
        spec.raw.push(i as u32);
        let tname = target.str_at(m.name_off);
        if tname.is_empty() {
            if let Some(found) = match_member(local, lacc, target, m.ty, spec, depth + 1)? {
                return Ok(Some(found));
            }
        } else if tname == lname {
            spec.acc.push(Accessor { type_id: tid, idx: i as u32, name: Some(tname.to_string()) });
            if fields_are_compat(local, lm.ty, target, m.ty)? {
                return Ok(Some(m.ty));
            }
            spec.acc.pop();
            return Ok(None);
        }
        spec.bit_offset = spec.bit_offset.wrapping_sub(u64::from(m.bit_offset));
        spec.raw.pop();
    }
    Ok(None)
}

/// `bpf_core_spec_match`: `Ok(Some(spec))` if candidate `targ_id`
/// matches, `Ok(None)` if not, an errno on malformed input.
pub(crate) fn spec_match(
    local: &Btf,
    lspec: &Spec,
    target: &Btf,
    targ_id: u32,
) -> Result<Option<Spec>, Errno> {
    let mut ts = Spec::new(targ_id, lspec.kind);
    if lspec.kind.is_type_based() {
        let ok = if lspec.kind == ReloKind::TypeMatches {
            types_match(local, lspec.root_type_id, target, targ_id)?
        } else {
            types_are_compat(local, lspec.root_type_id, target, targ_id)?
        };
        return Ok(ok.then_some(ts));
    }
    let Some(lacc0) = lspec.acc.first() else { return Err(Errno::EINVAL) };
    if lspec.kind.is_enumval_based() {
        let (tid, tt) = types::skip(target, targ_id).ok_or(Errno::EINVAL)?;
        if !tt.is_any_enum() {
            return Ok(None);
        }
        let lname = essential_name(lacc0.name.as_deref().unwrap_or(""));
        for i in 0..types::vlen(tt) {
            let off = types::enumerator_name_off(tt, i).unwrap_or(0);
            let tname = target.str_at(off);
            if essential_name(tname) == lname {
                ts.acc.push(Accessor { type_id: tid, idx: i as u32, name: Some(tname.to_string()) });
                ts.raw.push(i as u32);
                return Ok(Some(ts));
            }
        }
        return Ok(None);
    }
    if !lspec.kind.is_field_based() {
        return Err(Errno::EINVAL);
    }
    let mut tid = targ_id;
    for (i, lacc) in lspec.acc.iter().enumerate() {
        let (cur, tt) = types::skip(target, tid).ok_or(Errno::EINVAL)?;
        tid = cur;
        if lacc.name.is_some() {
            match match_member(local, lacc, target, tid, &mut ts, 0)? {
                Some(next) => tid = next,
                None => return Ok(None),
            }
            continue;
        }
        if i > 0 {
            let Some(Kind::Array { elem, nelems, .. }) = tt.kind() else { return Ok(None) };
            let flex = is_flex_arr(target, ts.acc.last(), *nelems);
            if !flex && lacc.idx >= *nelems {
                return Ok(None);
            }
            tid = types::skip(target, *elem).ok_or(Errno::EINVAL)?.0;
        }
        if ts.raw.len() == SPEC_MAX_LEN {
            return Err(Errno::E2BIG);
        }
        ts.acc.push(Accessor { type_id: tid, idx: lacc.idx, name: None });
        ts.raw.push(lacc.idx);
        let sz = types::resolve_size(target, tid).ok_or(Errno::EINVAL)?;
        ts.bit_offset = ts.bit_offset.wrapping_add(u64::from(lacc.idx).wrapping_mul(sz).wrapping_mul(8));
    }
    Ok(Some(ts))
}
