//! Relocation at load (libbpf's `bpf_object__relocate()`):
//!
//! 1. [`link`] appends to an entry program every `.text` subprogram it
//!    reaches, transitively, each once, in order of first use, and points
//!    calls (`BPF_PSEUDO_CALL`) and function addresses (`ld_imm64` →
//!    `BPF_PSEUDO_FUNC`) at the appended copies (`bpf_object__reloc_code()`).
//!    A call target is `sym_off / 8 + imm + 1` for a relocated call,
//!    `(sym_off + imm) / 8` for a relocated function address, and
//!    relative to the caller's own section position for an unrelocated
//!    call (only inside `.text`).
//! 2. [`resolve`] rewrites the recorded references once maps exist:
//!    maps → `BPF_PSEUDO_MAP_FD`, global data → `BPF_PSEUDO_MAP_VALUE`
//!    with the variable's offset added to the instruction's, `.kconfig`
//!    → the `.kconfig` map's value, ksym variables → `BPF_PSEUDO_BTF_ID`,
//!    kfunc calls → `BPF_PSEUDO_KFUNC_CALL` with the vmlinux BTF id.
//!    Calls of unresolved `__weak` kfuncs are poisoned (libbpf's
//!    `poison_kfunc_call()`: a helper call the verifier refuses if reached).

use super::Object;
use super::externs::ExternKind;
use super::parse::{CALL, LD_IMM64, PSEUDO_CALL};
use crate::error::{Error, Result};
use crate::program::{Reloc, RelocKind};
use bpfemu_isa::Insn;

/// `BPF_PSEUDO_MAP_FD`, `BPF_PSEUDO_MAP_VALUE`, `BPF_PSEUDO_BTF_ID`,
/// `BPF_PSEUDO_FUNC`, `BPF_PSEUDO_KFUNC_CALL`.
pub const PSEUDO_MAP_FD: u8 = 1;
pub const PSEUDO_MAP_VALUE: u8 = 2;
pub const PSEUDO_BTF_ID: u8 = 3;
pub const PSEUDO_FUNC: u8 = 4;
pub const PSEUDO_KFUNC_CALL: u8 = 2;
/// libbpf's `POISON_CALL_KFUNC_BASE`.
pub const POISON_CALL_KFUNC_BASE: i32 = 2_002_000_000;

/// A program's code with its subprograms appended, and the relocations
/// left to resolve, at their final positions.
#[derive(Clone, Debug)]
pub struct Linked {
    pub insns: Vec<Insn>,
    pub relocs: Vec<Reloc>,
    /// (program index, first instruction) of each piece, main first.
    pub pieces: Vec<(usize, usize)>,
}

fn prog_err(obj: &Object, pi: usize, msg: String) -> Error {
    Error::Program { prog: obj.programs[pi].name.clone(), msg }
}

/// Step 1 for entry program `main`.
pub fn link(obj: &Object, main: usize) -> Result<Linked> {
    let mp = &obj.programs[main];
    let mut out = Linked { insns: mp.insns.clone(), relocs: mp.relocs.clone(), pieces: vec![(main, 0)] };
    let mut i = 0;
    while i < out.insns.len() {
        let insn = out.insns[i];
        let relo = out.relocs.iter().find(|r| r.insn_idx == i).cloned();
        let is_call = insn.code == CALL && insn.src == PSEUDO_CALL;
        let is_func_addr = insn.code == LD_IMM64
            && (matches!(relo.as_ref().map(|r| &r.kind), Some(RelocKind::SubprogAddr { .. }))
                || insn.src == PSEUDO_FUNC);
        if matches!(relo.as_ref().map(|r| &r.kind), Some(RelocKind::ExternCall { .. }))
            || !(is_call || is_func_addr)
        {
            i += if insn.code == LD_IMM64 { 2 } else { 1 };
            continue;
        }
        let (piece_prog, piece_start) = *out.pieces.iter().rev().find(|(_, s)| *s <= i).unwrap_or(&(main, 0));
        let sub = match relo.as_ref().map(|r| &r.kind) {
            Some(RelocKind::Call { sym_off }) => (*sym_off / 8) as i64 + i64::from(insn.imm) + 1,
            Some(RelocKind::SubprogAddr { sym_off }) => (*sym_off as i64 + i64::from(insn.imm)) / 8,
            Some(_) => return Err(prog_err(obj, main, format!("unexpected relocation for instruction {i}"))),
            None if is_func_addr => {
                return Err(prog_err(
                    obj,
                    main,
                    format!("missing relocation for function address at instruction {i}"),
                ));
            }
            None => {
                let p = &obj.programs[piece_prog];
                if Some(p.sec_idx) != obj.text_shndx {
                    return Err(prog_err(
                        obj,
                        main,
                        format!("call at instruction {i} has no relocation and is not inside .text"),
                    ));
                }
                (p.sec_insn_off + (i - piece_start)) as i64 + i64::from(insn.imm) + 1
            }
        };
        let text = obj.text_shndx;
        let sp = obj
            .programs
            .iter()
            .position(|p| {
                Some(p.sec_idx) == text
                    && sub >= p.sec_insn_off as i64
                    && sub < (p.sec_insn_off + p.insns.len()) as i64
            })
            .ok_or_else(|| {
                prog_err(obj, main, format!("no .text subprogram at instruction {sub} (called at {i})"))
            })?;
        let start = match out.pieces.iter().find(|(p, _)| *p == sp) {
            Some((_, s)) => *s,
            None => {
                let s = out.insns.len();
                let p = &obj.programs[sp];
                out.insns.extend_from_slice(&p.insns);
                out.relocs.extend(p.relocs.iter().map(|r| Reloc { insn_idx: r.insn_idx + s, ..r.clone() }));
                out.pieces.push((sp, s));
                s
            }
        };
        let target = start as i64 + (sub - obj.programs[sp].sec_insn_off as i64);
        let rel = target - i as i64 - 1;
        out.insns[i].imm = i32::try_from(rel)
            .map_err(|_| prog_err(obj, main, format!("call offset out of range at {i}")))?;
        if is_func_addr {
            out.insns[i].src = PSEUDO_FUNC;
            if let Some(n) = out.insns.get_mut(i + 1) {
                n.imm = 0;
            }
        }
        i += if insn.code == LD_IMM64 { 2 } else { 1 };
    }
    Ok(out)
}

