//! ALU instructions on scalars and pointers (`check_alu_op()`,
//! `adjust_reg_min_max_vals()`, `adjust_ptr_min_max_vals()`,
//! `adjust_scalar_min_max_vals()` in kernel/bpf/verifier.c), 64-bit
//! immediate loads (`check_ld_imm()`) and legacy packet loads
//! (`check_ld_abs()`). A callback address (`BPF_PSEUDO_FUNC`) is refused
//! without BTF func_info ("missing btf func_info") and when the callee's
//! linkage is not static ("callback function not static"), both `EINVAL`.
//!
//! Scalars go through [`ScalarBounds::alu`]; a 64-bit `mov` copies the
//! whole register (pointers included) and links two copies of an unknown
//! scalar by a fresh `id` so a later comparison refines both. Pointer
//! arithmetic follows the kernel's per-type rules: `ptr += K` folds into
//! the fixed offset, `ptr += reg` grows the variable offset (packet
//! pointers then get a new id and lose their range), subtraction from the
//! frame pointer and bitwise or other operators on pointers are refused.
//! Not emulated: the speculative-execution sanitation of pointer ALU
//! (`sanitize_ptr_alu()`, "R%d tried to add from different maps, paths or
//! scalars").

use super::{EACCES, VResult, Verifier};
use crate::bounds::ScalarBounds;
use crate::env::{PseudoKind, map_type};
use crate::errno::EINVAL;
use crate::state::{RegState, RegType};
use bpfemu_isa::{AluOp, EndianOp, Instruction, LdImm64, Size, Source, Width};

/// `BPF_MAX_VAR_OFF`: bound on a pointer's offsets.
pub(crate) const MAX_VAR_OFF: i64 = 1 << 29;

/// `bpf_alu_string[]`.
pub(crate) fn alu_str(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "+=",
        AluOp::Sub => "-=",
        AluOp::Mul => "*=",
        AluOp::Div | AluOp::SDiv => "/=",
        AluOp::Or => "|=",
        AluOp::And => "&=",
        AluOp::Lsh => "<<=",
        AluOp::Rsh => ">>=",
        AluOp::Mod | AluOp::SMod => "%=",
        AluOp::Xor => "^=",
        AluOp::Mov | AluOp::MovSx(_) => "=",
        AluOp::Arsh => "s>>=",
    }
}

/// Truncates a scalar to its low `size` bytes, zero- or sign-extended
/// (`coerce_reg_to_size()`, `coerce_reg_to_size_sx()`).
pub(crate) fn coerce(b: &ScalarBounds, size: usize, sx: bool) -> ScalarBounds {
    if size >= 8 {
        return *b;
    }
    let bits = (size * 8) as u8;
    if sx {
        return ScalarBounds::unknown().alu(AluOp::MovSx(bits), Width::W64, b);
    }
    if size == 4 {
        return ScalarBounds::constant(0).alu(AluOp::Mov, Width::W32, b);
    }
    b.alu(AluOp::And, Width::W64, &ScalarBounds::constant((1u64 << bits) - 1))
}

impl Verifier<'_, '_> {
    pub(crate) fn reg(&self, r: usize) -> &RegState {
        &self.cur.cur().regs[r]
    }

    pub(crate) fn reg_mut(&mut self, r: usize) -> &mut RegState {
        &mut self.cur.cur_mut().regs[r]
    }

    /// `is_pointer_value()`: a pointer the program may not treat as a
    /// number (always false with `allow_ptr_leaks`).
    pub(crate) fn is_pointer_value(&self, r: usize) -> bool {
        !self.input.opts.allow_ptr_leaks && self.reg(r).typ.is_pointer()
    }

    /// `check_reg_arg(regno, DST_OP)`'s check: r10 is read only.
    pub(crate) fn check_reg_dst(&mut self, regno: usize) -> VResult<()> {
        if regno == 10 {
            return Err(self.reject(EACCES, "frame pointer is read only"));
        }
        Ok(())
    }

    /// Sets a register to an unknown scalar (`mark_reg_unknown()`).
    pub(crate) fn mark_unknown(&mut self, r: usize) {
        *self.reg_mut(r) = RegState::unknown_scalar();
    }

