//! Program commands of `bpf()`: `BPF_PROG_LOAD` and `BPF_PROG_TEST_RUN`
//! (kernel/bpf/syscall.c `bpf_prog_load`, net/bpf/test_run.c).

use super::attr::{ProgLoadAttr, TestRunAttr};
use crate::errno::Errno;
use crate::kernel::Kernel;

impl Kernel {
    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn prog_load(&mut self, _attr: ProgLoadAttr<'_>) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }

    /// Not implemented yet: `EINVAL`, as for an unknown command.
    pub(crate) fn prog_test_run(&mut self, _attr: &mut TestRunAttr<'_>) -> Result<i64, Errno> {
        Err(Errno::EINVAL)
    }
}
