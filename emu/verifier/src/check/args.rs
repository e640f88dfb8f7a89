//! Helper argument checks (kernel/bpf/verifier.c: `check_func_arg()`,
//! `check_reg_type()` with its `compatible_reg_types[]` table,
//! `check_func_arg_reg_off()` / `__check_ptr_off_reg()`,
//! `check_mem_size_reg()`, `process_spin_lock()`, `process_timer_func()`,
//! the `ARG_PTR_TO_CONST_STR` check), as of Linux 6.1.
//!
//! Each argument register is checked against the prototype's
//! [`ArgType`]: initialised, of a compatible pointer type, at an offset the
//! helper accepts, and, for memory, with the whole range the helper may
//! touch accessible (the access itself is checked by the walk's
//! [`Verifier::check_helper_mem`]). What the later steps of the call need
//! (the map, the released register, the reference, the callback, the
//! allocation size) is collected in [`ArgMeta`].
//!
//! `arg_btf_id` is compared by struct name (`btf_struct_ids_match()`
//! without its walk into first members). Not emulated: `MEM_FIXED_SIZE` arguments (no helper in the table has
//! one), sockmap value types (program-side sockmap updates are refused),
//! alignment of `ARG_PTR_TO_INT/LONG` (the
//! emulated helpers write unaligned values safely). Dynptr arguments are
//! checked in `dynptr` (`process_dynptr_func()`, Linux 6.5 rules).

use super::fmt::reg_type_str;
use super::{VResult, Verifier};
use crate::env::{Access, MapInfo};
use crate::errno::EINVAL;
use crate::proto::{ArgType, FuncProto, MemFlags};
use crate::state::{RegState, RegType};

/// `EACCES`.
pub(super) const EACCES: i32 = 13;
/// `EFAULT` (verifier internal errors).
pub(super) const EFAULT: i32 = 14;
/// `ENOTSUPP` (kernel-internal 524).
pub(super) const ENOTSUPP: i32 = 524;

/// `BPF_MAX_VAR_SIZ`: the largest size a variable size argument may have.
const BPF_MAX_VAR_SIZ: u64 = 1 << 29;

/// A map as a register refers to it: its `used_maps` index and whether the
/// pointer is to the inner-map template of that (map-in-map) map.
pub(super) type MapRef = (u32, bool);

/// What the argument checks learned (`struct bpf_call_arg_meta`).
#[derive(Clone, Debug, Default)]
pub(super) struct ArgMeta {
    pub func_id: i32,
    /// The `ARG_CONST_MAP_PTR` argument's map.
    pub map: Option<MapRef>,
    /// Register of the argument the call releases (`release_regno`).
    pub release_regno: usize,
    /// The reference an argument carries (`ref_obj_id`).
    pub ref_obj_id: u32,
    /// `ARG_CONST_ALLOC_SIZE_OR_ZERO`'s value (`mem_size`).
    pub mem_size: u32,
    /// Largest value of the last size argument (`msize_max_value`).
    pub msize_max: u64,
    /// The `ARG_PTR_TO_FUNC` argument's first slot.
    pub callback: Option<usize>,
    /// Flags of the pending `ARG_PTR_TO_MEM` argument.
    pub mem_flags: MemFlags,
    /// The `MEM_UNINIT` dynptr argument (`uninit_dynptr_regno`).
    pub uninit_dynptr_regno: usize,
    /// The initialised dynptr argument: `(frame, spi)` of its first slot.
    pub dynptr: Option<(usize, usize)>,
    /// A constant key of an array map (`const_map_key`).
    pub const_map_key: Option<u64>,
}

