//! Structural checks of a program's control flow, run before the abstract
//! walk — the kernel's `add_subprog_and_kfunc()`, `check_subprogs()` and
//! `check_cfg()` in `kernel/bpf/verifier.c`, in that order, with their
//! messages and errno (`EINVAL`; `EPERM` and `E2BIG` for the two noted
//! cases).
//!
//! Instruction indices are slot indices, as in the kernel: a 64-bit
//! immediate load occupies two, and its second slot is a valid place for
//! nothing — jumping there is "jump into the middle of ldimm64 insn".
//!
//! * Subprograms start at 0 and at every bpf2bpf call target
//!   (`call pc+imm`) and `ld_imm64` `BPF_PSEUDO_FUNC` target.
//! * Every jump stays inside its subprogram; each subprogram ends with
//!   `exit` or an unconditional jump.
//! * A depth-first walk from instruction 0 (following calls into callees)
//!   finds back-edges — an error without `CAP_BPF`; with it, loops are
//!   allowed here and bounded later by the walk — and every instruction must
//!   be reached.

use crate::errno::{E2BIG, EINVAL, EPERM};
use bpfemu_isa::{CallTarget, Instruction, LdImm64};
use std::fmt;

/// `BPF_MAX_SUBPROGS`.
pub const MAX_SUBPROGS: usize = 256;

/// A rejected control-flow graph; `Display` is the kernel's log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CfgError {
    /// The program has no instructions (the kernel refuses it before the
    /// verifier runs, without a log line).
    Empty,
    /// `jump out of range from insn %d to %d`.
    JumpOutOfRange { from: usize, to: i64 },
    /// `last insn is not an exit or jmp`.
    LastInsnNotExitOrJmp,
    /// `call to invalid destination`.
    InvalidCallDestination,
    /// `too many subprograms` (`E2BIG`).
    TooManySubprogs,
    /// bpf2bpf calls, function pointers and kfunc calls need `CAP_BPF` (`EPERM`):
    /// `loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN`.
    CallsNeedCapBpf,
    /// `back-edge from insn %d to %d` (without `CAP_BPF`).
    BackEdge { from: usize, to: usize },
    /// `unreachable insn %d`.
    Unreachable(usize),
    /// `jump into the middle of ldimm64 insn %d`.
    IntoLdImm64(usize),
}

impl CfgError {
    /// The errno the load fails with (positive).
    pub fn errno(&self) -> i32 {
        match self {
            CfgError::TooManySubprogs => E2BIG,
            CfgError::CallsNeedCapBpf => EPERM,
            _ => EINVAL,
        }
    }
}

impl fmt::Display for CfgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CfgError::Empty => write!(f, "empty program"),
            CfgError::JumpOutOfRange { from, to } => write!(f, "jump out of range from insn {from} to {to}"),
            CfgError::LastInsnNotExitOrJmp => write!(f, "last insn is not an exit or jmp"),
            CfgError::InvalidCallDestination => write!(f, "call to invalid destination"),
            CfgError::TooManySubprogs => write!(f, "too many subprograms"),
            CfgError::CallsNeedCapBpf => write!(
                f,
                "loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN"
            ),
            CfgError::BackEdge { from, to } => write!(f, "back-edge from insn {from} to {to}"),
            CfgError::Unreachable(i) => write!(f, "unreachable insn {i}"),
            CfgError::IntoLdImm64(i) => write!(f, "jump into the middle of ldimm64 insn {i}"),
        }
    }
}

impl std::error::Error for CfgError {}

/// Options of the check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CfgOptions {
    /// The loader has `CAP_BPF` (`env->bpf_capable`): back-edges (bounded
    /// loops) and bpf2bpf calls are allowed.
    pub bpf_capable: bool,
}

/// What the checks learned, for the walk that follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CfgInfo {
    /// Program length in slots.
    pub len: usize,
    /// Subprogram start slots, sorted, starting with 0.
    pub subprogs: Vec<usize>,
    /// Back-edges `(from, to)` found (only possible when `bpf_capable`).
    pub back_edges: Vec<(usize, usize)>,
}

