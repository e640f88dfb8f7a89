//! Map commands of `bpf()` (kernel/bpf/syscall.c `map_create`,
//! `map_lookup_elem`, `map_update_elem`, ...).

use super::attr::{BatchAttr, MapCreateAttr};
use crate::errno::Errno;
use crate::kernel::Kernel;

impl Kernel {
    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn map_create(&mut self, _attr: &MapCreateAttr) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }

    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn map_lookup_elem(
        &mut self,
        _map_fd: i32,
        _key: &[u8],
        _value: &mut [u8],
        _flags: u64,
    ) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }

    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn map_update_elem(
        &mut self,
        _map_fd: i32,
        _key: &[u8],
        _value: &[u8],
        _flags: u64,
    ) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }

    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn map_delete_elem(&mut self, _map_fd: i32, _key: &[u8], _flags: u64) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }

    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn map_get_next_key(
        &mut self,
        _map_fd: i32,
        _key: Option<&[u8]>,
        _next_key: &mut [u8],
    ) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }

    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn map_lookup_and_delete_elem(
        &mut self,
        _map_fd: i32,
        _key: &[u8],
        _value: &mut [u8],
        _flags: u64,
    ) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }

    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn map_freeze(&mut self, _map_fd: i32) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }

    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn map_lookup_batch(&mut self, _b: BatchAttr<'_>, _delete: bool) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }

    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn map_update_batch(&mut self, _b: BatchAttr<'_>) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }

    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn map_delete_batch(&mut self, _b: BatchAttr<'_>) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }
}
