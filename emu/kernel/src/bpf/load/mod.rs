//! The `BPF_PROG_LOAD` pipeline (kernel/bpf/syscall.c `bpf_prog_load()`
//! and the parts of kernel/bpf/verifier.c `bpf_check()` it runs), one
//! module per step:
//!
//! ```text
//! attrs::check ─► relocate ─► check::structural ─► tag::calc_tag ─► id + fd
//!  (flags, size,   (ld_imm64     (verifier stand-in,   (SHA-1 of the
//!   type, name,     map fds →     builds the image)     original insns)
//!   license)        addresses)
//! ```
//!
//! What is not emulated yet: the verifier proper (see [`check`]), ctx
//! rewrites (`convert_ctx_accesses`), helper fix-ups beyond the
//! interpreter's id table, BTF (`prog_btf_fd`, func/line info are
//! ignored), attach targets (`attach_btf_id`, `attach_prog_fd`), offload
//! (`prog_ifindex`), BPF tokens.

pub mod attrs;
pub mod check;
pub mod log;
pub mod relocate;
pub mod tag;

use super::attr::ProgLoadAttr;
use super::objects::Obj;
use super::prog::{Prog, ProgParts};
use crate::errno::Errno;
use crate::kernel::Kernel;
use log::VLog;
use std::sync::Arc;

impl Kernel {
    /// `BPF_PROG_LOAD`: the new program's fd.
    pub(crate) fn load_prog(&mut self, attr: ProgLoadAttr<'_>) -> Result<i64, Errno> {
        let checked = attrs::check(&attr)?;
        let mut log = VLog::for_prog(attr.log, attr.log_level, attr.log_size)?;
        let relocated = self.relocate(attr.insns, attr.fd_array, &mut log)?;
        let image = check::structural(&relocated.xlated, &mut log)?;
        log.finish()?;
        let tag = tag::calc_tag(attr.insns);
        let uid = self.sim.procs.get(self.user).map_or(0, |t| t.uid_gid() as u32);
        let id = self.objects.progs.alloc()?;
        let prog = Arc::new(Prog::new(
            id,
            ProgParts {
                prog_type: checked.prog_type,
                expected_attach_type: checked.expected_attach_type,
                name: checked.name,
                tag,
                gpl_compatible: checked.gpl_compatible,
                insns: attr.insns.to_vec(),
                xlated: relocated.xlated,
                image: Arc::new(image),
                used_maps: relocated.used_maps,
                load_time: self.sim.clock.boot_ns(),
                uid,
                btf_id: 0,
                verified: false,
            },
        ));
        self.objects.progs.publish(id, &prog);
        let fd = self.install_fd(Obj::Prog(prog))?;
        Ok(i64::from(fd))
    }
}
