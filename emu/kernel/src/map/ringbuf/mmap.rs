//! What `mmap()` and `poll()` on a map fd give user space, for the maps
//! that have them (`map->ops->map_mmap` / `map_poll`, kernel/bpf/syscall.c).
//!
//! The emulated process does not call `mmap(map_fd)`: it asks for the
//! memory file behind the map ([`Kernel::map_mmap_fd`], a duplicate of the
//! memfd) and maps it itself with the permissions Linux would allow
//! (`ringbuf_map_mmap_kern()`: only the consumer page writable). For poll it
//! gets the eventfd the map signals at each wakeup ([`Kernel::map_poll_fd`])
//! and adds it to its own epoll set, where libbpf adds the map fd. Maps
//! without these ops: `ENODEV` (what `mmap` answers for a file without an
//! mmap op).

use crate::errno::Errno;
use crate::kernel::Kernel;
use rustix::fd::OwnedFd;

impl Kernel {
    /// The memory file behind the map at `map_fd` (ring buffers).
    pub fn map_mmap_fd(&self, map_fd: i32) -> Result<OwnedFd, Errno> {
        let obj = self.fd_obj(map_fd)?;
        let map = obj.map()?;
        let rb = map.ops.as_ringbuf().ok_or(Errno::ENODEV)?;
        rb.memfd().try_clone().map_err(|_| Errno::EMFILE)
    }

    /// The fd that becomes readable when the map at `map_fd` wakes its
    /// waiters (ring buffers).
    pub fn map_poll_fd(&self, map_fd: i32) -> Result<OwnedFd, Errno> {
        let obj = self.fd_obj(map_fd)?;
        let map = obj.map()?;
        let rb = map.ops.as_ringbuf().ok_or(Errno::ENODEV)?;
        rb.eventfd().try_clone().map_err(|_| Errno::EMFILE)
    }
}
