//! Real threads on one ring buffer: several producers (the kernel side,
//! `RingBuf::reserve` / `commit`) and one consumer (`RingBuffer`, on its own
//! read-only mapping). Every reservation takes a ticket under the ring's
//! lock (the `locked` hook), so ticket order is reservation order. Each
//! record carries its ticket and a byte pattern derived from it, of a
//! varying length (so records wrap around the end of the small ring); some
//! are discarded; producers outrun the consumer, so the ring fills and
//! reservations fail. The consumer checks that delivered tickets only grow
//! (reservation order), that every byte is the pattern (no torn record),
//! and at the end that every ticket was delivered, discarded or dropped
//! exactly once (no loss, no duplicate).
//!
//! `BPFEMU_STRESS_RECORDS=N` sets the records per producer (default 20000,
//! a second or two in a debug build); e.g. 5000000 for a long run.

use bpfemu_kernel::bpf::attr::{BpfAttr, MapCreateAttr};
use bpfemu_kernel::kernel::{Kernel, KernelConfig};
use bpfemu_kernel::uapi::MapType;
use bpfemu_user::ringbuf::{RingBuffer, RingBufferOpts};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

const PRODUCERS: usize = 3;

fn pattern(ticket: u64, i: usize) -> u8 {
    (ticket.wrapping_mul(31) as usize + i * 7) as u8
}

#[test]
fn producers_and_a_consumer() {
    let per: u64 = std::env::var("BPFEMU_STRESS_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let mut k = Kernel::new(KernelConfig::default());
    let attr = MapCreateAttr { map_type: MapType::Ringbuf as u32, max_entries: 4096, ..Default::default() };
    let fd = k.bpf(BpfAttr::MapCreate(attr)).unwrap() as i32;
    let map = k.fd_obj(fd).unwrap().map().unwrap().clone();
    let tickets = AtomicU64::new(0);
    // ticket → 0 unknown, 1 committed, 2 discarded, 3 dropped.
    let fate = Mutex::new(Vec::<u8>::new());
    let done = AtomicUsize::new(0);
    let delivered = Mutex::new(Vec::<u64>::new());
    let failed = AtomicBool::new(false);
    std::thread::scope(|sc| {
        for p in 0..PRODUCERS {
            let (map, tickets, fate, done) = (&map, &tickets, &fate, &done);
            sc.spawn(move || {
                let rb = map.ops.as_ringbuf().unwrap();
                let mut rng = 0x9e37_79b9_u64 ^ p as u64;
                for _ in 0..per {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    let len = 8 + (rng % 300) as usize;
                    let discard = rng.is_multiple_of(11);
                    let mut ticket = 0;
                    let res =
                        rb.reserve(len as u64, false, || ticket = tickets.fetch_add(1, Ordering::Relaxed));
                    let mark = |t: u64, v: u8| {
                        let mut f = fate.lock();
                        if f.len() <= t as usize {
                            f.resize(t as usize + 1, 0);
                        }
                        assert_eq!(f[t as usize], 0, "ticket {t} twice");
                        f[t as usize] = v;
                    };
                    match res {
                        Ok(sample) => {
                            let mut data: Vec<u8> = (0..len).map(|i| pattern(ticket, i)).collect();
                            data[..8].copy_from_slice(&ticket.to_le_bytes());
                            rb.write_payload(sample, &data);
                            mark(ticket, if discard { 2 } else { 1 });
                            let hdr = rb.record_of(sample).unwrap();
                            rb.commit(hdr, 0, discard);
                        }
                        Err(_) => {
                            mark(ticket, 3);
                            std::thread::yield_now();
                        }
                    }
                }
                done.fetch_add(1, Ordering::Release);
            });
        }
        // The consumer, on this thread.
        let mut last: Option<u64> = None;
        let mut rb = RingBuffer::new(
            &mut k,
            fd,
            Box::new(|s: &[u8]| {
                let t = u64::from_le_bytes(s[..8].try_into().unwrap());
                let ok_order = last.is_none_or(|l| t > l);
                let ok_bytes = s.iter().enumerate().skip(8).all(|(i, &b)| b == pattern(t, i));
                if !ok_order || !ok_bytes {
                    failed.store(true, Ordering::Relaxed);
                    return -1;
                }
                last = Some(t);
                delivered.lock().push(t);
                0
            }),
            RingBufferOpts { sim: false },
        )
        .unwrap();
        loop {
            let finished = done.load(Ordering::Acquire) == PRODUCERS;
            let n = rb.poll(1);
            assert!(n >= 0, "consumer stopped: order or bytes wrong");
            if finished && rb.consume() == 0 && rb.ring_avail(0) == Some(0) {
                break;
            }
        }
    });
    assert!(!failed.load(Ordering::Relaxed));
    let fate = fate.into_inner();
    let delivered = delivered.into_inner();
    let total = tickets.load(Ordering::Relaxed);
    assert_eq!(total, per * PRODUCERS as u64);
    assert_eq!(fate.len() as u64, total);
    let committed: Vec<u64> = (0..total).filter(|&t| fate[t as usize] == 1).collect();
    assert_eq!(delivered, committed, "lost or duplicated records");
    assert!(fate.iter().all(|&f| f != 0));
    // The run must have exercised the interesting cases.
    assert!(fate.contains(&2), "no discards");
    eprintln!(
        "{total} reservations: {} delivered, {} discarded, {} dropped (full)",
        delivered.len(),
        fate.iter().filter(|&&f| f == 2).count(),
        fate.iter().filter(|&&f| f == 3).count()
    );
}
