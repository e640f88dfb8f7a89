//! uBPF-dialect assembler (in progress).
