//! BPF helpers: their prototypes (what the verifier checks, the shape of
//! `struct bpf_func_proto` in include/linux/bpf.h) and their implementations
//! (kernel/bpf/helpers.c, kernel/trace/bpf_trace.c, ...), registered with
//! the interpreter by id.

use bpfemu_vm::Interpreter;

/// Registers every implemented helper with `vm`.
pub fn register_all(_vm: &mut Interpreter) {}
