//! The decoded instruction model: one variant per instruction family of
//! RFC 9669, with every field meaningful (no reserved bits left).
//!
//! `Instruction` is what the decoder produces from raw [`Insn`] slots and
//! what the encoder turns back into them; the assembler, disassembler,
//! interpreter and (later) verifier and JIT all work on it.
//!
//! [`Insn`]: crate::Insn

use std::fmt;

/// A register number, 0..=10 (r10 is the read-only frame pointer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reg(u8);

impl Reg {
    pub const R0: Reg = Reg(0);
    pub const R1: Reg = Reg(1);
    pub const R2: Reg = Reg(2);
    pub const R3: Reg = Reg(3);
    pub const R4: Reg = Reg(4);
    pub const R5: Reg = Reg(5);
    pub const R6: Reg = Reg(6);
    pub const R7: Reg = Reg(7);
    pub const R8: Reg = Reg(8);
    pub const R9: Reg = Reg(9);
    pub const FP: Reg = Reg(10);

    /// Returns the register if `n` names one of r0..r10.
    pub const fn new(n: u8) -> Option<Reg> {
        if n <= 10 { Some(Reg(n)) } else { None }
    }

    pub const fn num(self) -> u8 {
        self.0
    }

    pub const fn idx(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// Operand width of an ALU or JMP instruction: `BPF_ALU`/`BPF_JMP32`
/// operate on the low 32 bits (`w` registers), `BPF_ALU64`/`BPF_JMP` on 64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Width {
    W32,
    W64,
}

/// Second operand of an ALU or conditional jump.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    Reg(Reg),
    Imm(i32),
}

/// ALU operations. The signed and sign-extending forms are ISA v4
/// (`off` = 1 for sdiv/smod, 8/16/32 for movsx).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AluOp {
    Add,
    Sub,
    Mul,
    Div,
    SDiv,
    Or,
    And,
    Lsh,
    Rsh,
    Mod,
    SMod,
    Xor,
    Mov,
    /// `movsx`: move with sign extension from 8, 16 or 32 bits.
    MovSx(u8),
    Arsh,
}

impl AluOp {
    pub const ALL: [AluOp; 17] = [
        AluOp::Add,
        AluOp::Sub,
        AluOp::Mul,
        AluOp::Div,
        AluOp::SDiv,
        AluOp::Or,
        AluOp::And,
        AluOp::Lsh,
        AluOp::Rsh,
        AluOp::Mod,
        AluOp::SMod,
        AluOp::Xor,
        AluOp::Mov,
        AluOp::MovSx(8),
        AluOp::MovSx(16),
        AluOp::MovSx(32),
        AluOp::Arsh,
    ];
}

/// Byte-order operations (`BPF_END`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndianOp {
    /// `BPF_ALU | BPF_END | BPF_TO_LE`: `le16/32/64` (truncate on x86).
    ToLe,
    /// `BPF_ALU | BPF_END | BPF_TO_BE`: `be16/32/64`.
    ToBe,
    /// `BPF_ALU64 | BPF_END | BPF_TO_LE`: unconditional `bswap16/32/64` (v4).
    Swap,
}

/// Conditional jump operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JmpOp {
    Eq,
    Gt,
    Ge,
    Set,
    Ne,
    SGt,
    SGe,
    Lt,
    Le,
    SLt,
    SLe,
}

impl JmpOp {
    pub const ALL: [JmpOp; 11] = [
        JmpOp::Eq,
        JmpOp::Gt,
        JmpOp::Ge,
        JmpOp::Set,
        JmpOp::Ne,
        JmpOp::SGt,
        JmpOp::SGe,
        JmpOp::Lt,
        JmpOp::Le,
        JmpOp::SLt,
        JmpOp::SLe,
    ];
}

/// Memory access size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Size {
    B,
    H,
    W,
    DW,
}

impl Size {
    pub const ALL: [Size; 4] = [Size::B, Size::H, Size::W, Size::DW];

    pub const fn bytes(self) -> usize {
        match self {
            Size::B => 1,
            Size::H => 2,
            Size::W => 4,
            Size::DW => 8,
        }
    }

    /// The C type name the kernel's disassembler prints (`u8` .. `u64`).
    pub const fn c_type(self) -> &'static str {
        match self {
            Size::B => "u8",
            Size::H => "u16",
            Size::W => "u32",
            Size::DW => "u64",
        }
    }
}

/// Atomic read-modify-write operations (`BPF_STX | BPF_ATOMIC`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtomicOp {
    /// `add/or/and/xor`, with `fetch` returning the old value in `src`.
    Add {
        fetch: bool,
    },
    Or {
        fetch: bool,
    },
    And {
        fetch: bool,
    },
    Xor {
        fetch: bool,
    },
    /// Exchange: old value into `src` (always fetches).
    Xchg,
    /// Compare `r0` with memory, store `src` if equal; old value into `r0`.
    CmpXchg,
}

