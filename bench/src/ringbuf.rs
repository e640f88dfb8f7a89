//! The ring buffer benchmark (`bpfemu bench ringbuf` and
//! `benches/ringbuf.rs`), after the kernel's
//! tools/testing/selftests/bpf/benchs/bench_ringbufs.c: producers are BPF
//! programs in the emulator (on the JIT where there is one) that each
//! emit a batch of [`BATCH`] 8-byte records per run; consumers count
//! records.
//!
//! Variants: `rb-libbpf` (bpfemu_user's `RingBuffer`), `rb-custom` (a
//! minimal consumer on its own mapping: positions and headers, no
//! callback), `pb-libbpf` (`PerfBuffer`), `pb-custom` (a minimal reader of
//! the per-CPU perf buffers), and `spsc` (a plain single-producer
//! single-consumer ring of 16-byte records written in Rust: the practical
//! ceiling, no emulator involved). Modes: parallel (producer threads and a
//! consumer thread at once) or back-to-back (one thread produces a batch,
//! then consumes it). Options: reserve+commit or `bpf_ringbuf_output`,
//! sampled notification (1 in N records wakes the consumer), 1..N
//! producers. Drops are records the producers could not write (full
//! buffer): emitted minus delivered after a final drain.

use bpfemu_isa::asm::kernel::assemble;
use bpfemu_kernel::bpf::BpfAttr;
use bpfemu_kernel::bpf::attr::{MapCreateAttr, ProgLoadAttr};
use bpfemu_kernel::bpf::prog::Prog;
use bpfemu_kernel::map::perf_event_array::{
    DATA_HEAD_OFF, DATA_TAIL_OFF, PERF_RECORD_LOST, PERF_RECORD_SAMPLE,
};
use bpfemu_kernel::map::ringbuf::area::{Mapping, Seg};
use bpfemu_kernel::map::ringbuf::{BUSY_BIT, CONS_OFF, DATA_OFF, DISCARD_BIT, HDR_SZ, PAGE_SIZE, PROD_OFF};
use bpfemu_kernel::uapi::{MapType, ProgType};
use bpfemu_kernel::{Kernel, KernelConfig};
use bpfemu_user::perf_buffer::{PerfBuffer, PerfEvent};
use bpfemu_user::ringbuf::{RingBuffer, RingBufferOpts};
use bpfemu_vm::MemRegion;
use rustix::fd::AsFd;
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Records per producer run (the kernel bench's default `batch_cnt`).
pub const BATCH: u64 = 500;
/// Ring buffer size (the kernel bench's `ringbuf_sz`, 512 KiB).
pub const RINGBUF_SZ: u32 = 512 * 1024;
/// Perf buffer pages per CPU (the kernel bench's `perfbuf_sz`).
pub const PERFBUF_PAGES: u32 = 128;

/// What is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    RbLibbpf,
    RbCustom,
    PbLibbpf,
    PbCustom,
    Spsc,
}

impl Variant {
    pub const ALL: [Variant; 5] =
        [Variant::RbLibbpf, Variant::RbCustom, Variant::PbLibbpf, Variant::PbCustom, Variant::Spsc];

    pub fn name(self) -> &'static str {
        match self {
            Variant::RbLibbpf => "rb-libbpf",
            Variant::RbCustom => "rb-custom",
            Variant::PbLibbpf => "pb-libbpf",
            Variant::PbCustom => "pb-custom",
            Variant::Spsc => "spsc",
        }
    }

    pub fn from_name(s: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == s)
    }

    fn is_perf(self) -> bool {
        matches!(self, Variant::PbLibbpf | Variant::PbCustom)
    }
}

/// One measurement's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    pub variant: Variant,
    pub producers: u32,
    /// Back-to-back: one thread alternates a producer run and a consume.
    pub back2back: bool,
    /// 0: self-pacing wakeups (ring) / a wakeup per sample (perf); N (a
    /// power of two): one record in N wakes the consumer.
    pub sample: u32,
    /// `bpf_ringbuf_output` instead of reserve + submit.
    pub output: bool,
    pub duration: Duration,
}

/// What a measurement gave.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Report {
    pub delivered: u64,
    pub drops: u64,
    pub secs: f64,
    pub wakeups: u64,
}

impl Report {
    /// Millions of delivered records per second.
    pub fn mps(&self) -> f64 {
        self.delivered as f64 / self.secs / 1e6
    }
}

