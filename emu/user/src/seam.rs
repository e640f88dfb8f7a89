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
use rustix::fd::OwnedFd;
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
    /// The memory file to map for `mmap(map_fd)` (ring buffers): the
    /// process maps it itself with the permissions Linux allows (see
    /// `bpfemu_kernel::map::ringbuf::mmap`). `ENODEV` for maps without it.
    fn map_mmap_fd(&mut self, _map_fd: i32) -> Result<OwnedFd, Errno> {
        Err(Errno::ENODEV)
    }
    /// The fd to add to an epoll set where libbpf adds `map_fd` itself
    /// (readable after a wakeup of the map's waiters).
    fn map_poll_fd(&mut self, _map_fd: i32) -> Result<OwnedFd, Errno> {
        Err(Errno::ENODEV)
    }
    /// `perf_event_open(PERF_COUNT_SW_BPF_OUTPUT, cpu)` + `mmap` + the map
    /// update at key `cpu`, in one call (bpfemu has no perf event fds: see
    /// `bpfemu_kernel::map::perf_event_array`).
    fn perf_event_open(
        &mut self,
        _map_fd: i32,
        _cpu: u32,
        _pages: u32,
        _wakeup_events: u32,
    ) -> Result<(), Errno> {
        Err(Errno::ENOSYS)
    }
    /// The memory file, wakeup fd, CPU and data size of the perf buffer at
    /// `key` of a perf event array.
    fn perf_mmap_fds(&mut self, _map_fd: i32, _key: u32) -> Result<(OwnedFd, OwnedFd, u32, u64), Errno> {
        Err(Errno::ENOSYS)
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

    fn map_mmap_fd(&mut self, map_fd: i32) -> Result<OwnedFd, Errno> {
        Kernel::map_mmap_fd(self, map_fd)
    }

    fn map_poll_fd(&mut self, map_fd: i32) -> Result<OwnedFd, Errno> {
        Kernel::map_poll_fd(self, map_fd)
    }

    fn perf_event_open(
        &mut self,
        map_fd: i32,
        cpu: u32,
        pages: u32,
        wakeup_events: u32,
    ) -> Result<(), Errno> {
        self.perf_event_open_bpf_output(map_fd, cpu, pages, wakeup_events)
    }

    fn perf_mmap_fds(&mut self, map_fd: i32, key: u32) -> Result<(OwnedFd, OwnedFd, u32, u64), Errno> {
        Kernel::perf_mmap_fds(self, map_fd, key)
    }
}
