//! The `BPF_PROG_LOAD` pipeline (kernel/bpf/syscall.c `bpf_prog_load()`
//! and kernel/bpf/verifier.c `bpf_check()`), one module per step:
//!
//! ```text
//! attrs::check ─► log ─► progtype::check_load ─► btf_info ─► relocate ─► verify ─► image ─► tag ─► id + fd
//!  (flags, size,         (attach targets,        (prog_btf_fd, (ld_imm64    (the      (bpfemu_vm
//!   type, name,           sleepable, type         func/line    map fds →    verifier)  ::Program)
//!   license)              supported)              info)        addresses)
//! ```
//!
//! The log is the verifier crate's [`VerifierLog`]: its attributes are
//! checked first (`EINVAL`), and whatever the outcome the caller's buffer
//! receives the kept text (rotating, or the beginning with
//! `BPF_LOG_FIXED`), and `log_true_size` the size it needed. A log that
//! did not fit fails the load with `ENOSPC`, whatever happened before, as
//! `bpf_vlog_finalize()`'s error replaces `bpf_check()`'s.
//!
//! Privileges ([`VerifyOptions`]): a root loader (uid 0) is `bpf_capable`
//! and may leak pointers (`CAP_BPF` + `CAP_PERFMON`); anyone else has
//! neither. `BPF_F_SLEEPABLE` makes the program sleepable.
//!
//! `prog_flags` that tune the verifier (`BPF_F_STRICT_ALIGNMENT`,
//! `BPF_F_ANY_ALIGNMENT`, `BPF_F_TEST_RND_HI32`, `BPF_F_TEST_STATE_FREQ`,
//! `BPF_F_TEST_REG_INVARIANTS`, `BPF_F_XDP_HAS_FRAGS`,
//! `BPF_F_XDP_DEV_BOUND_ONLY`) are accepted and have no effect, except
//! `BPF_F_STRICT_ALIGNMENT` (unless `BPF_F_ANY_ALIGNMENT` is set too), which
//! the verifier honours. A loader without `CAP_BPF` meets
//! `bpf_prog_load()`'s limits ([`attrs::check`]): socket filters and cgroup
//! skb programs only, at most `BPF_MAXINSNS` instructions.
//!
//! After verification, [`rewrite`] converts ctx accesses
//! (`convert_ctx_accesses()`) and [`fixups`] turns `bpf_get_func_ret` of
//! fentry programs into `r0 = -EOPNOTSUPP` (`do_misc_fixups()`). What is
//! not emulated yet: the other rewrites after verification (helper
//! fix-ups beyond the interpreter's id table; inlining),
//! CO-RE relocations passed to the kernel (`core_relos`), tracing programs
//! with attach targets in BPF programs (`attach_prog_fd` of a program:
//! refused; vmlinux FUNCs by `attach_btf_id` are resolved,
//! [`progtype::attach`]), offload (`prog_ifindex`), BPF tokens.
//!
//! Extensions (`BPF_PROG_TYPE_EXT` with `attach_prog_fd` of a program):
//! the function is resolved after the program's BTF is read
//! ([`progtype::ext::check_ext_target`]); the program is verified and its
//! ctx accesses converted as the target's type, with the target's
//! expected attach type, its main function from its prototype
//! (`VerifyOptions::extension`). Every program keeps its func_info facts
//! ([`super::prog::FuncBtf`]) for extensions of it.

pub mod attrs;
pub mod btf_info;
pub mod fixups;
pub mod log;
pub mod relocate;
pub mod rewrite;
pub mod static_func_info;
pub mod tag;
pub mod verify;

use super::attr::ProgLoadAttr;
use super::objects::Obj;
use super::prog::{BtfCounts, ExtDst, FuncAux, FuncBtf, Prog, ProgParts};
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::progtype::ext::{ExtProg, ExtTarget, TargetProg};
use crate::progtype::{self, AttachFd, Caps, LoadTarget};
use crate::uapi::ProgType;
use attrs::Checked;
use bpfemu_verifier::env::VerifyOptions;
use bpfemu_verifier::log::{COMPLEXITY_LIMIT_INSNS, VerifierLog};
use bpfemu_vm::Program;
use btf_info::ProgBtf;
use std::sync::Arc;

