//! The printer: one [`Instruction`] as text in either syntax.

use super::Syntax;
use super::helpers::helper_name;
use crate::instr::*;
use crate::opcode::{
    BPF_PSEUDO_BTF_ID, BPF_PSEUDO_FUNC, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_IDX_VALUE,
    BPF_PSEUDO_MAP_VALUE,
};

/// One instruction in the chosen syntax (see [`super::disasm_insn_with`]).
pub(super) fn insn(ins: &Instruction, syntax: Syntax) -> String {
    let p = Printer { llvm: syntax == Syntax::Llvm };
    match *ins {
        Instruction::Alu { width, op, dst, src } => p.alu(width, op, dst, src),
        Instruction::Neg { width, dst } => {
            let d = reg(dst, width);
            format!("{d} = -{d}")
        }
        Instruction::Endian { op, bits, dst } => {
            let name = match op {
                EndianOp::ToLe => "le",
                EndianOp::ToBe => "be",
                EndianOp::Swap => "bswap",
            };
            format!("{dst} = {name}{bits} {dst}")
        }
        Instruction::Ja { off, long } => {
            let mnemonic = if long { "gotol" } else { "goto" };
            format!("{mnemonic} {}", p.target(off))
        }
        Instruction::Jmp { width, op, dst, src, off } => {
            let rhs = match src {
                Source::Reg(s) => reg(s, width),
                Source::Imm(imm) if p.llvm => imm.to_string(),
                Source::Imm(imm) => format!("{:#x}", imm as u32),
            };
            let cond = jmp_op_str(op);
            format!("if {} {cond} {rhs} goto {}", reg(dst, width), p.target(off.into()))
        }
        Instruction::Call(target) => p.call(target),
        Instruction::Exit => "exit".to_string(),
        Instruction::LdImm64 { dst, src } => p.ld_imm64(dst, src),
        Instruction::LdPacket { size, src, imm } => p.ld_packet(size, src, imm),
        Instruction::Ldx { size, sx, dst, src, off } => {
            let ty = if sx { signed_type(size) } else { size.c_type() };
            format!("{dst} = *({ty} *){}", p.mem(src, off))
        }
        Instruction::St { size, dst, off, imm } => {
            format!("*({} *){} = {imm}", size.c_type(), p.mem(dst, off))
        }
        Instruction::Stx { size, dst, src, off } => {
            format!("*({} *){} = {src}", size.c_type(), p.mem(dst, off))
        }
        Instruction::Atomic { size, op, dst, src, off } => p.atomic(size, op, dst, src, off),
    }
}
/// A register as `r`N or, for 32-bit operations, `w`N.
fn reg(r: Reg, width: Width) -> String {
    match width {
        Width::W64 => format!("r{}", r.num()),
        Width::W32 => format!("w{}", r.num()),
    }
}

fn signed_type(size: Size) -> &'static str {
    match size {
        Size::B => "s8",
        Size::H => "s16",
        Size::W => "s32",
        Size::DW => "s64",
    }
}

fn alu_op_str(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "+=",
        AluOp::Sub => "-=",
        AluOp::Mul => "*=",
        AluOp::Div => "/=",
        AluOp::SDiv => "s/=",
        AluOp::Or => "|=",
        AluOp::And => "&=",
        AluOp::Lsh => "<<=",
        AluOp::Rsh => ">>=",
        AluOp::Mod => "%=",
        AluOp::SMod => "s%=",
        AluOp::Xor => "^=",
        AluOp::Mov | AluOp::MovSx(_) => "=",
        AluOp::Arsh => "s>>=",
    }
}

fn jmp_op_str(op: JmpOp) -> &'static str {
    match op {
        JmpOp::Eq => "==",
        JmpOp::Gt => ">",
        JmpOp::Ge => ">=",
        JmpOp::Set => "&",
        JmpOp::Ne => "!=",
        JmpOp::SGt => "s>",
        JmpOp::SGe => "s>=",
        JmpOp::Lt => "<",
        JmpOp::Le => "<=",
        JmpOp::SLt => "s<",
        JmpOp::SLe => "s<=",
    }
}

/// The `add`/`or`/`and`/`xor` of an atomic ALU operation, and its `op=`.
fn atomic_alu(op: AtomicOp) -> Option<(&'static str, &'static str, bool)> {
    match op {
        AtomicOp::Add { fetch } => Some(("add", "+=", fetch)),
        AtomicOp::Or { fetch } => Some(("or", "|=", fetch)),
        AtomicOp::And { fetch } => Some(("and", "&=", fetch)),
        AtomicOp::Xor { fetch } => Some(("xor", "^=", fetch)),
        AtomicOp::Xchg | AtomicOp::CmpXchg => None,
    }
}

struct Printer {
    llvm: bool,
}

impl Printer {
    /// `(r1 +4)` (kernel, `%+d`) or `(r1 + 4)` (LLVM).
    fn mem(&self, base: Reg, off: i16) -> String {
        if self.llvm { format!("({base} {})", signed_term(off.into())) } else { format!("({base} {off:+})") }
    }

    /// A jump offset: `pc+3` (kernel) or `+3` (LLVM).
    fn target(&self, off: i32) -> String {
        if self.llvm { format!("{off:+}") } else { format!("pc{off:+}") }
    }

    fn alu(&self, width: Width, op: AluOp, dst: Reg, src: Source) -> String {
        let d = reg(dst, width);
        let sym = alu_op_str(op);
        match (op, src) {
            (AluOp::MovSx(bits), Source::Reg(s)) => format!("{d} = (s{bits}){}", reg(s, width)),
            (_, Source::Reg(s)) => format!("{d} {sym} {}", reg(s, width)),
            (_, Source::Imm(imm)) => format!("{d} {sym} {imm}"),
        }
    }

