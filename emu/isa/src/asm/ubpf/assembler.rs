//! The assembler: one line at a time, with labels patched at the end.

use super::UbpfAsmError;
use super::mnemonics::{ALU_OPS, JMP_OPS, MOVSX, endian, mem_mnemonic, split_width};
use super::operands::{address, imm32, imm64, parse_int, reg};
use crate::insn::Insn;
use crate::opcode::*;
use std::collections::HashMap;

/// Which field a label reference patches.
#[derive(Clone, Copy)]
enum Field {
    /// The 16-bit `off` (conditional jumps, `ja`).
    Off,
    /// The 32-bit `imm` (`ja32`, `call local`).
    Imm,
}

struct Fixup<'a> {
    slot: usize,
    line: usize,
    label: &'a str,
    field: Field,
}

#[derive(Default)]
pub(super) struct Assembler<'a> {
    out: Vec<Insn>,
    /// Label name to (slot, defining line).
    labels: HashMap<&'a str, (usize, usize)>,
    fixups: Vec<Fixup<'a>>,
    first_exit: Option<usize>,
}

impl<'a> Assembler<'a> {
    pub(super) fn line(&mut self, line: usize, text: &'a str) -> Result<(), String> {
        let code = text.split('#').next().unwrap_or_default();
        let mut toks = code.split(|c: char| c.is_whitespace() || c == ',').filter(|t| !t.is_empty());
        let mut mnemonic = None;
        for tok in toks.by_ref() {
            match tok.strip_suffix(':') {
                Some(name) => self.label(name, line)?,
                None => {
                    mnemonic = Some(tok);
                    break;
                }
            }
        }
        let Some(m) = mnemonic else { return Ok(()) };
        let ops: Vec<&'a str> = toks.collect();
        let slot = self.out.len();
        let insn = self.instruction(line, slot, m, &ops)?;
        self.out.push(insn);
        Ok(())
    }

    fn label(&mut self, name: &'a str, line: usize) -> Result<(), String> {
        if name.is_empty() || name.starts_with(['+', '-']) {
            return Err(format!("Invalid label name: '{name}'"));
        }
        if let Some((_, prev)) = self.labels.insert(name, (self.out.len(), line)) {
            return Err(format!("Duplicate label: {name} (first defined on line {prev})"));
        }
        Ok(())
    }

