//! The parser: a cursor over one line's tokens, its operand parsers, and the
//! statement dispatch. The instruction families are parsed in the sibling
//! modules.

use super::labels::Stmt;
use super::lexer::{Tok, Token, reg_name};
use crate::asm::imm::fit32;
use crate::instr::*;

/// An error: 1-based column and message.
pub(super) type PResult<T> = Result<T, (usize, String)>;

pub(super) struct Parser<'a> {
    pub(super) toks: &'a [Token],
    pub(super) pos: usize,
    pub(super) end_col: usize,
}

pub(super) fn err<T>(col: usize, msg: impl Into<String>) -> PResult<T> {
    Err((col, msg.into()))
}

/// A 16-bit `off` field (memory offset, BTF fd index): `-32768 ..= 32767`.
fn offset16(v: i128, col: usize) -> PResult<i16> {
    i16::try_from(v).map_err(|_| (col, format!("offset {v} out of range (-32768..=32767)")))
}

impl Parser<'_> {
    pub(super) fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.pos + n).map(|t| &t.tok)
    }

    pub(super) fn peek(&self) -> Option<&Tok> {
        self.peek_at(0)
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    pub(super) fn col(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end_col, |t| t.col)
    }

    pub(super) fn describe(&self) -> String {
        self.toks.get(self.pos).map_or("end of line".to_string(), |t| format!("'{}'", t.text))
    }

    pub(super) fn fail<T>(&self, what: &str) -> PResult<T> {
        err(self.col(), format!("expected {what}, found {}", self.describe()))
    }

    pub(super) fn eat_op(&mut self, op: &str) -> bool {
        let hit = matches!(self.peek(), Some(Tok::Op(o)) if *o == op);
        self.pos += usize::from(hit);
        hit
    }

    pub(super) fn expect_op(&mut self, op: &str) -> PResult<()> {
        if self.eat_op(op) { Ok(()) } else { self.fail(&format!("'{op}'")) }
    }

    pub(super) fn eat_ident(&mut self, name: &str) -> bool {
        let hit = matches!(self.peek(), Some(Tok::Ident(s)) if s == name);
        self.pos += usize::from(hit);
        hit
    }

    pub(super) fn expect_ident(&mut self, name: &str) -> PResult<()> {
        if self.eat_ident(name) { Ok(()) } else { self.fail(&format!("'{name}'")) }
    }

    pub(super) fn ident(&mut self, what: &str) -> PResult<String> {
        match self.peek() {
            Some(Tok::Ident(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => self.fail(what),
        }
    }

    /// `pc` followed by `+` or `-`.
    pub(super) fn pc_relative(&self) -> bool {
        matches!(self.peek_at(1), Some(Tok::Op("+" | "-")))
    }

    /// The operator at the cursor, if any.
    pub(super) fn op(&self) -> Option<&'static str> {
        match self.peek() {
            Some(Tok::Op(op)) => Some(op),
            _ => None,
        }
    }

    pub(super) fn is_reg_next(&self) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if reg_name(s).is_some())
    }

    pub(super) fn reg(&mut self) -> PResult<(Reg, Width)> {
        let col = self.col();
        if let Some(Tok::Ident(s)) = self.peek()
            && let Some(r) = reg_name(s)
        {
            self.pos += 1;
            return r.map_err(|m| (col, m));
        }
        self.fail("a register")
    }

    pub(super) fn reg64(&mut self) -> PResult<Reg> {
        let col = self.col();
        match self.reg()? {
            (r, Width::W64) => Ok(r),
            (r, Width::W32) => err(col, format!("expected a 64-bit register, found 'w{}'", r.num())),
        }
    }

    /// A register of the given width (`rN` for 64, `wN` for 32).
    pub(super) fn reg_w(&mut self, width: Width) -> PResult<Reg> {
        let col = self.col();
        let (r, w) = self.reg()?;
        if w != width {
            return err(col, "mixed 32-bit (wN) and 64-bit (rN) registers");
        }
        Ok(r)
    }

    /// A signed number, `[+|-] digits`.
    pub(super) fn number(&mut self) -> PResult<i128> {
        let neg = if self.eat_op("-") {
            true
        } else {
            self.eat_op("+");
            false
        };
        match self.peek() {
            Some(Tok::Num(n)) => {
                let v = i128::from(*n);
                self.pos += 1;
                Ok(if neg { -v } else { v })
            }
            _ => self.fail("a number"),
        }
    }

    pub(super) fn imm32(&mut self) -> PResult<i32> {
        let col = self.col();
        let v = self.number()?;
        fit32(v).ok_or((col, format!("immediate {v} out of range (32-bit)")))
    }

    /// `+ N`, `- N` (N may carry its own sign) or nothing: 0.
    pub(super) fn term(&mut self) -> PResult<i128> {
        if self.eat_op("+") {
            self.number()
        } else if self.eat_op("-") {
            Ok(-self.number()?)
        } else {
            Ok(0)
        }
    }

    /// A `term` as the offset after a base register.
    pub(super) fn offset(&mut self) -> PResult<i16> {
        let col = self.col();
        let v = self.term()?;
        offset16(v, col)
    }

    /// `(rN +off)`.
    pub(super) fn mem(&mut self) -> PResult<(Reg, i16)> {
        self.expect_op("(")?;
        let addr = self.bare_addr()?;
        self.expect_op(")")?;
        Ok(addr)
    }

    /// `rN +off` without parentheses (LLVM's xchg/cmpxchg).
    pub(super) fn bare_addr(&mut self) -> PResult<(Reg, i16)> {
        let base = self.reg64()?;
        Ok((base, self.offset()?))
    }

    /// `(u32 *)` and friends; `bool` is true for the signed `s8`..`s32`.
    pub(super) fn size_cast(&mut self) -> PResult<(Size, bool)> {
        self.expect_op("(")?;
        let col = self.col();
        let ty = self.ident("a type (u8, u16, u32, u64, s8, s16, s32)")?;
        let size = match ty.as_str() {
            "u8" => (Size::B, false),
            "u16" => (Size::H, false),
            "u32" => (Size::W, false),
            "u64" => (Size::DW, false),
            "s8" => (Size::B, true),
            "s16" => (Size::H, true),
            "s32" => (Size::W, true),
            _ => {
                return err(col, format!("unknown type '{ty}' (u8, u16, u32, u64, s8, s16, s32)"));
            }
        };
        self.expect_op("*")?;
        self.expect_op(")")?;
        Ok(size)
    }

    pub(super) fn unsigned_cast(&mut self) -> PResult<Size> {
        let col = self.col();
        match self.size_cast()? {
            (size, false) => Ok(size),
            (_, true) => err(col, "signed types are only for loads"),
        }
    }

    pub(super) fn atomic_cast(&mut self) -> PResult<Size> {
        let col = self.col();
        match self.unsigned_cast()? {
            size @ (Size::W | Size::DW) => Ok(size),
            _ => err(col, "atomic operations are u32 or u64 only"),
        }
    }

    /// A jump target: `pc+N`, `+N`, `N` or a label.
    pub(super) fn target(&mut self) -> PResult<(Result<i128, String>, usize)> {
        let col = self.col();
        match self.peek() {
            Some(Tok::Ident(s)) if s == "pc" && self.pc_relative() => {
                self.pos += 1;
                Ok((Ok(self.number()?), col))
            }
            Some(Tok::Ident(s)) if reg_name(s).is_none() => {
                let s = s.clone();
                self.pos += 1;
                Ok((Err(s), col))
            }
            Some(Tok::Op("+" | "-") | Tok::Num(_)) => Ok((Ok(self.number()?), col)),
            _ => self.fail("a jump target (pc+N, +N or a label)"),
        }
    }

    pub(super) fn statement(&mut self) -> PResult<Stmt> {
        let col = self.col();
        let first = match self.peek() {
            Some(Tok::Op("*")) => return self.store(),
            Some(Tok::Ident(s)) => s.clone(),
            _ => return self.fail("an instruction"),
        };
        if reg_name(&first).is_some() {
            return self.assign();
        }
        self.pos += 1;
        match first.as_str() {
            "exit" => Stmt::done(Instruction::Exit),
            "goto" | "gotol" => self.goto(first == "gotol"),
            "if" => self.cond_jump(),
            "call" => self.call(),
            "callx" => Stmt::done(Instruction::Call(CallTarget::Reg(self.reg64()?))),
            "lock" => self.lock(),
            "ld_pseudo" => self.ld_pseudo(),
            _ => err(col, format!("unknown mnemonic '{first}'")),
        }
    }

    /// A plain signed 16-bit number (not a `+ N` term).
    pub(super) fn offset_value(&mut self) -> PResult<i16> {
        let col = self.col();
        let v = self.number()?;
        offset16(v, col)
    }

    /// A register operand of an atomic operation: `rN`, or `wN` for u32.
    pub(super) fn atomic_reg(&mut self, size: Size) -> PResult<Reg> {
        let col = self.col();
        let (r, w) = self.reg()?;
        if size == Size::DW && w == Width::W32 {
            return err(col, "a u64 atomic operation takes rN registers");
        }
        Ok(r)
    }
}
