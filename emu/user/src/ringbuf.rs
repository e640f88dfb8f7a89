//! The ring buffer consumer: libbpf's `ring_buffer` API (libbpf
//! `src/ringbuf.c`: `ring_buffer__new`, `__add`, `__poll`, `__consume`,
//! `__epoll_fd`).
//!
//! Each ring is mapped by this process from the map's memory file (see
//! [`Seam::map_mmap_fd`]): the consumer page read-write, then the producer
//! page and the data pages twice, read-only — as libbpf maps the map fd and
//! as Linux enforces. Records are read in place (the double mapping makes
//! a wrapped record contiguous). One epoll set holds every ring's wakeup fd.
//!
//! The consume loop, per ring: load the producer position (acquire, pairs
//! with the producer's release store at reservation); for each record up to
//! it, load its header (acquire, pairs with the release swap at commit),
//! stop at a BUSY record (reserved earlier, not committed yet: it holds
//! back later records), skip a DISCARD one, call the callback with the
//! payload otherwise, then store the new consumer position (release, pairs
//! with the producer's acquire load before it checks for space). A negative
//! callback return stops consumption and is returned.
//!
//! Poll readiness emulates epoll on a ring buffer map fd: level-triggered,
//! with `ringbuf_map_poll_kern()` answering EPOLLIN while data is
//! available. A ring joins the "ready list" when it is added with data
//! available or when a wakeup arrives (its eventfd), stays there while it
//! is reported, and leaves it when a re-check finds no data — so a record
//! committed without a wakeup is still seen by the next poll unless a poll
//! in between found the ring empty. The re-check also closes the race of a
//! commit that misses the consumer's position store (no wakeup) while the
//! consumer stops at that record's BUSY header.
//!
//! Simulation mode ([`RingBufferOpts::sim`]): [`RingBuffer::poll`] never
//! waits on wall time (epoll with a zero timeout), so a scenario stays
//! deterministic and instant.

use crate::error::host_errno as sys;
use crate::seam::Seam;
use bpfemu_kernel::bpf::attr::{BpfAttr, ObjInfo};
use bpfemu_kernel::errno::Errno;
use bpfemu_kernel::map::ringbuf::area::{Mapping, Seg};
use bpfemu_kernel::map::ringbuf::{BUSY_BIT, CONS_OFF, DATA_OFF, DISCARD_BIT, HDR_SZ, PROD_OFF};
use bpfemu_kernel::uapi::MapType;
use rustix::event::epoll;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use std::fmt;
use std::sync::atomic::Ordering;

/// A record callback: the payload; a negative return stops consumption.
pub type SampleFn<'a> = Box<dyn FnMut(&[u8]) -> i32 + 'a>;

/// Options of [`RingBuffer::new`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingBufferOpts {
    /// Simulation mode: `poll` never blocks.
    pub sim: bool,
}

/// One mapped ring (`struct ring` in libbpf).
struct Ring<'a> {
    map_fd: i32,
    view: Mapping,
    mask: u64,
    wake: OwnedFd,
    cb: SampleFn<'a>,
    /// On epoll's ready list (see the module doc).
    ready: bool,
}

/// A set of ring buffers and their callbacks (`struct ring_buffer`).
pub struct RingBuffer<'a> {
    rings: Vec<Ring<'a>>,
    epoll: OwnedFd,
    opts: RingBufferOpts,
}

impl fmt::Debug for RingBuffer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fds: Vec<i32> = self.rings.iter().map(|r| r.map_fd).collect();
        f.debug_struct("RingBuffer").field("map_fds", &fds).field("opts", &self.opts).finish()
    }
}

