//! `BPF_RAW_TRACEPOINT_OPEN`, raw tracepoint links and the programs
//! attached to each tracepoint.
//!
//! Kernel counterparts: kernel/bpf/syscall.c `bpf_raw_tracepoint_open()`,
//! `bpf_raw_tp_link_attach()`, `bpf_raw_tp_link_lops` and the
//! `BPF_TRACE_RAW_TP` case of `link_create()`; kernel/trace/bpf_trace.c
//! `bpf_get_raw_tracepoint()`, `bpf_probe_register()` /
//! `bpf_probe_unregister()`, as in current mainline.
//!
//! `BPF_RAW_TRACEPOINT_OPEN` (`name`, `prog_fd`, `cookie`): the program fd
//! `EBADF` / `EINVAL`; then by program type:
//!
//! - raw_tracepoint (and raw_tracepoint_writable, which bpfemu cannot
//!   load): `name` NULL `EFAULT`; the name is cut to 127 bytes;
//! - tracing, ext, lsm: a `name` is `EINVAL` (the target was given at
//!   load); a tp_btf program (`BPF_TRACE_RAW_TP`) attaches to the
//!   tracepoint of its `btf_trace_<tp>` target; the others go to
//!   `bpf_tracing_prog_attach(prog, 0, 0, 0)`, which bpfemu reaches
//!   through the link registry as `BPF_LINK_CREATE` of (program type,
//!   expected attach type) with no target: fentry/fexit/fmod_ret links
//!   ([`crate::trampoline::tramp`]), freplace links (the load's target),
//!   and LSM links once the LSM subsystem registers `(lsm, lsm_mac)`
//!   (until then `EINVAL`);
//! - any other type: `EINVAL`.
//!
//! An unknown tracepoint is `ENOENT`. `bpf_probe_register()`: a program
//! whose highest ctx access (`max_ctx_offset`) lies beyond the
//! tracepoint's `num_args * 8` bytes is `EINVAL`. The link
//! (`BPF_LINK_TYPE_RAW_TRACEPOINT`, with the program's expected attach
//! type) is a probe of the tracepoint until its last reference goes
//! (`bpf_raw_tp_link_release()`); probes run in registration order, one
//! per link (the same program may be attached twice). No `detach`
//! (`EOPNOTSUPP`), no `update_prog` (`EINVAL`). fdinfo: `tp_name`,
//! `cookie`; link info: `tp_name`.
//!
//! `BPF_LINK_CREATE` of a tp_btf program with attach type
//! `BPF_TRACE_RAW_TP` (the program's expected attach type, else `EINVAL`)
//! makes the same link (`target_fd` and `target_btf_id` are not looked
//! at). raw_tracepoint programs have no `BPF_LINK_CREATE` (`EINVAL`).
//!
//! Cookies are kept and shown but `bpf_get_attach_cookie` is not
//! emulated; `LINK_CREATE`'s `tracing.cookie` is not part of bpfemu's
//! attr (0). A program calling `bpf_trace_printk` may attach to the
//! `bpf_trace_printk` tracepoint (current kernels rely on the recursion
//! check of `__bpf_trace_run()`, [`super::run`]). Not emulated: writable
//! tracepoints (`max_tp_access`), module tracepoints.

use super::{TracepointDef, by_name};
use crate::bpf::attr::LinkCreateAttr;
use crate::bpf::link::{Link, LinkInfoExtra, LinkOps};
use crate::bpf::link_cmds::{LinkCreator, LinkReq};
use crate::bpf::objects::Obj;
use crate::bpf::prog::Prog;
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::uapi::{AttachType, LinkType, ProgType};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The longest tracepoint name `bpf_raw_tp_link_attach()` copies
/// (`char buf[128]`, NUL included).
pub const TP_NAME_MAX: usize = 127;

/// The probes of one tracepoint: (link id, program), in registration
/// order.
type Probes = Vec<(u32, Arc<Prog>)>;

/// The probes of every tracepoint.
#[derive(Debug, Default)]
pub struct RawTracepoints {
    map: Mutex<BTreeMap<&'static str, Probes>>,
}

impl RawTracepoints {
    /// `bpf_probe_register()` (after its checks).
    fn register(&self, tp: &'static str, link_id: u32, prog: &Arc<Prog>) {
        self.map.lock().entry(tp).or_default().push((link_id, prog.clone()));
    }

    /// `bpf_probe_unregister()` of the link `link_id`.
    fn unregister(&self, tp: &'static str, link_id: u32) {
        let mut map = self.map.lock();
        if let Some(list) = map.get_mut(tp) {
            list.retain(|(id, _)| *id != link_id);
            if list.is_empty() {
                map.remove(tp);
            }
        }
    }

    /// The programs attached to `tp` now (a snapshot), in run order.
    pub fn probes(&self, tp: &str) -> Vec<Arc<Prog>> {
        self.map.lock().get(tp).map(|l| l.iter().map(|(_, p)| p.clone()).collect()).unwrap_or_default()
    }
}