impl CfgInfo {
    /// `[start, end)` of each subprogram.
    pub fn subprog_ranges(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.subprogs
            .iter()
            .enumerate()
            .map(|(i, &s)| (s, self.subprogs.get(i + 1).copied().unwrap_or(self.len)))
    }

    /// The subprogram holding slot `insn`.
    pub fn subprog_of(&self, insn: usize) -> usize {
        self.subprogs.partition_point(|&s| s <= insn).saturating_sub(1)
    }
}

/// One slot: an instruction or the second half of a 64-bit load.
#[derive(Clone, Copy)]
enum Slot<'a> {
    Insn(&'a Instruction),
    Tail,
}

fn target(at: usize, off: i64) -> i64 {
    at as i64 + off + 1
}

/// Runs the checks on a decoded program (`decode_program`'s output: slot
/// index and instruction, in order).
pub fn check_cfg(prog: &[(usize, Instruction)], opts: CfgOptions) -> Result<CfgInfo, CfgError> {
    let Some(&(last_at, last)) = prog.last() else { return Err(CfgError::Empty) };
    let len = last_at + last.slots();
    let mut slots = vec![Slot::Tail; len];
    for (at, ins) in prog {
        slots[*at] = Slot::Insn(ins);
    }

    // add_subprog_and_kfunc: subprogram starts.
    let mut subprogs = vec![0usize];
    for (at, ins) in prog {
        let off = match ins {
            Instruction::Call(CallTarget::Local(imm)) => Some(i64::from(*imm)),
            Instruction::LdImm64 { src: LdImm64::Func(imm), .. } => Some(i64::from(*imm)),
            Instruction::Call(CallTarget::Kfunc { .. }) => None,
            _ => continue,
        };
        if !opts.bpf_capable {
            return Err(CfgError::CallsNeedCapBpf);
        }
        // kfunc calls start no subprogram (their BTF checks come later).
        let Some(off) = off else { continue };
        let t = target(*at, off);
        if t < 0 || t >= len as i64 {
            return Err(CfgError::InvalidCallDestination);
        }
        let t = t as usize;
        if let Err(pos) = subprogs.binary_search(&t) {
            if subprogs.len() >= MAX_SUBPROGS {
                return Err(CfgError::TooManySubprogs);
            }
            subprogs.insert(pos, t);
        }
    }

    // check_subprogs: jumps stay inside their subprogram; each one ends
    // with exit or ja.
    let mut cur = 0;
    let mut start = 0;
    let mut end = subprogs.get(1).copied().unwrap_or(len);
    for (i, slot) in slots.iter().enumerate() {
        if let Slot::Insn(ins) = slot
            && let Some(off) = ins.jump_offset()
        {
            let t = target(i, off.into());
            if t < start as i64 || t >= end as i64 {
                return Err(CfgError::JumpOutOfRange { from: i, to: t });
            }
        }
        if i == end - 1 {
            if !matches!(slot, Slot::Insn(Instruction::Exit | Instruction::Ja { .. })) {
                return Err(CfgError::LastInsnNotExitOrJmp);
            }
            cur += 1;
            start = end;
            end = subprogs.get(cur + 1).copied().unwrap_or(len);
        }
    }

    // check_cfg: depth-first walk. Successors in the kernel's order:
    // fall-through first, then the branch or callee.
    let succ = |t: usize| -> Vec<i64> {
        match slots[t] {
            Slot::Tail => vec![t as i64 + 1],
            Slot::Insn(ins) => match *ins {
                Instruction::Exit => vec![],
                Instruction::Ja { off, .. } => vec![target(t, off.into())],
                Instruction::Jmp { off, .. } => vec![t as i64 + 1, target(t, off.into())],
                Instruction::Call(CallTarget::Local(imm)) => vec![t as i64 + 1, target(t, imm.into())],
                Instruction::LdImm64 { src: LdImm64::Func(imm), .. } => {
                    vec![t as i64 + 2, target(t, imm.into())]
                }
                ref i => vec![(t + i.slots()) as i64],
            },
        }
    };
    const DISCOVERED: u8 = 1;
    const EXPLORED: u8 = 2;
    let mut state = vec![0u8; len];
    let mut next_edge = vec![0usize; len];
    let mut stack = vec![0usize];
    let mut back_edges = Vec::new();
    state[0] = DISCOVERED;
    while let Some(&t) = stack.last() {
        let edges = succ(t);
        let Some(&w) = edges.get(next_edge[t]) else {
            state[t] = EXPLORED;
            stack.pop();
            continue;
        };
        next_edge[t] += 1;
        if w < 0 || w >= len as i64 {
            return Err(CfgError::JumpOutOfRange { from: t, to: w });
        }
        let w = w as usize;
        match state[w] {
            0 => {
                state[w] = DISCOVERED;
                stack.push(w);
            }
            DISCOVERED => {
                if !opts.bpf_capable {
                    return Err(CfgError::BackEdge { from: t, to: w });
                }
                back_edges.push((t, w));
            }
            _ => {}
        }
    }
    let mut i = 0;
    while i < len {
        if state[i] != EXPLORED {
            return Err(CfgError::Unreachable(i));
        }
        if let Slot::Insn(ins @ Instruction::LdImm64 { .. }) = slots[i] {
            if state[i + 1] != 0 {
                return Err(CfgError::IntoLdImm64(i));
            }
            i += ins.slots();
        } else {
            i += 1;
        }
    }
    Ok(CfgInfo { len, subprogs, back_edges })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfemu_isa::{AluOp, JmpOp, Reg, Source, Width};

    fn mov(imm: i32) -> Instruction {
        Instruction::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Source::Imm(imm) }
    }
    fn ja(off: i32) -> Instruction {
        Instruction::Ja { off, long: false }
    }
    fn jeq(off: i16) -> Instruction {
        Instruction::Jmp { width: Width::W64, op: JmpOp::Eq, dst: Reg::R1, src: Source::Imm(0), off }
    }
    fn call(imm: i32) -> Instruction {
        Instruction::Call(CallTarget::Local(imm))
    }
    fn ld64() -> Instruction {
        Instruction::LdImm64 { dst: Reg::R0, src: LdImm64::Imm(0) }
    }
    const EXIT: Instruction = Instruction::Exit;

    /// Lays instructions out in slots.
    fn prog(ins: &[Instruction]) -> Vec<(usize, Instruction)> {
        let mut at = 0;
        ins.iter()
            .map(|i| {
                let r = (at, *i);
                at += i.slots();
                r
            })
            .collect()
    }

    const PRIV: CfgOptions = CfgOptions { bpf_capable: true };
    const UNPRIV: CfgOptions = CfgOptions { bpf_capable: false };

    fn err(ins: &[Instruction], opts: CfgOptions) -> (String, i32) {
        let e = check_cfg(&prog(ins), opts).unwrap_err();
        (e.to_string(), e.errno())
    }

    #[test]
    fn accepts_straight_and_branchy_code() {
        let info = check_cfg(&prog(&[mov(0), jeq(1), mov(1), EXIT]), UNPRIV).unwrap();
        assert_eq!((info.len, info.subprogs.clone(), info.back_edges.len()), (4, vec![0], 0));
        let info = check_cfg(&prog(&[ld64(), jeq(2), ld64(), EXIT]), UNPRIV).unwrap();
        assert_eq!(info.len, 6);
    }

    #[test]
    fn subprograms() {
        // 0: call +2 ; 1: mov ; 2: exit ; 3: mov ; 4: exit
        let info = check_cfg(&prog(&[call(2), mov(0), EXIT, mov(1), EXIT]), PRIV).unwrap();
        assert_eq!(info.subprogs, vec![0, 3]);
        assert_eq!(info.subprog_ranges().collect::<Vec<_>>(), vec![(0, 3), (3, 5)]);
        assert_eq!(info.subprog_of(4), 1);
        // ld_imm64 of a function (a callback) starts a subprogram too.
        let f = Instruction::LdImm64 { dst: Reg::R2, src: LdImm64::Func(3) };
        let info = check_cfg(&prog(&[f, mov(0), EXIT, mov(1), EXIT]), PRIV).unwrap();
        assert_eq!(info.subprogs, vec![0, 4]);
        assert_eq!(err(&[call(2), mov(0), EXIT, mov(1), EXIT], UNPRIV).1, EPERM);
        let kf = Instruction::Call(CallTarget::Kfunc { btf_id: 7, btf_fd_idx: 0 });
        assert_eq!(err(&[kf, EXIT], UNPRIV).1, EPERM);
        assert_eq!(check_cfg(&prog(&[kf, EXIT]), PRIV).unwrap().subprogs, vec![0]);
    }

    #[test]
    fn messages() {
        let cases: Vec<(Vec<Instruction>, CfgOptions, &str)> = vec![
            (vec![ja(5), EXIT], UNPRIV, "jump out of range from insn 0 to 6"),
            (vec![jeq(-3), EXIT], UNPRIV, "jump out of range from insn 0 to -2"),
            // a jump from one subprogram into another
            (vec![call(1), jeq(1), EXIT, mov(0), EXIT], PRIV, "jump out of range from insn 1 to 3"),
            (vec![mov(0)], UNPRIV, "last insn is not an exit or jmp"),
            (vec![mov(0), jeq(-2)], UNPRIV, "last insn is not an exit or jmp"),
            // overlapping caller and callee: the caller has no exit of its own
            (vec![call(0), mov(1), EXIT], PRIV, "last insn is not an exit or jmp"),
            (vec![call(5), EXIT], PRIV, "call to invalid destination"),
            (vec![call(-2), EXIT], PRIV, "call to invalid destination"),
            (vec![mov(0), jeq(-2), EXIT], UNPRIV, "back-edge from insn 1 to 0"),
            (vec![ja(-1), EXIT], UNPRIV, "back-edge from insn 0 to 0"),
            (vec![mov(0), EXIT, mov(1), EXIT], UNPRIV, "unreachable insn 2"),
            (vec![ja(1), EXIT, EXIT], UNPRIV, "unreachable insn 1"),
            (vec![jeq(1), ld64(), ld64(), mov(2), EXIT], UNPRIV, "jump into the middle of ldimm64 insn 1"),
            (vec![jeq(1), ld64(), EXIT], UNPRIV, "jump into the middle of ldimm64 insn 1"),
            (vec![mov(0), EXIT, ja(-1)], PRIV, "unreachable insn 2"),
        ];
        for (ins, opts, msg) in cases {
            let (m, errno) = err(&ins, opts);
            assert_eq!(m, msg, "{ins:?}");
            assert_eq!(errno, EINVAL);
        }
        assert_eq!(check_cfg(&[], UNPRIV).unwrap_err().errno(), EINVAL);
    }

    #[test]
    fn too_many_subprograms() {
        // 300 calls, each to its own one-insn subprogram.
        let n = 300;
        let mut ins: Vec<Instruction> = (0..n).map(|_| call(n)).collect();
        ins.push(EXIT);
        ins.extend((0..n).map(|_| EXIT));
        let (m, errno) = err(&ins, PRIV);
        assert_eq!((m.as_str(), errno), ("too many subprograms", E2BIG));
    }

    #[test]
    fn loops_with_cap_bpf() {
        let info = check_cfg(&prog(&[mov(0), jeq(-2), EXIT]), PRIV).unwrap();
        assert_eq!(info.back_edges, vec![(1, 0)]);
        // recursion is a back-edge through the call graph
        assert_eq!(
            err(&[call(-1), EXIT], UNPRIV).0,
            "loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN"
        );
        let info = check_cfg(&prog(&[call(1), EXIT, call(-1), EXIT]), PRIV).unwrap();
        assert_eq!(info.back_edges, vec![(2, 2)]);
    }
}
