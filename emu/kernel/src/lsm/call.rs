//! The `security_bpf*()` calls of the emulated `bpf()` (security/security.c
//! and the call sites of kernel/bpf/syscall.c):
//!
//! | hook | where | a non-zero return |
//! |---|---|---|
//! | `security_bpf(cmd, attr, size, kernel)` | `__sys_bpf()`, every command, before dispatch | negative: the command fails with it; positive: ignored (`if (err < 0)`) |
//! | `security_bpf_map_create(map, attr, token, kernel)` | `map_create()`, after the map is allocated, before its id | the command fails with it (`if (err)`) |
//! | `security_bpf_map(map, OPEN_FMODE(flags))` | `bpf_map_new_fd()`: `BPF_MAP_CREATE` (after the id), `BPF_MAP_GET_FD_BY_ID`, `BPF_OBJ_GET` of a map | negative: no fd (a new map is released, its id consumed) |
//! | `security_bpf_prog_load(prog, attr, token, kernel)` | `bpf_prog_load()`, after the attr checks and `bpf_prog_load_check_attach()`, before `bpf_check()` (and its log) | the command fails with it (`if (err)`) |
//! | `security_bpf_prog(prog)` | `bpf_prog_new_fd()`: `BPF_PROG_LOAD` (after the id), `BPF_PROG_GET_FD_BY_ID`, `BPF_OBJ_GET` of a program | negative: no fd |
//!
//! `call_int_hook()` returns the first non-zero result of the LSMs; the
//! BPF LSM is the only one here, and its hook's result is what its
//! trampoline returns ([`super`]): the first non-zero return of the
//! linked programs, 0 if there is none. The verifier keeps LSM programs'
//! returns in `[-MAX_ERRNO, 0]` on their low 32 bits, which is all the
//! `int` the caller sees, so positive results cannot happen.
//!
//! `kernel` is false: every emulated command comes from user space
//! (bpfemu has no `bpf_sys_bpf`, the only way a command is issued from a
//! program). A program running in a hook therefore cannot issue a
//! command: no helper available to LSM programs calls `bpf()`, and the
//! kernel has no recursion guard on LSM trampolines
//! (`bpf_prog_check_recur()` is false for LSM programs). `size` is
//! [`BPF_ATTR_SIZE`]: typed calls carry no user size. `token` is NULL (no
//! BPF tokens). An errno bpfemu's [`Errno`] does not list fails the
//! command with `EPERM` (deviation: the kernel returns the program's
//! value as it is).

use super::attr::{AttrImage, MapImage, ProgImage};
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::trampoline::tramp::Kind;
use crate::vmlinux::lsm::BPF_ATTR_SIZE;
use bpfemu_vm::MemRegion;

/// `OPEN_FMODE()` of a map fd's mode: `FMODE_READ` (1), `FMODE_WRITE` (2).
pub fn open_fmode(mode: crate::bpf::objects::FMode) -> u64 {
    u64::from(mode.read) | (u64::from(mode.write) << 1)
}

/// The errno of a negative hook result.
fn errno_of(ret: i32) -> Errno {
    Errno::from_raw(ret.unsigned_abs() as i32).unwrap_or(Errno::EPERM)
}

/// A hook's result as the `if (err < 0) return err;` call sites use it.
pub fn check_neg(ret: i32) -> Result<(), Errno> {
    if ret < 0 { Err(errno_of(ret)) } else { Ok(()) }
}

/// A hook's result as the `if (err) goto ...; return err;` call sites
/// use it: `Some` is the command's result (a negative errno, or a
/// positive value returned as it is).
pub fn check_nonzero(ret: i32) -> Option<Result<i64, Errno>> {
    match ret {
        0 => None,
        r if r < 0 => Some(Err(errno_of(r))),
        r => Some(Ok(i64::from(r))),
    }
}

