//! `BPF_BTF_LOAD` (kernel/bpf/btf.c `btf_new_fd`).

use crate::errno::Errno;
use crate::kernel::Kernel;

impl Kernel {
    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn btf_load(
        &mut self,
        _btf: &[u8],
        _log: Option<&mut String>,
        _log_level: u32,
    ) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }
}
