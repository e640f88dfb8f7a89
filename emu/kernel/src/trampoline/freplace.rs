//! freplace links: `BPF_LINK_CREATE` of an extension program
//! (kernel/bpf/syscall.c `bpf_tracing_prog_attach()` for
//! `BPF_PROG_TYPE_EXT`, kernel/bpf/trampoline.c
//! `bpf_trampoline_link_prog()` for `BPF_TRAMP_REPLACE`).
//!
//! - the attach type must be the extension's expected attach type (its
//!   target's, taken at load), else `EINVAL`;
//! - `target_fd` and `target_btf_id` both 0: the target of the load,
//!   usable once (`dst_trampoline` is cleared by the first link; a second
//!   link without a target is `EINVAL`); both set: that program's
//!   function, checked again by `bpf_check_attach_target()` (no log)
//!   unless it is the load's target; one without the other `EINVAL`.
//!   bpfemu refuses (`EINVAL`) a new target of another program type or
//!   expected attach type than the load's: the extension was verified
//!   with that type's rules;
//! - one extension per target function (`tr->extension_prog`: `EBUSY`);
//!   fentry/fexit programs on BPF programs do not exist in bpfemu, so the
//!   kernel's other `EBUSY` (extension while fentry/fexit are linked)
//!   cannot arise;
//! - a jited target with an extension the JIT refused: `ENOTSUPP` (the
//!   kernel jits every extension).
//!
//! While linked, every run of the target calls the extension instead of
//! the function: on the JIT, the target's image is rebuilt with the
//! function entry jumping to the extension's image
//! (`bpfemu_vm::JitProgram::retarget`, the kernel's
//! `bpf_arch_text_poke()`); on the interpreter, the target's
//! [`bpfemu_vm::Program::replace`] table, consulted at bpf2bpf calls and
//! at the start of a run; the extension's maps join the maps of the
//! target's runs (helpers' map lookups, paranoid-run regions, the
//! interpreter's tail calls). Releasing the link (its last fd closed)
//! restores the function. Like tracing links, freplace links have no
//! `detach` (`EOPNOTSUPP`) and no `update_prog` (`EINVAL`). fdinfo and
//! link info: `attach_type`, `target_obj_id` (the target program's id),
//! `target_btf_id`.

use crate::bpf::attr::LinkCreateAttr;
use crate::bpf::link::{Link, LinkOps};
use crate::bpf::prog::Prog;
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::progtype::ext::{ExtProg, ExtTarget, TargetProg, check_ext_target};
use crate::uapi::{AttachType, LinkType};
use parking_lot::Mutex;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The replaced functions, as (target program id, BTF id) — the keys of
/// the kernel's `BPF_TRAMP_REPLACE` trampolines with an extension.
#[derive(Debug, Default)]
pub struct Extensions {
    replaced: Mutex<BTreeSet<(u32, u32)>>,
}

/// A `BPF_LINK_TYPE_TRACING` link of an extension.
#[derive(Debug)]
struct FreplaceLink {
    exts: Arc<Extensions>,
    ext: Arc<Prog>,
    tgt: Arc<Prog>,
    slot: usize,
    btf_id: u32,
    attach_type: u32,
}