fn producer_src(cfg: &Config, map_fd: i32) -> String {
    let flags = if cfg.variant.is_perf() || cfg.sample == 0 {
        "    r2 = 0\n".to_string()
    } else {
        format!(
            "    r7 = r6\n    r7 &= {}\n    r2 = 1\n    if r7 != 0 goto flagged\n    r2 = 2\nflagged:\n",
            cfg.sample - 1
        )
    };
    let body = if cfg.variant.is_perf() {
        format!(
            "    *(u64 *)(r10 -8) = r6\n    r1 = r9\n    r2 = map[fd:{map_fd}]\n    r3 = 0xffffffff ll\n    \
             r4 = r10\n    r4 += -8\n    r5 = 8\n    call bpf_perf_event_output#25\n"
        )
    } else if cfg.output {
        format!(
            "{flags}    r4 = r2\n    *(u64 *)(r10 -8) = r6\n    r1 = map[fd:{map_fd}]\n    r2 = r10\n    \
             r2 += -8\n    r3 = 8\n    call bpf_ringbuf_output#130\n"
        )
    } else {
        format!(
            "    r1 = map[fd:{map_fd}]\n    r2 = 8\n    r3 = 0\n    call bpf_ringbuf_reserve#131\n    \
             if r0 == 0 goto next\n    *(u64 *)(r0 +0) = r6\n    r8 = r0\n{flags}    r1 = r8\n    \
             call bpf_ringbuf_submit#132\n"
        )
    };
    format!(
        "    r9 = r1\n    r6 = 0\nloop:\n    if r6 >= {BATCH} goto done\n{body}next:\n    r6 += 1\n    goto loop\ndone:\n    r0 = 0\n    exit\n"
    )
}

struct Setup {
    k: Kernel,
    map_fd: i32,
    prog: Arc<Prog>,
}

fn setup(cfg: &Config) -> Result<Setup, String> {
    let cpus = cfg.producers.max(1) + 1;
    let mut k =
        Kernel::new(KernelConfig { sim: bpfemu_kernel::sim::SimConfig { cpus, ..Default::default() } });
    let attr = if cfg.variant.is_perf() {
        MapCreateAttr {
            map_type: MapType::PerfEventArray as u32,
            key_size: 4,
            value_size: 4,
            max_entries: cpus,
            ..Default::default()
        }
    } else {
        MapCreateAttr { map_type: MapType::Ringbuf as u32, max_entries: RINGBUF_SZ, ..Default::default() }
    };
    let map_fd = k.bpf(BpfAttr::MapCreate(attr)).map_err(|e| format!("map create: {e}"))? as i32;
    if cfg.variant.is_perf() {
        let wakeup = cfg.sample.max(1);
        for cpu in 0..cfg.producers.max(1) {
            k.perf_event_open_bpf_output(map_fd, cpu, PERFBUF_PAGES, wakeup)
                .map_err(|e| format!("perf open: {e}"))?;
        }
    }
    let insns = assemble(&producer_src(cfg, map_fd)).map_err(|e| format!("assemble: {e}"))?;
    // Perf-buffer producers are raw tracepoint programs (a sleepable
    // syscall program may not use a perf event array); ring-buffer ones
    // syscall programs, loaded sleepable as the kernel requires.
    let prog_type = if cfg.variant.is_perf() { ProgType::RawTracepoint } else { ProgType::Syscall };
    let attr = ProgLoadAttr {
        prog_type: prog_type.raw(),
        insns: &insns,
        license: "GPL",
        prog_flags: bpfemu_kernel::bpf::load::default_prog_flags(prog_type),
        ..Default::default()
    };
    let fd = k.bpf(BpfAttr::ProgLoad(attr)).map_err(|e| format!("load: {e}"))? as i32;
    let prog = k.fd_obj(fd).and_then(|o| o.prog().cloned()).map_err(|e| format!("prog: {e}"))?;
    Ok(Setup { k, map_fd, prog })
}

/// One producer run (a batch) on `cpu`.
fn produce(s: &Arc<Prog>, base: &bpfemu_kernel::runctx::RunCtx, cpu: u32) {
    let mut ctx = [0u8; 8];
    let addr = ctx.as_mut_ptr().expose_provenance() as u64;
    let region = MemRegion::from_mut_slice("ctx", &mut ctx);
    let mut rctx = base.clone();
    rctx.cpu = cpu;
    let (r, _) = bpfemu_kernel::bpf::run::run_with_ctx(s, &[addr], &[region], rctx, true);
    r.expect("producer run");
}

/// A minimal ring consumer on its own mapping (rb-custom).
struct RbCustom {
    view: Mapping,
    mask: u64,
}

