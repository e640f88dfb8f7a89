//! The netns link type and the netns attach points of `bpf()`
//! (kernel/bpf/net_namespace.c: `bpf_netns_link_ops`,
//! `netns_bpf_link_create()`, `netns_bpf_prog_attach()`,
//! `netns_bpf_prog_detach()`, `netns_bpf_prog_query()`), registered with
//! the link framework ([`crate::bpf::link_cmds`]) for `BPF_FLOW_DISSECTOR`
//! and `BPF_SK_LOOKUP`.
//!
//! Argument rules: `PROG_ATTACH` acts on the caller's namespace and wants
//! `target_fd`, `attach_flags` and `replace_bpf_fd` all zero (`EINVAL`);
//! `PROG_DETACH` likewise wants `target_fd` zero; `PROG_QUERY` and
//! `LINK_CREATE` take a netns fd in `target_fd` (`EBADF` if not open,
//! `EINVAL` if not a network namespace), query flags must be zero and so
//! must link flags (`EINVAL`). sk_lookup programs attach only through
//! links: `PROG_ATTACH`/`PROG_DETACH` are `EINVAL`.

use super::netns::Net;
use super::netns_bpf::{NetnsBpf, NetnsType};
use crate::bpf::link::{Link, LinkInfoExtra, LinkOps};
use crate::bpf::link_cmds::{AttachReq, DetachReq, LinkCreator, LinkReq, ProgAttacher, QueryReq};
use crate::bpf::prog::Prog;
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::uapi::{AttachType, LinkType, ProgType};
use std::sync::Arc;

/// `struct bpf_netns_link`'s type part (the namespace pointer lives in
/// [`NetnsBpf`], under its mutex).
#[derive(Debug)]
pub struct NetnsLink {
    bpf: Arc<NetnsBpf>,
    attach_type: AttachType,
    netns_type: NetnsType,
}

impl LinkOps for NetnsLink {
    fn link_type(&self) -> LinkType {
        LinkType::Netns
    }

    fn release(&self, link: &Link) {
        self.bpf.link_release(link.id, self.netns_type);
    }

    fn detach(&self, link: &Link) -> Option<Result<(), Errno>> {
        self.release(link);
        Some(Ok(()))
    }

    fn update_prog(
        &self,
        link: &Link,
        new: &Arc<Prog>,
        old: Option<&Arc<Prog>>,
    ) -> Option<Result<(), Errno>> {
        let cur = link.prog();
        if let Some(old) = old
            && !Arc::ptr_eq(old, &cur)
        {
            return Some(Err(Errno::EPERM));
        }
        if new.prog_type != cur.prog_type {
            return Some(Err(Errno::EINVAL));
        }
        Some(self.bpf.link_update(link, self.netns_type, new))
    }

    fn fill_info(&self, link: &Link) -> LinkInfoExtra {
        LinkInfoExtra::Netns { netns_ino: self.bpf.link_netns_ino(link.id), attach_type: self.attach_type }
    }

    fn show_fdinfo(&self, link: &Link) -> Vec<(String, String)> {
        vec![
            ("netns_ino".into(), self.bpf.link_netns_ino(link.id).to_string()),
            ("attach_type".into(), self.attach_type.raw().to_string()),
        ]
    }
}

/// `get_net_ns_by_fd()`: `EBADF` for a closed fd, `EINVAL` for anything
/// but a network namespace. The reference is dropped when the caller is
/// done (`put_net()`).
pub fn net_from_fd(k: &Kernel, fd: i32) -> Result<super::netns::NetRef, Errno> {
    match k.fd_obj(fd)? {
        crate::bpf::Obj::Netns(r) => Ok(r),
        _ => Err(Errno::EINVAL),
    }
}

/// `BPF_LINK_CREATE` for flow-dissector and sk_lookup programs.
#[derive(Debug)]
pub struct NetnsLinkCreator;

impl LinkCreator for NetnsLinkCreator {
    fn create(&self, k: &mut Kernel, req: LinkReq<'_>) -> Result<Arc<Link>, Errno> {
        if req.attr.flags != 0 {
            return Err(Errno::EINVAL);
        }
        let t = NetnsType::from_attach(req.attach_type).ok_or(Errno::EINVAL)?;
        let net = net_from_fd(k, req.attr.target_fd)?;
        let bpf = k.net.bpf.clone();
        let prog = req.prog.clone();
        let link = Arc::new(Link::new(
            req.id,
            Some(req.attach_type),
            req.prog,
            Box::new(NetnsLink { bpf: bpf.clone(), attach_type: req.attach_type, netns_type: t }),
        ));
        bpf.link_attach(net.net(), t, req.id, &prog)?;
        Ok(link)
    }
}

/// The legacy attach commands at one netns attach type.
#[derive(Debug)]
pub struct NetnsAttacher {
    pub netns_type: NetnsType,
}

impl NetnsAttacher {
    fn current(k: &Kernel) -> Arc<Net> {
        k.net.task_net(k.user).net().clone()
    }
}

impl ProgAttacher for NetnsAttacher {
    fn prog_type(&self) -> ProgType {
        match self.netns_type {
            NetnsType::FlowDissector => ProgType::FlowDissector,
            NetnsType::SkLookup => ProgType::SkLookup,
        }
    }

    fn attach(&self, k: &mut Kernel, req: AttachReq) -> Result<(), Errno> {
        // bpf_prog_attach() has no case for sk_lookup programs.
        if self.netns_type == NetnsType::SkLookup {
            return Err(Errno::EINVAL);
        }
        if req.target_fd != 0 || req.attach_flags != 0 || req.replace_bpf_fd != 0 {
            return Err(Errno::EINVAL);
        }
        let net = Self::current(k);
        k.net.bpf.prog_attach(&net, self.netns_type, &req.prog)
    }

    fn detach(&self, k: &mut Kernel, req: DetachReq) -> Result<(), Errno> {
        if self.netns_type == NetnsType::SkLookup || req.target_fd != 0 {
            return Err(Errno::EINVAL);
        }
        let prog = k.prog_from_fd(req.attach_bpf_fd)?;
        if prog.prog_type != ProgType::FlowDissector {
            return Err(Errno::EINVAL);
        }
        let net = Self::current(k);
        k.net.bpf.prog_detach(&net, self.netns_type, &prog)
    }

    fn query(&self, k: &mut Kernel, req: QueryReq<'_>) -> Result<(), Errno> {
        if req.query_flags != 0 {
            return Err(Errno::EINVAL);
        }
        let net = net_from_fd(k, req.target_fd)?;
        *req.attach_flags = 0;
        *req.prog_ids = k.net.bpf.query(net.net(), self.netns_type);
        Ok(())
    }
}

/// Registers the netns attach points (what `netns_bpf_init()` and the
/// `bpf()` switch cases amount to).
pub fn register(k: &mut Kernel) {
    let creator: Arc<dyn LinkCreator> = Arc::new(NetnsLinkCreator);
    k.register_link_type(ProgType::FlowDissector, AttachType::FlowDissector, creator.clone());
    k.register_link_type(ProgType::SkLookup, AttachType::SkLookup, creator);
    for t in [NetnsType::FlowDissector, NetnsType::SkLookup] {
        let at = match t {
            NetnsType::FlowDissector => AttachType::FlowDissector,
            NetnsType::SkLookup => AttachType::SkLookup,
        };
        k.register_attach_type(at, Arc::new(NetnsAttacher { netns_type: t }));
    }
}
