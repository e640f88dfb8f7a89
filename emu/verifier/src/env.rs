//! What the verifier is given: the relocated program, what each pseudo
//! `ld_imm64` referred to, the maps it uses, the program type's rules
//! (the shape of `struct bpf_verifier_ops` in include/linux/bpf.h) and the
//! loader's privileges.
//!
//! The kernel verifier reads these from `struct bpf_verifier_env`
//! (`env->prog`, `env->used_maps`, `insn_aux_data[].map_index`,
//! `env->ops`, `env->bpf_capable`); here the kernel crate builds a
//! [`VerifyInput`] in `BPF_PROG_LOAD` and the verifier never reaches back
//! into the kernel.

use crate::proto::FuncProto;
use bpfemu_isa::Insn;

/// uapi `enum bpf_map_type` values the verifier treats specially.
pub mod map_type {
    pub const HASH: u32 = 1;
    pub const ARRAY: u32 = 2;
    pub const PROG_ARRAY: u32 = 3;
    pub const PERF_EVENT_ARRAY: u32 = 4;
    pub const PERCPU_HASH: u32 = 5;
    pub const PERCPU_ARRAY: u32 = 6;
    pub const LRU_HASH: u32 = 9;
    pub const LRU_PERCPU_HASH: u32 = 10;
    pub const ARRAY_OF_MAPS: u32 = 12;
    pub const HASH_OF_MAPS: u32 = 13;
    pub const SOCKMAP: u32 = 15;
    pub const SOCKHASH: u32 = 18;
    pub const QUEUE: u32 = 22;
    pub const STACK: u32 = 23;
    pub const RINGBUF: u32 = 27;
    pub const BLOOM_FILTER: u32 = 30;
}

/// One map the program uses (an entry of `env->used_maps`), with what
/// the verifier needs to know of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapInfo {
    /// uapi map type ([`map_type`]).
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    /// The map's name (for messages).
    pub name: String,
    /// The program may not write its values (`BPF_F_RDONLY_PROG`, or a
    /// frozen read-only map): value pointers are `MEM_RDONLY`.
    pub rdonly_prog: bool,
    /// Values read through a direct value load are constants the
    /// verifier may use (a frozen `BPF_F_RDONLY_PROG` map, as
    /// `bpf_map_is_rdonly()`); the bytes of element 0.
    pub const_value: Option<Vec<u8>>,
    /// The address a level-2 log prints for a pseudo load of this map
    /// (`print_bpf_insn()` prints the `struct bpf_map *` that
    /// `resolve_pseudo_ldimm64()` stored). The emulator's host address
    /// changes between runs, so the kernel crate passes a deterministic
    /// stand-in; 0 when unknown.
    pub log_addr: u64,
    /// The map was created with BTF (`map->btf`: a key, value or vmlinux
    /// value type id was given).
    pub has_btf: bool,
    /// Offset of the `struct bpf_spin_lock` in the value (from the map's
    /// BTF), if any.
    pub spin_lock_off: Option<u32>,
    /// Offset of the `struct bpf_timer` in the value, if any.
    pub timer_off: Option<u32>,
    /// For map-in-map types: the inner map's template
    /// (`inner_map_meta`); a lookup yields a pointer to such a map.
    pub inner: Option<Box<MapInfo>>,
}

/// What a pseudo `ld_imm64` at `slot` loaded (the kernel keeps this in
/// `insn_aux_data[slot]` after `resolve_pseudo_ldimm64()`); the relocated
/// instruction itself holds the runtime address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PseudoLoad {
    pub slot: usize,
    pub kind: PseudoKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PseudoKind {
    /// `BPF_PSEUDO_MAP_FD` / `_IDX`: `CONST_PTR_TO_MAP` of `used_maps[map]`.
    Map { map: u32 },
    /// `BPF_PSEUDO_MAP_VALUE` / `_IDX_VALUE`: `PTR_TO_MAP_VALUE` at `off`.
    MapValue { map: u32, off: u32 },
    /// `BPF_PSEUDO_FUNC`: `PTR_TO_FUNC` of the subprogram at slot `target`.
    Func { target: usize },
}

