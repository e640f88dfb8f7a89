//! Access specs (libbpf's `struct bpf_core_spec`, `bpf_core_parse_spec`
//! and `bpf_core_format_spec` in `tools/lib/bpf/relo_core.c`).
//!
//! The raw spec is the parsed access string (`"0:1:2:3"` → `[0, 1, 2,
//! 3]`); the high-level spec keeps only the "turning points": the initial
//! index, named members and array indices. Anonymous struct/union members
//! appear in the raw spec only.
//!
//! Differences: indices are decimal digits only (libbpf's `sscanf("%d")`
//! also takes signs and leading blanks, and a negative index reads outside
//! the member array); an index that does not fit in `i32` is `EINVAL`.

use bpfemu_btf::{Btf, Kind};
use bpfemu_kernel::errno::Errno;

use super::kind::ReloKind;
use super::types::{self, View};

/// `BPF_CORE_SPEC_MAX_LEN`.
pub(crate) const SPEC_MAX_LEN: usize = 64;

/// One high-level step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Accessor {
    /// For a named member: the composite holding it; for an index: the
    /// element type; for an enumerator: the enum.
    pub type_id: u32,
    pub idx: u32,
    /// Member or enumerator name; `None` for an index.
    pub name: Option<String>,
}

/// A parsed (local) or matched (target) spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Spec {
    pub root_type_id: u32,
    pub kind: ReloKind,
    pub raw: Vec<u32>,
    pub acc: Vec<Accessor>,
    /// Bit offset of the accessed field from the root pointer.
    pub bit_offset: u64,
}

impl Spec {
    pub(crate) fn new(root_type_id: u32, kind: ReloKind) -> Self {
        Spec { root_type_id, kind, raw: Vec::new(), acc: Vec::new(), bit_offset: 0 }
    }
}

/// Why a spec did not parse: errno and a human reason.
pub(crate) type ParseErr = (Errno, String);

fn einval(why: impl Into<String>) -> ParseErr {
    (Errno::EINVAL, why.into())
}

/// `is_flex_arr`: an array of 0 elements that is the last member of the
/// struct named by the previous accessor.
pub(crate) fn is_flex_arr(btf: &Btf, prev: Option<&Accessor>, nelems: u32) -> bool {
    let Some(prev) = prev else { return false };
    if prev.name.is_none() || nelems > 0 {
        return false;
    }
    let Some(v) = types::ty(btf, prev.type_id) else { return false };
    let n = types::vlen(v);
    n > 0 && prev.idx as usize == n - 1
}

fn parse_access(s: &str) -> Result<Vec<u32>, ParseErr> {
    if s.is_empty() || s.starts_with(':') {
        return Err(einval("empty access string"));
    }
    let mut raw = Vec::new();
    for part in s.split(':') {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(einval(format!("bad access index '{part}'")));
        }
        let v: u32 =
            part.parse().ok().filter(|v| *v <= i32::MAX as u32).ok_or_else(|| einval("index too big"))?;
        if raw.len() == SPEC_MAX_LEN {
            return Err((Errno::E2BIG, "access string too long".into()));
        }
        raw.push(v);
    }
    Ok(raw)
}

fn size_of(btf: &Btf, id: u32) -> Result<u64, ParseErr> {
    types::resolve_size(btf, id).ok_or_else(|| einval(format!("type [{id}] has no size")))
}

