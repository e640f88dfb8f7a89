//! Computing relocation values and choosing among candidates
//! (`bpf_core_calc_field_relo`, `bpf_core_calc_type_relo`,
//! `bpf_core_calc_enumval_relo`, `bpf_core_calc_relo`,
//! `bpf_core_calc_relo_insn` in `tools/lib/bpf/relo_core.c`;
//! `bpf_core_resolve_relo` in `tools/lib/bpf/libbpf.c`).

use std::collections::BTreeMap;

use bpfemu_btf::{Btf, IntEncoding, Kind};

use super::cands::find_candidates;
use super::error::CoreError;
use super::kind::ReloKind;
use super::matching::spec_match;
use super::spec::{Spec, format_spec, parse_spec};
use super::types::{self, View};
use super::{CoreRelo, Resolution};

/// Why a value could not be computed.
enum CalcErr {
    /// libbpf's `-EUCLEAN`: poison the instruction.
    Poison,
    Fail(CoreError),
}

#[derive(Default)]
struct Val {
    val: u64,
    sz: u32,
    type_id: u32,
}

fn size_err(relo: &CoreRelo, what: String) -> CalcErr {
    CalcErr::Fail(CoreError::Size { relo: relo.relo_idx, what })
}

/// `bpf_core_calc_field_relo`; `validate` is only computed for the local
/// spec.
fn calc_field(btf: &Btf, relo: &CoreRelo, spec: Option<&Spec>, validate: &mut bool) -> Result<Val, CalcErr> {
    let mut out = Val::default();
    if relo.kind == ReloKind::FieldExists {
        out.val = u64::from(spec.is_some());
        return Ok(out);
    }
    let Some(spec) = spec else { return Err(CalcErr::Poison) };
    let Some(acc) = spec.acc.last() else { return Err(size_err(relo, "empty spec".into())) };
    if acc.name.is_none() {
        let sz = types::resolve_size(btf, acc.type_id)
            .ok_or_else(|| size_err(relo, format!("type [{}] has no size", acc.type_id)))?;
        match relo.kind {
            ReloKind::FieldByteOffset => {
                out.val = spec.bit_offset / 8;
                out.sz = sz as u32;
                out.type_id = acc.type_id;
            }
            ReloKind::FieldByteSize => out.val = sz,
            kind => {
                return Err(CalcErr::Fail(CoreError::ArrayAccess {
                    relo: relo.relo_idx,
                    kind,
                    insn: relo.insn_idx,
                }));
            }
        }
        *validate = true;
        return Ok(out);
    }
    let parent = types::ty(btf, acc.type_id).and_then(View::composite);
    let Some(m) = parent.and_then(|c| c.members.get(acc.idx as usize)) else {
        return Err(size_err(relo, "accessor does not name a member".into()));
    };
    let bit_sz_field = parent.map(|c| types::member_bitfield_size(c, acc.idx as usize)).unwrap_or(0);
    let (field_type_id, mt) =
        types::skip(btf, m.ty).ok_or_else(|| size_err(relo, format!("member type [{}] is invalid", m.ty)))?;
    let bit_off = spec.bit_offset;
    let bitfield = bit_sz_field > 0;
    let (byte_off, byte_sz, bit_sz);
    if bitfield {
        bit_sz = u64::from(bit_sz_field);
        let mut sz = match mt.kind() {
            Some(Kind::Int { size, .. } | Kind::Enum { size, .. } | Kind::Enum64 { size, .. }) => {
                u64::from(*size)
            }
            _ => 0,
        };
        if sz == 0 {
            return Err(size_err(relo, "bitfield of a type without size".into()));
        }
        let mut off = bit_off / 8 / sz * sz;
        while bit_off.wrapping_add(bit_sz).wrapping_sub(off * 8) > sz * 8 {
            if sz >= 8 {
                return Err(CalcErr::Fail(CoreError::Bitfield {
                    relo: relo.relo_idx,
                    kind: relo.kind,
                    insn: relo.insn_idx,
                }));
            }
            sz *= 2;
            off = bit_off / 8 / sz * sz;
        }
        (byte_off, byte_sz) = (off, sz);
    } else {
        let sz = types::resolve_size(btf, field_type_id)
            .ok_or_else(|| size_err(relo, format!("field type [{field_type_id}] has no size")))?;
        (byte_off, byte_sz, bit_sz) = (bit_off / 8, sz, sz.wrapping_mul(8));
    }
    *validate = !bitfield;
    match relo.kind {
        ReloKind::FieldByteOffset => {
            out.val = byte_off;
            if !bitfield {
                out.sz = byte_sz as u32;
                out.type_id = field_type_id;
            }
        }
        ReloKind::FieldByteSize => out.val = byte_sz,
        ReloKind::FieldSigned => {
            out.val = u64::from(match mt.kind() {
                Some(Kind::Enum { signed, .. } | Kind::Enum64 { signed, .. }) => *signed,
                Some(Kind::Int { encoding, .. }) => *encoding == IntEncoding::Signed,
                _ => false,
            });
            *validate = true;
        }
        ReloKind::FieldLshiftU64 => {
            // u32 arithmetic in C; the same wrap-around here.
            let used = (bit_off.wrapping_add(bit_sz).wrapping_sub(byte_off.wrapping_mul(8))) as u32;
            out.val = u64::from(64u32.wrapping_sub(used));
        }
        ReloKind::FieldRshiftU64 => {
            out.val = u64::from(64u32.wrapping_sub(bit_sz as u32));
            *validate = true;
        }
        _ => return Err(size_err(relo, "not a field relocation".into())),
    }
    Ok(out)
}

