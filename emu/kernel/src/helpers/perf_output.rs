//! `bpf_perf_event_output(ctx, map, flags, data, size)`
//! (kernel/trace/bpf_trace.c, the tracing variant): copies `size` bytes as
//! a RAW sample into the perf buffer of the slot `flags` names (an index,
//! or `BPF_F_CURRENT_CPU`) of a perf event array. `-EINVAL` for other flag
//! bits, `-E2BIG` for an index past `max_entries`, `-ENOENT` for an empty
//! slot, `-EOPNOTSUPP` for an event bound to another CPU, `-ENOSPC` when
//! the buffer is full (the sample is counted lost). The buffers are
//! [`crate::map::perf_event_array`]. `ctx` is not read (no skb/xdp
//! variants).

use super::guest::{self, Ptr};
use super::neg;
use crate::errno::Errno;
use crate::runctx;

/// `long bpf_perf_event_output(ctx, map, flags, data, size)`.
pub extern "C" fn perf_event_output(_ctx: u64, map: u64, flags: u64, data: u64, size: u64) -> u64 {
    let found = runctx::with(|c| {
        let m = c.map_at(map).filter(|m| m.ops.as_perf_event_array().is_some())?;
        let bytes = guest::read(c, data, size as usize, Ptr::Proven);
        Some((m, bytes, c.cpu))
    })
    .flatten();
    let Some((m, bytes, cpu)) = found else { return neg(Errno::EINVAL) };
    let Some(bytes) = bytes else { return neg(Errno::EFAULT) };
    match m.ops.as_perf_event_array().expect("perf array").output(cpu, flags, &bytes) {
        Ok(()) => 0,
        Err(e) => neg(e),
    }
}
