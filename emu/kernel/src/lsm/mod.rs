//! The BPF LSM (`CONFIG_BPF_LSM`, `lsm=...,bpf`), for the LSM hooks of the
//! `bpf()` syscall itself: BPF_PROG_TYPE_LSM programs (`BPF_LSM_MAC`)
//! attached to `bpf_lsm_bpf`, `bpf_lsm_bpf_map`, `bpf_lsm_bpf_prog`,
//! `bpf_lsm_bpf_map_create` and `bpf_lsm_bpf_prog_load` decide whether the
//! emulated `bpf()` commands may proceed.
//!
//! Kernel counterparts: kernel/bpf/bpf_lsm.c (the hook set
//! `bpf_lsm_hooks`, `sleepable_lsm_hooks`, `bpf_lsm_verify_prog()`,
//! `bpf_lsm_get_retval_range()`), security/security.c
//! (`security_bpf*()`: `call_int_hook()`, the first non-zero return wins)
//! and the call sites in kernel/bpf/syscall.c ([`call`]); the hooks'
//! prototypes and types are in [`crate::vmlinux::lsm`].
//!
//! A program attaches through a trampoline, as fentry does
//! ([`crate::trampoline`]): `bpf_attach_type_to_tramp()` makes an LSM
//! program on an `int` hook a `BPF_TRAMP_MODIFY_RETURN` program, so the
//! programs run newest first, each sees the previous return value in the
//! slot after the arguments, and the first non-zero return skips the nop
//! `bpf_lsm_*()` body (which returns 0) and the other programs: it is
//! what `security_bpf*()` returns.
//!
//! Not emulated: the other LSM hooks (file, inode, task, socket, ...),
//! the free and token hooks of the bpf syscall, `BPF_LSM_CGROUP`
//! (refused at load), `bpf_lsm_disabled_hooks` (none of its hooks is in
//! the emulated vmlinux), other LSMs (SELinux, ...) stacked with the BPF
//! one, inode/task/sk storage.

pub mod attr;
pub mod call;

use crate::vmlinux::lsm::{HOOKS, Hook};
use bpfemu_btf::BtfKind;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// `MAX_ERRNO` (include/linux/err.h).
pub const MAX_ERRNO: i64 = 4095;

/// The emulated hooks by the BTF id of their FUNC in vmlinux.
static IDS: LazyLock<BTreeMap<u32, &'static Hook>> = LazyLock::new(|| {
    let btf = crate::vmlinux::shared();
    HOOKS.iter().filter_map(|h| Some((btf.find_by_name_kind(h.name, BtfKind::Func)?, h))).collect()
});

/// The hook whose FUNC is `btf_id`: membership of `bpf_lsm_hooks`.
pub fn hook_by_btf_id(btf_id: u32) -> Option<&'static Hook> {
    IDS.get(&btf_id).copied()
}

/// The vmlinux BTF id of hook `name`.
pub fn btf_id_of(name: &str) -> Option<u32> {
    IDS.iter().find(|(_, h)| h.name == name).map(|(&id, _)| id)
}

/// `bpf_lsm_is_sleepable_hook()`: every emulated hook is in
/// `sleepable_lsm_hooks` (`bpf_lsm_bpf`, `_bpf_map`, `_bpf_map_create`,
/// `_bpf_prog`, `_bpf_prog_load` are).
pub fn is_sleepable_hook(btf_id: u32) -> bool {
    hook_by_btf_id(btf_id).is_some()
}

/// `bpf_lsm_get_retval_range()`: `[-MAX_ERRNO, 0]` for every emulated
/// hook (all return `int`, none is in `bool_lsm_hooks`, whose hooks
/// return 0 or 1); `None` (the kernel's `-EINVAL`) for a void hook or
/// another function.
pub fn retval_range(btf_id: u32) -> Option<(i64, i64)> {
    hook_by_btf_id(btf_id).map(|_| (-MAX_ERRNO, 0))
}

/// The address of a hook as kallsyms would list it: bpfemu places the
/// hooks of [`HOOKS`] 4 KiB apart from `KERNEL_TEXT` + 2 MiB, in table
/// order (`bpf_lsm_bpf` at 0xffffffff81201000). The test functions sit at
/// + 1 MiB ([`crate::trampoline::targets::func_ip`]).
pub fn func_ip(name: &str) -> Option<u64> {
    let i = HOOKS.iter().position(|h| h.name == name)?;
    Some(crate::trampoline::targets::KERNEL_TEXT + 0x20_0000 + 0x1000 * (i as u64 + 1))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod hook_tests {
    use super::*;

    #[test]
    fn hooks_are_in_vmlinux() {
        for h in HOOKS {
            let id = btf_id_of(h.name).unwrap();
            assert_eq!(hook_by_btf_id(id).unwrap().name, h.name);
            assert!(is_sleepable_hook(id));
            assert_eq!(retval_range(id), Some((-4095, 0)));
        }
        let f = crate::vmlinux::func_id("bpf_fentry_test1").unwrap();
        assert!(hook_by_btf_id(f).is_none());
        assert_eq!(retval_range(f), None);
        assert_eq!(func_ip("bpf_lsm_bpf"), Some(0xffff_ffff_8120_1000));
    }
}
