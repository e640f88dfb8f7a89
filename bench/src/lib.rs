//! Benchmarks live in benches/; this library holds what they share: the
//! benchmark programs of `bench/programs/` and the buffer they run on.

use bpfemu_isa::{Insn, asm};

pub mod ringbuf;
pub mod verifier_progs;

/// Length of the buffer the programs get in r1 (`copy` needs 2 KiB).
pub const MEM_LEN: usize = 2048;

/// Assembles `bench/programs/NAME.s` (kernel syntax); panics with the path
/// on error, as a benchmark setup may.
pub fn load_program(name: &str) -> Vec<Insn> {
    let path = format!("{}/programs/{name}.s", env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    asm::kernel::assemble(&src).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The buffer's deterministic contents.
pub fn program_mem() -> Vec<u8> {
    (0..MEM_LEN).map(|i| (i * 7 + 3) as u8).collect()
}
