//! Memory access checks (`check_mem_access()` and its per-type parts in
//! kernel/bpf/verifier.c: `check_ptr_alignment()`, `check_ctx_access()`,
//! `check_map_access()`, `check_mem_region_access()`,
//! `check_packet_access()`, `check_flow_keys_access()`,
//! `check_ptr_to_btf_access()`, `check_stack_read/write()` and their
//! fixed / variable offset variants, `check_stack_range_initialized()`),
//! loads, stores and atomics (`check_atomic()`), and the helper-facing
//! pieces the call checks use (`check_helper_mem_access()`,
//! `check_reg_arg()`, `push_stack()`).
//!
//! Every access is proven inside the object the pointer's type promises:
//! the emulator then performs it with a plain host load or store.
//! Alignment is checked strictly for the stack and for atomics, as the
//! kernel does on a host with efficient unaligned access, and for every
//! pointer when the program asked for `BPF_F_STRICT_ALIGNMENT`. Reading
//! uninitialised stack and variable-offset stack accesses follow
//! `allow_ptr_leaks` (the kernel's `allow_uninit_stack` and
//! `bypass_spec_v1` are the same `CAP_PERFMON` privilege).

use super::alu::{MAX_VAR_OFF, coerce};
use super::fmt::{reg_type_str, tnum_str};
use super::{COMPLEXITY_LIMIT_JMP_SEQ, CtxRecord, EACCES, Pending, VResult, Verifier};
use crate::bounds::ScalarBounds;
use crate::env::{Access, CtxField};
use crate::errno::{E2BIG, EINVAL, EPERM};
use crate::state::{BPF_REG_SIZE, MAX_BPF_STACK, RegState, RegType, SlotType, StackSlot};
use bpfemu_isa::{AtomicOp, Size};

/// `sizeof(struct bpf_flow_keys)`.
pub const FLOW_KEYS_SIZE: i64 = 56;
/// `BPF_F_WRONLY_PROG`: the program may only write the map's values.
pub const BPF_F_WRONLY_PROG: u32 = 1 << 8;
/// `MAX_PACKET_OFF`.
pub const MAX_PACKET_OFF: u64 = 0xffff;
/// `BPF_MAX_VAR_SIZ`.
pub const MAX_VAR_SIZ: u64 = 1 << 29;

/// What a store writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Store {
    /// Nothing known (atomics, helpers).
    Unknown,
    /// Register `r`.
    Reg(usize),
    /// An immediate (`BPF_ST`).
    Imm(i32),
}

/// Which bounded region a pointer points into (for the messages of
/// `__check_mem_access()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Region {
    MapKey,
    MapValue,
    Mem,
}

/// How the stack is accessed, for the messages of
/// `check_stack_access_within_bounds()`: Linux 6.18 words helper
/// accesses by their access type too (" read from" / " write to"; older
/// kernels said " indirect access to").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StackSrc {
    Direct(Access),
}

impl StackSrc {
    fn extra(self) -> &'static str {
        match self {
            StackSrc::Direct(Access::Read) => " read from",
            StackSrc::Direct(Access::Write) => " write to",
        }
    }
}

impl Verifier<'_, '_> {
    /// Logs two lines, fails with the first (the kernel's detail line
    /// followed by its summary, e.g. "R0 min value is outside of the
    /// allowed memory range").
    fn reject2(&mut self, errno: i32, first: String, second: String) -> super::VerifyError {
        let e = self.reject(errno, first);
        self.log.line(&second);
        e
    }

    /// Checks a helper's memory argument in register `regno`:
    /// `[reg, reg + size)` must be accessible for `access`
    /// (`check_helper_mem_access()`): stack (initialised for reads unless
    /// `uninit`, marked initialised on writes), map value, packet (within
    /// the proven range), mem, ctx is refused. `size` is the largest size
    /// the size argument may have (`umax`); `zero_size_allowed` also
    /// accepts a NULL pointer with size 0 when the caller allows NULL.
    #[allow(dead_code, reason = "called by the call checks (check/call.rs)")]
    pub(crate) fn check_helper_mem(
        &mut self,
        regno: usize,
        size: u64,
        access: Access,
        uninit: bool,
        zero_size_allowed: bool,
    ) -> VResult<()> {
        let reg = self.reg(regno).clone();
        if size == 0 && zero_size_allowed && reg.is_scalar() && reg.const_value() == Some(0) {
            return Ok(());
        }
        if size >= MAX_VAR_SIZ {
            return Err(self.reject(
                EACCES,
                format!("R{regno} unbounded memory access, use 'var &= const' or 'if (var < const)'"),
            ));
        }
        if size == 0 && zero_size_allowed {
            return Ok(());
        }
        let size = size as i64;
        if reg.flags.maybe_null {
            let t = reg_type_str(&reg);
            return Err(self.reject(EACCES, format!("R{regno} type={t} expected=fp")));
        }
        match reg.typ {
            RegType::Packet | RegType::PacketMeta => {
                if access == Access::Write && !self.input.prog_type.packet_access().1 {
                    return Err(self.reject(EACCES, "helper access to the packet is not allowed"));
                }
                self.check_packet_access(regno, &reg, i64::from(reg.off), size)
            }
            RegType::MapKey => {
                if access == Access::Write {
                    return Err(self.reject(EACCES, format!("write to change key R{regno} not allowed")));
                }
                let ks = self.map_info(&reg).map_or(0, |m| u64::from(m.key_size));
                self.check_mem_region(regno, &reg, i64::from(reg.off), size, ks, Region::MapKey)
            }
            RegType::MapValue => {
                let (vs, rdonly) = self.map_info(&reg).map_or((0, false), |m| (m.value_size, m.rdonly_prog));
                if access == Access::Write && rdonly {
                    return Err(self.reject(
                        EACCES,
                        format!("write into map forbidden, value_size={vs} off={} size={size}", reg.off),
                    ));
                }
                self.check_mem_region(
                    regno,
                    &reg,
                    i64::from(reg.off),
                    size,
                    u64::from(vs),
                    Region::MapValue,
                )?;
                self.check_special_fields(&reg, i64::from(reg.off), size)
            }
            RegType::Mem => {
                if access == Access::Write && reg.flags.rdonly {
                    let t = reg_type_str(&reg);
                    return Err(self.reject(EACCES, format!("R{regno} cannot write into {t}")));
                }
                self.check_mem_region(
                    regno,
                    &reg,
                    i64::from(reg.off),
                    size,
                    u64::from(reg.mem_size),
                    Region::Mem,
                )
            }
            RegType::Stack => self.check_stack_range(regno, &reg, size, access, uninit),
            _ => {
                let t = reg_type_str(&reg);
                Err(self.reject(EACCES, format!("R{regno} type={t} expected=fp")))
            }
        }
    }