    /// Encodes one instruction; a 64-bit load pushes its first slot itself
    /// and returns the second.
    fn instruction(&mut self, line: usize, slot: usize, m: &str, ops: &[&'a str]) -> Result<Insn, String> {
        let jmp = |op: u8| BPF_JMP | op;
        Ok(match m {
            "lock" => lock(ops)?,
            "call" => self.call(line, slot, ops)?,
            "exit" => {
                let [] = operands(m, ops)?;
                self.first_exit.get_or_insert(slot);
                Insn::new(jmp(BPF_EXIT), 0, 0, 0, 0)
            }
            "ja" => {
                let [t] = operands(m, ops)?;
                let off = self.target(t, line, slot, Field::Off)?;
                Insn::new(jmp(BPF_JA), 0, 0, off as i16, 0)
            }
            "ja32" => {
                let [t] = operands(m, ops)?;
                let imm = self.target(t, line, slot, Field::Imm)?;
                Insn::new(BPF_JMP32 | BPF_JA, 0, 0, 0, imm)
            }
            "lddw" => {
                let [d, v] = operands(m, ops)?;
                let dst = reg(d)?;
                let v = imm64(v)?;
                let code = BPF_LD | BPF_IMM | BPF_DW;
                self.out.push(Insn::new(code, dst, 0, 0, v as u32 as i32));
                Insn::new(0, 0, 0, 0, (v >> 32) as u32 as i32)
            }
            _ => self.table(line, slot, m, ops)?,
        })
    }

    /// The table-driven mnemonics: ALU, byte swaps, conditional jumps,
    /// loads and stores.
    fn table(&mut self, line: usize, slot: usize, m: &str, ops: &[&'a str]) -> Result<Insn, String> {
        let (base, w32) = split_width(m);
        if let Some((code, bits)) = endian(m) {
            let [d] = operands(m, ops)?;
            return Ok(Insn::new(code, reg(d)?, 0, 0, bits));
        }
        let alu_class = if w32 { BPF_ALU } else { BPF_ALU64 };
        if base == "neg" {
            let [d] = operands(m, ops)?;
            return Ok(Insn::new(alu_class | BPF_NEG, reg(d)?, 0, 0, 0));
        }
        let alu = ALU_OPS.iter().find(|e| e.0 == base).map(|&(_, op, off)| (alu_class | op, off));
        let movsx = MOVSX.iter().find(|e| e.0 == m).map(|&(_, cls, off)| (cls | BPF_MOV, off));
        if let Some((code, off)) = alu.or(movsx) {
            let [d, s] = operands(m, ops)?;
            let dst = reg(d)?;
            return Ok(if s.starts_with('%') {
                Insn::new(code | BPF_X, dst, reg(s)?, off, 0)
            } else {
                Insn::new(code | BPF_K, dst, 0, off, imm32(s)?)
            });
        }
        if let Some(&(_, op)) = JMP_OPS.iter().find(|e| e.0 == base) {
            let code = op | if w32 { BPF_JMP32 } else { BPF_JMP };
            let [d, s, t] = operands(m, ops)?;
            let dst = reg(d)?;
            let (code, src, imm) =
                if s.starts_with('%') { (code | BPF_X, reg(s)?, 0) } else { (code | BPF_K, 0, imm32(s)?) };
            let off = self.target(t, line, slot, Field::Off)?;
            return Ok(Insn::new(code, dst, src, off as i16, imm));
        }
        if let Some(code) = mem_mnemonic(m) {
            return match class(code) {
                BPF_LDX => {
                    let [d, a] = operands(m, ops)?;
                    let dst = reg(d)?;
                    let (src, off) = address(a)?;
                    Ok(Insn::new(code, dst, src, off, 0))
                }
                BPF_ST => {
                    let [a, v] = operands(m, ops)?;
                    let (dst, off) = address(a)?;
                    Ok(Insn::new(code, dst, 0, off, imm32(v)?))
                }
                _ => {
                    let [a, s] = operands(m, ops)?;
                    let (dst, off) = address(a)?;
                    Ok(Insn::new(code, dst, reg(s)?, off, 0))
                }
            };
        }
        Err(format!("Invalid mnemonic: {m}"))
    }

    fn call(&mut self, line: usize, slot: usize, ops: &[&'a str]) -> Result<Insn, String> {
        let (mode, t) = match *ops {
            [t] => ("helper", t),
            [mode, t] => (mode, t),
            _ => return Err(count_error("call")),
        };
        let code = BPF_JMP | BPF_CALL;
        Ok(match mode {
            "helper" if t.starts_with('%') => Insn::new(code | BPF_X, reg(t)?, 0, 0, 0),
            "helper" => Insn::new(code, 0, 0, 0, imm32(t)?),
            "local" => {
                let imm = self.target(t, line, slot, Field::Imm)?;
                Insn::new(code, 0, BPF_PSEUDO_CALL, 0, imm)
            }
            "runtime" => Insn::new(code, 0, BPF_PSEUDO_KFUNC_CALL, 0, imm32(t)?),
            _ => return Err(format!("Invalid call mode: {mode}")),
        })
    }

    /// A jump target: a signed offset now, or a label patched by `finish`.
    fn target(&mut self, t: &'a str, line: usize, slot: usize, field: Field) -> Result<i32, String> {
        if !t.starts_with(['+', '-']) {
            self.fixups.push(Fixup { slot, line, label: t, field });
            return Ok(0);
        }
        let v = parse_int(t).ok_or_else(|| format!("Invalid offset: {t}"))?;
        fit(v, field).ok_or_else(|| format!("Jump offset out of range: {t}"))
    }

    pub(super) fn finish(mut self) -> Result<Vec<Insn>, UbpfAsmError> {
        for f in &self.fixups {
            let err = |message| UbpfAsmError { line: f.line, message };
            let explicit = self.labels.get(f.label).map(|&(slot, _)| slot);
            let implicit = if f.label == "exit" { self.first_exit } else { None };
            let dest = explicit.or(implicit).ok_or_else(|| err(format!("Invalid label: {}", f.label)))?;
            let delta = dest as i128 - f.slot as i128 - 1;
            let v = fit(delta, f.field)
                .ok_or_else(|| err(format!("Jump offset to label {} out of range: {delta}", f.label)))?;
            let insn = &mut self.out[f.slot];
            match f.field {
                Field::Off => insn.off = v as i16,
                Field::Imm => insn.imm = v,
            }
        }
        Ok(self.out)
    }
}

/// Checks that a jump distance fits the field it goes into.
fn fit(v: i128, field: Field) -> Option<i32> {
    match field {
        Field::Off => i16::try_from(v).ok().map(i32::from),
        Field::Imm => i32::try_from(v).ok(),
    }
}

/// Checks the operand count, upstream's wording.
fn operands<'o, const N: usize>(m: &str, ops: &[&'o str]) -> Result<[&'o str; N], String> {
    <[&'o str; N]>::try_from(ops).map_err(|_| count_error(m))
}

fn count_error(m: &str) -> String {
    format!("Invalid number of operands for mnemonic: {m}")
}

/// `lock [fetch] OP [%rD+off], %rS`.
fn lock(ops: &[&str]) -> Result<Insn, String> {
    let (fetch, rest) = match ops.split_first() {
        Some((&"fetch", rest)) => (BPF_FETCH, rest),
        _ => (0, ops),
    };
    let &[op, a, s] = rest else {
        return Err("Invalid number of operands for lock (lock [fetch] OP [%rD+OFF], %rS)".into());
    };
    let (base, w32) = split_width(op);
    let imm = match base {
        "add" => i32::from(BPF_ADD) | fetch,
        "or" => i32::from(BPF_OR) | fetch,
        "and" => i32::from(BPF_AND) | fetch,
        "xor" => i32::from(BPF_XOR) | fetch,
        "xchg" => BPF_XCHG,
        "cmpxchg" => BPF_CMPXCHG,
        _ => return Err(format!("Invalid mnemonic: lock {op}")),
    };
    let size = if w32 { BPF_W } else { BPF_DW };
    let (dst, off) = address(a)?;
    Ok(Insn::new(BPF_STX | BPF_ATOMIC | size, dst, reg(s)?, off, imm))
}