impl Kernel {
    /// Calls hook `name` with `args` (one `u64` per argument) through its
    /// trampoline; pointer arguments point into `objs`. Its `int` result.
    fn call_lsm_hook(&mut self, name: &str, args: &[u64], objs: &[MemRegion<'_>]) -> i32 {
        let Some(tr) = super::btf_id_of(name).and_then(|id| self.trampolines.get(id)) else {
            return 0;
        };
        let n = args.len();
        let call = (super::func_ip(name).unwrap_or(0), n);
        let mut ctx = args.to_vec();
        ctx.push(0);
        // BPF_TRAMP_MODIFY_RETURN: newest first, the first non-zero
        // return skips the nop body and the rest.
        for (_, p) in &tr.progs[Kind::ModifyReturn as usize] {
            ctx[n] = self.run_tramp_prog(p, call, &ctx, objs);
            if ctx[n] != 0 {
                break;
            }
        }
        ctx[n] as u32 as i32
    }

    /// Whether hook `name` has programs linked (spares building the
    /// objects of a call nobody watches).
    fn lsm_hooked(&self, name: &str) -> bool {
        super::btf_id_of(name).is_some_and(|id| self.trampolines.get(id).is_some())
    }

    /// `security_bpf(cmd, attr, size, kernel)`.
    pub(crate) fn security_bpf(&mut self, cmd: u32, attr: impl FnOnce() -> AttrImage) -> i32 {
        if !self.lsm_hooked("bpf_lsm_bpf") {
            return 0;
        }
        let img = attr();
        let r = MemRegion::from_slice("bpf_attr", &img);
        let args = [u64::from(cmd), r.start(), BPF_ATTR_SIZE as u64, 0];
        self.call_lsm_hook("bpf_lsm_bpf", &args, &[r])
    }

    /// `security_bpf_map(map, fmode)`.
    pub(crate) fn security_bpf_map(&mut self, map: &MapImage, fmode: u64) -> i32 {
        if !self.lsm_hooked("bpf_lsm_bpf_map") {
            return 0;
        }
        let r = MemRegion::from_slice("bpf_map", map);
        let args = [r.start(), fmode];
        self.call_lsm_hook("bpf_lsm_bpf_map", &args, &[r])
    }

    /// `security_bpf_prog(prog)`.
    pub(crate) fn security_bpf_prog(&mut self, prog: &ProgImage) -> i32 {
        if !self.lsm_hooked("bpf_lsm_bpf_prog") {
            return 0;
        }
        let r = MemRegion::from_slice("bpf_prog", prog);
        let args = [r.start()];
        self.call_lsm_hook("bpf_lsm_bpf_prog", &args, &[r])
    }

    /// `security_bpf_map_create(map, attr, token, kernel)`.
    pub(crate) fn security_bpf_map_create(&mut self, map: &MapImage, attr: &AttrImage) -> i32 {
        if !self.lsm_hooked("bpf_lsm_bpf_map_create") {
            return 0;
        }
        let (m, a) = (MemRegion::from_slice("bpf_map", map), MemRegion::from_slice("bpf_attr", attr));
        let args = [m.start(), a.start(), 0, 0];
        self.call_lsm_hook("bpf_lsm_bpf_map_create", &args, &[m, a])
    }

    /// `security_bpf_prog_load(prog, attr, token, kernel)`.
    pub(crate) fn security_bpf_prog_load(&mut self, prog: &ProgImage, attr: &AttrImage) -> i32 {
        if !self.lsm_hooked("bpf_lsm_bpf_prog_load") {
            return 0;
        }
        let (p, a) = (MemRegion::from_slice("bpf_prog", prog), MemRegion::from_slice("bpf_attr", attr));
        let args = [p.start(), a.start(), 0, 0];
        self.call_lsm_hook("bpf_lsm_bpf_prog_load", &args, &[p, a])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results() {
        assert_eq!(check_neg(0), Ok(()));
        assert_eq!(check_neg(5), Ok(()));
        assert_eq!(check_neg(-1), Err(Errno::EPERM));
        assert_eq!(check_neg(-13), Err(Errno::EACCES));
        assert_eq!(check_neg(-4000), Err(Errno::EPERM));
        assert_eq!(check_nonzero(0), None);
        assert_eq!(check_nonzero(-22), Some(Err(Errno::EINVAL)));
        assert_eq!(check_nonzero(3), Some(Ok(3)));
        use crate::bpf::objects::FMode;
        assert_eq!(open_fmode(FMode::RDWR), 3);
        assert_eq!(open_fmode(FMode { read: true, write: false }), 1);
    }
}
