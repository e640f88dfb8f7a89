//! Registers and states as the log prints them (`reg_type_str()` in
//! kernel/bpf/verifier.c, `print_verifier_state()` / `print_reg_state()`
//! in kernel/bpf/log.c, Linux 6.8+ forms): `R1=ctx()`, `R10=fp0`,
//! `R2=fp-8`, `R0=map_value_or_null(id=1,map=m,ks=4,vs=8)`,
//! `R3=pkt(off=14,r=14)`, scalars through [`ScalarBounds::log_repr`].
//!
//! Not emulated: the `_r` / `_D` liveness marks (register liveness is
//! static here, stack-slot marks live in the kept states' chain entries);
//! `_w` marks the registers the instruction just wrote.

use super::Verifier;
use crate::bounds::ScalarBounds;
use crate::env::MapInfo;
use crate::state::{BPF_REG_SIZE, RegState, RegType, SlotType, VerifierState};

/// The kernel's name of a register's type with its flags
/// (`reg_type_str()`): `map_value_or_null`, `rdonly_mem`, `ptr_or_null_`.
pub fn reg_type_str(r: &RegState) -> String {
    let mut prefix = String::new();
    if r.flags.rdonly {
        prefix.push_str("rdonly_");
    }
    if r.flags.ringbuf {
        prefix.push_str("ringbuf_");
    }
    if r.flags.user {
        prefix.push_str("user_");
    }
    if r.flags.untrusted {
        prefix.push_str("untrusted_");
    }
    if r.flags.trusted {
        prefix.push_str("trusted_");
    }
    let postfix = match (r.flags.maybe_null, r.typ) {
        (false, _) => "",
        (true, RegType::BtfId) => "or_null_",
        (true, _) => "_or_null",
    };
    // An unchecked map-in-map lookup result is a map pointer here but
    // `PTR_TO_MAP_VALUE_OR_NULL` in the kernel until its NULL check
    // (`mark_ptr_not_null_reg()` makes it `CONST_PTR_TO_MAP`): name it so.
    let name = if r.typ == RegType::ConstMapPtr && r.flags.maybe_null {
        RegType::MapValue.kernel_name()
    } else {
        r.typ.kernel_name()
    };
    format!("{prefix}{name}{postfix}")
}

pub(crate) fn map_of<'m>(maps: &'m [MapInfo], r: &RegState) -> Option<&'m MapInfo> {
    let m = maps.get(r.map as usize)?;
    if r.inner_map { m.inner.as_deref() } else { Some(m) }
}

/// One register's value as a state line prints it (`print_reg_state()`);
/// `cur_frame` is the frame whose line it is (stack pointers of other
/// frames get `[n]`).
pub fn reg_repr(v: &Verifier<'_, '_>, r: &RegState, cur_frame: u32) -> String {
    match r.typ {
        RegType::NotInit => return "?".to_string(),
        RegType::Scalar => return r.var.log_repr(r.precise, r.id),
        _ => {}
    }
    let mut out = reg_type_str(r);
    if r.typ == RegType::BtfId {
        out.push_str(&v.input.prog_type.btf_type_name(r.btf_id).unwrap_or_default());
    }
    if r.typ == RegType::Stack {
        if r.frameno != cur_frame {
            out.push_str(&format!("[{}]", r.frameno));
        }
        if let Some(c) = r.var.const_value() {
            out.push_str(&(c as i64 + i64::from(r.off)).to_string());
            return out;
        }
    }
    let mut parts: Vec<String> = Vec::new();
    if r.id != 0 {
        parts.push(format!("id={}", r.id));
    }
    if r.ref_obj_id != 0 {
        parts.push(format!("ref_obj_id={}", r.ref_obj_id));
    }
    if matches!(r.typ, RegType::ConstMapPtr | RegType::MapValue | RegType::MapKey)
        && let Some(m) = map_of(v.input.maps, r)
    {
        if !m.name.is_empty() {
            parts.push(format!("map={}", m.name));
        }
        parts.push(format!("ks={},vs={}", m.key_size, m.value_size));
    }
    if r.off != 0 {
        parts.push(format!("off={}", r.off));
    }
    if r.typ.is_pkt_pointer() {
        // `verbose_unum()` of the int: the negative pkt_end marks print
        // as large hex numbers (`r=0xfffffffffffffffe`).
        if r.range >= 0 {
            parts.push(format!("r={}", r.range));
        } else {
            parts.push(format!("r={:#x}", i64::from(r.range) as u64));
        }
    }
    if r.typ == RegType::Mem {
        parts.push(format!("sz={}", r.mem_size));
    }
    if let Some(c) = r.var.const_value() {
        if c != 0 {
            parts.push(format!("imm={}", c as i64));
        }
    } else {
        let s = r.var.log_repr(false, 0);
        let inner = s.strip_prefix("scalar(").and_then(|x| x.strip_suffix(')')).unwrap_or("");
        if !inner.is_empty() {
            parts.push(inner.to_string());
        }
    }
    out.push('(');
    out.push_str(&parts.join(","));
    out.push(')');
    out
}

