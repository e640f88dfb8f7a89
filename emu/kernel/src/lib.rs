//! The simulated Linux kernel of bpfemu.
//!
//! Everything between the `bpf()` seam and the VM (see `ARCHITECTURE.md`,
//! "kernel"):
//!
//! - [`errno`]: [`Errno`], Linux's error numbers and names, the error type of
//!   every kernel operation;
//! - [`sim`]: the deterministic simulation core — virtual clock, event queue,
//!   seeded RNG, CPUs with task/softirq/hardirq/NMI contexts, processes with
//!   fd tables, and named preemption points — tied together by [`sim::Sim`];
//! - [`uapi`]: numbers and names of include/uapi/linux/bpf.h;
//! - [`map`]: maps behind the [`map::MapOps`] trait, one file per type;
//! - [`bpf`]: programs, links, BTF objects, ids, fds, bpffs, and the `bpf()`
//!   system call ([`Kernel::bpf`]);
//! - [`progtype`]: the verifier's rules per program type (ctx access,
//!   helpers, return values);
//! - [`runctx`]: what helpers see of `current` while a program runs;
//! - [`net`]: network namespaces, netns links, the flow dissector and
//!   sk_lookup hooks;
//! - [`vmlinux`]: the kernel's own BTF, generated from `#[repr(C)]` types;
//! - [`show`]: `bpftool {prog,map,link,btf} show` and `map dump` output;
//! - [`kernel`]: [`Kernel`], tying it together.
//!
//! Determinism rules for everything here and to come: time only from
//! [`sim::clock::Clock`], randomness only from [`sim::rng::SimRng`] (ChaCha8
//! with our own value mapping), and no `HashMap` iteration in anything
//! observable.

#![deny(unsafe_code)]

pub mod bpf;
pub mod errno;
pub mod helpers;
pub mod iter;
pub mod kernel;
pub mod kfuncs;
pub mod lsm;
pub mod map;
pub mod net;
pub mod progtype;
pub mod runctx;
pub mod show;
pub mod sim;
#[cfg(test)]
pub(crate) mod testutil;
pub mod tracepoint;
pub mod trampoline;
pub mod uapi;
pub mod vmlinux;

pub use errno::Errno;
pub use kernel::{Kernel, KernelConfig};
pub use sim::{Sim, SimConfig};
