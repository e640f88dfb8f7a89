//! Conditional jumps (`check_cond_jmp_op()` in kernel/bpf/verifier.c):
//! deciding a branch from the bounds (`is_branch_taken()`), refining both
//! operands on each side (`reg_set_min_max()`) and every register linked
//! to them by a scalar id (`sync_linked_regs()`), null checks of
//! `_or_null` pointers (`mark_ptr_or_null_regs()`), and packet range
//! marking from comparisons with `pkt_end` (`try_match_pkt_pointers()`,
//! `find_good_pkt_pointers()`).
//!
//! Packet ranges: whichever side proves `pkt' <= pkt_end` (or `<`) gets
//! `range = pkt'.off` for every packet pointer sharing its id; the kernel
//! sometimes proves one byte more for the strict form, this is the
//! conservative reading. Not emulated: `mark_pkt_end()` (deciding later
//! comparisons of the same pointers).

use super::{EACCES, Step, VResult, Verifier};
use crate::bounds::{Branch, ScalarBounds, is_branch_taken, refine_branch};
use crate::state::{RegState, RegType, VerifierState};
use bpfemu_isa::{JmpOp, Source, Width};

use super::mem::MAX_PACKET_OFF;

/// `range` of a packet pointer known to be at `pkt_end` (`AT_PKT_END`).
pub(crate) const AT_PKT_END: i32 = -1;
/// `range` of a packet pointer known to be past `pkt_end` (`BEYOND_PKT_END`).
pub(crate) const BEYOND_PKT_END: i32 = -2;

/// Calls `f` on every register and spilled register of every frame.
pub(crate) fn for_each_reg(st: &mut VerifierState, mut f: impl FnMut(&mut RegState)) {
    for fr in st.frames.iter_mut() {
        for r in fr.regs.iter_mut() {
            f(r);
        }
        for s in fr.stack.iter_mut() {
            if s.slot_type.contains(&crate::state::SlotType::Spill) {
                f(&mut s.spilled);
            }
        }
    }
}

impl Verifier<'_, '_> {
    /// `if dst OP src goto target`.
    pub(crate) fn check_cond_jmp(
        &mut self,
        width: Width,
        op: JmpOp,
        d: usize,
        src: Source,
        target: usize,
    ) -> VResult<Step> {
        if let Source::Reg(s) = src {
            let s = s.idx();
            self.check_reg_read(s)?;
            if self.is_pointer_value(s) {
                return Err(self.reject(EACCES, format!("R{s} pointer comparison prohibited")));
            }
        }
        self.check_reg_read(d)?;
        let dst = self.reg(d).clone();
        let (src_reg, s_idx) = match src {
            Source::Reg(s) => (self.reg(s.idx()).clone(), Some(s.idx())),
            Source::Imm(imm) => (RegState::constant(i64::from(imm) as u64), None),
        };
        self.last_linked = linked_regs(&self.cur, &dst, s_idx.map(|s| self.reg(s)));
        let mut operands = 1u16 << d;
        if let Some(s) = s_idx {
            operands |= 1 << s;
        }
        let scalars = dst.is_scalar() && src_reg.is_scalar();
        let pred = branch_taken(&dst, &src_reg, op, width);
        if pred != Branch::Unknown && scalars {
            // The bounds decided the branch: they must stay exact.
            self.mark_precise(operands);
        }
        if pred != Branch::Unknown {
            self.branch_decided = true;
        }
        if pred == Branch::Taken {
            return Ok(Step::Goto(target));
        }
        if pred == Branch::NotTaken {
            return Ok(Step::Next);
        }
        let mut other = self.cur.clone();
        let mut other_dead = false;
        let mut this_dead = false;
        if dst.is_scalar() && src_reg.is_scalar() {
            let (td, ts) = refine_branch(&dst.var, &src_reg.var, op, width, true);
            let (fd, fs) = refine_branch(&dst.var, &src_reg.var, op, width, false);
            if td.is_empty() || ts.is_empty() {
                other_dead = true;
            } else {
                set_linked(&mut other, d, &td);
                if let Some(s) = s_idx {
                    set_linked(&mut other, s, &ts);
                }
            }
            if fd.is_empty() || fs.is_empty() {
                this_dead = true;
            } else {
                set_linked(&mut self.cur, d, &fd);
                if let Some(s) = s_idx {
                    set_linked(&mut self.cur, s, &fs);
                }
            }
        } else if width == Width::W64
            && matches!(op, JmpOp::Eq | JmpOp::Ne)
            && dst.flags.maybe_null
            && src_reg.is_scalar()
            && src_reg.const_value() == Some(0)
            && matches!(src, Source::Imm(_))
        {
            let maps = self.input.maps;
            mark_ptr_or_null(&mut other, &dst, op == JmpOp::Eq, maps);
            mark_ptr_or_null(&mut self.cur, &dst, op == JmpOp::Ne, maps);
        } else if !(s_idx.is_some()
            && self.try_match_pkt_pointers(width, op, (d, s_idx.unwrap_or(d)), &dst, &src_reg, &mut other))
            && self.is_pointer_value(d)
        {
            return Err(self.reject(EACCES, format!("R{d} pointer comparison prohibited")));
        }
        if other_dead || this_dead {
            self.mark_precise(operands);
        }
        if !other_dead {
            self.push_branch(other, target)?;
        }
        Ok(if this_dead { Step::Done } else { Step::Next })
    }

