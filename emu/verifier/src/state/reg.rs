//! A register's abstract value (`struct bpf_reg_state`,
//! include/linux/bpf_verifier.h) and its types (`enum bpf_reg_type` with the
//! `PTR_MAYBE_NULL` / `MEM_RDONLY` / `MEM_RINGBUF` / `MEM_USER` flags).

use crate::bounds::ScalarBounds;

/// Base register types (`enum bpf_reg_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegType {
    /// `NOT_INIT`.
    NotInit,
    /// `SCALAR_VALUE`.
    Scalar,
    /// `PTR_TO_CTX`.
    Ctx,
    /// `CONST_PTR_TO_MAP`.
    ConstMapPtr,
    /// `PTR_TO_MAP_VALUE`.
    MapValue,
    /// `PTR_TO_MAP_KEY` (callback arguments of `bpf_for_each_map_elem`).
    MapKey,
    /// `PTR_TO_STACK` of frame [`RegState::frameno`].
    Stack,
    /// `PTR_TO_PACKET`.
    Packet,
    /// `PTR_TO_PACKET_META`.
    PacketMeta,
    /// `PTR_TO_PACKET_END`.
    PacketEnd,
    /// `PTR_TO_FLOW_KEYS`.
    FlowKeys,
    /// `PTR_TO_MEM` of [`RegState::mem_size`] bytes (ring-buffer records
    /// carry [`RegFlags::ringbuf`]).
    Mem,
    /// `PTR_TO_BTF_ID` of [`RegState::btf_id`].
    BtfId,
    /// `PTR_TO_FUNC` of the subprogram at slot [`RegState::subprog`].
    Func,
    /// `PTR_TO_SOCKET`: a `struct bpf_sock` (read only, fixed offset;
    /// `PTR_TO_SOCKET_OR_NULL` carries [`RegFlags::maybe_null`]).
    Sock,
}

impl RegType {
    /// The kernel's name for log lines (`reg_type_str()`), without flags.
    pub fn kernel_name(self) -> &'static str {
        match self {
            RegType::NotInit => "?",
            RegType::Scalar => "scalar",
            RegType::Ctx => "ctx",
            RegType::ConstMapPtr => "map_ptr",
            RegType::MapValue => "map_value",
            RegType::MapKey => "map_key",
            RegType::Stack => "fp",
            RegType::Packet => "pkt",
            RegType::PacketMeta => "pkt_meta",
            RegType::PacketEnd => "pkt_end",
            RegType::FlowKeys => "flow_keys",
            RegType::Sock => "sock",
            RegType::Mem => "mem",
            RegType::BtfId => "ptr_",
            RegType::Func => "func",
        }
    }

    /// Whether this is a pointer type.
    pub fn is_pointer(self) -> bool {
        !matches!(self, RegType::NotInit | RegType::Scalar)
    }

    /// `type_is_pkt_pointer()`.
    pub fn is_pkt_pointer(self) -> bool {
        matches!(self, RegType::Packet | RegType::PacketMeta)
    }

    /// `reg_is_pkt_pointer_any()`: packet, packet meta or packet end.
    pub fn is_pkt_pointer_any(self) -> bool {
        matches!(self, RegType::Packet | RegType::PacketMeta | RegType::PacketEnd)
    }
}

/// Type flags (`enum bpf_type_flag`) the emulator tracks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RegFlags {
    /// `PTR_MAYBE_NULL`: must be checked against 0 before use.
    pub maybe_null: bool,
    /// `MEM_RDONLY`.
    pub rdonly: bool,
    /// `MEM_RINGBUF`.
    pub ringbuf: bool,
    /// `MEM_USER` (`__user` pointer: no direct access).
    pub user: bool,
    /// `PTR_UNTRUSTED`.
    pub untrusted: bool,
    /// `PTR_TRUSTED`.
    pub trusted: bool,
}

/// Liveness marks (`enum bpf_reg_liveness`). Left unset: register
/// liveness is static (`check::live`) and stack-slot marks are kept per
/// kept state (`check::stack_live`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Liveness {
    /// `REG_LIVE_READ64` / `READ32`: read before being written on some
    /// path from here.
    pub read: bool,
    /// `REG_LIVE_WRITTEN`: written in this state (screens reads from the
    /// parent).
    pub written: bool,
    /// `REG_LIVE_DONE`.
    pub done: bool,
}