/// `bpf_core_parse_spec`.
pub(crate) fn parse_spec(btf: &Btf, root: u32, kind: ReloKind, access: &str) -> Result<Spec, ParseErr> {
    if access.is_empty() || access.starts_with(':') {
        return Err(einval("empty access string"));
    }
    let mut spec = Spec::new(root, kind);
    if kind.is_type_based() {
        if access != "0" {
            return Err(einval("type relocations take access string \"0\""));
        }
        return Ok(spec);
    }
    spec.raw = parse_access(access)?;
    let (mut id, t) = types::skip(btf, root).ok_or_else(|| einval("invalid root type"))?;
    let first = spec.raw[0];
    spec.acc.push(Accessor { type_id: id, idx: first, name: None });

    if kind.is_enumval_based() {
        if !t.is_any_enum() || spec.raw.len() > 1 || first as usize >= types::vlen(t) {
            return Err(einval("not an enumerator of an enum"));
        }
        let off = types::enumerator_name_off(t, first as usize).unwrap_or(0);
        spec.acc[0].name = Some(btf.str_at(off).to_string());
        return Ok(spec);
    }

    let sz = size_of(btf, id)?;
    spec.bit_offset = u64::from(first).wrapping_mul(sz).wrapping_mul(8);
    for i in 1..spec.raw.len() {
        let (cur, t) = types::skip(btf, id).ok_or_else(|| einval("invalid type"))?;
        id = cur;
        let idx = spec.raw[i];
        if let Some(c) = t.composite() {
            let Some(m) = c.members.get(idx as usize) else {
                return Err(einval(format!("member #{idx} out of range")));
            };
            spec.bit_offset = spec.bit_offset.wrapping_add(u64::from(m.bit_offset));
            if m.name_off != 0 {
                let name = btf.str_at(m.name_off);
                if name.is_empty() {
                    return Err(einval("member with an invalid name"));
                }
                spec.acc.push(Accessor { type_id: id, idx, name: Some(name.to_string()) });
            }
            id = m.ty;
        } else if let Some(Kind::Array { elem, nelems, .. }) = t.kind() {
            let (eid, _) = types::skip(btf, *elem).ok_or_else(|| einval("invalid array element"))?;
            let flex = is_flex_arr(btf, spec.acc.last(), *nelems);
            if !flex && idx >= *nelems {
                return Err(einval(format!("index {idx} out of array bounds")));
            }
            id = eid;
            spec.acc.push(Accessor { type_id: eid, idx, name: None });
            let step = u64::from(idx).wrapping_mul(size_of(btf, eid)?).wrapping_mul(8);
            spec.bit_offset = spec.bit_offset.wrapping_add(step);
        } else {
            return Err(einval(format!(
                "relo for [{root}] {access} (at idx {i}) captures type [{id}] of unexpected kind {}",
                t.kind_str()
            )));
        }
    }
    Ok(spec)
}

/// `bpf_core_format_spec`:
/// `<kind> [id] kindname name.field[3] (0:1:3 @ offset 8)`.
pub(crate) fn format_spec(btf: &Btf, spec: &Spec) -> String {
    use std::fmt::Write;
    let id = spec.root_type_id;
    let t = types::ty(btf, id).unwrap_or(View::Void);
    let name = types::name(btf, id);
    let mut s = format!(
        "<{}> [{}] {} {}",
        spec.kind.name(),
        id,
        t.kind_str(),
        if name.is_empty() { "<anon>" } else { name }
    );
    if spec.kind.is_type_based() {
        return s;
    }
    if spec.kind.is_enumval_based() {
        let Some((_, et)) = types::skip(btf, id) else { return s };
        let idx = spec.raw.first().copied().unwrap_or(0) as usize;
        match et.kind() {
            Some(Kind::Enum { signed, values, .. }) => {
                if let Some(e) = values.get(idx) {
                    let v = if *signed { e.val.to_string() } else { (e.val as u32).to_string() };
                    let _ = write!(s, "::{} = {}", btf.str_at(e.name_off), v);
                }
            }
            Some(Kind::Enum64 { signed, values, .. }) => {
                if let Some(e) = values.get(idx) {
                    let v = if *signed { (e.val as i64).to_string() } else { e.val.to_string() };
                    let _ = write!(s, "::{} = {}", btf.str_at(e.name_off), v);
                }
            }
            _ => {}
        }
        return s;
    }
    for (i, a) in spec.acc.iter().enumerate() {
        match &a.name {
            Some(n) => {
                let _ = write!(s, ".{n}");
            }
            None if i > 0 || a.idx > 0 => {
                let _ = write!(s, "[{}]", a.idx);
            }
            None => {}
        }
    }
    let raw: Vec<String> = spec.raw.iter().map(|r| r.to_string()).collect();
    let _ = write!(s, " ({}", raw.join(":"));
    if !spec.bit_offset.is_multiple_of(8) {
        let _ = write!(s, " @ offset {}.{})", spec.bit_offset / 8, spec.bit_offset % 8);
    } else {
        let _ = write!(s, " @ offset {})", spec.bit_offset / 8);
    }
    s
}
