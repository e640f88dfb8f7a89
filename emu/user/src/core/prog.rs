//! Relocating one program: the loop of libbpf's
//! `bpf_object__relocate_core` (`tools/lib/bpf/libbpf.c`) for the
//! relocations of one ELF section that fall into one program.

use bpfemu_btf::Btf;
use bpfemu_btf::ext::{CoreReloRec, ExtSection, INSN_SZ};
use bpfemu_isa::Insn;

use super::{CoreError, CoreRelo, Resolution, Resolver, apply};

/// One applied relocation, for `bpfemu obj show`: the relocation (its
/// `insn_idx` relative to the program) and its resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub relo: CoreRelo,
    pub res: Resolution,
}

/// Applies the relocations of `sec` whose instruction lies in the program
/// occupying instructions `[start, start + insns.len())` of the section,
/// in record order, and returns them. `relo #N` in errors is the record's
/// index in `sec`, as in libbpf. Records of other programs are skipped
/// (libbpf also skips records of eliminated weak subprograms); a record
/// whose byte offset is not a multiple of 8 is an error.
pub fn relocate_prog(
    resolver: &mut Resolver<'_>,
    local: &Btf,
    sec: &ExtSection<CoreReloRec>,
    start: usize,
    insns: &mut [Insn],
) -> Result<Vec<Applied>, CoreError> {
    let end = start.saturating_add(insns.len());
    let mut out = Vec::new();
    for (i, rec) in sec.records.iter().enumerate() {
        if !rec.insn_off.is_multiple_of(INSN_SZ) {
            return Err(CoreError::UnalignedInsnOff { relo: i, insn_off: rec.insn_off });
        }
        let idx = (rec.insn_off / INSN_SZ) as usize;
        if idx < start || idx >= end {
            continue;
        }
        let relo = CoreRelo { insn_idx: idx - start, ..CoreRelo::from_rec(i, rec, local)? };
        let res = resolver.resolve(&relo)?;
        apply(insns, &relo, &res)?;
        out.push(Applied { relo, res });
    }
    Ok(out)
}
