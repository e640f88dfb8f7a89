//! The emulated system's libbpf.
//!
//! What libbpf (`tools/lib/bpf/` in the kernel tree, github.com/libbpf/libbpf)
//! is to a real process, this crate is to a process of the simulated
//! kernel: it opens clang-built BPF ELF objects, prepares them (maps, global
//! data, relocations, CO-RE against the emulated vmlinux BTF, struct_ops),
//! loads them and attaches their programs, and consumes ring buffers and
//! perf buffers. It talks to the kernel only through the `bpf()` seam
//! ([`seam::Seam`]), as libbpf talks to Linux only through system calls.
//!
//! - [`Object`] (`object/`): `open` / `open_mem` / `load` of an ELF object
//!   ([`elf`], [`sec_def`]), with its [`Program`]s, [`Map`]s and externs;
//!   attaching gives [`Link`]s ([`link`]); [`describe`] lists an object as
//!   `bpfemu obj show` prints it. docs/loader.md is the reference.
//! - [`core`]: CO-RE relocation engine; [`struct_ops`]: struct_ops
//!   matching (docs/loader-core.md).

#![deny(unsafe_code)]

pub mod core;
pub mod describe;
pub mod elf;
pub mod error;
pub mod link;
pub mod map;
pub mod object;
pub mod perf_buffer;
pub mod program;
pub mod ringbuf;
pub mod seam;
pub mod sec_def;
pub mod struct_ops;

pub use error::{Error, Result};
pub use link::Link;
pub use map::{Map, MapDef, MapKind};
pub use object::Object;
pub use program::{Program, Reloc, RelocKind};
