//! Ring buffer helpers: `bpf_ringbuf_reserve`, `bpf_ringbuf_submit`,
//! `bpf_ringbuf_discard`, `bpf_ringbuf_output`, `bpf_ringbuf_query`
//! (kernel/bpf/ringbuf.c). The ring itself is [`crate::map::ringbuf`].
//!
//! The map in r1 is found among the run's maps by address (never
//! dereferenced). A reserved record is lent to the run as a writable region
//! (helpers taking it as an argument validate against it) until submitted
//! or discarded; in checked mode the program reaches it through the ring's
//! value region (the data area); verified runs skip the lending (their
//! helpers trust proven pointers). Submit and discard find the ring of a
//! record among the run's ring buffers and check that the pointer is the
//! payload of a reserved, uncommitted record — where the kernel trusts the
//! verifier and follows the header's `pg_off` — so a bogus pointer of an
//! unverified program gets `-EINVAL` (the kernel's helpers return 0, their
//! result is `RET_VOID`).
//!
//! `bpf_ringbuf_reserve` hits the preemption point
//! [`RESERVE_LOCKED_POINT`] right after taking the ring's lock; in NMI
//! context ([`RunCtx::nmi`](crate::runctx::RunCtx::nmi)) it only tries the
//! lock, and returns NULL when it is held.

use super::guest::{self, Ptr};
use super::neg;
use crate::errno::Errno;
use crate::map::Map;
use crate::map::ringbuf::{BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP};
use crate::runctx;
use std::sync::Arc;

/// The preemption point hit with the ring buffer's lock held.
pub const RESERVE_LOCKED_POINT: &str = "ringbuf_reserve_locked";

/// The ring-buffer map at `addr` among the run's maps, whether the run is
/// in NMI context, and whether it is verified.
fn ring_map(addr: u64) -> Option<(Arc<Map>, bool, bool)> {
    runctx::with(|c| c.map_at(addr).filter(|m| m.ops.as_ringbuf().is_some()).map(|m| (m, c.nmi, c.verified)))
        .flatten()
}

fn hit_locked_point() {
    runctx::preempt_point(RESERVE_LOCKED_POINT);
}

/// `void *bpf_ringbuf_reserve(map, size, flags)`: NULL on non-zero flags,
/// a size too big, a full ring, or a held lock in NMI context.
pub extern "C" fn ringbuf_reserve(map: u64, size: u64, flags: u64, _: u64, _: u64) -> u64 {
    if flags != 0 {
        return 0;
    }
    // Without preemption-point hooks (concurrent mode) the whole
    // reservation happens under one borrow of the run context; with them,
    // the hooks need the context while the lock is held, so the map is
    // taken out first.
    let fast = runctx::with(|c| {
        if c.points.is_some() {
            return None;
        }
        let rb = c.maps.iter().find(|m| m.addr() == map)?.ops.as_ringbuf()?;
        Some(match rb.reserve(size, c.nmi, || {}) {
            Ok(sample) => {
                if !c.verified {
                    c.add_region(sample, size, true);
                }
                sample
            }
            Err(_) => 0,
        })
    });
    if let Some(Some(r)) = fast {
        return r;
    }
    let Some((m, nmi, verified)) = ring_map(map) else { return 0 };
    let rb = m.ops.as_ringbuf().expect("ring map");
    match rb.reserve(size, nmi, hit_locked_point) {
        Ok(sample) => {
            // Helpers validate pointers of unverified runs only (see
            // `guest`): a verified run needs no region (and saves the cost).
            if !verified {
                runctx::with(|c| c.add_region(sample, size, true));
            }
            sample
        }
        Err(_) => 0,
    }
}

/// Submit or discard the record at `sample`. Everything happens under one
/// borrow of the run context: committing never consults it.
fn commit(sample: u64, flags: u64, discard: bool) -> u64 {
    runctx::with(|c| {
        let Some((rb, hdr)) = c.maps.iter().find_map(|m| {
            let rb = m.ops.as_ringbuf()?;
            rb.record_of(sample).map(|hdr| (rb, hdr))
        }) else {
            return neg(Errno::EINVAL);
        };
        let len = u64::from(rb.header_len(hdr));
        // The kernel does not check commit flags: unknown bits are ignored.
        rb.commit(hdr, flags, discard);
        if !c.verified {
            c.remove_region(sample, len, true);
        }
        0
    })
    .unwrap_or(neg(Errno::EINVAL))
}

/// `void bpf_ringbuf_submit(data, flags)`.
pub extern "C" fn ringbuf_submit(sample: u64, flags: u64, _: u64, _: u64, _: u64) -> u64 {
    commit(sample, flags, false)
}

/// `void bpf_ringbuf_discard(data, flags)`.
pub extern "C" fn ringbuf_discard(sample: u64, flags: u64, _: u64, _: u64, _: u64) -> u64 {
    commit(sample, flags, true)
}

/// `long bpf_ringbuf_output(map, data, size, flags)`: `-EINVAL` on unknown
/// flags, `-EAGAIN` when the record cannot be reserved.
pub extern "C" fn ringbuf_output(map: u64, data: u64, size: u64, flags: u64, _: u64) -> u64 {
    if flags & !(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP) != 0 {
        return neg(Errno::EINVAL);
    }
    let Some((m, nmi, _)) = ring_map(map) else { return neg(Errno::EINVAL) };
    let rb = m.ops.as_ringbuf().expect("ring map");
    if size > crate::map::ringbuf::MAX_RECORD_SZ || size > rb.size() {
        return neg(Errno::EAGAIN);
    }
    let Some(bytes) = runctx::with(|c| guest::read(c, data, size as usize, Ptr::Proven)).flatten() else {
        return neg(Errno::EFAULT);
    };
    match rb.output(&bytes, flags, nmi, hit_locked_point) {
        Ok(_) => 0,
        Err(_) => neg(Errno::EAGAIN),
    }
}

/// `u64 bpf_ringbuf_query(map, flags)`.
pub extern "C" fn ringbuf_query(map: u64, flags: u64, _: u64, _: u64, _: u64) -> u64 {
    match ring_map(map) {
        Some((m, _, _)) => m.ops.as_ringbuf().expect("ring map").query(flags),
        None => 0,
    }
}
