//! The emulated kernel's own BTF (`/sys/kernel/btf/vmlinux`), generated
//! from the Rust definitions of its types.
//!
//! Kernel counterpart: the `.BTF` section pahole produces from vmlinux's
//! DWARF, loaded at boot by `btf_parse_vmlinux()` (kernel/bpf/btf.c) as the
//! BTF object named `vmlinux` with `kernel_btf` set.
//!
//! Each emulated kernel type is a `#[repr(C)]` Rust struct ([`types`]) that
//! implements [`BtfDescribe`]: it adds itself (and, first, what it refers
//! to) to a [`VmlinuxBuilder`] with member names and offsets taken from
//! `std::mem::offset_of!`, so the BTF cannot drift from the Rust layout.
//! [`vmlinux_btf`] builds everything in one fixed order: same ids, same
//! bytes every time.
//!
//! Emulated: the uapi program contexts and helper argument structs
//! (`__sk_buff`, `xdp_md`, `bpf_flow_keys`, `bpf_sock`, `bpf_sock_tuple`,
//! `bpf_spin_lock`), the int typedefs (`__u8`..`__s64`, `__be16`,
//! `__be32`, `__wsum`, `u8`..`u64`, `s8`..`s64`), and *subsets* of kernel
//! internal structs (`bpf_map`, the per-type map structs named by
//! [`MapOps::btf_name`](crate::map::MapOps::btf_name), `task_struct`):
//! only the fields programs read through CO-RE, at offsets of our own
//! choosing (CO-RE relocates them, so the kernel's offsets do not matter).
//! `bpf_sk_lookup`, network headers ([`net`]), the uapi enums programs
//! name ([`uapi_enums`]: `bpf_map_type`, `BPF_ANY`, `BPF_F_CURRENT_CPU`,
//! `SK_PASS`, `BPF_OK`, ...) and x86-64 `pt_regs` ([`regs`]) come after
//! the types above (`bpf_sk_lookup` before the map structs), so their ids
//! do not move.
//! The emulated kfuncs' FUNC and FUNC_PROTO entries are appended after
//! the types ([`crate::kfuncs::btf`]), then `struct bpf_dynptr` (added
//! later; last so that earlier ids keep their values), then the
//! traceable test functions of net/bpf/test_run.c with `struct
//! bpf_fentry_test_t` ([`crate::trampoline::btf`]: attach targets of
//! fentry/fexit/fmod_ret programs), then the struct_ops types
//! (`struct bpf_dummy_ops_state`, `struct bpf_dummy_ops` with the
//! FUNC_PROTOs of its members: [`struct_ops`]), then the BPF LSM hooks of
//! the bpf syscall with `union bpf_attr`, `struct bpf_prog`, `struct
//! bpf_token` and `fmode_t` ([`lsm`]: attach targets of LSM programs),
//! then the `btf_trace_<name>` typedefs of the emulated tracepoints
//! ([`tracepoints`]: targets of tp_btf programs), then `struct seq_file`,
//! `struct bpf_iter_meta`, `struct bpf_iter__bpf_map` and the FUNC
//! `bpf_iter_bpf_map` ([`iter`]: the target of iterator programs).
//! Not emulated: other functions (FUNC/FUNC_PROTO of other attach
//! targets), the other enums, and everything else of the real vmlinux.
//! Unnamed padding bitfields of the uapi headers (`__u32 :24;` in
//! `__sk_buff`, `__u16 :16;` in `bpf_sock`) are left out, as pahole does.

pub mod c;
pub mod iter;
pub mod lsm;
pub mod net;
pub mod regs;
pub mod struct_ops;
pub mod tracepoints;
pub mod types;
pub mod uapi_enums;

#[cfg(test)]
mod tests;

use crate::bpf::btf_obj::BtfObj;
use crate::bpf::objects::IdTable;
use bpfemu_btf::{Btf, BtfKind, Composite, Kind, Member, Type, TypeId};
use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

/// A Rust type that can describe itself in BTF.
pub trait BtfDescribe {
    /// Adds the type (once; later calls return the same id) and returns its
    /// id.
    fn describe(b: &mut VmlinuxBuilder) -> TypeId;
}

/// One member of a struct or union being described: name (`""` for an
/// anonymous member), type, byte offset, and an optional bitfield
/// `(bit offset within the byte offset, bits)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub ty: TypeId,
    pub offset: usize,
    pub bitfield: Option<(u32, u8)>,
}

impl Field {
    pub fn new(name: &'static str, ty: TypeId, offset: usize) -> Field {
        Field { name, ty, offset, bitfield: None }
    }

