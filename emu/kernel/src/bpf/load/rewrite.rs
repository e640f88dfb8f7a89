//! Step 4 of `BPF_PROG_LOAD`, after the verifier: ctx access conversion
//! (kernel/bpf/verifier.c `convert_ctx_accesses()`, with the instruction
//! patching of `bpf_patch_insn_data()` / `adjust_jmp_off()`).
//!
//! Every load or store the verifier saw go through the ctx
//! ([`bpfemu_verifier::check::CtxRecord`]) is replaced by what the program
//! type's callback ([`crate::progtype::convert`]) emits for the kernel
//! struct:
//!
//! - a load narrower than its field (`ctx_field_size`) is first widened to
//!   the whole field at the field's aligned offset, and the result is
//!   shifted right (`bpf_ctx_narrow_access_offset()`, little endian) and,
//!   when narrower than what was loaded, masked: 32-bit ALU for fields up
//!   to 4 bytes, 64-bit otherwise;
//! - a sign-extending load (`BPF_MEMSX`) is done as a plain load followed
//!   by a sign-extending `mov` of the loaded width.
//!
//! When a replacement is longer than one instruction the program grows,
//! and every jump, local call and function address (`BPF_PSEUDO_FUNC`,
//! by then a callback token with an absolute slot) is re-aimed at
//! where its target moved: a target that was patched lands on the first
//! instruction of its patch, as in `adjust_jmp_off()`. [`Rewritten::map`]
//! gives the new slot of every old one, for whatever else is indexed by
//! instruction (subprogram starts, func/line info).
//!
//! Loads through `PTR_TO_BTF_ID` pointers become guarded loads (the
//! kernel's `BPF_PROBE_MEM`, see [`probe_mem`]), for every program type.
//!
//! Deviation: for a 4-byte load of an 8-byte field the kernel's 64-bit
//! `and` with `(1 << 32) - 1` (an `imm` of -1) clears nothing; bpfemu
//! masks with a 32-bit `and`, which zero-extends as the verifier assumed.

use super::relocate::Relocated;
use crate::errno::Errno;
use crate::progtype::convert::{CtxConv, size_bytes};
use crate::uapi::ProgType;
use bpfemu_isa::Insn;
use bpfemu_isa::opcode::{
    BPF_ALU, BPF_ALU64, BPF_AND, BPF_CALL, BPF_DW, BPF_EXIT, BPF_H, BPF_JA, BPF_JLT, BPF_JMP, BPF_JMP32,
    BPF_K, BPF_LD, BPF_LDX, BPF_MEM, BPF_MEMSX, BPF_MOV, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_RSH, BPF_W,
    BPF_X, class,
};
use bpfemu_verifier::check::{CtxRecord, VerifyOutcome};
use bpfemu_verifier::env::PseudoKind;
use bpfemu_verifier::log::VerifierLog;

/// Why a rewrite failed: the errno and the log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewriteError {
    pub errno: Errno,
    pub msg: String,
}

fn misconfigured() -> RewriteError {
    RewriteError { errno: Errno::EINVAL, msg: "bpf verifier is misconfigured".into() }
}

/// A rewritten program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewritten {
    pub insns: Vec<Insn>,
    /// `map[i]`: the new slot of old slot `i`; `map[len]` the new length.
    pub map: Vec<usize>,
}

/// `relocated` with its ctx accesses converted for `prog_type` (as it was
/// when the type has no conversion), and the new slot of every old one
/// (see [`Rewritten::map`]: for func/line info and subprogram starts).
/// `EINVAL` ("bpf verifier is misconfigured") when a record does not fit
/// its instruction; `ENOMEM` ("insn N cannot be patched due to 16-bit
/// range", as `bpf_patch_insn_data()`) when a jump no longer reaches.
pub fn apply(
    mut relocated: Relocated,
    outcome: &VerifyOutcome,
    prog_type: ProgType,
    log: &mut VerifierLog,
) -> Result<(Relocated, Vec<usize>), Errno> {
    let conv = crate::progtype::convert::for_type(prog_type);
    if conv.is_none() && outcome.btf_loads.is_empty() {
        let same = (0..=relocated.xlated.len()).collect();
        return Ok((relocated, same));
    }
    let accesses: &[(usize, CtxRecord)] = if conv.is_some() { &outcome.ctx_accesses } else { &[] };
    let r = patch_accesses(&relocated.xlated, accesses, conv, &outcome.btf_loads).map_err(|e| {
        log.line(&e.msg);
        e.errno
    })?;
    relocated.xlated = r.insns;
    let map = r.map;
    for p in &mut relocated.pseudo {
        p.slot = map[p.slot];
        // A function address is a callback token naming an absolute slot
        // (see `relocate`): aim it at where the subprogram went.
        if let PseudoKind::Func { target } = &mut p.kind {
            *target = map[*target];
            let token = bpfemu_vm::callback_token(*target as u32);
            relocated.xlated[p.slot].imm = token as u32 as i32;
            relocated.xlated[p.slot + 1].imm = (token >> 32) as u32 as i32;
        }
    }
    Ok((relocated, map))
}

