//! Kernel pseudo-C assembler (in progress).
