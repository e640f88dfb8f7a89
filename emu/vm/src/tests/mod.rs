//! Behaviour tests of the interpreter, each run in every mode (fast,
//! checked, traced) unless it is about checked-mode findings.

mod alu;
pub(crate) mod asm;
mod callbacks;
mod calls;
mod jmp;
mod mem;
mod misc;
mod prop;
mod tail;

use crate::{Interpreter, MemRegion, Program, VmError};
use bpfemu_isa::{Instruction, encode_program};

/// The modes a test program runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum M {
    Fast,
    Checked,
    Traced,
}

/// The outcome of one run: result and the final contents of the writable
/// region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Out {
    pub ret: Result<u64, VmError>,
    pub mem: Vec<u8>,
}

/// Test memory: a writable region `map` (8-aligned, passed in r1) and a
/// read-only region `ro` of 16 bytes 0x00..0x0f (passed in r2). Both live
/// on the heap: a region on the host stack could sit at a fixed distance
/// from the program's stack, and whether an access relative to one lands
/// in the other would then depend on the interpreter's frame sizes.
pub(crate) struct Mem {
    words: Vec<u64>,
    len: usize,
    ro: Box<[u8; 16]>,
}

impl Mem {
    pub fn new(init: &[u8]) -> Mem {
        let mut words = vec![0u64; init.len().div_ceil(8).max(1)];
        for (i, b) in init.iter().enumerate() {
            words[i / 8] |= u64::from(*b) << (8 * (i % 8));
        }
        let mut ro = [0u8; 16];
        for (i, b) in ro.iter_mut().enumerate() {
            *b = i as u8;
        }
        Mem { words, len: init.len(), ro: Box::new(ro) }
    }

    /// Restores the initial contents `init` (same length), keeping addresses.
    pub fn reset(&mut self, init: &[u8]) {
        assert_eq!(init.len(), self.len);
        let fresh = Mem::new(init);
        self.words.copy_from_slice(&fresh.words);
    }

    pub fn map_addr(&mut self) -> u64 {
        self.words.as_mut_ptr().expose_provenance() as u64
    }

    pub fn ro_addr(&self) -> u64 {
        self.ro.as_ptr().expose_provenance() as u64
    }

    pub fn regions(&mut self) -> Vec<MemRegion<'static>> {
        let len = self.len as u64;
        vec![
            MemRegion::described("map", self.map_addr(), len, true),
            MemRegion::described("ro", self.ro_addr(), 16, false),
        ]
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.words.iter().flat_map(|w| w.to_le_bytes()).take(self.len).collect()
    }
}

/// Runs `prog` once in mode `m` on fresh memory `init`, with r1 = map,
/// r2 = ro, and `packet` for LD_ABS/LD_IND.
///
/// Fast mode runs only after a checked run of the same program on the same
/// initial memory found no memory error (which it then reports instead), so
/// the harness never lets an out-of-bounds program run unchecked.
pub(crate) fn exec_in(interp: &Interpreter, m: M, prog: &Program, init: &[u8], packet: Option<&[u8]>) -> Out {
    let mut mem = Mem::new(init);
    let regions = mem.regions();
    let args = [mem.map_addr(), mem.ro_addr()];
    let ret = match (m, packet) {
        (M::Checked, None) => interp.run_checked(prog, &args, &regions),
        (M::Checked, Some(p)) => interp.run_checked_with_packet(prog, &args, &regions, p),
        (M::Traced, None) => interp.run_traced(prog, &args, &regions, &mut |_| {}),
        (M::Traced, Some(p)) => interp.run_traced_with_packet(prog, &args, &regions, p, &mut |_| {}),
        (M::Fast, _) => {
            let probe = exec_in(interp, M::Checked, prog, init, packet);
            if matches!(probe.ret, Err(VmError::MemoryViolation { .. } | VmError::MisalignedAtomic { .. })) {
                return probe;
            }
            // SAFETY: the checked run above, from identical initial memory and
            // arguments into the same regions' layout, made only in-bounds,
            // aligned accesses to the stack and to `mem`, which is alive and
            // not borrowed for the duration of this run; test programs do not
            // branch on addresses, so this run takes the same path.
            unsafe {
                match packet {
                    None => interp.run_fast(prog, &args),
                    Some(p) => interp.run_fast_with_packet(prog, &args, p),
                }
            }
        }
    };
    Out { ret, mem: mem.bytes() }
}

/// Runs `prog` on the JIT if it compiles and the checked run from the same
/// memory made no memory error and did not hit the step limit (the JIT may
/// only run programs a checked run has shown to be memory-safe and to end
/// on this input).
#[cfg(target_arch = "x86_64")]
pub(crate) fn exec_jit(
    interp: &Interpreter,
    prog: &Program,
    init: &[u8],
    packet: Option<&[u8]>,
) -> Option<Out> {
    let jit = crate::JitProgram::compile(prog, interp).ok()?;
    let probe = exec_in(interp, M::Checked, prog, init, packet);
    if matches!(
        probe.ret,
        Err(VmError::MemoryViolation { .. }
            | VmError::MisalignedAtomic { .. }
            | VmError::StepLimitExceeded { .. }
            | VmError::TooManyArgs { .. })
    ) {
        return None;
    }
    let mut mem = Mem::new(init);
    let args = [mem.map_addr(), mem.ro_addr()];
    // SAFETY: as for the fast run in `exec_in`: a checked run from identical
    // memory and arguments ended with only in-bounds, aligned accesses,
    // and test programs do not branch on addresses.
    let ret = unsafe {
        match packet {
            None => jit.run(&args),
            Some(p) => jit.run_with_packet(&args, p),
        }
    };
    JIT_RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Some(Out { ret, mem: mem.bytes() })
}

/// How many programs the JIT ran in this test process.
#[cfg(target_arch = "x86_64")]
pub(crate) static JIT_RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Runs in all three modes, asserts they agree, returns the outcome.
pub(crate) fn exec_all(
    interp: &Interpreter,
    prog: &[Instruction],
    init: &[u8],
    packet: Option<&[u8]>,
) -> Out {
    exec_engines(interp, prog, init, packet, true)
}

/// [`exec_all`] without the JIT, for programs a verifier would refuse in a
/// way the JIT makes visible (reading r1..r5 after a helper call: the JIT,
/// like the kernel's, leaves them clobbered).
pub(crate) fn exec_interp(
    interp: &Interpreter,
    prog: &[Instruction],
    init: &[u8],
    packet: Option<&[u8]>,
) -> Out {
    exec_engines(interp, prog, init, packet, false)
}

fn exec_engines(
    interp: &Interpreter,
    prog: &[Instruction],
    init: &[u8],
    packet: Option<&[u8]>,
    jit: bool,
) -> Out {
    let p = Program::new(&encode_program(prog)).expect("test program loads");
    let checked = exec_in(interp, M::Checked, &p, init, packet);
    for m in [M::Fast, M::Traced] {
        let o = exec_in(interp, m, &p, init, packet);
        assert_eq!(o, checked, "mode {m:?} disagrees with checked mode");
    }
    #[cfg(target_arch = "x86_64")]
    if jit && let Some(o) = exec_jit(interp, &p, init, packet) {
        assert_eq!(o, checked, "the JIT disagrees with checked mode");
    }
    checked
}

/// r0 of `prog` (with `exit` appended), in all modes, no memory.
pub(crate) fn r0(prog: &[Instruction]) -> u64 {
    let mut p = prog.to_vec();
    p.push(Instruction::Exit);
    exec_all(&Interpreter::new(), &p, &[], None).ret.expect("program runs")
}
