//! The raw ELF layer: sections, symbols and `SHT_REL` records of a BPF
//! object, read with the `object` crate's low-level ELF reader and copied
//! into owned, checked structures (libbpf's `bpf_object__elf_init()` and
//! `bpf_object__elf_collect()` in `src/libbpf.c`, which use libelf).
//!
//! Accepted: 64-bit little-endian relocatable files for `EM_BPF` (what
//! `clang -target bpf` / `bpfel` and `llvm-mc -triple bpfel` produce).
//! Refused with [`Error::Format`]: other classes, byte orders, machines,
//! and any header, section, string or symbol the reader finds out of
//! bounds. Big-endian (`bpfeb`) objects are not supported.

use crate::error::{Error, Result};
use object::elf;
use object::read::elf::{FileHeader, Rel as _, SectionHeader as _, Sym as _};
use object::{LittleEndian, SectionIndex};

/// `SHF_EXECINSTR`.
pub const SHF_EXECINSTR: u64 = 0x4;
/// `SHT_PROGBITS`.
pub const SHT_PROGBITS: u32 = 1;
/// `SHT_SYMTAB`.
pub const SHT_SYMTAB: u32 = 2;
/// `SHT_NOBITS`.
pub const SHT_NOBITS: u32 = 8;
/// `SHT_REL`.
pub const SHT_REL: u32 = 9;
/// `STT_NOTYPE`, `STT_OBJECT`, `STT_FUNC`, `STT_SECTION`.
pub const STT_NOTYPE: u8 = 0;
pub const STT_OBJECT: u8 = 1;
pub const STT_FUNC: u8 = 2;
pub const STT_SECTION: u8 = 3;
/// `STB_LOCAL`, `STB_GLOBAL`, `STB_WEAK`.
pub const STB_LOCAL: u8 = 0;
pub const STB_GLOBAL: u8 = 1;
pub const STB_WEAK: u8 = 2;
/// `SHN_UNDEF`, `SHN_ABS`, `SHN_COMMON`.
pub const SHN_UNDEF: u16 = 0;
pub const SHN_ABS: u16 = 0xfff1;
pub const SHN_COMMON: u16 = 0xfff2;
/// `R_BPF_64_64` (ld_imm64), `R_BPF_64_ABS64`, `R_BPF_64_ABS32`,
/// `R_BPF_64_NODYLD32`, `R_BPF_64_32` (calls).
pub const R_BPF_NONE: u32 = 0;
pub const R_BPF_64_64: u32 = 1;
pub const R_BPF_64_ABS64: u32 = 2;
pub const R_BPF_64_ABS32: u32 = 3;
pub const R_BPF_64_NODYLD32: u32 = 4;
pub const R_BPF_64_32: u32 = 10;

/// One section header and its bytes (empty for `SHT_NOBITS`).
#[derive(Clone, Debug)]
pub struct Section {
    pub index: usize,
    pub name: String,
    pub sh_type: u32,
    pub flags: u64,
    pub size: u64,
    pub info: u32,
    pub link: u32,
    pub align: u64,
    /// `sh_offset`: where the section's bytes are in the file.
    pub offset: u64,
    pub data: Vec<u8>,
}

impl Section {
    /// Executable `SHT_PROGBITS` with code in it (libbpf's program
    /// sections).
    pub fn is_code(&self) -> bool {
        self.sh_type == SHT_PROGBITS && self.flags & SHF_EXECINSTR != 0
    }
}

/// One `Elf64_Sym`.
#[derive(Clone, Debug)]
pub struct Symbol {
    pub index: usize,
    pub name: String,
    pub st_type: u8,
    pub bind: u8,
    pub visibility: u8,
    pub shndx: u16,
    pub value: u64,
    pub size: u64,
}

/// One `Elf64_Rel` record.
#[derive(Clone, Copy, Debug)]
pub struct Rel {
    pub offset: u64,
    pub sym: u32,
    pub r_type: u32,
}

/// A `SHT_REL` section and the section it applies to (`sh_info`).
#[derive(Clone, Debug)]
pub struct RelSection {
    pub name: String,
    pub target: usize,
    pub rels: Vec<Rel>,
}

/// The parsed ELF file.
#[derive(Clone, Debug, Default)]
pub struct ElfFile {
    /// Every section header, by index (index 0 is the null section).
    pub sections: Vec<Section>,
    /// Every symbol, by index (index 0 is the null symbol).
    pub symbols: Vec<Symbol>,
    pub rel_sections: Vec<RelSection>,
}