    /// `check_reg_arg(regno, SRC_OP)`: the register must be initialised
    /// ("R%d !read_ok").
    pub(crate) fn check_reg_read(&mut self, regno: usize) -> VResult<()> {
        if regno >= crate::state::MAX_BPF_REG {
            return Err(self.reject(EINVAL, format!("R{regno} is invalid")));
        }
        if !self.reg(regno).is_init() {
            return Err(self.reject(EACCES, format!("R{regno} !read_ok")));
        }
        Ok(())
    }

    /// `check_reg_arg(regno, DST_OP)` after the caller set the register.
    /// Liveness is computed statically ([`super::live`]), so there is no
    /// mark to set; kept as the hook the kernel has.
    pub(crate) fn mark_reg_written(&mut self, regno: usize) {
        let _ = regno;
    }

    /// Pushes a pending path: `state` will be walked from slot `insn`
    /// (`push_stack()`); `E2BIG` "The sequence of %d jumps is too complex."
    /// when too many are pending.
    pub(crate) fn push_branch(&mut self, state: crate::state::VerifierState, insn: usize) -> VResult<()> {
        if self.branches.len() >= COMPLEXITY_LIMIT_JMP_SEQ {
            let n = self.branches.len() + 1;
            return Err(self.reject(E2BIG, format!("The sequence of {n} jumps is too complex.")));
        }
        let p = Pending {
            state,
            insn,
            prev_insn: self.insn_idx,
            log_pos: self.log.pos(),
            parent: self.cur_parent,
            hist: self.hist.clone(),
            written: self.cur_written,
        };
        self.branches.push(p);
        if let Some(c) = self.cur_parent.and_then(|id| self.chain.get_mut(id)) {
            c.branches += 1;
        }
        Ok(())
    }

    // ---- instructions -------------------------------------------------------

    /// `dst = *(size *)(src + off)`.
    pub(crate) fn check_ldx(
        &mut self,
        size: Size,
        sx: bool,
        dst: usize,
        src: usize,
        off: i16,
    ) -> VResult<()> {
        self.check_reg_read(src)?;
        self.check_reg_dst(dst)?;
        self.last_ctx = None;
        let v = self.check_mem_access(
            src,
            off.into(),
            size.bytes(),
            Access::Read,
            Store::Unknown,
            sx,
            false,
            true,
        )?;
        self.save_ptr_kind(src)?;
        *self.reg_mut(dst) = v.unwrap_or_else(RegState::unknown_scalar);
        self.mark_reg_written(dst);
        Ok(())
    }

    /// `*(size *)(dst + off) = imm` (do_check, `BPF_ST`). Since Linux 6.3
    /// a store of an immediate into the ctx is checked like `BPF_STX`
    /// (the ctx write rules of the program type) and recorded for the ctx
    /// rewrite (`save_aux_ptr_type()`), no longer refused.
    pub(crate) fn check_st(&mut self, size: Size, dst: usize, off: i16, imm: i32) -> VResult<()> {
        self.check_reg_read(dst)?;
        self.last_ctx = None;
        self.check_mem_access(
            dst,
            off.into(),
            size.bytes(),
            Access::Write,
            Store::Imm(imm),
            false,
            false,
            false,
        )?;
        self.save_ptr_kind(dst)
    }

    /// `*(size *)(dst + off) = src`.
    pub(crate) fn check_stx(&mut self, size: Size, dst: usize, src: usize, off: i16) -> VResult<()> {
        self.check_reg_read(src)?;
        self.check_reg_read(dst)?;
        self.last_ctx = None;
        self.check_mem_access(
            dst,
            off.into(),
            size.bytes(),
            Access::Write,
            Store::Reg(src),
            false,
            false,
            false,
        )?;
        self.save_ptr_kind(dst)
    }

    /// `save_aux_ptr_type()`: a load or store must use the ctx (or a
    /// `PTR_TO_BTF_ID` pointer) on every path or on none, since those are
    /// rewritten after verification; records the ctx access for that
    /// rewrite.
    fn save_ptr_kind(&mut self, ptr: usize) -> VResult<()> {
        let is_ctx = self.reg(ptr).typ == RegType::Ctx;
        let is_btf = self.reg(ptr).typ == RegType::BtfId;
        let rec = self.last_ctx.take();
        let idx = self.insn_idx;
        let aux = &mut self.aux[idx];
        if aux.mem_is_ctx.is_some_and(|c| c != is_ctx)
            || aux.mem_is_btf.is_some_and(|b| b != is_btf)
            || (is_ctx && aux.ctx.is_some() && aux.ctx != rec)
        {
            return Err(self.reject(EINVAL, "same insn cannot be used with different pointers"));
        }
        aux.mem_is_ctx = Some(is_ctx);
        aux.mem_is_btf = Some(is_btf);
        if is_ctx {
            aux.ctx = rec;
        }
        Ok(())
    }

    /// Atomic read-modify-write (`check_atomic()`).
    pub(crate) fn check_atomic(
        &mut self,
        size: Size,
        op: AtomicOp,
        dst: usize,
        src: usize,
        off: i16,
    ) -> VResult<()> {
        if !matches!(size, Size::W | Size::DW) {
            return Err(self.reject(EINVAL, "invalid atomic operand size"));
        }
        self.check_reg_read(src)?;
        self.check_reg_read(dst)?;
        if op == AtomicOp::CmpXchg {
            self.check_reg_read(0)?;
            if self.is_pointer_value(0) {
                return Err(self.reject(EACCES, "R0 leaks addr into mem"));
            }
        }
        if self.is_pointer_value(src) {
            return Err(self.reject(EACCES, format!("R{src} leaks addr into mem")));
        }
        let t = self.reg(dst).typ;
        if matches!(
            t,
            RegType::Ctx
                | RegType::Packet
                | RegType::PacketMeta
                | RegType::FlowKeys
                | RegType::BtfId
                | RegType::Sock
        ) {
            let ts = reg_type_str(self.reg(dst));
            return Err(self.reject(EACCES, format!("BPF_ATOMIC stores into R{dst} {ts} is not allowed")));
        }
        let load_reg = match op {
            AtomicOp::CmpXchg => Some(0),
            AtomicOp::Xchg
            | AtomicOp::Add { fetch: true }
            | AtomicOp::Or { fetch: true }
            | AtomicOp::And { fetch: true }
            | AtomicOp::Xor { fetch: true } => Some(src),
            _ => None,
        };
        if let Some(l) = load_reg {
            self.check_reg_dst(l)?;
        }
        let bytes = size.bytes();
        let old = self.check_mem_access(
            dst,
            off.into(),
            bytes,
            Access::Read,
            Store::Unknown,
            false,
            true,
            load_reg.is_some(),
        )?;
        self.check_mem_access(dst, off.into(), bytes, Access::Write, Store::Unknown, false, true, false)?;
        if let Some(l) = load_reg {
            let v = old.unwrap_or_else(RegState::unknown_scalar);
            if v.typ.is_pointer() && !self.input.opts.allow_ptr_leaks {
                return Err(self.reject(EACCES, format!("R{l} leaks addr into mem")));
            }
            *self.reg_mut(l) = v;
            self.mark_reg_written(l);
        }
        Ok(())
    }

