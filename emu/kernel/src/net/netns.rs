//! `struct net` and its reference counting (include/net/net_namespace.h,
//! net/core/net_namespace.c), and nsfs inode numbers (fs/proc/generic.c
//! `proc_alloc_inum()`, fs/nsfs.c).
//!
//! A [`NetRef`] is one counted reference (`get_net()` / `put_net()` on
//! `net->ns.count`): processes (`nsproxy->net_ns`), open netns fds and
//! sockets hold them. When the last one goes, `put_net()` does not free
//! the namespace on the spot: as in the kernel, the namespace is queued on
//! the cleanup list ([`CleanupQueue`], `cleanup_list` + `net_cleanup_work`)
//! and torn down later by [`crate::Kernel::net_cleanup`] (`cleanup_net()`).
//! Between the two, [`Net::check`] (`check_net()`) is false: the namespace
//! is dying but its memory is still there — the window the netns link
//! operations must cope with.
//!
//! Inode numbers: `ns_alloc_inum()` takes the lowest free number at or
//! above `PROC_DYNAMIC_FIRST` (an IDA, so freed numbers are reused), and
//! `init_net` takes the first at boot. Only network namespaces allocate
//! here (the emulator has no other namespaces), so `init_net` is
//! 4026531840 as on a typical host.

use crate::sim::process::NetnsId;
use parking_lot::Mutex;
use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// `PROC_DYNAMIC_FIRST`: the first dynamically allocated proc inode number.
pub const PROC_DYNAMIC_FIRST: u32 = 0xF000_0000;

/// One network namespace.
pub struct Net {
    /// The emulator's handle (0 is `init_net`).
    pub id: NetnsId,
    /// `net->ns.inum`: the nsfs inode number (`stat /proc/self/ns/net`).
    pub inum: u32,
    /// `net->ns.count`.
    count: AtomicU32,
    queue: Arc<CleanupQueue>,
}

impl fmt::Debug for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Net")
            .field("id", &self.id.0)
            .field("inum", &self.inum)
            .field("count", &self.count())
            .finish()
    }
}

impl Net {
    /// `check_net()`: the namespace still has references (not dying).
    pub fn check(&self) -> bool {
        self.count() > 0
    }

    /// `refcount_read(&net->ns.count)`.
    pub fn count(&self) -> u32 {
        self.count.load(Ordering::Acquire)
    }

    /// Whether this is `init_net`.
    pub fn is_init(&self) -> bool {
        self.id == NetnsId(0)
    }
}

/// One counted reference to a [`Net`] (`get_net()`; dropping it is
/// `put_net()`).
pub struct NetRef(Arc<Net>);

impl NetRef {
    /// `get_net()` on a namespace that is alive. A dying namespace cannot
    /// be revived: `None` (`maybe_get_net()`).
    pub fn get(net: &Arc<Net>) -> Option<NetRef> {
        // `refcount_inc_not_zero()`: pairs with the decrement in `Drop`.
        let mut cur = net.count.load(Ordering::Acquire);
        loop {
            if cur == 0 {
                return None;
            }
            match net.count.compare_exchange_weak(cur, cur + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(NetRef(net.clone())),
                Err(now) => cur = now,
            }
        }
    }

    /// The namespace.
    pub fn net(&self) -> &Arc<Net> {
        &self.0
    }
}

impl Clone for NetRef {
    fn clone(&self) -> Self {
        // We hold a reference, so the count is above zero.
        self.0.count.fetch_add(1, Ordering::AcqRel);
        NetRef(self.0.clone())
    }
}

impl Drop for NetRef {
    fn drop(&mut self) {
        // `put_net()`: the last reference queues the namespace for
        // `cleanup_net()`. AcqRel pairs with `NetRef::get`'s CAS.
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.queue.push(self.0.clone());
        }
    }
}

impl fmt::Debug for NetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NetRef(netns {} inum {})", self.0.id.0, self.0.inum)
    }
}

/// Namespaces whose last reference went, waiting for `cleanup_net()`.
#[derive(Debug, Default)]
pub struct CleanupQueue(Mutex<Vec<Arc<Net>>>);

impl CleanupQueue {
    fn push(&self, net: Arc<Net>) {
        self.0.lock().push(net);
    }

    /// Takes every queued namespace, in the order their last reference went.
    pub fn take(&self) -> Vec<Arc<Net>> {
        std::mem::take(&mut *self.0.lock())
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.0.lock().is_empty()
    }
}

/// The proc inode number allocator (`proc_inum_ida`): lowest free first.
#[derive(Debug, Default)]
pub struct InumIda {
    used: BTreeSet<u32>,
}

impl InumIda {
    /// `proc_alloc_inum()`; `None` when all are taken (`ENOSPC`).
    pub fn alloc(&mut self) -> Option<u32> {
        let mut want = PROC_DYNAMIC_FIRST;
        for &u in self.used.range(PROC_DYNAMIC_FIRST..) {
            if u != want {
                break;
            }
            want = want.checked_add(1)?;
        }
        self.used.insert(want);
        Some(want)
    }

    /// `proc_free_inum()`.
    pub fn free(&mut self, inum: u32) {
        self.used.remove(&inum);
    }
}

/// Builds a namespace with one reference (what `copy_net_ns()` hands the
/// caller).
pub(crate) fn new_net(id: NetnsId, inum: u32, queue: &Arc<CleanupQueue>) -> NetRef {
    NetRef(Arc::new(Net { id, inum, count: AtomicU32::new(1), queue: queue.clone() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inums_are_lowest_free_from_dynamic_first() {
        let mut ida = InumIda::default();
        assert_eq!(ida.alloc(), Some(4026531840));
        assert_eq!(ida.alloc(), Some(4026531841));
        assert_eq!(ida.alloc(), Some(4026531842));
        ida.free(4026531841);
        assert_eq!(ida.alloc(), Some(4026531841));
    }

    #[test]
    fn last_put_queues_and_dying_nets_cannot_be_revived() {
        let q = Arc::new(CleanupQueue::default());
        let r = new_net(NetnsId(3), 7, &q);
        let net = r.net().clone();
        let r2 = NetRef::get(&net).unwrap();
        let r3 = r2.clone();
        assert_eq!(net.count(), 3);
        drop(r);
        drop(r2);
        assert!(q.is_empty());
        assert!(net.check());
        drop(r3);
        assert!(!net.check());
        assert!(NetRef::get(&net).is_none());
        let queued = q.take();
        assert_eq!(queued.len(), 1);
        assert!(Arc::ptr_eq(&queued[0], &net));
    }
}
