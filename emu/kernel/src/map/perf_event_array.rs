//! `BPF_MAP_TYPE_PERF_EVENT_ARRAY` and the per-CPU perf ring buffers behind
//! it: the baseline the BPF ring buffer was designed to beat
//! (kernel/bpf/arraymap.c `perf_event_array_map_ops`, kernel/events/
//! ring_buffer.c `perf_output_begin()` / `perf_output_end()`,
//! `bpf_perf_event_output()` in kernel/trace/bpf_trace.c).
//!
//! Each slot holds one [`PerfBuf`]: a memfd of one metadata page laid out
//! like `struct perf_event_mmap_page` (`data_head` at 1024, `data_tail` at
//! 1032, `data_offset` at 1040, `data_size` at 1048) followed by a power of
//! two of data pages, mapped once (records wrap: consumers copy them out, as
//! libbpf's perf_buffer does). Records are `struct perf_event_header`
//! `{ u32 type; u16 misc; u16 size; }` then, for `PERF_RECORD_SAMPLE` with
//! `PERF_SAMPLE_RAW`, `u32 size` and the raw bytes padded so the record is
//! 8-byte aligned; `PERF_RECORD_LOST` carries `u64 id; u64 lost`.
//! Protocol: the producer loads `data_tail` (acquire, pairs with the
//! consumer's release store), writes the record, stores `data_head`
//! (release, pairs with the consumer's acquire load). A record that does not
//! fit is counted lost (`-ENOSPC`); the count is emitted as a LOST record
//! before the next sample that fits with it. Every `wakeup_events` samples
//! the consumer is woken (counted, and an eventfd is signalled).
//!
//! Opening: Linux user space calls `perf_event_open(PERF_COUNT_SW_BPF_OUTPUT,
//! cpu)`, mmaps the event fd, and stores the fd in the map at key `cpu`.
//! bpfemu has no perf event fds: [`Kernel::perf_event_open_bpf_output`] does
//! all three steps in one call (a BPF-output event on `cpu` installed at
//! key `cpu`), and [`Kernel::perf_mmap_fds`] hands out the memfd and the
//! wakeup eventfd of a slot. A plain `BPF_MAP_UPDATE_ELEM` with any fd
//! answers `EBADF`, as `perf_event_get()` does for a file that is not a perf
//! event. Not emulated: `BPF_MAP_LOOKUP_ELEM` (`ENOTSUPP`, as the kernel
//! without `map_fd_sys_lookup_elem`), hardware events, sample types other
//! than RAW, `bpf_perf_event_read*`, releasing slots when the opening file
//! closes.

use super::create::{MapCreateAttr, MapEnv};
use super::fd_array::{FdArray, fd_array_alloc_check};
use super::ringbuf::area::{Mapping, Seg};
use super::ringbuf::{PAGE_SIZE, area};
use super::{Map, MapDef, MapOps};
use crate::bpf::objects::Obj;
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::uapi::MapType;
use parking_lot::Mutex;
use rustix::fd::{AsFd, OwnedFd};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Offset of `data_head` in `struct perf_event_mmap_page`.
pub const DATA_HEAD_OFF: usize = 1024;
/// Offset of `data_tail`.
pub const DATA_TAIL_OFF: usize = 1032;
/// Offset of `data_offset`.
pub const DATA_OFFSET_OFF: usize = 1040;
/// Offset of `data_size`.
pub const DATA_SIZE_OFF: usize = 1048;
/// `PERF_RECORD_LOST`.
pub const PERF_RECORD_LOST: u32 = 2;
/// `PERF_RECORD_SAMPLE`.
pub const PERF_RECORD_SAMPLE: u32 = 9;
/// `BPF_F_INDEX_MASK`.
pub const BPF_F_INDEX_MASK: u64 = 0xffff_ffff;
/// `BPF_F_CURRENT_CPU`.
pub const BPF_F_CURRENT_CPU: u64 = BPF_F_INDEX_MASK;
/// `BPF_F_CTXLEN_MASK`: `bpf_perf_event_output` appends ctx bytes (skb /
/// xdp only; refused here).
pub const BPF_F_CTXLEN_MASK: u64 = 0xfffff << 32;

/// One CPU's perf ring buffer (a BPF-output perf event with its mmap).
pub struct PerfBuf {
    cpu: u32,
    view: Mapping,
    memfd: OwnedFd,
    eventfd: OwnedFd,
    data_size: u64,
    wakeup_events: u32,
    /// Serialises producers of this buffer (one CPU's, and nested NMIs).
    state: Mutex<PerfState>,
    wakeups: AtomicU64,
}

#[derive(Debug, Default)]
struct PerfState {
    lost: u64,
    since_wakeup: u32,
}