    /// `try_match_pkt_pointers()`: packet pointers compared with
    /// `pkt_end` (or meta with data). `other` is the taken side,
    /// `self.cur` the fall-through. The side where the moving pointer is
    /// below the end proves its bytes (`find_good_pkt_pointers()`, one
    /// more for a strict `<`); the side where it is at or beyond the end
    /// marks it so (`mark_pkt_end()`) for later comparisons.
    fn try_match_pkt_pointers(
        &mut self,
        width: Width,
        op: JmpOp,
        regs: (usize, usize),
        dst: &RegState,
        src: &RegState,
        other: &mut VerifierState,
    ) -> bool {
        if width != Width::W64 {
            return false;
        }
        let init_pkt =
            |r: &RegState| r.typ == RegType::Packet && r.off == 0 && r.var.const_value() == Some(0);
        // The moving pointer, its register, and whether it is on the left.
        let (ptr, regno, ptr_left) = if (dst.typ == RegType::Packet && src.typ == RegType::PacketEnd)
            || (dst.typ == RegType::PacketMeta && init_pkt(src))
        {
            (dst, regs.0, true)
        } else if (dst.typ == RegType::PacketEnd && src.typ == RegType::Packet)
            || (init_pkt(dst) && src.typ == RegType::PacketMeta)
        {
            (src, regs.1, false)
        } else {
            return false;
        };
        // The comparison from the moving pointer's side: ptr OP end.
        let op = if ptr_left { op } else { flip(op) };
        // (taken side is below, strict) for the "below" relation.
        let (below_taken, strict_below) = match op {
            JmpOp::Lt => (true, true),
            JmpOp::Le => (true, false),
            JmpOp::Gt => (false, false),
            JmpOp::Ge => (false, true),
            _ => return false,
        };
        let ptr = ptr.clone();
        // Above the end: strictly beyond when below was not strict.
        let beyond = !strict_below;
        if below_taken {
            find_good_pkt_pointers(other, &ptr, strict_below);
            mark_pkt_end(&mut self.cur, regno, beyond);
        } else {
            find_good_pkt_pointers(&mut self.cur, &ptr, strict_below);
            mark_pkt_end(other, regno, beyond);
        }
        true
    }
}