/// Step 2: resolves map, data and extern references (maps must exist).
pub fn resolve(obj: &Object, linked: &mut Linked) -> Result<()> {
    for r in &linked.relocs {
        let i = r.insn_idx;
        let fail = |msg: String| Error::Reloc {
            section: r.rel_section.clone(),
            index: r.rel_index,
            offset: r.offset,
            msg,
        };
        let map_fd = |m: usize| {
            obj.maps
                .get(m)
                .and_then(|m| m.fd)
                .ok_or_else(|| fail(format!("map for '{}' was not created", r.sym_name)))
        };
        if i >= linked.insns.len() {
            return Err(fail("instruction out of range".into()));
        }
        let wide = i + 1 < linked.insns.len();
        match &r.kind {
            RelocKind::Call { .. } | RelocKind::SubprogAddr { .. } => {}
            RelocKind::Map { map } => {
                let fd = map_fd(*map)?;
                linked.insns[i].src = PSEUDO_MAP_FD;
                linked.insns[i].imm = fd;
            }
            RelocKind::Data { map, off } => {
                let fd = map_fd(*map)?;
                if !wide {
                    return Err(fail("ld_imm64 without its second slot".into()));
                }
                let base = linked.insns[i].imm;
                linked.insns[i + 1].imm = base.wrapping_add(*off as i32);
                linked.insns[i].src = PSEUDO_MAP_VALUE;
                linked.insns[i].imm = fd;
            }
            RelocKind::ExternLd { ext } => {
                let e = obj.externs.get(*ext).ok_or_else(|| fail("bad extern index".into()))?;
                if !wide {
                    return Err(fail("ld_imm64 without its second slot".into()));
                }
                match e.kind {
                    ExternKind::Kconfig { data_off, .. } => {
                        let m = obj
                            .maps
                            .iter()
                            .position(|m| m.kind == crate::map::MapKind::Kconfig)
                            .ok_or_else(|| fail("no .kconfig map".into()))?;
                        linked.insns[i].src = PSEUDO_MAP_VALUE;
                        linked.insns[i].imm = map_fd(m)?;
                        linked.insns[i + 1].imm = data_off as i32;
                    }
                    // A kfunc's address (`bpf_ksym_exists()`) is a BTF id load too.
                    ExternKind::KsymVar { .. } | ExternKind::KsymFunc if e.resolved => {
                        linked.insns[i].src = PSEUDO_BTF_ID;
                        linked.insns[i].imm = e.kernel_btf_id as i32;
                        linked.insns[i + 1].imm = 0;
                    }
                    ExternKind::KsymVar { .. } | ExternKind::KsymFunc => {
                        linked.insns[i].src = 0;
                        linked.insns[i].imm = 0;
                        linked.insns[i + 1].imm = 0;
                    }
                }
            }
            RelocKind::ExternCall { ext } => {
                let e = obj.externs.get(*ext).ok_or_else(|| fail("bad extern index".into()))?;
                if e.kind != ExternKind::KsymFunc {
                    return Err(fail(format!("call of '{}', which is not a function", e.name)));
                }
                if e.resolved {
                    linked.insns[i] = Insn::new(CALL, 0, PSEUDO_KFUNC_CALL, 0, e.kernel_btf_id as i32);
                } else {
                    linked.insns[i] = Insn::new(CALL, 0, 0, 0, POISON_CALL_KFUNC_BASE + *ext as i32);
                }
            }
        }
    }
    Ok(())
}
