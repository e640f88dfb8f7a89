//! Step 3 of `BPF_PROG_LOAD`: the verifier (`bpf_check()` in
//! kernel/bpf/verifier.c, here [`bpfemu_verifier::check::verify`]).
//!
//! The kernel side of `struct bpf_verifier_env` is built here: a
//! [`MapInfo`] for each used map, the program type's rules
//! ([`crate::progtype`]) and the loader's privileges ([`VerifyOptions`]).
//! A rejection becomes the verifier's errno; the log holds its message.
//!
//! The verifier is given the instructions as loaded: as in the kernel,
//! where pseudo `ld_imm64` keep their `src_reg` until
//! `convert_pseudo_ld_imm64()` after verification, it recognises map and
//! function loads by their source, and learns what they refer to from
//! [`Relocated::pseudo`]. The image is built from the relocated copy.
//!
//! Map facts: `rdonly_prog` from `BPF_F_RDONLY_PROG`; the constant value
//! (`bpf_map_is_rdonly()`: read-only for programs and frozen) for array
//! maps, from element 0; map-in-map templates as `inner`. Spin lock and
//! timer offsets are unknown (maps do not keep their BTF yet).

use super::relocate::Relocated;
use crate::errno::Errno;
use crate::map::{Map, MapDef};
use crate::uapi::{BPF_F_RDONLY_PROG, MapType};
use bpfemu_isa::Insn;
use bpfemu_verifier::btf_info::ProgBtfInfo;
use bpfemu_verifier::check::{VerifyOutcome, verify};
use bpfemu_verifier::env::{MapInfo, ProgTypeOps, VerifyInput, VerifyOptions};
use bpfemu_verifier::log::VerifierLog;

/// The verifier's view of a map definition.
fn info_of(def: &MapDef) -> MapInfo {
    MapInfo {
        map_type: def.map_type.raw(),
        key_size: def.key_size,
        value_size: def.value_size,
        max_entries: def.max_entries,
        map_flags: def.map_flags,
        name: def.name.clone(),
        rdonly_prog: def.map_flags & BPF_F_RDONLY_PROG != 0,
        const_value: None,
        log_addr: 0,
        has_btf: def.btf_key_type_id != 0 || def.btf_value_type_id != 0 || def.btf_vmlinux_value_type_id != 0,
        spin_lock_off: None,
        timer_off: None,
        inner: None,
    }
}

/// A deterministic stand-in for the kernel address of the map with `id`
/// (the log of a privileged load prints it for `r1 = map[...]`): one page
/// per id in the direct-map range of x86-64.
pub fn log_addr(id: u32) -> u64 {
    0xffff_8880_0000_0000 + (u64::from(id) << 12)
}

/// The verifier's view of `map` (an entry of `env->used_maps`).
pub fn map_info(map: &Map) -> MapInfo {
    let mut info = info_of(&map.def);
    if info.rdonly_prog && map.is_frozen() && map.def.map_type == MapType::Array {
        let mut value = vec![0u8; map.def.value_size as usize];
        if map.ops.sys_lookup(&0u32.to_ne_bytes(), &mut value, 0).is_ok() {
            info.const_value = Some(value);
        }
    }
    info.log_addr = log_addr(map.id);
    info.inner = map.inner_meta.as_ref().map(|m| Box::new(info_of(m)));
    info
}

/// Verifies `insns` (as loaded) with what relocation found; the
/// outcome, or the verifier's errno.
pub fn run(
    insns: &[Insn],
    relocated: &Relocated,
    ops: &dyn ProgTypeOps,
    opts: VerifyOptions,
    btf: Option<&ProgBtfInfo>,
    log: &mut VerifierLog,
) -> Result<VerifyOutcome, Errno> {
    let maps: Vec<MapInfo> = relocated.used_maps.iter().map(|m| map_info(m)).collect();
    let input = VerifyInput { insns, pseudo: &relocated.pseudo, maps: &maps, prog_type: ops, opts, btf };
    verify(&input, log).map_err(|e| Errno::from_raw(e.errno).unwrap_or(Errno::EINVAL))
}
