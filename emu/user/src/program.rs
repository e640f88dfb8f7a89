//! A program of an object (libbpf's `struct bpf_program`): its code as
//! found in its section, the relocations recorded against it, and what
//! `BPF_PROG_LOAD` needs (type, expected attach type, flags, attach
//! target). After [`crate::Object::load`] it has an fd.

use crate::sec_def::SecDef;
use bpfemu_isa::Insn;

/// What a relocation of one instruction does (libbpf's `enum reloc_type`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelocKind {
    /// `ld_imm64` of a map: `BPF_PSEUDO_MAP_FD` (`RELO_LD64`).
    Map { map: usize },
    /// `ld_imm64` of global data: `BPF_PSEUDO_MAP_VALUE` at `off` plus the
    /// instruction's own `imm` (`RELO_DATA`).
    Data { map: usize, off: u32 },
    /// A bpf2bpf call into `.text` (`RELO_CALL`); `sym_off` is the
    /// symbol's byte offset in `.text`.
    Call { sym_off: u64 },
    /// `ld_imm64` of a `.text` function's address (`RELO_SUBPROG_ADDR`).
    SubprogAddr { sym_off: u64 },
    /// `ld_imm64` of an extern (`RELO_EXTERN_LD64`: a `.kconfig` value or a
    /// `__ksym` variable).
    ExternLd { ext: usize },
    /// A call of an extern function: a kfunc (`RELO_EXTERN_CALL`).
    ExternCall { ext: usize },
}

/// One relocation of a program's instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reloc {
    /// Instruction index inside the program's own code.
    pub insn_idx: usize,
    pub kind: RelocKind,
    /// The symbol the ELF record names.
    pub sym_name: String,
    /// Where the record is: `.rel<sec>` and its index there.
    pub rel_section: String,
    pub rel_index: usize,
    /// The record's `r_offset` (byte offset in the code section).
    pub offset: u64,
}

/// A BPF program (or a `.text` subprogram) of an object.
#[derive(Clone, Debug)]
pub struct Program {
    pub(crate) name: String,
    pub(crate) section: String,
    pub(crate) sec_idx: usize,
    /// First instruction's index in its section.
    pub(crate) sec_insn_off: usize,
    pub(crate) insns: Vec<Insn>,
    pub(crate) relocs: Vec<Reloc>,
    pub(crate) sec_def: Option<&'static SecDef>,
    pub(crate) prog_type: u32,
    pub(crate) expected_attach_type: u32,
    pub(crate) prog_flags: u32,
    pub(crate) attach_target: Option<String>,
    pub(crate) attach_btf_id: u32,
    /// `attach_prog_fd` (freplace: the program whose function is
    /// replaced); 0 for none.
    pub(crate) attach_prog_fd: i32,
    pub(crate) is_subprog: bool,
    pub(crate) global: bool,
    pub(crate) autoload: bool,
    pub(crate) log_level: u32,
    pub(crate) fd: Option<i32>,
    /// The instructions passed to `BPF_PROG_LOAD` (after relocation and
    /// subprogram linking).
    pub(crate) final_insns: Vec<Insn>,
    /// The last verifier log.
    pub(crate) log: String,
}

impl Program {
    /// The function's name (`bpf_program__name`).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Its ELF section (`bpf_program__section_name`).
    pub fn section(&self) -> &str {
        &self.section
    }
    /// `enum bpf_prog_type` (`bpf_program__type`).
    pub fn prog_type(&self) -> u32 {
        self.prog_type
    }
    /// `bpf_program__expected_attach_type`.
    pub fn expected_attach_type(&self) -> u32 {
        self.expected_attach_type
    }
    /// `bpf_program__flags`.
    pub fn flags(&self) -> u32 {
        self.prog_flags
    }
    /// The BTF attach target named by the section (`fentry/NAME`).
    pub fn attach_target(&self) -> Option<&str> {
        self.attach_target.as_deref()
    }
    /// The vmlinux BTF id of the attach target, once resolved at load.
    pub fn attach_btf_id(&self) -> u32 {
        self.attach_btf_id
    }
    /// The SEC() definition that matched the section.
    pub fn sec_def(&self) -> Option<&'static SecDef> {
        self.sec_def
    }
    /// Whether this is a `.text` subprogram (not loaded on its own).
    pub fn is_subprog(&self) -> bool {
        self.is_subprog
    }
    /// Whether the function symbol is global (static subprograms are not).
    pub fn is_global(&self) -> bool {
        self.global
    }
    /// The code as found in the object (before relocation).
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }
    /// Mutable code, before load: CO-RE and other rewrites.
    pub fn insns_mut(&mut self) -> &mut Vec<Insn> {
        &mut self.insns
    }
    /// The relocations recorded against this program.
    pub fn relocs(&self) -> &[Reloc] {
        &self.relocs
    }
    /// The first instruction's index inside its section.
    pub fn sec_insn_off(&self) -> usize {
        self.sec_insn_off
    }
    /// The ELF section index.
    pub fn sec_idx(&self) -> usize {
        self.sec_idx
    }
    /// The code `BPF_PROG_LOAD` received (empty before load).
    pub fn loaded_insns(&self) -> &[Insn] {
        &self.final_insns
    }
    /// The program's fd once loaded (`bpf_program__fd`).
    pub fn fd(&self) -> Option<i32> {
        self.fd
    }
    /// The verifier log of the last load attempt (with `log_level` > 0 or
    /// after a failure).
    pub fn log(&self) -> &str {
        &self.log
    }
    /// `bpf_program__autoload`.
    pub fn autoload(&self) -> bool {
        self.autoload
    }
    /// `bpf_program__set_autoload` (before load).
    pub fn set_autoload(&mut self, on: bool) {
        self.autoload = on;
    }
    /// `bpf_program__set_log_level` (before load).
    pub fn set_log_level(&mut self, level: u32) {
        self.log_level = level;
    }
    /// `bpf_program__set_type` (before load).
    pub fn set_prog_type(&mut self, t: u32) {
        self.prog_type = t;
    }
    /// `bpf_program__set_expected_attach_type` (before load).
    pub fn set_expected_attach_type(&mut self, t: u32) {
        self.expected_attach_type = t;
    }
    /// `bpf_program__set_attach_target` with the vmlinux target function
    /// (before load).
    pub fn set_attach_target(&mut self, name: &str) {
        self.attach_target = Some(name.to_owned());
    }
    /// `bpf_program__set_attach_target(prog, attach_prog_fd, name)` with
    /// a program fd (before load): a freplace program replaces the global
    /// function `name` of that program (found by name in its BTF at load).
    pub fn set_attach_target_prog(&mut self, attach_prog_fd: i32, name: &str) {
        self.attach_prog_fd = attach_prog_fd;
        self.attach_target = Some(name.to_owned());
    }
}
