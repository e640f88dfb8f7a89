//! A human-readable listing of an opened object, what `bpfemu obj show`
//! prints (in the spirit of `llvm-readelf -S` + `bpftool gen object`'s
//! view of programs and maps): sections, programs with their types and
//! attach targets, maps, externs and relocations.

use crate::elf;
use crate::map::{InitTarget, MapKind};
use crate::object::{ExternKind, Object};
use crate::program::RelocKind;
use bpfemu_kernel::uapi::{AttachType, MapType, ProgType};
use std::fmt::Write;

fn prog_type_name(t: u32) -> String {
    ProgType::from_raw(t).map_or_else(|| format!("type {t}"), |p| p.name().to_owned())
}

fn attach_type_name(t: u32) -> String {
    AttachType::from_raw(t).map_or_else(|| format!("attach type {t}"), |a| a.name().to_owned())
}

fn map_type_name(t: u32) -> String {
    MapType::from_raw(t).map_or_else(|| format!("type {t}"), |m| m.name().to_owned())
}

fn sh_type_name(t: u32) -> String {
    match t {
        0 => "NULL".into(),
        elf::SHT_PROGBITS => "PROGBITS".into(),
        elf::SHT_SYMTAB => "SYMTAB".into(),
        3 => "STRTAB".into(),
        elf::SHT_NOBITS => "NOBITS".into(),
        elf::SHT_REL => "REL".into(),
        0x6fff4c03 => "LLVM_ADDRSIG".into(),
        t => format!("{t:#x}"),
    }
}

/// The listing, without CO-RE resolutions.
pub fn describe(obj: &Object) -> String {
    describe_with_target(obj, None)
}