    /// Sets a scalar register's bounds.
    fn set_scalar(&mut self, r: usize, b: ScalarBounds) {
        *self.reg_mut(r) = RegState { var: b, ..RegState::unknown_scalar() };
    }

    /// ALU, NEG and END instructions (`check_alu_op()`).
    pub(crate) fn check_alu(&mut self, ins: &Instruction) -> VResult<()> {
        match *ins {
            Instruction::Neg { width, dst } => {
                let d = dst.idx();
                self.check_reg_read(d)?;
                if self.is_pointer_value(d) {
                    return Err(self.reject(EACCES, format!("R{d} pointer arithmetic prohibited")));
                }
                self.check_reg_dst(d)?;
                let r = self.reg(d);
                let b = if r.is_scalar() { r.var.neg(width) } else { unknown_at(width) };
                self.set_scalar(d, b);
                self.mark_reg_written(d);
                Ok(())
            }
            Instruction::Endian { op, bits, dst } => {
                let d = dst.idx();
                self.check_reg_read(d)?;
                if self.is_pointer_value(d) {
                    return Err(self.reject(EACCES, format!("R{d} pointer arithmetic prohibited")));
                }
                self.check_reg_dst(d)?;
                let r = self.reg(d).clone();
                let size = usize::from(bits / 8);
                let b = match op {
                    // Little-endian host: to-le only truncates.
                    EndianOp::ToLe if r.is_scalar() => coerce(&r.var, size, false),
                    _ => coerce(&ScalarBounds::unknown(), size, false),
                };
                self.set_scalar(d, b);
                self.mark_reg_written(d);
                Ok(())
            }
            Instruction::Alu { width, op, dst, src } => self.check_alu2(width, op, dst.idx(), src),
            _ => Ok(()),
        }
    }

    fn check_alu2(&mut self, width: Width, op: AluOp, d: usize, src: Source) -> VResult<()> {
        if let Source::Reg(s) = src {
            self.check_reg_read(s.idx())?;
        }
        if let Source::Imm(imm) = src {
            if matches!(op, AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod) && imm == 0 {
                return Err(self.reject(EINVAL, "div by zero"));
            }
            let bits = if width == Width::W64 { 64 } else { 32 };
            if matches!(op, AluOp::Lsh | AluOp::Rsh | AluOp::Arsh) && !(0..bits).contains(&imm) {
                return Err(self.reject(EINVAL, format!("invalid shift {imm}")));
            }
        }
        if matches!(op, AluOp::Mov | AluOp::MovSx(_)) {
            self.check_reg_dst(d)?;
            self.check_mov(width, op, d, src)?;
            self.mark_reg_written(d);
            return Ok(());
        }
        self.check_reg_read(d)?;
        self.check_reg_dst(d)?;
        let src_reg = match src {
            Source::Reg(s) => self.reg(s.idx()).clone(),
            Source::Imm(imm) => RegState::constant(i64::from(imm) as u64),
        };
        let dst_reg = self.reg(d).clone();
        match (dst_reg.typ.is_pointer(), src_reg.typ.is_pointer()) {
            (true, true) => {
                if op == AluOp::Sub && self.input.opts.allow_ptr_leaks {
                    self.mark_unknown(d);
                } else {
                    return Err(
                        self.reject(EACCES, format!("R{d} pointer {} pointer prohibited", alu_str(op)))
                    );
                }
            }
            (true, false) => {
                if let Source::Reg(s) = src {
                    self.mark_precise(1 << s.idx());
                }
                self.adjust_ptr(width, op, d, &dst_reg, &src_reg, false)?
            }
            (false, true) => {
                self.mark_precise(1 << d);
                self.adjust_ptr(width, op, d, &src_reg, &dst_reg, true)?
            }
            (false, false) => {
                let b = dst_reg.var.alu(op, width, &src_reg.var);
                self.set_scalar(d, b);
            }
        }
        self.mark_reg_written(d);
        Ok(())
    }

