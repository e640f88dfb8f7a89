//! A loaded program (`struct bpf_prog` + `bpf_prog_aux` of
//! include/linux/bpf.h): what `BPF_PROG_LOAD` produces and links, maps and
//! fds refer to.

use crate::map::Map;
use crate::uapi::{AttachType, ProgType};
use bpfemu_isa::Insn;
use bpfemu_vm::Program;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// One loaded program: its id, what the load pipeline produced
/// ([`ProgParts`], reachable directly through `Deref`: `prog.name`), and
/// the run statistics.
#[derive(Debug)]
pub struct Prog {
    pub id: u32,
    parts: ProgParts,
    run_cnt: AtomicU64,
    run_time_ns: AtomicU64,
    /// Runs skipped because the program was already running on the CPU
    /// (`bpf_prog_inc_misses_counter()`: a raw tracepoint fired inside
    /// one of its own probe runs).
    misses: AtomicU64,
    /// The native image when the program was jited at load
    /// ([`crate::bpf::jit`]); set once, right after the load.
    #[cfg(target_arch = "x86_64")]
    jit: std::sync::OnceLock<crate::bpf::jit::JitImage>,
    /// An extension's target from its load (`aux->dst_prog` with
    /// `dst_trampoline`, `saved_dst_prog_type`).
    pub ext_dst: parking_lot::Mutex<Option<ExtDst>>,
    /// The extensions linked into this program (freplace): their maps are
    /// the run's too. `has_exts` keeps runs without any lock-free.
    linked_exts: parking_lot::Mutex<Vec<Arc<Prog>>>,
    has_exts: std::sync::atomic::AtomicBool,
}

/// The target an extension was verified against at load: the program
/// until the first link without a target uses it (the kernel then drops
/// `dst_prog`), and the function with the program type and expected
/// attach type the extension was verified as (kept: a new target must
/// have the same).
#[derive(Debug)]
pub struct ExtDst {
    pub prog: Option<Arc<Prog>>,
    pub target: crate::progtype::ext::ExtTarget,
}

/// How many BTF func / line info records a program keeps, and their
/// sizes (0 when none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BtfCounts {
    pub nr_func_info: u32,
    pub func_info_rec_size: u32,
    pub nr_line_info: u32,
    pub line_info_rec_size: u32,
}

/// What the load pipeline fills in (everything but the id and the
/// counters).
#[derive(Debug)]
pub struct ProgParts {
    pub prog_type: ProgType,
    pub expected_attach_type: Option<AttachType>,
    pub name: String,
    /// `bpf_prog_calc_tag()`: the first 8 bytes of the SHA-256 of the
    /// instructions with map fds blanked (Linux 6.18; SHA-1 before).
    pub tag: [u8; 8],
    pub gpl_compatible: bool,
    /// Instructions as loaded (`orig_prog_insns`).
    pub insns: Vec<Insn>,
    /// Instructions after relocation and fix-ups (`xlated`).
    pub xlated: Vec<Insn>,
    /// The executable image.
    pub image: Arc<Program>,
    /// Maps the program uses (`used_maps`): it holds a `refcnt` on each.
    pub used_maps: Vec<Arc<Map>>,
    /// Virtual time of the load (`load_time`, ns since boot).
    pub load_time: u64,
    pub uid: u32,
    pub btf_id: u32,
    /// The func and line info records the load kept (`bpf_prog_info`'s
    /// `nr_func_info`, `func_info_rec_size`, `nr_line_info`,
    /// `line_info_rec_size`).
    pub btf_counts: BtfCounts,
    /// Whether the verifier proved the program safe (every program
    /// `BPF_PROG_LOAD` accepts; test fixtures may build unverified ones).
    /// Helpers trust the pointers a verified program passes them.
    pub verified: bool,
    /// Instructions the verifier processed (`verified_insns` of
    /// `bpf_prog_info`).
    pub verified_insns: u32,
    /// One past the highest ctx byte the program touches
    /// (`aux->max_ctx_offset`): a syscall program's test run needs at
    /// least that much ctx.
    pub max_ctx_offset: u32,
    /// The BTF id of the target function (`aux->attach_btf_id`): in
    /// vmlinux BTF for a tracing program, in the target program's BTF
    /// for an extension; 0 for none.
    pub attach_btf_id: u32,
    /// The program's BTF and func_info records, kept for programs that
    /// attach to this one (`aux->btf`, `aux->func_info`,
    /// `aux->func_info_aux`); `None` when the load had no func_info.
    pub func_btf: Option<Arc<FuncBtf>>,
}

