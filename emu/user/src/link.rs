//! Attaching programs: [`Link`] (libbpf's `struct bpf_link`,
//! `bpf_program__attach_*()`, `bpf_link__detach()`, `bpf_link__destroy()`,
//! `bpf_link__disconnect()`, `bpf_link__pin()` in `src/libbpf.c`).
//!
//! Every attach is a `BPF_LINK_CREATE` through the seam (raw
//! tracepoints: `BPF_RAW_TRACEPOINT_OPEN`); what the kernel does not
//! support yet answers its errno (kept in [`Error::Sys`]).
//! Attach styles that need perf events or tracefs (kprobe, uprobe,
//! tracepoint, USDT, multi-kprobe) are not emulated: `EOPNOTSUPP`.

use crate::error::{Error, Result};
use crate::program::Program;
use crate::seam::Seam;
use crate::sec_def::AutoAttach;
use bpfemu_kernel::bpf::attr::{BpfAttr, LinkCreateAttr};
use bpfemu_kernel::errno::Errno;

/// An attachment (a kernel link), owned by user space through its fd.
#[derive(Debug)]
pub struct Link {
    fd: Option<i32>,
    disconnected: bool,
    pin_path: Option<String>,
    /// A plain `.struct_ops` registration: `fd` is the object's map fd,
    /// and detaching deletes the map's element instead of closing.
    st_ops_map: bool,
}

impl Link {
    /// Wraps a link fd (`bpf_link__open()` of an fd the caller owns).
    pub fn from_fd(fd: i32) -> Link {
        Link { fd: Some(fd), disconnected: false, pin_path: None, st_ops_map: false }
    }

    /// The registration of a `.struct_ops` map (no kernel link): detaching
    /// deletes its element (`bpf_link__detach_struct_ops`).
    pub fn struct_ops_map(map_fd: i32) -> Link {
        Link { fd: Some(map_fd), disconnected: false, pin_path: None, st_ops_map: true }
    }
    /// `bpf_link__fd`.
    pub fn fd(&self) -> Option<i32> {
        self.fd
    }
    /// `bpf_link__pin_path`.
    pub fn pin_path(&self) -> Option<&str> {
        self.pin_path.as_deref()
    }
    /// Whether [`Link::disconnect`] was called.
    pub fn is_disconnected(&self) -> bool {
        self.disconnected
    }

    fn live_fd(&self) -> Result<i32> {
        self.fd.ok_or_else(|| Error::sys("link", Errno::EBADF))
    }

    /// `bpf_link__detach()`: `BPF_LINK_DETACH` — the link stays open but
    /// no longer attached.
    pub fn detach(&mut self, seam: &mut impl Seam) -> Result<()> {
        let fd = self.live_fd()?;
        if self.st_ops_map {
            let key = 0u32.to_le_bytes();
            return seam
                .bpf(BpfAttr::MapDeleteElem { map_fd: fd, key: &key, flags: 0 })
                .map(|_| ())
                .map_err(|e| Error::sys("struct_ops unregister (BPF_MAP_DELETE_ELEM)", e));
        }
        seam.bpf(BpfAttr::LinkDetach { link_fd: fd })
            .map(|_| ())
            .map_err(|e| Error::sys("BPF_LINK_DETACH", e))
    }

    /// `bpf_link__disconnect()`: [`Link::destroy`] will leave the kernel
    /// link alone (its fd is not closed; the attachment lives on).
    pub fn disconnect(&mut self) {
        self.disconnected = true;
    }

    /// `bpf_link__destroy()`: closes the fd (which detaches a link that
    /// nothing else holds) unless disconnected.
    pub fn destroy(mut self, seam: &mut impl Seam) -> Result<()> {
        if self.st_ops_map {
            return if self.disconnected { Ok(()) } else { self.detach(seam) };
        }
        match self.fd.take() {
            Some(fd) if !self.disconnected => seam.close(fd).map_err(|e| Error::sys("close(link)", e)),
            _ => Ok(()),
        }
    }

    /// `bpf_link__pin()`: `BPF_OBJ_PIN` at `path` (`EBUSY` if already
    /// pinned).
    pub fn pin(&mut self, seam: &mut impl Seam, path: &str) -> Result<()> {
        if self.pin_path.is_some() {
            return Err(Error::sys("bpf_link__pin", Errno::EBUSY));
        }
        let fd = self.live_fd()?;
        seam.bpf(BpfAttr::ObjPin { bpf_fd: fd, pathname: path, file_flags: 0 })
            .map_err(|e| Error::sys(format!("BPF_OBJ_PIN {path}"), e))?;
        self.pin_path = Some(path.to_owned());
        Ok(())
    }

    /// `bpf_iter_create()`: `BPF_ITER_CREATE` of this iterator link; the
    /// new iterator fd (read it with `Kernel::iter_read`).
    pub fn iter_create(&self, seam: &mut impl Seam) -> Result<i32> {
        let fd = self.live_fd()?;
        seam.bpf(BpfAttr::IterCreate { link_fd: fd, flags: 0 })
            .map(|f| f as i32)
            .map_err(|e| Error::sys("BPF_ITER_CREATE", e))
    }

    /// `bpf_link__update_program()`: `BPF_LINK_UPDATE`.
    pub fn update_program(&mut self, seam: &mut impl Seam, prog: &Program) -> Result<()> {
        let fd = self.live_fd()?;
        let new = prog_fd(prog)?;
        seam.bpf(BpfAttr::LinkUpdate { link_fd: fd, new_prog_fd: new, flags: 0, old_prog_fd: 0 })
            .map(|_| ())
            .map_err(|e| Error::sys("BPF_LINK_UPDATE", e))
    }
}

