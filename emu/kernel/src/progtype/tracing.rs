//! Tracing program types (kernel/trace/bpf_trace.c): kprobe, tracepoint,
//! perf_event, raw_tracepoint, and BTF tracing (fentry/fexit/fmod_ret,
//! iter, raw_tp btf). All read their ctx only; helpers come from
//! `bpf_tracing_func_proto()` ([`super::funcs::tracing`]).
//!
//! - [`Kprobe`] (`kprobe_prog_is_valid_access()`): `struct pt_regs`
//!   (x86-64: 21 registers, 168 bytes), any size aligned to itself.
//! - [`Tracepoint`] (`tp_prog_is_valid_access()`): the raw trace record,
//!   offsets below `PERF_MAX_TRACE_SIZE` (2048), aligned.
//! - [`PerfEvent`] (`pe_prog_is_valid_access()`): `struct
//!   bpf_perf_event_data` = `regs` (whole 8-byte loads), `sample_period`
//!   and `addr` (narrow loads of 8-byte fields).
//! - [`RawTracepoint`] (`raw_tp_prog_is_valid_access()` →
//!   `bpf_tracing_ctx_access()`): `u64 args[12]`, aligned loads.
//! - BTF tracing (fentry/fexit/fmod_ret): [`super::btf_tracing`].
//!
//! Return values (`check_return_code()`): any value.

use super::funcs::{Caps, tracing};
use super::{narrow, narrow_ok, scalar};
use crate::uapi::ProgType;
use bpfemu_verifier::env::{Access, CtxAccess, ProgTypeOps};
use bpfemu_verifier::proto::{FuncProto, id};

/// `sizeof(struct pt_regs)` on x86-64.
pub const PT_REGS_SIZE: usize = 21 * 8;
/// `PERF_MAX_TRACE_SIZE`.
pub const PERF_MAX_TRACE_SIZE: usize = 2048;
/// `MAX_BPF_FUNC_ARGS`.
pub const MAX_BPF_FUNC_ARGS: usize = 12;
/// `offsetof(struct bpf_perf_event_data, sample_period)` and `addr`.
pub const PE_SAMPLE_PERIOD: usize = PT_REGS_SIZE;
pub const PE_ADDR: usize = PT_REGS_SIZE + 8;
pub const PE_SIZE: usize = PT_REGS_SIZE + 16;

/// Offset in `[0, limit)`, read, aligned to the size.
fn aligned_read(off: i32, size: u32, access: Access, limit: usize) -> Option<usize> {
    let o = usize::try_from(off).ok().filter(|&o| o < limit)?;
    let sz = size as usize;
    (access == Access::Read && sz != 0 && o % sz == 0).then_some(o)
}

macro_rules! tracing_funcs {
    ($ty:expr) => {
        fn func_proto(&self, id: i32) -> Option<&'static FuncProto> {
            tracing(id, self.caps)
        }

        fn check_get_func_ip(&self) -> Result<(), String> {
            Err(get_func_ip_refused($ty))
        }
    };
}

/// `check_get_func_ip()`'s refusal for a program type without a
/// trampoline (or kprobe).
pub fn get_func_ip_refused(ty: ProgType) -> String {
    format!("func bpf_get_func_ip#{} not supported for program type {}", id::GET_FUNC_IP, ty.raw())
}

/// `BPF_PROG_TYPE_KPROBE`.
#[derive(Debug)]
pub struct Kprobe {
    pub caps: Caps,
}

impl ProgTypeOps for Kprobe {
    fn name(&self) -> &str {
        "kprobe"
    }

    /// `kprobe_prog_func_proto()` gives kprobes their own
    /// `bpf_get_func_ip` (the probed address), which bpfemu does not
    /// emulate (kprobes never run): unknown here.
    fn func_proto(&self, id: i32) -> Option<&'static FuncProto> {
        if id == id::GET_FUNC_IP { None } else { tracing(id, self.caps) }
    }

    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        let o = aligned_read(off, size, access, PT_REGS_SIZE)?;
        if o + size as usize > PT_REGS_SIZE { None } else { scalar() }
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        None
    }

    fn ctx_size(&self) -> u32 {
        PT_REGS_SIZE as u32
    }
}

/// `BPF_PROG_TYPE_TRACEPOINT`.
#[derive(Debug)]
pub struct Tracepoint {
    pub caps: Caps,
}

impl ProgTypeOps for Tracepoint {
    fn name(&self) -> &str {
        "tracepoint"
    }

    tracing_funcs!(ProgType::Tracepoint);

    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        aligned_read(off, size, access, PERF_MAX_TRACE_SIZE)?;
        scalar()
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        None
    }
}