/// The register types an argument type accepts (`compatible_reg_types[]`)
/// and the list the mismatch message prints.
fn compatible(at: ArgType) -> (&'static [RegType], &'static str) {
    use RegType::*;
    const KEY_VALUE: &[RegType] = &[Stack, Packet, PacketMeta, MapKey, MapValue];
    const KEY_VALUE_S: &str = "fp, pkt, pkt_meta, map_key, map_value";
    match at {
        ArgType::PtrToMapKey
        | ArgType::PtrToMapValue
        | ArgType::PtrToUninitMapValue
        | ArgType::PtrToInt
        | ArgType::PtrToLong => (KEY_VALUE, KEY_VALUE_S),
        ArgType::PtrToMem(_) => (
            &[Stack, Packet, PacketMeta, MapKey, MapValue, Mem],
            "fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf",
        ),
        ArgType::ConstSize | ArgType::ConstSizeOrZero | ArgType::ConstAllocSizeOrZero => {
            (&[Scalar], "scalar")
        }
        ArgType::ConstMapPtr => (&[ConstMapPtr], "map_ptr"),
        ArgType::PtrToCtx | ArgType::PtrToCtxOrNull => (&[Ctx], "ctx"),
        ArgType::PtrToBtfId { .. } => (&[BtfId], "ptr_"),
        ArgType::PtrToSpinLock | ArgType::PtrToConstStr | ArgType::PtrToTimer => (&[MapValue], "map_value"),
        ArgType::PtrToFunc => (&[Func], "func"),
        ArgType::PtrToStack | ArgType::PtrToStackOrNull => (&[Stack], "fp"),
        ArgType::PtrToRingbufMemRelease => (&[Mem], "ringbuf_mem"),
        ArgType::PtrToDynptr { .. } => (&[Stack], "fp, dynptr_ptr"),
        ArgType::PtrToSocketOrNull => (&[Sock], "sock"),
        ArgType::PtrToSockCommonRelease => {
            (&[Sock], "sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_")
        }
        ArgType::DontCare | ArgType::Anything => (&[], ""),
    }
}

/// `type_may_be_null(arg_type)`: the argument accepts NULL.
fn arg_may_be_null(at: ArgType) -> bool {
    match at {
        ArgType::PtrToMem(f) => f.maybe_null,
        ArgType::PtrToCtxOrNull | ArgType::PtrToStackOrNull | ArgType::PtrToSocketOrNull => true,
        ArgType::PtrToBtfId { maybe_null, .. } => maybe_null,
        _ => false,
    }
}

/// `register_is_null()`: a known-zero scalar.
pub(super) fn reg_is_null(r: &RegState) -> bool {
    r.const_value() == Some(0)
}

