//! The memory of a run's task snapshot as the checked interpreter sees it:
//! the one `unsafe` step of the task kfuncs (a region over host memory the
//! snapshot owns).

#![allow(unsafe_code)]

use crate::vmlinux::types::TaskStruct;
use bpfemu_vm::MemRegion;

/// `task_struct`s at stable addresses for the life of the snapshot.
#[derive(Debug)]
pub(super) struct TaskMem(Box<[TaskStruct]>);

impl TaskMem {
    /// The entries at their final addresses, each `real_parent` and
    /// `parent` pointing at the entry itself (parents are not tracked).
    pub(super) fn new(tasks: Vec<TaskStruct>) -> TaskMem {
        let mut mem = TaskMem(tasks.into_boxed_slice());
        for i in 0..mem.0.len() {
            let a = mem.addr(i);
            mem.0[i].real_parent = a;
            mem.0[i].parent = a;
        }
        mem
    }

    /// The guest address of entry `i` (one past the end for `len`).
    pub(super) fn addr(&self, i: usize) -> u64 {
        self.0.as_ptr().expose_provenance() as u64 + (i * size_of::<TaskStruct>()) as u64
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    /// A read-only region over every entry.
    pub(super) fn region(&self) -> MemRegion<'_> {
        let len = (self.0.len() * size_of::<TaskStruct>()) as u64;
        // SAFETY: the boxed slice is owned by `self` and never mutated nor
        // moved after construction (no `&mut` to it is ever handed out), so
        // `[addr(0), addr(0)+len)` is valid for reads for the borrow's
        // lifetime; the region is read-only, so the program never writes it.
        unsafe { MemRegion::from_raw("task_struct", self.addr(0), len, false) }
    }
}
