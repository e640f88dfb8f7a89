//! BPF maps: the common object ([`Map`]), the per-type operations
//! ([`MapOps`], the shape of the kernel's `struct bpf_map_ops` in
//! include/linux/bpf.h) and creation ([`create()`]).
//!
//! One file per map type. A map's values live at stable addresses for the
//! map's whole lifetime: programs hold raw pointers into them (the result
//! of `bpf_map_lookup_elem`), exactly as in the kernel. Every map is
//! `Sync`: in concurrent mode several threads (CPUs) run programs on it.
//!
//! Reference counting follows the kernel (kernel/bpf/syscall.c): the
//! `Arc` count is `refcnt` (fds, pins and programs that use the map), and
//! [`Map::usercnt`] counts user references only (fds and pins, see
//! [`crate::bpf::objects::MapUref`]); when it drops to zero the map type's
//! [`MapOps::release_uref`] runs (a prog_array clears itself then).

pub mod array;
pub mod array_of_maps;
pub mod bloom;
pub mod create;
mod fd_array;
pub mod hash;
pub mod lpm_trie;
pub mod percpu_array;
pub mod perf_event_array;
pub mod prog_array;
pub mod queue_stack;
pub mod ringbuf;
pub mod sockhash;
pub mod sockmap;
pub mod valmem;

use crate::bpf::objects::Obj;
use crate::bpf::prog::Prog;
use crate::errno::Errno;
use crate::uapi::MapType;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

pub use create::{MapCreateAttr, create};

/// What `BPF_MAP_CREATE` fixed for the map's lifetime (`struct bpf_map`'s
/// attributes as `bpf_map_init_from_attr()` copies them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapDef {
    pub map_type: MapType,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub numa_node: i32,
    pub name: String,
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    pub btf_vmlinux_value_type_id: u32,
    pub map_extra: u64,
}

/// One map. Shared as `Arc<Map>`; its address is what `ld_imm64` with
/// `BPF_PSEUDO_MAP_FD` loads after relocation, and what map helpers get
/// in r1.
pub struct Map {
    pub def: MapDef,
    pub id: u32,
    /// For map-in-map outer maps: the template inner maps must match
    /// (`bpf_map_meta_alloc()` in kernel/bpf/map_in_map.c).
    pub inner_meta: Option<MapDef>,
    frozen: AtomicBool,
    usercnt: AtomicU64,
    pub ops: Box<dyn MapOps>,
}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map").field("id", &self.id).field("def", &self.def).finish_non_exhaustive()
    }
}

impl Map {
    pub fn new(def: MapDef, id: u32, inner_meta: Option<MapDef>, ops: Box<dyn MapOps>) -> Map {
        Map { def, id, inner_meta, frozen: AtomicBool::new(false), usercnt: AtomicU64::new(0), ops }
    }

    pub fn map_type(&self) -> MapType {
        self.def.map_type
    }

    /// Whether `BPF_MAP_FREEZE` was applied: the syscall side may no longer
    /// write.
    pub fn is_frozen(&self) -> bool {
        self.frozen.load(Ordering::Acquire)
    }

    /// Marks the map frozen; `Err(EBUSY)` if it already is.
    pub fn freeze(&self) -> Result<(), Errno> {
        if self.frozen.swap(true, Ordering::AcqRel) { Err(Errno::EBUSY) } else { Ok(()) }
    }

    /// Current user reference count (fds and pins).
    pub fn usercnt(&self) -> u64 {
        self.usercnt.load(Ordering::Acquire)
    }

    pub(crate) fn inc_usercnt(&self) {
        self.usercnt.fetch_add(1, Ordering::AcqRel);
    }

    /// Drops a user reference; the last one runs `release_uref`.
    pub(crate) fn dec_usercnt(&self) {
        if self.usercnt.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.ops.release_uref();
        }
    }

    /// The address programs use for this map (what `BPF_PSEUDO_MAP_FD`
    /// relocates to).
    pub fn addr(&self) -> u64 {
        (self as *const Map).expose_provenance() as u64
    }

    /// Size of one value as the syscall side copies it: per-CPU maps copy
    /// `round_up(value_size, 8) * nr_cpus` bytes (`bpf_map_value_size()`).
    pub fn sys_value_size(&self, nr_cpus: u32) -> usize {
        if self.ops.is_percpu() {
            (self.def.value_size as usize).next_multiple_of(8) * nr_cpus as usize
        } else {
            self.def.value_size as usize
        }
    }
}

/// Per-type map operations. Defaults return what the kernel returns when a
/// map type lacks the operation (`-ENOTSUPP` / `-EOPNOTSUPP` / `-EINVAL`,
/// as noted on each).
///
/// "Program side" methods are what helpers call on behalf of a running
/// program (current CPU's copy of per-CPU values, `RunCtx`); "syscall side"
/// methods are what `bpf()` commands call (all CPUs' copies).
pub trait MapOps: Send + Sync + fmt::Debug {
    /// `bpf_map_lookup_elem` from a program: the address of the value (this
    /// CPU's copy for per-CPU maps), or `None`. The address stays valid for
    /// the map's lifetime.
    fn lookup(&self, key: &[u8]) -> Option<u64>;

    /// `BPF_MAP_LOOKUP_ELEM`: copies the value into `out`
    /// ([`Map::sys_value_size`] bytes).
    fn sys_lookup(&self, key: &[u8], out: &mut [u8], flags: u64) -> Result<(), Errno>;

