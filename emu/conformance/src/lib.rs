//! # bpfemu-conformance — the bpf_conformance suite's test files
//!
//! Support for running Alan-Jowett/bpf_conformance `.data` tests against the
//! emulator: [`datafile`] parses a file into a [`TestCase`] and turns its
//! program (uBPF assembly or raw words/bytes) into instruction slots.
//!
//! [`runner`] executes a case on the checked interpreter and compares `r0`
//! or the error with what the file expects.

pub mod datafile;
pub mod runner;

pub use datafile::{NO_INSTRUCTIONS, Note, ParseError, TestCase, load_dir};
pub use runner::register_suite_helpers;

#[cfg(test)]
mod tests;
