//! Trampolines and tracing links (kernel/bpf/trampoline.c,
//! kernel/bpf/syscall.c `bpf_tracing_prog_attach()`).
//!
//! One [`Tramp`] per traced function (keyed by its vmlinux BTF id, the
//! kernel's `bpf_trampoline_compute_key()` without a target program)
//! holds the programs linked to it, per kind (fentry, fexit, fmod_ret).
//! `BPF_LINK_CREATE` of a tracing program (`BPF_LINK_TYPE_TRACING`):
//!
//! - the attach type must be the program's expected attach type
//!   (`EINVAL`), one of fentry, fexit, fmod_ret, or `BPF_LSM_MAC` for an
//!   LSM program (on a hook returning `int`, a `BPF_TRAMP_MODIFY_RETURN`
//!   program: `bpf_attach_type_to_tramp()`; see [`crate::lsm`]);
//! - `target_fd` and `target_btf_id` must both be 0 (`EINVAL`): a target
//!   program or a new target is for freplace only
//!   (`!!tgt_prog_fd != !!btf_id`, then `prog->type != BPF_PROG_TYPE_EXT`);
//! - `bpf_trampoline_link_prog()`: `BPF_MAX_TRAMP_LINKS` (38) programs per
//!   trampoline over all kinds (`E2BIG`), a program once per kind
//!   (`EBUSY`); a new link goes first in its kind (`hlist_add_head`).
//!
//! A link's release unlinks the program. Tracing links have no `detach`
//! (`BPF_LINK_DETACH`: `EOPNOTSUPP`) and no `update_prog` (`EINVAL`);
//! fdinfo shows `attach_type`, `target_obj_id` (the vmlinux BTF object),
//! `target_btf_id`, `cookie` (0: `LINK_CREATE` cookies are not emulated).
//! `BPF_RAW_TRACEPOINT_OPEN` without a name reaches the same creator
//! ([`crate::tracepoint::link`]). Not emulated: re-attaching a program to
//! another target. freplace links are
//! [`super::freplace`].

use crate::bpf::link::{Link, LinkOps};
use crate::bpf::link_cmds::{LinkCreator, LinkReq};
use crate::bpf::prog::Prog;
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::uapi::{AttachType, LinkType, ProgType};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;

/// `BPF_MAX_TRAMP_LINKS` (x86-64).
pub const BPF_MAX_TRAMP_LINKS: usize = 38;

/// `enum bpf_tramp_prog_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Fentry = 0,
    Fexit = 1,
    ModifyReturn = 2,
}

impl Kind {
    /// `bpf_attach_type_to_tramp()`.
    pub fn of(attach: AttachType) -> Option<Kind> {
        match attach {
            AttachType::TraceFentry => Some(Kind::Fentry),
            AttachType::TraceFexit => Some(Kind::Fexit),
            AttachType::ModifyReturn => Some(Kind::ModifyReturn),
            _ => None,
        }
    }
}

/// One trampoline: the linked programs of each kind, in run order, with
/// their link ids.
#[derive(Clone, Debug, Default)]
pub struct Tramp {
    pub progs: [Vec<(u32, Arc<Prog>)>; 3],
}

impl Tramp {
    fn count(&self) -> usize {
        self.progs.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }
}

/// Every trampoline of the kernel, by target BTF id.
#[derive(Debug, Default)]
pub struct Trampolines {
    map: Mutex<BTreeMap<u32, Tramp>>,
}

impl Trampolines {
    /// `bpf_trampoline_link_prog()`.
    pub fn link(&self, btf_id: u32, kind: Kind, link_id: u32, prog: &Arc<Prog>) -> Result<(), Errno> {
        let mut map = self.map.lock();
        let tr = map.entry(btf_id).or_default();
        if tr.count() >= BPF_MAX_TRAMP_LINKS {
            return Err(Errno::E2BIG);
        }
        let list = &mut tr.progs[kind as usize];
        if list.iter().any(|(_, p)| Arc::ptr_eq(p, prog)) {
            return Err(Errno::EBUSY);
        }
        list.insert(0, (link_id, prog.clone()));
        Ok(())
    }

    /// `bpf_trampoline_unlink_prog()` of the link `link_id`.
    pub fn unlink(&self, btf_id: u32, link_id: u32) {
        let mut map = self.map.lock();
        if let Some(tr) = map.get_mut(&btf_id) {
            for list in &mut tr.progs {
                list.retain(|(id, _)| *id != link_id);
            }
            if tr.is_empty() {
                map.remove(&btf_id);
            }
        }
    }

    /// The programs on the trampoline of `btf_id` now (a snapshot).
    pub fn get(&self, btf_id: u32) -> Option<Tramp> {
        self.map.lock().get(&btf_id).cloned()
    }
}

/// A `BPF_LINK_TYPE_TRACING` link.
#[derive(Debug)]
struct TracingLink {
    tramps: Arc<Trampolines>,
    btf_id: u32,
    attach_type: AttachType,
    btf_obj_id: u32,
}

impl LinkOps for TracingLink {
    fn link_type(&self) -> LinkType {
        LinkType::Tracing
    }

    fn release(&self, link: &Link) {
        self.tramps.unlink(self.btf_id, link.id);
    }

    fn show_fdinfo(&self, _link: &Link) -> Vec<(String, String)> {
        vec![
            ("attach_type".into(), self.attach_type.raw().to_string()),
            ("target_obj_id".into(), self.btf_obj_id.to_string()),
            ("target_btf_id".into(), self.btf_id.to_string()),
            ("cookie".into(), "0".into()),
        ]
    }
}

/// `link_create()` for tracing programs → `bpf_tracing_prog_attach()`.
#[derive(Debug)]
struct TracingLinkCreator;

impl LinkCreator for TracingLinkCreator {
    fn create(&self, k: &mut Kernel, req: LinkReq<'_>) -> Result<Arc<Link>, Errno> {
        let prog = req.prog;
        if prog.expected_attach_type != Some(req.attach_type) {
            return Err(Errno::EINVAL);
        }
        if req.attr.target_fd != 0 || req.attr.target_btf_id != 0 {
            return Err(Errno::EINVAL);
        }
        let btf_id = prog.attach_btf_id;
        if btf_id == 0 {
            return Err(Errno::EINVAL);
        }
        let kind = match req.attach_type {
            // bpf_attach_type_to_tramp(): an LSM program on an int hook
            // (every emulated one) modifies its return value.
            AttachType::LsmMac => Kind::ModifyReturn,
            at => Kind::of(at).ok_or(Errno::EINVAL)?,
        };
        let tramps = k.trampolines.clone();
        tramps.link(btf_id, kind, req.id, &prog)?;
        let ops =
            TracingLink { tramps, btf_id, attach_type: req.attach_type, btf_obj_id: k.vmlinux_btf_id() };
        Ok(Arc::new(Link::new(req.id, Some(req.attach_type), prog, Box::new(ops))))
    }
}

/// Registers tracing links for fentry, fexit and fmod_ret programs, and
/// for `BPF_LSM_MAC` programs (`link_create()` sends both types to
/// `bpf_tracing_prog_attach()`).
pub fn register(k: &mut Kernel) {
    let creator: Arc<dyn LinkCreator> = Arc::new(TracingLinkCreator);
    for at in [AttachType::TraceFentry, AttachType::TraceFexit, AttachType::ModifyReturn] {
        k.register_link_type(ProgType::Tracing, at, creator.clone());
    }
    k.register_link_type(ProgType::Lsm, AttachType::LsmMac, creator);
}