impl fmt::Debug for PerfBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PerfBuf")
            .field("cpu", &self.cpu)
            .field("data_size", &self.data_size)
            .finish_non_exhaustive()
    }
}

impl PerfBuf {
    /// A buffer for `cpu` of `pages` data pages (a power of two; the
    /// kernel's `perf_mmap()` refuses others with `EINVAL`), waking the
    /// consumer every `wakeup_events` samples (0 counts as 1).
    pub fn new(cpu: u32, pages: u32, wakeup_events: u32) -> Result<PerfBuf, Errno> {
        if pages == 0 || !pages.is_power_of_two() || pages > 1 << 16 {
            return Err(Errno::EINVAL);
        }
        let data_size = u64::from(pages) * PAGE_SIZE;
        let len = PAGE_SIZE as usize + data_size as usize;
        let memfd = area::memfd("perf-event", len as u64).map_err(|_| Errno::ENOMEM)?;
        let view = Mapping::new(memfd.as_fd(), &[Seg { file_off: 0, len, writable: true }])
            .map_err(|_| Errno::ENOMEM)?;
        view.u64_at(DATA_OFFSET_OFF).store(PAGE_SIZE, Ordering::Relaxed);
        view.u64_at(DATA_SIZE_OFF).store(data_size, Ordering::Relaxed);
        let eventfd = rustix::event::eventfd(
            0,
            rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK,
        )
        .map_err(|_| Errno::ENOMEM)?;
        Ok(PerfBuf {
            cpu,
            view,
            memfd,
            eventfd,
            data_size,
            wakeup_events: wakeup_events.max(1),
            state: Mutex::new(PerfState::default()),
            wakeups: AtomicU64::new(0),
        })
    }

    /// The CPU the event is bound to (`event->oncpu`).
    pub fn cpu(&self) -> u32 {
        self.cpu
    }

    /// Bytes of the data area.
    pub fn data_size(&self) -> u64 {
        self.data_size
    }

    /// The memfd (consumers map it whole, read-write, to store `data_tail`).
    pub fn memfd(&self) -> &OwnedFd {
        &self.memfd
    }

    /// The eventfd signalled at each wakeup.
    pub fn eventfd(&self) -> &OwnedFd {
        &self.eventfd
    }

    /// Wakeups sent.
    pub fn wakeups(&self) -> u64 {
        self.wakeups.load(Ordering::Relaxed)
    }

    /// Records lost and not yet reported.
    pub fn pending_lost(&self) -> u64 {
        self.state.lock().lost
    }

    /// Writes `data` at ring position `pos`, wrapping.
    fn put(&self, pos: u64, data: &[u8]) {
        let off = (pos % self.data_size) as usize;
        let first = data.len().min(self.data_size as usize - off);
        self.view.write(PAGE_SIZE as usize + off, &data[..first]);
        if first < data.len() {
            self.view.write(PAGE_SIZE as usize, &data[first..]);
        }
    }

    /// `perf_event_output()` of a RAW sample: `Err(ENOSPC)` (and one more
    /// lost record) when it does not fit.
    pub fn output(&self, raw: &[u8]) -> Result<(), Errno> {
        let raw_size = (raw.len() + 4).next_multiple_of(8) - 4;
        let rec_size = 8 + 4 + raw_size;
        if rec_size > usize::from(u16::MAX) {
            return Err(Errno::E2BIG);
        }
        let mut st = self.state.lock();
        let head = self.view.u64_at(DATA_HEAD_OFF).load(Ordering::Relaxed);
        let tail = self.view.u64_at(DATA_TAIL_OFF).load(Ordering::Acquire);
        let lost_size = if st.lost > 0 { 24 } else { 0 };
        let need = (rec_size + lost_size) as u64;
        if self.data_size - head.wrapping_sub(tail) < need {
            st.lost += 1;
            return Err(Errno::ENOSPC);
        }
        let mut rec = Vec::with_capacity(rec_size + lost_size);
        if st.lost > 0 {
            rec.extend_from_slice(&PERF_RECORD_LOST.to_ne_bytes());
            rec.extend_from_slice(&0u16.to_ne_bytes());
            rec.extend_from_slice(&24u16.to_ne_bytes());
            rec.extend_from_slice(&0u64.to_ne_bytes());
            rec.extend_from_slice(&st.lost.to_ne_bytes());
            st.lost = 0;
        }
        rec.extend_from_slice(&PERF_RECORD_SAMPLE.to_ne_bytes());
        rec.extend_from_slice(&0u16.to_ne_bytes());
        rec.extend_from_slice(&(rec_size as u16).to_ne_bytes());
        rec.extend_from_slice(&(raw_size as u32).to_ne_bytes());
        rec.extend_from_slice(raw);
        rec.resize(rec.len() + raw_size - raw.len(), 0);
        self.put(head, &rec);
        // Pairs with the consumer's acquire load of data_head.
        self.view.u64_at(DATA_HEAD_OFF).store(head + rec.len() as u64, Ordering::Release);
        st.since_wakeup += 1;
        if st.since_wakeup >= self.wakeup_events {
            st.since_wakeup = 0;
            self.wakeups.fetch_add(1, Ordering::Relaxed);
            let _ = rustix::io::write(&self.eventfd, &1u64.to_ne_bytes());
        }
        Ok(())
    }
}

