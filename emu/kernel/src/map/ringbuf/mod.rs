//! `BPF_MAP_TYPE_RINGBUF`: the multi-producer, single-consumer ring buffer
//! (kernel/bpf/ringbuf.c, Documentation/bpf/ringbuf.rst).
//!
//! Memory (one memfd, [`area`]): page 0 holds the consumer position, page 1
//! the producer position, then `max_entries` bytes of data. The kernel's
//! own view maps the data twice back to back, so a record that wraps past
//! the end is contiguous; user space maps the memfd itself (consumer page
//! writable, the rest read-only, as `ringbuf_map_mmap_kern()` enforces) —
//! see `bpfemu_user::ringbuf`.
//!
//! ```text
//!  file:   | cons pos | prod pos | data 0..D |
//!  view:   | cons pos | prod pos | data 0..D | data 0..D |
//!  record: | len:u32 (bit31 BUSY, bit30 DISCARD) | pg_off:u32 | payload, padded to 8 |
//! ```
//!
//! Protocol. Positions only grow (`& mask` gives the offset). Reservation
//! is serialised by a lock: read the consumer position (acquire, pairs with
//! the consumer's release store), check `new_prod - cons <= mask`, write the
//! header with BUSY, publish the producer position (release, pairs with the
//! consumer's acquire load). Commit is lockless: swap the header to its
//! final length (BUSY cleared, DISCARD maybe set; release, pairs with the
//! consumer's acquire load of the header), then wake the consumer if it
//! waits exactly at this record (or if forced). In NMI context reservation
//! only tries the lock once and fails when it is held, even with room.
//!
//! Emulated: sizes and errnos of `ringbuf_map_alloc()`, the record format,
//! the self-pacing wakeup rule (counted, and signalled through an eventfd
//! that stands for the map fd's poll wait queue), the named preemption
//! point `ringbuf_reserve_locked` right after the lock is taken; the
//! dynptr helpers are in `crate::helpers::dynptr`. Not emulated:
//! `BPF_MAP_TYPE_USER_RINGBUF`, `irq_work` deferral of wakeups (they
//! happen at commit).

pub mod area;
pub mod mmap;

use crate::errno::Errno;
use crate::map::create::{MapCreateAttr, MapEnv};
use crate::map::{Map, MapDef, MapOps, meta_equal_common};
use crate::uapi;
use area::{Mapping, Seg};
use parking_lot::Mutex;
use rustix::fd::{AsFd, OwnedFd};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// `PAGE_SIZE` of the emulated kernel (x86-64).
pub const PAGE_SIZE: u64 = 4096;
/// `BPF_RINGBUF_BUSY_BIT`.
pub const BUSY_BIT: u32 = 1 << 31;
/// `BPF_RINGBUF_DISCARD_BIT`.
pub const DISCARD_BIT: u32 = 1 << 30;
/// `BPF_RINGBUF_HDR_SZ`.
pub const HDR_SZ: u64 = 8;
/// `RINGBUF_MAX_RECORD_SZ`: `UINT_MAX / 4`.
pub const MAX_RECORD_SZ: u64 = (u32::MAX / 4) as u64;
/// `RINGBUF_POS_PAGES`: consumer and producer pages.
pub const POS_PAGES: u64 = 2;
/// `RINGBUF_PGOFF`: pages of `struct bpf_ringbuf` before the consumer page
/// (the wait queue, irq_work, lock...: one page on x86-64).
pub const PGOFF: u64 = 1;
/// `RINGBUF_MAX_DATA_SZ`: the 24-bit page offset in headers, less the meta
/// pages (64 GiB).
pub const MAX_DATA_SZ: u64 = ((1 << 24) - POS_PAGES - PGOFF) * PAGE_SIZE;
/// `BPF_RB_NO_WAKEUP`.
pub const BPF_RB_NO_WAKEUP: u64 = 1;
/// `BPF_RB_FORCE_WAKEUP`.
pub const BPF_RB_FORCE_WAKEUP: u64 = 2;
/// `bpf_ringbuf_query` flags: `BPF_RB_AVAIL_DATA`, `BPF_RB_RING_SIZE`,
/// `BPF_RB_CONS_POS`, `BPF_RB_PROD_POS`.
pub const BPF_RB_AVAIL_DATA: u64 = 0;
pub const BPF_RB_RING_SIZE: u64 = 1;
pub const BPF_RB_CONS_POS: u64 = 2;
pub const BPF_RB_PROD_POS: u64 = 3;