fn prog_fd(p: &Program) -> Result<i32> {
    p.fd().ok_or_else(|| Error::Program {
        prog: p.name().to_owned(),
        msg: "can't attach BPF program without FD (was it loaded?)".into(),
    })
}

impl Program {
    /// `bpf_link_create()` with an explicit target fd and attach type.
    pub fn attach_link(
        &self,
        seam: &mut impl Seam,
        target_fd: i32,
        attach_type: u32,
        flags: u32,
    ) -> Result<Link> {
        let fd = prog_fd(self)?;
        let attr = LinkCreateAttr {
            prog_fd: fd,
            target_fd,
            attach_type,
            flags,
            target_btf_id: 0,
            iter_info: None,
            iter_info_len: 0,
        };
        seam.bpf(BpfAttr::LinkCreate(attr))
            .map(|l| Link::from_fd(l as i32))
            .map_err(|e| Error::sys(format!("prog '{}': BPF_LINK_CREATE", self.name()), e))
    }

    /// `bpf_program__attach_netns()`: flow dissector and sk_lookup
    /// programs, on the network namespace `netns_fd`, with the program's
    /// expected attach type.
    pub fn attach_netns(&self, seam: &mut impl Seam, netns_fd: i32) -> Result<Link> {
        self.attach_link(seam, netns_fd, self.expected_attach_type(), 0)
    }

    /// `bpf_program__attach_cgroup()`.
    pub fn attach_cgroup(&self, seam: &mut impl Seam, cgroup_fd: i32) -> Result<Link> {
        self.attach_link(seam, cgroup_fd, self.expected_attach_type(), 0)
    }

    /// `bpf_program__attach_trace()` / `attach_lsm()`: fentry, fexit,
    /// fmod_ret, tp_btf, lsm — a link on the BTF target given at load.
    pub fn attach_trace(&self, seam: &mut impl Seam) -> Result<Link> {
        self.attach_link(seam, 0, self.expected_attach_type(), 0)
    }

    /// `bpf_program__attach_iter()` without options: `BPF_LINK_CREATE`
    /// with `BPF_TRACE_ITER` and no link info (`iter/<target>` sections;
    /// the `bpf_map` target takes none).
    pub fn attach_iter(&self, seam: &mut impl Seam) -> Result<Link> {
        self.attach_link(seam, 0, crate::sec_def::TRACE_ITER, 0)
    }

    /// `bpf_program__attach_raw_tracepoint()`: `BPF_RAW_TRACEPOINT_OPEN`
    /// of tracepoint `tp_name` (raw_tracepoint programs).
    pub fn attach_raw_tracepoint(&self, seam: &mut impl Seam, tp_name: &str) -> Result<Link> {
        let prog_fd = prog_fd(self)?;
        seam.bpf(BpfAttr::RawTracepointOpen { name: Some(tp_name), prog_fd, cookie: 0 })
            .map(|l| Link::from_fd(l as i32))
            .map_err(|e| Error::sys(format!("prog '{}': BPF_RAW_TRACEPOINT_OPEN", self.name()), e))
    }

    /// `bpf_program__attach()`: attaches as the section says (the
    /// definition's `attach_fn`). Sections without an automatic attach
    /// answer `EOPNOTSUPP`, as libbpf does; so do those needing perf
    /// events or tracefs, which the emulator lacks. `raw_tp/NAME` (and
    /// `raw_tracepoint/`, `.w` forms) attach to tracepoint NAME
    /// (`attach_raw_tp()`); a bare `raw_tp` has no automatic attach.
    pub fn attach(&self, seam: &mut impl Seam) -> Result<Link> {
        match self.sec_def().map(|d| d.attach) {
            Some(AutoAttach::Trace | AutoAttach::Lsm) => self.attach_trace(seam),
            Some(AutoAttach::Iter) => self.attach_iter(seam),
            Some(AutoAttach::RawTracepoint) if raw_tp_name(self.section()).is_some() => {
                let name = raw_tp_name(self.section()).unwrap_or_default().to_owned();
                self.attach_raw_tracepoint(seam, &name)
            }
            _ => Err(Error::sys(
                format!("prog '{}': auto-attach of section '{}'", self.name(), self.section()),
                Errno::EOPNOTSUPP,
            )),
        }
    }
}

/// `attach_raw_tp()`: the tracepoint name after `raw_tp/`,
/// `raw_tracepoint/`, `raw_tp.w/` or `raw_tracepoint.w/`; `None` for a
/// bare prefix (no automatic attach) or another section.
fn raw_tp_name(section: &str) -> Option<&str> {
    ["raw_tp", "raw_tracepoint", "raw_tp.w", "raw_tracepoint.w"]
        .iter()
        .find_map(|p| section.strip_prefix(p).and_then(|rest| rest.strip_prefix('/')))
}

#[cfg(test)]
mod raw_tp_tests {
    #[test]
    fn raw_tp_section_names() {
        use super::raw_tp_name;
        assert_eq!(raw_tp_name("raw_tp/bpf_test_finish"), Some("bpf_test_finish"));
        assert_eq!(raw_tp_name("raw_tracepoint/sched_switch"), Some("sched_switch"));
        assert_eq!(raw_tp_name("raw_tp.w/x"), Some("x"));
        assert_eq!(raw_tp_name("raw_tracepoint.w/y"), Some("y"));
        assert_eq!(raw_tp_name("raw_tp"), None);
        assert_eq!(raw_tp_name("raw_tpx/z"), None);
        assert_eq!(raw_tp_name("tp_btf/bpf_test_finish"), None);
    }
}
