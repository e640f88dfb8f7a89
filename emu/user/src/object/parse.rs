//! From ELF bytes to an [`Object`]: `license`, `version`, `.BTF`,
//! programs, maps, global data, externs and relocation records
//! (libbpf's `bpf_object__elf_collect()`, `bpf_object__init_maps()`,
//! `bpf_object__init_global_data_maps()`, `bpf_object__collect_relos()`).
//!
//! Programs are the `STT_FUNC` symbols of executable sections, several per
//! section allowed; those of `.text` are subprograms, appended to the
//! programs that call them at load. An entry program must be global
//! (libbpf: "program is static and not supported"). A section that no
//! SEC() definition matches is an error naming it.
//!
//! Global data sections (`.data`, `.rodata`, `.bss`, `.data.*`,
//! `.rodata.*`) become single-element array maps, named for the kernel by
//! `internal_map_name()` (`<obj>.rodata`, the object name cut to fit 15
//! bytes; custom `.data.x` sections keep their own name).
//!
//! Relocation sections of non-program sections other than `.maps` are
//! ignored (`.BTF`, `.BTF.ext`, debug info, `.struct_ops*`, which the
//! struct_ops support reads itself).

use super::Object;
use super::btf_maps::{self, is_map_in_map};
use crate::elf::{self, ElfFile, STB_LOCAL, STT_FUNC, STT_SECTION};
use crate::error::{Error, Result};
use crate::map::{InitTarget, LIBBPF_PIN_BY_NAME, Map, MapDef, MapKind};
use crate::program::{Program, Reloc, RelocKind};
use crate::sec_def;
use bpfemu_btf::{Btf, BtfKind, Kind};
use bpfemu_isa::Insn;
use bpfemu_kernel::uapi;

/// `BPF_OBJ_NAME_LEN`.
const OBJ_NAME_LEN: usize = 16;
/// `sizeof(struct bpf_map_def)` (legacy `maps` section): type, key size,
/// value size, max entries, flags.
const LEGACY_DEF_SIZE: usize = 20;
/// The largest global data section the loader accepts (the kernel refuses
/// array values above `KMALLOC_MAX_SIZE`, 4 MiB on x86-64, anyway).
const MAX_DATA_SIZE: u32 = 64 << 20;
/// `BPF_JMP | BPF_CALL`, `BPF_LD | BPF_IMM | BPF_DW`.
pub const CALL: u8 = 0x85;
pub const LD_IMM64: u8 = 0x18;
/// `BPF_PSEUDO_CALL`.
pub const PSEUDO_CALL: u8 = 1;