/// `bpf_core_calc_type_relo`.
fn calc_type(btf: &Btf, relo: &CoreRelo, spec: Option<&Spec>, validate: &mut bool) -> Result<u64, CalcErr> {
    *validate = true;
    let Some(spec) = spec else { return Ok(0) };
    Ok(match relo.kind {
        ReloKind::TypeIdTarget => {
            *validate = false;
            u64::from(spec.root_type_id)
        }
        ReloKind::TypeExists | ReloKind::TypeMatches => 1,
        ReloKind::TypeSize => types::resolve_size(btf, spec.root_type_id)
            .ok_or_else(|| size_err(relo, format!("type [{}] has no size", spec.root_type_id)))?,
        _ => return Err(size_err(relo, "not a type relocation".into())),
    })
}

/// `bpf_core_calc_enumval_relo`.
fn calc_enumval(btf: &Btf, relo: &CoreRelo, spec: Option<&Spec>) -> Result<u64, CalcErr> {
    match relo.kind {
        ReloKind::EnumvalExists => Ok(u64::from(spec.is_some())),
        ReloKind::EnumvalValue => {
            let Some(spec) = spec else { return Err(CalcErr::Poison) };
            let acc = spec.acc.first().ok_or_else(|| size_err(relo, "empty spec".into()))?;
            let v = match types::ty(btf, acc.type_id).and_then(View::kind) {
                Some(Kind::Enum { values, .. }) => {
                    values.get(acc.idx as usize).map(|e| i64::from(e.val) as u64)
                }
                Some(Kind::Enum64 { values, .. }) => values.get(acc.idx as usize).map(|e| e.val),
                _ => None,
            };
            v.ok_or_else(|| size_err(relo, "enumerator out of range".into()))
        }
        _ => Err(size_err(relo, "not an enumval relocation".into())),
    }
}

/// `bpf_core_calc_relo`: the values for the local spec and one target
/// spec (or none).
fn calc_relo(
    local: &Btf,
    target: &Btf,
    relo: &CoreRelo,
    lspec: &Spec,
    tspec: Option<&Spec>,
) -> Result<Resolution, CoreError> {
    let mut res = Resolution { validate: true, ..Resolution::default() };
    let mut ignored = false;
    let outcome: Result<(), CalcErr> = if relo.kind.is_field_based() {
        (|| {
            let o = calc_field(local, relo, Some(lspec), &mut res.validate)?;
            (res.orig, res.orig_sz, res.orig_type_id) = (o.val, o.sz, o.type_id);
            let n = calc_field(target, relo, tspec, &mut ignored)?;
            (res.new, res.new_sz, res.new_type_id) = (n.val, n.sz, n.type_id);
            Ok(())
        })()
    } else if relo.kind.is_type_based() {
        (|| {
            res.orig = calc_type(local, relo, Some(lspec), &mut res.validate)?;
            res.new = calc_type(target, relo, tspec, &mut ignored)?;
            Ok(())
        })()
    } else {
        (|| {
            res.orig = calc_enumval(local, relo, Some(lspec))?;
            res.new = calc_enumval(target, relo, tspec)?;
            Ok(())
        })()
    };
    match outcome {
        Ok(()) => {}
        Err(CalcErr::Poison) => {
            res.poison = true;
            return Ok(res);
        }
        Err(CalcErr::Fail(e)) => return Err(e),
    }
    if relo.kind.is_field_based() && res.orig_sz != res.new_sz {
        let o = types::ty(local, res.orig_type_id).and_then(View::kind);
        let n = types::ty(target, res.new_type_id).and_then(View::kind);
        let unsigned = |k: Option<&Kind>| match k {
            Some(Kind::Int { encoding, .. }) => *encoding != IntEncoding::Signed,
            _ => false,
        };
        let both_ptr = matches!((o, n), (Some(Kind::Ptr { .. }), Some(Kind::Ptr { .. })));
        res.fail_memsz_adjust = !(both_ptr || (unsigned(o) && unsigned(n)));
    }
    Ok(res)
}

