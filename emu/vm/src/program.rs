//! The executable image: a program decoded and lowered once, then shared.
//!
//! Kernel counterpart: the `bpf_prog` the loader hands to
//! `bpf_prog_select_runtime()` after `bpf_check()` — instructions already
//! fixed up (map fds and other pseudo sources resolved to constants).
//! `Program::new` does only what the interpreter's memory safety needs:
//! strict decoding, and every jump and bpf2bpf call target inside the
//! program and on the first slot of an instruction (kernel/bpf/verifier.c
//! `check_subprogs()`/`check_cfg()`: "jump out of range", "jump to the
//! middle of ldimm64 insn"). Everything else (a last instruction that is not
//! `exit` or `ja`, r10 writes, unbounded loops, unknown helpers) is the
//! verifier's business and is met at run time instead.

use crate::error::LoadError;
use crate::op::{Op, lower, second_slot};
use bpfemu_isa::{Insn, Instruction, decode_program};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

/// A validated, pre-decoded program. Immutable but for its function-entry
/// replacements (see [`Program::replace`]), `Send + Sync`; share it
/// behind an `Arc`.
#[derive(Debug)]
pub struct Program {
    insns: Vec<Insn>,
    /// Decoded instruction per slot (the second slot of a `ld_imm64`
    /// repeats the first), for tracing.
    instrs: Vec<Instruction>,
    /// Lowered op per slot plus a trailing [`Op::FallOff`] sentinel, so
    /// `ops.len() == insns.len() + 1`.
    ops: Box<[Op]>,
    replaced: Replacements,
}

/// The interpreter's side of freplace: function-entry slot → the program
/// that runs instead (the kernel patches the entry of the JITed function
/// with a jump, `bpf_arch_text_poke()`; the interpreter consults this
/// table at each bpf2bpf call and at the start of a run). `any` keeps the
/// common case (nothing replaced) to one relaxed load per call.
#[derive(Debug, Default)]
struct Replacements {
    any: AtomicBool,
    /// Bumped by every change (the JIT's tail-call cache key).
    generation: AtomicU64,
    map: RwLock<BTreeMap<usize, Arc<Program>>>,
}

impl Clone for Program {
    /// A copy of the code; the copy has no replacements.
    fn clone(&self) -> Program {
        Program {
            insns: self.insns.clone(),
            instrs: self.instrs.clone(),
            ops: self.ops.clone(),
            replaced: Replacements::default(),
        }
    }
}

impl Program {
    /// Largest accepted program, in slots: targets are stored as `u32` and
    /// the sentinel needs one more index.
    pub const MAX_INSNS: usize = u32::MAX as usize - 1;

    /// Decodes, validates and lowers `insns`.
    pub fn new(insns: &[Insn]) -> Result<Program, LoadError> {
        if insns.is_empty() {
            return Err(LoadError::Empty);
        }
        if insns.len() > Self::MAX_INSNS {
            return Err(LoadError::TooLarge { len: insns.len(), max: Self::MAX_INSNS });
        }
        let decoded = decode_program(insns)?;
        let mut is_tail = vec![false; insns.len()];
        for &(pc, ref ins) in &decoded {
            if ins.slots() == 2 {
                is_tail[pc + 1] = true;
            }
        }
        let mut ops = Vec::with_capacity(insns.len() + 1);
        let mut instrs = Vec::with_capacity(insns.len());
        for &(pc, ref ins) in &decoded {
            ops.push(lower(pc, ins, &is_tail)?);
            instrs.push(*ins);
            if ins.slots() == 2 {
                ops.push(second_slot(ins));
                instrs.push(*ins);
            }
        }
        ops.push(Op::FallOff);
        debug_assert_eq!(ops.len(), insns.len() + 1);
        Ok(Program {
            insns: insns.to_vec(),
            instrs,
            ops: ops.into_boxed_slice(),
            replaced: Replacements::default(),
        })
    }