/// libbpf's `internal_map_name()`: the kernel-side name of a global data
/// map.
pub fn internal_map_name(obj_name: &str, real_name: &str) -> String {
    let sfx_len = real_name.len().clamp(7, OBJ_NAME_LEN - 1);
    let pfx_len = if real_name.len() > 1 && real_name[1..].contains('.') {
        0
    } else {
        (OBJ_NAME_LEN - sfx_len - 1).min(obj_name.len())
    };
    let pfx: String = obj_name.chars().take(pfx_len).collect();
    let sfx: String = real_name.chars().take(sfx_len).collect();
    let mut s: String = format!("{pfx}{sfx}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '.' { c } else { '_' })
        .collect();
    while s.len() >= OBJ_NAME_LEN {
        s.pop();
    }
    s
}

/// `BPF_MAP_TYPE_RINGBUF`, `BPF_MAP_TYPE_USER_RINGBUF`.
const MAP_RINGBUF: u32 = 27;
const MAP_USER_RINGBUF: u32 = 31;
/// The page size of the emulated machine (x86-64).
const PAGE_SIZE: u32 = 4096;

/// libbpf's `adjust_ringbuf_sz()`: ring buffer sizes must be a power-of-2
/// number of pages; a size that is not becomes the next one that is (0
/// stays 0, for the kernel to refuse; a size no such product exceeds
/// stays as it is).
pub fn adjust_ringbuf_sz(sz: u32) -> u32 {
    if sz == 0 || (sz.is_multiple_of(PAGE_SIZE) && (sz / PAGE_SIZE).is_power_of_two()) {
        return sz;
    }
    let mut mul: u32 = 1;
    while mul <= u32::MAX / PAGE_SIZE {
        if mul * PAGE_SIZE > sz {
            return mul * PAGE_SIZE;
        }
        mul <<= 1;
    }
    sz
}

fn data_kind(name: &str) -> Option<MapKind> {
    if name == ".data" || name.starts_with(".data.") {
        Some(MapKind::Data)
    } else if name == ".rodata" || name.starts_with(".rodata.") {
        Some(MapKind::Rodata)
    } else if name == ".bss" {
        Some(MapKind::Bss)
    } else {
        None
    }
}

fn sec_err(section: &str, msg: impl Into<String>) -> Error {
    Error::Section { section: section.to_owned(), msg: msg.into() }
}

/// Parses an object.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Object> {
    let elf = ElfFile::parse(bytes)?;
    let mut warnings = Vec::new();
    let license = match elf.section_by_name("license") {
        Some(s) => {
            let end = s.data.iter().position(|&b| b == 0).unwrap_or(s.data.len());
            String::from_utf8_lossy(&s.data[..end]).into_owned()
        }
        None => String::new(),
    };
    let kern_version = match elf.section_by_name("version") {
        Some(s) => {
            let b: [u8; 4] =
                s.data.as_slice().try_into().map_err(|_| sec_err("version", "must be 4 bytes"))?;
            u32::from_le_bytes(b)
        }
        None => 0,
    };
    let mut btf = match elf.section_by_name(".BTF") {
        Some(s) => match bpfemu_btf::decode(&s.data) {
            Ok(b) => Some(b),
            Err(e) => {
                warnings.push(format!("Error loading ELF section .BTF: {e}; BTF is optional, ignoring"));
                None
            }
        },
        None => None,
    };
    if let Some(b) = btf.as_mut()
        && let Err(e) = super::btf_fixup::fixup_datasecs(b, &elf)
    {
        warnings.push(format!("BTF fix-up failed: {e}; BTF is optional, ignoring"));
        btf = None;
    }
    let btf_ext = elf.section_by_name(".BTF.ext").map(|s| s.data.clone());
    let ext = match (&btf_ext, &btf) {
        (Some(data), Some(b)) => match bpfemu_btf::ext::parse_ext(data, b) {
            Ok(e) => Some(e),
            Err(e) => {
                warnings.push(format!("Error loading ELF section .BTF.ext: {e}; ignored"));
                None
            }
        },
        _ => None,
    };
    let text_shndx = elf.sections.iter().find(|s| s.name == ".text" && s.is_code()).map(|s| s.index);

    let mut maps = Vec::new();
    let mut values_offs: Vec<Option<u32>> = Vec::new();
    collect_btf_maps(&elf, btf.as_ref(), &mut maps, &mut values_offs)?;
    collect_legacy_maps(&elf, &mut maps, &mut values_offs)?;
    collect_data_maps(&elf, btf.as_ref(), name, &mut maps, &mut values_offs)?;
    let (externs, kmap) = super::externs::collect(&elf, btf.as_mut(), name)?;
    if let Some(k) = kmap {
        maps.push(k);
        values_offs.push(None);
    }
    let mut programs = collect_programs(&elf, text_shndx)?;
    let st_ops = super::st_ops::collect(&elf, btf.as_ref(), &mut maps, &programs)?;
    values_offs.resize(maps.len(), None);
    collect_relos(&elf, text_shndx, &maps, &externs, &mut programs)?;
    collect_map_relos(&elf, &mut maps, &values_offs, &programs)?;

    Ok(Object {
        name: name.to_owned(),
        license,
        kern_version,
        elf,
        btf,
        btf_ext,
        ext,
        programs,
        maps,
        externs,
        text_shndx,
        warnings,
        btf_fd: None,
        loaded: false,
        load_attempted: false,
        st_ops,
    })
}

fn new_map(name: &str, kname: String, kind: MapKind, def: MapDef, sec_idx: usize, sec_offset: u64) -> Map {
    Map {
        name: name.to_owned(),
        kname,
        kind,
        def,
        sec_idx,
        sec_offset,
        inner: None,
        init_slots: Vec::new(),
        data: Vec::new(),
        pin_path: None,
        fd: None,
        reused: false,
    }
}

/// The kernel truncates names; libbpf passes the first 15 bytes of
/// `[A-Za-z0-9_.]` (`bpf_map__name` stays whole).
fn kernel_name(name: &str) -> String {
    let mut s: String =
        name.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.').collect();
    while s.len() >= OBJ_NAME_LEN {
        s.pop();
    }
    s
}