/// The map: an fd array of perf buffers.
#[derive(Debug)]
pub struct PerfEventArrayMap {
    slots: FdArray<PerfBuf>,
    max_entries: u32,
}

/// `fd_array_map_alloc_check()` + `array_map_alloc()`.
pub fn alloc(attr: &MapCreateAttr, _env: &MapEnv, _inner: Option<&Map>) -> Result<Box<dyn MapOps>, Errno> {
    fd_array_alloc_check(attr, MapType::PerfEventArray)?;
    Ok(Box::new(PerfEventArrayMap {
        slots: FdArray::alloc(attr.max_entries)?,
        max_entries: attr.max_entries,
    }))
}

impl PerfEventArrayMap {
    /// The buffer in slot `index`.
    pub fn buf(&self, index: u64) -> Option<Arc<PerfBuf>> {
        self.slots.get(index)
    }

    /// Number of slots.
    pub fn max_entries(&self) -> u32 {
        self.max_entries
    }

    /// `__bpf_perf_event_output()`: slot by `flags` (an index or
    /// `BPF_F_CURRENT_CPU`) on CPU `cpu`.
    pub fn output(&self, cpu: u32, flags: u64, raw: &[u8]) -> Result<(), Errno> {
        if flags & !BPF_F_INDEX_MASK != 0 {
            return Err(Errno::EINVAL);
        }
        let index = if flags & BPF_F_INDEX_MASK == BPF_F_CURRENT_CPU { u64::from(cpu) } else { flags };
        if index >= u64::from(self.max_entries) {
            return Err(Errno::E2BIG);
        }
        let buf = self.slots.get(index).ok_or(Errno::ENOENT)?;
        if buf.cpu != cpu {
            return Err(Errno::EOPNOTSUPP);
        }
        buf.output(raw)
    }
}

impl MapOps for PerfEventArrayMap {
    fn lookup(&self, _key: &[u8]) -> Option<u64> {
        None
    }
    fn sys_lookup(&self, _key: &[u8], _out: &mut [u8], _flags: u64) -> Result<(), Errno> {
        Err(Errno::ENOTSUPP)
    }
    fn update(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }
    fn sys_update(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }
    fn delete(&self, key: &[u8]) -> Result<(), Errno> {
        self.slots.delete(key)
    }
    fn get_next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<(), Errno> {
        self.slots.get_next_key(key, next)
    }
    fn is_fd_map(&self) -> bool {
        true
    }
    /// No fd of this emulator is a perf event: `perf_event_get()` fails.
    fn fd_update(&self, key: &[u8], _obj: &Obj, flags: u64) -> Result<(), Errno> {
        self.slots.update_index(key, flags)?;
        Err(Errno::EBADF)
    }
    fn meta_equal(&self, meta: &MapDef, inner: &MapDef) -> Option<bool> {
        Some(super::meta_equal_common(meta, inner))
    }
    fn for_each(&self, _f: &mut dyn FnMut(&[u8], u64) -> bool) -> u32 {
        0
    }
    fn btf_name(&self) -> &'static str {
        "bpf_array"
    }
    fn mem_usage(&self) -> u64 {
        self.slots.mem_usage()
    }
    fn release_uref(&self) {
        // `perf_event_fd_array_release()` drops the events the closing file
        // opened; with one process, all of them.
        self.slots.clear();
    }
    fn as_perf_event_array(&self) -> Option<&PerfEventArrayMap> {
        Some(self)
    }
}

