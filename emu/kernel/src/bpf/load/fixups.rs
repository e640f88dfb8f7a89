//! Helper-call fix-ups after verification that change what a call does
//! for one program: the part of `do_misc_fixups()` (kernel/bpf/verifier.c)
//! that decides by the program's attach type.
//!
//! - `bpf_get_func_ret` in a tracing program that is neither fexit nor
//!   fmod_ret (fentry): the call becomes `r0 = -EOPNOTSUPP` (the
//!   function has not returned yet; no return value is stored). One
//!   instruction replaces one, so no jump moves.
//!
//! The kernel inlines the other trampoline helpers (`bpf_get_func_arg`,
//! `_arg_cnt`, `_ip`) and `bpf_get_func_ret` of fexit/fmod_ret programs as
//! loads from the ctx; bpfemu keeps them as calls of helpers with the same
//! results ([`crate::helpers::func_args`]), so `xlated` dumps show a call
//! where the kernel's show loads.

use crate::errno::Errno;
use crate::uapi::{AttachType, ProgType};
use bpfemu_isa::Insn;
use bpfemu_isa::opcode::{BPF_ALU64, BPF_CALL, BPF_JMP, BPF_K, BPF_MOV};
use bpfemu_verifier::proto::id;

/// Applies the fix-ups to `xlated`.
pub fn apply(xlated: &mut [Insn], prog_type: ProgType, attach: Option<AttachType>) {
    if prog_type != ProgType::Tracing
        || matches!(attach, Some(AttachType::TraceFexit | AttachType::ModifyReturn))
    {
        return;
    }
    for insn in xlated.iter_mut() {
        if insn.code == BPF_JMP | BPF_CALL && insn.src == 0 && insn.imm == id::GET_FUNC_RET {
            *insn = Insn::new(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, Errno::EOPNOTSUPP.neg() as i32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfemu_isa::asm::kernel::assemble;

    #[test]
    fn get_func_ret_of_fentry_becomes_eopnotsupp() {
        let src = "r2 = r10\nr2 += -8\ncall bpf_get_func_ret#184\nexit";
        let orig = assemble(src).unwrap();
        let mut fentry = orig.clone();
        apply(&mut fentry, ProgType::Tracing, Some(AttachType::TraceFentry));
        assert_eq!(fentry[..2], orig[..2]);
        assert_eq!(fentry[2], Insn::new(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, -95));
        for at in [AttachType::TraceFexit, AttachType::ModifyReturn] {
            let mut p = orig.clone();
            apply(&mut p, ProgType::Tracing, Some(at));
            assert_eq!(p, orig, "{at:?}");
        }
        // Other helpers and other program types are left alone.
        let mut other = assemble("call bpf_get_func_arg_cnt#185\nexit").unwrap();
        let before = other.clone();
        apply(&mut other, ProgType::Tracing, Some(AttachType::TraceFentry));
        assert_eq!(other, before);
        let mut sys = orig.clone();
        apply(&mut sys, ProgType::Syscall, None);
        assert_eq!(sys, orig);
    }
}
