//! Compiled images, their metadata, and the per-program shared part (the
//! interpreter's call table and resolver, the tail-call image cache).
//!
//! Kernel counterpart: `bpf_prog->bpf_func` plus the `jited_linfo`-like
//! slot → native offset map (`bpf_prog_fill_jited_linfo()`), and the
//! `prog_array` of JIT images a tail call jumps into. Images are never
//! modified after `finalize()` (W^X); an image reached by a tail call stays
//! in the cache of the [`JitProgram`](super::JitProgram) that reached it,
//! so code is freed only with that program, when no run can be using it.

use super::JitError;
use crate::Interpreter;
use crate::program::Program;
use dynasmrt::{AssemblyOffset, ExecutableBuffer};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// What run-time shims need to know of an image; its address is embedded
/// in the image's code (callback helper calls), so it lives behind an
/// `Arc` that the image owns.
#[derive(Debug)]
pub(super) struct Meta {
    /// Per slot: whether it starts an instruction (valid callback target).
    pub(super) is_start: Vec<bool>,
    /// Whether a run of this image may enter frames below frame 0
    /// (bpf2bpf calls, or tail calls/callx into images that do).
    pub(super) deep: bool,
    /// Trampoline address and native address of each slot, set once the
    /// code is finalized.
    pub(super) addrs: OnceLock<Addrs>,
}

#[derive(Debug)]
pub(super) struct Addrs {
    pub(super) entry: u64,
    pub(super) slots: Vec<u64>,
}

impl Meta {
    pub(super) fn addrs(&self) -> &Addrs {
        // Set by `compile_image` before the image is returned; nothing runs
        // an image before that.
        self.addrs.get().expect("image addresses are set at finalize")
    }
}

/// One finalized block of native code for one program.
pub(super) struct Image {
    pub(super) buf: ExecutableBuffer,
    pub(super) entry: AssemblyOffset,
    pub(super) offsets: Vec<usize>,
    pub(super) meta: Arc<Meta>,
    /// Images this one's patched entries jump into: alive as long as it is.
    #[expect(dead_code, reason = "held only to keep the replacement images mapped")]
    pub(super) keep: Vec<Arc<Image>>,
}

/// A tail-call target's image, or why it has none.
type Cached = Result<Arc<Image>, JitError>;

/// Shared by a program's runs and by every image its tail calls reach.
pub(super) struct Shared {
    pub(super) interp: Interpreter,
    /// Tail-call targets compiled so far, with the generation of their
    /// replacements ([`Program::replace`]) each image was built for; the
    /// `Arc<Program>` keeps the key's address from being reused.
    cache: Mutex<Vec<(Arc<Program>, u64, Cached)>>,
}

impl Shared {
    pub(super) fn new(interp: &Interpreter) -> Shared {
        Shared { interp: interp.clone(), cache: Mutex::new(Vec::new()) }
    }

    /// The image of tail-call target `p`, compiled on first use: with
    /// its function entries jumping to the images of the programs
    /// replacing them (freplace), recompiled when those change.
    pub(super) fn image_for(&self, p: &Arc<Program>) -> Cached {
        let (generation, reps) = p.replacements();
        {
            let c = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((_, _, img)) = c.iter().find(|(q, g, _)| Arc::ptr_eq(q, p) && *g == generation) {
                return img.clone();
            }
        }
        // Replacements are compiled first (without the lock: they are
        // tail-call-cache entries of their own).
        let mut patches = BTreeMap::new();
        for (slot, r) in reps {
            patches.insert(slot, self.image_for(&r)?);
        }
        let img = super::compile::compile_patched(p, &self.interp, &patches).map(Arc::new);
        let mut c = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        c.push((p.clone(), generation, img.clone()));
        img
    }
}
