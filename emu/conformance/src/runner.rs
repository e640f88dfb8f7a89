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

/// Loads and runs one program with `mem` as its input buffer; the error is
/// the load or run failure as text.
pub fn run_program(insns: &[Insn], mem: &mut [u8]) -> Result<u64, String> {
    let prog = Program::new(insns).map_err(|e| e.to_string())?;
    let mut vm = Interpreter::new();
    register_suite_helpers(&mut vm);
    vm.set_step_limit(Some(STEP_LIMIT));
    let region = MemRegion::from_mut_slice("mem", mem);
    let args = [region.start(), region.len()];
    vm.run_checked(&prog, &args, std::slice::from_ref(&region)).map_err(|e| e.to_string())
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
    let expected_error = tc.error.as_deref().filter(|e| !e.is_empty());
    let outcome = tc.program().and_then(|insns| {
        let mut mem = tc.mem.clone();
        run_program(&insns, &mut mem)
    });
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
    Ok(load_dir(dir)?
        .into_iter()
        .map(|(path, parsed)| {
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let verdict = match parsed {
                Ok(tc) => run_case(&tc),
                Err(e) => Verdict::Fail(e.to_string()),
            };
            CaseResult { name, verdict }
        })
        .collect())
}
