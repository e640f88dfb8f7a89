//! The BPF subsystem's core: objects (maps, programs, links, BTF), their
//! ids, fds and pins, and the `bpf()` system call ([`syscall`]) through
//! which everything above the kernel reaches them.

pub mod attr;
pub mod bpffs;
pub mod btf_cmds;
pub mod btf_obj;
pub mod jit;
pub mod link;
pub mod link_cmds;
pub mod load;
pub mod map_cmds;
pub mod obj_cmds;
pub mod objects;
pub mod prog;
pub mod prog_cmds;
#[cfg(test)]
mod prog_tests;
pub mod run;
pub mod syscall;
pub mod test_run;
pub mod test_run_detached;
pub mod test_run_skb;
pub mod test_run_struct_ops;
pub mod test_run_xdp;

#[cfg(test)]
mod tests;

pub use attr::BpfAttr;
pub use objects::Obj;
