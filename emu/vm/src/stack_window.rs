//! The running program's stack, as helpers may need to see it.
//!
//! A helper called from a program gets pointers into the program's stack
//! (keys, buffers, format strings). The kernel's helpers just use them —
//! the verifier proved them. For programs run unverified (checked mode),
//! helpers validate every pointer against the memory the run may touch,
//! and the interpreter's stack is part of that memory. This module
//! publishes the current run's call stack (the frames initialised so far)
//! in a thread-local
//! for the duration of the run; nested runs (a helper running a callback
//! program) restore the outer window when they end.

use std::cell::Cell;

thread_local! {
    static CURRENT: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
}

/// `(start, len)` of the call stack of the program running on this thread,
/// or `None` outside a run.
pub fn current_stack() -> Option<(u64, u64)> {
    CURRENT.get()
}

/// Publishes a run's stack until dropped.
#[derive(Debug)]
pub(crate) struct Published(Option<(u64, u64)>);

impl Published {
    pub(crate) fn new(start: u64, len: u64) -> Published {
        Published(CURRENT.replace(Some((start, len))))
    }

    /// Widens or moves the published window (a deeper frame was
    /// initialised).
    pub(crate) fn update(&self, start: u64, len: u64) {
        CURRENT.set(Some((start, len)));
    }
}

impl Drop for Published {
    fn drop(&mut self) {
        CURRENT.set(self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_windows_restore() {
        assert_eq!(current_stack(), None);
        {
            let _a = Published::new(0x1000, 4096);
            assert_eq!(current_stack(), Some((0x1000, 4096)));
            {
                let _b = Published::new(0x9000, 4096);
                assert_eq!(current_stack(), Some((0x9000, 4096)));
            }
            assert_eq!(current_stack(), Some((0x1000, 4096)));
        }
        assert_eq!(current_stack(), None);
    }
}
