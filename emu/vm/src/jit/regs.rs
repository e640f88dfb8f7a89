//! The register map: kernel `reg2hex` (arch/x86/net/bpf_jit_comp.c).
//!
//! R0=rax, R1..R5=rdi,rsi,rdx,rcx,r8 (the SysV argument registers, so
//! helpers are called with no shuffling), R6..R9=rbx,r13,r14,r15, R10=rbp.
//! Scratch: r9 (address), r10 (saved rax, the kernel's `BPF_REG_AX`), r11
//! (the kernel's `AUX_REG`). r12, which the kernel leaves unused, holds the
//! run's [`State`](super::frame::State) pointer for the whole run.

use crate::op::R;

/// The native register number of BPF register `r`.
pub(super) const fn x(r: R) -> u8 {
    match r {
        R::R0 => 0,
        R::R1 => 7,
        R::R2 => 6,
        R::R3 => 2,
        R::R4 => 1,
        R::R5 => 8,
        R::R6 => 3,
        R::R7 => 13,
        R::R8 => 14,
        R::R9 => 15,
        R::R10 => 5,
    }
}

pub(super) const RCX: u8 = 1;
pub(super) const R10: u8 = 10;
pub(super) const R11: u8 = 11;
