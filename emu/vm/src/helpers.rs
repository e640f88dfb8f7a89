//! What a program can call out to: helpers by id, kfuncs by BTF id, and the
//! tail-call resolver.
//!
//! Kernel counterpart: the helper table behind `BPF_CALL_x` and
//! `__bpf_call_base + imm` (the verifier's `do_misc_fixups()` turns helper
//! ids into addresses), kfunc descriptors (`bpf_kfunc_desc`, by BTF id),
//! and `bpf_tail_call()`'s `prog_array` lookup in `JMP_TAIL_CALL`
//! (kernel/bpf/core.c). Here the kernel crate registers plain
//! `extern "C" fn`s and a resolver object; the interpreter does no
//! argument checking (that is the verifier's job).

use crate::program::Program;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// A helper or kfunc: five register arguments, one result (the BPF calling
/// convention, r1..r5 → r0).
pub type HelperFn = extern "C" fn(u64, u64, u64, u64, u64) -> u64;

/// Looks up the target of a tail call: `map` is r2 (the prog-array handle
/// the loader put there), `index` is the low 32 bits of r3 (the kernel reads
/// `u32 index = BPF_R3`). `None` when the index is out of range or the slot
/// is empty.
pub trait TailCallResolver: Send + Sync {
    fn resolve(&self, map: u64, index: u64) -> Option<Arc<Program>>;
}

/// Helper ids below this live in a dense table (today's uapi has ~210).
const DENSE: usize = 1024;

/// A registered helper: the function, and whether it may call back into
/// the program ([`crate::call_callback`]), which makes the run publish its
/// re-entry context around the call.
#[derive(Clone, Copy)]
pub(crate) struct Helper {
    pub(crate) f: HelperFn,
    pub(crate) callbacks: bool,
}

/// Called after every helper (except those taking callbacks) and kfunc
/// call returns, by both engines, while `armed` is set: where the
/// simulated kernel lets another simulated CPU run (interleaving points of
/// scenario `concurrent` blocks). Unarmed, a call pays one relaxed load.
#[derive(Clone, Copy, Debug)]
pub struct AfterCall {
    pub armed: &'static AtomicBool,
    pub hook: extern "C" fn(),
}

/// Helpers by id (dense for small ids) and kfuncs by BTF id.
#[derive(Clone, Default)]
pub(crate) struct CallTable {
    dense: Vec<Option<Helper>>,
    sparse: BTreeMap<i64, Helper>,
    kfuncs: BTreeMap<i32, HelperFn>,
    pub(crate) after_call: Option<AfterCall>,
}

impl CallTable {
    pub(crate) fn set_helper(&mut self, id: i32, f: HelperFn, callbacks: bool) {
        let f = Helper { f, callbacks };
        match usize::try_from(id) {
            Ok(i) if i < DENSE => {
                if self.dense.len() <= i {
                    self.dense.resize(i + 1, None);
                }
                self.dense[i] = Some(f);
            }
            _ => {
                self.sparse.insert(id.into(), f);
            }
        }
    }

    pub(crate) fn set_kfunc(&mut self, btf_id: i32, f: HelperFn) {
        self.kfuncs.insert(btf_id, f);
    }

    /// The helper registered for `id` (i64 so that `callx` register values
    /// outside the i32 range simply find nothing).
    #[inline]
    pub(crate) fn helper(&self, id: i64) -> Option<Helper> {
        match usize::try_from(id) {
            Ok(i) if i < DENSE => self.dense.get(i).copied().flatten(),
            _ => self.sparse.get(&id).copied(),
        }
    }

    #[inline]
    pub(crate) fn kfunc(&self, btf_id: i32) -> Option<HelperFn> {
        self.kfuncs.get(&btf_id).copied()
    }
}

impl fmt::Debug for CallTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let helpers: Vec<i64> = (0..self.dense.len())
            .filter(|&i| self.dense[i].is_some())
            .map(|i| i as i64)
            .chain(self.sparse.keys().copied())
            .collect();
        f.debug_struct("CallTable")
            .field("helpers", &helpers)
            .field("kfuncs", &self.kfuncs.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    extern "C" fn one(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
        1
    }

    #[test]
    fn dense_and_sparse_ids() {
        let mut t = CallTable::default();
        t.set_helper(5, one, false);
        t.set_helper(100_000, one, true);
        t.set_helper(-3, one, false);
        t.set_kfunc(77, one);
        assert!(t.helper(5).is_some());
        assert!(t.helper(4).is_none());
        assert!(t.helper(2000).is_none());
        assert!(t.helper(100_000).is_some_and(|h| h.callbacks));
        assert!(t.helper(5).is_some_and(|h| !h.callbacks));
        assert!(t.helper(-3).is_some());
        assert!(t.helper(1 << 40).is_none());
        assert!(t.kfunc(77).is_some());
        assert!(t.kfunc(5).is_none());
        assert_eq!(format!("{t:?}"), "CallTable { helpers: [5, -3, 100000], kfuncs: [77] }");
    }
}
