//! Encoding [`Instruction`]s back into raw slots: the exact inverse of
//! [`crate::decode`] (property-tested there and here).

use crate::insn::Insn;
use crate::instr::*;
use crate::opcode::*;

fn size_bits(s: Size) -> u8 {
    match s {
        Size::W => BPF_W,
        Size::H => BPF_H,
        Size::B => BPF_B,
        Size::DW => BPF_DW,
    }
}

fn alu_bits(op: AluOp) -> (u8, i16) {
    match op {
        AluOp::Add => (BPF_ADD, 0),
        AluOp::Sub => (BPF_SUB, 0),
        AluOp::Mul => (BPF_MUL, 0),
        AluOp::Div => (BPF_DIV, 0),
        AluOp::SDiv => (BPF_DIV, 1),
        AluOp::Or => (BPF_OR, 0),
        AluOp::And => (BPF_AND, 0),
        AluOp::Lsh => (BPF_LSH, 0),
        AluOp::Rsh => (BPF_RSH, 0),
        AluOp::Mod => (BPF_MOD, 0),
        AluOp::SMod => (BPF_MOD, 1),
        AluOp::Xor => (BPF_XOR, 0),
        AluOp::Mov => (BPF_MOV, 0),
        AluOp::MovSx(n) => (BPF_MOV, i16::from(n)),
        AluOp::Arsh => (BPF_ARSH, 0),
    }
}

/// The `op` nibble of a conditional jump.
pub fn jmp_bits(op: JmpOp) -> u8 {
    match op {
        JmpOp::Eq => BPF_JEQ,
        JmpOp::Gt => BPF_JGT,
        JmpOp::Ge => BPF_JGE,
        JmpOp::Set => BPF_JSET,
        JmpOp::Ne => BPF_JNE,
        JmpOp::SGt => BPF_JSGT,
        JmpOp::SGe => BPF_JSGE,
        JmpOp::Lt => BPF_JLT,
        JmpOp::Le => BPF_JLE,
        JmpOp::SLt => BPF_JSLT,
        JmpOp::SLe => BPF_JSLE,
    }
}

fn atomic_imm(op: AtomicOp) -> i32 {
    let f = |fetch: bool| if fetch { BPF_FETCH } else { 0 };
    match op {
        AtomicOp::Add { fetch } => i32::from(BPF_ADD) | f(fetch),
        AtomicOp::Or { fetch } => i32::from(BPF_OR) | f(fetch),
        AtomicOp::And { fetch } => i32::from(BPF_AND) | f(fetch),
        AtomicOp::Xor { fetch } => i32::from(BPF_XOR) | f(fetch),
        AtomicOp::Xchg => BPF_XCHG,
        AtomicOp::CmpXchg => BPF_CMPXCHG,
    }
}

