//! Making the object's BTF loadable (libbpf's `btf_fixup_datasec()` and
//! the extern DATASEC rewrites of `bpf_object__collect_externs()`):
//!
//! - every DATASEC named after an ELF section gets that section's size,
//!   and each of its VARs the offset of the ELF symbol of the same name;
//!   VARs are then sorted by offset. A VAR without a symbol is an error
//!   naming it.
//! - `.kconfig` and `.ksyms` have no ELF section: [`super::externs`]
//!   lays them out.

use crate::elf::ElfFile;
use crate::error::{Error, Result};
use bpfemu_btf::{Btf, Kind};

/// Fixes every DATASEC of `btf` that names an ELF section.
pub fn fixup_datasecs(btf: &mut Btf, elf: &ElfFile) -> Result<()> {
    for i in 0..btf.types.len() {
        let name = btf.str_at(btf.types[i].name_off).to_owned();
        let Kind::Datasec { vars, .. } = &btf.types[i].kind else { continue };
        if name == ".kconfig" || name == ".ksyms" {
            continue;
        }
        let Some(sec) = elf.section_by_name(&name) else {
            if vars.is_empty() {
                continue;
            }
            return Err(Error::Btf(format!("DATASEC '{name}': no ELF section of that name")));
        };
        let sec_size = u32::try_from(sec.size)
            .map_err(|_| Error::Btf(format!("DATASEC '{name}': section too large")))?;
        let shndx = sec.index;
        let mut new_vars = vars.clone();
        for v in &mut new_vars {
            let Some(Kind::Var { .. }) = btf.kind(v.ty) else {
                return Err(Error::Btf(format!("DATASEC '{name}': entry [{}] is not a VAR", v.ty)));
            };
            let var_name = btf.name(v.ty);
            let sym =
                elf.symbols.iter().find(|s| s.name == var_name && usize::from(s.shndx) == shndx).ok_or_else(
                    || Error::Btf(format!("DATASEC '{name}': no ELF symbol for variable '{var_name}'")),
                )?;
            v.offset = u32::try_from(sym.value)
                .map_err(|_| Error::Btf(format!("variable '{var_name}': offset out of range")))?;
        }
        new_vars.sort_by_key(|v| v.offset);
        btf.types[i].kind = Kind::Datasec { size: sec_size, vars: new_vars };
    }
    Ok(())
}
