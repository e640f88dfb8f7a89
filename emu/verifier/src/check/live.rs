//! Static register liveness: which registers may be read, before being
//! written, on some path from each instruction. It stands in for the
//! kernel's dynamic `REG_LIVE_READ` / `REG_LIVE_WRITTEN` marks
//! (`mark_reg_read()`, `propagate_liveness()`): pruning ignores the
//! registers of an explored state that are dead where it was kept
//! (`regsafe()` is only asked about live ones).
//!
//! A backward dataflow over the instructions of every subprogram:
//! `live_in = uses ∪ (live_out \ defs)`, `live_out` the union over the
//! successors. The uses and definitions are those of the kernel's
//! `compute_insn_live_regs()` (Linux 6.15+, whose result 6.18 also uses
//! for pruning): a helper or kfunc call reads as many argument registers
//! as its prototype has parameters (`get_call_summary()`; r1-r5 for
//! bpf2bpf calls and helpers the program type may not call) and writes
//! r0-r5; `exit` reads r0; a legacy packet load (`LD_ABS`/`LD_IND`)
//! reads every register. The frame pointer is always live. Stack slots
//! are not covered here: their liveness is dynamic ([`super::stack_live`]).

use bpfemu_isa::{AtomicOp, CallTarget, Instruction, Source};

const R0: u16 = 1;
const ARGS: u16 = 0b11_1110;
const CALLER_SAVED: u16 = 0b11_1111;
const FP: u16 = 1 << 10;
const ALL: u16 = 0x7ff;

fn bit(r: bpfemu_isa::Reg) -> u16 {
    1 << r.idx()
}

fn src_bit(s: Source) -> u16 {
    match s {
        Source::Reg(r) => bit(r),
        Source::Imm(_) => 0,
    }
}

/// `(uses, defs)` of one instruction; `params` gives the parameter count
/// of a helper or kfunc call when its prototype is known.
fn uses_defs(ins: &Instruction, params: &dyn Fn(&Instruction) -> Option<u8>) -> (u16, u16) {
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
        Call(_) => match params(ins) {
            // GENMASK(num_params, 1)
            Some(n) => (((1u16 << (n.min(5) + 1)) - 1) & !R0, CALLER_SAVED),
            None => (ARGS, CALLER_SAVED),
        },
        Exit => (R0, 0),
        LdImm64 { dst, .. } => (0, bit(dst)),
        LdPacket { .. } => (ALL, 0),
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
pub(crate) fn compute(
    prog: &[(usize, Instruction)],
    len: usize,
    params: &dyn Fn(&Instruction) -> Option<u8>,
) -> Vec<u16> {
    let mut live = vec![0u16; len];
    let ud: Vec<(u16, u16)> = prog.iter().map(|(_, i)| uses_defs(i, params)).collect();
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

    /// `src` assembled, each instruction at its slot.
    fn slots(src: &str) -> Vec<(usize, Instruction)> {
        let mut at = 0;
        bpfemu_isa::asm::kernel::assemble_instructions(src)
            .unwrap()
            .into_iter()
            .map(|(_, i)| {
                let r = (at, i);
                at += i.slots();
                r
            })
            .collect()
    }

    #[test]
    fn straight_line_and_branches() {
        let prog = slots("r2 = 1\nr3 = r1\nif r2 > 0 goto l\nr0 = r3\nexit\nl: r0 = 0\nexit");
        let l = compute(&prog, 7, &|_| None);
        assert_eq!(l[0], FP | 1 << 1);
        assert_eq!(l[2], FP | 1 << 2 | 1 << 3);
        assert_eq!(l[5], FP);
        assert_eq!(l[4], FP | R0);
    }

    #[test]
    fn calls_read_their_parameters_only() {
        let prog = slots("r1 = 1\nr2 = 2\nr3 = 3\nr5 = 5\ncall 12\nr0 = 0\nexit");
        // bpf_tail_call takes three arguments: r5 is dead before it.
        let l = compute(&prog, 7, &|_| Some(3));
        assert_eq!(l[4], FP | 0b1110);
        // Without a prototype every argument register is read.
        let l = compute(&prog, 7, &|_| None);
        assert_eq!(l[4], FP | ARGS);
        // A legacy packet load reads everything.
        assert_eq!(compute(&slots("r0 = *(u8 *)skb[0]\nexit"), 2, &|_| None)[0], ALL);
    }
}
