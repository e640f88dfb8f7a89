//! The loader's errors (libbpf returns `-errno` and prints a `pr_warn`
//! line; here the two travel together). Every variant says which file,
//! section, program, map, relocation or extern failed, and keeps the
//! kernel's [`Errno`] when a system call refused something.

use bpfemu_kernel::errno::Errno;

/// Opening, loading or attaching an object failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// Not an ELF file the loader accepts (64-bit, little endian, EM_BPF,
    /// relocatable), or its headers, sections or symbols are malformed.
    #[error("malformed BPF object: {0}")]
    Format(String),
    /// A section is malformed or not understood.
    #[error("section '{section}': {msg}")]
    Section { section: String, msg: String },
    /// A program section whose name matches no SEC() definition.
    #[error(
        "section '{section}': program '{prog}' has an unknown program type (no libbpf SEC() definition matches the section name)"
    )]
    UnknownSection { section: String, prog: String },
    /// A relocation record cannot be applied.
    #[error("relocation #{index} in '{section}' (offset {offset:#x}): {msg}")]
    Reloc { section: String, index: usize, offset: u64, msg: String },
    /// A map definition is invalid.
    #[error("map '{map}': {msg}")]
    Map { map: String, msg: String },
    /// A program is invalid or could not be prepared.
    #[error("program '{prog}': {msg}")]
    Program { prog: String, msg: String },
    /// An extern (`.kconfig` or `__ksym`) cannot be resolved.
    #[error("extern '{name}': {msg}")]
    Extern { name: String, msg: String },
    /// A CO-RE relocation of a program failed.
    #[error("prog '{prog}': {source}")]
    Core { prog: String, source: Box<crate::core::CoreError> },
    /// The object's BTF is malformed.
    #[error("BTF: {0}")]
    Btf(String),
    /// A `bpf()` call failed.
    #[error("{what}: {errno}")]
    Sys { what: String, errno: Errno },
    /// `BPF_PROG_LOAD` refused a program; `log` is the verifier log's tail.
    #[error("program '{prog}': BPF_PROG_LOAD failed: {errno}{}", log_suffix(.log))]
    ProgLoad { prog: String, errno: Errno, log: String },
    /// The operation needs a loaded object, or one not loaded yet.
    #[error("object '{obj}': {msg}")]
    State { obj: String, msg: String },
    /// No program or map with that name.
    #[error("no {what} named '{name}' in the object")]
    NotFound { what: &'static str, name: String },
}

fn log_suffix(log: &str) -> String {
    if log.is_empty() { String::new() } else { format!("\n-- verifier log (tail) --\n{log}") }
}

impl Error {
    /// The kernel's errno, if a system call failed.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Sys { errno, .. } | Error::ProgLoad { errno, .. } => Some(*errno),
            Error::Core { source, .. } => Some(source.errno()),
            _ => None,
        }
    }

    pub(crate) fn sys(what: impl Into<String>, errno: Errno) -> Error {
        Error::Sys { what: what.into(), errno }
    }

    pub(crate) fn format(msg: impl Into<String>) -> Error {
        Error::Format(msg.into())
    }
}

/// The loader's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// The errno of a failed host system call (epoll, eventfd reads), as the
/// emulated kernel's `Errno`; an errno it does not know becomes `EINVAL`.
pub(crate) fn host_errno(e: rustix::io::Errno) -> Errno {
    Errno::from_raw(e.raw_os_error()).unwrap_or(Errno::EINVAL)
}