impl AtomicOp {
    pub const ALL: [AtomicOp; 10] = [
        AtomicOp::Add { fetch: false },
        AtomicOp::Or { fetch: false },
        AtomicOp::And { fetch: false },
        AtomicOp::Xor { fetch: false },
        AtomicOp::Add { fetch: true },
        AtomicOp::Or { fetch: true },
        AtomicOp::And { fetch: true },
        AtomicOp::Xor { fetch: true },
        AtomicOp::Xchg,
        AtomicOp::CmpXchg,
    ];
}

/// What a `BPF_JMP | BPF_CALL` calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallTarget {
    /// A helper by its uapi id (`src_reg = 0`).
    Helper(i32),
    /// A BPF-to-BPF call, `imm` relative to the next instruction
    /// (`src_reg = BPF_PSEUDO_CALL`).
    Local(i32),
    /// A kernel function by BTF id; `off` selects the module BTF fd slot,
    /// 0 for vmlinux (`src_reg = BPF_PSEUDO_KFUNC_CALL`).
    Kfunc { btf_id: i32, btf_fd_idx: i16 },
    /// `callx`: call through a register (`BPF_JMP | BPF_CALL | BPF_X`, the
    /// register in `dst_reg`, as LLVM ≥ 19 and the conformance suite encode it).
    Reg(Reg),
}

/// Source kinds of the 64-bit immediate load (`BPF_LD | BPF_IMM | BPF_DW`):
/// the `src_reg` pseudo values of uapi/linux/bpf.h.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LdImm64 {
    /// A plain 64-bit constant.
    Imm(u64),
    /// `BPF_PSEUDO_MAP_FD`: `imm` is a map fd; the loaded value is the map.
    MapFd(i32),
    /// `BPF_PSEUDO_MAP_VALUE`: map fd and offset into the map's value.
    MapValue { fd: i32, off: u32 },
    /// `BPF_PSEUDO_BTF_ID`: a kernel variable by BTF id (second `imm` = btf fd).
    BtfId { btf_id: i32, btf_fd: i32 },
    /// `BPF_PSEUDO_FUNC`: address of a subprogram, `imm` relative to the next
    /// instruction.
    Func(i32),
    /// `BPF_PSEUDO_MAP_IDX`: a map by index into `fd_array`.
    MapIdx(i32),
    /// `BPF_PSEUDO_MAP_IDX_VALUE`: map by `fd_array` index plus value offset.
    MapIdxValue { idx: i32, off: u32 },
}

/// One decoded instruction. Jump and call offsets are kept as encoded
/// (relative to the next slot); a wide instruction occupies two slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Instruction {
    /// `dst = dst OP src` (or `dst = src` for mov/movsx).
    Alu {
        width: Width,
        op: AluOp,
        dst: Reg,
        src: Source,
    },
    /// `dst = -dst`.
    Neg {
        width: Width,
        dst: Reg,
    },
    /// Byte swap / conversion of the low `bits` (16, 32, 64) of `dst`.
    Endian {
        op: EndianOp,
        bits: u8,
        dst: Reg,
    },
    /// Unconditional jump. `long` is `gotol` (`BPF_JMP32 | BPF_JA`, offset in
    /// `imm`); otherwise the offset is the 16-bit `off`.
    Ja {
        off: i32,
        long: bool,
    },
    /// Conditional jump: `if dst OP src goto pc + 1 + off`.
    Jmp {
        width: Width,
        op: JmpOp,
        dst: Reg,
        src: Source,
        off: i16,
    },
    Call(CallTarget),
    Exit,
    /// `dst = imm64` and its pseudo forms; takes two slots.
    LdImm64 {
        dst: Reg,
        src: LdImm64,
    },
    /// Legacy packet access (`BPF_LD | BPF_ABS/BPF_IND`): `r0 = ntoh(*(skb->data + [src +] imm))`.
    LdPacket {
        size: Size,
        src: Option<Reg>,
        imm: i32,
    },
    /// `dst = *(size *)(src + off)`, sign-extending when `sx` (`BPF_MEMSX`, v4).
    Ldx {
        size: Size,
        sx: bool,
        dst: Reg,
        src: Reg,
        off: i16,
    },
    /// `*(size *)(dst + off) = imm`.
    St {
        size: Size,
        dst: Reg,
        off: i16,
        imm: i32,
    },
    /// `*(size *)(dst + off) = src`.
    Stx {
        size: Size,
        dst: Reg,
        src: Reg,
        off: i16,
    },
    /// Atomic RMW on `*(size *)(dst + off)`; `size` is W or DW.
    Atomic {
        size: Size,
        op: AtomicOp,
        dst: Reg,
        src: Reg,
        off: i16,
    },
}

impl Instruction {
    /// Number of 8-byte slots the instruction occupies.
    pub const fn slots(&self) -> usize {
        match self {
            Instruction::LdImm64 { .. } => 2,
            _ => 1,
        }
    }

    /// For jumps (not calls or exit): the encoded offset relative to the
    /// next slot.
    pub const fn jump_offset(&self) -> Option<i32> {
        match *self {
            Instruction::Ja { off, .. } => Some(off),
            Instruction::Jmp { off, .. } => Some(off as i32),
            _ => None,
        }
    }
}