/// `BPF_F_SLEEPABLE`.
pub const BPF_F_SLEEPABLE: u32 = 1 << 4;

/// The `prog_flags` a loader passes for a program of `prog_type` unless
/// told otherwise: `BPF_F_SLEEPABLE` for syscall programs, which the
/// kernel requires ("Syscall programs can only be sleepable",
/// `check_attach_btf_id()`) and libbpf sets for `SEC("syscall")`; 0 for
/// the others. Scenario `prog` statements, `bpfemu verify` and tests use it.
pub fn default_prog_flags(prog_type: crate::uapi::ProgType) -> u32 {
    if prog_type == crate::uapi::ProgType::Syscall { BPF_F_SLEEPABLE } else { 0 }
}

impl Kernel {
    /// `BPF_PROG_LOAD`: the new program's fd.
    pub(crate) fn load_prog(&mut self, mut attr: ProgLoadAttr<'_>) -> Result<i64, Errno> {
        let checked = attrs::check(&attr, self.loader_caps())?;
        // bpf_prog_load_check_attach() (no log), then
        // security_bpf_prog_load(): after the attr checks, before
        // bpf_check() (so before the log attributes are looked at).
        let target = LoadTarget {
            prog_type: checked.prog_type,
            expected_attach_type: checked.expected_attach_type,
            expected_attach_raw: attr.expected_attach_type,
            attach_btf_id: attr.attach_btf_id,
            attach_fd: self.attach_fd(attr.attach_prog_fd),
            sleepable: attr.prog_flags & BPF_F_SLEEPABLE != 0,
            gpl_compatible: checked.gpl_compatible,
        };
        progtype::check_prog_load_attach(&target).map_err(|r| r.errno)?;
        let prog_img = crate::lsm::attr::prog_image(
            attr.prog_type,
            attr.expected_attach_type,
            attr.insns.len() as u32,
            0,
            [0; 8],
        );
        let ret = self.security_bpf_prog_load(&prog_img, &crate::lsm::attr::prog_load_image(&attr));
        if let Some(r) = crate::lsm::call::check_nonzero(ret) {
            return r;
        }
        let mut log =
            VerifierLog::new(attr.log_level, attr.log.is_some(), attr.log_size).map_err(|_| Errno::EINVAL)?;
        let parts = self.check_prog(&attr, checked, &mut log);
        if let Some(buf) = attr.log.as_deref_mut() {
            buf.clear();
            buf.push_str(log.user_text());
        }
        if let Some(size) = attr.log_true_size.as_deref_mut() {
            *size = log.true_size();
        }
        log.finish().map_err(|_| Errno::ENOSPC)?;
        let (parts, ext_dst) = parts?;
        let id = self.objects.progs.alloc()?;
        let prog = Arc::new(Prog::new(id, parts));
        *prog.ext_dst.lock() = ext_dst;
        if self.jit_enable() {
            prog.select_runtime();
        }
        self.objects.progs.publish(id, &prog);
        self.prog_fd_check(&prog)?;
        let fd = self.install_fd(Obj::Prog(prog))?;
        Ok(i64::from(fd))
    }

    /// What `attach_prog_fd` (or `attach_btf_obj_fd`) refers to
    /// (`bpf_prog_get()`, then `btf_get_by_fd()`).
    fn attach_fd(&self, fd: i32) -> AttachFd {
        if fd == 0 {
            return AttachFd::None;
        }
        match self.fd_obj(fd) {
            Ok(Obj::Prog(_)) => AttachFd::Prog,
            Ok(Obj::Btf(b)) if b.kernel_btf => AttachFd::KernelBtf,
            Ok(Obj::Btf(_)) => AttachFd::UserBtf,
            _ => AttachFd::Invalid,
        }
    }

