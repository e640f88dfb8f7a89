//! The system-call boundary between this library and the kernel.
//!
//! libbpf reaches Linux through `syscall(__NR_bpf, ...)`, `close()` and
//! `mmap()`; this library reaches the emulated kernel through [`Seam`]
//! only, so the same code drives a [`Kernel`] directly or any wrapper a
//! test puts in between (to count calls, or to inject errors).

use bpfemu_kernel::bpf::attr::BpfAttr;
use bpfemu_kernel::errno::Errno;
use bpfemu_kernel::kernel::Kernel;

/// The system calls this library makes.
pub trait Seam {
    /// `bpf(cmd, attr, size)`: the fd or 0 the kernel returns, or its errno.
    fn bpf(&mut self, attr: BpfAttr<'_>) -> Result<i64, Errno>;
    /// `close(fd)`.
    fn close(&mut self, fd: i32) -> Result<(), Errno>;
}

impl Seam for Kernel {
    fn bpf(&mut self, attr: BpfAttr<'_>) -> Result<i64, Errno> {
        Kernel::bpf(self, attr)
    }

    fn close(&mut self, fd: i32) -> Result<(), Errno> {
        Kernel::close(self, fd)
    }
}