impl RbCustom {
    fn new(k: &Kernel, fd: i32) -> RbCustom {
        let file = k.map_mmap_fd(fd).expect("ring memfd");
        let size = RINGBUF_SZ as usize;
        let page = PAGE_SIZE as usize;
        let segs = [
            Seg { file_off: 0, len: page, writable: true },
            Seg { file_off: page as u64, len: page + size, writable: false },
            Seg { file_off: DATA_OFF as u64, len: size, writable: false },
        ];
        RbCustom {
            view: Mapping::new(file.as_fd(), &segs).expect("map ring"),
            mask: u64::from(RINGBUF_SZ) - 1,
        }
    }

    fn consume(&self) -> u64 {
        let cons_w = self.view.u64_at(CONS_OFF);
        let mut cons = cons_w.load(Ordering::Acquire);
        let prod = self.view.u64_at(PROD_OFF).load(Ordering::Acquire);
        let mut n = 0;
        while cons < prod {
            let len = self.view.u32_at(DATA_OFF + (cons & self.mask) as usize).load(Ordering::Acquire);
            if len & BUSY_BIT != 0 {
                break;
            }
            cons += (u64::from(len & !(BUSY_BIT | DISCARD_BIT)) + HDR_SZ).next_multiple_of(8);
            n += u64::from(len & DISCARD_BIT == 0);
        }
        cons_w.store(cons, Ordering::Release);
        n
    }
}

/// A minimal perf buffer reader (pb-custom): samples and lost counts.
struct PbCustom {
    bufs: Vec<(Mapping, u64)>,
}

impl PbCustom {
    fn new(k: &Kernel, fd: i32, cpus: u32) -> PbCustom {
        let bufs = (0..cpus)
            .map(|cpu| {
                let (file, _wake, _, size) = k.perf_mmap_fds(fd, cpu).expect("perf buffer");
                let len = PAGE_SIZE as usize + size as usize;
                (Mapping::new(file.as_fd(), &[Seg { file_off: 0, len, writable: true }]).expect("map"), size)
            })
            .collect();
        PbCustom { bufs }
    }

    fn consume(&self) -> (u64, u64) {
        let (mut n, mut lost) = (0, 0);
        for (v, size) in &self.bufs {
            let head = v.u64_at(DATA_HEAD_OFF).load(Ordering::Acquire);
            let tail_w = v.u64_at(DATA_TAIL_OFF);
            let mut tail = tail_w.load(Ordering::Relaxed);
            while tail < head {
                // Records are 8-byte aligned and at least 8 bytes: the header
                // never wraps.
                let off = PAGE_SIZE as usize + (tail % size) as usize;
                let mut hdr = [0u8; 8];
                v.read(off, &mut hdr);
                let ty = u32::from_ne_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
                let sz = u64::from(u16::from_ne_bytes([hdr[6], hdr[7]]));
                if ty == PERF_RECORD_SAMPLE {
                    n += 1;
                } else if ty == PERF_RECORD_LOST {
                    let mut b = [0u8; 8];
                    let at = PAGE_SIZE as usize + ((tail + 16) % size) as usize;
                    v.read(at, &mut b);
                    lost += u64::from_ne_bytes(b);
                }
                tail += sz.max(8);
            }
            tail_w.store(tail, Ordering::Release);
        }
        (n, lost)
    }
}

/// The plain SPSC ring of 16-byte records (length word, payload word) in
/// atomics: what a Rust program gets without any of the emulator.
fn spsc(cfg: &Config) -> Report {
    const WORDS: usize = 1 << 16;
    let ring: Vec<AtomicU64> = (0..WORDS).map(|_| AtomicU64::new(0)).collect();
    let (head, tail) = (AtomicU64::new(0), AtomicU64::new(0));
    let stop = AtomicBool::new(false);
    let mut delivered = 0u64;
    let produced = AtomicU64::new(0);
    let finished = AtomicBool::new(false);
    let start = Instant::now();
    std::thread::scope(|sc| {
        sc.spawn(|| {
            let mut h = 0u64;
            let mut made = 0;
            while !stop.load(Ordering::Relaxed) {
                for i in 0..BATCH {
                    // Acquire pairs with the consumer's release of tail.
                    if h + 2 - tail.load(Ordering::Acquire) > WORDS as u64 {
                        continue;
                    }
                    ring[(h as usize) & (WORDS - 1)].store(8, Ordering::Relaxed);
                    ring[(h as usize + 1) & (WORDS - 1)].store(i, Ordering::Relaxed);
                    h += 2;
                    made += 1;
                    // Release pairs with the consumer's acquire of head.
                    head.store(h, Ordering::Release);
                }
            }
            produced.store(made, Ordering::Relaxed);
            finished.store(true, Ordering::Release);
        });
        let mut t = 0u64;
        loop {
            let h = head.load(Ordering::Acquire);
            while t < h {
                let len = ring[(t as usize) & (WORDS - 1)].load(Ordering::Relaxed);
                let _payload = ring[(t as usize + 1) & (WORDS - 1)].load(Ordering::Relaxed);
                t += 1 + len / 8;
                delivered += 1;
            }
            tail.store(t, Ordering::Release);
            if start.elapsed() >= cfg.duration {
                stop.store(true, Ordering::Relaxed);
            }
            // The producer's last head store happens before `finished`.
            if finished.load(Ordering::Acquire) && t == head.load(Ordering::Acquire) {
                break;
            }
        }
    });
    let secs = start.elapsed().as_secs_f64();
    Report { delivered, drops: produced.load(Ordering::Relaxed) - delivered, secs, wakeups: 0 }
}

