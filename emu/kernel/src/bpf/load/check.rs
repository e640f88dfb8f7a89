//! Step 3 of `BPF_PROG_LOAD`: the verifier's stand-in.
//!
//! The verifier (kernel/bpf/verifier.c `bpf_check()`) does not exist yet
//! (issue 5). Until it does, a load runs only the structural checks the
//! verifier starts with, with the verifier's errno and log wording:
//!
//! - strict decoding, jumps and bpf2bpf calls inside the program and not
//!   into the middle of a `ld_imm64` ([`bpfemu_vm::Program::new`]):
//!   `EINVAL`;
//! - the last instruction of each subprogram is `exit` or an
//!   unconditional jump (`check_subprogs()`: "last insn is not an exit or
//!   jmp"): `EINVAL`;
//! - r10 is never written (`check_reg_arg()`: "frame pointer is read
//!   only"): `EACCES`;
//! - kfunc calls: `EINVAL` (they need the vmlinux BTF).
//!
//! Helper calls are accepted whatever their id: an id no helper answers
//! fails at run time (the interpreter's unknown-helper error), not at load.
//! Everything else the verifier proves (memory safety, termination, types)
//! is not checked: programs loaded this way are marked unverified and
//! always run in the interpreter's checked mode, with a step limit.

use super::log::VLog;
use crate::errno::Errno;
use bpfemu_isa::{AtomicOp, CallTarget, Insn, Instruction, Reg, decode_program};
use bpfemu_vm::Program;

/// The line every load writes to a requested log while the verifier is
/// missing.
pub const STAND_IN_NOTE: &str = "verifier not implemented: structural checks only (bpfemu)";

/// Runs the structural checks on the relocated program and builds its
/// image.
pub fn structural(xlated: &[Insn], log: &mut VLog<'_>) -> Result<Program, Errno> {
    log.line(STAND_IN_NOTE);
    let image = Program::new(xlated).map_err(|e| {
        log.line(&e.to_string());
        Errno::EINVAL
    })?;
    // Program::new decoded successfully, so decoding again cannot fail.
    let decoded = decode_program(xlated).map_err(|_| Errno::EINVAL)?;

    // Subprogram starts: 0 and every bpf2bpf call target.
    let mut starts = vec![0usize];
    for &(pc, ref ins) in &decoded {
        if let Instruction::Call(CallTarget::Local(off)) = *ins {
            let target = pc as i64 + 1 + i64::from(off);
            starts.push(target as usize);
        }
        if let Instruction::Call(CallTarget::Kfunc { btf_id, .. }) = *ins {
            log.line(&format!("insn {pc}: kernel function call (btf_id {btf_id}) is not supported yet"));
            return Err(Errno::EINVAL);
        }
    }
    starts.sort_unstable();
    starts.dedup();
    // The instruction covering each subprogram's last slot.
    let mut owner = vec![0usize; xlated.len()];
    for (k, &(pc, ref ins)) in decoded.iter().enumerate() {
        owner[pc..pc + ins.slots()].fill(k);
    }
    let ends = starts.iter().skip(1).map(|&s| s - 1).chain(std::iter::once(xlated.len() - 1));
    for end in ends {
        let (_, last) = decoded[owner[end]];
        if !matches!(last, Instruction::Exit | Instruction::Ja { .. }) {
            log.line("last insn is not an exit or jmp");
            return Err(Errno::EINVAL);
        }
    }

    for &(pc, ref ins) in &decoded {
        if writes_r10(ins) {
            log.line(&format!("{pc}: frame pointer is read only"));
            return Err(Errno::EACCES);
        }
    }
    Ok(image)
}

/// Whether `ins` writes r10.
fn writes_r10(ins: &Instruction) -> bool {
    let fp = Reg::FP;
    match *ins {
        Instruction::Alu { dst, .. }
        | Instruction::Neg { dst, .. }
        | Instruction::Endian { dst, .. }
        | Instruction::LdImm64 { dst, .. }
        | Instruction::Ldx { dst, .. } => dst == fp,
        Instruction::Atomic { op, src, .. } => match op {
            AtomicOp::Add { fetch }
            | AtomicOp::Or { fetch }
            | AtomicOp::And { fetch }
            | AtomicOp::Xor { fetch } => fetch && src == fp,
            AtomicOp::Xchg => src == fp,
            AtomicOp::CmpXchg => false,
        },
        _ => false,
    }
}