/// Offset of the consumer position in the file and in every view.
pub const CONS_OFF: usize = 0;
/// Offset of the producer position.
pub const PROD_OFF: usize = PAGE_SIZE as usize;
/// Offset of the data area.
pub const DATA_OFF: usize = 2 * PAGE_SIZE as usize;

/// The ring buffer proper (`struct bpf_ringbuf`), usable without a map
/// (tests, benchmarks).
pub struct RingBuf {
    view: Mapping,
    memfd: OwnedFd,
    /// Stands for the map's poll wait queue: one `write` per wakeup.
    eventfd: OwnedFd,
    mask: u64,
    lock: Mutex<()>,
    wakeups: AtomicU64,
}

impl fmt::Debug for RingBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingBuf")
            .field("size", &(self.mask + 1))
            .field("cons", &self.consumer_pos())
            .field("prod", &self.producer_pos())
            .finish_non_exhaustive()
    }
}

/// Why a reservation failed (the helper returns NULL for each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReserveError {
    /// Larger than `RINGBUF_MAX_RECORD_SZ` or than the ring.
    TooBig,
    /// Not enough free space.
    Full,
    /// NMI context and the lock is held.
    Contended,
}

impl RingBuf {
    /// A ring of `size` data bytes (a power of 2 and a page multiple,
    /// checked by the map allocator).
    pub fn new(size: u64) -> Result<RingBuf, Errno> {
        let len = size as usize;
        let memfd = area::memfd("bpf-ringbuf", DATA_OFF as u64 + size).map_err(|_| Errno::ENOMEM)?;
        let segs = [
            Seg { file_off: 0, len: DATA_OFF + len, writable: true },
            Seg { file_off: DATA_OFF as u64, len, writable: true },
        ];
        let view = Mapping::new(memfd.as_fd(), &segs).map_err(|_| Errno::ENOMEM)?;
        let eventfd = rustix::event::eventfd(
            0,
            rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK,
        )
        .map_err(|_| Errno::ENOMEM)?;
        Ok(RingBuf { view, memfd, eventfd, mask: size - 1, lock: Mutex::new(()), wakeups: AtomicU64::new(0) })
    }

    /// Data size (`ringbuf_total_data_sz()`).
    pub fn size(&self) -> u64 {
        self.mask + 1
    }

    /// The memfd behind the ring (user space maps it).
    pub fn memfd(&self) -> &OwnedFd {
        &self.memfd
    }

    /// The eventfd signalled at each wakeup (user space polls it).
    pub fn eventfd(&self) -> &OwnedFd {
        &self.eventfd
    }

    /// Wakeups sent so far.
    pub fn wakeups(&self) -> u64 {
        self.wakeups.load(Ordering::Relaxed)
    }

    /// `smp_load_acquire(&rb->consumer_pos)`; pairs with the consumer's
    /// release store.
    pub fn consumer_pos(&self) -> u64 {
        self.view.u64_at(CONS_OFF).load(Ordering::Acquire)
    }

    /// `smp_load_acquire(&rb->producer_pos)`; pairs with the release store
    /// in [`RingBuf::reserve`].
    pub fn producer_pos(&self) -> u64 {
        self.view.u64_at(PROD_OFF).load(Ordering::Acquire)
    }

    /// `ringbuf_avail_data_sz()`.
    pub fn avail_data(&self) -> u64 {
        let cons = self.consumer_pos();
        self.producer_pos().wrapping_sub(cons)
    }

    /// `bpf_ringbuf_query()`: 0 for unknown flags.
    pub fn query(&self, flags: u64) -> u64 {
        match flags {
            BPF_RB_AVAIL_DATA => self.avail_data(),
            BPF_RB_RING_SIZE => self.size(),
            BPF_RB_CONS_POS => self.consumer_pos(),
            BPF_RB_PROD_POS => self.producer_pos(),
            _ => 0,
        }
    }