impl Instruction {
    /// Appends the instruction's slots (one, or two for a 64-bit load).
    pub fn encode_into(&self, out: &mut Vec<Insn>) {
        let n = |r: Reg| r.num();
        let ins = match *self {
            Instruction::Alu { width, op, dst, src } => {
                let cls = if width == Width::W64 { BPF_ALU64 } else { BPF_ALU };
                let (bits, off) = alu_bits(op);
                match src {
                    Source::Reg(s) => Insn::new(cls | BPF_X | bits, n(dst), n(s), off, 0),
                    Source::Imm(imm) => Insn::new(cls | BPF_K | bits, n(dst), 0, off, imm),
                }
            }
            Instruction::Neg { width, dst } => {
                let cls = if width == Width::W64 { BPF_ALU64 } else { BPF_ALU };
                Insn::new(cls | BPF_NEG, n(dst), 0, 0, 0)
            }
            Instruction::Endian { op, bits, dst } => {
                let code = match op {
                    EndianOp::ToLe => BPF_ALU | BPF_END | BPF_TO_LE,
                    EndianOp::ToBe => BPF_ALU | BPF_END | BPF_TO_BE,
                    EndianOp::Swap => BPF_ALU64 | BPF_END | BPF_TO_LE,
                };
                Insn::new(code, n(dst), 0, 0, i32::from(bits))
            }
            Instruction::Ja { off, long: false } => Insn::new(BPF_JMP | BPF_JA, 0, 0, off as i16, 0),
            Instruction::Ja { off, long: true } => Insn::new(BPF_JMP32 | BPF_JA, 0, 0, 0, off),
            Instruction::Jmp { width, op, dst, src, off } => {
                let cls = if width == Width::W64 { BPF_JMP } else { BPF_JMP32 };
                match src {
                    Source::Reg(s) => Insn::new(cls | BPF_X | jmp_bits(op), n(dst), n(s), off, 0),
                    Source::Imm(imm) => Insn::new(cls | BPF_K | jmp_bits(op), n(dst), 0, off, imm),
                }
            }
            Instruction::Call(t) => {
                let code = BPF_JMP | BPF_CALL;
                match t {
                    CallTarget::Helper(id) => Insn::new(code, 0, 0, 0, id),
                    CallTarget::Local(off) => Insn::new(code, 0, BPF_PSEUDO_CALL, 0, off),
                    CallTarget::Kfunc { btf_id, btf_fd_idx } => {
                        Insn::new(code, 0, BPF_PSEUDO_KFUNC_CALL, btf_fd_idx, btf_id)
                    }
                    CallTarget::Reg(r) => Insn::new(code | BPF_X, n(r), 0, 0, 0),
                }
            }
            Instruction::Exit => Insn::new(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
            Instruction::LdImm64 { dst, src } => {
                let (s, lo, hi) = match src {
                    LdImm64::Imm(v) => (0, v as u32 as i32, (v >> 32) as u32 as i32),
                    LdImm64::MapFd(fd) => (BPF_PSEUDO_MAP_FD, fd, 0),
                    LdImm64::MapValue { fd, off } => (BPF_PSEUDO_MAP_VALUE, fd, off as i32),
                    LdImm64::BtfId { btf_id, btf_fd } => (BPF_PSEUDO_BTF_ID, btf_id, btf_fd),
                    LdImm64::Func(off) => (BPF_PSEUDO_FUNC, off, 0),
                    LdImm64::MapIdx(idx) => (BPF_PSEUDO_MAP_IDX, idx, 0),
                    LdImm64::MapIdxValue { idx, off } => (BPF_PSEUDO_MAP_IDX_VALUE, idx, off as i32),
                };
                out.push(Insn::new(BPF_LD | BPF_IMM | BPF_DW, n(dst), s, 0, lo));
                Insn::new(0, 0, 0, 0, hi)
            }
            Instruction::LdPacket { size, src, imm } => match src {
                None => Insn::new(BPF_LD | BPF_ABS | size_bits(size), 0, 0, 0, imm),
                Some(r) => Insn::new(BPF_LD | BPF_IND | size_bits(size), 0, n(r), 0, imm),
            },
            Instruction::Ldx { size, sx, dst, src, off } => {
                let mode = if sx { BPF_MEMSX } else { BPF_MEM };
                Insn::new(BPF_LDX | mode | size_bits(size), n(dst), n(src), off, 0)
            }
            Instruction::St { size, dst, off, imm } => {
                Insn::new(BPF_ST | BPF_MEM | size_bits(size), n(dst), 0, off, imm)
            }
            Instruction::Stx { size, dst, src, off } => {
                Insn::new(BPF_STX | BPF_MEM | size_bits(size), n(dst), n(src), off, 0)
            }
            Instruction::Atomic { size, op, dst, src, off } => {
                Insn::new(BPF_STX | BPF_ATOMIC | size_bits(size), n(dst), n(src), off, atomic_imm(op))
            }
        };
        out.push(ins);
    }

    /// The instruction's slots.
    pub fn encode(&self) -> Vec<Insn> {
        let mut v = Vec::with_capacity(2);
        self.encode_into(&mut v);
        v
    }
}

/// Encodes a sequence of instructions.
pub fn encode_program(prog: &[Instruction]) -> Vec<Insn> {
    let mut v = Vec::with_capacity(prog.len() + 4);
    for i in prog {
        i.encode_into(&mut v);
    }
    v
}