    /// Function entries: slot 0 and every bpf2bpf call target, sorted.
    pub fn entries(&self) -> Vec<usize> {
        let mut v = vec![0];
        v.extend(self.ops.iter().filter_map(|op| match op {
            Op::CallLocal(t) => Some(*t as usize),
            _ => None,
        }));
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Makes runs of this program that reach the function entry `slot`
    /// (a call to it, or the start of a run for slot 0) run `with` from
    /// its slot 0 instead, in a frame of its own, returning to the caller
    /// as the function would; `None` restores the function. Runs started
    /// before see the change at their next call. False (and nothing
    /// changes) when `slot` is not a function entry.
    pub fn replace(&self, slot: usize, with: Option<Arc<Program>>) -> bool {
        if !self.entries().contains(&slot) {
            return false;
        }
        let mut map = self.replaced.map.write().unwrap_or_else(PoisonError::into_inner);
        match with {
            Some(p) => map.insert(slot, p),
            None => map.remove(&slot),
        };
        self.replaced.any.store(!map.is_empty(), Ordering::Release);
        self.replaced.generation.fetch_add(1, Ordering::AcqRel);
        true
    }

    /// The replacements now, with the generation they belong to (every
    /// [`replace`](Self::replace) makes a new one).
    pub fn replacements(&self) -> (u64, Vec<(usize, Arc<Program>)>) {
        let map = self.replaced.map.read().unwrap_or_else(PoisonError::into_inner);
        let generation = self.replaced.generation.load(Ordering::Acquire);
        (generation, map.iter().map(|(&s, p)| (s, p.clone())).collect())
    }

    /// The program replacing the function entry `slot`, if any.
    pub fn replacement(&self, slot: usize) -> Option<Arc<Program>> {
        if !self.replaced.any.load(Ordering::Acquire) {
            return None;
        }
        self.replaced.map.read().unwrap_or_else(PoisonError::into_inner).get(&slot).cloned()
    }

    /// The raw slots the program was built from.
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    /// Always false: empty programs are refused.
    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    /// The decoded instruction at slot `pc` (for the second slot of a
    /// `ld_imm64`, the load itself).
    pub fn instruction(&self, pc: usize) -> Option<&Instruction> {
        self.instrs.get(pc)
    }

    /// The lowered ops, `len() + 1` of them (the last is the sentinel).
    ///
    /// Invariants the interpreter relies on: every `Ja`/`CallLocal` target,
    /// and every conditional jump's slot + 1 + offset, is `< len()` and not
    /// a second `ld_imm64` slot; a `LdImm64` op is never the last slot and
    /// is followed by its `LdImm64Hi`; register fields are `<= 10`.
    pub(crate) fn ops(&self) -> &[Op] {
        &self.ops
    }

    pub(crate) fn instrs(&self) -> &[Instruction] {
        &self.instrs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TransferKind;
    use bpfemu_isa::{CallTarget, LdImm64, Reg, encode_program};

    fn load(p: &[Instruction]) -> Result<Program, LoadError> {
        Program::new(&encode_program(p))
    }

    #[test]
    fn empty_program_is_refused() {
        assert_eq!(Program::new(&[]).unwrap_err(), LoadError::Empty);
    }

    #[test]
    fn decode_errors_pass_through() {
        let e = Program::new(&[Insn::new(0xff, 0, 0, 0, 0)]).unwrap_err();
        assert!(matches!(e, LoadError::Decode(_)), "{e}");
    }

    #[test]
    fn jumps_must_land_inside() {
        let e = load(&[Instruction::Ja { off: 1, long: false }, Instruction::Exit]).unwrap_err();
        assert_eq!(e, LoadError::OutOfRange { pc: 0, kind: TransferKind::Jump, target: 2 });
        let e = load(&[Instruction::Ja { off: -2, long: true }, Instruction::Exit]).unwrap_err();
        assert_eq!(e, LoadError::OutOfRange { pc: 0, kind: TransferKind::Jump, target: -1 });
        let e = load(&[Instruction::Call(CallTarget::Local(5)), Instruction::Exit]).unwrap_err();
        assert_eq!(e, LoadError::OutOfRange { pc: 0, kind: TransferKind::Call, target: 6 });
        // A jump to the last slot is fine.
        load(&[Instruction::Ja { off: 0, long: false }, Instruction::Exit]).unwrap();
    }

    #[test]
    fn jumps_into_ld_imm64_tail_are_refused() {
        let ld = Instruction::LdImm64 { dst: Reg::R0, src: LdImm64::Imm(1) };
        let e = load(&[Instruction::Ja { off: 1, long: false }, ld, Instruction::Exit]).unwrap_err();
        assert_eq!(e, LoadError::IntoLdImm64 { pc: 0, kind: TransferKind::Jump, target: 2 });
        let e = load(&[Instruction::Call(CallTarget::Local(1)), ld, Instruction::Exit]).unwrap_err();
        assert_eq!(e, LoadError::IntoLdImm64 { pc: 0, kind: TransferKind::Call, target: 2 });
        let p = load(&[Instruction::Ja { off: 0, long: false }, ld, Instruction::Exit]).unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!(p.ops().len(), 5);
        assert_eq!(p.instruction(2), Some(&ld));
    }

    #[test]
    fn pseudo_ld_imm64_is_refused_with_an_explanation() {
        let ld = Instruction::LdImm64 { dst: Reg::R1, src: LdImm64::MapFd(3) };
        let e = load(&[ld, Instruction::Exit]).unwrap_err();
        assert_eq!(e, LoadError::PseudoLdImm64 { pc: 0, src: LdImm64::MapFd(3) });
        assert!(e.to_string().contains("resolve map fds"), "{e}");
        let f = Instruction::LdImm64 { dst: Reg::R1, src: LdImm64::Func(0) };
        assert!(load(&[f, Instruction::Exit]).is_err());
    }

    #[test]
    fn program_keeps_its_slots() {
        let p = load(&[Instruction::Exit]).unwrap();
        assert_eq!(p.insns(), &encode_program(&[Instruction::Exit])[..]);
        assert!(!p.is_empty());
    }

    #[test]
    fn program_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Program>();
    }
}
