//! A tiny program builder for the generator: instructions plus labels, so
//! that jumps can name where they go before that place exists. Offsets are
//! resolved in slots (a `ld_imm64` takes two) when the program is encoded.

use bpfemu_isa::{AluOp, CallTarget, Insn, Instruction, JmpOp, LdImm64, Reg, Size, Source, Width};

/// A jump target, created by [`Asm::label`] and placed by [`Asm::bind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(usize);

enum Item {
    Plain(Instruction),
    Jmp {
        width: Width,
        op: JmpOp,
        dst: Reg,
        src: Source,
        to: Label,
    },
    Ja(Label),
    Call(Label),
    /// `dst = &subprogram` (`BPF_PSEUDO_FUNC`).
    LdFunc(Reg, Label),
}

#[derive(Default)]
pub struct Asm {
    items: Vec<Item>,
    /// Item index each label stands before (`None` until bound).
    labels: Vec<Option<usize>>,
}

pub fn r(n: u8) -> Reg {
    Reg::new(n).expect("register number")
}

impl Asm {
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Places `l` before the next instruction.
    pub fn bind(&mut self, l: Label) {
        self.labels[l.0] = Some(self.items.len());
    }

    #[allow(dead_code)]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn push(&mut self, i: Instruction) {
        self.items.push(Item::Plain(i));
    }

    pub fn alu(&mut self, width: Width, op: AluOp, dst: u8, src: Source) {
        self.push(Instruction::Alu { width, op, dst: r(dst), src });
    }

    pub fn mov(&mut self, dst: u8, src: u8) {
        self.alu(Width::W64, AluOp::Mov, dst, Source::Reg(r(src)));
    }

    pub fn movi(&mut self, dst: u8, imm: i32) {
        self.alu(Width::W64, AluOp::Mov, dst, Source::Imm(imm));
    }

    pub fn addi(&mut self, dst: u8, imm: i32) {
        self.alu(Width::W64, AluOp::Add, dst, Source::Imm(imm));
    }

    pub fn ldx(&mut self, size: Size, dst: u8, src: u8, off: i16) {
        self.push(Instruction::Ldx { size, sx: false, dst: r(dst), src: r(src), off });
    }

    pub fn stx(&mut self, size: Size, dst: u8, src: u8, off: i16) {
        self.push(Instruction::Stx { size, dst: r(dst), src: r(src), off });
    }

    pub fn st(&mut self, size: Size, dst: u8, off: i16, imm: i32) {
        self.push(Instruction::St { size, dst: r(dst), off, imm });
    }

    pub fn call(&mut self, id: i32) {
        self.push(Instruction::Call(CallTarget::Helper(id)));
    }

    pub fn ld_map(&mut self, dst: u8, fd: i32) {
        self.push(Instruction::LdImm64 { dst: r(dst), src: LdImm64::MapFd(fd) });
    }

    pub fn ld64(&mut self, dst: u8, v: u64) {
        self.push(Instruction::LdImm64 { dst: r(dst), src: LdImm64::Imm(v) });
    }

    pub fn exit(&mut self) {
        self.push(Instruction::Exit);
    }

    pub fn jmp(&mut self, width: Width, op: JmpOp, dst: u8, src: Source, to: Label) {
        self.items.push(Item::Jmp { width, op, dst: r(dst), src, to });
    }

    pub fn ja(&mut self, to: Label) {
        self.items.push(Item::Ja(to));
    }

    /// A bpf2bpf call of the subprogram starting at `to`.
    pub fn call_local(&mut self, to: Label) {
        self.items.push(Item::Call(to));
    }

    /// `dst` = the address of the subprogram at `to` (a callback).
    pub fn ld_func(&mut self, dst: u8, to: Label) {
        self.items.push(Item::LdFunc(r(dst), to));
    }

    /// Encodes the program; every label must be bound.
    pub fn finish(self) -> Vec<Insn> {
        let mut slot_of = Vec::with_capacity(self.items.len() + 1);
        let mut slot = 0usize;
        for it in &self.items {
            slot_of.push(slot);
            slot += match it {
                Item::Plain(i) => i.slots(),
                Item::LdFunc(..) => 2,
                _ => 1,
            };
        }
        slot_of.push(slot);
        let target = |l: Label| slot_of[self.labels[l.0].expect("label bound")];
        let mut out = Vec::with_capacity(slot);
        for (idx, it) in self.items.iter().enumerate() {
            let rel = |l: Label| {
                let off = target(l) as i64 - (slot_of[idx] as i64 + 1);
                i16::try_from(off).expect("jump offset fits")
            };
            let ins = match *it {
                Item::Plain(i) => i,
                Item::Jmp { width, op, dst, src, to } => {
                    Instruction::Jmp { width, op, dst, src, off: rel(to) }
                }
                Item::Ja(to) => Instruction::Ja { off: i32::from(rel(to)), long: false },
                Item::Call(to) => Instruction::Call(CallTarget::Local(i32::from(rel(to)))),
                Item::LdFunc(dst, to) => Instruction::LdImm64 { dst, src: LdImm64::Func(i32::from(rel(to))) },
            };
            ins.encode_into(&mut out);
        }
        out
    }
}