fn fmt_err(what: &str, e: object::read::Error) -> Error {
    Error::format(format!("{what}: {e}"))
}

fn utf8(bytes: &[u8], what: &str) -> Result<String> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| Error::format(format!("{what}: name is not UTF-8")))
}

impl ElfFile {
    /// Parses `data`.
    pub fn parse(data: &[u8]) -> Result<ElfFile> {
        let ident = data.get(..16).ok_or_else(|| Error::format("file too short for an ELF header"))?;
        if ident[..4] != [0x7f, b'E', b'L', b'F'] {
            return Err(Error::format("not an ELF file (bad magic)"));
        }
        if ident[4] != 2 {
            return Err(Error::format("not a 64-bit ELF file"));
        }
        if ident[5] != 1 {
            return Err(Error::format("not a little-endian ELF file (big-endian BPF is not supported)"));
        }
        let hdr = elf::FileHeader64::<LittleEndian>::parse(data).map_err(|e| fmt_err("ELF header", e))?;
        let endian = LittleEndian;
        if hdr.e_machine(endian) != elf::EM_BPF {
            return Err(Error::format(format!(
                "ELF machine is {}, not EM_BPF (247)",
                hdr.e_machine(endian).0
            )));
        }
        if hdr.e_type(endian) != elf::ET_REL {
            return Err(Error::format("not a relocatable object (ET_REL)"));
        }
        let table = hdr.sections(endian, data).map_err(|e| fmt_err("section headers", e))?;
        let mut sections = Vec::with_capacity(table.len());
        for (index, sh) in table.iter().enumerate() {
            let name =
                table.section_name(endian, sh).map_err(|e| fmt_err(&format!("section #{index} name"), e))?;
            let name = utf8(name, &format!("section #{index}"))?;
            let sh_type = sh.sh_type(endian).0;
            let data = if sh_type == SHT_NOBITS || index == 0 {
                Vec::new()
            } else {
                sh.data(endian, data).map_err(|e| fmt_err(&format!("section '{name}' data"), e))?.to_vec()
            };
            sections.push(Section {
                index,
                name,
                sh_type,
                flags: sh.sh_flags(endian).0,
                size: sh.sh_size(endian),
                info: sh.sh_info(endian),
                link: sh.sh_link(endian),
                align: sh.sh_addralign(endian),
                offset: sh.sh_offset(endian),
                data,
            });
        }
        let symtab = table.symbols(endian, data, elf::SHT_SYMTAB).map_err(|e| fmt_err("symbol table", e))?;
        let mut symbols = Vec::with_capacity(symtab.len());
        for (index, sym) in symtab.symbols().iter().enumerate() {
            let name =
                symtab.symbol_name(endian, sym).map_err(|e| fmt_err(&format!("symbol #{index} name"), e))?;
            symbols.push(Symbol {
                index,
                name: utf8(name, &format!("symbol #{index}"))?,
                st_type: sym.st_type().0,
                bind: sym.st_bind().0,
                visibility: sym.st_visibility().0,
                shndx: sym.st_shndx(endian).0,
                value: sym.st_value(endian),
                size: sym.st_size(endian),
            });
        }
        let mut rel_sections = Vec::new();
        for (index, sh) in table.iter().enumerate() {
            if sh.sh_type(endian) != elf::SHT_REL {
                continue;
            }
            let name = sections[index].name.clone();
            let Some((rels, link)) =
                sh.rel(endian, data).map_err(|e| fmt_err(&format!("section '{name}'"), e))?
            else {
                continue;
            };
            if link != symtab.section() && link != SectionIndex(0) {
                return Err(Error::Section {
                    section: name,
                    msg: "relocations refer to another symbol table".into(),
                });
            }
            let target = sh.sh_info(endian) as usize;
            if target == 0 || target >= sections.len() {
                return Err(Error::Section {
                    section: name,
                    msg: format!("relocates section #{target}, which does not exist"),
                });
            }
            let rels = rels
                .iter()
                .map(|r| Rel { offset: r.r_offset(endian), sym: r.r_sym(endian), r_type: r.r_type(endian).0 })
                .collect();
            rel_sections.push(RelSection { name, target, rels });
        }
        Ok(ElfFile { sections, symbols, rel_sections })
    }

    /// The section named `name`.
    pub fn section_by_name(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The section with index `shndx`, if it is a real section.
    pub fn section(&self, shndx: u16) -> Option<&Section> {
        if shndx == SHN_UNDEF || shndx >= 0xff00 {
            return None;
        }
        self.sections.get(usize::from(shndx))
    }
}
