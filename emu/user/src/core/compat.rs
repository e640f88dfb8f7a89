//! Type compatibility for type-based relocations
//! (`__bpf_core_types_are_compat`) and the stricter "match" relation of
//! `TYPE_MATCHES` (`__bpf_core_types_match`, `bpf_core_enums_match`,
//! `bpf_core_composites_match`, `bpf_core_names_match`), from
//! `tools/lib/bpf/relo_core.c`. Recursion is bounded as in libbpf (32
//! levels of pointers/arrays, 32 levels of nested parameters/members);
//! hitting a bound, a dangling id or a modifier loop is `EINVAL`.

use bpfemu_btf::{Btf, Kind};
use bpfemu_kernel::errno::Errno;

use super::cands::essential_name;
use super::types::{self, View};

const MAX_DEPTH: i32 = 32;
/// libbpf passes 32 as the initial `level` in user space.
const MAX_LEVEL: i32 = 32;

type R = Result<bool, Errno>;

fn skip(btf: &Btf, id: u32) -> Result<(u32, View<'_>), Errno> {
    types::skip(btf, id).ok_or(Errno::EINVAL)
}

/// Whether `local_id` and `targ_id` are compatible for `type_exists`,
/// `type_size`, `type_id_target` (callers already matched the names).
pub fn types_are_compat(local: &Btf, local_id: u32, target: &Btf, targ_id: u32) -> R {
    are_compat(local, local_id, target, targ_id, MAX_LEVEL)
}

fn are_compat(local: &Btf, mut lid: u32, target: &Btf, mut tid: u32, level: i32) -> R {
    let (Some(lt), Some(tt)) = (types::ty(local, lid), types::ty(target, tid)) else {
        return Err(Errno::EINVAL);
    };
    if !types::kind_core_compat(lt, tt) {
        return Ok(false);
    }
    for _ in 0..MAX_DEPTH {
        let (_, lt) = skip(local, lid)?;
        let (_, tt) = skip(target, tid)?;
        if !types::kind_core_compat(lt, tt) {
            return Ok(false);
        }
        match (lt.kind(), tt.kind()) {
            (None, _) => return Ok(true),
            (Some(Kind::Struct(_) | Kind::Union(_) | Kind::Enum { .. } | Kind::Fwd { .. }), _)
            | (Some(Kind::Enum64 { .. }), _) => return Ok(true),
            (Some(Kind::Int { offset: a, .. }), Some(Kind::Int { offset: b, .. })) => {
                return Ok(*a == 0 && *b == 0);
            }
            (Some(Kind::Ptr { ty: a }), Some(Kind::Ptr { ty: b })) => (lid, tid) = (*a, *b),
            (Some(Kind::Array { elem: a, .. }), Some(Kind::Array { elem: b, .. })) => (lid, tid) = (*a, *b),
            (
                Some(Kind::FuncProto { ret: lr, params: lp }),
                Some(Kind::FuncProto { ret: tr, params: tp }),
            ) => {
                if lp.len() != tp.len() {
                    return Ok(false);
                }
                for (a, b) in lp.iter().zip(tp) {
                    if level <= 0 {
                        return Err(Errno::EINVAL);
                    }
                    let (a, _) = skip(local, a.ty)?;
                    let (b, _) = skip(target, b.ty)?;
                    if !are_compat(local, a, target, b, level - 1)? {
                        return Ok(false);
                    }
                }
                lid = skip(local, *lr)?.0;
                tid = skip(target, *tr)?.0;
            }
            _ => return Ok(false),
        }
    }
    Err(Errno::EINVAL)
}

/// `bpf_core_names_match`: an anonymous target matches only an anonymous
/// local; otherwise the essential names must be equal.
fn names_match(local: &Btf, loff: u32, target: &Btf, toff: u32) -> bool {
    let (ln, tn) = (local.str_at(loff), target.str_at(toff));
    if tn.is_empty() {
        return ln.is_empty();
    }
    essential_name(ln) == essential_name(tn)
}

/// Whether `local_id` "matches" `targ_id` (`bpf_core_type_matches()`):
/// same kinds after modifiers, same integer size and signedness, every
/// local member / enumerator present by name in the target, function
/// prototypes of the same arity; behind a pointer, a struct also matches
/// a forward declaration of the same kind.
pub fn types_match(local: &Btf, local_id: u32, target: &Btf, targ_id: u32) -> R {
    matches(local, local_id, target, targ_id, false, MAX_LEVEL)
}

