//! The link framework (`struct bpf_link` and `bpf_link_ops` of
//! include/linux/bpf.h, kernel/bpf/syscall.c): a link ties a program to an
//! attach point; concrete link types (netns, tracing, struct_ops, ...)
//! implement [`LinkOps`] in their subsystems.
//!
//! Lifetime as in the kernel: fds and pins hold the link (`Arc`); when the
//! last one goes, [`LinkOps::release`] detaches it. A link that was
//! detached earlier (`BPF_LINK_DETACH`, or its attach point went away) stays
//! valid while referenced, in the *defunct* state its type defines.

use super::prog::Prog;
use crate::errno::Errno;
use crate::uapi::{AttachType, LinkType};
use parking_lot::Mutex;
use std::fmt;
use std::sync::Arc;

/// Type-specific part of `bpf_link_info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkInfoExtra {
    None,
    Netns {
        netns_ino: u32,
        attach_type: AttachType,
    },
    /// `info->raw_tracepoint.tp_name`.
    RawTracepoint {
        tp_name: String,
    },
    /// `info->iter.target_name`.
    Iter {
        target_name: String,
    },
}

/// Per-type link operations (`struct bpf_link_ops`).
pub trait LinkOps: Send + Sync + fmt::Debug {
    fn link_type(&self) -> LinkType;

    /// `.release`: detach from the attach point (last reference gone, or
    /// `BPF_LINK_DETACH`). Must be idempotent.
    fn release(&self, link: &Link);

    /// `.detach` (`BPF_LINK_DETACH`); `None` when the type has none, which
    /// the syscall turns into `EOPNOTSUPP`.
    fn detach(&self, _link: &Link) -> Option<Result<(), Errno>> {
        None
    }

    /// `.update_prog` (`BPF_LINK_UPDATE`): swap `new` in for the current
    /// program (`old`, if given, must match: `EPERM`). `None` when the
    /// type cannot be updated (`EINVAL`).
    fn update_prog(
        &self,
        _link: &Link,
        _new: &Arc<Prog>,
        _old: Option<&Arc<Prog>>,
    ) -> Option<Result<(), Errno>> {
        None
    }

    /// `.fill_link_info`.
    fn fill_info(&self, _link: &Link) -> LinkInfoExtra {
        LinkInfoExtra::None
    }

    /// `.show_fdinfo`: extra `key:\tvalue` lines.
    fn show_fdinfo(&self, _link: &Link) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// One link.
pub struct Link {
    pub id: u32,
    pub attach_type: Option<AttachType>,
    prog: Mutex<Arc<Prog>>,
    pub ops: Box<dyn LinkOps>,
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link").field("id", &self.id).field("ops", &self.ops).finish_non_exhaustive()
    }
}

impl Link {
    pub fn new(id: u32, attach_type: Option<AttachType>, prog: Arc<Prog>, ops: Box<dyn LinkOps>) -> Link {
        Link { id, attach_type, prog: Mutex::new(prog), ops }
    }

    /// The program currently attached through the link.
    pub fn prog(&self) -> Arc<Prog> {
        self.prog.lock().clone()
    }

    /// Replaces the program (for [`LinkOps::update_prog`] implementations),
    /// returning the old one.
    pub fn set_prog(&self, prog: Arc<Prog>) -> Arc<Prog> {
        std::mem::replace(&mut *self.prog.lock(), prog)
    }

    pub fn link_type(&self) -> LinkType {
        self.ops.link_type()
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // The last reference went: `bpf_link_put()` → `bpf_link_free()`
        // → `ops->release()`.
        let ops = std::mem::replace(&mut self.ops, Box::new(Released));
        ops.release(self);
    }
}

/// Placeholder ops while a link is being freed.
#[derive(Debug)]
struct Released;

impl LinkOps for Released {
    fn link_type(&self) -> LinkType {
        LinkType::Unspec
    }

    fn release(&self, _link: &Link) {}
}
