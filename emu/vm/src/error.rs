//! Errors of building a [`Program`](crate::Program) image and of running it.
//!
//! Load errors mirror what the kernel refuses before an image exists
//! (`bpf_check()`'s "jump out of range", "jump to the middle of ldimm64
//! insn"); run errors are the emulator's own: the kernel has no run-time
//! errors because its verifier rules them out, so each [`VmError`] is either
//! a sanitizer finding (checked mode) or a guard for unverified code.

use bpfemu_isa::{DecodeError, LdImm64};
use std::fmt;

/// Whether a control transfer is a jump or a bpf2bpf call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferKind {
    Jump,
    Call,
}

impl fmt::Display for TransferKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransferKind::Jump => "jump",
            TransferKind::Call => "call",
        })
    }
}

/// Why [`Program::new`](crate::Program::new) refused the instructions.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// No instructions (the kernel answers `insn_cnt == 0` with E2BIG).
    #[error("empty program")]
    Empty,
    /// More slots than jump targets can address.
    #[error("program of {len} insns is too large (at most {max})")]
    TooLarge { len: usize, max: usize },
    /// A slot failed strict decoding.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A jump or call lands outside the program (kernel: "jump out of range
    /// from insn %d to %d").
    #[error("insn {pc}: {kind} out of range from insn {pc} to {target}")]
    OutOfRange { pc: usize, kind: TransferKind, target: i64 },
    /// A jump or call lands on the second slot of a 64-bit immediate load
    /// (kernel: "jump to the middle of ldimm64 insn %d").
    #[error("insn {pc}: {kind} to the middle of ldimm64 insn {}", target - 1)]
    IntoLdImm64 { pc: usize, kind: TransferKind, target: usize },
    /// A `ld_imm64` with a pseudo source (map fd, map value, BTF id, function
    /// address). The kernel's loader replaces these with plain constants
    /// before the executable image is built; the image only runs constants.
    #[error(
        "insn {pc}: ld_imm64 with pseudo source {src:?} is not executable: the loader must \
         resolve map fds, map values, BTF ids and function addresses to plain constants first, \
         as the kernel does before building the image"
    )]
    PseudoLdImm64 { pc: usize, src: LdImm64 },
}

/// A run that did not end with `exit` from the main frame.
///
/// `pc` is the slot index in the program executing at that moment (after a
/// tail call, in the tail-called program).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VmError {
    /// Checked mode: a load, store or atomic not entirely inside one region
    /// (or a write to a read-only one). `nearest` is the closest region as
    /// (name, start, len).
    #[error("{}", MemFmt { pc: *pc, addr: *addr, size: *size, write: *write, nearest })]
    MemoryViolation { pc: usize, addr: u64, size: usize, write: bool, nearest: Option<(String, u64, u64)> },
    /// Checked mode: an atomic whose address is not a multiple of its size.
    #[error("insn {pc}: misaligned {size}-byte atomic at {addr:#x}")]
    MisalignedAtomic { pc: usize, addr: u64, size: usize },
    /// `call N` (or `callx` naming N) with no helper registered for N.
    #[error("insn {pc}: unknown helper #{id}")]
    UnknownHelper { pc: usize, id: i64 },
    /// A kfunc call with no kfunc registered for the BTF id.
    #[error("insn {pc}: unknown kfunc (btf_id {btf_id})")]
    UnknownKfunc { pc: usize, btf_id: i32 },
    /// A bpf2bpf call beyond `MAX_CALL_FRAMES` frames.
    #[error("insn {pc}: call depth exceeds {max} frames")]
    CallDepthExceeded { pc: usize, max: usize },
    /// The instruction budget of [`Interpreter::set_step_limit`] ran out
    /// before instruction `pc` could execute.
    ///
    /// [`Interpreter::set_step_limit`]: crate::Interpreter::set_step_limit
    #[error("insn {pc}: step limit of {limit} instructions exceeded")]
    StepLimitExceeded { pc: usize, limit: u64 },
    /// Execution ran past the last instruction (`pc` is the program length).
    #[error("insn {pc}: fell off the end of the program (last insn is not an exit or jmp)")]
    FellOffEnd { pc: usize },
    /// A legacy packet load (`LD_ABS`/`LD_IND`) in a run given no packet.
    #[error("insn {pc}: legacy packet load (ld_abs/ld_ind) but the run has no packet")]
    NoPacket { pc: usize },
    /// More than five arguments (they go to r1..r5).
    #[error("{given} arguments given; at most 5 (r1..r5)")]
    TooManyArgs { given: usize },
    /// A helper (called at `pc`) called back with a value that is not a
    /// callback token ([`crate::callback_token`]).
    #[error("insn {pc}: {token:#x} is not a callback token")]
    NotACallback { pc: usize, token: u64 },
    /// A callback token naming a slot that is not an instruction of the
    /// calling program (`pc`: the helper call).
    #[error("insn {pc}: callback target {target} is not an instruction of the program")]
    BadCallback { pc: usize, target: usize },
    /// [`crate::call_callback`] outside a callback-taking helper's call.
    #[error("no program to call back into: not inside a callback-taking helper call")]
    NoCallbackContext,
    /// Control reached the second slot of a 64-bit immediate load. Program
    /// validation makes this impossible; it exists so that no path panics.
    #[error("insn {pc}: executed the second slot of a ld_imm64")]
    InvalidSlot { pc: usize },
    /// JIT only: a tail call (at `pc`) reached a program the JIT cannot
    /// compile (the kernel does not mix JITed and interpreted programs in
    /// one prog_array).
    #[error("insn {pc}: tail call target cannot run on the JIT: {reason}")]
    NotJitted { pc: usize, reason: String },
}

