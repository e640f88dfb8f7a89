//! Candidate search: target types with the same "essential" name
//! (libbpf's `bpf_core_essential_name_len`, `bpf_core_add_cands`,
//! `bpf_core_find_cands` in `tools/lib/bpf/libbpf.c` / `relo_core.c`).
//!
//! The essential name drops a `___flavor` suffix: everything from the last
//! `X___Y` separator where X and Y are not underscores. Candidates are
//! target types, in id order, of the same kind as the (unstripped) local
//! root type — ENUM and ENUM64 count as one kind — whose essential name
//! equals the local one. Kernel module BTFs are not searched (the emulated
//! kernel has none).

use bpfemu_btf::Btf;

use super::types::{self, View};

fn is_flavor_sep(b: &[u8], i: usize) -> bool {
    b[i] != b'_' && b[i + 1] == b'_' && b[i + 2] == b'_' && b[i + 3] == b'_' && b[i + 4] != b'_'
}

/// `name` without its `___flavor` suffix (`task_struct___v1` →
/// `task_struct`; `a____b` and `___x` are kept whole).
pub fn essential_name(name: &str) -> &str {
    let b = name.as_bytes();
    if b.len() >= 5 {
        for i in (0..=b.len() - 5).rev() {
            if is_flavor_sep(b, i) {
                // The separator starts at an ASCII byte, so i + 1 is a
                // char boundary.
                return name.get(..i + 1).unwrap_or(name);
            }
        }
    }
    name
}

/// Target type ids whose kind and essential name match local type
/// `local_id`. An anonymous or dangling local type has none (libbpf fails
/// the search with `EINVAL`; see [`super::CoreError::CandidateSearch`]).
pub fn find_candidates(local: &Btf, local_id: u32, target: &Btf) -> Vec<u32> {
    let Some(lt) = types::ty(local, local_id) else { return Vec::new() };
    let lname = essential_name(types::name(local, local_id));
    if lname.is_empty() {
        return Vec::new();
    }
    target
        .iter()
        .filter(|(_, t)| types::kind_core_compat(View::Ty(t), lt))
        .filter(|(_, t)| {
            let n = target.str_at(t.name_off);
            !n.is_empty() && essential_name(n) == lname
        })
        .map(|(id, _)| id)
        .collect()
}