/// Kind of memory access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    Read,
    Write,
}

/// What a valid ctx load produces (`struct bpf_insn_access_aux`'s
/// `reg_type` and friends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtxField {
    /// An ordinary field: the loaded value is a scalar.
    Scalar,
    /// `PTR_TO_PACKET` (e.g. `__sk_buff::data`).
    Packet,
    /// `PTR_TO_PACKET_META`.
    PacketMeta,
    /// `PTR_TO_PACKET_END`.
    PacketEnd,
    /// `PTR_TO_FLOW_KEYS` (`__sk_buff::flow_keys` in flow_dissector).
    FlowKeys,
    /// `PTR_TO_BTF_ID` of a kernel type (tracing, struct_ops, lsm
    /// arguments), possibly `PTR_MAYBE_NULL`, `PTR_TRUSTED` when the
    /// program's arguments are trusted (`prog_args_trusted()`: struct_ops,
    /// iterators, raw_tp BTF, LSM).
    BtfId { btf_id: u32, maybe_null: bool, trusted: bool },
    /// `PTR_TO_SOCKET_OR_NULL` (`bpf_sk_lookup::sk`).
    SockOrNull,
    /// `PTR_TO_CTX` of the program's own ctx (none yet).
    Ctx,
    /// A scalar within `[min, max]` on 32 and 64 bits signed
    /// (`__mark_reg_s32_range()` of an unknown scalar): the return value
    /// slot of an LSM program (`is_retval` with
    /// `bpf_lsm_get_retval_range()`).
    ScalarS32Range { min: i32, max: i32 },
}

/// Result of a valid ctx access check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtxAccess {
    /// The type of the register a load fills.
    pub field: CtxField,
    /// The size of the whole field (`ctx_field_size`), for narrow loads;
    /// 0 when the access is exact.
    pub field_size: u32,
}

