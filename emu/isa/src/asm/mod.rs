//! Assemblers: the kernel's pseudo-C syntax ([`kernel`]) and the uBPF
//! dialect of the bpf_conformance suite ([`ubpf`]).

mod imm;
pub mod kernel;
pub mod ubpf;
