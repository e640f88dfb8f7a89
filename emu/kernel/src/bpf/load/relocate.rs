//! Step 2 of `BPF_PROG_LOAD`: `ld_imm64` pseudo sources → plain constants
//! (`resolve_pseudo_ldimm64()` in kernel/bpf/verifier.c), collecting the
//! maps the program uses (`used_maps`).
//!
//! - `BPF_PSEUDO_MAP_FD` / `BPF_PSEUDO_MAP_IDX` (map by fd, or by index
//!   into `fd_array`) become the map's address ([`Map::addr`]);
//! - `BPF_PSEUDO_MAP_VALUE` / `BPF_PSEUDO_MAP_IDX_VALUE` become the
//!   address of the value at the offset in the second slot's `imm`
//!   ([`crate::map::MapOps::direct_value_addr`]).
//!
//! - `BPF_PSEUDO_FUNC` (`r2 = subprog[+N]`: a callback at slot `i + imm +
//!   1` for the load at slot `i`, as for bpf2bpf calls) becomes a callback token
//!   naming the absolute slot ([`bpfemu_vm::callback_token`]); the kernel
//!   loads the subprogram's address after JIT (`PTR_TO_FUNC`). The target
//!   must be inside the program ("call to invalid destination"); that it
//!   starts a subprogram is the verifier's to check.
//!
//! The relocated instruction keeps `src_reg = 0`, so the image builder
//! ([`bpfemu_vm::Program::new`]) sees an ordinary 64-bit constant.
//!
//! - `BPF_PSEUDO_BTF_ID` (`__ksym` variables and function addresses,
//!   `check_pseudo_btf_id()`): the id is looked up in vmlinux BTF (or in
//!   the BTF object whose fd the second slot's `imm` holds: not a BTF fd is
//!   "invalid module BTF object FD specified.", `EINVAL`); no such id:
//!   "ldimm64 insn specifies invalid btf_id N." (`ENOENT`); neither VAR
//!   nor FUNC: "pseudo btf_id N in ldimm64 isn't KIND_VAR or KIND_FUNC"
//!   (`EINVAL`). The emulated kernel has no kernel symbols (its BTF has no
//!   VAR, FUNC or DATASEC and there is no kallsyms), so a VAR or FUNC of a
//!   user BTF ends with "ldimm64 failed to find the address for kernel
//!   symbol 'NAME'." (`ENOENT`), as a missing symbol does in the kernel;
//!   the `PTR_TO_BTF_ID` / `PTR_TO_MEM` typing of a found symbol is
//!   therefore not emulated.

use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::map::Map;
use crate::uapi::MapType;
use bpfemu_isa::Insn;
use bpfemu_verifier::env::{PseudoKind, PseudoLoad};
use bpfemu_verifier::log::VerifierLog;
use std::sync::Arc;

/// `BPF_LD | BPF_IMM | BPF_DW`.
const LD_IMM64: u8 = 0x18;
pub const BPF_PSEUDO_MAP_FD: u8 = 1;
pub const BPF_PSEUDO_MAP_VALUE: u8 = 2;
pub const BPF_PSEUDO_BTF_ID: u8 = 3;
pub const BPF_PSEUDO_FUNC: u8 = 4;
pub const BPF_PSEUDO_MAP_IDX: u8 = 5;
pub const BPF_PSEUDO_MAP_IDX_VALUE: u8 = 6;

/// `MAX_USED_MAPS`: the most distinct maps one program may use.
pub const MAX_USED_MAPS: usize = 64;
/// `BPF_MAX_VAR_OFF`: direct value offsets must stay below this.
const BPF_MAX_VAR_OFF: u32 = 1 << 29;

/// The relocated program, the maps it uses (deduplicated, in order of
/// first use), and what each pseudo `ld_imm64` referred to (by slot, in
/// order; map indexes point into `used_maps`) for the verifier.
#[derive(Debug)]
pub struct Relocated {
    pub xlated: Vec<Insn>,
    pub used_maps: Vec<Arc<Map>>,
    pub pseudo: Vec<PseudoLoad>,
}