/// A kfunc's description (`struct btf_kfunc_id_set` flags with the
/// function's BTF prototype, reduced to what the checks use).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KfuncProto {
    pub name: String,
    /// Argument kinds, in order (at most 5).
    pub args: Vec<KfuncArg>,
    pub ret: KfuncRet,
    /// `KF_ACQUIRE`: the return value is a new reference.
    pub acquire: bool,
    /// `KF_RELEASE`: the first referenced argument is released.
    pub release: bool,
    /// `KF_RET_NULL`: the returned pointer may be NULL.
    pub ret_null: bool,
    /// `KF_TRUSTED_ARGS`.
    pub trusted_args: bool,
    /// `KF_RCU`: pointer arguments may be RCU-protected (checked here as
    /// non-NULL, like trusted arguments).
    pub rcu: bool,
    /// `KF_SLEEPABLE`.
    pub sleepable: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KfuncArg {
    /// A scalar.
    Scalar,
    /// A pointer to a kernel object of this BTF type.
    BtfId(u32),
    /// Memory followed by a `__sz` size argument.
    Mem,
    /// The program's ctx.
    Ctx,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KfuncRet {
    Void,
    Scalar,
    BtfId(u32),
}

/// The program type's rules: the kernel's `struct bpf_verifier_ops`
/// (`get_func_proto`, `is_valid_access`, `btf_struct_access`) plus the
/// per-type facts the verifier looks up elsewhere (return ranges from
/// `check_return_code()`, kfunc id sets from `register_btf_kfunc_id_set()`,
/// direct packet access from `may_access_direct_pkt_data()`).
pub trait ProgTypeOps {
    /// The type's name, as bpftool spells it (`socket_filter`, `syscall`).
    fn name(&self) -> &str;

    /// The prototype of helper `id` when this program type may call it
    /// (`get_func_proto`); `None` gives "program of this type cannot use helper".
    fn func_proto(&self, id: i32) -> Option<&'static FuncProto>;

    /// Whether `size` bytes at `off` of the ctx may be accessed this way
    /// (`is_valid_access`); what a load yields.
    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess>;

    /// [`Self::ctx_access`] with the line the kernel's `is_valid_access`
    /// logs on the way (`btf_ctx_access()` of BTF tracing programs names
    /// the argument it checked, or why it refused); the verifier logs it
    /// before its own verdict.
    fn ctx_access_logged(&self, off: i32, size: u32, access: Access) -> (Option<CtxAccess>, Option<String>) {
        (self.ctx_access(off, size, access), None)
    }

    /// The allowed range of r0 at the main program's exit
    /// (`check_return_code()`), `None` for any value.
    fn return_range(&self) -> Option<(i64, i64)>;

    /// Whether [`Self::return_range`] is checked on the low 32 bits of r0
    /// (`return_32bit` of `check_return_code()`: LSM programs, whose
    /// hooks return `int`), with the current kernel's wording
    /// (`verbose_invalid_scalar()` of 6.8+: "At program exit the register
    /// R0 has smin=N smax=M should have been in [LO, HI]").
    fn return_range_32bit(&self) -> bool {
        false
    }

    /// `check_get_func_ip()`: whether a program of this type that was
    /// given `bpf_get_func_ip` by its `func_proto` may call it; otherwise
    /// the line the verifier logs before refusing with `ENOTSUPP`
    /// ("func bpf_get_func_ip#173 not supported for program type N").
    /// Only the types whose `func_proto` offers the helper need to answer.
    fn check_get_func_ip(&self) -> Result<(), String> {
        Ok(())
    }

    /// Whether direct packet access is allowed, and writes to it
    /// (`may_access_direct_pkt_data()`): `(read, write)`.
    fn packet_access(&self) -> (bool, bool) {
        (false, false)
    }

    /// A kfunc this program type may call, by BTF id.
    fn kfunc(&self, _btf_id: u32) -> Option<KfuncProto> {
        None
    }

    /// The name of `btf_id` when it is a kernel function (a FUNC of the
    /// kernel's BTF), for "calling kernel function NAME is not allowed";
    /// `None` gives "kernel btf_id N is not a function".
    fn kfunc_name(&self, btf_id: u32) -> Option<String> {
        self.btf_type_name(btf_id)
    }

    /// Access to a kernel object through a `PTR_TO_BTF_ID` pointer
    /// (`btf_struct_access()`): the type a load yields, or the message
    /// the verifier logs.
    fn btf_struct_access(
        &self,
        btf_id: u32,
        off: i32,
        size: u32,
        access: Access,
    ) -> Result<CtxField, String> {
        let _ = (off, size);
        Err(format!(
            "access beyond struct with btf_id {btf_id} ({})",
            if access == Access::Write { "write" } else { "read" }
        ))
    }

    /// A write through a `PTR_TO_BTF_ID` pointer, when the program type
    /// has its own `btf_struct_access` (the kernel's `struct
    /// bpf_verifier_ops` member, which `check_ptr_to_btf_access()` asks
    /// for writes only): `Some(Ok(()))` allowed, `Some(Err(msg))` refused
    /// with `EACCES` after logging `msg`; `None` for a type without one
    /// (writes are then "only read is supported").
    fn btf_struct_write(&self, btf_id: u32, off: i32, size: u32) -> Option<Result<(), String>> {
        let _ = (btf_id, off, size);
        None
    }

    /// The main program's return value is not checked at all
    /// (`check_return_code()` returns early for an LSM hook or a
    /// struct_ops member whose function returns `void`: r0 need not even
    /// be set).
    fn return_unchecked(&self) -> bool {
        false
    }

    /// The name of a BTF type, for log lines (`ptr_task_struct`).
    fn btf_type_name(&self, _btf_id: u32) -> Option<String> {
        None
    }

    /// Whether the legacy packet loads `BPF_LD | BPF_ABS / BPF_IND` are
    /// allowed (`may_access_skb()`: socket filters, tc, cgroup skb).
    fn ld_abs_allowed(&self) -> bool {
        false
    }

    /// The size of the ctx object at run time, when known
    /// (`offsetofend` of the last field), for messages.
    fn ctx_size(&self) -> u32 {
        0
    }
}

/// The loader's privileges and the program's attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyOptions {
    /// `CAP_BPF` (`env->bpf_capable`): bounded loops, bpf2bpf calls,
    /// pointer leaks into maps as the kernel allows them.
    pub bpf_capable: bool,
    /// `CAP_PERFMON` with `CAP_BPF` (`env->allow_ptr_leaks`).
    pub allow_ptr_leaks: bool,
    /// The license is GPL compatible (gpl_only helpers).
    pub gpl_compatible: bool,
    /// `BPF_F_SLEEPABLE`.
    pub sleepable: bool,
    /// Instruction-processing budget (`BPF_COMPLEXITY_LIMIT_INSNS`).
    pub insn_limit: u32,
    /// `env->strict_alignment` (`bpf_check()`): `BPF_F_STRICT_ALIGNMENT`
    /// without `BPF_F_ANY_ALIGNMENT`. Every access is then checked by
    /// `check_ptr_alignment()`, packets with `NET_IP_ALIGN` taken as 2.
    pub strict_alignment: bool,
    /// The load passed an `fd_array` (module kfuncs index into it).
    pub has_fd_array: bool,
    /// An extension (`BPF_PROG_TYPE_EXT`, freplace) program: its main
    /// function is verified from the registers its own BTF prototype
    /// describes (`do_check_common()` for `BPF_PROG_TYPE_EXT`), with the
    /// target program type's rules (`resolve_prog_type()`) given as ops.
    pub extension: bool,
    /// `prog->jit_requested`: stack depths round up to 16 bytes for the
    /// combined-stack check (`round_up_stack_depth()`), to 32 (at least
    /// 1) for the interpreter.
    pub jit_requested: bool,
    /// `nr_cpu_ids`, when the kernel knows it: `bpf_get_smp_processor_id()`
    /// returns less (`do_refine_retval_range()`).
    pub nr_cpu_ids: Option<u32>,
}

