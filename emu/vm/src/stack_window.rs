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
//! program) restore the outer window when they end. While a callback runs,
//! the stacks of the runs it is nested in stay valid (callback_ctx usually
//! points there): [`stack_contains`] sees them all.

use std::cell::{Cell, RefCell};

thread_local! {
    static CURRENT: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
    /// Windows of the runs the current callback run is nested in.
    static OUTER: RefCell<Vec<(u64, u64)>> = const { RefCell::new(Vec::new()) };
}

/// `(start, len)` of the call stack of the program running on this thread,
/// or `None` outside a run.
pub fn current_stack() -> Option<(u64, u64)> {
    CURRENT.get()
}

/// Whether `[addr, addr+len)` lies inside the stack of the running program
/// or of a run it is a callback of.
pub fn stack_contains(addr: u64, len: u64) -> bool {
    let inside =
        |(s, l): (u64, u64)| addr >= s && u128::from(addr) + u128::from(len) <= u128::from(s) + u128::from(l);
    current_stack().is_some_and(inside) || OUTER.with_borrow(|o| o.iter().any(|&w| inside(w)))
}

/// Keeps the current window visible as an outer one while a callback's
/// nested run publishes its own; pops it when dropped.
pub(crate) struct Outer(bool);

impl Outer {
    pub(crate) fn push() -> Outer {
        match current_stack() {
            Some(w) => {
                OUTER.with_borrow_mut(|o| o.push(w));
                Outer(true)
            }
            None => Outer(false),
        }
    }
}

impl Drop for Outer {
    fn drop(&mut self) {
        if self.0 {
            OUTER.with_borrow_mut(|o| o.pop());
        }
    }
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

    #[test]
    fn outer_windows_stay_visible() {
        let _a = Published::new(0x1000, 512);
        let o = Outer::push();
        let _b = Published::new(0x9000, 512);
        assert!(stack_contains(0x1000, 8) && stack_contains(0x9000, 512));
        assert!(!stack_contains(0x11ff, 2));
        drop(o);
        assert!(!stack_contains(0x1000, 8));
    }
}
