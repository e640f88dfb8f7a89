//! Attachment commands of `bpf()`: `BPF_PROG_ATTACH`/`DETACH`/`QUERY` and
//! the link commands (kernel/bpf/syscall.c `bpf_prog_attach`,
//! `bpf_prog_detach`, `bpf_prog_query`, `link_create`, `link_update`,
//! `link_detach`).
//!
//! The commands do the checks every attach point shares, then dispatch
//! through an [`AttachRegistry`] that subsystems fill when the kernel is
//! built: [`Kernel::register_link_type`] for `BPF_LINK_CREATE` (keyed by
//! program type and attach type, the kernel's `switch (prog->type)` plus
//! `attach_type_to_prog_type()`), [`Kernel::register_attach_type`] for
//! the legacy attach / detach / query commands (keyed by attach type). No
//! concrete attach point exists yet (netns, tracing, struct_ops come with
//! their subsystems), so every combination is `EINVAL` until registered,
//! as for a kernel built without the subsystem.

use super::attr::LinkCreateAttr;
use super::link::Link;
use super::objects::Obj;
use super::prog::Prog;
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::uapi::{AttachType, BPF_F_ALLOW_MULTI, BPF_F_ALLOW_OVERRIDE, BPF_F_REPLACE, ProgType};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// `BPF_F_ATTACH_MASK_BASE`: the attach flags of non-mprog attach points.
pub const BPF_F_ATTACH_MASK_BASE: u32 = BPF_F_ALLOW_OVERRIDE | BPF_F_ALLOW_MULTI | BPF_F_REPLACE;
/// `BPF_F_QUERY_EFFECTIVE`.
pub const BPF_F_QUERY_EFFECTIVE: u32 = 1;

/// What a link type's creator gets.
#[derive(Debug)]
pub struct LinkReq<'a> {
    /// The id reserved for the link: build it with `Link::new(id, ..)`.
    pub id: u32,
    pub prog: Arc<Prog>,
    pub attach_type: AttachType,
    pub attr: &'a LinkCreateAttr,
}

/// Creates links for one (program type, attach type) pair: checks the
/// type-specific attributes (target, flags), attaches, and returns the
/// link. The framework publishes its id and installs the fd.
pub trait LinkCreator: Send + Sync + fmt::Debug {
    fn create(&self, k: &mut Kernel, req: LinkReq<'_>) -> Result<Arc<Link>, Errno>;
}

/// `BPF_PROG_ATTACH` arguments after the shared checks.
#[derive(Debug)]
pub struct AttachReq {
    pub target_fd: i32,
    pub prog: Arc<Prog>,
    pub attach_type: AttachType,
    pub attach_flags: u32,
    /// Raw `replace_bpf_fd` (meaningful with `BPF_F_REPLACE`).
    pub replace_bpf_fd: i32,
}

/// `BPF_PROG_DETACH` arguments.
#[derive(Debug)]
pub struct DetachReq {
    pub target_fd: i32,
    /// Raw `attach_bpf_fd`: some attach points require it, others ignore it.
    pub attach_bpf_fd: i32,
    pub attach_type: AttachType,
}

/// `BPF_PROG_QUERY` arguments and results.
#[derive(Debug)]
pub struct QueryReq<'a> {
    pub target_fd: i32,
    pub attach_type: AttachType,
    pub query_flags: u32,
    pub attach_flags: &'a mut u32,
    pub prog_ids: &'a mut Vec<u32>,
}

/// The legacy (fd-based) attachment of one attach type.
pub trait ProgAttacher: Send + Sync + fmt::Debug {
    /// The program type this attach type takes (`attach_type_to_prog_type`).
    fn prog_type(&self) -> ProgType;

    /// The attach flags accepted (`BPF_F_ATTACH_MASK_BASE`, or the mprog
    /// mask for tcx-style attach points).
    fn flags_mask(&self) -> u32 {
        BPF_F_ATTACH_MASK_BASE
    }