    fn check_mov(&mut self, width: Width, op: AluOp, d: usize, src: Source) -> VResult<()> {
        let s = match src {
            Source::Imm(imm) => {
                let b = match width {
                    Width::W64 => ScalarBounds::imm(imm),
                    Width::W32 => ScalarBounds::constant32(imm as u32),
                };
                let b = if let AluOp::MovSx(_) = op { b.alu(op, width, &b) } else { b };
                self.set_scalar(d, b);
                return Ok(());
            }
            Source::Reg(s) => s.idx(),
        };
        let sr = self.reg(s).clone();
        if sr.typ.is_pointer() {
            if width == Width::W64 && op == AluOp::Mov {
                *self.reg_mut(d) = sr;
                return Ok(());
            }
            if !self.input.opts.allow_ptr_leaks {
                let what = if op == AluOp::Mov {
                    "partial copy of pointer"
                } else {
                    "sign-extension part of pointer"
                };
                return Err(self.reject(EACCES, format!("R{s} {what}")));
            }
            let b = unknown_at(width);
            self.set_scalar(d, b);
            return Ok(());
        }
        if width == Width::W64 && op == AluOp::Mov {
            // Copies share an id so that a comparison of one refines both.
            if sr.id == 0 && sr.var.const_value().is_none() {
                let id = self.new_id();
                self.reg_mut(s).id = id;
            }
            let copy = self.reg(s).clone();
            *self.reg_mut(d) = copy;
            return Ok(());
        }
        if width == Width::W32 && op == AluOp::Mov && sr.var.width() <= 32 {
            // A 32-bit copy of a value that fits 32 bits is the same
            // value: linked too (`check_alu_op()`, `get_reg_width() <= 32`).
            if sr.id == 0 && sr.var.const_value().is_none() {
                let id = self.new_id();
                self.reg_mut(s).id = id;
            }
            let b = ScalarBounds::unknown().alu(op, width, &self.reg(s).var);
            let id = self.reg(s).id;
            self.set_scalar(d, b);
            self.reg_mut(d).id = id;
            return Ok(());
        }
        let b = ScalarBounds::unknown().alu(op, width, &sr.var);
        self.set_scalar(d, b);
        Ok(())
    }

    /// Pointer arithmetic (`adjust_ptr_min_max_vals()`): `dst = ptr OP
    /// off`; `swapped` for `scalar += pointer`.
    fn adjust_ptr(
        &mut self,
        width: Width,
        op: AluOp,
        d: usize,
        ptr: &RegState,
        off: &RegState,
        swapped: bool,
    ) -> VResult<()> {
        let leaks = self.input.opts.allow_ptr_leaks;
        if width == Width::W32 {
            if op == AluOp::Sub && leaks {
                self.set_scalar(d, coerce(&ScalarBounds::unknown(), 4, false));
                return Ok(());
            }
            return Err(self.reject(EACCES, format!("R{d} 32-bit pointer arithmetic prohibited")));
        }
        let tstr = super::reg_type_str(ptr);
        if ptr.flags.maybe_null {
            return Err(self.reject(
                EACCES,
                format!("R{d} pointer arithmetic on {tstr} prohibited, null-check it first"),
            ));
        }
        let known = off.var.const_value().map(|c| c as i64);
        let allowed = match ptr.typ {
            RegType::Ctx
            | RegType::MapValue
            | RegType::MapKey
            | RegType::Stack
            | RegType::Packet
            | RegType::PacketMeta
            | RegType::BtfId
            | RegType::Mem => true,
            RegType::FlowKeys => known.is_some(),
            RegType::ConstMapPtr => known == Some(0) && op == AluOp::Add,
            _ => false,
        };
        if !allowed {
            return Err(self.reject(EACCES, format!("R{d} pointer arithmetic on {tstr} prohibited")));
        }
        let name = ptr.typ.kernel_name();
        self.check_sane_offset(off, name)?;
        self.check_sane_offset(ptr, name)?;
        let mut res = ptr.clone();
        match op {
            AluOp::Add | AluOp::Sub => {
                if op == AluOp::Sub && swapped {
                    return Err(self.reject(EACCES, format!("R{d} tried to subtract pointer from scalar")));
                }
                if op == AluOp::Sub && ptr.typ == RegType::Stack {
                    return Err(
                        self.reject(EACCES, format!("R{d} subtraction from stack pointer prohibited"))
                    );
                }
                let folded = known.and_then(|k| {
                    let v = if op == AluOp::Add {
                        i64::from(ptr.off).checked_add(k)?
                    } else {
                        i64::from(ptr.off).checked_sub(k)?
                    };
                    i32::try_from(v).ok()
                });
                if let Some(v) = folded {
                    res.off = v;
                } else {
                    res.var = ptr.var.alu(op, Width::W64, &off.var);
                    if ptr.typ.is_pkt_pointer() {
                        res.id = self.new_id();
                        res.range = 0;
                    }
                }
            }
            AluOp::And | AluOp::Or | AluOp::Xor => {
                return Err(self
                    .reject(EACCES, format!("R{d} bitwise operator {} on pointer prohibited", alu_str(op))));
            }
            _ => {
                return Err(self.reject(
                    EACCES,
                    format!("R{d} pointer arithmetic with {} operator prohibited", alu_str(op)),
                ));
            }
        }
        self.check_sane_offset(&res, name)?;
        if !leaks {
            self.check_ptr_alu_bounds(d, &res)?;
        }
        *self.reg_mut(d) = res;
        Ok(())
    }