/// The listing; with a target BTF (the kernel's), each CO-RE relocation
/// is shown with its resolution.
pub fn describe_with_target(obj: &Object, target: Option<&bpfemu_btf::Btf>) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "object {}: license \"{}\", kern_version {:#x}",
        obj.name(),
        obj.license(),
        obj.kern_version()
    );
    let _ = writeln!(o, "sections:");
    for s in obj.elf().sections.iter().skip(1) {
        let mut flags = String::new();
        if s.flags & 0x2 != 0 {
            flags.push('A');
        }
        if s.flags & 0x1 != 0 {
            flags.push('W');
        }
        if s.flags & elf::SHF_EXECINSTR != 0 {
            flags.push('X');
        }
        let _ = writeln!(
            o,
            "  [{:2}] {:<24} {:<12} {:<3} {} bytes",
            s.index,
            s.name,
            sh_type_name(s.sh_type),
            flags,
            s.size
        );
    }
    let _ = writeln!(o, "programs:");
    for p in obj.all_programs() {
        if p.is_subprog() {
            let _ = writeln!(o, "  {} (subprogram in .text, {} insns)", p.name(), p.insns().len());
            continue;
        }
        let _ = write!(o, "  {}: section {}, {}", p.name(), p.section(), prog_type_name(p.prog_type()));
        if p.expected_attach_type() != 0 || p.sec_def().is_some_and(|d| d.expected_attach_type != 0) {
            let _ = write!(o, ", expected_attach_type {}", attach_type_name(p.expected_attach_type()));
        }
        if let Some(t) = p.attach_target() {
            let _ = write!(o, ", attach target {t}");
        }
        if p.flags() & crate::sec_def::BPF_F_SLEEPABLE != 0 {
            let _ = write!(o, ", sleepable");
        }
        if p.flags() & crate::sec_def::BPF_F_XDP_HAS_FRAGS != 0 {
            let _ = write!(o, ", xdp frags");
        }
        let _ = writeln!(o, ", {} insns", p.insns().len());
    }
    let _ = writeln!(o, "maps:");
    for m in obj.maps() {
        let d = m.def();
        let kind = match m.kind() {
            MapKind::Btf => "BTF".to_owned(),
            MapKind::Legacy => "legacy".to_owned(),
            MapKind::Data => "global data".to_owned(),
            MapKind::Rodata => "read-only global data".to_owned(),
            MapKind::Bss => "zeroed global data".to_owned(),
            MapKind::Kconfig => "kconfig externs".to_owned(),
            MapKind::StructOps => "struct_ops".to_owned(),
        };
        let _ = write!(
            o,
            "  {} ({}, kernel name {}): {}, key {}, value {}, max_entries {}, flags {:#x}",
            m.name(),
            kind,
            m.kernel_name(),
            map_type_name(d.map_type),
            d.key_size,
            d.value_size,
            d.max_entries,
            d.map_flags
        );
        if let Some(p) = m.pin_path() {
            let _ = write!(o, ", pinned at {p}");
        }
        if let Some(i) = m.inner() {
            let _ = write!(
                o,
                ", inner {} key {} value {} max_entries {}",
                map_type_name(i.def().map_type),
                i.def().key_size,
                i.def().value_size,
                i.def().max_entries
            );
        }
        if let Some(st) = obj.struct_ops().iter().find(|s| obj.maps()[s.map].name() == m.name()) {
            let _ = write!(o, ", struct {}", st.local.type_name);
            for (i, p) in st.local.progs.iter().enumerate() {
                if let Some(p) = p {
                    let _ = write!(o, ", member #{i} = prog {p}");
                }
            }
        }
        for (slot, t) in m.init_slots() {
            let target = match t {
                InitTarget::Prog(p) => format!("prog {p}"),
                InitTarget::Map(i) => format!("map {}", obj.maps()[*i].name()),
            };
            let _ = write!(o, ", [{slot}] = {target}");
        }
        o.push('\n');
    }
    if !obj.externs().is_empty() {
        let _ = writeln!(o, "externs:");
        for e in obj.externs() {
            let what = match &e.kind {
                ExternKind::Kconfig { data_off, size, .. } => {
                    format!("kconfig at .kconfig+{data_off}, {size} bytes")
                }
                ExternKind::KsymVar { typeless: true } => "ksym (typeless)".into(),
                ExternKind::KsymVar { typeless: false } => "ksym variable".into(),
                ExternKind::KsymFunc => "kfunc".into(),
            };
            let _ = writeln!(o, "  {}: {what}{}", e.name, if e.weak { " (weak)" } else { "" });
        }
    }
    let _ = writeln!(o, "relocations:");
    for p in obj.all_programs() {
        for r in p.relocs() {
            let what = match &r.kind {
                RelocKind::Map { map } => format!("map {}", obj.maps()[*map].name()),
                RelocKind::Data { map, off } => format!("data {}+{off}", obj.maps()[*map].name()),
                RelocKind::Call { sym_off } => format!("call .text+{sym_off}"),
                RelocKind::SubprogAddr { sym_off } => format!("function address .text+{sym_off}"),
                RelocKind::ExternLd { ext } => format!("extern {}", obj.externs()[*ext].name),
                RelocKind::ExternCall { ext } => format!("kfunc call {}", obj.externs()[*ext].name),
            };
            let sym = if r.sym_name.is_empty() { "(section symbol)" } else { r.sym_name.as_str() };
            let _ = writeln!(
                o,
                "  {}+{} ({} #{}): {sym} -> {what}",
                p.name(),
                r.insn_idx,
                r.rel_section,
                r.rel_index
            );
        }
    }
    if let Some(ext) = obj.ext()
        && ext.core_relos.iter().any(|s| !s.records.is_empty())
    {
        let _ = writeln!(o, "CO-RE relocations:");
        match target.map(|t| obj.core_relocations(t)) {
            None => {
                for sec in &ext.core_relos {
                    for (i, r) in sec.records.iter().enumerate() {
                        let _ = writeln!(
                            o,
                            "  {} #{i}: insn {} type [{}] kind {}",
                            sec.sec_name,
                            r.insn_off / 8,
                            r.type_id,
                            r.kind
                        );
                    }
                }
            }
            Some(Err(e)) => {
                let _ = writeln!(o, "  error: {e}");
            }
            Some(Ok(reports)) => {
                for r in reports {
                    let _ = write!(
                        o,
                        "  {}+{} #{}: {:?} {}",
                        r.prog, r.relo.insn_idx, r.relo.relo_idx, r.relo.kind, r.relo.access
                    );
                    match &r.result {
                        Ok(res) if res.poison => {
                            let _ = writeln!(
                                o,
                                ": {} -> poisoned ({} candidates)",
                                res.local_spec, res.candidates
                            );
                        }
                        Ok(res) => {
                            let _ = writeln!(
                                o,
                                ": {} -> {} (value {} -> {})",
                                res.local_spec,
                                res.target_spec.as_deref().unwrap_or("-"),
                                res.orig,
                                res.new
                            );
                        }
                        Err(e) => {
                            let _ = writeln!(o, ": error: {e}");
                        }
                    }
                }
            }
        }
    }
    for w in obj.warnings() {
        let _ = writeln!(o, "warning: {w}");
    }
    o
}
