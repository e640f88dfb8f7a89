//! The perf buffer consumer: libbpf's `perf_buffer` API (libbpf
//! `src/libbpf.c`: `perf_buffer__new`, `__poll`, `__consume`,
//! `__epoll_fd`, with `sample_cb` and `lost_cb`).
//!
//! `new` opens a BPF-output perf event per CPU and stores it in the perf
//! event array (through [`Seam::perf_event_open`], bpfemu's one-call stand-in
//! for `perf_event_open` + `mmap` + map update), then maps each buffer's
//! memory file itself and adds its wakeup fd to one epoll set.
//! [`PerfBuffer::open_existing`] attaches to buffers already installed.
//!
//! Reading a buffer (`perf_event_read_simple()` in tools/lib/bpf): load
//! `data_head` (acquire, pairs with the producer's release store), read
//! records from `data_tail` up to it — a record may wrap around the end of
//! the data area, so it is copied out in two parts — then store
//! `data_tail` (release, pairs with the producer's acquire load before its
//! space check). Per-CPU order only: nothing orders records of two CPUs.

use crate::error::host_errno as sys;
use crate::seam::Seam;
use bpfemu_kernel::bpf::attr::{BpfAttr, ObjInfo};
use bpfemu_kernel::errno::Errno;
use bpfemu_kernel::map::perf_event_array::{
    DATA_HEAD_OFF, DATA_TAIL_OFF, PERF_RECORD_LOST, PERF_RECORD_SAMPLE,
};
use bpfemu_kernel::map::ringbuf::PAGE_SIZE;
use bpfemu_kernel::map::ringbuf::area::{Mapping, Seg};
use bpfemu_kernel::uapi::MapType;
use rustix::event::epoll;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use std::fmt;
use std::sync::atomic::Ordering;

/// What a perf buffer delivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PerfEvent {
    /// A RAW sample (`sample_cb(ctx, cpu, data, size)`); `data` includes
    /// the padding the kernel adds to align the record.
    Sample { cpu: u32, data: Vec<u8> },
    /// A LOST record (`lost_cb(ctx, cpu, cnt)`).
    Lost { cpu: u32, lost: u64 },
}

/// The event callback.
pub type EventFn<'a> = Box<dyn FnMut(PerfEvent) + 'a>;

struct CpuBuf {
    cpu: u32,
    view: Mapping,
    data_size: u64,
    wake: OwnedFd,
}

/// Per-CPU perf buffers of one perf event array (`struct perf_buffer`).
pub struct PerfBuffer<'a> {
    bufs: Vec<CpuBuf>,
    epoll: OwnedFd,
    cb: EventFn<'a>,
    sim: bool,
}

impl fmt::Debug for PerfBuffer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cpus: Vec<u32> = self.bufs.iter().map(|b| b.cpu).collect();
        f.debug_struct("PerfBuffer").field("cpus", &cpus).field("sim", &self.sim).finish()
    }
}

fn max_entries(seam: &mut dyn Seam, map_fd: i32) -> Result<u32, Errno> {
    let mut info = None;
    seam.bpf(BpfAttr::ObjGetInfoByFd { bpf_fd: map_fd, info: &mut info })?;
    match info {
        Some(ObjInfo::Map(m)) if m.map_type == MapType::PerfEventArray as u32 => Ok(m.max_entries),
        _ => Err(Errno::EINVAL),
    }
}

impl<'a> PerfBuffer<'a> {
    /// `perf_buffer__new(map_fd, page_cnt, ...)`: a buffer of `page_cnt`
    /// pages (a power of two) on each CPU below `max_entries`, waking the
    /// consumer every `wakeup_events` samples. `sim`: `poll` never blocks.
    pub fn new(
        seam: &mut dyn Seam,
        map_fd: i32,
        page_cnt: u32,
        wakeup_events: u32,
        cb: EventFn<'a>,
        sim: bool,
    ) -> Result<Self, Errno> {
        let n = max_entries(seam, map_fd)?.min(seam.possible_cpus().unwrap_or(1));
        for cpu in 0..n {
            seam.perf_event_open(map_fd, cpu, page_cnt, wakeup_events)?;
        }
        Self::open_existing(seam, map_fd, cb, sim)
    }