fn size_code(bytes: u32) -> u8 {
    match bytes {
        1 => 0x10,
        2 => BPF_H,
        4 => BPF_W,
        _ => BPF_DW,
    }
}

/// The instructions replacing the ctx access `insn` described by `rec`.
fn convert_one(insn: Insn, rec: &CtxRecord, conv: CtxConv) -> Result<Vec<Insn>, RewriteError> {
    let size = size_bytes(insn.code);
    let ldx = class(insn.code) == BPF_LDX;
    let mode = insn.code & 0xe0;
    if size != rec.size || ldx == rec.write || !(mode == BPF_MEM || (ldx && mode == BPF_MEMSX)) {
        return Err(misconfigured());
    }
    let field = if rec.field_size == 0 { size } else { rec.field_size };
    let narrow = size < field;
    if narrow && rec.write {
        return Err(RewriteError {
            errno: Errno::EINVAL,
            msg: "bpf verifier narrow ctx access misconfigured".into(),
        });
    }
    let mut whole = insn;
    if narrow {
        whole.off = (i32::from(insn.off) & !(field as i32 - 1)) as i16;
        whole.code = BPF_LDX | BPF_MEM | size_code(field);
    } else if ldx {
        whole.code = BPF_LDX | BPF_MEM | size_code(size);
    }
    let mut out = Vec::with_capacity(4);
    let target = conv.convert_ctx_access(whole, rec.write, &mut out);
    if narrow {
        let shift = (i32::from(insn.off) & (field as i32 - 1)) * 8;
        let alu = if field <= 4 { BPF_ALU } else { BPF_ALU64 };
        if shift != 0 {
            out.push(Insn::new(alu | BPF_RSH | BPF_K, insn.dst, 0, 0, shift));
        }
        if size < target {
            let mask = ((1u64 << (size * 8)) - 1) as u32 as i32;
            let alu = if size == 4 { BPF_ALU } else { alu };
            out.push(Insn::new(alu | BPF_AND | BPF_K, insn.dst, 0, 0, mask));
        }
    }
    if ldx && mode == BPF_MEMSX {
        out.push(Insn::new(BPF_ALU64 | BPF_MOV | BPF_X, insn.dst, insn.dst, (size * 8) as i16, 0));
    }
    Ok(out)
}

/// Addresses below this read as 0 through a `PTR_TO_BTF_ID` pointer: a
/// NULL kernel pointer plus a field offset (every emulated kernel struct
/// is smaller than a page).
pub const PROBE_MEM_LIMIT: i32 = 4096;

/// A load through a `PTR_TO_BTF_ID` pointer as `BPF_PROBE_MEM` does it
/// (the x86-64 JIT's range check before the load, an exception-table
/// entry zeroing the destination): the emulated kernel's objects are the
/// only valid targets, and the one invalid pointer such a register can
/// hold is NULL (a tracing program's argument, a NULL member), so an
/// address below [`PROBE_MEM_LIMIT`] loads 0 instead of faulting:
///
/// ```text
/// if src < 4096 goto +2 ; dst = *(size *)(src + off) ; goto +1 ; dst = 0
/// ```
pub fn probe_mem(insn: Insn) -> Result<Vec<Insn>, RewriteError> {
    if class(insn.code) != BPF_LDX {
        return Err(misconfigured());
    }
    Ok(vec![
        Insn::new(BPF_JMP | BPF_JLT | BPF_K, insn.src, 0, 2, PROBE_MEM_LIMIT),
        insn,
        Insn::new(BPF_JMP | BPF_JA, 0, 0, 1, 0),
        Insn::new(BPF_ALU64 | BPF_MOV | BPF_K, insn.dst, 0, 0, 0),
    ])
}

