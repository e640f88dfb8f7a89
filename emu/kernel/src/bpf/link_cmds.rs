//! Attachment commands of `bpf()`: `BPF_PROG_ATTACH`/`DETACH`/`QUERY` and
//! the link commands (kernel/bpf/syscall.c `link_create`, `link_update`,
//! `link_detach`).

use super::attr::LinkCreateAttr;
use crate::errno::Errno;
use crate::kernel::Kernel;

impl Kernel {
    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn prog_attach(
        &mut self,
        _target_fd: i32,
        _attach_bpf_fd: i32,
        _attach_type: u32,
        _attach_flags: u32,
        _replace_bpf_fd: i32,
    ) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }

    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn prog_detach(
        &mut self,
        _target_fd: i32,
        _attach_bpf_fd: i32,
        _attach_type: u32,
    ) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }

    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn prog_query(
        &mut self,
        _target_fd: i32,
        _attach_type: u32,
        _query_flags: u32,
        _attach_flags: &mut u32,
        _prog_ids: &mut Vec<u32>,
    ) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }

    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn link_create(&mut self, _attr: &LinkCreateAttr) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }

    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn link_update(
        &mut self,
        _link_fd: i32,
        _new_prog_fd: i32,
        _flags: u32,
        _old_prog_fd: i32,
    ) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }

    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn link_detach(&mut self, _link_fd: i32) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }
}
