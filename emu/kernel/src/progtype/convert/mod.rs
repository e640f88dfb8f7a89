//! Per-type ctx access conversion: the `convert_ctx_access` callbacks of
//! the kernel's `struct bpf_verifier_ops` (net/core/filter.c
//! `bpf_convert_ctx_access()`, `tc_cls_act_convert_ctx_access()`,
//! `sk_skb_convert_ctx_access()`, `xdp_convert_ctx_access()`,
//! `flow_dissector_convert_ctx_access()`, `sk_lookup_convert_ctx_access()`,
//! `sk_reuseport_convert_ctx_access()`, `sk_msg_convert_ctx_access()`;
//! kernel/trace/bpf_trace.c `pe_prog_convert_ctx_access()`).
//!
//! After verification every ctx load and store of a program is handed to
//! its type's [`CtxConv::convert_ctx_access`] (by the pass in
//! [`crate::bpf::load::rewrite`], which does the narrow-load widening and
//! masking that `convert_ctx_accesses()` does around the callback). The
//! program then runs on the emulated kernel struct of [`kern`] instead of
//! the uapi one.
//!
//! Emulated: the kernel structs here embed the uapi image unchanged and
//! append the 64-bit packet pointers, so `data`, `data_end` and
//! `data_meta` of `__sk_buff` and `xdp_md` (`u32` in the uapi) become
//! 64-bit loads of [`kern::SkBuffKern`] / [`kern::XdpBuffKern`]; every
//! other field is loaded from the embedded uapi image at its own offset
//! (the kernel loads it from wherever `struct sk_buff` keeps it, a layout
//! nobody can observe). Types whose ctx has no 32-bit pointers
//! (sk_lookup, sk_reuseport, sk_msg, perf_event) convert every access to
//! itself, so only the narrow-load rewriting shows. Types without a
//! callback in the kernel (syscall, kprobe, tracepoint, raw tracepoint,
//! cgroup_device, tracing) are not rewritten at all ([`for_type`] gives
//! `None`).

pub mod kern;

use crate::progtype::skb::off;
use crate::uapi::ProgType;
use bpfemu_isa::Insn;
use bpfemu_isa::opcode::{BPF_DW, BPF_LDX, BPF_MEM};

/// The ctx layout a program type's accesses are converted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtxConv {
    /// `struct __sk_buff` → [`kern::SkBuffKern`].
    SkBuff,
    /// `struct xdp_md` → [`kern::XdpBuffKern`].
    Xdp,
    /// The ctx the program sees is the one it runs on.
    Same,
}

/// The conversion of `prog_type`, `None` for a type whose accesses stay
/// as they are (no `convert_ctx_access` in the kernel).
pub fn for_type(prog_type: ProgType) -> Option<CtxConv> {
    use ProgType as T;
    Some(match prog_type {
        T::SocketFilter
        | T::SchedCls
        | T::SchedAct
        | T::CgroupSkb
        | T::SkSkb
        | T::LwtIn
        | T::LwtOut
        | T::LwtXmit
        | T::FlowDissector => CtxConv::SkBuff,
        T::Xdp => CtxConv::Xdp,
        T::SkLookup | T::SkReuseport | T::SkMsg | T::PerfEvent => CtxConv::Same,
        _ => return None,
    })
}

/// `BPF_LDX_MEM(BPF_DW, dst, src, off)`.
fn ldx_dw(insn: Insn, off: usize) -> Insn {
    Insn::new(BPF_LDX | BPF_MEM | BPF_DW, insn.dst, insn.src, off as i16, 0)
}

impl CtxConv {
    /// Appends the instructions doing `insn` (a `BPF_MEM` load or store of
    /// a whole ctx field, as `convert_ctx_accesses()` hands it over) on the
    /// kernel struct; the size in bytes of the field they load
    /// (`target_size`).
    pub fn convert_ctx_access(self, insn: Insn, write: bool, out: &mut Vec<Insn>) -> u32 {
        let o = usize::try_from(insn.off).unwrap_or(usize::MAX);
        let ptr = match (self, write) {
            (CtxConv::SkBuff, false) => match o {
                off::DATA => Some(kern::SKB_DATA),
                off::DATA_END => Some(kern::SKB_DATA_END),
                off::DATA_META => Some(kern::SKB_DATA_META),
                _ => None,
            },
            (CtxConv::Xdp, false) => match o {
                kern::xdp_md::DATA => Some(kern::XDP_DATA),
                kern::xdp_md::DATA_END => Some(kern::XDP_DATA_END),
                kern::xdp_md::DATA_META => Some(kern::XDP_DATA_META),
                _ => None,
            },
            _ => None,
        };
        match ptr {
            Some(k) => {
                out.push(ldx_dw(insn, k));
                8
            }
            None => {
                out.push(insn);
                size_bytes(insn.code)
            }
        }
    }
}

/// The access size of a load or store opcode, in bytes.
pub fn size_bytes(code: u8) -> u32 {
    match code & 0x18 {
        0x00 => 4,
        0x08 => 2,
        0x10 => 1,
        _ => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_become_64_bit_loads() {
        let ld = |off: usize| Insn::new(BPF_LDX | BPF_MEM, 2, 1, off as i16, 0);
        let mut out = Vec::new();
        assert_eq!(CtxConv::SkBuff.convert_ctx_access(ld(off::DATA), false, &mut out), 8);
        assert_eq!(out, [ldx_dw(ld(0), kern::SKB_DATA)]);
        out.clear();
        assert_eq!(CtxConv::SkBuff.convert_ctx_access(ld(0), false, &mut out), 4);
        assert_eq!(out, [ld(0)]);
        out.clear();
        CtxConv::Xdp.convert_ctx_access(ld(4), false, &mut out);
        assert_eq!(out, [ldx_dw(ld(0), kern::XDP_DATA_END)]);
        assert_eq!(for_type(ProgType::Syscall), None);
        assert_eq!(for_type(ProgType::FlowDissector), Some(CtxConv::SkBuff));
    }
}