    /// `bpf_check_attach_target()` for an extension of `dst`.
    fn check_ext(
        &self,
        dst: &Prog,
        btf: Option<&ProgBtf>,
        btf_id: u32,
    ) -> Result<ExtTarget, progtype::Refusal> {
        let ext = ExtProg {
            btf: btf.and_then(|b| b.info.funcs.first().map(|f| (&*b.btf, f.type_id))),
            jit_requested: self.jit_enable(),
        };
        let tgt = TargetProg {
            prog_type: dst.prog_type,
            expected_attach_type: dst.expected_attach_type,
            jited: dst.jited_len() != 0,
            func_btf: dst.func_btf.as_deref(),
        };
        progtype::ext::check_ext_target(&ext, &tgt, btf_id)
    }

    /// The loading process's capabilities: root has them all.
    pub(crate) fn loader_caps(&self) -> Caps {
        let uid = self.sim.procs.get(self.user).map_or(0, |t| t.uid_gid() as u32);
        if uid == 0 { Caps::ROOT } else { Caps::NONE }
    }

    /// Everything `bpf_check()` does, then the image and the tag.
    fn check_prog(
        &self,
        attr: &ProgLoadAttr<'_>,
        checked: Checked,
        log: &mut VerifierLog,
    ) -> Result<(ProgParts, Option<ExtDst>), Errno> {
        let sleepable = attr.prog_flags & BPF_F_SLEEPABLE != 0;
        let attach_fd = self.attach_fd(attr.attach_prog_fd);
        let target = LoadTarget {
            prog_type: checked.prog_type,
            expected_attach_type: checked.expected_attach_type,
            expected_attach_raw: attr.expected_attach_type,
            attach_btf_id: attr.attach_btf_id,
            attach_fd,
            sleepable,
            gpl_compatible: checked.gpl_compatible,
        };
        let attach_target = progtype::check_load(&target).map_err(|r| {
            if !r.msg.is_empty() {
                log.line(&r.msg);
            }
            r.errno
        })?;
        if let Some(note) = attach_target.as_ref().and_then(|t| t.note.as_deref()) {
            log.line(note);
        }
        // An extension of a loaded program is verified as that program's
        // type (`resolve_prog_type()`) and takes its expected attach type
        // (`check_attach_btf_id()`).
        let dst_prog = match (checked.prog_type, attach_fd) {
            (ProgType::Ext, AttachFd::Prog) => Some(self.fd_obj(attr.attach_prog_fd)?.prog()?.clone()),
            _ => None,
        };
        let (verify_type, verify_attach) =
            dst_prog.as_ref().map_or((checked.prog_type, checked.expected_attach_type), |p| {
                (p.prog_type, p.expected_attach_type)
            });
        let caps = self.loader_caps();
        let prog_btf = self.prog_btf(
            attr.prog_btf_fd,
            (attr.func_info, attr.func_info_rec_size),
            (attr.line_info, attr.line_info_rec_size),
            verify_type,
            log,
        )?;
        let ext_target = match &dst_prog {
            Some(p) => Some(self.check_ext(p, prog_btf.as_ref(), attr.attach_btf_id).map_err(|r| {
                if !r.msg.is_empty() {
                    log.line(&r.msg);
                }
                r.errno
            })?),
            None => None,
        };
        let ops = progtype::ops_for(verify_type, verify_attach, caps, attach_target.as_ref())
            .ok_or(Errno::EINVAL)?;
        let relocated = self.relocate(attr.insns, attr.fd_array, sleepable, log)?;
        let opts = VerifyOptions {
            bpf_capable: caps.bpf,
            allow_ptr_leaks: caps.bpf && caps.perfmon,
            gpl_compatible: checked.gpl_compatible,
            sleepable,
            insn_limit: COMPLEXITY_LIMIT_INSNS,
            // bpf_check(): BPF_F_ANY_ALIGNMENT overrides BPF_F_STRICT_ALIGNMENT.
            strict_alignment: attr.prog_flags & attrs::BPF_F_STRICT_ALIGNMENT != 0
                && attr.prog_flags & attrs::BPF_F_ANY_ALIGNMENT == 0,
            has_fd_array: !attr.fd_array.is_empty(),
            extension: ext_target.is_some(),
            // bpfemu verifies as an x86-64 kernel built with
            // CONFIG_BPF_JIT_ALWAYS_ON (jit_requested whatever the engine
            // that runs the program), so both engines verify alike.
            jit_requested: true,
            nr_cpu_ids: Some(self.sim.nr_cpus()),
        };
        let btf_info = prog_btf.as_ref().map(|b| &b.info);
        let outcome = verify::run(attr.insns, &relocated, ops.as_ref(), opts, btf_info, log)?;
        let (mut relocated, slot_map) = rewrite::apply(relocated, &outcome, verify_type, log)?;
        fixups::apply(&mut relocated.xlated, verify_type, verify_attach);
        let image = Program::new(&relocated.xlated).map_err(|e| {
            log.line(&e.to_string());
            Errno::EINVAL
        })?;
        let uid = self.sim.procs.get(self.user).map_or(0, |t| t.uid_gid() as u32);
        let ext_dst =
            dst_prog.zip(ext_target.clone()).map(|(prog, target)| ExtDst { prog: Some(prog), target });
        let parts = ProgParts {
            prog_type: checked.prog_type,
            expected_attach_type: verify_attach,
            name: checked.name,
            tag: tag::calc_tag(attr.insns),
            gpl_compatible: checked.gpl_compatible,
            insns: attr.insns.to_vec(),
            xlated: relocated.xlated,
            image: Arc::new(image),
            used_maps: relocated.used_maps,
            load_time: self.sim.clock.boot_ns(),
            uid,
            btf_id: prog_btf.as_ref().map_or(0, |b| b.btf_id),
            btf_counts: prog_btf.as_ref().map_or_else(Default::default, |b| BtfCounts {
                nr_func_info: b.nr_func_info,
                func_info_rec_size: b.func_info_rec_size,
                nr_line_info: b.nr_line_info,
                line_info_rec_size: b.line_info_rec_size,
            }),
            verified: true,
            verified_insns: outcome.stats.insn_processed,
            max_ctx_offset: outcome.max_ctx_offset,
            attach_btf_id: ext_target
                .as_ref()
                .map(|t| t.btf_id)
                .or(attach_target.as_ref().map(|t| t.btf_id))
                .unwrap_or(0),
            func_btf: prog_btf.as_ref().and_then(|b| func_btf(b, ext_target.is_some(), &slot_map)),
        };
        Ok((parts, ext_dst))
    }
}

/// What a program keeps of its BTF for programs that attach to it: the
/// func_info FUNC ids and which functions' BTF is unreliable (static; a
/// global prototype `btf_prepare_func_args()` refused; a main function
/// whose prototype is not one ctx argument, `do_check_common()`, unless
/// the program is an extension, whose main function is verified from its
/// prototype).
fn func_btf(b: &ProgBtf, extension: bool, slot_map: &[usize]) -> Option<Arc<FuncBtf>> {
    use bpfemu_verifier::btf_info::SubprogArg;
    if b.info.funcs.is_empty() {
        return None;
    }
    let funcs = b
        .info
        .funcs
        .iter()
        .enumerate()
        .map(|(i, f)| FuncAux {
            type_id: f.type_id,
            slot: slot_map.get(f.insn_off as usize).copied().unwrap_or(f.insn_off as usize),
            unreliable: match &f.args {
                _ if !f.global => true,
                Err(_) => true,
                Ok(a) => i == 0 && !extension && !matches!(a.as_slice(), [SubprogArg::Ctx]),
            },
        })
        .collect();
    Some(Arc::new(FuncBtf { btf: b.btf.clone(), funcs }))
}
