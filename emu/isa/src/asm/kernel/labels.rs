//! Labels: statements waiting for a label's address, and their resolution
//! once every label is known.

use super::parser::{PResult, err};
use crate::disasm::helper_id;
use crate::instr::*;
use std::collections::HashMap;

/// A parsed statement, possibly waiting for a label's address.
pub(super) struct Stmt {
    pub(super) ins: Instruction,
    fixup: Option<Fixup>,
}

struct Fixup {
    label: String,
    col: usize,
}

impl Stmt {
    pub(super) fn done(ins: Instruction) -> PResult<Stmt> {
        Ok(Stmt { ins, fixup: None })
    }

    pub(super) fn to_label(ins: Instruction, label: String, col: usize) -> PResult<Stmt> {
        Ok(Stmt { ins, fixup: Some(Fixup { label, col }) })
    }
}

/// Patches a label's offset (relative to the next slot) into a jump or call.
pub(super) fn resolve(
    stmt: Stmt,
    pc: usize,
    labels: &HashMap<String, (usize, usize)>,
) -> PResult<Instruction> {
    let Some(Fixup { label, col }) = stmt.fixup else {
        return Ok(stmt.ins);
    };
    let Some(&(target, _)) = labels.get(&label) else {
        if let (Instruction::Call(_), Some(id)) = (stmt.ins, helper_id(&label)) {
            return Ok(Instruction::Call(CallTarget::Helper(id)));
        }
        return err(col, format!("undefined label '{label}'"));
    };
    let off = target as i128 - pc as i128 - 1;
    let mut ins = stmt.ins;
    match &mut ins {
        Instruction::Ja { off: o, long: true } => *o = jump32(off, col)?,
        Instruction::Ja { off: o, long: false } => *o = off16(off, col)?.into(),
        Instruction::Jmp { off: o, .. } => *o = off16(off, col)?,
        Instruction::Call(t) => *t = CallTarget::Local(jump32(off, col)?),
        _ => {}
    }
    Ok(ins)
}

pub(super) fn off16(v: i128, col: usize) -> PResult<i16> {
    let msg = || format!("jump offset {v} out of range (-32768..=32767)");
    i16::try_from(v).map_err(|_| (col, msg()))
}

pub(super) fn jump32(v: i128, col: usize) -> PResult<i32> {
    i32::try_from(v).map_err(|_| (col, format!("jump offset {v} out of range (32-bit)")))
}