    /// `check_reg_sane_offset()`; the caller (`adjust_ptr_min_max_vals()`)
    /// turns a failure into `EINVAL`.
    fn check_sane_offset(&mut self, r: &RegState, name: &str) -> VResult<()> {
        let b = &r.var;
        if r.is_scalar()
            && let Some(v) = b.const_value()
        {
            let v = v as i64;
            if !(-MAX_VAR_OFF + 1..MAX_VAR_OFF).contains(&v) {
                return Err(
                    self.reject(EINVAL, format!("math between {name} pointer and {v} is not allowed"))
                );
            }
        }
        if !(-MAX_VAR_OFF + 1..MAX_VAR_OFF).contains(&i64::from(r.off)) {
            return Err(self.reject(EINVAL, format!("{name} pointer offset {} is not allowed", r.off)));
        }
        if b.smin == i64::MIN {
            return Err(self.reject(
                EINVAL,
                format!("math between {name} pointer and register with unbounded min value is not allowed"),
            ));
        }
        if !(-MAX_VAR_OFF + 1..MAX_VAR_OFF).contains(&b.smin) {
            return Err(
                self.reject(EINVAL, format!("value {} makes {name} pointer be out of bounds", b.smin))
            );
        }
        Ok(())
    }

    /// Without `allow_ptr_leaks`, stack and map value pointers must stay
    /// inside their object (`sanitize_check_bounds()`).
    fn check_ptr_alu_bounds(&mut self, d: usize, r: &RegState) -> VResult<()> {
        match r.typ {
            RegType::Stack => {
                let Some(c) = r.var.const_value() else {
                    let t = super::fmt::tnum_str(&r.var);
                    return Err(self.reject(
                        EACCES,
                        format!("R{d} variable stack access prohibited for !root, var_off={t} off={}", r.off),
                    ));
                };
                let off = (c as i64).saturating_add(i64::from(r.off));
                if !(-512..0).contains(&off) {
                    return Err(self.reject(
                        EACCES,
                        format!(
                            "R{d} stack pointer arithmetic goes out of range, prohibited for !root; off={off}"
                        ),
                    ));
                }
            }
            RegType::MapValue => {
                let vs = self.map_info(r).map_or(0, |m| i64::from(m.value_size));
                let lo = r.var.smin.saturating_add(i64::from(r.off));
                let hi = (r.var.umax.min(i64::MAX as u64) as i64).saturating_add(i64::from(r.off));
                if lo < 0 || hi >= vs {
                    return Err(self.reject(
                        EACCES,
                        format!(
                            "R{d} pointer arithmetic of map value goes out of range, prohibited for !root"
                        ),
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The map a map pointer, key or value register refers to.
    pub(crate) fn map_info(&self, r: &RegState) -> Option<&crate::env::MapInfo> {
        let m = self.input.maps.get(r.map as usize)?;
        if r.inner_map { m.inner.as_deref() } else { Some(m) }
    }

    /// `ld_imm64` (`check_ld_imm()`).
    pub(crate) fn check_ld_imm64(&mut self, slot: usize, d: usize, src: LdImm64) -> VResult<()> {
        self.check_reg_dst(d)?;
        if let LdImm64::Imm(v) = src {
            self.set_scalar(d, ScalarBounds::constant(v));
            self.mark_reg_written(d);
            return Ok(());
        }
        let Some(kind) = self.input.pseudo_at(slot) else {
            return Err(self.reject(EINVAL, "unrecognized bpf_ld_imm64 insn"));
        };
        let reg = match kind {
            PseudoKind::Map { map } => {
                if self.input.maps.get(map as usize).is_none() {
                    return Err(self.reject(EINVAL, format!("fd {map} is not pointing to valid bpf_map")));
                }
                RegState { map, ..RegState::pointer(RegType::ConstMapPtr) }
            }
            PseudoKind::MapValue { map, off } => {
                let Some(m) = self.input.maps.get(map as usize) else {
                    return Err(self.reject(EINVAL, format!("fd {map} is not pointing to valid bpf_map")));
                };
                if m.map_type != map_type::ARRAY {
                    return Err(self.reject(EINVAL, "no direct value access support for this map type"));
                }
                if m.max_entries != 1 || off >= m.value_size {
                    let vs = m.value_size;
                    return Err(self.reject(
                        EINVAL,
                        format!("invalid access to map value pointer, value_size={vs} off={off}"),
                    ));
                }
                RegState { map, off: off as i32, ..RegState::pointer(RegType::MapValue) }
            }
            PseudoKind::Func { target } => {
                // A callback needs BTF func_info, and a static callee: the
                // kernel refuses global functions as `BPF_PSEUDO_FUNC`
                // targets (check_ld_imm(), kernel/bpf/verifier.c).
                let Some(btf) = self.input.btf.filter(|b| !b.funcs.is_empty()) else {
                    return Err(self.reject(EINVAL, "missing btf func_info"));
                };
                let is_static =
                    btf.funcs.iter().find(|f| f.insn_off as usize == target).is_some_and(|f| !f.global);
                if !is_static {
                    return Err(self.reject(EINVAL, "callback function not static"));
                }
                RegState { subprog: target as u32, ..RegState::pointer(RegType::Func) }
            }
        };
        *self.reg_mut(d) = reg;
        self.mark_reg_written(d);
        Ok(())
    }

    /// `BPF_LD | BPF_ABS / BPF_IND` (`check_ld_abs()`).
    pub(crate) fn check_ld_abs(&mut self, size: Size, src: Option<usize>, _imm: i32) -> VResult<()> {
        if !self.input.prog_type.ld_abs_allowed() {
            return Err(
                self.reject(EINVAL, "BPF_LD_[ABS|IND] instructions not allowed for this program type")
            );
        }
        if size == Size::DW {
            return Err(self.reject(EINVAL, "invalid BPF_LD_[ABS|IND] size"));
        }
        self.check_reg_read(6)?;
        if let Some(s) = src {
            self.check_reg_read(s)?;
        }
        if !self.cur.refs.is_empty() {
            return Err(self.reject(EINVAL, "BPF_LD_[ABS|IND] cannot be mixed with socket references"));
        }
        if self.cur.active_lock != 0 {
            return Err(self.reject(EINVAL, "BPF_LD_[ABS|IND] cannot be used inside bpf_spin_lock-ed region"));
        }
        if self.reg(6).typ != RegType::Ctx {
            return Err(self.reject(EINVAL, "at the time of BPF_LD_ABS|IND R6 != pointer to skb"));
        }
        let r6 = self.reg(6).clone();
        self.check_fixed_ptr(6, &r6, "ctx")?;
        for r in 1..=5 {
            *self.reg_mut(r) = RegState::not_init();
        }
        let b = coerce(&ScalarBounds::unknown(), size.bytes(), false);
        self.set_scalar(0, b);
        self.mark_reg_written(0);
        Ok(())
    }
}

/// An unknown value of an operation of `width` (32-bit results are
/// zero-extended).
fn unknown_at(width: Width) -> ScalarBounds {
    match width {
        Width::W64 => ScalarBounds::unknown(),
        Width::W32 => coerce(&ScalarBounds::unknown(), 4, false),
    }
}
