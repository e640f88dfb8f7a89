//! `BPF_PROG_TYPE_SYSCALL` (kernel/bpf/syscall.c `bpf_syscall_verifier_ops`):
//! the ctx is the caller's argument block (`ctx_in` of
//! `BPF_PROG_TEST_RUN`), readable and writable at any offset below
//! `U16_MAX` aligned to the access size (`syscall_prog_is_valid_access()`).
//! Helpers: `syscall_prog_func_proto()` → `tracing_prog_func_proto()` →
//! `bpf_tracing_func_proto()` (`sys_bpf`, `sys_close`,
//! `btf_find_by_name_kind` and `kallsyms_lookup_name` are not implemented;
//! `bpf_get_func_ip` is offered, then refused by the verifier: "func
//! bpf_get_func_ip#173 not supported for program type 31", `ENOTSUPP`).
//! Any return value.

use super::funcs::{Caps, tracing};
use super::scalar;
use bpfemu_verifier::env::{Access, CtxAccess, ProgTypeOps};
use bpfemu_verifier::proto::FuncProto;

/// The ctx is at most `U16_MAX` bytes.
pub const CTX_LIMIT: usize = u16::MAX as usize;

#[derive(Debug)]
pub struct Syscall {
    pub caps: Caps,
}

impl ProgTypeOps for Syscall {
    fn name(&self) -> &str {
        "syscall"
    }

    fn func_proto(&self, id: i32) -> Option<&'static FuncProto> {
        tracing(id, self.caps)
    }

    /// `bpf_get_func_ip` comes with `bpf_tracing_func_proto()`; the
    /// verifier refuses it (`check_get_func_ip()`).
    fn check_get_func_ip(&self) -> Result<(), String> {
        Err(super::tracing::get_func_ip_refused(crate::uapi::ProgType::Syscall))
    }

    fn ctx_access(&self, off: i32, size: u32, _access: Access) -> Option<CtxAccess> {
        let o = usize::try_from(off).ok().filter(|&o| o < CTX_LIMIT)?;
        let sz = size as usize;
        if sz == 0 || o % sz != 0 { None } else { scalar() }
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Access::{Read, Write};
    use bpfemu_verifier::proto::id;

    #[test]
    fn ctx() {
        let s = Syscall { caps: Caps::ROOT };
        assert!(s.ctx_access(0, 8, Read).is_some());
        assert!(s.ctx_access(0, 8, Write).is_some());
        assert!(s.ctx_access(3, 1, Write).is_some());
        assert!(s.ctx_access(65528, 4, Read).is_some());
        assert_eq!(s.ctx_access(65535, 1, Read), None);
        assert_eq!(s.ctx_access(4, 8, Read), None);
        assert_eq!(s.ctx_access(-1, 1, Read), None);
        assert!(s.func_proto(id::GET_CURRENT_PID_TGID).is_some());
        assert!(s.func_proto(id::LOOP).is_some());
        assert_eq!(s.return_range(), None);
    }
}