fn enums_match(local: &Btf, lt: View<'_>, target: &Btf, tt: View<'_>) -> bool {
    let size = |v: View<'_>| match v.kind() {
        Some(Kind::Enum { size, .. } | Kind::Enum64 { size, .. }) => *size,
        _ => 0,
    };
    if size(lt) != size(tt) {
        return false;
    }
    let (ln, tn) = (types::vlen(lt), types::vlen(tt));
    if ln > tn {
        return false;
    }
    (0..ln).all(|i| {
        let loff = types::enumerator_name_off(lt, i).unwrap_or(0);
        (0..tn).any(|j| names_match(local, loff, target, types::enumerator_name_off(tt, j).unwrap_or(0)))
    })
}

fn composites_match(
    local: &Btf,
    lt: View<'_>,
    target: &Btf,
    tt: View<'_>,
    behind_ptr: bool,
    level: i32,
) -> R {
    let (Some(lc), Some(tc)) = (lt.composite(), tt.composite()) else { return Ok(false) };
    if lc.members.len() > tc.members.len() {
        return Ok(false);
    }
    for lm in &lc.members {
        let mut matched = false;
        for tm in &tc.members {
            if !names_match(local, lm.name_off, target, tm.name_off) {
                continue;
            }
            if matches(local, lm.ty, target, tm.ty, behind_ptr, level - 1)? {
                matched = true;
                break;
            }
        }
        if !matched {
            return Ok(false);
        }
    }
    Ok(true)
}

fn matches(local: &Btf, mut lid: u32, target: &Btf, mut tid: u32, mut behind_ptr: bool, level: i32) -> R {
    if level <= 0 {
        return Err(Errno::EINVAL);
    }
    for _ in 0..MAX_DEPTH {
        let (_, lt) = skip(local, lid)?;
        let (_, tt) = skip(target, tid)?;
        if !names_match(local, lt.name_off(), target, tt.name_off()) {
            return Ok(false);
        }
        let (lk, tk) = (lt.kind_num(), tt.kind_num());
        match lt.kind() {
            None => return Ok(lk == tk),
            Some(Kind::Fwd { is_union: lf }) => {
                return Ok(match tt.kind() {
                    Some(Kind::Fwd { is_union: tf }) => lf == tf,
                    Some(Kind::Struct(_)) if behind_ptr => !lf,
                    Some(Kind::Union(_)) if behind_ptr => *lf,
                    _ => false,
                });
            }
            Some(Kind::Enum { .. } | Kind::Enum64 { .. }) => {
                return Ok(tt.is_any_enum() && enums_match(local, lt, target, tt));
            }
            Some(Kind::Struct(_) | Kind::Union(_)) => {
                let local_union = matches!(lt.kind(), Some(Kind::Union(_)));
                if behind_ptr {
                    if lk == tk {
                        return Ok(true);
                    }
                    return Ok(match tt.kind() {
                        Some(Kind::Fwd { is_union }) => local_union == *is_union,
                        _ => false,
                    });
                }
                if lk != tk {
                    return Ok(false);
                }
                return composites_match(local, lt, target, tt, behind_ptr, level);
            }
            Some(Kind::Int { size: ls, encoding: le, .. }) => {
                return Ok(match tt.kind() {
                    Some(Kind::Int { size: ts, encoding: te, .. }) => {
                        let signed = |e: &bpfemu_btf::IntEncoding| (*e as u8) & 1 != 0;
                        ls == ts && signed(le) == signed(te)
                    }
                    _ => false,
                });
            }
            Some(Kind::Ptr { ty: a }) => {
                let Some(Kind::Ptr { ty: b }) = tt.kind() else { return Ok(false) };
                behind_ptr = true;
                (lid, tid) = (*a, *b);
            }
            Some(Kind::Array { elem: a, nelems: an, .. }) => {
                let Some(Kind::Array { elem: b, nelems: bn, .. }) = tt.kind() else { return Ok(false) };
                if an != bn {
                    return Ok(false);
                }
                (lid, tid) = (*a, *b);
            }
            Some(Kind::FuncProto { ret: lr, params: lp }) => {
                let Some(Kind::FuncProto { ret: tr, params: tp }) = tt.kind() else { return Ok(false) };
                if lp.len() != tp.len() {
                    return Ok(false);
                }
                for (a, b) in lp.iter().zip(tp) {
                    if !matches(local, a.ty, target, b.ty, behind_ptr, level - 1)? {
                        return Ok(false);
                    }
                }
                (lid, tid) = (*lr, *tr);
            }
            Some(_) => return Ok(false),
        }
    }
    Err(Errno::EINVAL)
}