    // ---- check_mem_access ---------------------------------------------------

    /// Checks an access of `size` bytes at `regno + off` and applies its
    /// effect (stack slot types); returns, for a read, the value loaded
    /// (zero- or, with `sx`, sign-extended to 64 bits). `want` says the
    /// loaded value goes to a register.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn check_mem_access(
        &mut self,
        regno: usize,
        off: i32,
        size: usize,
        access: Access,
        store: Store,
        sx: bool,
        strict: bool,
        want: bool,
    ) -> VResult<Option<RegState>> {
        let reg = self.reg(regno).clone();
        let isize = size as i64;
        if reg.flags.maybe_null
            || matches!(
                reg.typ,
                RegType::NotInit
                    | RegType::Scalar
                    | RegType::ConstMapPtr
                    | RegType::PacketEnd
                    | RegType::Func
            )
        {
            let t = reg_type_str(&reg);
            return Err(self.reject(EACCES, format!("R{regno} invalid mem access '{t}'")));
        }
        let strict = strict || self.input.opts.strict_alignment || reg.typ == RegType::Stack;
        self.check_alignment(&reg, off, size, strict)?;
        let off_total = i64::from(off) + i64::from(reg.off);
        let store_ptr = match store {
            Store::Reg(r) => self.is_pointer_value(r),
            _ => false,
        };
        let scalar =
            |b: ScalarBounds| Some(RegState { var: coerce(&b, size, sx), ..RegState::unknown_scalar() });
        match reg.typ {
            RegType::Ctx => {
                if access == Access::Write && store_ptr {
                    let Store::Reg(r) = store else { unreachable!() };
                    return Err(self.reject(EACCES, format!("R{r} leaks addr into ctx")));
                }
                self.check_fixed_ptr(regno, &reg, "ctx")?;
                let (ok, note) = match i32::try_from(off_total) {
                    Ok(o) => self.input.prog_type.ctx_access_logged(o, size as u32, access),
                    Err(_) => (None, None),
                };
                if let Some(note) = note {
                    self.log.line(&note);
                }
                // A sign-extending load cannot produce a pointer.
                let ok = ok
                    .filter(|a| !sx || matches!(a.field, CtxField::Scalar | CtxField::ScalarS32Range { .. }));
                let Some(acc) = ok else {
                    return Err(self
                        .reject(EACCES, format!("invalid bpf_context access off={off_total} size={size}")));
                };
                let end = u32::try_from(off_total + isize).unwrap_or(0);
                self.max_ctx_offset = self.max_ctx_offset.max(end);
                self.last_ctx = Some(CtxRecord {
                    off: off_total as i32,
                    size: size as u32,
                    field_size: acc.field_size,
                    field: acc.field,
                    write: access == Access::Write,
                    sx,
                });
                if access == Access::Write {
                    return Ok(None);
                }
                Ok(Some(self.ctx_field_reg(acc.field, size, sx)))
            }
            RegType::Stack => self.check_stack_access(regno, &reg, off_total, isize, access, store, sx, want),
            RegType::MapValue => {
                let Some(m) = self.map_info(&reg).cloned() else {
                    return Err(self.reject(EINVAL, "invalid map_ptr to access map value"));
                };
                if access == Access::Write && store_ptr {
                    let Store::Reg(r) = store else { unreachable!() };
                    return Err(self.reject(EACCES, format!("R{r} leaks addr into map")));
                }
                if access == Access::Read && m.map_flags & BPF_F_WRONLY_PROG != 0 {
                    let vs = m.value_size;
                    return Err(self.reject(
                        EACCES,
                        format!("read from map forbidden, value_size={vs} off={off_total} size={size}"),
                    ));
                }
                if access == Access::Write && m.rdonly_prog {
                    let vs = m.value_size;
                    return Err(self.reject(
                        EACCES,
                        format!("write into map forbidden, value_size={vs} off={off_total} size={size}"),
                    ));
                }
                self.check_mem_region(
                    regno,
                    &reg,
                    off_total,
                    isize,
                    u64::from(m.value_size),
                    Region::MapValue,
                )?;
                self.check_special_fields(&reg, off_total, isize)?;
                if access == Access::Write {
                    return Ok(None);
                }
                if let (Some(bytes), Some(v)) = (&m.const_value, reg.var.const_value()) {
                    let start = off_total + v as i64;
                    if let Some(b) = usize::try_from(start).ok().and_then(|s| bytes.get(s..s + size)) {
                        let mut buf = [0u8; 8];
                        buf[..size].copy_from_slice(b);
                        let c = ScalarBounds::constant(u64::from_le_bytes(buf));
                        return Ok(scalar(c));
                    }
                }
                Ok(scalar(ScalarBounds::unknown()))
            }
            RegType::MapKey => {
                if access == Access::Write {
                    return Err(self.reject(EACCES, format!("write to change key R{regno} not allowed")));
                }
                let ks = self.map_info(&reg).map_or(0, |m| u64::from(m.key_size));
                self.check_mem_region(regno, &reg, off_total, isize, ks, Region::MapKey)?;
                Ok(scalar(ScalarBounds::unknown()))
            }
            RegType::Mem => {
                if access == Access::Write && reg.flags.rdonly {
                    let t = reg_type_str(&reg);
                    return Err(self.reject(EACCES, format!("R{regno} cannot write into {t}")));
                }
                if access == Access::Write && store_ptr {
                    let Store::Reg(r) = store else { unreachable!() };
                    return Err(self.reject(EACCES, format!("R{r} leaks addr into mem")));
                }
                self.check_mem_region(regno, &reg, off_total, isize, u64::from(reg.mem_size), Region::Mem)?;
                if access == Access::Write {
                    return Ok(None);
                }
                Ok(scalar(ScalarBounds::unknown()))
            }
            RegType::Packet | RegType::PacketMeta => {
                if access == Access::Write && !self.input.prog_type.packet_access().1 {
                    return Err(self.reject(EACCES, "cannot write into packet"));
                }
                if access == Access::Write && store_ptr {
                    let Store::Reg(r) = store else { unreachable!() };
                    return Err(self.reject(EACCES, format!("R{r} leaks addr into packet")));
                }
                self.check_packet_access(regno, &reg, off_total, isize)?;
                if access == Access::Write {
                    return Ok(None);
                }
                Ok(scalar(ScalarBounds::unknown()))
            }
            RegType::FlowKeys => {
                if access == Access::Write && store_ptr {
                    let Store::Reg(r) = store else { unreachable!() };
                    return Err(self.reject(EACCES, format!("R{r} leaks addr into flow keys")));
                }
                // No `check_ptr_off_reg()` here: a flow keys pointer moved by a
                // constant is accessed at the sum (`check_flow_keys_access()`).
                if off_total < 0 || off_total + isize > FLOW_KEYS_SIZE {
                    return Err(self
                        .reject(EACCES, format!("invalid access to flow keys off={off_total} size={size}")));
                }
                if access == Access::Write {
                    return Ok(None);
                }
                Ok(scalar(ScalarBounds::unknown()))
            }
            RegType::Sock => {
                if access == Access::Write {
                    let t = reg_type_str(&reg);
                    return Err(self.reject(EACCES, format!("R{regno} cannot write into {t}")));
                }
                self.check_sock_access(regno, &reg, off_total, size)?;
                Ok(scalar(ScalarBounds::unknown()))
            }
            RegType::BtfId => self.check_btf_access(regno, &reg, off_total, size, access, store, sx),
            _ => {
                let t = reg_type_str(&reg);
                Err(self.reject(EACCES, format!("R{regno} invalid mem access '{t}'")))
            }
        }
    }

    /// The register a ctx load fills (`check_ctx_access()`'s `reg_type`).
    fn ctx_field_reg(&mut self, field: CtxField, size: usize, sx: bool) -> RegState {
        match field {
            CtxField::Scalar => {
                RegState { var: coerce(&ScalarBounds::unknown(), size, sx), ..RegState::unknown_scalar() }
            }
            CtxField::ScalarS32Range { min, max } => {
                // mark_reg_unknown() then __mark_reg_s32_range() (with the
                // stale-bounds fix: the register is reset first), then the
                // narrowing of a load below 8 bytes.
                let mut b = ScalarBounds::unknown();
                b.s32_min = b.s32_min.max(min);
                b.s32_max = b.s32_max.min(max);
                b.smin = b.smin.max(i64::from(min));
                b.smax = b.smax.min(i64::from(max));
                b.sync();
                RegState { var: coerce(&b, size, sx), ..RegState::unknown_scalar() }
            }
            CtxField::Packet => RegState::pointer(RegType::Packet),
            CtxField::PacketMeta => RegState::pointer(RegType::PacketMeta),
            CtxField::PacketEnd => RegState::pointer(RegType::PacketEnd),
            CtxField::FlowKeys => RegState::pointer(RegType::FlowKeys),
            CtxField::SockOrNull => {
                let mut r = RegState::pointer(RegType::Sock);
                r.flags.maybe_null = true;
                r.id = self.new_id();
                r
            }
            CtxField::Ctx => RegState::pointer(RegType::Ctx),
            CtxField::BtfId { btf_id, maybe_null, trusted } => {
                let mut r = RegState { btf_id, ..RegState::pointer(RegType::BtfId) };
                r.flags.maybe_null = maybe_null;
                r.flags.trusted = trusted;
                if maybe_null {
                    r.id = self.new_id();
                }
                r
            }
        }
    }

    /// A pointer that must be used at its original offset
    /// (`__check_ptr_off_reg()` with `fixed_off_ok = false`).
    pub(super) fn check_fixed_ptr(&mut self, regno: usize, reg: &RegState, name: &str) -> VResult<()> {
        if reg.off < 0 {
            return Err(self
                .reject(EACCES, format!("negative offset {name} ptr R{regno} off={} disallowed", reg.off)));
        }
        if reg.off != 0 {
            return Err(self.reject(
                EACCES,
                format!("dereference of modified {name} ptr R{regno} off={} disallowed", reg.off),
            ));
        }
        if reg.var.const_value() != Some(0) {
            let t = tnum_str(&reg.var);
            return Err(self.reject(EACCES, format!("variable {name} access var_off={t} disallowed")));
        }
        Ok(())
    }

    /// `check_ptr_alignment()`.
    pub(super) fn check_alignment(
        &mut self,
        reg: &RegState,
        off: i32,
        size: usize,
        strict: bool,
    ) -> VResult<()> {
        if !strict || size == 1 {
            return Ok(());
        }
        let sz = size as u64;
        let t = reg.var.var_off;
        // Linux 6.18 prints a constant var_off as its value ("off 0+4+2"),
        // an unknown one as the tnum ("off (0x0; 0x4)+0+2"), as a 6.18
        // kernel's log shows (bpfemu-hostcmp).
        let ts = if t.is_const() { format!("{}", t.value as i64) } else { t.to_string() };
        let t = &ts;
        if reg.typ.is_pkt_pointer() {
            // NET_IP_ALIGN is taken as 2 when alignment is strict.
            let fixed = 2i64 + i64::from(reg.off) + i64::from(off);
            let v = reg.var.var_off.add(crate::tnum::Tnum::constant(fixed as u64));
            if !v.is_aligned(sz) {
                return Err(self.reject(
                    EACCES,
                    format!("misaligned packet access off 2+{t}+{}+{off} size {size}", reg.off),
                ));
            }
            return Ok(());
        }
        let desc = match reg.typ {
            RegType::FlowKeys => "flow keys ",
            RegType::Sock => "sock ",
            RegType::MapKey => "key ",
            RegType::MapValue => "value ",
            RegType::Ctx => "context ",
            RegType::Stack => "stack ",
            _ => "",
        };
        let v =
            reg.var.var_off.add(crate::tnum::Tnum::constant((i64::from(reg.off) + i64::from(off)) as u64));
        if !v.is_aligned(sz) {
            return Err(
                self.reject(EACCES, format!("misaligned {desc}access off {t}+{}+{off} size {size}", reg.off))
            );
        }
        Ok(())
    }

    /// `check_mem_region_access()` for map keys, map values and mem.
    fn check_mem_region(
        &mut self,
        regno: usize,
        reg: &RegState,
        off: i64,
        size: i64,
        mem_size: u64,
        kind: Region,
    ) -> VResult<()> {
        let b = reg.var;
        if b.smin < 0
            && (b.smin == i64::MIN
                || off.saturating_add(b.smin) != i64::from(off.saturating_add(b.smin) as i32)
                || off.saturating_add(b.smin) < 0)
        {
            return Err(self.reject(
                EACCES,
                format!(
                    "R{regno} min value is negative, either use unsigned index or do a if (index >=0) check."
                ),
            ));
        }
        let lo = off.saturating_add(b.smin);
        if !mem_ok(lo, size, mem_size) {
            let m = region_msg(kind, mem_size, lo, size);
            return Err(self.reject2(
                EACCES,
                m,
                format!("R{regno} min value is outside of the allowed memory range"),
            ));
        }
        if b.umax >= MAX_VAR_OFF as u64 {
            return Err(self.reject(
                EACCES,
                format!("R{regno} unbounded memory access, make sure to bounds check any such access"),
            ));
        }
        let hi = off + b.umax as i64;
        if !mem_ok(hi, size, mem_size) {
            let m = region_msg(kind, mem_size, hi, size);
            return Err(self.reject2(
                EACCES,
                m,
                format!("R{regno} max value is outside of the allowed memory range"),
            ));
        }
        Ok(())
    }

    /// A map value's `bpf_spin_lock` and `bpf_timer` may not be touched
    /// by loads and stores (`check_map_access()`'s special-field check).
    fn check_special_fields(&mut self, reg: &RegState, off: i64, size: i64) -> VResult<()> {
        let Some(m) = self.map_info(reg) else { return Ok(()) };
        let lo = off.saturating_add(reg.var.smin);
        let hi = off.saturating_add(reg.var.umax.min(i64::MAX as u64 / 2) as i64).saturating_add(size);
        let fields = [(m.spin_lock_off, 4i64, "bpf_spin_lock"), (m.timer_off, 16, "bpf_timer")];
        for (at, len, name) in fields {
            if let Some(at) = at {
                let at = i64::from(at);
                if lo < at + len && at < hi {
                    return Err(
                        self.reject(EACCES, format!("{name} cannot be accessed directly by load/store"))
                    );
                }
            }
        }
        Ok(())
    }

    /// `check_packet_access()`: `[off, off + size)` from the pointer's
    /// variable base within its proven `range`.
    fn check_packet_access(&mut self, regno: usize, reg: &RegState, off: i64, size: i64) -> VResult<()> {
        if reg.var.smin < 0 {
            return Err(self.reject(
                EACCES,
                format!(
                    "R{regno} min value is negative, either use unsigned index or do a if (index >=0) check."
                ),
            ));
        }
        if reg.range < 0 || !mem_ok(off, size, u64::try_from(reg.range).unwrap_or(0)) {
            // `__check_mem_access()` prints the access offset (the
            // pointer's fixed offset included) twice, not `reg->off`.
            let m = format!(
                "invalid access to packet, off={off} size={size}, R{regno}(id={},off={off},r={})",
                reg.id, reg.range
            );
            return Err(self.reject2(EACCES, m, format!("R{regno} offset is outside of the packet")));
        }
        Ok(())
    }

    /// `check_ptr_to_btf_access()`.
    #[allow(clippy::too_many_arguments)]
    fn check_btf_access(
        &mut self,
        regno: usize,
        reg: &RegState,
        off: i64,
        size: usize,
        access: Access,
        store: Store,
        sx: bool,
    ) -> VResult<Option<RegState>> {
        let tname = self.input.prog_type.btf_type_name(reg.btf_id).unwrap_or_default();
        // The kernel's order: privileges, license, variable offset, then
        // the offset's sign and the pointer's address space. Every BTF id
        // bpfemu's verifier tracks is a vmlinux one (`btf_is_kernel()`).
        if !self.input.opts.allow_ptr_leaks {
            return Err(self.reject(
                EPERM,
                format!("'struct {tname}' access is allowed only to CAP_PERFMON and CAP_SYS_ADMIN"),
            ));
        }
        if !self.input.opts.gpl_compatible {
            return Err(self.reject(
                EINVAL,
                format!("Cannot access kernel 'struct {tname}' from non-GPL compatible program"),
            ));
        }
        let Some(var) = reg.var.const_value() else {
            let t = tnum_str(&reg.var);
            return Err(self.reject(
                EACCES,
                format!("R{regno} is ptr_{tname} invalid variable offset: off={off}, var_off={t}"),
            ));
        };
        let off = off.saturating_add(var as i64);
        if off < 0 {
            return Err(
                self.reject(EACCES, format!("R{regno} is ptr_{tname} invalid negative access: off={off}"))
            );
        }
        if reg.flags.user {
            return Err(self.reject(EACCES, format!("R{regno} is ptr_{tname} access user memory: off={off}")));
        }
        if let Store::Reg(r) = store
            && self.reg(r).typ.is_pointer()
        {
            return Err(self.reject(EACCES, format!("R{r} leaks addr into mem")));
        }
        let Ok(o) = i32::try_from(off) else {
            return Err(self.reject(EACCES, format!("access beyond struct {tname} at off {off} size {size}")));
        };
        let field = match self.input.prog_type.btf_struct_access(reg.btf_id, o, size as u32, access) {
            Ok(f) => f,
            Err(msg) => return Err(self.reject(EACCES, msg)),
        };
        if access == Access::Write {
            return Ok(None);
        }
        if sx && field != CtxField::Scalar {
            return Err(self.reject(
                EACCES,
                format!("R{regno} is ptr_{tname} sign-extending load of a pointer: off={off}"),
            ));
        }
        let mut r = self.ctx_field_reg(field, size, sx);
        if r.typ == RegType::BtfId && !reg.flags.trusted {
            r.flags.untrusted = reg.flags.untrusted;
        }
        Ok(Some(r))
    }

    // ---- stack --------------------------------------------------------------

    /// `check_stack_access_within_bounds()`: the byte range
    /// `[min_off, max_off)` relative to the frame pointer the access may
    /// touch, which must lie in `[-MAX_BPF_STACK, 0)`.
    fn stack_bounds(
        &mut self,
        regno: usize,
        reg: &RegState,
        off: i64,
        size: i64,
        src: StackSrc,
    ) -> VResult<(i64, i64)> {
        let extra = src.extra();
        let (min_off, max_off) = if let Some(c) = reg.var.const_value() {
            let m = off.saturating_add(c as i64);
            (m, m.saturating_add(size))
        } else {
            if reg.var.smax >= MAX_VAR_OFF || reg.var.smin <= -MAX_VAR_OFF {
                return Err(
                    self.reject(EACCES, format!("invalid unbounded variable-offset{extra} stack R{regno}"))
                );
            }
            (reg.var.smin + off, reg.var.smax + off + size)
        };
        // check_stack_slot_within_bounds() on min_off (EACCES), then an
        // access reaching non-negative offsets (EINVAL).
        if min_off < -i64::from(MAX_BPF_STACK) || min_off >= 0 || max_off > 0 {
            let errno = if min_off < -i64::from(MAX_BPF_STACK) || min_off >= 0 { EACCES } else { EINVAL };
            if reg.var.const_value().is_some() {
                return Err(
                    self.reject(errno, format!("invalid{extra} stack R{regno} off={off} size={size}"))
                );
            }
            let t = tnum_str(&reg.var);
            return Err(self.reject(
                errno,
                format!("invalid variable-offset{extra} stack R{regno} var_off={t} off={off} size={size}"),
            ));
        }
        // Grow the frame's tracked stack and its subprogram's depth.
        let f = reg.frameno as usize;
        let slots = ((-min_off) as usize).div_ceil(BPF_REG_SIZE);
        if let Some(fr) = self.cur.frames.get_mut(f) {
            if fr.stack.len() < slots {
                fr.stack.resize(slots, StackSlot::invalid());
            }
            let sub = self.cfg.subprog_of(fr.subprog_start);
            if let Some(d) = self.stack_depth.get_mut(sub) {
                *d = (*d).max((slots * BPF_REG_SIZE) as u32);
            }
        }
        Ok((min_off, max_off))
    }

    /// A load or store through a stack pointer (`check_stack_read()`,
    /// `check_stack_write()`).
    #[allow(clippy::too_many_arguments)]
    fn check_stack_access(
        &mut self,
        regno: usize,
        reg: &RegState,
        off: i64,
        size: i64,
        access: Access,
        store: Store,
        sx: bool,
        want: bool,
    ) -> VResult<Option<RegState>> {
        if reg.frameno as usize >= self.cur.frames.len() {
            return Err(self.reject(EINVAL, format!("R{regno} points to the stack of a returned frame")));
        }
        let var = reg.var.const_value().is_none();
        if var && !self.input.opts.allow_ptr_leaks {
            let t = tnum_str(&reg.var);
            return Err(self.reject(
                EACCES,
                format!("R{regno} variable offset stack access prohibited for !root, var_off={t}"),
            ));
        }
        if var && access == Access::Read && !want {
            let t = tnum_str(&reg.var);
            return Err(self.reject(
                EACCES,
                format!(
                    "variable offset stack pointer cannot be passed into helper function; var_off={t} off={off} size={size}"
                ),
            ));
        }
        let (min_off, max_off) = self.stack_bounds(regno, reg, off, size, StackSrc::Direct(access))?;
        let f = reg.frameno as usize;
        let size_u = size as usize;
        match (access, var) {
            (Access::Write, false) => {
                self.stack_write_fixed(f, min_off, size_u, store)?;
                Ok(None)
            }
            (Access::Write, true) => {
                self.stack_write_var(f, min_off, max_off, store)?;
                Ok(None)
            }
            (Access::Read, false) => self.stack_read_fixed(f, min_off, size_u, sx, want).map(Some),
            (Access::Read, true) => {
                self.stack_range_initialized(regno, reg, f, min_off, max_off)?;
                Ok(Some(RegState {
                    var: coerce(&ScalarBounds::unknown(), size_u, sx),
                    ..RegState::unknown_scalar()
                }))
            }
        }
    }

    /// `check_stack_write_fixed_off()`: a spill of a whole register, or a
    /// write of some bytes that become `STACK_MISC` (`STACK_ZERO` for a
    /// known zero).
    fn stack_write_fixed(&mut self, f: usize, off: i64, size: usize, store: Store) -> VResult<()> {
        let spi = ((-off - 1) / BPF_REG_SIZE as i64) as usize;
        self.last_stack_slot = Some((f as u32, spi as u32));
        self.scratch_stack_slot(spi);
        let in_slot = (off + (BPF_REG_SIZE * (spi + 1)) as i64) as usize;
        let val: Option<RegState> = match store {
            Store::Reg(r) => Some(self.reg(r).clone()),
            Store::Imm(i) => Some(RegState::constant(i64::from(i) as u64)),
            Store::Unknown => None,
        };
        let leaks = self.input.opts.allow_ptr_leaks;
        let cur_frame = self.cur.frames.len() - 1;
        // A narrower store keeps the other bytes, and its checks look at
        // what the slot holds: a read for liveness (`stack_live`).
        if size != BPF_REG_SIZE {
            self.mark_stack_read(f, spi);
        }
        self.destroy_if_dynptr_stack_slot(f, spi)?;
        check_iter_slot(self, f, spi)?;
        let slot = &self.cur.frames[f].stack[spi];
        if !leaks && slot.is_spilled_reg() && !slot.spilled.is_scalar() && size != BPF_REG_SIZE {
            return Err(self.reject(EACCES, "attempt to corrupt spilled pointer on stack"));
        }
        if let Some(v) = &val
            && v.typ.is_pointer()
        {
            if size != BPF_REG_SIZE {
                return Err(self.reject(EACCES, "invalid size of register spill"));
            }
            if f != cur_frame && v.typ == RegType::Stack {
                return Err(
                    self.reject(EINVAL, "cannot spill pointers to stack into stack frame of the caller")
                );
            }
        }
        let bpf_capable = self.input.opts.bpf_capable;
        let allow_uninit = self.input.opts.allow_ptr_leaks;
        let slot = &mut self.cur.frames[f].stack[spi];
        match val {
            // A scalar (or a `BPF_ST` immediate) stored at the start of
            // a slot is a spill of that size with CAP_BPF, zero included
            // (Linux 6.8+ "track aligned STACK_ZERO cases as imprecise
            // spilled registers"); `save_register_state()` turns the
            // other bytes to `STACK_MISC` unless zero, or uninitialised
            // and readable anyway.
            Some(mut v) if in_slot == 0 && v.is_scalar() && bpf_capable => {
                // A spill that holds the whole value links the register
                // and the slot by an id, so a comparison of one refines
                // the other (`assign_scalar_id_before_mov()`); a narrowing
                // one breaks the link.
                let fits = v.var.width() <= 8 * size as u32;
                if let Store::Reg(r) = store
                    && fits
                    && v.id == 0
                    && v.var.const_value().is_none()
                {
                    v.id = self.new_id();
                    self.reg_mut(r).id = v.id;
                }
                if !fits {
                    v.id = 0;
                }
                let slot = &mut self.cur.frames[f].stack[spi];
                scrub(slot);
                slot.spilled = v;
                for i in 0..BPF_REG_SIZE {
                    let t = if i < size {
                        SlotType::Spill
                    } else {
                        match slot.byte(i) {
                            SlotType::Zero => SlotType::Zero,
                            SlotType::Invalid if allow_uninit => SlotType::Invalid,
                            _ => SlotType::Misc,
                        }
                    };
                    slot.set_byte(i, t);
                }
            }
            Some(v) if v.typ.is_pointer() => {
                // in_slot is 0: stack accesses are size-aligned, and
                // pointers are spilled whole (checked above).
                slot.spilled = v;
                slot.slot_type = [SlotType::Spill; BPF_REG_SIZE];
            }
            v => {
                let zero = v.is_some_and(|v| v.const_value() == Some(0));
                scrub(slot);
                for i in in_slot..in_slot + size {
                    slot.set_byte(i, if zero { SlotType::Zero } else { SlotType::Misc });
                }
                // `STACK_ZERO` is not followed by backtracking: the
                // register that wrote it must stay exactly zero.
                if zero && let Store::Reg(r) = store {
                    self.mark_precise(1 << r);
                }
            }
        }
        if size == BPF_REG_SIZE {
            self.mark_stack_written(f, spi);
        }
        Ok(())
    }

    /// `mark_stack_slot_scratched()`: the slot is shown on the
    /// instruction's state line.
    fn scratch_stack_slot(&mut self, spi: usize) {
        if spi < 64 {
            self.scratched_stack |= 1 << spi;
        }
    }

    /// `check_stack_write_var_off()`: every byte the write may touch loses
    /// what was known of it.
    fn stack_write_var(&mut self, f: usize, min_off: i64, max_off: i64, store: Store) -> VResult<()> {
        let zero = match store {
            Store::Imm(0) => true,
            Store::Reg(r) => self.reg(r).const_value() == Some(0),
            _ => false,
        };
        let leaks = self.input.opts.allow_ptr_leaks;
        let insn = self.insn_idx;
        for o in min_off..max_off {
            let spi = ((-o - 1) / BPF_REG_SIZE as i64) as usize;
            let i = (o + (BPF_REG_SIZE * (spi + 1)) as i64) as usize;
            self.scratch_stack_slot(spi);
            self.destroy_if_dynptr_stack_slot(f, spi)?;
            check_iter_slot(self, f, spi)?;
            let slot = &self.cur.frames[f].stack[spi];
            if !leaks && slot.is_spilled_reg() && slot.spilled.typ.is_pointer() {
                return Err(self.reject(
                    EACCES,
                    format!("spilled ptr in range of var-offset stack write; insn {insn}, ptr off: {o}"),
                ));
            }
            if !leaks && slot.byte(i) == SlotType::Invalid {
                return Err(self.reject(
                    EACCES,
                    format!("uninit stack in range of var-offset write prohibited for !root; insn {insn}, off: {o}"),
                ));
            }
            let slot = &mut self.cur.frames[f].stack[spi];
            scrub(slot);
            let t = if zero && slot.byte(i) == SlotType::Zero { SlotType::Zero } else { SlotType::Misc };
            slot.set_byte(i, t);
        }
        Ok(())
    }

    /// `check_stack_read_fixed_off()`.
    fn stack_read_fixed(
        &mut self,
        f: usize,
        off: i64,
        size: usize,
        sx: bool,
        want: bool,
    ) -> VResult<RegState> {
        let spi = ((-off - 1) / BPF_REG_SIZE as i64) as usize;
        self.last_stack_slot = Some((f as u32, spi as u32));
        self.scratch_stack_slot(spi);
        self.mark_stack_read(f, spi);
        let in_slot = (off + (BPF_REG_SIZE * (spi + 1)) as i64) as usize;
        let slot = self.cur.frames[f].stack[spi].clone();
        let unknown =
            || RegState { var: coerce(&ScalarBounds::unknown(), size, sx), ..RegState::unknown_scalar() };
        if slot.byte(0) == SlotType::Spill {
            let spill_size = (0..BPF_REG_SIZE).take_while(|&i| slot.byte(i) == SlotType::Spill).count();
            if size == BPF_REG_SIZE && spill_size == BPF_REG_SIZE {
                if !want && slot.spilled.typ.is_pointer() && !self.input.opts.allow_ptr_leaks {
                    return Err(self.reject(EACCES, format!("leaking pointer from stack off {off}")));
                }
                let mut r = slot.spilled.clone();
                if r.is_scalar() && sx {
                    r.var = coerce(&r.var, size, true);
                }
                return Ok(r);
            }
            if !slot.spilled.is_scalar() {
                return Err(self.reject(EACCES, "invalid size of register fill"));
            }
            if in_slot == 0 && size <= spill_size {
                // The register takes the spilled one's state; the link
                // (id) survives when the value fits the fill, and a 4-byte
                // fill of a 4-byte spill creates one.
                let width = slot.spilled.var.width();
                let mut spilled = slot.spilled.clone();
                if self.input.opts.bpf_capable
                    && size == 4
                    && spill_size == 4
                    && width <= 32
                    && spilled.id == 0
                    && spilled.var.const_value().is_none()
                {
                    spilled.id = self.new_id();
                    self.cur.frames[f].stack[spi].spilled.id = spilled.id;
                }
                let id = if sx || width > 8 * size as u32 { 0 } else { spilled.id };
                return Ok(RegState {
                    var: coerce(&spilled.var, size, sx),
                    id,
                    ..RegState::unknown_scalar()
                });
            }
        }
        let allow_uninit = self.input.opts.allow_ptr_leaks;
        let mut zeros = 0;
        let mut spills = 0;
        for i in 0..size {
            match slot.byte(in_slot + i) {
                SlotType::Zero => zeros += 1,
                SlotType::Spill => spills += 1,
                SlotType::Misc => {}
                SlotType::Invalid if allow_uninit => {}
                _ => {
                    return Err(
                        self.reject(EACCES, format!("invalid read from stack off {off}+{i} size {size}"))
                    );
                }
            }
        }
        // Bytes of a spilled zero read otherwise than as a fill of the
        // spill are still zero (Linux 6.8+ "preserve constant zero when
        // doing partial register restore").
        if zeros == size || (spills == size && slot.spilled.const_value() == Some(0)) {
            return Ok(RegState::constant(0));
        }
        Ok(unknown())
    }

    /// `check_stack_range_initialized()`: every byte of `[min_off,
    /// max_off)` may be read. One wording for direct and helper reads:
    /// Linux 6.14 dropped the " indirect" of helper accesses ("bpf:
    /// verifier: Refactor helper access type tracking").
    fn stack_range_initialized(
        &mut self,
        regno: usize,
        reg: &RegState,
        f: usize,
        min_off: i64,
        max_off: i64,
    ) -> VResult<()> {
        let allow = self.input.opts.allow_ptr_leaks;
        self.mark_stack_range_read(f, min_off, max_off);
        for o in min_off..max_off {
            let spi = ((-o - 1) / BPF_REG_SIZE as i64) as usize;
            let i = (o + (BPF_REG_SIZE * (spi + 1)) as i64) as usize;
            let slot = &self.cur.frames[f].stack[spi];
            let ok = match slot.byte(i) {
                SlotType::Misc | SlotType::Zero => true,
                SlotType::Spill => slot.spilled.is_scalar() || allow,
                SlotType::Invalid => allow,
                _ => false,
            };
            if !ok {
                let size = max_off - min_off;
                let at = o - min_off;
                if reg.var.const_value().is_some() {
                    return Err(self.reject(
                        EACCES,
                        format!("invalid read from stack R{regno} off {min_off}+{at} size {size}"),
                    ));
                }
                let t = tnum_str(&reg.var);
                return Err(self.reject(
                    EACCES,
                    format!("invalid read from stack R{regno} var_off {t}+{at} size {size}"),
                ));
            }
        }
        Ok(())
    }

    /// A helper's access to `[reg, reg + size)` on the stack.
    #[allow(dead_code, reason = "called by the call checks (check/call.rs)")]
    fn check_stack_range(
        &mut self,
        regno: usize,
        reg: &RegState,
        size: i64,
        access: Access,
        uninit: bool,
    ) -> VResult<()> {
        // `check_stack_range_initialized()` starts with the size (a
        // zero size that is allowed never gets here, see
        // `check_helper_mem`).
        if size == 0 {
            return Err(self.reject(EACCES, "invalid zero-sized read"));
        }
        if reg.frameno as usize >= self.cur.frames.len() {
            return Err(self.reject(EINVAL, format!("R{regno} points to the stack of a returned frame")));
        }
        if reg.var.const_value().is_none() && !self.input.opts.allow_ptr_leaks {
            let t = tnum_str(&reg.var);
            return Err(self.reject(
                EACCES,
                format!("R{regno} variable offset stack access prohibited for !root, var_off={t}"),
            ));
        }
        let (min_off, max_off) =
            self.stack_bounds(regno, reg, i64::from(reg.off), size, StackSrc::Direct(access))?;
        let f = reg.frameno as usize;
        if uninit {
            // Raw mode: the helper may write any of these bytes, none may
            // be part of a dynptr.
            self.check_raw_write_no_dynptr(f, min_off, max_off)?;
        } else {
            self.stack_range_initialized(regno, reg, f, min_off, max_off)?;
        }
        if access == Access::Write || uninit {
            for o in min_off..max_off {
                let spi = ((-o - 1) / BPF_REG_SIZE as i64) as usize;
                check_iter_slot(self, f, spi)?;
                // Raw-mode memory is written byte by byte through
                // check_mem_access() after the call, which shows the slots.
                if uninit {
                    self.scratch_stack_slot(spi);
                }
                let i = (o + (BPF_REG_SIZE * (spi + 1)) as i64) as usize;
                let slot = &mut self.cur.frames[f].stack[spi];
                scrub(slot);
                slot.set_byte(i, SlotType::Misc);
            }
        }
        Ok(())
    }
}

