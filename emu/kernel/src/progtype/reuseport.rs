//! `BPF_PROG_TYPE_SK_REUSEPORT` (net/core/filter.c
//! `sk_reuseport_verifier_ops`): ctx `struct sk_reuseport_md`, read only.
//!
//! `sk_reuseport_is_valid_access()`: offsets inside the struct, aligned to
//! the size; `data` / `data_end` as `u64` packet pointers (direct packet
//! reads); `hash` as a whole `u32`; `len`, `ip_protocol`, `bind_inany` in
//! narrow loads of a 4-byte field, `eth_protocol` too but at least 2 bytes
//! wide. Helpers: `sk_reuseport_func_proto()` → `ktime_get_coarse_ns`, then
//! `bpf_base_func_proto()` (no `sk_select_reuseport` yet). Any return
//! value. The expected attach type must be `BPF_SK_REUSEPORT_SELECT` or
//! `..._OR_MIGRATE` (checked with the load attributes).
//!
//! Deviation: `sk` and `migrating_sk` (socket pointers) are refused: the
//! verifier has no socket pointer types yet.

use super::funcs::{Caps, base};
use super::{narrow, narrow_ok, scalar};
use bpfemu_verifier::env::{Access, CtxAccess, CtxField, ProgTypeOps};
use bpfemu_verifier::proto::{FuncProto, id, proto};

/// Byte offsets of `struct sk_reuseport_md`.
pub mod off {
    pub const DATA: usize = 0;
    pub const DATA_END: usize = 8;
    pub const LEN: usize = 16;
    pub const ETH_PROTOCOL: usize = 20;
    pub const IP_PROTOCOL: usize = 24;
    pub const BIND_INANY: usize = 28;
    pub const HASH: usize = 32;
    pub const SK: usize = 40;
    pub const MIGRATING_SK: usize = 48;
    pub const SIZE: usize = 56;
}

#[derive(Debug)]
pub struct SkReuseport {
    pub caps: Caps,
}

impl ProgTypeOps for SkReuseport {
    fn name(&self) -> &str {
        "sk_reuseport"
    }

    fn func_proto(&self, func: i32) -> Option<&'static FuncProto> {
        match func {
            id::KTIME_GET_COARSE_NS => proto(func).filter(|p| p.implemented),
            _ => base(func, self.caps),
        }
    }

    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        let o = usize::try_from(off).ok().filter(|&o| o < off::SIZE)?;
        let sz = size as usize;
        if access != Access::Read || sz == 0 || o % sz != 0 {
            return None;
        }
        let exact = |field| Some(CtxAccess { field, field_size: 0 });
        match o {
            off::DATA if sz == 8 => exact(CtxField::Packet),
            off::DATA_END if sz == 8 => exact(CtxField::PacketEnd),
            off::HASH => {
                if sz == 4 {
                    scalar()
                } else {
                    None
                }
            }
            off::ETH_PROTOCOL..off::IP_PROTOCOL if sz < 2 => None,
            off::LEN..off::HASH => {
                if narrow_ok(sz, 4) {
                    narrow(4)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        None
    }

    fn packet_access(&self) -> (bool, bool) {
        (true, false)
    }

    fn ctx_size(&self) -> u32 {
        off::SIZE as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Access::{Read, Write};

    #[test]
    fn ctx() {
        let r = SkReuseport { caps: Caps::ROOT };
        assert_eq!(r.ctx_access(0, 8, Read).map(|a| a.field), Some(CtxField::Packet));
        assert_eq!(r.ctx_access(8, 8, Read).map(|a| a.field), Some(CtxField::PacketEnd));
        assert_eq!(r.ctx_access(0, 4, Read), None);
        assert_eq!(r.ctx_access(16, 4, Read).map(|a| a.field_size), Some(4));
        assert!(r.ctx_access(17, 1, Read).is_some());
        assert!(r.ctx_access(20, 2, Read).is_some());
        assert_eq!(r.ctx_access(20, 1, Read), None, "eth_protocol is at least 2 bytes");
        assert_eq!(r.ctx_access(21, 1, Read), None);
        assert!(r.ctx_access(24, 1, Read).is_some());
        assert!(r.ctx_access(32, 4, Read).is_some());
        assert_eq!(r.ctx_access(32, 2, Read), None);
        assert_eq!(r.ctx_access(36, 4, Read), None);
        assert_eq!(r.ctx_access(40, 8, Read), None, "sk");
        assert_eq!(r.ctx_access(48, 8, Read), None, "migrating_sk");
        assert_eq!(r.ctx_access(16, 4, Write), None);
        assert_eq!(r.ctx_access(56, 4, Read), None);
        assert!(r.func_proto(id::KTIME_GET_COARSE_NS).is_some());
        assert_eq!(r.packet_access(), (true, false));
    }
}