    /// `bpf_map_update_elem` from a program (`value_size` bytes).
    fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), Errno>;

    /// `BPF_MAP_UPDATE_ELEM`: per-CPU maps take every CPU's value; others
    /// behave as [`MapOps::update`].
    fn sys_update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), Errno> {
        self.update(key, value, flags)
    }

    /// Delete from either side. Arrays: `-EINVAL`.
    fn delete(&self, key: &[u8]) -> Result<(), Errno>;

    /// `BPF_MAP_GET_NEXT_KEY`: the key after `key` (the first key for `None`
    /// or a key that is not present, as hash maps do), `-ENOENT` at the end.
    fn get_next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<(), Errno>;

    /// `BPF_MAP_LOOKUP_AND_DELETE_ELEM`; the kernel returns `-ENOTSUPP` for
    /// types without it.
    fn lookup_and_delete(&self, _key: &[u8], _out: &mut [u8], _flags: u64) -> Result<(), Errno> {
        Err(Errno::ENOTSUPP)
    }

    /// `map_push_elem` (queue, stack): `bpf_map_push_elem` and
    /// `BPF_MAP_UPDATE_ELEM`. Other types lack it (`EINVAL`; the verifier
    /// keeps programs from calling it on them).
    fn push(&self, _value: &[u8], _flags: u64) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    /// `map_pop_elem` (queue, stack): copies the element out and removes
    /// it; `EINVAL` for types without it.
    fn pop(&self, _out: &mut [u8]) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    /// `map_peek_elem` (queue, stack): copies the element out; `EINVAL` for
    /// types without it.
    fn peek(&self, _out: &mut [u8]) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    /// Whether values are per-CPU.
    fn is_percpu(&self) -> bool {
        false
    }

    /// Whether the syscall side stores fds (prog_array, map-in-map:
    /// `map_fd_get_ptr`); such maps take [`MapOps::fd_update`] and report
    /// object ids from [`MapOps::sys_lookup`].
    fn is_fd_map(&self) -> bool {
        false
    }

    /// `BPF_MAP_UPDATE_ELEM` on an fd map, with the fd already resolved to
    /// its object by the syscall layer.
    fn fd_update(&self, _key: &[u8], _obj: &Obj, _flags: u64) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    /// prog_array: the program in slot `index`, for `bpf_tail_call`.
    fn prog_at(&self, _index: u64) -> Option<Arc<Prog>> {
        None
    }

    /// Map-in-map: the inner map in the slot for `key`, for
    /// `bpf_map_lookup_elem` on the outer map.
    fn inner_map(&self, _key: &[u8]) -> Option<Arc<Map>> {
        None
    }

    /// `map_meta_equal`: whether `inner` may be stored in an outer map whose
    /// template is `meta`. `None` for types that cannot be inner maps (no
    /// `map_meta_equal` op: prog_array, struct_ops, map-in-map types...).
    fn meta_equal(&self, meta: &MapDef, inner: &MapDef) -> Option<bool>;

    /// `map_direct_value_addr`: address of offset `off` of the (single)
    /// value, for `BPF_PSEUDO_MAP_VALUE` loads; `-EINVAL` for types without.
    fn direct_value_addr(&self, _off: u32) -> Result<u64, Errno> {
        Err(Errno::EINVAL)
    }

    /// Runs when the last user reference (fd or pin) goes
    /// (`map_release_uref`).
    fn release_uref(&self) {}

    /// The host memory holding this map's values, as `(start, len,
    /// writable)` ranges, for checked-mode runs of programs that use the
    /// map (the interpreter validates every access against them). Map types
    /// whose values programs can reach (lookup results, direct value
    /// access) must report them: with the default (none), an unverified
    /// program touching a value fails with a memory violation. The ranges
    /// must stay valid for the map's lifetime (values never move).
    fn value_regions(&self) -> Vec<(u64, u64, bool)> {
        Vec::new()
    }

    /// `bpf_for_each_map_elem`: calls `f(key, value address)` per element
    /// until it returns `false`; returns the number of calls.
    fn for_each(&self, f: &mut dyn FnMut(&[u8], u64) -> bool) -> u32;

    /// The kernel struct name behind `map_btf_id` (`bpf_array`, `bpf_htab`).
    fn btf_name(&self) -> &'static str;

    /// Bytes of memory the map uses (`bpf_map_memory_usage`).
    fn mem_usage(&self) -> u64;

    /// The ring buffer behind a `BPF_MAP_TYPE_RINGBUF` map.
    fn as_ringbuf(&self) -> Option<&ringbuf::RingBuf> {
        None
    }

    /// The per-CPU buffers of a `BPF_MAP_TYPE_PERF_EVENT_ARRAY` map.
    fn as_perf_event_array(&self) -> Option<&perf_event_array::PerfEventArrayMap> {
        None
    }

    /// The sockets behind a `BPF_MAP_TYPE_SOCKMAP` or
    /// `BPF_MAP_TYPE_SOCKHASH` map.
    fn as_sockmap(&self) -> Option<&dyn sockmap::Socks> {
        None
    }
}

/// The fields two map definitions must share for one to stand in for the
/// other as an inner map (`bpf_map_meta_equal()` in kernel/bpf/map_in_map.c),
/// without max_entries.
pub fn meta_equal_common(meta: &MapDef, inner: &MapDef) -> bool {
    meta.map_type == inner.map_type
        && meta.key_size == inner.key_size
        && meta.value_size == inner.value_size
        && meta.map_flags == inner.map_flags
}

/// The loop of the `for_each` ops (`bpf_for_each_map_elem`): calls `f` on
/// each `(key, value address)` until it returns `false`; the number of
/// elements visited, the one that stopped the walk included.
pub(crate) fn for_each_elem<K: AsRef<[u8]>>(
    elems: impl IntoIterator<Item = (K, u64)>,
    f: &mut dyn FnMut(&[u8], u64) -> bool,
) -> u32 {
    let mut n = 0;
    for (k, addr) in elems {
        n += 1;
        if !f(k.as_ref(), addr) {
            break;
        }
    }
    n
}
