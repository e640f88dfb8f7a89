//! Kfunc calls and kernel-object access for every program type: a wrapper
//! around a type's [`ProgTypeOps`] that answers the kfunc questions from
//! the registry and walks vmlinux BTF for `PTR_TO_BTF_ID` loads.
//!
//! Kernel counterpart: the verifier asks `btf_kfunc_id_set_contains()`
//! for the program's type (not its `bpf_verifier_ops`), and loads through
//! `PTR_TO_BTF_ID` go to `btf_struct_access()` / `btf_struct_walk()`
//! (kernel/bpf/btf.c) unless the type overrides `btf_struct_access` (only
//! for writes: [`ProgTypeOps::btf_struct_write`], struct_ops
//! `bpf_dummy_ops`; for the others writes are refused). Emulated walk: members of
//! structs and unions (nested ones searched), arrays of scalars, scalars,
//! and pointers to structs (a full 8-byte load of the pointer gives
//! `PTR_TO_BTF_ID` of the pointee); writes are refused ("only read is
//! supported").

use super::{func_name, proto_for};
use crate::uapi::ProgType;
use bpfemu_btf::{Btf, Kind};
use bpfemu_verifier::env::{Access, CtxAccess, CtxField, KfuncProto, ProgTypeOps};
use bpfemu_verifier::proto::FuncProto;

/// A program type's rules with the kfunc registry and vmlinux BTF access.
/// Every method of [`ProgTypeOps`] not about kfuncs or kernel objects is
/// the wrapped type's.
pub struct WithKfuncs {
    pub prog_type: ProgType,
    pub inner: Box<dyn ProgTypeOps>,
}

impl std::fmt::Debug for WithKfuncs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WithKfuncs({:?}, {})", self.prog_type, self.inner.name())
    }
}

/// `ops` of a program of type `prog_type`, with kfuncs.
pub fn with_kfuncs(prog_type: ProgType, inner: Box<dyn ProgTypeOps>) -> Box<dyn ProgTypeOps> {
    Box::new(WithKfuncs { prog_type, inner })
}

impl ProgTypeOps for WithKfuncs {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn func_proto(&self, id: i32) -> Option<&'static FuncProto> {
        self.inner.func_proto(id)
    }

    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        self.inner.ctx_access(off, size, access)
    }

    fn ctx_access_logged(&self, off: i32, size: u32, access: Access) -> (Option<CtxAccess>, Option<String>) {
        self.inner.ctx_access_logged(off, size, access)
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        self.inner.return_range()
    }

    fn return_unchecked(&self) -> bool {
        self.inner.return_unchecked()
    }

    fn return_range_32bit(&self) -> bool {
        self.inner.return_range_32bit()
    }

    fn btf_struct_write(&self, btf_id: u32, off: i32, size: u32) -> Option<Result<(), String>> {
        self.inner.btf_struct_write(btf_id, off, size)
    }

    fn check_get_func_ip(&self) -> Result<(), String> {
        self.inner.check_get_func_ip()
    }

    fn packet_access(&self) -> (bool, bool) {
        self.inner.packet_access()
    }

    fn kfunc(&self, btf_id: u32) -> Option<KfuncProto> {
        proto_for(self.prog_type, btf_id)
    }

    fn kfunc_name(&self, btf_id: u32) -> Option<String> {
        func_name(btf_id)
    }

    fn btf_struct_access(
        &self,
        btf_id: u32,
        off: i32,
        size: u32,
        access: Access,
    ) -> Result<CtxField, String> {
        if access == Access::Write
            && let Some(verdict) = self.inner.btf_struct_write(btf_id, off, size)
        {
            // The type's own btf_struct_access (struct_ops): writes only.
            return verdict.map(|()| CtxField::Scalar);
        }
        struct_access(&crate::vmlinux::shared(), btf_id, off, size, access)
    }

    fn btf_type_name(&self, btf_id: u32) -> Option<String> {
        let btf = crate::vmlinux::shared();
        let t = btf.get(btf_id)?;
        (t.name_off != 0).then(|| btf.str_at(t.name_off).to_owned())
    }

    fn ld_abs_allowed(&self) -> bool {
        self.inner.ld_abs_allowed()
    }

    fn ctx_size(&self) -> u32 {
        self.inner.ctx_size()
    }
}

/// `btf_struct_access()` on `btf`: what a load of `size` bytes at `off`
/// of the struct `btf_id` yields, or the verifier's message.
pub fn struct_access(
    btf: &Btf,
    btf_id: u32,
    off: i32,
    size: u32,
    access: Access,
) -> Result<CtxField, String> {
    if access == Access::Write {
        return Err("only read is supported".into());
    }
    let off = u32::try_from(off).map_err(|_| format!("invalid negative access: off={off}"))?;
    walk(btf, btf_id, off, size, 0)
}

fn walk(btf: &Btf, id: u32, off: u32, size: u32, depth: u32) -> Result<CtxField, String> {
    let sname = btf.get(id).map(|t| btf.str_at(t.name_off).to_owned()).unwrap_or_default();
    let comp = match btf.kind(id) {
        Some(Kind::Struct(c) | Kind::Union(c)) if depth < 32 => c,
        _ => return Err(format!("Type '{sname}' is not a struct")),
    };
    if u64::from(off) + u64::from(size) > u64::from(comp.size) {
        return Err(format!("access beyond struct {sname} at off {off} size {size}"));
    }
    for m in &comp.members {
        if m.bitfield_size != 0 {
            continue;
        }
        let moff = m.bit_offset / 8;
        let mty = btf.skip_mods_and_typedefs(m.ty);
        let Ok(msize) = btf.resolve_size(mty) else { continue };
        if off < moff || off >= moff + msize {
            continue;
        }
        let mname = btf.str_at(m.name_off);
        match btf.kind(mty) {
            Some(Kind::Struct(_) | Kind::Union(_)) => return walk(btf, mty, off - moff, size, depth + 1),
            Some(Kind::Ptr { ty }) => {
                if off != moff || size != msize {
                    return Err(format!(
                        "cannot access ptr member {mname} with moff {moff} in struct {sname} with off {off} size {size}"
                    ));
                }
                let target = btf.skip_mods_and_typedefs(*ty);
                return Ok(match btf.kind(target) {
                    Some(Kind::Struct(_)) => {
                        CtxField::BtfId { btf_id: target, maybe_null: false, trusted: false }
                    }
                    _ => CtxField::Scalar,
                });
            }
            _ => {
                if off + size > moff + msize {
                    return Err(format!(
                        "access beyond the end of member {mname} (mend:{}) in struct {sname} with off {off} size {size}",
                        moff + msize
                    ));
                }
                return Ok(CtxField::Scalar);
            }
        }
    }
    Err(format!("struct {sname} doesn't have field at offset {off}"))
}
