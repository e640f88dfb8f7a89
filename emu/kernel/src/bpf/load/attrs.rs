//! Step 1 of `BPF_PROG_LOAD`: the attribute checks of `bpf_prog_load()`
//! in kernel/bpf/syscall.c, in the kernel's order — flags, instruction
//! count, program type, license, name.

use super::super::attr::ProgLoadAttr;
use crate::errno::Errno;
use crate::map::create::obj_name;
use crate::progtype::funcs::Caps;
use crate::uapi::{AttachType, ProgType};

/// `BPF_F_STRICT_ALIGNMENT` .. `BPF_F_TEST_REG_INVARIANTS` (bits 0–7).
/// `BPF_F_TOKEN_FD` (bit 16) is not emulated (no BPF tokens): `EINVAL`.
pub const PROG_FLAGS_KNOWN: u32 = 0xff;
/// `BPF_F_STRICT_ALIGNMENT` (bit 0): check every access's alignment.
pub const BPF_F_STRICT_ALIGNMENT: u32 = 1;
/// `BPF_F_ANY_ALIGNMENT` (bit 1): never check alignment strictly.
pub const BPF_F_ANY_ALIGNMENT: u32 = 1 << 1;

/// `BPF_COMPLEXITY_LIMIT_INSNS`: the most instructions a privileged loader
/// may pass (the emulated user is root / has CAP_BPF).
pub const BPF_COMPLEXITY_LIMIT_INSNS: usize = 1_000_000;

/// What the checks extract from the attributes.
#[derive(Debug)]
pub struct Checked {
    pub prog_type: ProgType,
    pub expected_attach_type: Option<AttachType>,
    pub name: String,
    pub gpl_compatible: bool,
}

/// `license_is_gpl_compatible()` (include/linux/license.h).
pub fn license_is_gpl_compatible(license: &str) -> bool {
    matches!(
        license,
        "GPL" | "GPL v2" | "GPL and additional rights" | "Dual BSD/GPL" | "Dual MIT/GPL" | "Dual MPL/GPL"
    )
}

/// `bpf_prog_load_check_attach()`: the expected attach types some program
/// types require — cgroup_skb ingress or egress, sk_lookup `BPF_SK_LOOKUP`,
/// sk_reuseport select or select-or-migrate, netfilter `BPF_NETFILTER`,
/// none (0) for syscall and ext programs.
pub fn attach_type_ok(prog_type: ProgType, expected_attach_type: u32) -> bool {
    let eat = AttachType::from_raw(expected_attach_type);
    match prog_type {
        ProgType::CgroupSkb => {
            matches!(eat, Some(AttachType::CgroupInetIngress | AttachType::CgroupInetEgress))
        }
        ProgType::SkLookup => eat == Some(AttachType::SkLookup),
        ProgType::SkReuseport => {
            matches!(eat, Some(AttachType::SkReuseportSelect | AttachType::SkReuseportSelectOrMigrate))
        }
        ProgType::Netfilter => eat == Some(AttachType::Netfilter),
        ProgType::Syscall | ProgType::Ext => expected_attach_type == 0,
        _ => true,
    }
}

/// Runs the checks.
///
/// - unknown `prog_flags` bits: `EINVAL`;
/// - no instructions, or more than [`BPF_COMPLEXITY_LIMIT_INSNS`] (a loader
///   with `CAP_BPF`) or `BPF_MAXINSNS` (4096, a loader without): `E2BIG`
///   (the kernel tests all in one condition, kernel/bpf/syscall.c
///   `bpf_prog_load()`);
/// - a loader without `CAP_BPF` may only load socket filters and cgroup skb
///   programs: `EPERM` (every other type needs `CAP_BPF`, and the emulated
///   loader either has every capability or none, so the further
///   `CAP_NET_ADMIN` / `CAP_PERFMON` tests of `bpf_prog_load()` refuse
///   nothing more);
/// - unknown or `UNSPEC` program type (`find_prog_type()`): `EINVAL`;
/// - an expected attach type the program type does not take
///   ([`attach_type_ok`]): `EINVAL`;
/// - a name `bpf_obj_name_cpy()` refuses: `EINVAL`.
///
/// The license is copied up to its first NUL (`strncpy_from_bpfptr`, 128
/// bytes); an unknown license is not an error, it only makes the program
/// non-GPL (GPL-only helpers are then refused by the verifier).
pub fn check(attr: &ProgLoadAttr<'_>, caps: Caps) -> Result<Checked, Errno> {
    if attr.prog_flags & !PROG_FLAGS_KNOWN != 0 {
        return Err(Errno::EINVAL);
    }
    let max_insns = if caps.bpf { BPF_COMPLEXITY_LIMIT_INSNS } else { bpfemu_isa::opcode::BPF_MAXINSNS };
    if attr.insns.is_empty() || attr.insns.len() > max_insns {
        return Err(Errno::E2BIG);
    }
    let unpriv_ok = [ProgType::SocketFilter.raw(), ProgType::CgroupSkb.raw()];
    if !caps.bpf && !unpriv_ok.contains(&attr.prog_type) {
        return Err(Errno::EPERM);
    }
    let prog_type = match ProgType::from_raw(attr.prog_type) {
        None | Some(ProgType::Unspec) => return Err(Errno::EINVAL),
        Some(t) => t,
    };
    if !attach_type_ok(prog_type, attr.expected_attach_type) {
        return Err(Errno::EINVAL);
    }
    let license = attr.license.split('\0').next().unwrap_or("");
    let license = if license.len() > 127 { &license[..license.floor_char_boundary(127)] } else { license };
    let name = obj_name(attr.prog_name)?;
    Ok(Checked {
        prog_type,
        expected_attach_type: AttachType::from_raw(attr.expected_attach_type),
        name,
        gpl_compatible: license_is_gpl_compatible(license),
    })
}
