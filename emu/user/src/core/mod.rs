//! CO-RE: relocating field offsets, sizes, type ids and enum values
//! recorded by clang (`__builtin_preserve_*`, `.BTF.ext` core_relo) against
//! the target (emulated kernel's vmlinux) BTF.
//!
//! Counterparts: `tools/lib/bpf/relo_core.c` (spec parsing, candidate
//! matching, value computation, instruction patching) and
//! `bpf_core_find_cands` / `bpf_core_resolve_relo` /
//! `bpf_object__relocate_core` in `tools/lib/bpf/libbpf.c`.
//!
//! Use: [`CoreRelo::from_rec`] turns a `.BTF.ext` record into a
//! relocation; [`Resolver::resolve`] (or the one-shot [`resolve`]) computes
//! a [`Resolution`]; [`apply`] patches the instruction. A [`Resolver`]
//! keeps libbpf's per-object candidate cache: candidates that fail to match
//! one relocation are dropped for later relocations of the same local
//! type, exactly as libbpf prunes its `cand_cache`.
//!
//! What matches libbpf and what does not is listed in
//! `docs/loader-core.md`.

mod calc;
mod cands;
mod compat;
mod error;
mod kind;
mod matching;
mod patch;
mod spec;
mod types;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use bpfemu_btf::Btf;
use bpfemu_btf::ext::{CoreReloRec, INSN_SZ};

pub use cands::{essential_name, find_candidates};
pub use compat::{types_are_compat, types_match};
pub use error::CoreError;
pub use kind::ReloKind;
pub use patch::{POISON_HELPER_ID, apply};

/// One CO-RE relocation, in the frame of reference of a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreRelo {
    /// Index of the record in its `.BTF.ext` section (libbpf's `relo #N`).
    pub relo_idx: usize,
    /// The instruction to patch (an index, not a byte offset).
    pub insn_idx: usize,
    /// The root type in the local (object's) BTF.
    pub type_id: u32,
    /// The access string (`"0:1:2"`).
    pub access: String,
    pub kind: ReloKind,
}

impl CoreRelo {
    /// Builds relocation `relo_idx` from its record. The instruction index
    /// is `rec.insn_off / 8`, relative to the ELF section; callers whose
    /// program starts later in the section subtract its first index.
    pub fn from_rec(relo_idx: usize, rec: &CoreReloRec, local: &Btf) -> Result<CoreRelo, CoreError> {
        if !rec.insn_off.is_multiple_of(INSN_SZ) {
            return Err(CoreError::UnalignedInsnOff { relo: relo_idx, insn_off: rec.insn_off });
        }
        let Some(kind) = ReloKind::from_u32(rec.kind) else {
            return Err(CoreError::UnknownKind {
                relo: relo_idx,
                kind: rec.kind,
                insn: rec.insn_off / INSN_SZ,
            });
        };
        let access = local
            .strings
            .get(rec.access_str_off)
            .ok_or(CoreError::BadAccessStr { relo: relo_idx, off: rec.access_str_off })?
            .to_string();
        Ok(CoreRelo {
            relo_idx,
            insn_idx: (rec.insn_off / INSN_SZ) as usize,
            type_id: rec.type_id,
            access,
            kind,
        })
    }
}

/// The outcome of resolving one relocation: what to check in the
/// instruction (`orig`) and what to put there (`new`), as libbpf's
/// `struct bpf_core_relo_res`, plus what `bpfemu obj show` prints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolution {
    /// The value computed from the local BTF (what clang put in the insn).
    pub orig: u64,
    /// The value computed from the target BTF.
    pub new: u64,
    /// Replace the instruction by `call 0xbad2310` (field / enum value
    /// not found in the target).
    pub poison: bool,
    /// Check that the instruction holds `orig` before patching.
    pub validate: bool,
    /// Local / target field sizes for load-store size adjustment (0 when
    /// not applicable).
    pub orig_sz: u32,
    pub new_sz: u32,
    /// Local / target field type ids (after modifiers and typedefs).
    pub orig_type_id: u32,
    pub new_type_id: u32,
    /// The size changed in a way a load cannot follow (signed integer,
    /// different kinds): LDX/ST/STX get poisoned instead.
    pub fail_memsz_adjust: bool,
    /// Root type id of the matching target candidate; 0 if none matched
    /// (or for `local_type_id`).
    pub target_type_id: u32,
    /// How many target types had the local type's essential name.
    pub candidates: usize,
    /// libbpf's `bpf_core_format_spec` of the local spec
    /// (`<byte_off> [7] struct task_struct.pid (0:3 @ offset 16)`).
    pub local_spec: String,
    /// The same for the matching target candidate.
    pub target_spec: Option<String>,
}

/// Resolves relocations of one object against one target BTF, caching
/// candidates per local root type like libbpf.
#[derive(Debug)]
pub struct Resolver<'a> {
    local: &'a Btf,
    target: &'a Btf,
    cands: BTreeMap<u32, Vec<u32>>,
}

impl<'a> Resolver<'a> {
    pub fn new(local: &'a Btf, target: &'a Btf) -> Self {
        Resolver { local, target, cands: BTreeMap::new() }
    }

    /// Resolves `relo` (libbpf's `bpf_core_resolve_relo` +
    /// `bpf_core_calc_relo_insn`).
    pub fn resolve(&mut self, relo: &CoreRelo) -> Result<Resolution, CoreError> {
        calc::resolve_relo(self.local, self.target, &mut self.cands, relo)
    }
}

/// Resolves one relocation with a fresh candidate cache.
pub fn resolve(local: &Btf, target: &Btf, relo: &CoreRelo) -> Result<Resolution, CoreError> {
    Resolver::new(local, target).resolve(relo)
}