impl<'a> RingBuffer<'a> {
    /// `ring_buffer__new(map_fd, sample_cb, ctx, opts)`.
    pub fn new(
        seam: &mut dyn Seam,
        map_fd: i32,
        cb: SampleFn<'a>,
        opts: RingBufferOpts,
    ) -> Result<Self, Errno> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC).map_err(sys)?;
        let mut rb = RingBuffer { rings: Vec::new(), epoll, opts };
        rb.add(seam, map_fd, cb)?;
        Ok(rb)
    }

    /// `ring_buffer__add()`: another ring in the same epoll set; `EINVAL`
    /// if `map_fd` is not a ring buffer.
    pub fn add(&mut self, seam: &mut dyn Seam, map_fd: i32, cb: SampleFn<'a>) -> Result<(), Errno> {
        let mut info = None;
        seam.bpf(BpfAttr::ObjGetInfoByFd { bpf_fd: map_fd, info: &mut info })?;
        let Some(ObjInfo::Map(info)) = info else { return Err(Errno::EINVAL) };
        if info.map_type != MapType::Ringbuf as u32 {
            return Err(Errno::EINVAL);
        }
        let size = info.max_entries as usize;
        let file = seam.map_mmap_fd(map_fd)?;
        let page = PROD_OFF;
        let segs = [
            Seg { file_off: CONS_OFF as u64, len: page, writable: true },
            Seg { file_off: PROD_OFF as u64, len: page + size, writable: false },
            Seg { file_off: DATA_OFF as u64, len: size, writable: false },
        ];
        let view = Mapping::new(file.as_fd(), &segs).map_err(sys)?;
        let wake = seam.map_poll_fd(map_fd)?;
        let idx = self.rings.len() as u64;
        epoll::add(&self.epoll, &wake, epoll::EventData::new_u64(idx), epoll::EventFlags::IN).map_err(sys)?;
        let mut ring = Ring { map_fd, view, mask: size as u64 - 1, wake, cb, ready: false };
        // `ep_insert()` polls the new item once.
        ring.ready = ring.avail() > 0;
        self.rings.push(ring);
        Ok(())
    }

    /// `ring_buffer__epoll_fd()`.
    pub fn epoll_fd(&self) -> BorrowedFd<'_> {
        self.epoll.as_fd()
    }

    /// Number of rings.
    pub fn len(&self) -> usize {
        self.rings.len()
    }

    /// Whether there is no ring (never, after `new`).
    pub fn is_empty(&self) -> bool {
        self.rings.is_empty()
    }

    /// `ring_buffer__poll(timeout_ms)`: waits for a wakeup (at most
    /// `timeout_ms`, -1 forever; never in simulation mode), then consumes
    /// the rings that were woken. Records consumed, or the negative
    /// callback return / `-errno`.
    pub fn poll(&mut self, timeout_ms: i32) -> i64 {
        let timeout = if self.opts.sim || timeout_ms == 0 {
            Some(rustix::event::Timespec { tv_sec: 0, tv_nsec: 0 })
        } else if timeout_ms < 0 {
            None
        } else {
            Some(rustix::event::Timespec {
                tv_sec: i64::from(timeout_ms / 1000),
                tv_nsec: i64::from(timeout_ms % 1000) * 1_000_000,
            })
        };
        let mut waited = false;
        loop {
            // Re-check the ready list (`ep_item_poll()`): rings without data
            // leave it.
            for r in &mut self.rings {
                r.ready = r.ready && r.avail() > 0;
            }
            if self.rings.iter().any(|r| r.ready) {
                let mut total = 0i64;
                for ring in self.rings.iter_mut().filter(|r| r.ready) {
                    let n = ring.consume(u64::MAX);
                    if n < 0 {
                        return n;
                    }
                    total += n;
                }
                return total;
            }
            if waited {
                return 0;
            }
            waited = true;
            let mut events: Vec<epoll::Event> = Vec::with_capacity(self.rings.len().max(1));
            if let Err(e) = epoll::wait(&self.epoll, spare(&mut events), timeout.as_ref()) {
                return if e == rustix::io::Errno::INTR { 0 } else { -i64::from(e.raw_os_error()) };
            }
            for ev in &events {
                if let Some(ring) = self.rings.get_mut(ev.data.u64() as usize) {
                    let mut buf = [0u8; 8];
                    let _ = rustix::io::read(&ring.wake, &mut buf);
                    ring.ready = true;
                }
            }
        }
    }

    /// `ring_buffer__consume()`: consumes every ring without waiting.
    pub fn consume(&mut self) -> i64 {
        let mut total = 0i64;
        for ring in &mut self.rings {
            let n = ring.consume(u64::MAX);
            if n < 0 {
                return n;
            }
            total += n;
        }
        total
    }

    /// `ring_buffer__consume_n()`: at most `n` records.
    pub fn consume_n(&mut self, n: u64) -> i64 {
        let mut total = 0i64;
        for ring in &mut self.rings {
            let left = n - total as u64;
            if left == 0 {
                break;
            }
            let got = ring.consume(left);
            if got < 0 {
                return got;
            }
            total += got;
        }
        total
    }

    /// `ring__consume()` of ring `idx` (in `add` order).
    pub fn ring_consume(&mut self, idx: usize) -> i64 {
        match self.rings.get_mut(idx) {
            Some(r) => r.consume(u64::MAX),
            None => -i64::from(Errno::EINVAL.raw()),
        }
    }

    /// `ring__avail_data_size()` of ring `idx`.
    pub fn ring_avail(&self, idx: usize) -> Option<u64> {
        Some(self.rings.get(idx)?.avail())
    }
}