impl Kernel {
    /// `perf_event_open()` of a `PERF_COUNT_SW_BPF_OUTPUT` event on `cpu`
    /// with `pages` data pages and `wakeup_events`, then its mmap, then
    /// `BPF_MAP_UPDATE_ELEM` at key `cpu` of the perf event array at
    /// `map_fd` (see the module doc). `EINVAL` for a CPU that does not
    /// exist or a bad page count, `E2BIG` for a key past `max_entries`.
    pub fn perf_event_open_bpf_output(
        &mut self,
        map_fd: i32,
        cpu: u32,
        pages: u32,
        wakeup_events: u32,
    ) -> Result<(), Errno> {
        if cpu >= self.sim.nr_cpus() {
            return Err(Errno::EINVAL);
        }
        let obj = self.fd_obj(map_fd)?;
        let map = obj.map()?;
        let pa = map.ops.as_perf_event_array().ok_or(Errno::EINVAL)?;
        let key = cpu.to_ne_bytes();
        let i = pa.slots.update_index(&key, 0)?;
        let buf = PerfBuf::new(cpu, pages, wakeup_events)?;
        pa.slots.store(i, Arc::new(buf));
        Ok(())
    }

    /// The memfd and wakeup eventfd of the perf buffer at `key` of the perf
    /// event array at `map_fd` (`ENOENT` for an empty slot), and its CPU and
    /// data size.
    pub fn perf_mmap_fds(&self, map_fd: i32, key: u32) -> Result<(OwnedFd, OwnedFd, u32, u64), Errno> {
        let obj = self.fd_obj(map_fd)?;
        let map = obj.map()?;
        let pa = map.ops.as_perf_event_array().ok_or(Errno::EINVAL)?;
        if key >= pa.max_entries {
            return Err(Errno::E2BIG);
        }
        let buf = pa.slots.get_key(&key.to_ne_bytes()).ok_or(Errno::ENOENT)?;
        let m = buf.memfd.try_clone().map_err(|_| Errno::EMFILE)?;
        let e = buf.eventfd.try_clone().map_err(|_| Errno::EMFILE)?;
        Ok((m, e, buf.cpu, buf.data_size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_u64(b: &PerfBuf, off: usize) -> u64 {
        b.view.u64_at(off).load(Ordering::Acquire)
    }

    #[test]
    fn samples_lost_records_and_wakeups() {
        let b = PerfBuf::new(0, 1, 2).unwrap();
        assert_eq!(read_u64(&b, DATA_SIZE_OFF), 4096);
        assert_eq!(read_u64(&b, DATA_OFFSET_OFF), 4096);
        b.output(&[1, 2, 3, 4, 5]).unwrap();
        // 8 header + 4 size + 5 data padded to 8 → 24 bytes.
        assert_eq!(read_u64(&b, DATA_HEAD_OFF), 24);
        assert_eq!(b.wakeups(), 0);
        b.output(&[7; 4]).unwrap();
        assert_eq!(b.wakeups(), 1);
        let big = vec![0u8; 4060];
        assert_eq!(b.output(&big), Err(Errno::ENOSPC));
        assert_eq!(b.pending_lost(), 1);
        // The consumer catches up: the next sample carries the LOST record.
        b.view.u64_at(DATA_TAIL_OFF).store(read_u64(&b, DATA_HEAD_OFF), Ordering::Release);
        b.output(&[9; 8]).unwrap();
        assert_eq!(b.pending_lost(), 0);
        let mut hdr = [0u8; 8];
        b.view.read(PAGE_SIZE as usize + 40, &mut hdr);
        assert_eq!(u32::from_ne_bytes(hdr[..4].try_into().unwrap()), PERF_RECORD_LOST);
        assert_eq!(PerfBuf::new(0, 3, 1).unwrap_err(), Errno::EINVAL);
    }

    #[test]
    fn map_rules() {
        let attr = MapCreateAttr {
            map_type: MapType::PerfEventArray as u32,
            key_size: 4,
            value_size: 4,
            max_entries: 2,
            ..Default::default()
        };
        let m = alloc(&attr, &MapEnv { nr_cpus: 2, bpf_capable: true }, None).unwrap();
        let pa = m.as_perf_event_array().unwrap();
        assert_eq!(pa.output(0, BPF_F_CURRENT_CPU, b"x"), Err(Errno::ENOENT));
        assert_eq!(pa.output(0, 5, b"x"), Err(Errno::E2BIG));
        assert_eq!(pa.output(0, 1 << 40, b"x"), Err(Errno::EINVAL));
        pa.slots.store(1, Arc::new(PerfBuf::new(1, 1, 1).unwrap()));
        assert_eq!(pa.output(0, 1, b"x"), Err(Errno::EOPNOTSUPP));
        assert_eq!(pa.output(1, BPF_F_CURRENT_CPU, b"x"), Ok(()));
        assert_eq!(m.sys_lookup(&1u32.to_ne_bytes(), &mut [0; 4], 0), Err(Errno::ENOTSUPP));
        let bad = MapCreateAttr { value_size: 8, ..attr };
        assert_eq!(alloc(&bad, &MapEnv { nr_cpus: 2, bpf_capable: true }, None).unwrap_err(), Errno::EINVAL);
    }
}
