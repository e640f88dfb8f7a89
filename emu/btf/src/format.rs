//! Constants of the binary format (`include/uapi/linux/btf.h`).

/// `BTF_MAGIC`, stored little endian as `9f eb`.
pub const BTF_MAGIC: u16 = 0xeb9f;
/// `BTF_VERSION`.
pub const BTF_VERSION: u8 = 1;
/// `sizeof(struct btf_header)`.
pub const HDR_LEN: u32 = 24;
/// `BTF_MAX_TYPE`.
pub const MAX_TYPE: u32 = 0x000f_ffff;
/// `BTF_MAX_NAME_OFFSET`.
pub const MAX_NAME_OFFSET: u32 = 0x00ff_ffff;
/// `BTF_MAX_VLEN`.
pub const MAX_VLEN: usize = 0xffff;
/// Bits of `btf_type.info` that may be set (`BTF_INFO_MASK`).
pub const INFO_MASK: u32 = 0x9f00_ffff;
/// Bits of INT's data word that may be set (`BTF_INT_MASK`).
pub const INT_MASK: u32 = 0x0fff_00ff;