/// `BPF_PROG_TYPE_PERF_EVENT`.
#[derive(Debug)]
pub struct PerfEvent {
    pub caps: Caps,
}

impl ProgTypeOps for PerfEvent {
    fn name(&self) -> &str {
        "perf_event"
    }

    tracing_funcs!(ProgType::PerfEvent);

    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        let o = aligned_read(off, size, access, PE_SIZE)?;
        if o >= PE_SAMPLE_PERIOD {
            if narrow_ok(size as usize, 8) { narrow(8) } else { None }
        } else if size == 8 {
            scalar()
        } else {
            None
        }
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        None
    }

    fn ctx_size(&self) -> u32 {
        PE_SIZE as u32
    }
}

/// `BPF_PROG_TYPE_RAW_TRACEPOINT` (without a BTF target).
#[derive(Debug)]
pub struct RawTracepoint {
    pub caps: Caps,
}

impl ProgTypeOps for RawTracepoint {
    fn name(&self) -> &str {
        "raw_tracepoint"
    }

    tracing_funcs!(ProgType::RawTracepoint);

    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        aligned_read(off, size, access, 8 * MAX_BPF_FUNC_ARGS)?;
        scalar()
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        None
    }

    fn ctx_size(&self) -> u32 {
        (8 * MAX_BPF_FUNC_ARGS) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Access::{Read, Write};

    #[test]
    fn kprobe() {
        let k = Kprobe { caps: Caps::ROOT };
        assert!(k.ctx_access(0, 8, Read).is_some());
        assert!(k.ctx_access(160, 8, Read).is_some());
        assert!(k.ctx_access(164, 4, Read).is_some());
        assert_eq!(k.ctx_access(168, 8, Read), None);
        assert_eq!(k.ctx_access(4, 8, Read), None);
        assert_eq!(k.ctx_access(0, 8, Write), None);
        assert_eq!(k.ctx_access(-8, 8, Read), None);
        assert!(k.func_proto(id::GET_CURRENT_PID_TGID).is_some());
        assert!(k.func_proto(id::KTIME_GET_COARSE_NS).is_none());
        assert!(k.func_proto(id::GET_FUNC_IP).is_none(), "the kprobe flavour is not emulated");
    }

    #[test]
    fn get_func_ip_offered_then_refused() {
        let t = Tracepoint { caps: Caps::ROOT };
        assert!(t.func_proto(id::GET_FUNC_IP).is_some());
        assert_eq!(
            t.check_get_func_ip(),
            Err("func bpf_get_func_ip#173 not supported for program type 5".into())
        );
        let r = RawTracepoint { caps: Caps::ROOT };
        assert_eq!(
            r.check_get_func_ip(),
            Err("func bpf_get_func_ip#173 not supported for program type 17".into())
        );
        let p = PerfEvent { caps: Caps::ROOT };
        assert!(p.check_get_func_ip().unwrap_err().ends_with("program type 7"));
        assert!(t.func_proto(id::GET_FUNC_ARG).is_none());
    }

    #[test]
    fn tracepoint_and_raw_tp() {
        let t = Tracepoint { caps: Caps::ROOT };
        assert!(t.ctx_access(2040, 8, Read).is_some());
        assert!(t.ctx_access(2047, 1, Read).is_some());
        assert_eq!(t.ctx_access(2048, 1, Read), None);
        assert_eq!(t.ctx_access(6, 4, Read), None);
        assert_eq!(t.ctx_access(8, 4, Write), None);
        let r = RawTracepoint { caps: Caps::ROOT };
        assert!(r.ctx_access(88, 8, Read).is_some());
        assert!(r.ctx_access(4, 4, Read).is_some());
        assert_eq!(r.ctx_access(96, 8, Read), None);
        assert_eq!(r.ctx_access(4, 8, Read), None);
        assert_eq!(r.ctx_access(0, 8, Write), None);
    }

    #[test]
    fn perf_event() {
        let p = PerfEvent { caps: Caps::ROOT };
        assert!(p.ctx_access(0, 8, Read).is_some());
        assert_eq!(p.ctx_access(0, 4, Read), None, "regs are whole longs");
        assert_eq!(p.ctx_access(168, 8, Read).map(|a| a.field_size), Some(8));
        assert_eq!(p.ctx_access(172, 4, Read).map(|a| a.field_size), Some(8));
        assert!(p.ctx_access(176, 8, Read).is_some());
        assert_eq!(p.ctx_access(184, 8, Read), None);
        assert_eq!(p.ctx_access(168, 8, Write), None);
        assert_eq!(p.ctx_size(), 184);
    }
}