fn collect_btf_maps(
    elf: &ElfFile,
    btf: Option<&Btf>,
    maps: &mut Vec<Map>,
    offs: &mut Vec<Option<u32>>,
) -> Result<()> {
    let Some(sec) = elf.section_by_name(".maps") else { return Ok(()) };
    let Some(btf) = btf else {
        return Err(sec_err(".maps", "BTF-defined maps need the object's BTF (.BTF missing or invalid)"));
    };
    let ds = btf
        .find_by_name_kind(".maps", BtfKind::Datasec)
        .ok_or_else(|| sec_err(".maps", "no DATASEC '.maps' in BTF"))?;
    let Some(Kind::Datasec { vars, .. }) = btf.kind(ds) else {
        return Err(sec_err(".maps", "DATASEC lookup failed"));
    };
    for v in vars {
        let Some(Kind::Var { ty, .. }) = btf.kind(v.ty) else {
            return Err(sec_err(".maps", format!("entry [{}] is not a VAR", v.ty)));
        };
        let name = btf.name(v.ty).to_owned();
        let mut parsed = btf_maps::parse_def(btf, &name, *ty, false, 0)?;
        if matches!(parsed.def.map_type, MAP_RINGBUF | MAP_USER_RINGBUF) {
            parsed.def.max_entries = adjust_ringbuf_sz(parsed.def.max_entries);
        }
        let mut m = new_map(
            &name,
            kernel_name(&name),
            MapKind::Btf,
            parsed.def.clone(),
            sec.index,
            u64::from(v.offset),
        );
        if let Some(inner) = parsed.inner {
            let iname = format!("{name}.inner");
            let mut im = new_map(&iname, kernel_name(&iname), MapKind::Btf, inner.def, sec.index, 0);
            im.pin_path = None;
            m.inner = Some(Box::new(im));
        }
        if m.def.pinning == LIBBPF_PIN_BY_NAME {
            m.pin_path = Some(format!("/sys/fs/bpf/{name}"));
        }
        maps.push(m);
        offs.push(parsed.values_off);
    }
    Ok(())
}

fn collect_legacy_maps(elf: &ElfFile, maps: &mut Vec<Map>, offs: &mut Vec<Option<u32>>) -> Result<()> {
    let Some(sec) = elf.section_by_name("maps") else { return Ok(()) };
    let mut syms: Vec<_> = elf
        .symbols
        .iter()
        .filter(|s| usize::from(s.shndx) == sec.index && s.st_type != STT_SECTION && !s.name.is_empty())
        .collect();
    if syms.is_empty() {
        return Ok(());
    }
    syms.sort_by_key(|s| s.value);
    let def_size = sec.data.len() / syms.len();
    if def_size < LEGACY_DEF_SIZE || sec.data.len() % syms.len() != 0 {
        return Err(sec_err(
            "maps",
            format!(
                "unable to determine legacy map definition size ({} bytes, {} maps)",
                sec.data.len(),
                syms.len()
            ),
        ));
    }
    for s in syms {
        let off = usize::try_from(s.value).unwrap_or(usize::MAX);
        let raw = sec.data.get(off..off.saturating_add(def_size)).ok_or_else(|| Error::Map {
            map: s.name.clone(),
            msg: "definition outside the 'maps' section".into(),
        })?;
        if raw[LEGACY_DEF_SIZE..].iter().any(|&b| b != 0) {
            return Err(Error::Map {
                map: s.name.clone(),
                msg: "unknown non-zero fields in the legacy definition".into(),
            });
        }
        let w = |i: usize| u32::from_le_bytes([raw[i], raw[i + 1], raw[i + 2], raw[i + 3]]);
        let def = MapDef {
            map_type: w(0),
            key_size: w(4),
            value_size: w(8),
            max_entries: w(12),
            map_flags: w(16),
            ..Default::default()
        };
        maps.push(new_map(&s.name, kernel_name(&s.name), MapKind::Legacy, def, sec.index, s.value));
        offs.push(None);
    }
    Ok(())
}