fn slot_repr(v: &Verifier<'_, '_>, s: &crate::state::StackSlot, cur_frame: u32) -> String {
    if s.is_spilled_reg() {
        // A narrow spill: the bytes above it first, as the kernel's
        // slot_type[] lists them (highest address first), e.g. `????0`.
        let above: String = (0..BPF_REG_SIZE)
            .rev()
            .take_while(|&i| s.byte(i) != SlotType::Spill)
            .map(|i| s.byte(i).log_char())
            .collect();
        return format!("{above}{}", reg_repr(v, &s.spilled, cur_frame));
    }
    (0..BPF_REG_SIZE).rev().map(|i| s.byte(i).log_char()).collect()
}

/// The registers and stack slots of frame `frameno` of the current state
/// (`print_verifier_state()`): all of them when `only` is `None`, else the
/// registers and stack slots (by slot index) the instruction touched —
/// the kernel's "scratched" marks. Starts with a space unless empty.
pub fn frame_repr(v: &Verifier<'_, '_>, frameno: usize, only: Option<(u16, u64)>) -> String {
    let Some(f) = v.cur.frames.get(frameno) else { return String::new() };
    let mut out = String::new();
    let fno = f.frameno;
    if fno != 0 {
        out.push_str(&format!(" frame{fno}:"));
    }
    let (regs, slots) = only.unwrap_or((u16::MAX, u64::MAX));
    for (i, r) in f.regs.iter().enumerate() {
        if r.typ == RegType::NotInit || regs & (1 << i) == 0 {
            continue;
        }
        out.push_str(&format!(" R{i}={}", reg_repr(v, r, fno)));
    }
    for (i, s) in f.stack.iter().enumerate() {
        if s.slot_type.iter().all(|t| *t == SlotType::Invalid) || i >= 64 || slots & (1 << i) == 0 {
            continue;
        }
        out.push_str(&format!(" fp-{}={}", (i + 1) * BPF_REG_SIZE, slot_repr(v, s, fno)));
    }
    if !v.cur.refs.is_empty() {
        let ids: Vec<String> = v.cur.refs.iter().map(|r| r.id.to_string()).collect();
        out.push_str(&format!(" refs={}", ids.join(",")));
    }
    if f.in_callback_fn {
        out.push_str(" cb");
    }
    out
}

/// The registers an instruction's checks touch (`check_reg_arg()` marks
/// them scratched): its operands, r0-r5 for calls (the arguments become
/// `NOT_INIT` and are not printed), r0-r6 for legacy packet loads.
pub(crate) fn insn_scratch(ins: &bpfemu_isa::Instruction) -> u16 {
    use bpfemu_isa::{AtomicOp, Instruction::*, Source};
    let bit = |r: bpfemu_isa::Reg| 1u16 << r.idx();
    let src = |s: Source| match s {
        Source::Reg(r) => bit(r),
        Source::Imm(_) => 0,
    };
    match *ins {
        Alu { dst, src: s, .. } => bit(dst) | src(s),
        Neg { dst, .. } | Endian { dst, .. } | LdImm64 { dst, .. } | St { dst, .. } => bit(dst),
        Ldx { dst, src: s, .. } | Stx { dst, src: s, .. } => bit(dst) | bit(s),
        Atomic { op: AtomicOp::CmpXchg, dst, src: s, .. } => bit(dst) | bit(s) | 1,
        Atomic { dst, src: s, .. } => bit(dst) | bit(s),
        Jmp { dst, src: s, .. } => bit(dst) | src(s),
        Ja { .. } => 0,
        Call(_) => 0x3f,
        Exit => 0,
        LdPacket { src: s, .. } => 0x7f | s.map_or(0, bit),
    }
}

/// The whole state, every frame (for messages such as the infinite-loop
/// report).
pub fn state_repr(v: &Verifier<'_, '_>, st: &VerifierState) -> String {
    let mut out = String::new();
    for f in &st.frames {
        if f.frameno != 0 {
            out.push_str(&format!(" frame{}:", f.frameno));
        }
        for (i, r) in f.regs.iter().enumerate() {
            if r.typ != RegType::NotInit {
                out.push_str(&format!(" R{i}={}", reg_repr(v, r, f.frameno)));
            }
        }
    }
    out
}

/// Just the bounds of a scalar, for messages (`%lld` of a known value or
/// the tnum).
pub(crate) fn tnum_str(b: &ScalarBounds) -> String {
    b.var_off.to_string()
}
