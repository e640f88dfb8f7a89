//! Errors: what the kernel's BTF verifier (`kernel/bpf/btf.c`) would log,
//! with the kernel's wording, and where (type id, member index).
//!
//! The kernel rejects all of these with `EINVAL`; [`BtfError::errno`] says so.

use crate::model::TypeId;

/// Linux's `EINVAL`.
pub const EINVAL: i32 = 22;

/// Problems with the header or the section layout (`btf_parse_hdr`,
/// `btf_check_sec_info`, `btf_parse_str_sec`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("hdr_len not found")]
    HdrLenNotFound,
    #[error("btf_header not found")]
    HeaderNotFound,
    #[error("Unsupported btf_header")]
    UnsupportedHeader,
    #[error("Invalid magic: {0:#x}")]
    InvalidMagic(u16),
    #[error("Unsupported version: {0}")]
    UnsupportedVersion(u8),
    #[error("Unsupported flags: {0:#x}")]
    UnsupportedFlags(u8),
    #[error("Invalid section offset")]
    InvalidSectionOffset,
    #[error("Unsupported section found")]
    UnsupportedSection,
    #[error("Section overlap found")]
    SectionOverlap,
    #[error("Total section length too long")]
    SectionTooLong,
    #[error("Unaligned type_off")]
    UnalignedTypeOff,
    #[error("Invalid string section")]
    InvalidStringSection,
    #[error("Type section length not a multiple of 4")]
    TypeSectionNotAligned,
    #[error("Too many types")]
    TooManyTypes,
}

/// Why one type (or one of its members) is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    #[error("meta_left:{left} meta_needed:{needed}")]
    Truncated { left: usize, needed: usize },
    #[error("Invalid kind:{0}")]
    InvalidKind(u32),
    #[error("Invalid btf_info:{0:x}")]
    InvalidBtfInfo(u32),
    #[error("Invalid btf_info kind_flag")]
    InvalidKindFlag,
    #[error("vlen != 0")]
    VlenNotZero,
    #[error("size != 0")]
    SizeNotZero,
    #[error("type != 0")]
    TypeNotZero,
    #[error("Invalid name_offset:{0}")]
    InvalidNameOffset(u32),
    #[error("Invalid name")]
    InvalidName,
    #[error("Invalid type_id")]
    InvalidTypeId,
    #[error("Loop detected")]
    LoopDetected,
    #[error("Invalid int_data:{0:x}")]
    InvalidIntData(u32),
    #[error("nr_bits exceeds 128")]
    NrBitsExceeds128,
    #[error("nr_bits exceeds type_size")]
    NrBitsExceedsTypeSize,
    #[error("Unsupported encoding")]
    UnsupportedEncoding,
    #[error("Invalid elem")]
    InvalidElem,
    #[error("Invalid index")]
    InvalidIndex,
    #[error("Array size overflows U32_MAX")]
    ArraySizeOverflow,
    #[error("Invalid member bits_offset")]
    InvalidMemberBitsOffset,
    #[error("Member bits_offset exceeds its struct size")]
    MemberOffsetExceedsStructSize,
    #[error("Member exceeds struct_size")]
    MemberExceedsStructSize,
    #[error("Member is not byte aligned")]
    MemberNotByteAligned,
    #[error("Invalid member bitfield_size")]
    InvalidMemberBitfieldSize,
    #[error("Invalid member")]
    InvalidMember,
    #[error("Unexpected size")]
    UnexpectedSize,
    #[error("Invalid func linkage")]
    InvalidFuncLinkage,
    #[error("Linkage not supported")]
    LinkageNotSupported,
    #[error("Invalid arg#{0}")]
    InvalidArg(usize),
    #[error("Invalid offset+size")]
    InvalidOffsetSize,
    #[error("Invalid offset")]
    InvalidOffset,
    #[error("Invalid size")]
    InvalidSize,
    #[error("Invalid component_idx")]
    InvalidComponentIdx,
    #[error("Invalid type_size")]
    InvalidTypeSize,
    #[error("vlen exceeds 0xffff")]
    VlenTooLarge,
    #[error("Type has no size")]
    NoSize,
}

/// Every way BTF can be rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BtfError {
    #[error("{0}")]
    Header(#[from] HeaderError),
    #[error("[{id}] {kind} {reason}")]
    Type { id: TypeId, kind: &'static str, reason: Reason },
    #[error("[{id}] {kind} member#{member} {reason}")]
    Member { id: TypeId, kind: &'static str, member: usize, reason: Reason },
}

impl BtfError {
    /// The errno the kernel's `BPF_BTF_LOAD` returns for this error: always
    /// `EINVAL` (22).
    pub fn errno(&self) -> i32 {
        EINVAL
    }

    /// The reason, when the error is about a type.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            BtfError::Header(_) => None,
            BtfError::Type { reason, .. } | BtfError::Member { reason, .. } => Some(*reason),
        }
    }

    /// The type id the error is about, if any.
    pub fn type_id(&self) -> Option<TypeId> {
        match self {
            BtfError::Header(_) => None,
            BtfError::Type { id, .. } | BtfError::Member { id, .. } => Some(*id),
        }
    }
}