/// `convert_ctx_accesses()` over `insns` with the verifier's records.
pub fn convert_ctx_accesses(
    insns: &[Insn],
    accesses: &[(usize, CtxRecord)],
    conv: CtxConv,
) -> Result<Rewritten, RewriteError> {
    patch_accesses(insns, accesses, Some(conv), &[])
}

/// `convert_ctx_accesses()`: the ctx accesses converted with `conv`, and
/// the loads through `PTR_TO_BTF_ID` pointers (`btf_loads`) guarded as
/// [`probe_mem`] loads.
pub fn patch_accesses(
    insns: &[Insn],
    accesses: &[(usize, CtxRecord)],
    conv: Option<CtxConv>,
    btf_loads: &[usize],
) -> Result<Rewritten, RewriteError> {
    let mut patches: Vec<Option<Vec<Insn>>> = vec![None; insns.len()];
    if let Some(conv) = conv {
        for (slot, rec) in accesses {
            let insn = *insns.get(*slot).ok_or_else(misconfigured)?;
            let new = convert_one(insn, rec, conv)?;
            if new != [insn] {
                patches[*slot] = Some(new);
            }
        }
    }
    for &slot in btf_loads {
        let insn = *insns.get(slot).ok_or_else(misconfigured)?;
        if patches[slot].is_some() {
            return Err(misconfigured());
        }
        patches[slot] = Some(probe_mem(insn)?);
    }
    let mut map = Vec::with_capacity(insns.len() + 1);
    let mut n = 0usize;
    for p in &patches {
        map.push(n);
        n += p.as_ref().map_or(1, Vec::len);
    }
    map.push(n);
    // The second halves of `ld_imm64`, which carry no opcode.
    let mut second = vec![false; insns.len()];
    let mut k = 0;
    while k < insns.len() {
        if insns[k].code == BPF_LD | BPF_DW && k + 1 < insns.len() {
            second[k + 1] = true;
            k += 2;
        } else {
            k += 1;
        }
    }
    let mut out = Vec::with_capacity(n);
    for (i, insn) in insns.iter().enumerate() {
        match &patches[i] {
            Some(p) => out.extend_from_slice(p),
            None if second[i] => out.push(*insn),
            None => out.push(retarget(i, *insn, &map).ok_or_else(|| RewriteError {
                errno: Errno::ENOMEM,
                msg: format!("insn {i} cannot be patched due to 16-bit range"),
            })?),
        }
    }
    Ok(Rewritten { insns: out, map })
}

/// `insn` (at old slot `i`) with its relative target re-aimed through
/// `map`.
/// `None` when the new offset does not fit.
fn retarget(i: usize, mut insn: Insn, map: &[usize]) -> Option<Insn> {
    let c = class(insn.code);
    let op = insn.code & 0xf0;
    let is_ld_imm64 = insn.code == BPF_LD | BPF_DW;
    // Which field holds the offset: `off` for jumps, `imm` for gotol,
    // local calls and function addresses.
    let use_imm = match c {
        BPF_JMP if op == BPF_CALL => insn.src == BPF_PSEUDO_CALL,
        BPF_JMP if op == BPF_EXIT => return Some(insn),
        BPF_JMP => false,
        BPF_JMP32 if op == BPF_JA => true,
        BPF_JMP32 => false,
        BPF_LD if is_ld_imm64 && insn.src == BPF_PSEUDO_FUNC => true,
        _ => return Some(insn),
    };
    if c == BPF_JMP && op == BPF_CALL && !use_imm {
        return Some(insn);
    }
    let rel = if use_imm { i64::from(insn.imm) } else { i64::from(insn.off) };
    let target = i as i64 + 1 + rel;
    // The verifier accepted the program: every target is inside it.
    let t = usize::try_from(target).ok().filter(|&t| t < map.len())?;
    let new_rel = map[t] as i64 - (map[i] as i64 + 1);
    if use_imm {
        insn.imm = i32::try_from(new_rel).ok()?;
    } else {
        insn.off = i16::try_from(new_rel).ok()?;
    }
    Some(insn)
}

#[cfg(test)]
mod tests;
