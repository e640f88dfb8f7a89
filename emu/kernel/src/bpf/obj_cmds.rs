//! Object commands of `bpf()`: pinning, ids, fds by id, info by fd
//! (kernel/bpf/syscall.c, kernel/bpf/inode.c).

use super::attr::ObjInfo;
use super::syscall::IdKind;
use crate::errno::Errno;
use crate::kernel::Kernel;

impl Kernel {
    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn obj_pin(&mut self, _bpf_fd: i32, _pathname: &str, _file_flags: u32) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }

    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn obj_get(&mut self, _pathname: &str, _file_flags: u32) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }

    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn get_next_id(
        &mut self,
        _kind: IdKind,
        _start_id: u32,
        _next_id: &mut u32,
    ) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }

    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn get_fd_by_id(&mut self, _kind: IdKind, _id: u32, _open_flags: u32) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }

    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn obj_get_info_by_fd(
        &mut self,
        _bpf_fd: i32,
        _info: &mut Option<ObjInfo>,
    ) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }
}
