//! The emulated system's libbpf.
//!
//! What libbpf (`tools/lib/bpf/` in the kernel tree, github.com/libbpf/libbpf)
//! is to a real process, this crate is to a process of the simulated
//! kernel: it opens clang-built BPF ELF objects, prepares them (maps, global
//! data, relocations, CO-RE against the emulated vmlinux BTF, struct_ops),
//! loads them and attaches their programs, and consumes ring buffers and
//! perf buffers. It talks to the kernel only through the `bpf()` seam
//! ([`seam::Seam`]), as libbpf talks to Linux only through system calls.

#![deny(unsafe_code)]

pub mod perf_buffer;
pub mod ringbuf;
pub mod seam;
