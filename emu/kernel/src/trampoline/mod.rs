//! Kernel functions BPF tracing programs attach to (fentry, fexit,
//! fmod_ret), as emulated kernel functions with FUNC entries in vmlinux
//! BTF.
//!
//! Kernel counterpart: the test functions of net/bpf/test_run.c
//! (`bpf_fentry_test1` .. `bpf_fentry_test8`, `bpf_modify_return_test`),
//! which `bpf_prog_test_run_tracing()` calls so that tracing programs
//! attached to them run, and the `bpf_test_modify_return_ids` fmodret set
//! registered with `register_btf_fmodret_id_set()` (which of them an
//! fmod_ret or a sleepable program may attach to). [`targets`] lists them
//! with their exact prototypes; [`btf`] appends their FUNC and FUNC_PROTO
//! entries at the end of vmlinux BTF, after every earlier entry, so the
//! ids of existing types do not move.
//!
//! [`tramp`] holds the trampolines and the `BPF_LINK_TYPE_TRACING` links
//! that fill them (kernel/bpf/trampoline.c, `bpf_tracing_prog_attach()`);
//! [`run`] calls the functions through their trampolines (the semantics
//! of `arch_prepare_bpf_trampoline()`) and implements
//! `bpf_prog_test_run_tracing()`. [`freplace`] links extension programs
//! into the functions of BPF programs (`BPF_TRAMP_REPLACE`). Other kernel functions (the kfuncs
//! included) are not traceable: their FUNCs have no address ("The address
//! of function NAME cannot be found", `ENOENT`).

pub mod btf;
pub mod freplace;
pub mod run;
pub mod targets;
pub mod tramp;

#[cfg(test)]
mod tests;

pub use targets::{TEST_FUNCS, TestFunc};