fn collect_data_maps(
    elf: &ElfFile,
    btf: Option<&Btf>,
    obj: &str,
    maps: &mut Vec<Map>,
    offs: &mut Vec<Option<u32>>,
) -> Result<()> {
    for sec in &elf.sections {
        let Some(kind) = data_kind(&sec.name) else { continue };
        if sec.size == 0 || sec.is_code() {
            continue;
        }
        let size = u32::try_from(sec.size)
            .ok()
            .filter(|&s| s <= MAX_DATA_SIZE)
            .ok_or_else(|| sec_err(&sec.name, "too large for a global data map"))?;
        let mut flags = uapi::BPF_F_MMAPABLE;
        if kind == MapKind::Rodata {
            flags |= uapi::BPF_F_RDONLY_PROG;
        }
        let def = MapDef {
            map_type: 2,
            key_size: 4,
            value_size: size,
            max_entries: 1,
            map_flags: flags,
            btf_value_type_id: btf
                .and_then(|b| b.find_by_name_kind(&sec.name, BtfKind::Datasec))
                .unwrap_or(0),
            ..Default::default()
        };
        let mut m = new_map(&sec.name, internal_map_name(obj, &sec.name), kind, def, sec.index, 0);
        m.data = if sec.sh_type == elf::SHT_NOBITS { vec![0; size as usize] } else { sec.data.clone() };
        if m.data.len() != size as usize {
            return Err(sec_err(&sec.name, "section data shorter than its size"));
        }
        maps.push(m);
        offs.push(None);
    }
    Ok(())
}

fn collect_programs(elf: &ElfFile, text_shndx: Option<usize>) -> Result<Vec<Program>> {
    let mut programs = Vec::new();
    for sec in elf.sections.iter().filter(|s| s.is_code() && s.size > 0) {
        if sec.data.len() % Insn::SIZE != 0 {
            return Err(sec_err(&sec.name, "size is not a multiple of 8"));
        }
        let insns = bpfemu_isa::insns_from_bytes(&sec.data)
            .map_err(|_| sec_err(&sec.name, "size is not a multiple of 8"))?;
        let mut syms: Vec<_> = elf
            .symbols
            .iter()
            .filter(|s| s.st_type == STT_FUNC && usize::from(s.shndx) == sec.index)
            .collect();
        syms.sort_by_key(|s| s.value);
        if syms.is_empty() {
            return Err(sec_err(&sec.name, "code without function symbols"));
        }
        let is_text = Some(sec.index) == text_shndx;
        for s in syms {
            if s.value % 8 != 0 || s.size % 8 != 0 || s.size == 0 {
                return Err(sec_err(
                    &sec.name,
                    format!("program '{}' has a misaligned or empty range", s.name),
                ));
            }
            let start = (s.value / 8) as usize;
            let end =
                start.checked_add((s.size / 8) as usize).filter(|&e| e <= insns.len()).ok_or_else(|| {
                    sec_err(&sec.name, format!("program '{}' crosses the section's end", s.name))
                })?;
            if !is_text && s.bind == STB_LOCAL {
                return Err(sec_err(&sec.name, format!("program '{}' is static and not supported", s.name)));
            }
            let def = if is_text { None } else { sec_def::find(&sec.name) };
            if !is_text && def.is_none() {
                return Err(Error::UnknownSection { section: sec.name.clone(), prog: s.name.clone() });
            }
            programs.push(Program {
                name: s.name.clone(),
                section: sec.name.clone(),
                sec_idx: sec.index,
                sec_insn_off: start,
                insns: insns[start..end].to_vec(),
                relocs: Vec::new(),
                sec_def: def,
                prog_type: def.map_or(0, |d| d.prog_type.raw()),
                expected_attach_type: def.map_or(0, |d| d.expected_attach_type),
                prog_flags: def.map_or(0, |d| d.prog_flags()),
                attach_target: def.and_then(|d| d.attach_target(&sec.name)).map(str::to_owned),
                attach_btf_id: 0,
                attach_prog_fd: 0,
                is_subprog: is_text,
                global: s.bind != STB_LOCAL,
                autoload: !is_text,
                log_level: 0,
                fd: None,
                final_insns: Vec::new(),
                log: String::new(),
            });
        }
    }
    Ok(programs)
}

fn collect_relos(
    elf: &ElfFile,
    text: Option<usize>,
    maps: &[Map],
    externs: &[super::Extern],
    programs: &mut [Program],
) -> Result<()> {
    for rs in &elf.rel_sections {
        let target = &elf.sections[rs.target];
        if !target.is_code() {
            continue;
        }
        for (index, r) in rs.rels.iter().enumerate() {
            let fail = |msg: String| Error::Reloc { section: rs.name.clone(), index, offset: r.offset, msg };
            if r.offset % 8 != 0 {
                return Err(fail("offset is not at an instruction".into()));
            }
            let sec_insn = (r.offset / 8) as usize;
            let prog = programs
                .iter_mut()
                .find(|p| {
                    p.sec_idx == rs.target
                        && p.sec_insn_off <= sec_insn
                        && sec_insn < p.sec_insn_off + p.insns.len()
                })
                .ok_or_else(|| {
                    fail(format!("no program of '{}' contains instruction {sec_insn}", target.name))
                })?;
            let insn_idx = sec_insn - prog.sec_insn_off;
            let sym = elf
                .symbols
                .get(r.sym as usize)
                .ok_or_else(|| fail(format!("symbol index {} out of range", r.sym)))?;
            let insn = prog.insns[insn_idx];
            let kind = classify(elf, text, maps, externs, sym, insn, &prog.insns, insn_idx).map_err(fail)?;
            prog.relocs.push(Reloc {
                insn_idx,
                kind,
                sym_name: sym.name.clone(),
                rel_section: rs.name.clone(),
                rel_index: index,
                offset: r.offset,
            });
        }
    }
    Ok(())
}

