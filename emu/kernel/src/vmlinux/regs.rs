//! `struct pt_regs` of x86-64 in vmlinux BTF: the kprobe context, which
//! libbpf's `<bpf/bpf_tracing.h>` (`PT_REGS_PARM1()`, `BPF_KPROBE()`)
//! reads argument registers from.
//!
//! Kernel counterpart: arch/x86/include/asm/ptrace.h (168 bytes, 21
//! `unsigned long` registers in the order the entry code pushes them).
//! Deviation: since Linux 6.9 `cs` and `ss` sit in unions with FRED views
//! (`csx`, `fred_cs`, ...); here they are plain `unsigned long` members, at
//! the same offsets.

use super::c::ULong;
use super::{BtfDescribe, Field, VmlinuxBuilder};
use bpfemu_btf::TypeId;

/// The registers of `struct pt_regs`, in layout order (8 bytes each).
pub const PT_REGS: [&str; 21] = [
    "r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx", "si", "di",
    "orig_ax", "ip", "cs", "flags", "sp", "ss",
];

/// `struct pt_regs` (x86-64).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PtRegs {
    pub regs: [u64; 21],
}

impl BtfDescribe for PtRegs {
    fn describe(b: &mut VmlinuxBuilder) -> TypeId {
        b.composite("pt_regs", false, size_of::<Self>(), |b| {
            let ulong = b.ty::<ULong>();
            PT_REGS.iter().enumerate().map(|(i, name)| Field::new(name, ulong, i * 8)).collect()
        })
    }
}

const _: () = assert!(size_of::<PtRegs>() == 168);

#[cfg(test)]
mod tests {
    use crate::vmlinux::{struct_id, vmlinux_btf};

    #[test]
    fn pt_regs_layout() {
        let btf = vmlinux_btf();
        let id = struct_id(&btf, "pt_regs").unwrap();
        assert_eq!(btf.resolve_size(id).unwrap(), 168);
        assert_eq!(btf.member_offset(id, "di").unwrap().bit_offset, 14 * 64);
        assert_eq!(btf.member_offset(id, "ip").unwrap().bit_offset, 16 * 64);
    }
}