/// Refuses a write into a slot holding an iterator (no iterator is
/// emulated; dynptr slots are handled by
/// [`Verifier::destroy_if_dynptr_stack_slot`] and
/// [`Verifier::check_raw_write_no_dynptr`]).
fn check_iter_slot(v: &mut Verifier<'_, '_>, f: usize, spi: usize) -> VResult<()> {
    let t = v.cur.frames[f].stack[spi].slot_type;
    if t.contains(&SlotType::Iter) {
        return Err(v.reject(EINVAL, "cannot overwrite iterator state on stack"));
    }
    Ok(())
}

/// A slot losing its spilled register: the spill bytes become
/// `STACK_MISC` (`scrub_spilled_slot()`).
fn scrub(slot: &mut StackSlot) {
    if slot.slot_type.contains(&SlotType::Spill) {
        for t in slot.slot_type.iter_mut() {
            if *t == SlotType::Spill {
                *t = SlotType::Misc;
            }
        }
        slot.spilled = RegState::not_init();
    }
}

/// `__check_mem_access()`'s condition.
fn mem_ok(off: i64, size: i64, mem_size: u64) -> bool {
    off >= 0 && size >= 0 && (off as u64).saturating_add(size as u64) <= mem_size
}

fn region_msg(kind: Region, mem_size: u64, off: i64, size: i64) -> String {
    match kind {
        Region::MapKey => format!("invalid access to map key, key_size={mem_size} off={off} size={size}"),
        Region::MapValue => {
            format!("invalid access to map value, value_size={mem_size} off={off} size={size}")
        }
        Region::Mem => format!("invalid access to memory, mem_size={mem_size} off={off} size={size}"),
    }
}