/// `bpf_program__record_reloc()`.
#[allow(clippy::too_many_arguments)]
fn classify(
    elf: &ElfFile,
    text: Option<usize>,
    maps: &[Map],
    externs: &[super::Extern],
    sym: &elf::Symbol,
    insn: Insn,
    insns: &[Insn],
    insn_idx: usize,
) -> std::result::Result<RelocKind, String> {
    let sname = if sym.name.is_empty() {
        elf.section(sym.shndx).map(|s| s.name.clone()).unwrap_or_default()
    } else {
        sym.name.clone()
    };
    if sym.shndx == elf::SHN_UNDEF {
        let ext = externs
            .iter()
            .position(|e| e.name == sym.name)
            .ok_or_else(|| format!("extern '{sname}' is not a known extern"))?;
        return if insn.code == CALL {
            if insn.src != PSEUDO_CALL {
                return Err(format!("incorrect bpf_call opcode for extern '{sname}'"));
            }
            Ok(RelocKind::ExternCall { ext })
        } else if insn.code == LD_IMM64 && insn_idx + 1 < insns.len() {
            Ok(RelocKind::ExternLd { ext })
        } else {
            Err(format!(
                "invalid relocation of extern '{sname}' for instruction {insn_idx} (code {:#04x})",
                insn.code
            ))
        };
    }
    if insn.code == CALL && insn.src == PSEUDO_CALL {
        if Some(usize::from(sym.shndx)) != text {
            return Err(format!("bad call relocation against '{sname}': not in .text"));
        }
        if !sym.value.is_multiple_of(8) {
            return Err(format!("bad call relocation against '{sname}': misaligned"));
        }
        return Ok(RelocKind::Call { sym_off: sym.value });
    }
    if insn.code != LD_IMM64 || insn_idx + 1 >= insns.len() {
        return Err(format!(
            "invalid relocation for instruction {insn_idx} (code {:#04x}) against '{sname}'",
            insn.code
        ));
    }
    let shndx = usize::from(sym.shndx);
    if sym.shndx >= 0xff00 {
        return Err(format!("relocation against '{sname}' in special section {:#x}", sym.shndx));
    }
    if Some(shndx) == text {
        if !sym.value.is_multiple_of(8) {
            return Err(format!("bad subprogram address relocation against '{sname}'"));
        }
        return Ok(RelocKind::SubprogAddr { sym_off: sym.value });
    }
    let sec = elf.sections.get(shndx).ok_or_else(|| format!("symbol '{sname}' in bad section {shndx}"))?;
    if sec.name == ".maps" || sec.name == "maps" {
        if sym.st_type == STT_SECTION {
            return Err(format!("bad map relocation against section '{}'", sec.name));
        }
        let map = maps
            .iter()
            .position(|m| {
                matches!(m.kind, MapKind::Btf | MapKind::Legacy)
                    && m.sec_idx == shndx
                    && m.sec_offset == sym.value
            })
            .ok_or_else(|| format!("map relocation against '{sname}': no map at offset {}", sym.value))?;
        return Ok(RelocKind::Map { map });
    }
    if data_kind(&sec.name).is_some() {
        let map = maps
            .iter()
            .position(|m| m.kind.is_internal() && m.sec_idx == shndx)
            .ok_or_else(|| format!("data relocation against '{sname}': section '{}' has no map", sec.name))?;
        let off = u32::try_from(sym.value)
            .map_err(|_| format!("data relocation against '{sname}': offset too large"))?;
        return Ok(RelocKind::Data { map, off });
    }
    Err(format!(
        "relocation against '{sname}' in section '{}', which is not a map, data or code section",
        sec.name
    ))
}

