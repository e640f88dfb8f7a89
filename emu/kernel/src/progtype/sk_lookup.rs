//! `BPF_PROG_TYPE_SK_LOOKUP` (net/core/filter.c `sk_lookup_verifier_ops`):
//! ctx `struct bpf_sk_lookup` (include/uapi/linux/bpf.h), read only.
//!
//! `sk_lookup_is_valid_access()`: offsets inside the struct, aligned to
//! the size; the `u32` fields (`family`, `protocol`, `remote_ip4`,
//! `remote_ip6[]`, `local_ip4`, `local_ip6[]`, `local_port`,
//! `ingress_ifindex`) in narrow loads of a 4-byte field; `remote_port` as a
//! 2-byte field or, for compatibility, a 4-byte load; the 2 padding bytes
//! after it as a 2-byte field. Helpers: `sk_lookup_func_proto()`:
//! `bpf_sk_assign` (the sk_lookup flavour), `bpf_sk_release`, then
//! `bpf_sk_base_func_proto()`.
//! Return value in `[SK_DROP, SK_PASS]` (`check_return_code()`).
//!
//! `sk` is an 8-byte `PTR_TO_SOCKET_OR_NULL` (a `struct bpf_sock` once
//! null-checked): the hook ([`crate::net::sk_lookup`]) gives programs a
//! null `sk` or the selected socket's `struct bpf_sock` image.

use super::funcs::{Caps, sk_base};
use super::{narrow, narrow_ok, scalar};
use bpfemu_verifier::env::{Access, CtxAccess, CtxField, ProgTypeOps};
use bpfemu_verifier::proto::{FuncProto, id, proto};

/// Byte offsets of `struct bpf_sk_lookup`.
pub mod off {
    pub const SK: usize = 0;
    pub const FAMILY: usize = 8;
    pub const PROTOCOL: usize = 12;
    pub const REMOTE_IP4: usize = 16;
    pub const REMOTE_IP6: usize = 20;
    pub const REMOTE_PORT: usize = 36;
    pub const PAD: usize = 38;
    pub const LOCAL_IP4: usize = 40;
    pub const LOCAL_IP6: usize = 44;
    pub const LOCAL_PORT: usize = 60;
    pub const INGRESS_IFINDEX: usize = 64;
    /// `sizeof(struct bpf_sk_lookup)` (8-byte aligned by the `u64` union).
    pub const SIZE: usize = 72;
}

/// `SK_DROP`, `SK_PASS` (`enum sk_action`).
pub const SK_DROP: i64 = 0;
pub const SK_PASS: i64 = 1;

#[derive(Debug)]
pub struct SkLookup {
    pub caps: Caps,
}

impl ProgTypeOps for SkLookup {
    fn name(&self) -> &str {
        "sk_lookup"
    }

    /// `sk_lookup_func_proto()`: `sk_assign` and `sk_release`, then the
    /// socket base chain.
    fn func_proto(&self, func: i32) -> Option<&'static FuncProto> {
        match func {
            id::SK_ASSIGN | id::SK_RELEASE => proto(func).filter(|p| p.implemented),
            _ => sk_base(func, self.caps),
        }
    }

    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        let o = usize::try_from(off).ok().filter(|&o| o < off::SIZE)?;
        let sz = size as usize;
        if sz == 0 || o % sz != 0 || access != Access::Read {
            return None;
        }
        match o {
            off::SK if sz == 8 => Some(CtxAccess { field: CtxField::SockOrNull, field_size: 0 }),
            off::SK..off::FAMILY => None,
            off::FAMILY..off::REMOTE_PORT | off::LOCAL_IP4..off::SIZE if o < off::INGRESS_IFINDEX + 4 => {
                if narrow_ok(sz, 4) {
                    narrow(4)
                } else {
                    None
                }
            }
            off::REMOTE_PORT..off::PAD => {
                if sz == 4 {
                    scalar()
                } else if narrow_ok(sz, 2) {
                    narrow(2)
                } else {
                    None
                }
            }
            off::PAD..off::LOCAL_IP4 => {
                if narrow_ok(sz, 2) {
                    narrow(2)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        Some((SK_DROP, SK_PASS))
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
        let s = SkLookup { caps: Caps::ROOT };
        assert_eq!(s.ctx_access(8, 4, Read), Some(CtxAccess { field: CtxField::Scalar, field_size: 4 }));
        assert!(s.ctx_access(9, 1, Read).is_some());
        assert!(s.ctx_access(20, 4, Read).is_some());
        assert!(s.ctx_access(32, 4, Read).is_some());
        assert!(s.ctx_access(64, 4, Read).is_some());
        assert_eq!(s.ctx_access(64, 8, Read), None);
        assert_eq!(s.ctx_access(16, 8, Read), None);
        // remote_port: 2-byte field, 4-byte compat load, the padding.
        assert_eq!(s.ctx_access(36, 2, Read).map(|a| a.field_size), Some(2));
        assert_eq!(s.ctx_access(36, 4, Read).map(|a| a.field_size), Some(0));
        assert!(s.ctx_access(37, 1, Read).is_some());
        assert_eq!(s.ctx_access(38, 2, Read).map(|a| a.field_size), Some(2));
        assert_eq!(s.ctx_access(38, 4, Read), None);
        // sk, writes, outside.
        assert_eq!(s.ctx_access(0, 8, Read).map(|a| a.field), Some(CtxField::SockOrNull));
        assert_eq!(s.ctx_access(0, 4, Read), None);
        assert_eq!(s.ctx_access(8, 4, Write), None);
        assert_eq!(s.ctx_access(68, 4, Read), None);
        assert_eq!(s.ctx_access(72, 4, Read), None);
        assert_eq!(s.ctx_access(-8, 4, Read), None);
        assert_eq!(s.return_range(), Some((0, 1)));
    }
}