/// `enum bpf_dynptr_type`: the kinds of dynptr this emulation has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DynptrKind {
    /// `BPF_DYNPTR_TYPE_INVALID`: not a dynptr.
    #[default]
    Invalid,
    /// `BPF_DYNPTR_TYPE_LOCAL`: over a map value (`bpf_dynptr_from_mem`).
    Local,
    /// `BPF_DYNPTR_TYPE_RINGBUF`: a ring-buffer record
    /// (`bpf_ringbuf_reserve_dynptr`), a reference until submitted or
    /// discarded.
    Ringbuf,
}

impl DynptrKind {
    /// `dynptr_type_str()`.
    pub fn name(self) -> &'static str {
        match self {
            DynptrKind::Invalid => "<invalid>",
            DynptrKind::Local => "local",
            DynptrKind::Ringbuf => "ringbuf",
        }
    }
}

/// What the verifier knows of a dynptr stack slot (the `dynptr` member of
/// `struct bpf_reg_state`, kept in a `STACK_DYNPTR` slot's
/// `spilled_ptr`), and of a slice of one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DynptrInfo {
    /// The dynptr's type (slots only).
    pub kind: DynptrKind,
    /// `first_slot`: this is the slot at `spi` of the pair, where the
    /// 16-byte `struct bpf_dynptr` begins (the lower address; the other
    /// slot is `spi - 1`).
    pub first_slot: bool,
}

/// One register's abstract value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RegState {
    pub typ: RegType,
    pub flags: RegFlags,
    /// Fixed offset of a pointer (`off`).
    pub off: i32,
    /// The scalar value, or a pointer's variable offset (`var_off` and the
    /// min/max bounds).
    pub var: ScalarBounds,
    /// Shared by registers holding copies of the same value: null checks
    /// and packet range checks propagate through it; scalars linked by
    /// `id` refine together.
    pub id: u32,
    /// Non-zero when this pointer is (or came from) an acquired reference.
    pub ref_obj_id: u32,
    /// Index into `used_maps` ([`crate::env::VerifyInput::maps`]) for
    /// `ConstMapPtr`, `MapValue`, `MapKey`; `u32::MAX` for an inner map
    /// template of map-in-map, see [`RegState::inner_map`].
    pub map: u32,
    /// The map behind a pointer obtained from a map-in-map lookup: the
    /// outer map's index (its `inner` template describes it).
    pub inner_map: bool,
    /// `PTR_TO_PACKET`: bytes proven readable from `off` (`range`).
    pub range: i32,
    /// `PTR_TO_MEM`: size of the memory (`mem_size`).
    pub mem_size: u32,
    /// `PTR_TO_BTF_ID`: the kernel type.
    pub btf_id: u32,
    /// `PTR_TO_STACK`: whose stack.
    pub frameno: u32,
    /// `PTR_TO_FUNC`: the callee's first slot.
    pub subprog: u32,
    /// `STACK_DYNPTR` slots: the dynptr.
    pub dynptr: DynptrInfo,
    /// A slice from `bpf_dynptr_data`: the id of its dynptr
    /// (`dynptr_id`); destroying the dynptr invalidates the slice.
    pub dynptr_id: u32,
    pub live: Liveness,
    /// `precise`: the exact value matters (pruning may not generalise it).
    pub precise: bool,
}

impl RegState {
    /// `NOT_INIT`.
    pub fn not_init() -> RegState {
        RegState {
            typ: RegType::NotInit,
            flags: RegFlags::default(),
            off: 0,
            var: ScalarBounds::unknown(),
            id: 0,
            ref_obj_id: 0,
            map: 0,
            inner_map: false,
            range: 0,
            mem_size: 0,
            btf_id: 0,
            frameno: 0,
            subprog: 0,
            dynptr: DynptrInfo { kind: DynptrKind::Invalid, first_slot: false },
            dynptr_id: 0,
            live: Liveness::default(),
            precise: false,
        }
    }

    /// An unknown scalar (`mark_reg_unknown()`).
    pub fn unknown_scalar() -> RegState {
        RegState { typ: RegType::Scalar, ..RegState::not_init() }
    }

    /// A known constant scalar (`__mark_reg_known()`).
    pub fn constant(v: u64) -> RegState {
        RegState { typ: RegType::Scalar, var: ScalarBounds::constant(v), ..RegState::not_init() }
    }

    /// A pointer of `typ` at offset 0 with a known-zero variable part.
    pub fn pointer(typ: RegType) -> RegState {
        RegState { typ, var: ScalarBounds::constant(0), ..RegState::not_init() }
    }

    pub fn is_scalar(&self) -> bool {
        self.typ == RegType::Scalar
    }

    pub fn is_init(&self) -> bool {
        self.typ != RegType::NotInit
    }

    /// The scalar's constant value, when it has one.
    pub fn const_value(&self) -> Option<u64> {
        if self.is_scalar() { self.var.const_value() } else { None }
    }
}
