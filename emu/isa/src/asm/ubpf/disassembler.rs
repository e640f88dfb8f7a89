//! The disassembler: one decoded instruction as a line of the dialect.

use super::mnemonics::JMP_OPS;
use crate::instr::*;

/// Why an instruction has no uBPF spelling: the raw field (`code`, `src`
/// or `off`) and what the dialect would need there.
pub(super) type Inexpressible = (&'static str, &'static str);

pub(super) fn format_insn(ins: &Instruction) -> Result<String, Inexpressible> {
    // `Reg` displays as `r1`; the dialect writes `%r1`.
    let w = |width| if width == Width::W32 { "32" } else { "" };
    let src = |s: Source| match s {
        Source::Reg(r) => format!("%{r}"),
        Source::Imm(i) => i.to_string(),
    };
    Ok(match *ins {
        Instruction::Alu { width, op: AluOp::MovSx(bits), dst, src: s } => {
            let to = if width == Width::W32 { 32 } else { 64 };
            format!("movsx{bits}{to} %{dst}, {}", src(s))
        }
        Instruction::Alu { width, op, dst, src: s } => {
            format!("{}{} %{dst}, {}", alu_name(op), w(width), src(s))
        }
        Instruction::Neg { width, dst } => format!("neg{} %{dst}", w(width)),
        Instruction::Endian { op, bits, dst } => {
            let name = match op {
                EndianOp::ToLe => "le",
                EndianOp::ToBe => "be",
                EndianOp::Swap => "swap",
            };
            format!("{name}{bits} %{dst}")
        }
        Instruction::Ja { off, long } => format!("ja{} {off:+}", if long { "32" } else { "" }),
        Instruction::Jmp { width, op, dst, src: s, off } => {
            let name = JMP_OPS.iter().find(|e| e.1 == crate::encode::jmp_bits(op)).map_or("", |e| e.0);
            format!("{name}{} %{dst}, {}, {off:+}", w(width), src(s))
        }
        Instruction::Call(CallTarget::Helper(id)) => format!("call {id}"),
        Instruction::Call(CallTarget::Local(off)) => format!("call local {off:+}"),
        Instruction::Call(CallTarget::Kfunc { btf_id, btf_fd_idx: 0 }) => format!("call runtime {btf_id}"),
        Instruction::Call(CallTarget::Kfunc { .. }) => {
            return Err(("off", "0 (`call runtime` has no BTF fd index)"));
        }
        Instruction::Call(CallTarget::Reg(r)) => format!("call %{r}"),
        Instruction::Exit => "exit".to_string(),
        Instruction::LdImm64 { dst, src: LdImm64::Imm(v) } => format!("lddw %{dst}, {v:#x}"),
        Instruction::LdImm64 { .. } => {
            return Err(("src", "0 (the uBPF dialect has no pseudo ld_imm64 sources)"));
        }
        Instruction::LdPacket { .. } => {
            return Err(("code", "an opcode of the uBPF dialect (it has no BPF_LD|BPF_ABS/BPF_IND)"));
        }
        Instruction::Ldx { size, sx, dst, src, off } => {
            let s = if sx { "s" } else { "" };
            format!("ldx{s}{} %{dst}, {}", size_name(size), address_text(src, off))
        }
        Instruction::St { size, dst, off, imm } => {
            format!("st{} {}, {imm}", size_name(size), address_text(dst, off))
        }
        Instruction::Stx { size, dst, src, off } => {
            format!("stx{} {}, %{src}", size_name(size), address_text(dst, off))
        }
        Instruction::Atomic { size, op, dst, src, off } => {
            let (fetch, name) = match op {
                AtomicOp::Add { fetch } => (fetch, "add"),
                AtomicOp::Or { fetch } => (fetch, "or"),
                AtomicOp::And { fetch } => (fetch, "and"),
                AtomicOp::Xor { fetch } => (fetch, "xor"),
                AtomicOp::Xchg => (false, "xchg"),
                AtomicOp::CmpXchg => (false, "cmpxchg"),
            };
            let fetch = if fetch { "fetch " } else { "" };
            let w32 = if size == Size::W { "32" } else { "" };
            format!("lock {fetch}{name}{w32} {}, %{src}", address_text(dst, off))
        }
    })
}

fn alu_name(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "add",
        AluOp::Sub => "sub",
        AluOp::Mul => "mul",
        AluOp::Div => "div",
        AluOp::SDiv => "sdiv",
        AluOp::Or => "or",
        AluOp::And => "and",
        AluOp::Lsh => "lsh",
        AluOp::Rsh => "rsh",
        AluOp::Mod => "mod",
        AluOp::SMod => "smod",
        AluOp::Xor => "xor",
        AluOp::Mov | AluOp::MovSx(_) => "mov",
        AluOp::Arsh => "arsh",
    }
}

fn size_name(size: Size) -> &'static str {
    match size {
        Size::B => "b",
        Size::H => "h",
        Size::W => "w",
        Size::DW => "dw",
    }
}

fn address_text(base: Reg, off: i16) -> String {
    match off {
        0 => format!("[%{base}]"),
        _ => format!("[%{base}{off:+}]"),
    }
}