impl Kernel {
    /// Resolves every pseudo `ld_imm64` of `insns`. Errors (with the
    /// verifier's log line):
    /// - a `ld_imm64` without a well-formed second slot: `EINVAL`
    ///   ("invalid bpf_ld_imm64 insn");
    /// - an unknown pseudo source, or a map load with a non-zero second
    ///   `imm`: `EINVAL` ("unrecognized bpf_ld_imm64 insn");
    /// - BTF id pseudo sources: see the module doc (`ENOENT` or `EINVAL`);
    /// - a function whose target is outside the program: `EINVAL`;
    /// - `*_IDX` without an `fd_array`: `EPROTO`; index outside it: `EFAULT`
    ///   (the kernel's failed copy from user memory);
    /// - an fd that is not open: `EBADF`; open but not a map: `EINVAL`;
    /// - a value offset the map refuses: `EINVAL`;
    /// - more than [`MAX_USED_MAPS`] maps: `E2BIG`;
    /// - a sleepable program using a map type sleepable programs may not
    ///   use: `EINVAL` ([`sleepable_may_use`]).
    pub(crate) fn relocate(
        &self,
        insns: &[Insn],
        fd_array: &[i32],
        sleepable: bool,
        log: &mut VerifierLog,
    ) -> Result<Relocated, Errno> {
        let mut xlated = insns.to_vec();
        let mut used_maps: Vec<Arc<Map>> = Vec::new();
        let mut pseudo = Vec::new();
        let mut i = 0;
        while i < xlated.len() {
            if xlated[i].code != LD_IMM64 {
                i += 1;
                continue;
            }
            let next = xlated.get(i + 1).copied();
            let Some(second) = next.filter(|n| n.code == 0 && n.dst == 0 && n.src == 0 && n.off == 0) else {
                log.line("invalid bpf_ld_imm64 insn");
                return Err(Errno::EINVAL);
            };
            let first = xlated[i];
            match first.src {
                0 => {
                    i += 2;
                    continue;
                }
                BPF_PSEUDO_BTF_ID => {
                    return Err(self.check_pseudo_btf_id(first.imm as u32, second.imm, log));
                }
                BPF_PSEUDO_FUNC => {
                    let target = i as i64 + 1 + i64::from(first.imm);
                    if second.imm != 0 || target < 0 || target >= xlated.len() as i64 {
                        log.line("call to invalid destination");
                        return Err(Errno::EINVAL);
                    }
                    let token = bpfemu_vm::callback_token(target as u32);
                    xlated[i] = Insn::new(first.code, first.dst, 0, first.off, token as u32 as i32);
                    xlated[i + 1] = Insn::new(0, 0, 0, 0, (token >> 32) as u32 as i32);
                    pseudo.push(PseudoLoad { slot: i, kind: PseudoKind::Func { target: target as usize } });
                    i += 2;
                    continue;
                }
                BPF_PSEUDO_MAP_VALUE | BPF_PSEUDO_MAP_IDX_VALUE => {}
                BPF_PSEUDO_MAP_FD | BPF_PSEUDO_MAP_IDX if second.imm == 0 => {}
                _ => {
                    log.line("unrecognized bpf_ld_imm64 insn");
                    return Err(Errno::EINVAL);
                }
            }
            let fd = if matches!(first.src, BPF_PSEUDO_MAP_IDX | BPF_PSEUDO_MAP_IDX_VALUE) {
                if fd_array.is_empty() {
                    log.line("fd_idx without fd_array is invalid");
                    return Err(Errno::EPROTO);
                }
                let idx = usize::try_from(first.imm).map_err(|_| Errno::EFAULT)?;
                *fd_array.get(idx).ok_or(Errno::EFAULT)?
            } else {
                first.imm
            };
            let obj = self.fd_obj(fd).inspect_err(|_| {
                log.line(&format!("fd {fd} is not pointing to valid bpf_map"));
            })?;
            let map = obj.map().inspect_err(|_| {
                log.line(&format!("fd {fd} is not pointing to valid bpf_map"));
            })?;
            let by_value = !matches!(first.src, BPF_PSEUDO_MAP_FD | BPF_PSEUDO_MAP_IDX);
            let addr = if !by_value {
                map.addr()
            } else {
                let off = second.imm as u32;
                if off >= BPF_MAX_VAR_OFF {
                    log.line(&format!("direct value offset of {off} is not allowed"));
                    return Err(Errno::EINVAL);
                }
                map.ops.direct_value_addr(off).inspect_err(|_| {
                    log.line(&format!(
                        "invalid access to map value pointer, value_size={} off={off}",
                        map.def.value_size
                    ));
                })?
            };
            let index = match used_maps.iter().position(|m| Arc::ptr_eq(m, map)) {
                Some(index) => index,
                None => {
                    if sleepable && !sleepable_may_use(map.map_type()) {
                        log.line(
                            "Sleepable programs can only use array, hash, ringbuf and local storage maps",
                        );
                        return Err(Errno::EINVAL);
                    }
                    if used_maps.len() >= MAX_USED_MAPS {
                        log.line(&format!("The program uses too many maps (max {MAX_USED_MAPS})"));
                        return Err(Errno::E2BIG);
                    }
                    used_maps.push(map.clone());
                    used_maps.len() - 1
                }
            };
            let map_idx = index as u32;
            let kind = if by_value {
                PseudoKind::MapValue { map: map_idx, off: second.imm as u32 }
            } else {
                PseudoKind::Map { map: map_idx }
            };
            pseudo.push(PseudoLoad { slot: i, kind });
            xlated[i] = Insn::new(first.code, first.dst, 0, first.off, addr as u32 as i32);
            xlated[i + 1] = Insn::new(0, 0, 0, 0, (addr >> 32) as u32 as i32);
            i += 2;
        }
        Ok(Relocated { xlated, used_maps, pseudo })
    }

