//! Pseudo 64-bit loads: `map[...]`, `subprog[...]`, `btf_id[...]` and
//! `ld_pseudo`.

use super::labels::Stmt;
use super::parser::{PResult, Parser, err};
use crate::decode::decode_at;
use crate::insn::Insn;
use crate::instr::*;

impl Parser<'_> {
    pub(super) fn ld_pseudo(&mut self) -> PResult<Stmt> {
        let dst = self.reg64()?;
        self.expect_op(",")?;
        let col = self.col();
        let src = self.number()?;
        let src = u8::try_from(src).map_err(|_| (col, format!("pseudo source {src} out of range")))?;
        self.expect_op(",")?;
        let imm = self.imm32()?;
        let slots = [Insn::new(0x18, dst.num(), src, 0, imm), Insn::default()];
        match decode_at(&slots, 0) {
            Ok(ins) => Stmt::done(ins),
            Err(e) => err(col, format!("invalid ld_pseudo: {}", e.reason)),
        }
    }

    /// After `dst = map`: `[fd:N]`, `[fd:N][0]+OFF`, `[idx:N]`, `[idx:N]+OFF`.
    pub(super) fn map_ref(&mut self, dst: Reg) -> PResult<Stmt> {
        self.expect_op("[")?;
        let col = self.col();
        let kind = self.ident("'fd' or 'idx'")?;
        if kind != "fd" && kind != "idx" {
            return err(col, format!("expected 'fd' or 'idx', found '{kind}'"));
        }
        self.expect_op(":")?;
        let n = self.imm32()?;
        self.expect_op("]")?;
        let value_off = if self.eat_op("[") {
            let zero_col = self.col();
            if self.number()? != 0 {
                return err(zero_col, "only element [0] of a map value can be addressed");
            }
            self.expect_op("]")?;
            self.expect_op("+")?;
            Some(self.value_offset()?)
        } else if self.eat_op("+") {
            Some(self.value_offset()?)
        } else {
            None
        };
        let src = match (kind.as_str(), value_off) {
            ("fd", None) => LdImm64::MapFd(n),
            ("fd", Some(off)) => LdImm64::MapValue { fd: n, off },
            (_, None) => LdImm64::MapIdx(n),
            (_, Some(off)) => LdImm64::MapIdxValue { idx: n, off },
        };
        Stmt::done(Instruction::LdImm64 { dst, src })
    }

    pub(super) fn value_offset(&mut self) -> PResult<u32> {
        let col = self.col();
        let v = self.number()?;
        u32::try_from(v).map_err(|_| (col, format!("value offset {v} out of range (u32)")))
    }

    /// After `dst = subprog`: `[+N]`.
    pub(super) fn subprog(&mut self, dst: Reg) -> PResult<Stmt> {
        self.expect_op("[")?;
        let off = self.imm32()?;
        self.expect_op("]")?;
        Stmt::done(Instruction::LdImm64 { dst, src: LdImm64::Func(off) })
    }

    /// After `dst = btf_id`: `[ID]` or `[ID][btf_fd:FD]`.
    pub(super) fn btf_id(&mut self, dst: Reg) -> PResult<Stmt> {
        self.expect_op("[")?;
        let btf_id = self.imm32()?;
        self.expect_op("]")?;
        let mut btf_fd = 0;
        if self.eat_op("[") {
            self.expect_ident("btf_fd")?;
            self.expect_op(":")?;
            btf_fd = self.imm32()?;
            self.expect_op("]")?;
        }
        Stmt::done(Instruction::LdImm64 { dst, src: LdImm64::BtfId { btf_id, btf_fd } })
    }
}
