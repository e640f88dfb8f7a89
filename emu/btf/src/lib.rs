//! # bpfemu-btf — the BPF Type Format
//!
//! Kernel counterparts: `include/uapi/linux/btf.h` (the format),
//! `kernel/bpf/btf.c` (decoding and validation at `BPF_BTF_LOAD`),
//! `tools/lib/bpf/btf.c` (building, lookups) and `tools/lib/bpf/btf_dump.c`
//! (`bpftool btf dump ... format c`).
//!
//! - [`model`]: [`Btf`], [`Type`], [`Kind`] — every kind from INT to ENUM64.
//! - [`builder`]: `add_int`, `add_struct`, ... returning type ids.
//! - [`decode()`] / [`encode`](Btf::encode): the little-endian binary format;
//!   `decode(encode(x)) == x`, and encoding a canonically laid out blob
//!   reproduces it byte for byte.
//! - [`validate`](Btf::validate): the kernel's rules and error wording;
//!   every [`BtfError`] maps to `EINVAL` through [`BtfError::errno`].
//! - [`query`]: `find_by_name_kind`, `resolve_size`, `align_of`,
//!   `skip_mods_and_typedefs`, `member_offset`.
//! - [`dump_c()`]: a `vmlinux.h`-style C header.
//! - [`dump_raw()`]: bpftool's raw `[id] KIND 'name' ...` listing.
//! - [`ext`]: `.BTF.ext` (func_info, line_info, CO-RE relocation records).
//!
//! Not supported: big-endian BTF, split BTF (base + module), deduplication
//! (`btf__dedup`).
//! Decoding never panics on arbitrary input; nothing here uses `unsafe`.

#![forbid(unsafe_code)]

pub mod builder;
pub mod decode;
pub mod dump_c;
pub mod dump_raw;
pub mod encode;
pub mod error;
pub mod ext;
pub mod format;
pub mod model;
pub mod query;
pub mod strings;
pub mod validate;

pub use builder::MemberDef;
pub use decode::{Header, check_sections, decode, load, parse_header};
pub use dump_c::{dump_c, dump_c_types};
pub use dump_raw::dump_raw;
pub use error::{BtfError, EINVAL, HeaderError, Reason};
pub use model::*;
pub use query::MemberInfo;
pub use strings::StringTable;