    /// Maps every buffer already installed in the array at `map_fd`.
    pub fn open_existing(
        seam: &mut dyn Seam,
        map_fd: i32,
        cb: EventFn<'a>,
        sim: bool,
    ) -> Result<Self, Errno> {
        let n = max_entries(seam, map_fd)?;
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC).map_err(sys)?;
        let mut bufs = Vec::new();
        for key in 0..n {
            let (file, wake, cpu, data_size) = match seam.perf_mmap_fds(map_fd, key) {
                Ok(x) => x,
                Err(Errno::ENOENT) => continue,
                Err(e) => return Err(e),
            };
            let len = PAGE_SIZE as usize + data_size as usize;
            let view =
                Mapping::new(file.as_fd(), &[Seg { file_off: 0, len, writable: true }]).map_err(sys)?;
            let idx = bufs.len() as u64;
            epoll::add(&epoll, &wake, epoll::EventData::new_u64(idx), epoll::EventFlags::IN).map_err(sys)?;
            bufs.push(CpuBuf { cpu, view, data_size, wake });
        }
        Ok(PerfBuffer { bufs, epoll, cb, sim })
    }

    /// `perf_buffer__epoll_fd()`.
    pub fn epoll_fd(&self) -> BorrowedFd<'_> {
        self.epoll.as_fd()
    }

    /// `perf_buffer__buffer_cnt()`.
    pub fn buffer_cnt(&self) -> usize {
        self.bufs.len()
    }

    /// `perf_buffer__poll(timeout_ms)`: waits for wakeups (never in
    /// simulation mode), then reads the woken buffers. Records read, or
    /// `-errno`.
    pub fn poll(&mut self, timeout_ms: i32) -> i64 {
        let timeout = if self.sim || timeout_ms == 0 {
            Some(rustix::event::Timespec { tv_sec: 0, tv_nsec: 0 })
        } else if timeout_ms < 0 {
            None
        } else {
            Some(rustix::event::Timespec {
                tv_sec: i64::from(timeout_ms / 1000),
                tv_nsec: i64::from(timeout_ms % 1000) * 1_000_000,
            })
        };
        let mut events: Vec<epoll::Event> = Vec::with_capacity(self.bufs.len().max(1));
        if let Err(e) =
            epoll::wait(&self.epoll, rustix::buffer::spare_capacity(&mut events), timeout.as_ref())
        {
            return if e == rustix::io::Errno::INTR { 0 } else { -i64::from(e.raw_os_error()) };
        }
        let mut total = 0;
        for ev in &events {
            let idx = ev.data.u64() as usize;
            if let Some(b) = self.bufs.get(idx) {
                let mut buf = [0u8; 8];
                let _ = rustix::io::read(&b.wake, &mut buf);
                total += read_buf(b, &mut self.cb);
            }
        }
        total
    }

    /// `perf_buffer__consume()`: reads every buffer without waiting.
    pub fn consume(&mut self) -> i64 {
        self.bufs.iter().map(|b| read_buf(b, &mut self.cb)).sum()
    }
}

/// `perf_event_read_simple()` + the callbacks: records read.
fn read_buf(b: &CpuBuf, cb: &mut EventFn<'_>) -> i64 {
    let head = b.view.u64_at(DATA_HEAD_OFF).load(Ordering::Acquire);
    let tail_word = b.view.u64_at(DATA_TAIL_OFF);
    let mut tail = tail_word.load(Ordering::Relaxed);
    let mut n = 0;
    let copy = |pos: u64, out: &mut [u8]| {
        let off = (pos % b.data_size) as usize;
        let first = out.len().min(b.data_size as usize - off);
        b.view.read(PAGE_SIZE as usize + off, &mut out[..first]);
        if first < out.len() {
            b.view.read(PAGE_SIZE as usize, &mut out[first..]);
        }
    };
    while tail < head {
        let mut hdr = [0u8; 8];
        copy(tail, &mut hdr);
        let ty = u32::from_ne_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
        let size = u64::from(u16::from_ne_bytes([hdr[6], hdr[7]]));
        if size < 8 || size > head - tail {
            break;
        }
        let mut rec = vec![0u8; size as usize - 8];
        copy(tail + 8, &mut rec);
        match ty {
            PERF_RECORD_SAMPLE if rec.len() >= 4 => {
                let raw = u32::from_ne_bytes([rec[0], rec[1], rec[2], rec[3]]) as usize;
                let data = rec.get(4..4 + raw).unwrap_or(&rec[4..]).to_vec();
                cb(PerfEvent::Sample { cpu: b.cpu, data });
            }
            PERF_RECORD_LOST if rec.len() >= 16 => {
                let lost = u64::from_ne_bytes(rec[8..16].try_into().expect("8 bytes"));
                cb(PerfEvent::Lost { cpu: b.cpu, lost });
            }
            _ => {}
        }
        n += 1;
        tail += size;
    }
    tail_word.store(tail, Ordering::Release);
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfemu_kernel::bpf::attr::MapCreateAttr;
    use bpfemu_kernel::kernel::{Kernel, KernelConfig};
    use std::cell::RefCell;

    #[test]
    fn samples_wrap_and_lost_counts() {
        let mut k = Kernel::new(KernelConfig::default());
        let attr = MapCreateAttr {
            map_type: MapType::PerfEventArray as u32,
            key_size: 4,
            value_size: 4,
            max_entries: 2,
            ..Default::default()
        };
        let fd = k.bpf(BpfAttr::MapCreate(attr)).unwrap() as i32;
        let got = RefCell::new(Vec::new());
        let mut pb = PerfBuffer::new(&mut k, fd, 1, 1, Box::new(|e| got.borrow_mut().push(e)), true).unwrap();
        assert_eq!(pb.buffer_cnt(), 2);
        let map = k.fd_obj(fd).unwrap().map().unwrap().clone();
        let pa = map.ops.as_perf_event_array().unwrap();
        // 1000-byte samples (1012 with the headers, padded to 1016): the
        // fifth wraps around the 4 KiB data area once the first are read.
        let sample = |i: u8| vec![i; 1000];
        for i in 0..4 {
            pa.output(1, u64::from(u32::MAX), &sample(i)).unwrap();
        }
        assert_eq!(pa.output(1, 1, &sample(9)), Err(Errno::ENOSPC));
        assert_eq!(pb.poll(0), 4);
        pa.output(1, 1, &sample(4)).unwrap();
        assert_eq!(pb.consume(), 2);
        drop(pb);
        let got = got.into_inner();
        assert_eq!(got.len(), 6);
        assert_eq!(got[4], PerfEvent::Lost { cpu: 1, lost: 1 });
        match &got[5] {
            PerfEvent::Sample { cpu: 1, data } => assert_eq!(&data[..1000], &sample(4)[..]),
            e => panic!("{e:?}"),
        }
        assert_eq!(pa.output(0, 1, b"x"), Err(Errno::EOPNOTSUPP));
    }
}
