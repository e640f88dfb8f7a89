//! CO-RE at load and func/line info for `BPF_PROG_LOAD`: the loader's use
//! of [`crate::core`] and [`bpfemu_btf::ext`] (libbpf's
//! `bpf_object__relocate_core()` and `adjust_prog_btf_ext_info()`).
//!
//! CO-RE relocations are applied to each program's own code (entry
//! programs and `.text` subprograms alike) before subprograms are
//! appended, as libbpf does: a record's instruction is its section offset
//! minus the program's first instruction in that section. One
//! [`Resolver`] per load keeps libbpf's candidate cache. The target is the
//! kernel's BTF ([`crate::seam::Seam::vmlinux_btf`]).
//!
//! func_info and line_info records of every piece of a linked program
//! (the entry program, then each appended subprogram) are re-based to
//! the piece's position and concatenated.

use super::Object;
use super::relocate::Linked;
use crate::core::{CoreRelo, Resolution, Resolver, apply};
use crate::error::{Error, Result};
use bpfemu_btf::Btf;
use bpfemu_btf::ext::{BtfExt, FuncInfoRec, LineInfoRec, func_info_for_range, line_info_for_range};

/// One CO-RE relocation of a program, resolved or not (for `obj show`).
#[derive(Clone, Debug)]
pub struct CoreReport {
    pub prog: String,
    pub relo: CoreRelo,
    pub result: std::result::Result<Resolution, String>,
}

/// Every CO-RE relocation of the object's programs, as (program index,
/// relocation in the program's frame). Records outside any program are an
/// error naming the section.
fn relocations(obj: &Object, ext: &BtfExt, btf: &Btf) -> Result<Vec<(usize, CoreRelo)>> {
    let mut out = Vec::new();
    for sec in &ext.core_relos {
        for (i, rec) in sec.records.iter().enumerate() {
            let relo = CoreRelo::from_rec(i, rec, btf)
                .map_err(|e| Error::Section { section: sec.sec_name.clone(), msg: format!("CO-RE: {e}") })?;
            let pi = obj
                .programs
                .iter()
                .position(|p| {
                    p.section == sec.sec_name
                        && relo.insn_idx >= p.sec_insn_off
                        && relo.insn_idx < p.sec_insn_off + p.insns.len()
                })
                .ok_or_else(|| Error::Section {
                    section: sec.sec_name.clone(),
                    msg: format!("CO-RE relo #{i}: no program contains instruction {}", relo.insn_idx),
                })?;
            let local = CoreRelo { insn_idx: relo.insn_idx - obj.programs[pi].sec_insn_off, ..relo };
            out.push((pi, local));
        }
    }
    Ok(out)
}

impl Object {
    /// Resolves (without applying) every CO-RE relocation against
    /// `target`: what `bpfemu obj show` lists.
    pub fn core_relocations(&self, target: &Btf) -> Result<Vec<CoreReport>> {
        let (Some(ext), Some(btf)) = (&self.ext, &self.btf) else { return Ok(Vec::new()) };
        let mut resolver = Resolver::new(btf, target);
        Ok(relocations(self, ext, btf)?
            .into_iter()
            .map(|(pi, relo)| {
                let result = resolver.resolve(&relo).map_err(|e| e.to_string());
                CoreReport { prog: self.programs[pi].name.clone(), relo, result }
            })
            .collect())
    }

    /// Applies every CO-RE relocation of the programs that will load.
    pub(crate) fn apply_core(&mut self, target: Option<&Btf>) -> Result<()> {
        let (Some(ext), Some(btf)) = (&self.ext, &self.btf) else { return Ok(()) };
        let relos = relocations(self, ext, btf)?;
        if relos.is_empty() {
            return Ok(());
        }
        let target = target.ok_or_else(|| Error::Section {
            section: ".BTF.ext".into(),
            msg: "CO-RE relocations need the kernel's BTF, which is not available".into(),
        })?;
        let mut resolver = Resolver::new(btf, target);
        let mut patches = Vec::new();
        for (pi, relo) in relos {
            let p = &self.programs[pi];
            if !p.is_subprog && !p.autoload {
                continue;
            }
            let res = resolver
                .resolve(&relo)
                .map_err(|e| Error::Core { prog: p.name.clone(), source: Box::new(e) })?;
            patches.push((pi, relo, res));
        }
        for (pi, relo, res) in patches {
            let p = &mut self.programs[pi];
            apply(&mut p.insns, &relo, &res)
                .map_err(|e| Error::Core { prog: p.name.clone(), source: Box::new(e) })?;
        }
        Ok(())
    }

    /// The func_info and line_info records of a linked program.
    pub(crate) fn btf_ext_records(&self, linked: &Linked) -> (Vec<FuncInfoRec>, Vec<LineInfoRec>) {
        let Some(ext) = &self.ext else { return (Vec::new(), Vec::new()) };
        let mut funcs = Vec::new();
        let mut lines = Vec::new();
        for &(pi, start) in &linked.pieces {
            let p = &self.programs[pi];
            let (s, e) = (p.sec_insn_off, p.sec_insn_off + p.insns.len());
            if let Some(sec) = ext.func_info_of(&p.section) {
                funcs.extend(func_info_for_range(sec, s, e, start));
            }
            if let Some(sec) = ext.line_info_of(&p.section) {
                lines.extend(line_info_for_range(sec, s, e, start));
            }
        }
        (funcs, lines)
    }
}