    fn call(&self, target: CallTarget) -> String {
        match target {
            CallTarget::Helper(id) if self.llvm => format!("call {id}"),
            CallTarget::Helper(id) => {
                format!("call {}#{id}", helper_name(id).unwrap_or("unknown"))
            }
            CallTarget::Local(off) => format!("call pc{off:+}"),
            CallTarget::Kfunc { btf_id, btf_fd_idx: 0 } => {
                format!("call kernel-function#{btf_id}")
            }
            CallTarget::Kfunc { btf_id, btf_fd_idx } => {
                format!("call kernel-function#{btf_id}[btf_fd_idx:{btf_fd_idx}]")
            }
            CallTarget::Reg(r) => format!("callx {r}"),
        }
    }

    fn ld_imm64(&self, dst: Reg, src: LdImm64) -> String {
        if self.llvm {
            if let LdImm64::Imm(v) = src {
                return format!("{dst} = {} ll", v as i64);
            }
            if let Some((pseudo, imm)) = ld_pseudo_operands(src) {
                return format!("ld_pseudo {dst}, {pseudo}, {imm}");
            }
        }
        let rhs = match src {
            LdImm64::Imm(v) => format!("{v:#x} ll"),
            LdImm64::MapFd(fd) => format!("map[fd:{fd}]"),
            LdImm64::MapValue { fd, off } => format!("map[fd:{fd}][0]+{off}"),
            LdImm64::BtfId { btf_id, btf_fd: 0 } => format!("btf_id[{btf_id}]"),
            LdImm64::BtfId { btf_id, btf_fd } => format!("btf_id[{btf_id}][btf_fd:{btf_fd}]"),
            LdImm64::Func(off) => format!("subprog[{off:+}]"),
            LdImm64::MapIdx(idx) => format!("map[idx:{idx}]"),
            LdImm64::MapIdxValue { idx, off } => format!("map[idx:{idx}]+{off}"),
        };
        format!("{dst} = {rhs}")
    }

    fn ld_packet(&self, size: Size, src: Option<Reg>, imm: i32) -> String {
        let ty = size.c_type();
        match src {
            None => format!("r0 = *({ty} *)skb[{imm}]"),
            Some(r) if self.llvm && imm == 0 => format!("r0 = *({ty} *)skb[{r}]"),
            Some(r) if self.llvm => format!("r0 = *({ty} *)skb[{r} {}]", signed_term(imm.into())),
            Some(r) => format!("r0 = *({ty} *)skb[{r} + {imm}]"),
        }
    }

    fn atomic(&self, size: Size, op: AtomicOp, dst: Reg, src: Reg, off: i16) -> String {
        let ty = size.c_type();
        let wide = size == Size::DW;
        if self.llvm {
            // LLVM names 32-bit atomics' registers `w`; the address is
            // `(r10 - 8)` in the C-like forms and bare in xchg/cmpxchg.
            let w = if wide { Width::W64 } else { Width::W32 };
            let (s, r0) = (reg(src, w), reg(Reg::R0, w));
            let addr = format!("{dst} {}", signed_term(off.into()));
            let suffix = if wide { "_64" } else { "32_32" };
            return match atomic_alu(op) {
                Some((_, sym, false)) => format!("lock *({ty} *)({addr}) {sym} {s}"),
                Some((name, _, true)) => {
                    format!("{s} = atomic_fetch_{name}(({ty} *)({addr}), {s})")
                }
                None if op == AtomicOp::Xchg => format!("{s} = xchg{suffix}({addr}, {s})"),
                None => format!("{r0} = cmpxchg{suffix}({addr}, {r0}, {s})"),
            };
        }
        let mem = self.mem(dst, off);
        let bits = if wide { "64" } else { "" };
        match atomic_alu(op) {
            Some((_, sym, false)) => format!("lock *({ty} *){mem} {sym} {src}"),
            Some((name, _, true)) => {
                format!("{src} = atomic{bits}_fetch_{name}(({ty} *){mem}, {src})")
            }
            None if op == AtomicOp::Xchg => {
                format!("{src} = atomic{bits}_xchg(({ty} *){mem}, {src})")
            }
            None => format!("r0 = atomic{bits}_cmpxchg(({ty} *){mem}, r0, {src})"),
        }
    }
}

/// `+ 4` / `- 4`, as LLVM prints an offset after a register.
fn signed_term(v: i64) -> String {
    if v < 0 { format!("- {}", v.unsigned_abs()) } else { format!("+ {v}") }
}

/// The `(src_reg, imm)` of a pseudo 64-bit load whose second slot is zero,
/// the only ones `ld_pseudo` can show without loss.
fn ld_pseudo_operands(src: LdImm64) -> Option<(u8, i32)> {
    match src {
        LdImm64::Imm(_) => None,
        LdImm64::MapFd(fd) => Some((BPF_PSEUDO_MAP_FD, fd)),
        LdImm64::MapValue { fd, off: 0 } => Some((BPF_PSEUDO_MAP_VALUE, fd)),
        LdImm64::BtfId { btf_id, btf_fd: 0 } => Some((BPF_PSEUDO_BTF_ID, btf_id)),
        LdImm64::Func(off) => Some((BPF_PSEUDO_FUNC, off)),
        LdImm64::MapIdx(idx) => Some((BPF_PSEUDO_MAP_IDX, idx)),
        LdImm64::MapIdxValue { idx, off: 0 } => Some((BPF_PSEUDO_MAP_IDX_VALUE, idx)),
        LdImm64::MapValue { .. } | LdImm64::BtfId { .. } | LdImm64::MapIdxValue { .. } => None,
    }
}
