//! `BPF_PROG_TYPE_XDP` (net/core/filter.c `xdp_verifier_ops`): ctx
//! `struct xdp_md` ([`crate::vmlinux::types::XdpMd`]), six `u32` fields
//! read whole and aligned (`xdp_is_valid_access()` →
//! `__is_valid_xdp_access()`); `data`, `data_meta`, `data_end` load packet
//! pointers; `egress_ifindex` only for `BPF_XDP_DEVMAP` programs; no
//! writes. Direct packet reads and writes. Helpers: `xdp_func_proto()` →
//! `bpf_sk_base_func_proto()` (no XDP-specific helper is implemented).
//! Any return value.

use super::funcs::{Caps, sk_base};
use crate::uapi::AttachType;
use crate::vmlinux::types::XdpMd;
use bpfemu_verifier::env::{Access, CtxAccess, CtxField, ProgTypeOps};
use bpfemu_verifier::proto::FuncProto;
use std::mem::{offset_of, size_of};

#[derive(Debug)]
pub struct Xdp {
    pub caps: Caps,
    pub attach: Option<AttachType>,
}

impl ProgTypeOps for Xdp {
    fn name(&self) -> &str {
        "xdp"
    }

    fn func_proto(&self, id: i32) -> Option<&'static FuncProto> {
        sk_base(id, self.caps)
    }

    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        let o = usize::try_from(off).ok().filter(|&o| o < size_of::<XdpMd>())?;
        if o == offset_of!(XdpMd, egress_ifindex) && self.attach != Some(AttachType::XdpDevmap) {
            return None;
        }
        if access == Access::Write || size != 4 || o % 4 != 0 {
            return None;
        }
        let field = match o {
            x if x == offset_of!(XdpMd, data) => CtxField::Packet,
            x if x == offset_of!(XdpMd, data_meta) => CtxField::PacketMeta,
            x if x == offset_of!(XdpMd, data_end) => CtxField::PacketEnd,
            _ => CtxField::Scalar,
        };
        Some(CtxAccess { field, field_size: 0 })
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        None
    }

    fn packet_access(&self) -> (bool, bool) {
        (true, true)
    }

    fn ctx_size(&self) -> u32 {
        size_of::<XdpMd>() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Access::{Read, Write};

    #[test]
    fn ctx() {
        let x = Xdp { caps: Caps::ROOT, attach: None };
        assert_eq!(x.ctx_access(0, 4, Read).map(|a| a.field), Some(CtxField::Packet));
        assert_eq!(x.ctx_access(4, 4, Read).map(|a| a.field), Some(CtxField::PacketEnd));
        assert_eq!(x.ctx_access(8, 4, Read).map(|a| a.field), Some(CtxField::PacketMeta));
        assert_eq!(x.ctx_access(12, 4, Read).map(|a| a.field), Some(CtxField::Scalar));
        assert!(x.ctx_access(16, 4, Read).is_some());
        assert_eq!(x.ctx_access(20, 4, Read), None);
        assert_eq!(x.ctx_access(12, 2, Read), None);
        assert_eq!(x.ctx_access(0, 8, Read), None);
        assert_eq!(x.ctx_access(12, 4, Write), None);
        assert_eq!(x.ctx_access(24, 4, Read), None);
        let d = Xdp { caps: Caps::ROOT, attach: Some(AttachType::XdpDevmap) };
        assert!(d.ctx_access(20, 4, Read).is_some());
        assert_eq!(x.packet_access(), (true, true));
    }
}