fn state(poison: bool) -> &'static str {
    if poison { "failure" } else { "success" }
}

/// The whole resolution of one relocation, with the per-object candidate
/// cache `cache` (local root id → remaining target candidates).
pub(crate) fn resolve_relo(
    local: &Btf,
    target: &Btf,
    cache: &mut BTreeMap<u32, Vec<u32>>,
    relo: &CoreRelo,
) -> Result<Resolution, CoreError> {
    let r = relo.relo_idx;
    let local_id = relo.type_id;
    let Some(lt) = types::ty(local, local_id) else {
        return Err(CoreError::BadTypeId { relo: r, type_id: local_id });
    };
    let lname = types::name(local, local_id);
    if relo.kind != ReloKind::TypeIdLocal && !cache.contains_key(&local_id) {
        if lname.is_empty() {
            return Err(CoreError::CandidateSearch {
                relo: r,
                type_id: local_id,
                kind_name: lt.kind_str(),
                name: lname.to_string(),
            });
        }
        cache.insert(local_id, find_candidates(local, local_id, target));
    }
    let lspec =
        parse_spec(local, local_id, relo.kind, &relo.access).map_err(|(errno, reason)| CoreError::Parse {
            relo: r,
            type_id: local_id,
            kind_name: lt.kind_str(),
            name: if lname.is_empty() { "<anon>".into() } else { lname.to_string() },
            access: relo.access.clone(),
            reason,
            errno,
        })?;
    let local_spec = format_spec(local, &lspec);
    if relo.kind == ReloKind::TypeIdLocal {
        let id = u64::from(local_id);
        return Ok(Resolution { orig: id, new: id, local_spec, ..Resolution::default() });
    }
    let cands = cache.get(&local_id).cloned().unwrap_or_default();
    let mut kept = Vec::new();
    let mut best: Option<(Resolution, Spec)> = None;
    for (i, &cand) in cands.iter().enumerate() {
        let tspec = match spec_match(local, &lspec, target, cand) {
            Ok(Some(s)) => s,
            Ok(None) => continue,
            Err(errno) => {
                let spec = format_spec(target, &Spec::new(cand, relo.kind));
                return Err(CoreError::CandidateMatch { relo: r, cand: i, spec, errno });
            }
        };
        let res = calc_relo(local, target, relo, &lspec, Some(&tspec))?;
        match &best {
            None => best = Some((res, tspec)),
            Some((b, bs)) => {
                if tspec.bit_offset != bs.bit_offset {
                    return Err(CoreError::FieldOffsetAmbiguity {
                        relo: r,
                        a: tspec.bit_offset,
                        b: bs.bit_offset,
                    });
                }
                if res.poison != b.poison || res.new != b.new {
                    return Err(CoreError::DecisionAmbiguity {
                        relo: r,
                        a_state: state(res.poison),
                        a: res.new,
                        b_state: state(b.poison),
                        b: b.new,
                    });
                }
            }
        }
        kept.push(cand);
    }
    let candidates = cands.len();
    let mut res = match best {
        Some((mut res, tspec)) => {
            res.target_type_id = tspec.root_type_id;
            res.target_spec = Some(format_spec(target, &tspec));
            cache.insert(local_id, kept);
            res
        }
        None => calc_relo(local, target, relo, &lspec, None)?,
    };
    res.candidates = candidates;
    res.local_spec = local_spec;
    Ok(res)
}