/// `.rel.maps`: `values` initialisers (`bpf_object__collect_map_relos()`).
fn collect_map_relos(
    elf: &ElfFile,
    maps: &mut [Map],
    offs: &[Option<u32>],
    programs: &[Program],
) -> Result<()> {
    let Some(rs) = elf.rel_sections.iter().find(|r| elf.sections[r.target].name == ".maps") else {
        return Ok(());
    };
    let maps_shndx = rs.target;
    for (index, r) in rs.rels.iter().enumerate() {
        let fail = |msg: String| Error::Reloc { section: rs.name.clone(), index, offset: r.offset, msg };
        let sym = elf
            .symbols
            .get(r.sym as usize)
            .ok_or_else(|| fail(format!("symbol index {} out of range", r.sym)))?;
        // The map whose variable holds this offset: the last one starting at or before it.
        let (mi, _) = maps
            .iter()
            .enumerate()
            .filter(|(_, m)| m.kind == MapKind::Btf && m.sec_idx == maps_shndx && m.sec_offset <= r.offset)
            .max_by_key(|(_, m)| m.sec_offset)
            .ok_or_else(|| fail("no map variable at this offset".into()))?;
        let values_off =
            offs[mi].ok_or_else(|| fail(format!("map '{}' has no 'values' initialiser", maps[mi].name)))?;
        let moff = r.offset - maps[mi].sec_offset;
        if moff < u64::from(values_off) || !(moff - u64::from(values_off)).is_multiple_of(8) {
            return Err(fail(format!("map '{}': misaligned 'values' slot", maps[mi].name)));
        }
        let slot = u32::try_from((moff - u64::from(values_off)) / 8)
            .map_err(|_| fail("slot out of range".into()))?;
        let target = if is_map_in_map(maps[mi].def.map_type) {
            if usize::from(sym.shndx) != maps_shndx {
                return Err(fail(format!("'{}' is not a map", sym.name)));
            }
            let t = maps
                .iter()
                .position(|m| m.kind == MapKind::Btf && m.sec_offset == sym.value)
                .ok_or_else(|| fail(format!("no map named '{}'", sym.name)))?;
            if is_map_in_map(maps[t].def.map_type) {
                return Err(fail(format!("map '{}' cannot be an inner map", maps[t].name)));
            }
            InitTarget::Map(t)
        } else {
            if sym.st_type != STT_FUNC {
                return Err(fail(format!("'{}' is not a program", sym.name)));
            }
            let p = programs
                .iter()
                .find(|p| {
                    p.sec_idx == usize::from(sym.shndx)
                        && p.sec_insn_off as u64 * 8 == sym.value
                        && !p.is_subprog
                })
                .ok_or_else(|| fail(format!("no entry program '{}'", sym.name)))?;
            InitTarget::Prog(p.name.clone())
        };
        let m = &mut maps[mi];
        if slot >= m.def.max_entries {
            return Err(fail(format!(
                "map '{}': slot {slot} beyond max_entries {}",
                m.name, m.def.max_entries
            )));
        }
        m.init_slots.retain(|(s, _)| *s != slot);
        m.init_slots.push((slot, target));
    }
    for m in maps.iter_mut() {
        m.init_slots.sort_by_key(|(s, _)| *s);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ringbuf_sizes_round_up_to_power_of_two_pages() {
        assert_eq!(adjust_ringbuf_sz(0), 0);
        assert_eq!(adjust_ringbuf_sz(4096), 4096);
        assert_eq!(adjust_ringbuf_sz(1), 4096);
        assert_eq!(adjust_ringbuf_sz(4097), 8192);
        assert_eq!(adjust_ringbuf_sz(3 * 4096), 4 * 4096);
        assert_eq!(adjust_ringbuf_sz(256 * 1024), 256 * 1024);
        assert_eq!(adjust_ringbuf_sz(u32::MAX), u32::MAX);
    }

    #[test]
    fn internal_map_names_match_libbpf() {
        assert_eq!(internal_map_name("test", ".rodata"), "test.rodata");
        assert_eq!(internal_map_name("verylongname", ".data"), "verylong.data");
        assert_eq!(internal_map_name("verylongname", ".rodata"), "verylong.rodata");
        assert_eq!(internal_map_name("obj", ".rodata.str1.1"), ".rodata.str1.1");
        assert_eq!(internal_map_name("obj", ".data.very_long_custom"), ".data.very_long");
        assert_eq!(internal_map_name("my-obj", ".bss"), "my_obj.bss");
        assert_eq!(internal_map_name("x", ".kconfig"), "x.kconfig");
    }
}