fn spare(v: &mut Vec<epoll::Event>) -> rustix::buffer::SpareCapacity<'_, epoll::Event> {
    rustix::buffer::spare_capacity(v)
}

impl Ring<'_> {
    /// `ringbuf_avail_data_sz()` as this mapping shows it.
    fn avail(&self) -> u64 {
        let cons = self.view.u64_at(CONS_OFF).load(Ordering::Acquire);
        self.view.u64_at(PROD_OFF).load(Ordering::Acquire).wrapping_sub(cons)
    }

    /// `ringbuf_process_ring()`: records consumed (at most `max`), or the
    /// callback's negative return. The payload is lent to the callback in
    /// place (the one `unsafe` of this crate).
    #[allow(unsafe_code)]
    fn consume(&mut self, max: u64) -> i64 {
        let cons_word = self.view.u64_at(CONS_OFF);
        let prod_word = self.view.u64_at(PROD_OFF);
        let mut cons = cons_word.load(Ordering::Acquire);
        let mut cnt: u64 = 0;
        loop {
            let mut progressed = false;
            let prod = prod_word.load(Ordering::Acquire);
            while cons < prod {
                let hdr = DATA_OFF + (cons & self.mask) as usize;
                let len = self.view.u32_at(hdr).load(Ordering::Acquire);
                if len & BUSY_BIT != 0 {
                    return cnt as i64;
                }
                progressed = true;
                let size = len & !(BUSY_BIT | DISCARD_BIT);
                cons += (u64::from(size) + HDR_SZ).next_multiple_of(8);
                if len & DISCARD_BIT == 0 {
                    // SAFETY: the record is committed (BUSY clear, seen by an
                    // acquire load) and lies below the producer position and
                    // above the consumer position we have not released yet:
                    // no producer writes it until the consumer position moves
                    // past it, which happens after the callback returns.
                    let sample = unsafe { self.view.slice(hdr + HDR_SZ as usize, size as usize) };
                    let r = (self.cb)(sample);
                    if r < 0 {
                        cons_word.store(cons, Ordering::Release);
                        return i64::from(r);
                    }
                    cnt += 1;
                }
                cons_word.store(cons, Ordering::Release);
                if cnt >= max {
                    return cnt as i64;
                }
            }
            if !progressed {
                return cnt as i64;
            }
        }
    }
}

#[cfg(test)]
mod tests;