    /// A bitfield of `bits` bits starting `bit` bits after byte `offset`.
    pub fn bitfield(name: &'static str, ty: TypeId, offset: usize, bit: u32, bits: u8) -> Field {
        Field { name, ty, offset, bitfield: Some((bit, bits)) }
    }
}

/// Builds vmlinux BTF: a [`Btf`] plus the ids of named types already added.
#[derive(Debug, Default)]
pub struct VmlinuxBuilder {
    pub btf: Btf,
    named: BTreeMap<String, TypeId>,
}

impl VmlinuxBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `T`, describing it on first use.
    pub fn ty<T: BtfDescribe>(&mut self) -> TypeId {
        T::describe(self)
    }

    /// The id of the type cached under `key`, or the one `make` adds.
    pub fn once(&mut self, key: &str, make: impl FnOnce(&mut Self) -> TypeId) -> TypeId {
        if let Some(&id) = self.named.get(key) {
            return id;
        }
        let id = make(self);
        self.named.insert(key.to_owned(), id);
        id
    }

    /// A named struct (or union) of `size` bytes. Its id is reserved before
    /// `members` runs, so members may point back at it (`task_struct`'s
    /// `parent`).
    pub fn composite(
        &mut self,
        name: &str,
        union: bool,
        size: usize,
        members: impl FnOnce(&mut Self) -> Vec<Field>,
    ) -> TypeId {
        if let Some(&id) = self.named.get(name) {
            return id;
        }
        let name_off = self.btf.strings.intern(name);
        let id = self.btf.push(Type { name_off, kind: Kind::Fwd { is_union: union } });
        self.named.insert(name.to_owned(), id);
        let fields = members(self);
        let kind = self.composite_kind(union, size, &fields);
        self.btf.types[id as usize - 1].kind = kind;
        id
    }

    /// An anonymous struct or union (not cached: each call adds one).
    pub fn anon(&mut self, union: bool, size: usize, fields: &[Field]) -> TypeId {
        let kind = self.composite_kind(union, size, fields);
        self.btf.push(Type { name_off: 0, kind })
    }

    fn composite_kind(&mut self, union: bool, size: usize, fields: &[Field]) -> Kind {
        let kflag = fields.iter().any(|f| f.bitfield.is_some());
        let members = fields
            .iter()
            .map(|f| {
                let (bit, bits) = f.bitfield.unwrap_or((0, 0));
                Member {
                    name_off: self.btf.strings.intern(f.name),
                    ty: f.ty,
                    bit_offset: f.offset as u32 * 8 + bit,
                    bitfield_size: bits,
                }
            })
            .collect();
        let c = Composite { size: size as u32, kflag, members };
        if union { Kind::Union(c) } else { Kind::Struct(c) }
    }

    /// `T *`.
    pub fn ptr<T: BtfDescribe>(&mut self) -> TypeId {
        let t = self.ty::<T>();
        self.ptr_to(t)
    }

    /// A pointer to type `t` (one PTR per target).
    pub fn ptr_to(&mut self, t: TypeId) -> TypeId {
        self.once(&format!("*{t}"), |b| b.btf.add_ptr(t))
    }

    /// `T name[n]` element type: ARRAY of `n` `T`, indexed by `int`
    /// (pahole uses `int` as the index type).
    pub fn array<T: BtfDescribe>(&mut self, n: u32) -> TypeId {
        let elem = self.ty::<T>();
        let index = self.ty::<c::Int>();
        self.once(&format!("[{elem};{n}]"), |b| b.btf.add_array(elem, index, n))
    }

    /// `struct name *` for a struct that is only declared (`struct name;`).
    pub fn fwd_ptr(&mut self, name: &str) -> TypeId {
        let fwd = self.once(&format!("fwd {name}"), |b| b.btf.add_fwd(name, false));
        self.ptr_to(fwd)
    }

    /// `__bpf_md_ptr(T *, name)`: an anonymous 8-byte union holding the
    /// pointer, so the uapi layout does not depend on the pointer size.
    pub fn md_ptr<T: BtfDescribe>(&mut self, name: &'static str) -> TypeId {
        let p = self.ptr::<T>();
        self.anon(true, 8, &[Field::new(name, p, 0)])
    }

    pub fn finish(self) -> Btf {
        self.btf
    }
}