/// What `bpf_check_attach_target()` reads from a target program: its
/// decoded BTF and, per func_info record, the FUNC id and whether the
/// BTF of that function is unreliable (`func_info_aux[i].unreliable`).
#[derive(Debug)]
pub struct FuncBtf {
    pub btf: Arc<bpfemu_btf::Btf>,
    pub funcs: Vec<FuncAux>,
}

/// One func_info record of a loaded program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FuncAux {
    /// `bpf_func_info.type_id`.
    pub type_id: u32,
    /// The function's entry in the image (`xlated`) slots.
    pub slot: usize,
    /// `func_info_aux[i].unreliable`: a static function (not verified
    /// against its prototype), a global one whose prototype
    /// `btf_prepare_func_args()` refused, or a main function whose
    /// prototype is not a single ctx argument (`do_check_common()`).
    pub unreliable: bool,
}

impl std::ops::Deref for Prog {
    type Target = ProgParts;

    fn deref(&self) -> &ProgParts {
        &self.parts
    }
}

impl Prog {
    pub fn new(id: u32, parts: ProgParts) -> Prog {
        Prog {
            id,
            parts,
            run_cnt: AtomicU64::new(0),
            run_time_ns: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            #[cfg(target_arch = "x86_64")]
            jit: std::sync::OnceLock::new(),
            ext_dst: parking_lot::Mutex::new(None),
            linked_exts: parking_lot::Mutex::new(Vec::new()),
            has_exts: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Compiles the program with the JIT (`bpf_prog_select_runtime()`):
    /// only a verified program, once; whether it is jited afterwards.
    pub fn select_runtime(&self) -> bool {
        #[cfg(target_arch = "x86_64")]
        if self.verified
            && self.jit.get().is_none()
            && let Some(j) = crate::bpf::jit::select_runtime(&self.image, &self.used_maps)
        {
            let _ = self.jit.set(j);
        }
        self.jited_len() != 0
    }

    /// Records `ext` as linked into this program (`add`) or unlinked.
    pub fn set_linked_ext(&self, ext: &Arc<Prog>, add: bool) {
        let mut v = self.linked_exts.lock();
        if add {
            v.push(ext.clone());
        } else if let Some(i) = v.iter().position(|p| Arc::ptr_eq(p, ext)) {
            v.remove(i);
        }
        self.has_exts.store(!v.is_empty(), Ordering::Release);
    }

    /// The maps a run of this program may reach: its `used_maps`, then
    /// those of the extensions linked into it.
    pub fn run_maps(&self) -> std::borrow::Cow<'_, [Arc<Map>]> {
        if !self.has_exts.load(Ordering::Acquire) {
            return std::borrow::Cow::Borrowed(&self.used_maps);
        }
        let mut maps = self.used_maps.clone();
        for e in self.linked_exts.lock().iter() {
            for m in &e.used_maps {
                if !maps.iter().any(|x| Arc::ptr_eq(x, m)) {
                    maps.push(m.clone());
                }
            }
        }
        std::borrow::Cow::Owned(maps)
    }

    /// The jited image, if any.
    #[cfg(target_arch = "x86_64")]
    pub fn jited(&self) -> Option<&crate::bpf::jit::JitImage> {
        self.jit.get()
    }

    /// Size of the native image in bytes (`jited_prog_len`); 0 when not
    /// jited.
    pub fn jited_len(&self) -> usize {
        #[cfg(target_arch = "x86_64")]
        if let Some(j) = self.jit.get() {
            return j.code().len();
        }
        0
    }

    /// Records one run (`bpf_prog_stats`); virtual nanoseconds.
    pub fn account_run(&self, ns: u64) {
        self.run_cnt.fetch_add(1, Ordering::Relaxed);
        self.run_time_ns.fetch_add(ns, Ordering::Relaxed);
    }

    pub fn run_cnt(&self) -> u64 {
        self.run_cnt.load(Ordering::Relaxed)
    }

    pub fn run_time_ns(&self) -> u64 {
        self.run_time_ns.load(Ordering::Relaxed)
    }

    /// `bpf_prog_inc_misses_counter()`.
    pub fn inc_misses(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    /// `recursion_misses` of `bpf_prog_info`.
    pub fn recursion_misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// The tag as bpftool prints it (16 hex digits).
    pub fn tag_hex(&self) -> String {
        self.tag.iter().map(|b| format!("{b:02x}")).collect()
    }
}
