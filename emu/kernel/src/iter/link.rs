//! Iterator links (`BPF_LINK_TYPE_ITER`) and `BPF_ITER_CREATE`.
//!
//! Kernel counterparts: kernel/bpf/bpf_iter.c `bpf_iter_link_attach()`,
//! `bpf_iter_link_lops` (`show_fdinfo`, `fill_link_info`),
//! `bpf_iter_new_fd()`; kernel/bpf/syscall.c `link_create()` (the
//! `BPF_TRACE_ITER` case of tracing programs) and `bpf_iter_create()`.
//!
//! `BPF_LINK_CREATE` of a tracing program whose expected attach type is
//! `BPF_TRACE_ITER`, with attach type `BPF_TRACE_ITER`, in the kernel's
//! order: a `target_fd` or `flags` `EINVAL`; `iter_info` NULL with a
//! length or a length without pointer `EINVAL`; bytes past
//! `sizeof(union bpf_iter_link_info)` (16) not zero `E2BIG`
//! (`bpf_check_uarg_tail_zero()`), a length beyond the bytes given
//! `EFAULT`; no target for the program's `attach_btf_id` `ENOENT`. The
//! `bpf_map` target has no `attach_target` callback, so its link info
//! (`map.map_fd`) is ignored, as in the kernel. (A program of another
//! expected attach type is `EINVAL` here; the kernel sends it to
//! `bpf_tracing_prog_attach()`.)
//!
//! The link has no `detach` (`EOPNOTSUPP`); `BPF_LINK_UPDATE` is not
//! emulated (`EINVAL`; the kernel swaps a program of the same type,
//! attach type and `attach_btf_id`). fdinfo: `target_name`; link info:
//! `iter.target_name`.
//!
//! `BPF_ITER_CREATE` (`link_fd`, `flags`): `flags` non-zero `EINVAL`; the
//! link fd `EBADF`, not a link `EINVAL`; a link that is not an iterator
//! link `EINVAL`; else a new read-only fd of an [`IterFile`] bound to the
//! link's program ([`super::seq`]).

use super::seq::IterFile;
use super::{IterTarget, target_of_func};
use crate::bpf::link::{Link, LinkInfoExtra, LinkOps};
use crate::bpf::link_cmds::{LinkCreator, LinkReq};
use crate::bpf::objects::Obj;
use crate::bpf::prog::Prog;
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::uapi::{AttachType, LinkType, ProgType};
use std::sync::Arc;

/// `sizeof(union bpf_iter_link_info)`.
pub const ITER_LINK_INFO_SIZE: usize = 16;

/// A `BPF_LINK_TYPE_ITER` link (`struct bpf_iter_link`).
#[derive(Debug)]
pub struct IterLink {
    pub target: &'static IterTarget,
}

impl LinkOps for IterLink {
    fn link_type(&self) -> LinkType {
        LinkType::Iter
    }

    fn release(&self, _link: &Link) {}

    fn fill_info(&self, _link: &Link) -> LinkInfoExtra {
        LinkInfoExtra::Iter { target_name: self.target.name.to_owned() }
    }

    fn show_fdinfo(&self, _link: &Link) -> Vec<(String, String)> {
        vec![("target_name".into(), self.target.name.into())]
    }
}

/// The target a loaded iterator program attaches to (its
/// `attach_btf_id`'s FUNC name).
fn prog_target(prog: &Prog) -> Option<&'static IterTarget> {
    let btf = crate::vmlinux::shared();
    target_of_func(btf.str_at(btf.get(prog.attach_btf_id)?.name_off))
}

/// `link_create()` → `bpf_iter_link_attach()`.
#[derive(Debug)]
struct IterLinkCreator;

impl LinkCreator for IterLinkCreator {
    fn create(&self, _k: &mut Kernel, req: LinkReq<'_>) -> Result<Arc<Link>, Errno> {
        if req.prog.expected_attach_type != Some(AttachType::TraceIter) {
            return Err(Errno::EINVAL);
        }
        let a = req.attr;
        if a.target_fd != 0 || a.flags != 0 {
            return Err(Errno::EINVAL);
        }
        let len = a.iter_info_len as usize;
        if a.iter_info.is_none() != (len == 0) {
            return Err(Errno::EINVAL);
        }
        if let Some(info) = &a.iter_info {
            if len > ITER_LINK_INFO_SIZE {
                let tail = info.get(ITER_LINK_INFO_SIZE..len).ok_or(Errno::EFAULT)?;
                if tail.iter().any(|&b| b != 0) {
                    return Err(Errno::E2BIG);
                }
            }
            if info.len() < len.min(ITER_LINK_INFO_SIZE) {
                return Err(Errno::EFAULT);
            }
        }
        let target = prog_target(&req.prog).ok_or(Errno::ENOENT)?;
        Ok(Arc::new(Link::new(req.id, Some(AttachType::TraceIter), req.prog, Box::new(IterLink { target }))))
    }
}

impl Kernel {
    /// `BPF_ITER_CREATE` (see the module docs): the iterator fd.
    pub(crate) fn iter_create(&mut self, link_fd: i32, flags: u32) -> Result<i64, Errno> {
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        let link = self.link_from_fd(link_fd)?;
        if link.ops.link_type() != LinkType::Iter {
            return Err(Errno::EINVAL);
        }
        let target = prog_target(&link.prog()).ok_or(Errno::EINVAL)?;
        let file = IterFile::new(target, link.prog());
        let fd = self.install_fd(Obj::Iter(Arc::new(file)))?;
        Ok(i64::from(fd))
    }
}

/// Registers `BPF_LINK_CREATE` of iterator programs.
pub fn register(k: &mut Kernel) {
    k.register_link_type(ProgType::Tracing, AttachType::TraceIter, Arc::new(IterLinkCreator));
}