/// `sizeof(struct bpf_sock)`.
pub const BPF_SOCK_SIZE: i64 = 80;

/// `bpf_sock_is_valid_access()` (net/core/filter.c) for a read of `size`
/// bytes at `off` of `struct bpf_sock`: the `u32` fields `family`, `type`,
/// `protocol`, `src_port`, `state`, `rx_queue_mapping` and the addresses
/// `src_ip4`, `src_ip6[]`, `dst_ip4`, `dst_ip6[]` allow narrow loads;
/// `dst_port` (a `__be16`) is a 2-byte field also readable with a 4-byte
/// load; the padding after it is refused; `bound_dev_if`, `mark` and
/// `priority` are read whole.
pub fn bpf_sock_access_ok(off: i64, size: usize) -> bool {
    let sz = size as i64;
    if !(0..BPF_SOCK_SIZE).contains(&off) || sz == 0 || off % sz != 0 {
        return false;
    }
    let narrow_ok = |field: usize| size <= field && size.is_power_of_two();
    match off {
        4 | 8 | 12 | 44 | 72 | 76 | 24..=43 | 52..=71 => narrow_ok(4),
        48 | 49 => size == 4 || narrow_ok(2),
        50 | 51 => false,
        _ => size == 4,
    }
}

impl Verifier<'_, '_> {
    /// `check_sock_access()`: a read of `struct bpf_sock` at a fixed offset.
    fn check_sock_access(&mut self, regno: usize, reg: &RegState, off: i64, size: usize) -> VResult<()> {
        if reg.var.smin < 0 {
            return Err(self.reject(
                EACCES,
                format!(
                    "R{regno} min value is negative, either use unsigned index or do a if (index >=0) check."
                ),
            ));
        }
        if reg.var.const_value() != Some(0) || !bpf_sock_access_ok(off, size) {
            let t = reg_type_str(reg);
            return Err(self.reject(EACCES, format!("R{regno} invalid {t} access off={off} size={size}")));
        }
        Ok(())
    }
}