/// Struct names of the per-type map structs (`MapOps::btf_name`) that have
/// no richer Rust definition in [`types`]: each is described as
/// `struct NAME { struct bpf_map map; }` so `map_btf_id` lookups find it.
pub const MAP_STRUCT_SUBSETS: &[&str] = &[
    "bpf_htab",
    "bpf_ringbuf_map",
    "bpf_stack_map",
    "bpf_queue_stack",
    "bpf_bloom_filter",
    "lpm_trie",
    "bpf_local_storage_map",
    "bpf_cgroup_storage_map",
    "bpf_dtab",
    "bpf_cpu_map",
    "xsk_map",
    "bpf_stab",
    "bpf_shtab",
    "reuseport_array",
    "bpf_struct_ops_map",
    "bpf_arena",
];

/// The whole vmlinux BTF, built in a fixed order.
pub fn vmlinux_btf() -> Btf {
    use types::*;
    let mut b = VmlinuxBuilder::new();
    // Base types first, so `[1] INT 'int'` as in a real vmlinux.
    c::describe_base_types(&mut b);
    b.ty::<BpfSpinLock>();
    b.ty::<BpfFlowKeys>();
    b.ty::<BpfSock>();
    b.ty::<SkBuff>();
    b.ty::<XdpMd>();
    b.ty::<BpfSockTuple>();
    b.ty::<TaskStruct>();
    b.ty::<BpfMap>();
    b.ty::<BpfArray>();
    b.ty::<BpfSkLookup>();
    for name in MAP_STRUCT_SUBSETS {
        types::describe_map_subset(&mut b, name);
    }
    // Appended later (ids above keep their values).
    net::describe_all(&mut b);
    uapi_enums::describe_all(&mut b);
    b.ty::<regs::PtRegs>();
    crate::kfuncs::btf::describe_all(&mut b);
    // After the kfuncs so that their BTF ids stay as they were.
    b.ty::<BpfDynptr>();
    // The traceable test functions (fentry/fexit/fmod_ret targets), last.
    crate::trampoline::btf::describe_all(&mut b);
    // The struct_ops types (`bpf_dummy_ops`), appended after them.
    struct_ops::describe_all(&mut b);
    // The LSM hooks of the bpf syscall and their types, after those.
    lsm::describe_all(&mut b);
    // The tracepoints' `btf_trace_*` typedefs (tp_btf targets), last.
    tracepoints::describe_all(&mut b);
    // The bpf_map iterator target's types and FUNC, after those.
    iter::describe_all(&mut b);
    b.finish()
}

/// The vmlinux BTF and its encoding, built once per process.
static VMLINUX: LazyLock<(Arc<Btf>, Arc<Vec<u8>>)> = LazyLock::new(|| {
    let btf = vmlinux_btf();
    let data = btf.encode().expect("vmlinux BTF encodes");
    (Arc::new(btf), Arc::new(data))
});

/// The shared vmlinux BTF model.
pub fn shared() -> Arc<Btf> {
    VMLINUX.0.clone()
}

/// Registers the vmlinux BTF object in `btfs` (`btf_vmlinux`, the first
/// BTF id at boot).
pub fn load_into(btfs: &mut IdTable<BtfObj>) -> Arc<BtfObj> {
    let id = btfs.alloc().expect("first BTF id");
    let obj =
        Arc::new(BtfObj { id, data: VMLINUX.1.as_ref().clone(), name: "vmlinux".into(), kernel_btf: true });
    btfs.publish(id, &obj);
    obj
}

/// The BTF id of the struct `name` in `btf` (`map_btf_id` lookups).
pub fn struct_id(btf: &Btf, name: &str) -> Option<TypeId> {
    btf.find_by_name_kind(name, BtfKind::Struct)
}

/// The BTF id of the typedef `name` of the shared vmlinux BTF (the
/// `btf_trace_*` targets of tp_btf programs).
pub fn typedef_id(name: &str) -> Option<TypeId> {
    shared().find_by_name_kind(name, BtfKind::Typedef)
}

/// The BTF id of the function (FUNC) `name` of the shared vmlinux BTF.
pub fn func_id(name: &str) -> Option<TypeId> {
    shared().find_by_name_kind(name, BtfKind::Func)
}

/// The index of member `name` of the struct `btf_id` of `btf` (a
/// struct_ops program's `expected_attach_type`, as libbpf finds it).
pub fn member_index(btf: &Btf, btf_id: TypeId, name: &str) -> Option<u32> {
    let Some(Kind::Struct(c)) = btf.kind(btf_id) else { return None };
    c.members.iter().position(|m| btf.str_at(m.name_off) == name).and_then(|i| u32::try_from(i).ok())
}