/// Points the function entry `slot` of `tgt` at `ext` (or back at the
/// function with `None`), on the interpreter and on the JIT.
fn patch(tgt: &Prog, slot: usize, ext: Option<&Prog>) -> Result<(), Errno> {
    #[cfg(target_arch = "x86_64")]
    if let Some(j) = tgt.jited() {
        let native = match ext {
            Some(e) => Some(e.jited().ok_or(Errno::ENOTSUPP)?),
            None => None,
        };
        j.retarget(slot, native).map_err(|_| Errno::EINVAL)?;
    }
    if !tgt.image.replace(slot, ext.map(|e| e.image.clone())) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

impl LinkOps for FreplaceLink {
    fn link_type(&self) -> LinkType {
        LinkType::Tracing
    }

    fn release(&self, _link: &Link) {
        // Restoring an entry that was patched cannot fail.
        let _ = patch(&self.tgt, self.slot, None);
        self.tgt.set_linked_ext(&self.ext, false);
        self.exts.replaced.lock().remove(&(self.tgt.id, self.btf_id));
    }

    fn show_fdinfo(&self, _link: &Link) -> Vec<(String, String)> {
        vec![
            ("attach_type".into(), self.attach_type.to_string()),
            ("target_obj_id".into(), self.tgt.id.to_string()),
            ("target_btf_id".into(), self.btf_id.to_string()),
            ("cookie".into(), "0".into()),
        ]
    }
}

impl Kernel {
    /// `BPF_LINK_CREATE` of an extension (`link_create()` sends
    /// `BPF_PROG_TYPE_EXT` to `bpf_tracing_prog_attach()` before looking
    /// at link types): see the module docs.
    pub(crate) fn freplace_link(
        &mut self,
        prog: Arc<Prog>,
        id: u32,
        attr: &LinkCreateAttr,
    ) -> Result<Arc<Link>, Errno> {
        let eat = prog.expected_attach_type.map_or(0, AttachType::raw);
        if attr.attach_type != eat {
            return Err(Errno::EINVAL);
        }
        if (attr.target_fd != 0) != (attr.target_btf_id != 0) {
            return Err(Errno::EINVAL);
        }
        let mut saved = prog.ext_dst.lock();
        let (tgt, target, from_load) = if attr.target_fd != 0 {
            let tgt = self.prog_from_fd(attr.target_fd)?;
            match saved.as_ref() {
                Some(d)
                    if d.prog.as_ref().is_some_and(|p| Arc::ptr_eq(p, &tgt))
                        && d.target.btf_id == attr.target_btf_id =>
                {
                    (tgt, d.target.clone(), true)
                }
                Some(d) => {
                    let t = self.recheck_target(&prog, &tgt, attr.target_btf_id)?;
                    if (t.prog_type, t.expected_attach_type)
                        != (d.target.prog_type, d.target.expected_attach_type)
                    {
                        return Err(Errno::EINVAL);
                    }
                    (tgt, t, false)
                }
                None => return Err(Errno::EINVAL),
            }
        } else {
            match saved.as_ref().and_then(|d| d.prog.clone().map(|p| (p, d.target.clone()))) {
                Some((p, t)) => (p, t, true),
                None => return Err(Errno::EINVAL),
            }
        };
        let slot = tgt
            .func_btf
            .as_ref()
            .and_then(|f| f.funcs.get(target.subprog))
            .map(|f| f.slot)
            .ok_or(Errno::EINVAL)?;
        let exts = self.extensions.clone();
        {
            let mut replaced = exts.replaced.lock();
            if !replaced.insert((tgt.id, target.btf_id)) {
                return Err(Errno::EBUSY);
            }
            if let Err(e) = patch(&tgt, slot, Some(&prog)) {
                let _ = patch(&tgt, slot, None);
                replaced.remove(&(tgt.id, target.btf_id));
                return Err(e);
            }
        }
        tgt.set_linked_ext(&prog, true);
        if from_load && let Some(d) = saved.as_mut() {
            d.prog = None;
        }
        drop(saved);
        let ops = FreplaceLink {
            exts,
            ext: prog.clone(),
            tgt,
            slot,
            btf_id: target.btf_id,
            attach_type: attr.attach_type,
        };
        Ok(Arc::new(Link::new(id, AttachType::from_raw(eat), prog, Box::new(ops))))
    }

    /// `bpf_check_attach_target()` (no log) for a new target of an
    /// extension (the caller compares the program type and expected
    /// attach type with those it was verified as).
    fn recheck_target(&self, ext: &Prog, tgt: &Prog, btf_id: u32) -> Result<ExtTarget, Errno> {
        let own = ext.func_btf.as_ref().and_then(|f| f.funcs.first().map(|a| (&*f.btf, a.type_id)));
        let e = ExtProg { btf: own, jit_requested: self.jit_enable() };
        let t = TargetProg {
            prog_type: tgt.prog_type,
            expected_attach_type: tgt.expected_attach_type,
            jited: tgt.jited_len() != 0,
            func_btf: tgt.func_btf.as_deref(),
        };
        check_ext_target(&e, &t, btf_id).map_err(|r| r.errno)
    }
}