/// A `BPF_LINK_TYPE_RAW_TRACEPOINT` link (`struct bpf_raw_tp_link`).
#[derive(Debug)]
struct RawTpLink {
    tps: Arc<RawTracepoints>,
    tp: &'static TracepointDef,
    cookie: u64,
}

impl LinkOps for RawTpLink {
    fn link_type(&self) -> LinkType {
        LinkType::RawTracepoint
    }

    fn release(&self, link: &Link) {
        self.tps.unregister(self.tp.name, link.id);
    }

    fn fill_info(&self, _link: &Link) -> LinkInfoExtra {
        LinkInfoExtra::RawTracepoint { tp_name: self.tp.name.to_owned() }
    }

    fn show_fdinfo(&self, _link: &Link) -> Vec<(String, String)> {
        vec![("tp_name".into(), self.tp.name.into()), ("cookie".into(), self.cookie.to_string())]
    }
}

/// The tracepoint a tp_btf program was loaded for (`attach_func_name`:
/// its `btf_trace_<tp>` target without the prefix).
fn tp_btf_target(prog: &Prog) -> Option<&'static TracepointDef> {
    let btf = crate::vmlinux::shared();
    let name = btf.str_at(btf.get(prog.attach_btf_id)?.name_off);
    by_name(name.strip_prefix(super::BTF_TRACE_PREFIX)?)
}

impl Kernel {
    /// `bpf_raw_tp_link_attach()` once the tracepoint is known: the
    /// `bpf_probe_register()` check, then the link (id `id`).
    fn raw_tp_link(
        &mut self,
        id: u32,
        prog: Arc<Prog>,
        tp: &'static TracepointDef,
        cookie: u64,
    ) -> Result<Arc<Link>, Errno> {
        if prog.max_ctx_offset as usize > tp.num_args() * 8 {
            return Err(Errno::EINVAL);
        }
        let tps = self.raw_tps.clone();
        tps.register(tp.name, id, &prog);
        let attach = prog.expected_attach_type;
        Ok(Arc::new(Link::new(id, attach, prog, Box::new(RawTpLink { tps, tp, cookie }))))
    }

    /// `BPF_RAW_TRACEPOINT_OPEN` (see the module docs): the link fd.
    pub(crate) fn raw_tracepoint_open(
        &mut self,
        name: Option<&str>,
        prog_fd: i32,
        cookie: u64,
    ) -> Result<i64, Errno> {
        let prog = self.prog_from_fd(prog_fd)?;
        let tp_name: String = match prog.prog_type {
            ProgType::Tracing | ProgType::Ext | ProgType::Lsm => {
                if name.is_some() {
                    return Err(Errno::EINVAL);
                }
                if prog.prog_type == ProgType::Tracing
                    && prog.expected_attach_type == Some(AttachType::TraceRawTp)
                {
                    tp_btf_target(&prog).ok_or(Errno::ENOENT)?.name.to_owned()
                } else {
                    // bpf_tracing_prog_attach(prog, 0, 0, 0): the link
                    // types registered for BPF_LINK_CREATE (LSM: the LSM
                    // subsystem's registration, when it exists).
                    let attr = LinkCreateAttr {
                        prog_fd,
                        target_fd: 0,
                        attach_type: prog.expected_attach_type.map_or(0, |a| a.raw()),
                        flags: 0,
                        target_btf_id: 0,
                        iter_info: None,
                        iter_info_len: 0,
                    };
                    return self.link_create(&attr);
                }
            }
            ProgType::RawTracepoint | ProgType::RawTracepointWritable => {
                let n = name.ok_or(Errno::EFAULT)?;
                let mut end = n.len().min(TP_NAME_MAX);
                while !n.is_char_boundary(end) {
                    end -= 1;
                }
                n[..end].to_owned()
            }
            _ => return Err(Errno::EINVAL),
        };
        let tp = by_name(&tp_name).ok_or(Errno::ENOENT)?;
        let id = self.objects.links.alloc()?;
        let link = self.raw_tp_link(id, prog, tp, cookie)?;
        self.objects.links.publish(id, &link);
        let fd = self.install_fd(Obj::Link(link))?;
        Ok(i64::from(fd))
    }
}

/// `link_create()` of a tp_btf program (`BPF_TRACE_RAW_TP`).
#[derive(Debug)]
struct TpBtfLinkCreator;

impl LinkCreator for TpBtfLinkCreator {
    fn create(&self, k: &mut Kernel, req: LinkReq<'_>) -> Result<Arc<Link>, Errno> {
        if req.prog.expected_attach_type != Some(req.attach_type) {
            return Err(Errno::EINVAL);
        }
        let tp = tp_btf_target(&req.prog).ok_or(Errno::ENOENT)?;
        k.raw_tp_link(req.id, req.prog, tp, 0)
    }
}

/// Registers `BPF_LINK_CREATE` of tp_btf programs.
pub fn register(k: &mut Kernel) {
    k.register_link_type(ProgType::Tracing, AttachType::TraceRawTp, Arc::new(TpBtfLinkCreator));
}
