//! CO-RE errors, worded like libbpf's `pr_warn` messages in
//! `tools/lib/bpf/relo_core.c` and `bpf_core_resolve_relo` /
//! `bpf_object__relocate_core` in `tools/lib/bpf/libbpf.c`, minus the
//! `prog '%s': ` prefix, which the caller (who knows the program) adds.

use bpfemu_kernel::errno::Errno;

use super::kind::ReloKind;

/// A CO-RE relocation that could not be resolved or applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// The record's `kind` is not a `bpf_core_relo_kind`.
    #[error("relo #{relo}: unrecognized CO-RE relocation kind {kind} at insn #{insn}")]
    UnknownKind { relo: usize, kind: u32, insn: u32 },
    /// The record's `insn_off` is not a multiple of 8.
    #[error("relo #{relo}: insn_off {insn_off} is not a multiple of the instruction size")]
    UnalignedInsnOff { relo: usize, insn_off: u32 },
    /// The record's access string offset is not in the string table.
    #[error("relo #{relo}: access string offset {off} is not in .BTF")]
    BadAccessStr { relo: usize, off: u32 },
    /// The root type id is not in the local BTF.
    #[error("relo #{relo}: invalid local type id {type_id}")]
    BadTypeId { relo: usize, type_id: u32 },
    /// Candidate search was impossible (anonymous local type).
    #[error("relo #{relo}: target candidate search failed for [{type_id}] {kind_name} {name}: -22")]
    CandidateSearch { relo: usize, type_id: u32, kind_name: &'static str, name: String },
    /// The access string does not describe a valid access of the local type.
    #[error("relo #{relo}: parsing [{type_id}] {kind_name} {name} + {access} failed: {reason}")]
    Parse {
        relo: usize,
        type_id: u32,
        kind_name: &'static str,
        name: String,
        access: String,
        reason: String,
        errno: Errno,
    },
    /// Matching against one candidate hit an error (not just a mismatch).
    #[error("relo #{relo}: error matching candidate #{cand} {spec}: {errno}")]
    CandidateMatch { relo: usize, cand: usize, spec: String, errno: Errno },
    /// Two candidates put the field at different offsets.
    #[error("relo #{relo}: field offset ambiguity: {a} != {b}")]
    FieldOffsetAmbiguity { relo: usize, a: u64, b: u64 },
    /// Two candidates gave different values or poison decisions.
    #[error("relo #{relo}: relocation decision ambiguity: {a_state} {a} != {b_state} {b}")]
    DecisionAmbiguity { relo: usize, a_state: &'static str, a: u64, b_state: &'static str, b: u64 },
    /// An array access used with a kind other than byte offset / size.
    #[error("relo #{relo}: relo {kind} at insn #{insn} can't be applied to array access")]
    ArrayAccess { relo: usize, kind: ReloKind, insn: usize },
    /// A bitfield that no single load of at most 8 bytes covers.
    #[error("relo #{relo}: relo {kind} at insn #{insn} can't be satisfied for bitfield")]
    Bitfield { relo: usize, kind: ReloKind, insn: usize },
    /// A size could not be computed (type without size, overflow).
    #[error("relo #{relo}: {what}")]
    Size { relo: usize, what: String },
    /// The instruction index is outside the program.
    #[error("relo #{relo}: insn #{insn} is outside the program ({len} instructions)")]
    InsnOutOfRange { relo: usize, insn: usize, len: usize },
    /// The instruction does not hold the value the local BTF predicts.
    #[error("relo #{relo}: unexpected insn #{insn} ({class}) value: got {got}, exp {exp} -> {new}")]
    UnexpectedValue { relo: usize, insn: usize, class: &'static str, got: u64, exp: u64, new: u64 },
    /// A load/store offset that does not fit the 16-bit `off` field.
    #[error("relo #{relo}: insn #{insn} (LDX/ST/STX) value too big: {new}")]
    ValueTooBig { relo: usize, insn: usize, new: u64 },
    /// The load/store size is not the local field size.
    #[error("relo #{relo}: insn #{insn} (LDX/ST/STX) unexpected mem size: got {got}, exp {exp}")]
    UnexpectedMemSize { relo: usize, insn: usize, got: i32, exp: u32 },
    /// The target field size is not 1, 2, 4 or 8.
    #[error("relo #{relo}: insn #{insn} (LDX/ST/STX) invalid new mem size: {new}")]
    InvalidNewMemSize { relo: usize, insn: usize, new: u32 },
    /// An ld_imm64 with other fields set, or cut in half.
    #[error("relo #{relo}: insn #{insn} (LDIMM64) has unexpected form")]
    LdImm64Form { relo: usize, insn: usize },
    /// An ALU instruction with a register source.
    #[error("relo #{relo}: insn #{insn} (ALU/ALU64) has a register source")]
    AluRegSource { relo: usize, insn: usize },
    /// An instruction class CO-RE cannot patch.
    #[error(
        "relo #{relo}: trying to relocate unrecognized insn #{insn}, code:{code:#x}, src:{src:#x}, dst:{dst:#x}, off:{off:#x}, imm:{imm:#x}"
    )]
    UnrecognizedInsn { relo: usize, insn: usize, code: u8, src: u8, dst: u8, off: i16, imm: i32 },
}

impl CoreError {
    /// The errno libbpf returns for this failure (an unknown kind fails
    /// libbpf's spec parsing: `EINVAL`).
    pub fn errno(&self) -> Errno {
        match self {
            CoreError::Parse { errno, .. } | CoreError::CandidateMatch { errno, .. } => *errno,
            CoreError::Bitfield { .. } => Errno::E2BIG,
            CoreError::ValueTooBig { .. } => Errno::ERANGE,
            _ => Errno::EINVAL,
        }
    }

    /// The relocation index the error is about.
    pub fn relo_idx(&self) -> usize {
        match self {
            CoreError::UnknownKind { relo, .. }
            | CoreError::UnalignedInsnOff { relo, .. }
            | CoreError::BadAccessStr { relo, .. }
            | CoreError::BadTypeId { relo, .. }
            | CoreError::CandidateSearch { relo, .. }
            | CoreError::Parse { relo, .. }
            | CoreError::CandidateMatch { relo, .. }
            | CoreError::FieldOffsetAmbiguity { relo, .. }
            | CoreError::DecisionAmbiguity { relo, .. }
            | CoreError::ArrayAccess { relo, .. }
            | CoreError::Bitfield { relo, .. }
            | CoreError::Size { relo, .. }
            | CoreError::InsnOutOfRange { relo, .. }
            | CoreError::UnexpectedValue { relo, .. }
            | CoreError::ValueTooBig { relo, .. }
            | CoreError::UnexpectedMemSize { relo, .. }
            | CoreError::InvalidNewMemSize { relo, .. }
            | CoreError::LdImm64Form { relo, .. }
            | CoreError::AluRegSource { relo, .. }
            | CoreError::UnrecognizedInsn { relo, .. } => *relo,
        }
    }
}
