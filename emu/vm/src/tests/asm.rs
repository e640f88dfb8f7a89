//! Tiny instruction builders for tests (the real assembler lives in
//! bpfemu-isa and is not a dependency here).

use bpfemu_isa::*;

pub fn r(n: u8) -> Reg {
    Reg::new(n).expect("register")
}

pub fn alu64(op: AluOp, d: u8, s: u8) -> Instruction {
    Instruction::Alu { width: Width::W64, op, dst: r(d), src: Source::Reg(r(s)) }
}

pub fn alu64i(op: AluOp, d: u8, imm: i32) -> Instruction {
    Instruction::Alu { width: Width::W64, op, dst: r(d), src: Source::Imm(imm) }
}

pub fn alu32(op: AluOp, d: u8, s: u8) -> Instruction {
    Instruction::Alu { width: Width::W32, op, dst: r(d), src: Source::Reg(r(s)) }
}

pub fn alu32i(op: AluOp, d: u8, imm: i32) -> Instruction {
    Instruction::Alu { width: Width::W32, op, dst: r(d), src: Source::Imm(imm) }
}

pub fn mov(d: u8, imm: i32) -> Instruction {
    alu64i(AluOp::Mov, d, imm)
}

pub fn movr(d: u8, s: u8) -> Instruction {
    alu64(AluOp::Mov, d, s)
}

pub fn ld64(d: u8, v: u64) -> Instruction {
    Instruction::LdImm64 { dst: r(d), src: LdImm64::Imm(v) }
}

pub fn neg(width: Width, d: u8) -> Instruction {
    Instruction::Neg { width, dst: r(d) }
}

pub fn endian(op: EndianOp, bits: u8, d: u8) -> Instruction {
    Instruction::Endian { op, bits, dst: r(d) }
}

pub fn jmp(width: Width, op: JmpOp, d: u8, src: Source, off: i16) -> Instruction {
    Instruction::Jmp { width, op, dst: r(d), src, off }
}

pub fn ja(off: i16) -> Instruction {
    Instruction::Ja { off: off.into(), long: false }
}

pub fn gotol(off: i32) -> Instruction {
    Instruction::Ja { off, long: true }
}

pub fn exit() -> Instruction {
    Instruction::Exit
}

pub fn call(id: i32) -> Instruction {
    Instruction::Call(CallTarget::Helper(id))
}

pub fn call_local(off: i32) -> Instruction {
    Instruction::Call(CallTarget::Local(off))
}

pub fn kfunc(btf_id: i32) -> Instruction {
    Instruction::Call(CallTarget::Kfunc { btf_id, btf_fd_idx: 0 })
}

pub fn callx(reg: u8) -> Instruction {
    Instruction::Call(CallTarget::Reg(r(reg)))
}

pub fn ldx(size: Size, d: u8, s: u8, off: i16) -> Instruction {
    Instruction::Ldx { size, sx: false, dst: r(d), src: r(s), off }
}

pub fn ldsx(size: Size, d: u8, s: u8, off: i16) -> Instruction {
    Instruction::Ldx { size, sx: true, dst: r(d), src: r(s), off }
}

pub fn st(size: Size, d: u8, off: i16, imm: i32) -> Instruction {
    Instruction::St { size, dst: r(d), off, imm }
}

pub fn stx(size: Size, d: u8, s: u8, off: i16) -> Instruction {
    Instruction::Stx { size, dst: r(d), src: r(s), off }
}

pub fn atomic(size: Size, op: AtomicOp, d: u8, s: u8, off: i16) -> Instruction {
    Instruction::Atomic { size, op, dst: r(d), src: r(s), off }
}

pub fn ld_abs(size: Size, imm: i32) -> Instruction {
    Instruction::LdPacket { size, src: None, imm }
}

pub fn ld_ind(size: Size, s: u8, imm: i32) -> Instruction {
    Instruction::LdPacket { size, src: Some(r(s)), imm }
}