    /// The host address range of the data area as mapped (both copies):
    /// where records live, for checked-mode region tables.
    pub fn data_range(&self) -> (u64, u64) {
        (self.view.addr(DATA_OFF), 2 * self.size())
    }

    /// `__bpf_ringbuf_reserve()`: reserves `size` payload bytes and returns
    /// the payload's host address. `nmi`: only try the lock once.
    /// `locked` runs right after the lock is taken (the preemption point).
    pub fn reserve(&self, size: u64, nmi: bool, locked: impl FnOnce()) -> Result<u64, ReserveError> {
        if size > MAX_RECORD_SZ {
            return Err(ReserveError::TooBig);
        }
        let len = (size + HDR_SZ).next_multiple_of(8);
        if len > self.size() {
            return Err(ReserveError::TooBig);
        }
        let cons = self.consumer_pos();
        let _guard =
            if nmi { self.lock.try_lock().ok_or(ReserveError::Contended)? } else { self.lock.lock() };
        locked();
        // Only reservations (under the lock) store the producer position.
        let prod = self.view.u64_at(PROD_OFF).load(Ordering::Relaxed);
        let new_prod = prod.wrapping_add(len);
        if new_prod.wrapping_sub(cons) > self.mask {
            return Err(ReserveError::Full);
        }
        let hdr = DATA_OFF + (prod & self.mask) as usize;
        let pg_off = (hdr as u64 / PAGE_SIZE + PGOFF) as u32;
        self.view.u32_at(hdr + 4).store(pg_off, Ordering::Relaxed);
        self.view.u32_at(hdr).store(size as u32 | BUSY_BIT, Ordering::Relaxed);
        // Pairs with the consumer's acquire load of the producer position:
        // the BUSY header is visible before the position that covers it.
        self.view.u64_at(PROD_OFF).store(new_prod, Ordering::Release);
        Ok(self.view.addr(hdr + HDR_SZ as usize))
    }

    /// The header offset of the record whose payload is at `sample`, if
    /// `sample` is the payload of a reserved, uncommitted record of this
    /// ring (what `bpf_ringbuf_restore_from_rec()` finds from `pg_off`;
    /// here checked, so a bogus pointer of an unverified program is
    /// refused instead of followed).
    pub fn record_of(&self, sample: u64) -> Option<usize> {
        let off = self.view.offset_of(sample)?;
        if off < DATA_OFF + HDR_SZ as usize || !off.is_multiple_of(8) {
            return None;
        }
        // The second copy of the data: the same record.
        let mut hdr = off - HDR_SZ as usize;
        if hdr >= DATA_OFF + self.size() as usize {
            hdr -= self.size() as usize;
        }
        let len = self.view.u32_at(hdr).load(Ordering::Acquire);
        let pg_off = self.view.u32_at(hdr + 4).load(Ordering::Relaxed);
        (len & BUSY_BIT != 0 && u64::from(pg_off) == hdr as u64 / PAGE_SIZE + PGOFF).then_some(hdr)
    }

    /// The payload length in the header at offset `hdr` (flags masked).
    pub fn header_len(&self, hdr: usize) -> u32 {
        self.view.u32_at(hdr).load(Ordering::Acquire) & !(BUSY_BIT | DISCARD_BIT)
    }

    /// `bpf_ringbuf_commit()` of the record at header offset `hdr` (from
    /// [`RingBuf::record_of`]). Returns whether a wakeup was sent.
    pub fn commit(&self, hdr: usize, flags: u64, discard: bool) -> bool {
        let word = self.view.u32_at(hdr);
        let mut new_len = word.load(Ordering::Relaxed) ^ BUSY_BIT;
        if discard {
            new_len |= DISCARD_BIT;
        }
        // Release pairs with the consumer's acquire load of the header: the
        // payload written before is visible once BUSY is seen clear.
        word.swap(new_len, Ordering::AcqRel);
        let rec_pos = (hdr - DATA_OFF) as u64;
        let cons = self.consumer_pos() & self.mask;
        let wake = flags & BPF_RB_FORCE_WAKEUP != 0 || (cons == rec_pos && flags & BPF_RB_NO_WAKEUP == 0);
        if wake {
            self.wakeup();
        }
        wake
    }