/// Formats a memory violation, saying how far outside the nearest region
/// the access lies.
struct MemFmt<'a> {
    pc: usize,
    addr: u64,
    size: usize,
    write: bool,
    nearest: &'a Option<(String, u64, u64)>,
}

impl fmt::Display for MemFmt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.write { "write" } else { "read" };
        let (pc, addr, size) = (self.pc, self.addr, self.size);
        let Some((name, start, len)) = self.nearest else {
            return write!(
                f,
                "insn {pc}: out-of-bounds {what} of {size} bytes at {addr:#x}: no memory regions"
            );
        };
        let (a, e) = (u128::from(addr), u128::from(addr) + size as u128);
        let (s, end) = (u128::from(*start), u128::from(*start) + u128::from(*len));
        if a >= s && e <= end {
            return write!(
                f,
                "insn {pc}: {what} of {size} bytes at {addr:#x}: region '{name}' \
                 [{start:#x},+{len}) is read-only"
            );
        }
        write!(
            f,
            "insn {pc}: out-of-bounds {what} of {size} bytes at {addr:#x}: nearest region \
             '{name}' [{start:#x},+{len}), "
        )?;
        if a < s {
            write!(f, "{} bytes before its start", s - a)
        } else {
            write!(f, "{} bytes past its end", e - end)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mv(addr: u64, size: usize, write: bool, n: Option<(&str, u64, u64)>) -> String {
        VmError::MemoryViolation {
            pc: 5,
            addr,
            size,
            write,
            nearest: n.map(|(s, a, l)| (s.to_string(), a, l)),
        }
        .to_string()
    }

    #[test]
    fn memory_violation_says_how_far_outside() {
        assert_eq!(
            mv(0x1200, 8, true, Some(("stack", 0x1000, 512))),
            "insn 5: out-of-bounds write of 8 bytes at 0x1200: nearest region 'stack' \
             [0x1000,+512), 8 bytes past its end"
        );
        assert_eq!(
            mv(0x11fc, 8, false, Some(("stack", 0x1000, 512))),
            "insn 5: out-of-bounds read of 8 bytes at 0x11fc: nearest region 'stack' \
             [0x1000,+512), 4 bytes past its end"
        );
        assert_eq!(
            mv(0xff0, 4, false, Some(("ctx", 0x1000, 16))),
            "insn 5: out-of-bounds read of 4 bytes at 0xff0: nearest region 'ctx' \
             [0x1000,+16), 16 bytes before its start"
        );
        assert_eq!(
            mv(0x1000, 4, true, Some(("ctx", 0x1000, 16))),
            "insn 5: write of 4 bytes at 0x1000: region 'ctx' [0x1000,+16) is read-only"
        );
        assert_eq!(
            mv(0x10, 1, false, None),
            "insn 5: out-of-bounds read of 1 bytes at 0x10: no memory regions"
        );
    }

    #[test]
    fn load_error_messages_follow_the_kernel() {
        let e = LoadError::OutOfRange { pc: 3, kind: TransferKind::Jump, target: 9 };
        assert_eq!(e.to_string(), "insn 3: jump out of range from insn 3 to 9");
        let e = LoadError::IntoLdImm64 { pc: 0, kind: TransferKind::Call, target: 2 };
        assert_eq!(e.to_string(), "insn 0: call to the middle of ldimm64 insn 1");
    }
}
