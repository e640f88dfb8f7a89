//! The system-call boundary between this library and the kernel.
//!
//! libbpf reaches Linux through `syscall(__NR_bpf, ...)`, `close()` and
//! `mmap()`; this library reaches the emulated kernel through [`Seam`]
//! only, so the same code drives a [`Kernel`] directly or any wrapper a
//! test puts in between (to count calls, or to inject errors).

use bpfemu_btf::Btf;
use bpfemu_kernel::bpf::attr::BpfAttr;
use bpfemu_kernel::errno::Errno;
use bpfemu_kernel::kernel::Kernel;
use std::sync::Arc;

/// The system calls this library makes.
pub trait Seam {
    /// `bpf(cmd, attr, size)`: the fd or 0 the kernel returns, or its errno.
    fn bpf(&mut self, attr: BpfAttr<'_>) -> Result<i64, Errno>;
    /// `close(fd)`.
    fn close(&mut self, fd: i32) -> Result<(), Errno>;
    /// Reads `/sys/kernel/btf/vmlinux`: the running kernel's BTF, which
    /// libbpf parses for CO-RE, `__ksym` externs and attach targets
    /// (`btf__load_vmlinux_btf()`). A seam without a kernel BTF answers
    /// `ENOENT`, as a kernel built without `CONFIG_DEBUG_INFO_BTF` does.
    fn vmlinux_btf(&mut self) -> Result<Arc<Btf>, Errno> {
        Err(Errno::ENOENT)
    }
    /// Reads `/sys/devices/system/cpu/possible`: how many CPUs may exist
    /// (libbpf's `libbpf_num_possible_cpus()`), which sizes per-CPU values
    /// and perf event arrays. A seam that cannot tell answers `ENOENT`.
    fn possible_cpus(&mut self) -> Result<u32, Errno> {
        Err(Errno::ENOENT)
    }
}

impl Seam for Kernel {
    fn bpf(&mut self, attr: BpfAttr<'_>) -> Result<i64, Errno> {
        Kernel::bpf(self, attr)
    }

    fn close(&mut self, fd: i32) -> Result<(), Errno> {
        Kernel::close(self, fd)
    }

    fn vmlinux_btf(&mut self) -> Result<Arc<Btf>, Errno> {
        Ok(Kernel::vmlinux_btf(self))
    }

    fn possible_cpus(&mut self) -> Result<u32, Errno> {
        Ok(self.sim.nr_cpus())
    }
}