impl<'a> Verifier<'a, '_> {
    /// The map a `(index, inner)` reference names.
    pub(super) fn map_ref_info(&self, m: MapRef) -> Option<&'a MapInfo> {
        let maps: &'a [MapInfo] = self.input.maps;
        let outer = maps.get(m.0 as usize)?;
        if m.1 { outer.inner.as_deref() } else { Some(outer) }
    }

    /// The map a register refers to (map pointers and map values).
    pub(super) fn reg_map(&self, r: &RegState) -> Option<&'a MapInfo> {
        self.map_ref_info((r.map, r.inner_map))
    }

    pub(super) fn arg_reg(&self, regno: usize) -> RegState {
        self.cur.cur().regs[regno].clone()
    }

    /// Logs and returns an error.
    pub(super) fn fail<T>(&mut self, errno: i32, msg: impl Into<String>) -> VResult<T> {
        Err(self.reject(errno, msg))
    }

    /// `__is_pointer_value()`: the register holds a pointer the program
    /// may not leak.
    pub(super) fn leaks_addr(&self, r: &RegState) -> bool {
        !self.input.opts.allow_ptr_leaks && r.typ != RegType::Scalar
    }

    /// `check_func_arg()` for argument `arg` (0-based) of `fp`.
    pub(super) fn check_func_arg(&mut self, arg: usize, meta: &mut ArgMeta, fp: &FuncProto) -> VResult<()> {
        let regno = arg + 1;
        let at = fp.args[arg];
        if at == ArgType::DontCare {
            return Ok(());
        }
        self.check_reg_read(regno)?;
        let reg = self.arg_reg(regno);
        if at == ArgType::Anything {
            if self.leaks_addr(&reg) {
                return self.fail(EACCES, format!("R{regno} leaks addr into helper function"));
            }
            return Ok(());
        }
        if reg.typ.is_pkt_pointer() && !(self.input.prog_type.packet_access().0 && fp.pkt_access) {
            return self.fail(EACCES, "helper access to the packet is not allowed");
        }
        if matches!(at, ArgType::PtrToMapValue | ArgType::PtrToUninitMapValue) && self.sockmap_arg(meta) {
            // `resolve_map_arg_type()`: the value of a sockmap / sockhash
            // update is a socket (`ARG_PTR_TO_BTF_ID_SOCK_COMMON`); no
            // other value argument fits these maps.
            if at == ArgType::PtrToUninitMapValue {
                return self.fail(EINVAL, "invalid arg_type for sockmap/sockhash");
            }
            return self.check_reg_type(regno, &reg, ArgType::PtrToSockCommonRelease);
        }
        let null_ok = reg_is_null(&reg) && arg_may_be_null(at);
        if !null_ok {
            self.check_reg_type(regno, &reg, at)?;
            self.check_func_arg_reg_off(regno, &reg, at)?;
        }
        if matches!(at, ArgType::PtrToRingbufMemRelease | ArgType::PtrToSockCommonRelease) {
            if reg.ref_obj_id == 0 && !reg_is_null(&reg) {
                return self
                    .fail(EINVAL, format!("R{regno} must be referenced when passed to release function"));
            }
            if meta.release_regno != 0 {
                return self.fail(EFAULT, "verifier internal error: more than one release argument");
            }
            meta.release_regno = regno;
        }
        if reg.ref_obj_id != 0 {
            if meta.ref_obj_id != 0 {
                return self.fail(
                    EFAULT,
                    format!(
                        "verifier internal error: more than one arg with ref_obj_id R{regno} {} {}",
                        reg.ref_obj_id, meta.ref_obj_id
                    ),
                );
            }
            meta.ref_obj_id = reg.ref_obj_id;
        }
        match at {
            ArgType::ConstMapPtr => meta.map = Some((reg.map, reg.inner_map)),
            ArgType::PtrToMapKey => {
                let Some(m) = meta.map.and_then(|m| self.map_ref_info(m)) else {
                    return self.fail(EACCES, "invalid map_ptr to access map->key");
                };
                self.check_helper_mem(regno, u64::from(m.key_size), Access::Read, false, false)?;
                if super::const_key::can_elide_value_nullness(m) {
                    meta.const_map_key = self.const_map_key(&reg, m.key_size);
                }
            }
            ArgType::PtrToMapValue | ArgType::PtrToUninitMapValue => {
                let Some(m) = meta.map.and_then(|m| self.map_ref_info(m)) else {
                    return self.fail(EACCES, "invalid map_ptr to access map->value");
                };
                let uninit = at == ArgType::PtrToUninitMapValue;
                let access = if uninit { Access::Write } else { Access::Read };
                self.check_helper_mem(regno, u64::from(m.value_size), access, uninit, false)?;
            }
            ArgType::PtrToSpinLock => {
                let is_lock = match meta.func_id {
                    crate::proto::id::SPIN_LOCK => true,
                    crate::proto::id::SPIN_UNLOCK => false,
                    _ => return self.fail(EFAULT, "verifier internal error"),
                };
                self.process_spin_lock(regno, &reg, is_lock)?;
            }
            ArgType::PtrToTimer => self.process_timer_func(regno, &reg, meta)?,
            ArgType::PtrToFunc => meta.callback = Some(reg.subprog as usize),
            ArgType::PtrToMem(f) => meta.mem_flags = f,
            ArgType::ConstSize => self.check_mem_size_reg(regno, &reg, false, meta)?,
            ArgType::ConstSizeOrZero => self.check_mem_size_reg(regno, &reg, true, meta)?,
            ArgType::ConstAllocSizeOrZero => {
                let Some(v) = reg.var.const_value() else {
                    return self.fail(EACCES, format!("R{regno} is not a known constant'"));
                };
                // A size the allocation cannot have (it fails at run time)
                // gives no accessible byte rather than a truncated size.
                meta.mem_size = u32::try_from(v).unwrap_or(0);
            }
            ArgType::PtrToInt | ArgType::PtrToLong => {
                let size = if at == ArgType::PtrToInt { 4 } else { 8 };
                self.check_helper_mem(regno, size, Access::Write, true, false)?;
                // MEM_ALIGNED (ARG_PTR_TO_INT/LONG, now fixed-size memory):
                // aligned whatever the program's alignment mode.
                self.check_alignment(&reg, 0, size as usize, true)?;
            }
            ArgType::PtrToConstStr => self.check_const_str(regno, &reg)?,
            ArgType::PtrToDynptr { kind, uninit, release } => {
                if release {
                    if meta.release_regno != 0 {
                        return self.fail(EFAULT, "verifier internal error: more than one release argument");
                    }
                    meta.release_regno = regno;
                }
                self.process_dynptr_func(regno, kind, uninit, release, meta)?;
            }
            ArgType::PtrToCtx
            | ArgType::PtrToCtxOrNull
            | ArgType::PtrToStack
            | ArgType::PtrToStackOrNull
            | ArgType::PtrToBtfId { .. }
            | ArgType::PtrToRingbufMemRelease
            | ArgType::PtrToSocketOrNull
            | ArgType::PtrToSockCommonRelease
            | ArgType::DontCare
            | ArgType::Anything => {}
        }
        Ok(())
    }

    /// The map argument already seen is a sockmap or a sockhash.
    fn sockmap_arg(&self, meta: &ArgMeta) -> bool {
        use crate::env::map_type;
        meta.map
            .and_then(|m| self.map_ref_info(m))
            .is_some_and(|m| matches!(m.map_type, map_type::SOCKMAP | map_type::SOCKHASH))
    }

    /// `check_reg_type()`: the register's type is one the argument takes.
    fn check_reg_type(&mut self, regno: usize, reg: &RegState, at: ArgType) -> VResult<()> {
        let (types, expected) = compatible(at);
        // An unchecked sockmap lookup result is `map_value_or_null` in the
        // kernel (it becomes a socket at the NULL check): no socket
        // argument takes it, even one accepting NULL.
        let sockmap_unchecked = reg.typ == RegType::Sock && reg.flags.maybe_null && reg.ref_obj_id != 0;
        let mut flags = reg.flags;
        if arg_may_be_null(at) && !sockmap_unchecked {
            flags.maybe_null = false;
        }
        let ok = types.contains(&reg.typ)
            && !flags.maybe_null
            && match reg.typ {
                RegType::Mem => match at {
                    ArgType::PtrToMem(f) => !flags.rdonly || f.rdonly,
                    ArgType::PtrToRingbufMemRelease => flags.ringbuf && !flags.rdonly,
                    _ => !flags.rdonly,
                },
                RegType::BtfId => !flags.user && !flags.untrusted,
                _ => true,
            };
        if ok {
            return self.check_arg_btf_id(regno, reg, at);
        }
        let got = if sockmap_unchecked { "map_value_or_null".to_string() } else { reg_type_str(reg) };
        self.fail(EACCES, format!("R{regno} type={got} expected={expected}"))
    }

    /// The `arg_btf_id` part of `check_reg_type()` for `PTR_TO_BTF_ID`:
    /// the register must point at the struct the prototype names
    /// (`btf_struct_ids_match()`, here by name at offset 0: no emulated
    /// helper's struct is embedded first in another) — "R1 is of type T
    /// but S is expected" (`EACCES`).
    fn check_arg_btf_id(&mut self, regno: usize, reg: &RegState, at: ArgType) -> VResult<()> {
        let ArgType::PtrToBtfId { btf_struct: Some(want), .. } = at else { return Ok(()) };
        if reg.typ != RegType::BtfId {
            return Ok(());
        }
        let got = self.input.prog_type.btf_type_name(reg.btf_id);
        if got.as_deref() == Some(want) && reg.off == 0 {
            return Ok(());
        }
        let got = got.unwrap_or_else(|| format!("btf_id {}", reg.btf_id));
        self.fail(EACCES, format!("R{regno} is of type {got} but {want} is expected"))
    }

    /// `check_func_arg_reg_off()`: pointers whose fixed offset the helper
    /// copes with (stack, packet, map key/value, mem) may carry one; the
    /// others must be unmodified.
    fn check_func_arg_reg_off(&mut self, regno: usize, reg: &RegState, at: ArgType) -> VResult<()> {
        let release = at == ArgType::PtrToRingbufMemRelease;
        match reg.typ {
            RegType::Stack
            | RegType::Packet
            | RegType::PacketMeta
            | RegType::MapKey
            | RegType::MapValue
            | RegType::Mem
            | RegType::Scalar
                if !release =>
            {
                Ok(())
            }
            RegType::BtfId => {
                if release && reg.off != 0 {
                    return self
                        .fail(EINVAL, format!("R{regno} must have zero offset when passed to release func"));
                }
                self.check_ptr_off_reg(regno, reg, true)
            }
            _ => self.check_ptr_off_reg(regno, reg, false),
        }
    }

    /// `__check_ptr_off_reg()`: no negative offset, no fixed offset unless
    /// allowed, no variable offset.
    pub(super) fn check_ptr_off_reg(
        &mut self,
        regno: usize,
        reg: &RegState,
        fixed_off_ok: bool,
    ) -> VResult<()> {
        let t = reg_type_str(reg);
        if reg.off < 0 {
            return self.fail(EACCES, format!("negative offset {t} ptr R{regno} off={} disallowed", reg.off));
        }
        if !fixed_off_ok && reg.off != 0 {
            return self.fail(
                EACCES,
                format!("dereference of modified {t} ptr R{regno} off={} disallowed", reg.off),
            );
        }
        if reg.var.const_value() != Some(0) {
            let vo = super::exit::tnum_str(reg.var.var_off);
            return self.fail(EACCES, format!("variable {t} access var_off={vo} disallowed"));
        }
        Ok(())
    }

    /// `check_mem_size_reg()`: the size register `regno` bounds the access
    /// through the memory register `regno - 1`.
    fn check_mem_size_reg(
        &mut self,
        regno: usize,
        reg: &RegState,
        zero_size_allowed: bool,
        meta: &mut ArgMeta,
    ) -> VResult<()> {
        meta.msize_max = reg.var.umax;
        let flags = meta.mem_flags;
        let access = if flags.rdonly { Access::Read } else { Access::Write };
        // Only a constant size lets the helper write uninitialised memory:
        // with a variable one it may fill only part of it.
        let uninit = flags.uninit && reg.var.const_value().is_some();
        if reg.var.smin < 0 {
            return self.fail(
                EACCES,
                format!("R{regno} min value is negative, either use unsigned or 'var &= const'"),
            );
        }
        if reg.var.umin == 0 {
            if !zero_size_allowed {
                return self.zero_size_read(regno - 1);
            }
            self.check_helper_mem(regno - 1, 0, access, uninit, zero_size_allowed)?;
        }
        if reg.var.umax >= BPF_MAX_VAR_SIZ {
            return self.fail(
                EACCES,
                format!("R{regno} unbounded memory access, use 'var &= const' or 'if (var < const)'"),
            );
        }
        self.check_helper_mem(regno - 1, reg.var.umax, access, uninit, zero_size_allowed)
    }

    /// A size that may be 0 where the helper needs at least one byte: the
    /// message the kernel's access check for the memory's type gives for a
    /// zero-sized access (`check_stack_range_initialized()`,
    /// `__check_mem_access()`).
    fn zero_size_read<T>(&mut self, mem_regno: usize) -> VResult<T> {
        let r = self.arg_reg(mem_regno);
        let off = r.off;
        let msg = match r.typ {
            RegType::MapValue => {
                let vs = self.reg_map(&r).map_or(0, |m| m.value_size);
                format!("invalid access to map value, value_size={vs} off={off} size=0")
            }
            RegType::MapKey => {
                let ks = self.reg_map(&r).map_or(0, |m| m.key_size);
                format!("invalid access to map key, key_size={ks} off={off} size=0")
            }
            RegType::Mem => format!("invalid access to memory, mem_size={} off={off} size=0", r.mem_size),
            _ => "invalid zero-sized read".to_string(),
        };
        self.fail(EACCES, msg)
    }

    /// The constant offset of a map value pointer, when it has one.
    fn const_map_off(reg: &RegState) -> Option<i64> {
        reg.var.const_value().map(|v| (v as i64).wrapping_add(i64::from(reg.off)))
    }

    /// `process_spin_lock()`: the pointer is exactly the map value's
    /// `bpf_spin_lock` of a map with BTF; locks and unlocks pair up.
    /// Every failure is `EINVAL` (`check_func_arg()` passes it through
    /// since 6.2, "bpf: Propagate errors from process_* checks"), with
    /// mainline's wording ("has no valid", "that is at").
    fn process_spin_lock(&mut self, regno: usize, reg: &RegState, is_lock: bool) -> VResult<()> {
        let Some(off) = Self::const_map_off(reg) else {
            return self.fail(
                EINVAL,
                format!(
                    "R{regno} doesn't have constant offset. bpf_spin_lock has to be at the constant offset"
                ),
            );
        };
        let Some(map) = self.reg_map(reg) else {
            return self.fail(EFAULT, "verifier internal error: map value without a map");
        };
        if !map.has_btf {
            return self
                .fail(EINVAL, format!("map '{}' has to have BTF in order to use bpf_spin_lock", map.name));
        }
        let Some(lock_off) = map.spin_lock_off else {
            return self.fail(EINVAL, format!("map '{}' has no valid bpf_spin_lock", map.name));
        };
        if i64::from(lock_off) != off {
            return self.fail(
                EINVAL,
                format!("off {off} doesn't point to 'struct bpf_spin_lock' that is at {lock_off}"),
            );
        }
        // The kernel identifies the locked object by the pointer's id
        // (kept after the null check for maps with a lock); a pointer
        // without one (a direct value load) names its map's single value.
        let key = if reg.id != 0 { reg.id } else { 0x8000_0000 | reg.map << 1 | u32::from(reg.inner_map) };
        if is_lock {
            if self.cur.active_lock != 0 {
                return self.fail(EINVAL, "Locking two bpf_spin_locks are not allowed");
            }
            self.cur.active_lock = key;
        } else {
            if self.cur.active_lock == 0 {
                return self.fail(EINVAL, "bpf_spin_unlock without taking a lock");
            }
            if self.cur.active_lock != key {
                return self.fail(EINVAL, "bpf_spin_unlock of different lock");
            }
            self.cur.active_lock = 0;
        }
        Ok(())
    }

    /// `process_timer_func()` (`check_map_field_pointer()` for
    /// `BPF_TIMER` in 6.18): the pointer is exactly the map value's
    /// `bpf_timer` of a map with BTF; the map becomes the call's map.
    /// Failures are `EINVAL`.
    fn process_timer_func(&mut self, regno: usize, reg: &RegState, meta: &mut ArgMeta) -> VResult<()> {
        let Some(off) = Self::const_map_off(reg) else {
            return self.fail(
                EINVAL,
                format!("R{regno} doesn't have constant offset. bpf_timer has to be at the constant offset"),
            );
        };
        let Some(map) = self.reg_map(reg) else {
            return self.fail(EFAULT, "verifier internal error: map value without a map");
        };
        if !map.has_btf {
            return self
                .fail(EINVAL, format!("map '{}' has to have BTF in order to use bpf_timer", map.name));
        }
        let Some(timer_off) = map.timer_off else {
            return self.fail(EINVAL, format!("map '{}' has no valid bpf_timer", map.name));
        };
        if i64::from(timer_off) != off {
            return self.fail(
                EINVAL,
                format!("off {off} doesn't point to 'struct bpf_timer' that is at {timer_off}"),
            );
        }
        if meta.map.is_some() {
            return self.fail(EFAULT, "verifier bug. Two map pointers in a timer helper");
        }
        meta.map = Some((reg.map, reg.inner_map));
        Ok(())
    }

    /// `ARG_PTR_TO_CONST_STR`: a constant offset into a frozen read-only
    /// map's value, with a NUL before the value's end.
    fn check_const_str(&mut self, regno: usize, reg: &RegState) -> VResult<()> {
        let map = self.reg_map(reg);
        let bytes = match map {
            Some(m) if m.rdonly_prog => m.const_value.as_deref(),
            _ => None,
        };
        let Some(bytes) = bytes else {
            return self.fail(EACCES, format!("R{regno} does not point to a readonly map'"));
        };
        let Some(off) = Self::const_map_off(reg) else {
            return self.fail(EACCES, format!("R{regno} is not a constant address'"));
        };
        let value_size = map.map_or(0, |m| m.value_size);
        let room = i64::from(value_size) - i64::from(reg.off);
        self.check_helper_mem(regno, room.max(0) as u64, Access::Read, false, false)?;
        let start = usize::try_from(off).ok().filter(|&s| s < bytes.len());
        let terminated = start.is_some_and(|s| bytes[s..].contains(&0));
        if !terminated {
            return self.fail(EINVAL, "string is not zero-terminated");
        }
        Ok(())
    }
}