/// Runs one measurement.
pub fn run(cfg: &Config) -> Result<Report, String> {
    if cfg.variant == Variant::Spsc {
        return Ok(spsc(cfg));
    }
    if cfg.sample != 0 && !cfg.sample.is_power_of_two() {
        return Err("--sample must be a power of two".into());
    }
    let Setup { mut k, map_fd, prog } = setup(cfg)?;
    let mut base = k.run_ctx();
    // Concurrent mode: no simulation preemption points (their registry is
    // shared by all CPUs and would serialise the producers).
    base.points = None;
    let producers = cfg.producers.max(1);
    let runs = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let delivered = Cell::new(0u64);
    let lost = Cell::new(0u64);
    let count = |_: &[u8]| {
        delivered.set(delivered.get() + 1);
        0
    };
    let on_event = |ev: PerfEvent| match ev {
        PerfEvent::Sample { .. } => delivered.set(delivered.get() + 1),
        PerfEvent::Lost { lost: n, .. } => lost.set(lost.get() + n),
    };
    let rb_custom = (cfg.variant == Variant::RbCustom).then(|| RbCustom::new(&k, map_fd));
    let pb_custom = (cfg.variant == Variant::PbCustom).then(|| PbCustom::new(&k, map_fd, producers));
    let mut rb_libbpf = (cfg.variant == Variant::RbLibbpf)
        .then(|| RingBuffer::new(&mut k, map_fd, Box::new(count), RingBufferOpts { sim: false }))
        .transpose()
        .map_err(|e| format!("ring_buffer__new: {e}"))?;
    let mut pb_libbpf = (cfg.variant == Variant::PbLibbpf)
        .then(|| PerfBuffer::open_existing(&mut k, map_fd, Box::new(on_event), false))
        .transpose()
        .map_err(|e| format!("perf_buffer__new: {e}"))?;
    let mut consume = |block: bool| -> u64 {
        let before = delivered.get();
        if let Some(rb) = &mut rb_libbpf {
            if block {
                rb.poll(10)
            } else {
                rb.consume()
            };
        } else if let Some(pb) = &mut pb_libbpf {
            if block {
                pb.poll(10)
            } else {
                pb.consume()
            };
        } else if let Some(c) = &rb_custom {
            delivered.set(delivered.get() + c.consume());
        } else if let Some(c) = &pb_custom {
            let (n, l) = c.consume();
            delivered.set(delivered.get() + n);
            lost.set(lost.get() + l);
        }
        delivered.get() - before
    };
    let start = Instant::now();
    if cfg.back2back {
        while start.elapsed() < cfg.duration {
            produce(&prog, &base, 0);
            runs.fetch_add(1, Ordering::Relaxed);
            consume(false);
        }
    } else {
        std::thread::scope(|sc| {
            for cpu in 0..producers {
                let (prog, base, runs, stop) = (&prog, &base, &runs, &stop);
                sc.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        produce(prog, base, cpu);
                        runs.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
            while start.elapsed() < cfg.duration {
                consume(true);
            }
            stop.store(true, Ordering::Relaxed);
        });
    }
    let secs = start.elapsed().as_secs_f64();
    // Drain what is left (not timed).
    while consume(false) > 0 {}
    let emitted = runs.load(Ordering::Relaxed) * BATCH;
    let wakeups = match k.fd_obj(map_fd).ok().and_then(|o| o.map().ok().cloned()) {
        Some(m) if !cfg.variant.is_perf() => m.ops.as_ringbuf().map_or(0, |r| r.wakeups()),
        Some(m) => m
            .ops
            .as_perf_event_array()
            .map_or(0, |pa| (0..producers).filter_map(|c| pa.buf(u64::from(c))).map(|b| b.wakeups()).sum()),
        None => 0,
    };
    drop(rb_libbpf);
    drop(pb_libbpf);
    let delivered = delivered.get();
    Ok(Report { delivered, drops: emitted.saturating_sub(delivered), secs, wakeups })
}
