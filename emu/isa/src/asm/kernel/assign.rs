//! Statements that start with a register: ALU operations, moves, negation,
//! byte swaps, and the dispatch of loads and atomics with a result.

use super::labels::Stmt;
use super::lexer::{Tok, reg_name};
use super::ops::{alu_op, endian_name, parse_atomic_name};
use super::parser::{PResult, Parser, err};
use crate::asm::imm::{fit32, fit64};
use crate::instr::*;

pub(super) fn alu(width: Width, op: AluOp, dst: Reg, src: Source) -> PResult<Stmt> {
    Stmt::done(Instruction::Alu { width, op, dst, src })
}

impl Parser<'_> {
    /// Statements starting with a register: ALU, loads, atomics with result.
    pub(super) fn assign(&mut self) -> PResult<Stmt> {
        let (dst, width) = self.reg()?;
        if self.eat_op("=") {
            return self.assign_rhs(dst, width);
        }
        let Some(op) = self.op().and_then(alu_op) else {
            return self.fail("'=' or an ALU operator");
        };
        self.pos += 1;
        let src =
            if self.is_reg_next() { Source::Reg(self.reg_w(width)?) } else { Source::Imm(self.imm32()?) };
        alu(width, op, dst, src)
    }

    /// What follows `dst =`.
    pub(super) fn assign_rhs(&mut self, dst: Reg, width: Width) -> PResult<Stmt> {
        let col = self.col();
        match self.peek().cloned() {
            Some(Tok::Op("-")) if matches!(self.peek_at(1), Some(Tok::Ident(_))) => {
                self.pos += 1;
                if self.reg()? != (dst, width) {
                    return err(col, "negation must be in place ('rN = -rN')");
                }
                Stmt::done(Instruction::Neg { width, dst })
            }
            Some(Tok::Op("*")) => {
                self.pos += 1;
                self.load(dst, width)
            }
            Some(Tok::Op("(")) => {
                self.pos += 1;
                self.sign_extend(dst, width, col)
            }
            Some(Tok::Ident(name)) if reg_name(&name).is_some() => {
                let src = self.reg_w(width)?;
                alu(width, AluOp::Mov, dst, Source::Reg(src))
            }
            Some(Tok::Ident(name)) => {
                self.pos += 1;
                self.named(&name, dst, width, col)
            }
            Some(Tok::Op("+" | "-") | Tok::Num(_)) => self.constant(dst, width, col),
            _ => self.fail("an operand after '='"),
        }
    }

    /// After `dst = (`: `s8) src` and friends (movsx).
    pub(super) fn sign_extend(&mut self, dst: Reg, width: Width, col: usize) -> PResult<Stmt> {
        let ty = self.ident("a sign-extension type (s8, s16, s32)")?;
        let bits = match ty.as_str() {
            "s8" => 8,
            "s16" => 16,
            "s32" if width == Width::W64 => 32,
            "s32" => return err(col, "(s32) sign extension needs 64-bit registers"),
            _ => {
                return err(col, format!("unknown sign-extension type '{ty}' (s8, s16, s32)"));
            }
        };
        self.expect_op(")")?;
        let src = self.reg_w(width)?;
        alu(width, AluOp::MovSx(bits), dst, Source::Reg(src))
    }

    /// After `dst =`: a 32-bit move of a constant, or with `ll` a 64-bit load.
    pub(super) fn constant(&mut self, dst: Reg, width: Width, col: usize) -> PResult<Stmt> {
        let v = self.number()?;
        if !self.eat_ident("ll") {
            let Some(imm) = fit32(v) else {
                let msg = format!("immediate {v} out of range (32-bit; add 'll' for a 64-bit load)");
                return err(col, msg);
            };
            return alu(width, AluOp::Mov, dst, Source::Imm(imm));
        }
        if width == Width::W32 {
            return err(col, "a 64-bit load ('ll') needs an rN destination");
        }
        match fit64(v) {
            Some(bits) => Stmt::done(Instruction::LdImm64 { dst, src: LdImm64::Imm(bits) }),
            None => err(col, format!("immediate {v} out of range (64-bit)")),
        }
    }

    /// After `dst = name`: byte swaps, pseudo 64-bit loads and atomics.
    pub(super) fn named(&mut self, name: &str, dst: Reg, width: Width, col: usize) -> PResult<Stmt> {
        if let Some((op, bits)) = endian_name(name) {
            if self.reg()? != (dst, width) {
                return err(col, format!("byte swap must be in place ('rN = {name} rN')"));
            }
            return Stmt::done(Instruction::Endian { op, bits, dst });
        }
        if parse_atomic_name(name).is_some() {
            return self.atomic_fetch(name, dst, width, col);
        }
        if width == Width::W32 {
            return err(col, format!("'{name}' needs a 64-bit destination register"));
        }
        match name {
            "map" => self.map_ref(dst),
            "subprog" => self.subprog(dst),
            "btf_id" => self.btf_id(dst),
            _ => err(col, format!("unknown operand '{name}'")),
        }
    }
}