    fn attach(&self, k: &mut Kernel, req: AttachReq) -> Result<(), Errno>;
    fn detach(&self, k: &mut Kernel, req: DetachReq) -> Result<(), Errno>;
    fn query(&self, k: &mut Kernel, req: QueryReq<'_>) -> Result<(), Errno>;
}

/// Attach points known to the kernel.
#[derive(Debug, Default)]
pub struct AttachRegistry {
    links: BTreeMap<(ProgType, AttachType), Arc<dyn LinkCreator>>,
    attach: BTreeMap<AttachType, Arc<dyn ProgAttacher>>,
}

impl Kernel {
    /// Makes `BPF_LINK_CREATE` of `prog_type` programs at `attach_type`
    /// go to `creator` (replacing any earlier registration).
    pub fn register_link_type(
        &mut self,
        prog_type: ProgType,
        attach_type: AttachType,
        creator: Arc<dyn LinkCreator>,
    ) {
        self.attach_registry.links.insert((prog_type, attach_type), creator);
    }

    /// Makes `BPF_PROG_ATTACH`/`DETACH`/`QUERY` at `attach_type` go to
    /// `attacher`.
    pub fn register_attach_type(&mut self, attach_type: AttachType, attacher: Arc<dyn ProgAttacher>) {
        self.attach_registry.attach.insert(attach_type, attacher);
    }

    /// The program behind `fd` (`bpf_prog_get`): `EBADF` if not open,
    /// `EINVAL` if not a program.
    pub fn prog_from_fd(&self, fd: i32) -> Result<Arc<Prog>, Errno> {
        Ok(self.fd_obj(fd)?.prog()?.clone())
    }

    /// The link behind `fd` (`bpf_link_get_from_fd`): `EBADF` if not open,
    /// `EINVAL` if not a link.
    pub fn link_from_fd(&self, fd: i32) -> Result<Arc<Link>, Errno> {
        Ok(self.fd_obj(fd)?.link()?.clone())
    }

    /// The legacy attacher of a raw attach type (`attach_type_to_prog_type`
    /// is `UNSPEC` for unknown or unregistered ones: `EINVAL`).
    fn attacher(&self, attach_type: u32) -> Result<(AttachType, Arc<dyn ProgAttacher>), Errno> {
        let at = AttachType::from_raw(attach_type).ok_or(Errno::EINVAL)?;
        let a = self.attach_registry.attach.get(&at).ok_or(Errno::EINVAL)?.clone();
        Ok((at, a))
    }

    /// `BPF_PROG_ATTACH`: unknown attach type or flags outside the attach
    /// point's mask `EINVAL`; the program fd `EBADF` / `EINVAL` (not a
    /// program, or of another type than the attach point takes).
    pub(crate) fn prog_attach(
        &mut self,
        target_fd: i32,
        attach_bpf_fd: i32,
        attach_type: u32,
        attach_flags: u32,
        replace_bpf_fd: i32,
    ) -> Result<i64, Errno> {
        let (at, attacher) = self.attacher(attach_type)?;
        if attach_flags & !attacher.flags_mask() != 0 {
            return Err(Errno::EINVAL);
        }
        let prog = self.prog_from_fd(attach_bpf_fd)?;
        if prog.prog_type != attacher.prog_type() {
            return Err(Errno::EINVAL);
        }
        attacher
            .attach(self, AttachReq { target_fd, prog, attach_type: at, attach_flags, replace_bpf_fd })?;
        Ok(0)
    }

    /// `BPF_PROG_DETACH`: unknown attach type `EINVAL`, then the attach
    /// point's own checks.
    pub(crate) fn prog_detach(
        &mut self,
        target_fd: i32,
        attach_bpf_fd: i32,
        attach_type: u32,
    ) -> Result<i64, Errno> {
        let (at, attacher) = self.attacher(attach_type)?;
        attacher.detach(self, DetachReq { target_fd, attach_bpf_fd, attach_type: at })?;
        Ok(0)
    }

