//! An opened BPF object (libbpf's `struct bpf_object`): programs, maps,
//! externs and the object's BTF, prepared from an ELF file by
//! [`Object::open`] (`bpf_object__open_file()`), then created in the
//! kernel by [`Object::load`] (`bpf_object__load()`).
//!
//! - [`parse`]: sections, programs, maps, global data, externs,
//!   relocation records (`bpf_object__elf_collect()`,
//!   `bpf_object__init_maps()`, `bpf_object__collect_externs()`,
//!   `bpf_object__collect_relos()`);
//! - [`btf_maps`]: BTF-defined map definitions (`parse_btf_map_def()`);
//! - [`btf_fixup`]: DATASEC sizes and VAR offsets from the ELF
//!   (`btf_fixup_datasec()`), extern DATASECs made loadable;
//! - [`externs`]: `.kconfig` values and `__ksym` resolution;
//! - [`relocate`]: relocation of map, data, extern and subprogram
//!   references, and subprogram appending (`bpf_object__relocate()`,
//!   `bpf_object__reloc_code()`);
//! - [`load`]: BTF, maps, programs, initialisers (`bpf_object_load()`).

pub mod btf_fixup;
pub mod btf_maps;
pub mod co_re;
pub mod externs;
pub mod load;
pub mod parse;
pub mod relocate;
pub mod st_ops;

use crate::elf::ElfFile;
use crate::error::{Error, Result};
use crate::map::Map;
use crate::program::Program;
use bpfemu_btf::Btf;
pub use co_re::CoreReport;
pub use externs::{Extern, ExternKind};

/// A BPF ELF object.
#[derive(Debug)]
pub struct Object {
    pub(crate) name: String,
    pub(crate) license: String,
    pub(crate) kern_version: u32,
    pub(crate) elf: ElfFile,
    /// The object's BTF, DATASECs fixed up; `None` without `.BTF` (or if
    /// it did not parse: BTF is optional, as in libbpf).
    pub(crate) btf: Option<Btf>,
    /// The raw `.BTF.ext` section, if any.
    pub(crate) btf_ext: Option<Vec<u8>>,
    /// `.BTF.ext` parsed (func_info, line_info, CO-RE records); `None` if
    /// absent or invalid (libbpf ignores an invalid one).
    pub(crate) ext: Option<bpfemu_btf::ext::BtfExt>,
    pub(crate) programs: Vec<Program>,
    pub(crate) maps: Vec<Map>,
    pub(crate) externs: Vec<Extern>,
    /// Index of `.text` among the ELF sections.
    pub(crate) text_shndx: Option<usize>,
    /// Things libbpf would `pr_warn` and go on (e.g. BTF not loadable).
    pub(crate) warnings: Vec<String>,
    pub(crate) btf_fd: Option<i32>,
    pub(crate) loaded: bool,
    pub(crate) load_attempted: bool,
    /// struct_ops maps (their [`Map`]s are in `maps`).
    pub(crate) st_ops: Vec<st_ops::StOps>,
}

impl Object {
    /// `bpf_object__open_file()`: reads and parses `path`. The object's
    /// name is the file name up to its first `.` (libbpf's rule).
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Object> {
        let path = path.as_ref();
        let bytes =
            std::fs::read(path).map_err(|source| Error::Io { path: path.display().to_string(), source })?;
        let base = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let name = base.split('.').next().unwrap_or("").to_owned();
        Object::open_mem(&name, &bytes)
    }

    /// `bpf_object__open_mem()`: parses an object from memory, named
    /// `name` (which names global data maps, `<name>.rodata`).
    pub fn open_mem(name: &str, bytes: &[u8]) -> Result<Object> {
        parse::parse(name, bytes)
    }

    /// `bpf_object__name`.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The `license` section's string.
    pub fn license(&self) -> &str {
        &self.license
    }
    /// The `version` section's value (`kern_version`), 0 if absent.
    pub fn kern_version(&self) -> u32 {
        self.kern_version
    }
    /// The object's BTF after the DATASEC fix-ups.
    pub fn btf(&self) -> Option<&Btf> {
        self.btf.as_ref()
    }
    /// The raw `.BTF.ext` section.
    pub fn btf_ext(&self) -> Option<&[u8]> {
        self.btf_ext.as_deref()
    }
    /// The parsed `.BTF.ext`.
    pub fn ext(&self) -> Option<&bpfemu_btf::ext::BtfExt> {
        self.ext.as_ref()
    }
    /// The parsed ELF (sections, symbols, relocation records).
    pub fn elf(&self) -> &ElfFile {
        &self.elf
    }
    /// Entry programs (not `.text` subprograms), in section order
    /// (`bpf_object__for_each_program`).
    pub fn programs(&self) -> impl Iterator<Item = &Program> {
        self.programs.iter().filter(|p| !p.is_subprog)
    }
    /// Every program including `.text` subprograms.
    pub fn all_programs(&self) -> &[Program] {
        &self.programs
    }
    /// Mutable access to every program (CO-RE and other rewrites before
    /// load).
    pub fn all_programs_mut(&mut self) -> &mut [Program] {
        &mut self.programs
    }
    /// The entry program named `name` (`bpf_object__find_program_by_name`).
    pub fn program(&self, name: &str) -> Option<&Program> {
        self.programs().find(|p| p.name == name)
    }
    pub fn program_mut(&mut self, name: &str) -> Option<&mut Program> {
        self.programs.iter_mut().find(|p| !p.is_subprog && p.name == name)
    }
    /// The entry programs of section `sec`, in order.
    pub fn programs_in_section<'a>(&'a self, sec: &'a str) -> impl Iterator<Item = &'a Program> + 'a {
        self.programs().filter(move |p| p.section == sec)
    }
    /// Maps, in libbpf's order: `.maps` / `maps`, then global data
    /// (`bpf_object__for_each_map`).
    pub fn maps(&self) -> &[Map] {
        &self.maps
    }
    pub fn maps_mut(&mut self) -> &mut [Map] {
        &mut self.maps
    }
    /// The map named `name` (`bpf_object__find_map_by_name`): the
    /// variable name, or `.rodata`, `.data`, `.bss`, `.kconfig`,
    /// `.data.custom` for global data (libbpf also accepts the kernel-side
    /// name, `obj.rodata`).
    pub fn map(&self, name: &str) -> Option<&Map> {
        self.maps.iter().find(|m| m.name == name).or_else(|| self.maps.iter().find(|m| m.kname == name))
    }
    pub fn map_mut(&mut self, name: &str) -> Option<&mut Map> {
        let i = self
            .maps
            .iter()
            .position(|m| m.name == name)
            .or_else(|| self.maps.iter().position(|m| m.kname == name))?;
        Some(&mut self.maps[i])
    }
    /// The externs (`.kconfig` and `__ksym`).
    pub fn externs(&self) -> &[Extern] {
        &self.externs
    }
    /// Warnings libbpf would print and ignore.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
    /// Whether [`Object::load`] succeeded.
    pub fn is_loaded(&self) -> bool {
        self.loaded
    }
    /// The fd of the object's BTF in the kernel, once loaded.
    pub fn btf_fd(&self) -> Option<i32> {
        self.btf_fd
    }
}