/// `mark_pkt_end()`: the pointer in `regno` is at (`AT_PKT_END`) or
/// beyond (`BEYOND_PKT_END`) the packet's end; packet meta pointers are
/// not marked, as in the kernel.
fn mark_pkt_end(st: &mut VerifierState, regno: usize, beyond: bool) {
    let r = &mut st.cur_mut().regs[regno];
    if r.typ == RegType::Packet {
        r.range = if beyond { BEYOND_PKT_END } else { AT_PKT_END };
    }
}

/// The registers of the current frame sharing a scalar id with the
/// operands, and whether copies exist elsewhere (another frame's
/// registers, spilled on any stack): what a comparison refines together.
fn linked_regs(st: &VerifierState, dst: &RegState, src: Option<&RegState>) -> (u16, bool) {
    let ids: Vec<u32> =
        [Some(dst), src].into_iter().flatten().filter(|r| r.is_scalar() && r.id != 0).map(|r| r.id).collect();
    if ids.is_empty() {
        return (0, false);
    }
    let n = st.frames.len();
    let mut mask = 0u16;
    let mut other = false;
    for (fi, f) in st.frames.iter().enumerate() {
        for (r, reg) in f.regs.iter().enumerate() {
            if reg.is_scalar() && ids.contains(&reg.id) {
                if fi + 1 == n {
                    mask |= 1 << r;
                } else {
                    other = true;
                }
            }
        }
        for s in &f.stack {
            if s.spilled.is_scalar()
                && ids.contains(&s.spilled.id)
                && s.slot_type.contains(&crate::state::SlotType::Spill)
            {
                other = true;
            }
        }
    }
    (mask, other)
}

/// `reg_not_null()` (Linux 6.18): the pointer types that can never be
/// NULL. Packet, stack and ctx pointers are not among them, so comparing
/// one with zero explores both branches, as the kernel does.
fn reg_not_null(r: &RegState) -> bool {
    if !r.typ.is_pointer() || r.flags.maybe_null {
        return false;
    }
    match r.typ {
        RegType::Sock | RegType::MapValue | RegType::MapKey | RegType::ConstMapPtr => true,
        RegType::BtfId => r.flags.trusted,
        RegType::Mem => !r.flags.untrusted,
        _ => false,
    }
}

/// `is_pkt_ptr_branch_taken()`: a packet pointer known to be at or beyond
/// `pkt_end` (a negative `range`, [`AT_PKT_END`] / [`BEYOND_PKT_END`])
/// compared with `pkt_end` again.
fn pkt_ptr_branch_taken(dst: &RegState, src: &RegState, op: JmpOp) -> Branch {
    let (pkt, op) = if src.typ == RegType::PacketEnd {
        (dst, op)
    } else if dst.typ == RegType::PacketEnd {
        (src, flip(op))
    } else {
        return Branch::Unknown;
    };
    if pkt.range >= 0 {
        return Branch::Unknown;
    }
    let decided = |taken: bool| if taken { Branch::Taken } else { Branch::NotTaken };
    match op {
        JmpOp::Le | JmpOp::Gt if pkt.range == BEYOND_PKT_END => decided(op == JmpOp::Gt),
        JmpOp::Lt | JmpOp::Ge => decided(op == JmpOp::Ge),
        _ => Branch::Unknown,
    }
}

/// The comparison with its operands swapped (`flip_opcode()`).
fn flip(op: JmpOp) -> JmpOp {
    match op {
        JmpOp::Gt => JmpOp::Lt,
        JmpOp::Lt => JmpOp::Gt,
        JmpOp::Ge => JmpOp::Le,
        JmpOp::Le => JmpOp::Ge,
        JmpOp::SGt => JmpOp::SLt,
        JmpOp::SLt => JmpOp::SGt,
        JmpOp::SGe => JmpOp::SLe,
        JmpOp::SLe => JmpOp::SGe,
        other => other,
    }
}