    /// `BPF_PROG_QUERY`: query flags other than `BPF_F_QUERY_EFFECTIVE`
    /// `EINVAL`; unknown attach type `EINVAL`.
    pub(crate) fn prog_query(
        &mut self,
        target_fd: i32,
        attach_type: u32,
        query_flags: u32,
        attach_flags: &mut u32,
        prog_ids: &mut Vec<u32>,
    ) -> Result<i64, Errno> {
        if query_flags & !BPF_F_QUERY_EFFECTIVE != 0 {
            return Err(Errno::EINVAL);
        }
        let (at, attacher) = self.attacher(attach_type)?;
        attacher.query(self, QueryReq { target_fd, attach_type: at, query_flags, attach_flags, prog_ids })?;
        Ok(0)
    }

    /// `BPF_LINK_CREATE`: bad program fd `EBADF` (not a program: `EINVAL`);
    /// unknown attach type, or no link type for (program type, attach
    /// type): `EINVAL`; then the link type's own checks. Returns the link
    /// fd.
    pub(crate) fn link_create(&mut self, attr: &LinkCreateAttr) -> Result<i64, Errno> {
        let prog = self.prog_from_fd(attr.prog_fd)?;
        if prog.prog_type == ProgType::Ext {
            let id = self.objects.links.alloc()?;
            let link = self.freplace_link(prog, id, attr)?;
            self.objects.links.publish(id, &link);
            let fd = self.install_fd(Obj::Link(link))?;
            return Ok(i64::from(fd));
        }
        let at = AttachType::from_raw(attr.attach_type).ok_or(Errno::EINVAL)?;
        let creator = self.attach_registry.links.get(&(prog.prog_type, at)).ok_or(Errno::EINVAL)?.clone();
        let id = self.objects.links.alloc()?;
        let link = creator.create(self, LinkReq { id, prog, attach_type: at, attr })?;
        self.objects.links.publish(id, &link);
        let fd = self.install_fd(Obj::Link(link))?;
        Ok(i64::from(fd))
    }

    /// `BPF_LINK_UPDATE`, in the kernel's order: flags other than
    /// `BPF_F_REPLACE` `EINVAL`; the link fd `EBADF` / `EINVAL`; the new
    /// program fd `EBADF` / `EINVAL`; with `BPF_F_REPLACE` the old program
    /// fd likewise, without it a non-zero `old_prog_fd` is `EINVAL`; a link
    /// type without `update_prog` `EINVAL`.
    pub(crate) fn link_update(
        &mut self,
        link_fd: i32,
        new_prog_fd: i32,
        flags: u32,
        old_prog_fd: i32,
    ) -> Result<i64, Errno> {
        if flags & !BPF_F_REPLACE != 0 {
            return Err(Errno::EINVAL);
        }
        let link = self.link_from_fd(link_fd)?;
        let new = self.prog_from_fd(new_prog_fd)?;
        let old = if flags & BPF_F_REPLACE != 0 {
            Some(self.prog_from_fd(old_prog_fd)?)
        } else if old_prog_fd != 0 {
            return Err(Errno::EINVAL);
        } else {
            None
        };
        link.ops.update_prog(&link, &new, old.as_ref()).unwrap_or(Err(Errno::EINVAL))?;
        Ok(0)
    }

    /// `BPF_LINK_DETACH`: the link fd `EBADF` / `EINVAL`; a link type
    /// without `detach` `EOPNOTSUPP`.
    pub(crate) fn link_detach(&mut self, link_fd: i32) -> Result<i64, Errno> {
        let link = self.link_from_fd(link_fd)?;
        link.ops.detach(&link).unwrap_or(Err(Errno::EOPNOTSUPP))?;
        Ok(0)
    }
}