impl Default for VerifyOptions {
    fn default() -> VerifyOptions {
        VerifyOptions {
            bpf_capable: true,
            allow_ptr_leaks: true,
            gpl_compatible: true,
            sleepable: false,
            insn_limit: crate::log::COMPLEXITY_LIMIT_INSNS,
            strict_alignment: false,
            has_fd_array: false,
            extension: false,
            jit_requested: true,
            nr_cpu_ids: None,
        }
    }
}

/// Everything one verification needs.
pub struct VerifyInput<'a> {
    /// The relocated program (pseudo loads already hold addresses).
    pub insns: &'a [Insn],
    /// What each pseudo `ld_imm64` referred to, sorted by slot.
    pub pseudo: &'a [PseudoLoad],
    /// `used_maps`, indexed by [`PseudoKind::Map::map`].
    pub maps: &'a [MapInfo],
    pub prog_type: &'a dyn ProgTypeOps,
    pub opts: VerifyOptions,
    /// The program's BTF func and line info (`prog_btf_fd` with
    /// `func_info` / `line_info`), when the loader passed them.
    pub btf: Option<&'a crate::btf_info::ProgBtfInfo>,
}

impl std::fmt::Debug for VerifyInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyInput")
            .field("insns", &self.insns.len())
            .field("pseudo", &self.pseudo)
            .field("maps", &self.maps)
            .field("prog_type", &self.prog_type.name())
            .field("opts", &self.opts)
            .field("btf", &self.btf)
            .finish()
    }
}

impl VerifyInput<'_> {
    /// The pseudo load at `slot`, if that `ld_imm64` was one.
    pub fn pseudo_at(&self, slot: usize) -> Option<PseudoKind> {
        self.pseudo.binary_search_by_key(&slot, |p| p.slot).ok().map(|i| self.pseudo[i].kind)
    }
}