    /// Wakes the consumer: counts, and signals the eventfd.
    fn wakeup(&self) {
        self.wakeups.fetch_add(1, Ordering::Relaxed);
        // A full eventfd counter (EAGAIN) is still a pending wakeup.
        let _ = rustix::io::write(&self.eventfd, &1u64.to_ne_bytes());
    }

    /// Copies `data` into the payload at host address `sample` (a record
    /// this ring reserved; see [`RingBuf::reserve`]).
    pub fn write_payload(&self, sample: u64, data: &[u8]) {
        let off = self.view.offset_of(sample).expect("payload address of this ring");
        self.view.write(off, data);
    }

    /// `bpf_ringbuf_output()` minus the flag check: reserve, copy, commit.
    /// Returns whether a wakeup was sent.
    pub fn output(
        &self,
        data: &[u8],
        flags: u64,
        nmi: bool,
        locked: impl FnOnce(),
    ) -> Result<bool, ReserveError> {
        let sample = self.reserve(data.len() as u64, nmi, locked)?;
        self.write_payload(sample, data);
        let hdr = self.view.offset_of(sample).expect("own record") - HDR_SZ as usize;
        Ok(self.commit(hdr, flags, false))
    }
}

/// The map (`struct bpf_ringbuf_map`).
#[derive(Debug)]
pub struct RingbufMap {
    pub rb: RingBuf,
}

/// `ringbuf_map_alloc()`.
pub fn alloc(attr: &MapCreateAttr, _env: &MapEnv, _inner: Option<&Map>) -> Result<Box<dyn MapOps>, Errno> {
    if attr.map_flags & !uapi::BPF_F_NUMA_NODE != 0 {
        return Err(Errno::EINVAL);
    }
    let n = u64::from(attr.max_entries);
    if attr.key_size != 0 || attr.value_size != 0 || !n.is_power_of_two() || !n.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    if n > MAX_DATA_SZ {
        return Err(Errno::E2BIG);
    }
    Ok(Box::new(RingbufMap { rb: RingBuf::new(n)? }))
}

impl MapOps for RingbufMap {
    fn lookup(&self, _key: &[u8]) -> Option<u64> {
        None
    }
    fn sys_lookup(&self, _key: &[u8], _out: &mut [u8], _flags: u64) -> Result<(), Errno> {
        Err(Errno::ENOTSUPP)
    }
    fn update(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<(), Errno> {
        Err(Errno::ENOTSUPP)
    }
    fn delete(&self, _key: &[u8]) -> Result<(), Errno> {
        Err(Errno::ENOTSUPP)
    }
    fn get_next_key(&self, _key: Option<&[u8]>, _next: &mut [u8]) -> Result<(), Errno> {
        Err(Errno::ENOTSUPP)
    }
    fn meta_equal(&self, meta: &MapDef, inner: &MapDef) -> Option<bool> {
        Some(meta_equal_common(meta, inner) && meta.max_entries == inner.max_entries)
    }
    fn value_regions(&self) -> Vec<(u64, u64, bool)> {
        let (start, len) = self.rb.data_range();
        vec![(start, len, true)]
    }
    fn for_each(&self, _f: &mut dyn FnMut(&[u8], u64) -> bool) -> u32 {
        0
    }
    fn btf_name(&self) -> &'static str {
        "bpf_ringbuf_map"
    }
    fn mem_usage(&self) -> u64 {
        // `ringbuf_map_mem_usage()`: the map struct, the pages, and the
        // page array (meta pages plus the data pages twice).
        let data_pages = self.rb.size() / PAGE_SIZE;
        let meta_pages = PGOFF + POS_PAGES;
        256 + (meta_pages + data_pages) * PAGE_SIZE + (meta_pages + 2 * data_pages) * 8
    }
    fn as_ringbuf(&self) -> Option<&RingBuf> {
        Some(&self.rb)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod model;