    /// `check_pseudo_btf_id()`: a ksym (`__ksym` variable or function
    /// address) by BTF id, in vmlinux or in the BTF object whose fd is the
    /// second slot's `imm`. The emulated kernel has no kernel symbols
    /// (no VAR or FUNC in its BTF, no kallsyms), so every such load fails,
    /// with the kernel's message for the first check that refuses it.
    fn check_pseudo_btf_id(&self, id: u32, btf_fd: i32, log: &mut VerifierLog) -> Errno {
        let btf = if btf_fd != 0 {
            let obj = self.fd_obj(btf_fd).and_then(|o| o.btf().cloned());
            let decoded = obj.ok().and_then(|b| bpfemu_btf::decode(&b.data).ok());
            let Some(btf) = decoded else {
                log.line("invalid module BTF object FD specified.");
                return Errno::EINVAL;
            };
            std::sync::Arc::new(btf)
        } else {
            crate::vmlinux::shared()
        };
        let Some(t) = btf.get(id) else {
            log.line(&format!("ldimm64 insn specifies invalid btf_id {}.", id as i32));
            return Errno::ENOENT;
        };
        if !matches!(t.kind, bpfemu_btf::Kind::Var { .. } | bpfemu_btf::Kind::Func { .. }) {
            log.line(&format!("pseudo btf_id {} in ldimm64 isn't KIND_VAR or KIND_FUNC", id as i32));
            return Errno::EINVAL;
        }
        let name = btf.str_at(t.name_off);
        log.line(&format!("ldimm64 failed to find the address for kernel symbol '{name}'."));
        Errno::ENOENT
    }
}

/// `check_map_prog_compatibility()` (kernel/bpf/verifier.c, current
/// mainline): the map types a sleepable program may use — arrays, hashes
/// (LRU and per-CPU too), map-in-map, ring buffers, local storage, queue,
/// stack, arena, instruction arrays and prog arrays. Everything else (LPM
/// tries, bloom filters, sockmaps, perf event arrays, ...) is refused with
/// "Sleepable programs can only use array, hash, ringbuf and local storage
/// maps". (Linux 6.18 does not yet list `PROG_ARRAY`.)
pub fn sleepable_may_use(t: MapType) -> bool {
    matches!(
        t,
        MapType::Hash
            | MapType::LruHash
            | MapType::Array
            | MapType::PercpuHash
            | MapType::PercpuArray
            | MapType::LruPercpuHash
            | MapType::ArrayOfMaps
            | MapType::HashOfMaps
            | MapType::Ringbuf
            | MapType::UserRingbuf
            | MapType::InodeStorage
            | MapType::SkStorage
            | MapType::TaskStorage
            | MapType::CgrpStorage
            | MapType::Queue
            | MapType::Stack
            | MapType::Arena
            | MapType::ProgArray
    )
}
