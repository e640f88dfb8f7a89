//! Static register liveness: which registers may be read, before being
//! written, on some path from each instruction. It stands in for the
//! kernel's dynamic `REG_LIVE_READ` / `REG_LIVE_WRITTEN` marks
//! (`mark_reg_read()`, `propagate_liveness()`): pruning ignores the
//! registers of an explored state that are dead where it was kept
//! (`regsafe()` is only asked about live ones).
//!
//! A backward dataflow over the instructions of every subprogram:
//! `live_in = uses ∪ (live_out \ defs)`, `live_out` the union over the
//! successors. It is an over-approximation (some registers the kernel
//! would find dead stay live), which is sound: only precision is lost.
//! Calls read r1-r5 and write r0-r5 (the helper's actual argument count is
//! not consulted), `exit` reads r0; the frame pointer is always live. Stack
//! slots are not covered here: their liveness is dynamic, as in the kernel
//! ([`super::stack_live`]).

use bpfemu_isa::{AtomicOp, CallTarget, Instruction, Source};

const R0: u16 = 1;
const ARGS: u16 = 0b11_1110;
const CALLER_SAVED: u16 = 0b11_1111;
const FP: u16 = 1 << 10;

fn bit(r: bpfemu_isa::Reg) -> u16 {
    1 << r.idx()
}

fn src_bit(s: Source) -> u16 {
    match s {
        Source::Reg(r) => bit(r),
        Source::Imm(_) => 0,
    }
}

/// `(uses, defs)` of one instruction.
fn uses_defs(ins: &Instruction) -> (u16, u16) {
    use Instruction::*;
    match *ins {
        Alu { op: bpfemu_isa::AluOp::Mov | bpfemu_isa::AluOp::MovSx(_), dst, src, .. } => {
            (src_bit(src), bit(dst))
        }
        Alu { dst, src, .. } => (bit(dst) | src_bit(src), bit(dst)),
        Neg { dst, .. } | Endian { dst, .. } => (bit(dst), bit(dst)),
        Ja { .. } => (0, 0),
        Jmp { dst, src, .. } => (bit(dst) | src_bit(src), 0),
        Call(CallTarget::Reg(r)) => (ARGS | bit(r), CALLER_SAVED),
        Call(_) => (ARGS, CALLER_SAVED),
        Exit => (R0, 0),
        LdImm64 { dst, .. } => (0, bit(dst)),
        LdPacket { src, .. } => (1 << 6 | src.map_or(0, bit), CALLER_SAVED),
        Ldx { dst, src, .. } => (bit(src), bit(dst)),
        St { dst, .. } => (bit(dst), 0),
        Stx { dst, src, .. } => (bit(dst) | bit(src), 0),
        Atomic { op: AtomicOp::CmpXchg, dst, src, .. } => (bit(dst) | bit(src) | R0, R0),
        Atomic { op, dst, src, .. } => {
            let fetch = matches!(
                op,
                AtomicOp::Xchg
                    | AtomicOp::Add { fetch: true }
                    | AtomicOp::Or { fetch: true }
                    | AtomicOp::And { fetch: true }
                    | AtomicOp::Xor { fetch: true }
            );
            (bit(dst) | bit(src), if fetch { bit(src) } else { 0 })
        }
    }
}

/// `live_in` for every slot of a program of `len` slots (0 for the second
/// half of a `ld_imm64`).
pub(crate) fn compute(prog: &[(usize, Instruction)], len: usize) -> Vec<u16> {
    let mut live = vec![0u16; len];
    let ud: Vec<(u16, u16)> = prog.iter().map(|(_, i)| uses_defs(i)).collect();
    let mut changed = true;
    while changed {
        changed = false;
        for (k, (at, ins)) in prog.iter().enumerate().rev() {
            let mut out = 0u16;
            let next = at + ins.slots();
            let falls = !matches!(ins, Instruction::Ja { .. } | Instruction::Exit);
            if falls && next < len {
                out |= live[next];
            }
            if let Some(off) = ins.jump_offset() {
                let t = *at as i64 + 1 + i64::from(off);
                if let Some(&l) = usize::try_from(t).ok().and_then(|t| live.get(t)) {
                    out |= l;
                }
            }
            let (uses, defs) = ud[k];
            let inn = uses | (out & !defs) | FP;
            if inn != live[*at] {
                live[*at] = inn;
                changed = true;
            }
        }
    }
    live
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn straight_line_and_branches() {
        let prog = bpfemu_isa::asm::kernel::assemble_instructions(
            "r2 = 1\nr3 = r1\nif r2 > 0 goto l\nr0 = r3\nexit\nl: r0 = 0\nexit",
        )
        .unwrap();
        let prog: Vec<(usize, Instruction)> = {
            let mut at = 0;
            prog.into_iter()
                .map(|(_, i)| {
                    let r = (at, i);
                    at += i.slots();
                    r
                })
                .collect()
        };
        let l = compute(&prog, 7);
        assert_eq!(l[0], FP | 1 << 1);
        assert_eq!(l[2], FP | 1 << 2 | 1 << 3);
        assert_eq!(l[5], FP);
        assert_eq!(l[4], FP | R0);
    }
}
