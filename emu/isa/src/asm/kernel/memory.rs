//! Memory access: loads, stores, packet loads and atomic operations.

use super::labels::Stmt;
use super::ops::{AtomicSpelling, lock_op, parse_atomic_name};
use super::parser::{PResult, Parser, err};
use crate::asm::imm::fit32;
use crate::instr::*;

impl Parser<'_> {
    pub(super) fn lock(&mut self) -> PResult<Stmt> {
        self.expect_op("*")?;
        let size = self.atomic_cast()?;
        let (dst, off) = self.mem()?;
        let Some(op) = self.op().and_then(lock_op) else {
            return self.fail("'+=', '|=', '&=' or '^='");
        };
        self.pos += 1;
        let src = self.atomic_reg(size)?;
        Stmt::done(Instruction::Atomic { size, op, dst, src, off })
    }

    /// `*(size *)(rN +off) = src`.
    pub(super) fn store(&mut self) -> PResult<Stmt> {
        self.expect_op("*")?;
        let size = self.unsigned_cast()?;
        let (dst, off) = self.mem()?;
        self.expect_op("=")?;
        if !self.is_reg_next() {
            let imm = self.imm32()?;
            return Stmt::done(Instruction::St { size, dst, off, imm });
        }
        let col = self.col();
        let (src, w) = self.reg()?;
        if size == Size::DW && w == Width::W32 {
            return err(col, "a u64 store takes an rN register");
        }
        Stmt::done(Instruction::Stx { size, dst, src, off })
    }

    /// After `dst = *`: `(size *)(rN +off)` or `(size *)skb[...]`.
    pub(super) fn load(&mut self, dst: Reg, width: Width) -> PResult<Stmt> {
        let col = self.col();
        let (size, sx) = self.size_cast()?;
        if self.eat_ident("skb") {
            if sx || size == Size::DW || dst != Reg::R0 || width != Width::W64 {
                return err(col, "packet loads are 'r0 = *(u8|u16|u32 *)skb[...]'");
            }
            self.expect_op("[")?;
            let (src, imm) = if self.is_reg_next() {
                let src = self.reg64()?;
                let imm_col = self.col();
                let imm = self.term()?;
                let msg = || format!("immediate {imm} out of range (32-bit)");
                (Some(src), fit32(imm).ok_or_else(|| (imm_col, msg()))?)
            } else {
                (None, self.imm32()?)
            };
            self.expect_op("]")?;
            return Stmt::done(Instruction::LdPacket { size, src, imm });
        }
        if width == Width::W32 && (sx || size == Size::DW) {
            return err(col, "a 64-bit or sign-extending load needs an rN destination");
        }
        let (src, off) = self.mem()?;
        Stmt::done(Instruction::Ldx { size, sx, dst, src, off })
    }

    /// `dst = atomic[64]_fetch_OP((size *)(rN +off), src)`, `..._xchg(...)`,
    /// `r0 = atomic[64]_cmpxchg((size *)(rN +off), r0, src)`, and LLVM's
    /// `xchg_64(rN + off, src)`, `cmpxchg32_32(rN + off, w0, src)`.
    pub(super) fn atomic_fetch(&mut self, name: &str, dst: Reg, width: Width, col: usize) -> PResult<Stmt> {
        let Some((op, spelling)) = parse_atomic_name(name) else {
            return err(col, format!("unknown operand '{name}'"));
        };
        self.expect_op("(")?;
        let cast_col = self.col();
        let (size, (base, off)) = match spelling {
            AtomicSpelling::Llvm(size) => (size, self.bare_addr()?),
            AtomicSpelling::Kernel { wide } => {
                let size = self.atomic_cast()?;
                if wide && size != Size::DW {
                    return err(cast_col, format!("'{name}' operates on u64"));
                }
                (size, self.mem()?)
            }
        };
        if size == Size::DW && width == Width::W32 {
            return err(col, "a u64 atomic operation takes rN registers");
        }
        self.expect_op(",")?;
        if op == AtomicOp::CmpXchg {
            let r0_col = self.col();
            if self.atomic_reg(size)? != Reg::R0 || dst != Reg::R0 {
                return err(r0_col, "cmpxchg compares with and returns r0 ('r0 = ...(addr, r0, rN)')");
            }
            self.expect_op(",")?;
        }
        let src_col = self.col();
        let src = self.atomic_reg(size)?;
        if op != AtomicOp::CmpXchg && src != dst {
            return err(
                src_col,
                format!("the result register must be the source register ('{src} = ...(addr, {src})')"),
            );
        }
        self.expect_op(")")?;
        Stmt::done(Instruction::Atomic { size, op, dst: base, src, off })
    }
}
