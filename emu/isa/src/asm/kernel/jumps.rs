//! Jumps and calls: `goto`, `gotol`, `if ... goto`, `call`.

use super::labels::{Stmt, jump32, off16};
use super::lexer::Tok;
use super::ops::jmp_op;
use super::parser::{PResult, Parser, err};
use crate::disasm::helper_name;
use crate::instr::*;

impl Parser<'_> {
    pub(super) fn goto(&mut self, long: bool) -> PResult<Stmt> {
        let (target, col) = self.target()?;
        let ins = |off| Instruction::Ja { off, long };
        match target {
            Ok(v) if long => Stmt::done(ins(jump32(v, col)?)),
            Ok(v) => Stmt::done(ins(off16(v, col)?.into())),
            Err(label) => Stmt::to_label(ins(0), label, col),
        }
    }

    pub(super) fn cond_jump(&mut self) -> PResult<Stmt> {
        let (dst, width) = self.reg()?;
        let Some(op) = self.op().and_then(jmp_op) else {
            return self.fail("a comparison operator");
        };
        self.pos += 1;
        let src =
            if self.is_reg_next() { Source::Reg(self.reg_w(width)?) } else { Source::Imm(self.imm32()?) };
        self.expect_ident("goto")?;
        let (target, col) = self.target()?;
        let ins = |off| Instruction::Jmp { width, op, dst, src, off };
        match target {
            Ok(v) => Stmt::done(ins(off16(v, col)?)),
            Err(label) => Stmt::to_label(ins(0), label, col),
        }
    }

    pub(super) fn call(&mut self) -> PResult<Stmt> {
        let col = self.col();
        let name = match self.peek() {
            Some(Tok::Ident(s)) if s == "pc" && self.pc_relative() => {
                self.pos += 1;
                let v = self.number()?;
                return Stmt::done(Instruction::Call(CallTarget::Local(jump32(v, col)?)));
            }
            Some(Tok::Ident(s)) => s.clone(),
            _ => return Stmt::done(Instruction::Call(CallTarget::Helper(self.imm32()?))),
        };
        self.pos += 1;
        if name == "kernel" && self.eat_op("-") {
            self.expect_ident("function")?;
            self.expect_op("#")?;
            let btf_id = self.imm32()?;
            let mut btf_fd_idx = 0;
            if self.eat_op("[") {
                self.expect_ident("btf_fd_idx")?;
                self.expect_op(":")?;
                btf_fd_idx = self.offset_value()?;
                self.expect_op("]")?;
            }
            return Stmt::done(Instruction::Call(CallTarget::Kfunc { btf_id, btf_fd_idx }));
        }
        if self.eat_op("#") {
            let id = self.imm32()?;
            let expected = helper_name(id).unwrap_or("unknown");
            if name != expected {
                return err(col, format!("helper #{id} is '{expected}', not '{name}'"));
            }
            return Stmt::done(Instruction::Call(CallTarget::Helper(id)));
        }
        // A label, or failing that a helper name (decided once labels are known).
        Stmt::to_label(Instruction::Call(CallTarget::Local(0)), name, col)
    }
}