/// `is_branch_taken()` for any operands: scalars by their bounds, two
/// packet pointers by `pkt_end` marks, a never-NULL pointer against the
/// constant zero, otherwise unknown.
fn branch_taken(dst: &RegState, src: &RegState, op: JmpOp, width: Width) -> Branch {
    if dst.is_scalar() && src.is_scalar() {
        return is_branch_taken(&dst.var, &src.var, op, width);
    }
    if dst.typ.is_pkt_pointer_any() && src.typ.is_pkt_pointer_any() && width == Width::W64 {
        return pkt_ptr_branch_taken(dst, src, op);
    }
    let zero = |r: &RegState| {
        r.is_scalar()
            && match width {
                Width::W64 => r.var.const_value() == Some(0),
                Width::W32 => r.var.var_off.subreg_is_const() && r.var.var_off.subreg().value == 0,
            }
    };
    if (reg_not_null(dst) && zero(src)) || (zero(dst) && reg_not_null(src)) {
        return match op {
            JmpOp::Eq => Branch::NotTaken,
            JmpOp::Ne => Branch::Taken,
            _ => Branch::Unknown,
        };
    }
    Branch::Unknown
}

/// Gives register `r` of `st`'s current frame the bounds `b`, and every
/// scalar sharing its id (in any frame, spilled or not) too.
fn set_linked(st: &mut VerifierState, r: usize, b: &ScalarBounds) {
    let id = st.cur().regs[r].id;
    st.cur_mut().regs[r].var = *b;
    if id == 0 {
        return;
    }
    for_each_reg(st, |x| {
        if x.is_scalar() && x.id == id {
            x.var = *b;
        }
    });
}

/// `mark_ptr_or_null_regs()`: every copy of the pointer (same id)
/// becomes NULL (a scalar 0) or a pointer no longer `_or_null`.
///
/// A pointer found non-NULL loses its id (no later check needs it, and
/// pruning compares fewer ids) unless it may point to a spin lock, whose
/// `bpf_spin_unlock()` must name the same object (`reg_may_point_to_spin_lock()`).
fn mark_ptr_or_null(st: &mut VerifierState, reg: &RegState, is_null: bool, maps: &[crate::env::MapInfo]) {
    let id = reg.id;
    if id == 0 {
        return;
    }
    let mut dropped_ref = 0;
    for_each_reg(st, |x| {
        if x.typ.is_pointer() && x.flags.maybe_null && x.id == id {
            if is_null {
                // Only the register that is the reference itself (a
                // dynptr slice carries its dynptr's reference).
                if x.ref_obj_id == x.id {
                    dropped_ref = dropped_ref.max(x.ref_obj_id);
                }
                *x = RegState::constant(0);
            } else {
                x.flags.maybe_null = false;
                let spin_lock = x.typ == RegType::MapValue
                    && super::fmt::map_of(maps, x).is_some_and(|m| m.spin_lock_off.is_some());
                if !spin_lock {
                    x.id = 0;
                }
            }
        }
    });
    if is_null && dropped_ref != 0 {
        // A NULL result holds no reference.
        st.refs.retain(|r| r.id != dropped_ref);
    }
}

/// `find_good_pkt_pointers()`: `ptr <= pkt_end` proves `ptr.off` bytes
/// from the base shared by the id, `ptr < pkt_end` one more
/// (`range_right_open`).
fn find_good_pkt_pointers(st: &mut VerifierState, ptr: &RegState, right_open: bool) {
    if ptr.off < 0 || (ptr.off == 0 && right_open) {
        return;
    }
    if ptr.var.umax > MAX_PACKET_OFF || ptr.var.umax + ptr.off as u64 > MAX_PACKET_OFF {
        return;
    }
    let (typ, id, range) = (ptr.typ, ptr.id, ptr.off + i32::from(right_open));
    for_each_reg(st, |x| {
        if x.typ == typ && x.id == id {
            x.range = x.range.max(range);
        }
    });
}
