//! Program commands of `bpf()`: `BPF_PROG_LOAD` and `BPF_PROG_TEST_RUN`
//! (kernel/bpf/syscall.c `bpf_prog_load`, net/bpf/test_run.c). The work is
//! in [`super::load`] and [`super::test_run`].

use super::attr::{ProgLoadAttr, TestRunAttr};
use crate::errno::Errno;
use crate::kernel::Kernel;

impl Kernel {
    /// `BPF_PROG_LOAD`: see [`super::load`].
    pub(crate) fn prog_load(&mut self, attr: ProgLoadAttr<'_>) -> Result<i64, Errno> {
        self.load_prog(attr)
    }

    /// `BPF_PROG_TEST_RUN`: see [`super::test_run`].
    pub(crate) fn prog_test_run(&mut self, attr: &mut TestRunAttr<'_>) -> Result<i64, Errno> {
        self.test_run(attr)
    }
}
