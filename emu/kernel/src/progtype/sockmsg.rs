//! `BPF_PROG_TYPE_SK_MSG` and `BPF_PROG_TYPE_CGROUP_DEVICE` (small ctx
//! structs of include/uapi/linux/bpf.h).
//!
//! - [`SkMsg`] (net/core/filter.c `sk_msg_is_valid_access()`): `struct
//!   sk_msg_md`, read only, aligned; `data` / `data_end` as `u64` packet
//!   pointers (direct packet reads and writes), the address, port and
//!   `size` fields as whole `u32`s. Helpers: `sk_msg_func_proto()` →
//!   `get_current_pid_tgid`, `get_current_uid_gid`, then
//!   `bpf_base_func_proto()`. Any return value. Deviation: `sk`
//!   (`PTR_TO_SOCKET`) is refused (no socket pointer type yet).
//! - [`CgroupDevice`] (kernel/bpf/cgroup.c `cgroup_dev_is_valid_access()`):
//!   `struct bpf_cgroup_dev_ctx` (`access_type`, `major`, `minor`), read
//!   only; `access_type` in narrow loads, the others as whole `u32`s.
//!   Helpers: `bpf_base_func_proto()` (which has held the former cgroup
//!   ones, `get_current_uid_gid` and `get_current_comm`, since 6.16's
//!   "bpf: Allow some trace helpers for all prog types"). Return value 0
//!   or 1.

use super::funcs::{Caps, base, tracing};
use super::{narrow, narrow_ok, scalar};
use bpfemu_verifier::env::{Access, CtxAccess, CtxField, ProgTypeOps};
use bpfemu_verifier::proto::{FuncProto, id};

/// Byte offsets of `struct sk_msg_md`.
pub mod msg_off {
    pub const DATA: usize = 0;
    pub const DATA_END: usize = 8;
    pub const FAMILY: usize = 16;
    /// `size`, the last `u32` field.
    pub const SIZE_FIELD: usize = 68;
    pub const SK: usize = 72;
    pub const SIZE: usize = 80;
}

/// `BPF_PROG_TYPE_SK_MSG`.
#[derive(Debug)]
pub struct SkMsg {
    pub caps: Caps,
}

impl ProgTypeOps for SkMsg {
    fn name(&self) -> &str {
        "sk_msg"
    }

    fn func_proto(&self, func: i32) -> Option<&'static FuncProto> {
        match func {
            id::GET_CURRENT_PID_TGID | id::GET_CURRENT_UID_GID => tracing(func, self.caps),
            _ => base(func, self.caps),
        }
    }

    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        let o = usize::try_from(off).ok().filter(|&o| o < msg_off::SIZE)?;
        let sz = size as usize;
        if access == Access::Write || sz == 0 || o % sz != 0 {
            return None;
        }
        let exact = |field| Some(CtxAccess { field, field_size: 0 });
        match (o, sz) {
            (msg_off::DATA, 8) => exact(CtxField::Packet),
            (msg_off::DATA_END, 8) => exact(CtxField::PacketEnd),
            (msg_off::FAMILY..=msg_off::SIZE_FIELD, 4) => scalar(),
            _ => None,
        }
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        None
    }

    fn packet_access(&self) -> (bool, bool) {
        (true, true)
    }

    fn ctx_size(&self) -> u32 {
        msg_off::SIZE as u32
    }
}

/// `sizeof(struct bpf_cgroup_dev_ctx)`.
pub const DEV_CTX_SIZE: usize = 12;

/// `BPF_PROG_TYPE_CGROUP_DEVICE`.
#[derive(Debug)]
pub struct CgroupDevice {
    pub caps: Caps,
}

impl ProgTypeOps for CgroupDevice {
    fn name(&self) -> &str {
        "cgroup_device"
    }

    fn func_proto(&self, func: i32) -> Option<&'static FuncProto> {
        base(func, self.caps)
    }

    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        let o = usize::try_from(off).ok()?;
        let sz = size as usize;
        if access == Access::Write || sz == 0 || o + sz > DEV_CTX_SIZE || o % sz != 0 {
            return None;
        }
        if o < 4 {
            if narrow_ok(sz, 4) { narrow(4) } else { None }
        } else if sz == 4 {
            scalar()
        } else {
            None
        }
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        Some((0, 1))
    }

    fn ctx_size(&self) -> u32 {
        DEV_CTX_SIZE as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Access::{Read, Write};

    #[test]
    fn sk_msg() {
        let m = SkMsg { caps: Caps::ROOT };
        assert_eq!(m.ctx_access(0, 8, Read).map(|a| a.field), Some(CtxField::Packet));
        assert_eq!(m.ctx_access(8, 8, Read).map(|a| a.field), Some(CtxField::PacketEnd));
        assert_eq!(m.ctx_access(0, 4, Read), None);
        assert!(m.ctx_access(16, 4, Read).is_some());
        assert!(m.ctx_access(68, 4, Read).is_some());
        assert_eq!(m.ctx_access(16, 2, Read), None);
        assert_eq!(m.ctx_access(72, 8, Read), None, "sk");
        assert_eq!(m.ctx_access(16, 4, Write), None);
        assert_eq!(m.ctx_access(80, 4, Read), None);
        assert!(m.func_proto(id::GET_CURRENT_UID_GID).is_some());
        // In the base set since 6.16 (CAP_PERFMON).
        assert!(m.func_proto(id::GET_CURRENT_COMM).is_some());
        assert!(m.func_proto(id::KTIME_GET_COARSE_NS).is_none());
    }

    #[test]
    fn cgroup_device() {
        let d = CgroupDevice { caps: Caps::ROOT };
        assert_eq!(d.ctx_access(0, 4, Read).map(|a| a.field_size), Some(4));
        assert!(d.ctx_access(0, 2, Read).is_some());
        assert!(d.ctx_access(2, 2, Read).is_some());
        assert!(d.ctx_access(4, 4, Read).is_some());
        assert!(d.ctx_access(8, 4, Read).is_some());
        assert_eq!(d.ctx_access(4, 2, Read), None);
        assert_eq!(d.ctx_access(8, 8, Read), None);
        assert_eq!(d.ctx_access(12, 4, Read), None);
        assert_eq!(d.ctx_access(0, 4, Write), None);
        assert_eq!(d.return_range(), Some((0, 1)));
        assert!(d.func_proto(id::GET_CURRENT_COMM).is_some());
    }
}
