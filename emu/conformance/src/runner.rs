//! Running bpf_conformance cases on the interpreter.
//!
//! The suite's runtime contract (see `shared/conformance/README.md`): r1
//! holds the address of the `-- mem` buffer, r2 its length, r10 the frame
//! pointer; helper 5 returns its first argument. A case passes when the
//! program runs and r0 equals `-- result` (all 64 bits — stricter than the
//! upstream runner, which compares the low 32), or, for a case with an
//! `-- error` text, when loading or running fails with a message that
//! contains it.
//!
//! The programs are not verified (there is no kernel context to verify
//! them against), so they run on the checked interpreter with a step budget:
//! a broken case fails with a precise error and cannot hurt the host.
//!
//! [`Engine::Jit`] also runs each case on the x86-64 JIT, but only after the
//! checked interpreter ran it to completion on the same input (the JIT has
//! no checks, so only programs shown memory-safe and terminating on that
//! input may run on it); the JIT must then return the same r0 and leave the
//! same memory. Cases the JIT does not compile (bpf2bpf calls, tail calls,
//! `callx`, ...) keep the interpreter's verdict.

use crate::datafile::{TestCase, load_dir};
use bpfemu_isa::Insn;
use bpfemu_vm::{Interpreter, MemRegion, Program};
use std::path::Path;

/// Steps a single case may execute before it is stopped.
pub const STEP_LIMIT: u64 = 10_000_000;

/// Helper id the suite calls as "return the first argument".
pub const SUITE_IDENTITY_HELPER: i32 = 5;

extern "C" fn identity(a: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    a
}

/// Registers the helpers the suite's programs call.
pub fn register_suite_helpers(vm: &mut Interpreter) {
    vm.register_helper(SUITE_IDENTITY_HELPER, identity);
}

/// Which engine runs the cases.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Engine {
    /// The checked interpreter.
    #[default]
    Interpreter,
    /// The checked interpreter, then the JIT (where it compiles) compared
    /// against it.
    Jit,
}

/// Loads and runs one program with `mem` as its input buffer; the error is
/// the load or run failure as text.
pub fn run_program(insns: &[Insn], mem: &mut [u8]) -> Result<u64, String> {
    run_program_on(insns, mem, Engine::Interpreter).map(|(r0, _)| r0)
}

/// [`run_program`] on `engine`; also says whether the JIT ran the program.
pub fn run_program_on(insns: &[Insn], mem: &mut [u8], engine: Engine) -> Result<(u64, bool), String> {
    let prog = Program::new(insns).map_err(|e| e.to_string())?;
    let mut vm = Interpreter::new();
    register_suite_helpers(&mut vm);
    vm.set_step_limit(Some(STEP_LIMIT));
    let init = mem.to_vec();
    let region = MemRegion::from_mut_slice("mem", mem);
    let args = [region.start(), region.len()];
    let r0 = vm.run_checked(&prog, &args, std::slice::from_ref(&region)).map_err(|e| e.to_string())?;
    if engine == Engine::Interpreter {
        return Ok((r0, false));
    }
    jit_compare(&prog, &vm, &init, mem, r0)
}

#[cfg(target_arch = "x86_64")]
fn jit_compare(
    prog: &Program,
    vm: &Interpreter,
    init: &[u8],
    mem: &[u8],
    r0: u64,
) -> Result<(u64, bool), String> {
    let Ok(jit) = bpfemu_vm::JitProgram::compile(prog, vm) else {
        return Ok((r0, false));
    };
    // 8-aligned copy of the initial memory, as atomics need.
    let mut words = vec![0u64; init.len().div_ceil(8).max(1)];
    for (i, b) in init.iter().enumerate() {
        words[i / 8] |= u64::from(*b) << (8 * (i % 8));
    }
    let args = [words.as_mut_ptr().expose_provenance() as u64, init.len() as u64];
    // SAFETY: the checked run of the same program from the same memory
    // contents and arguments completed, making only in-bounds, aligned
    // accesses to its stack and the buffer (now `words`, alive and not
    // otherwise borrowed); suite programs do not branch on addresses.
    let got = unsafe { jit.run(&args) }.map_err(|e| format!("JIT: {e}"))?;
    let after: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).take(init.len()).collect();
    if got != r0 {
        return Err(format!("JIT r0 = {got:#x}, interpreter r0 = {r0:#x}"));
    }
    if after != mem {
        return Err("JIT and interpreter leave different memory".into());
    }
    Ok((r0, true))
}

#[cfg(not(target_arch = "x86_64"))]
fn jit_compare(_: &Program, _: &Interpreter, _: &[u8], _: &[u8], r0: u64) -> Result<(u64, bool), String> {
    Ok((r0, false))
}

/// The outcome of one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail(String),
}

/// One case's name (the file stem) and outcome.
#[derive(Clone, Debug)]
pub struct CaseResult {
    pub name: String,
    pub verdict: Verdict,
}

/// Runs one parsed case.
pub fn run_case(tc: &TestCase) -> Verdict {
    run_case_on(tc, Engine::Interpreter).0
}

/// Runs one parsed case on `engine`; also says whether the JIT ran it.
pub fn run_case_on(tc: &TestCase, engine: Engine) -> (Verdict, bool) {
    let expected_error = tc.error.as_deref().filter(|e| !e.is_empty());
    let mut jitted = false;
    let outcome = tc.program().and_then(|insns| {
        let mut mem = tc.mem.clone();
        run_program_on(&insns, &mut mem, engine).map(|(r0, j)| {
            jitted = j;
            r0
        })
    });
    (verdict(outcome, expected_error, tc), jitted)
}

fn verdict(outcome: Result<u64, String>, expected_error: Option<&str>, tc: &TestCase) -> Verdict {
    match (outcome, expected_error) {
        (Err(got), Some(want)) if got.contains(want) => Verdict::Pass,
        (Err(got), Some(want)) => {
            Verdict::Fail(format!("failed with '{got}', expected an error containing '{want}'"))
        }
        (Err(got), None) => Verdict::Fail(got),
        (Ok(r0), Some(want)) => {
            Verdict::Fail(format!("returned {r0:#x}, expected an error containing '{want}'"))
        }
        (Ok(r0), None) => match tc.result {
            Some(want) if want == r0 => Verdict::Pass,
            Some(want) => Verdict::Fail(format!("r0 = {r0:#x}, expected {want:#x}")),
            None => Verdict::Fail(format!("r0 = {r0:#x}, but the file has no '-- result'")),
        },
    }
}

/// Runs every `.data` file directly inside `dir`, in file-name order.
pub fn run_dir(dir: &Path) -> std::io::Result<Vec<CaseResult>> {
    Ok(run_dir_on(dir, Engine::Interpreter)?.into_iter().map(|(r, _)| r).collect())
}

/// [`run_dir`] on `engine`; each result says whether the JIT ran the case.
pub fn run_dir_on(dir: &Path, engine: Engine) -> std::io::Result<Vec<(CaseResult, bool)>> {
    Ok(load_dir(dir)?
        .into_iter()
        .map(|(path, parsed)| {
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let (verdict, jitted) = match parsed {
                Ok(tc) => run_case_on(&tc, engine),
                Err(e) => (Verdict::Fail(e.to_string()), false),
            };
            (CaseResult { name, verdict }, jitted)
        })
        .collect())
}
