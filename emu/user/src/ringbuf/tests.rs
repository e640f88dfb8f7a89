use super::*;
use bpfemu_kernel::bpf::attr::MapCreateAttr;
use bpfemu_kernel::kernel::{Kernel, KernelConfig};
use bpfemu_kernel::map::ringbuf::RingBuf;
use std::cell::RefCell;

fn ring_map(k: &mut Kernel, size: u32) -> i32 {
    let attr = MapCreateAttr { map_type: MapType::Ringbuf as u32, max_entries: size, ..Default::default() };
    k.bpf(BpfAttr::MapCreate(attr)).unwrap() as i32
}

fn ring(k: &Kernel, fd: i32) -> std::sync::Arc<bpfemu_kernel::map::Map> {
    k.fd_obj(fd).unwrap().map().unwrap().clone()
}

fn produce(rb: &RingBuf, data: &[u8], discard: bool) {
    let s = rb.reserve(data.len() as u64, false, || {}).unwrap();
    rb.write_payload(s, data);
    rb.commit(rb.record_of(s).unwrap(), 0, discard);
}

#[test]
fn consumes_in_order_skipping_discarded_and_stops_at_busy() {
    let mut k = Kernel::new(KernelConfig::default());
    let fd = ring_map(&mut k, 4096);
    let m = ring(&k, fd);
    let rb = m.ops.as_ringbuf().unwrap();
    let got = RefCell::new(Vec::new());
    let mut r = RingBuffer::new(
        &mut k,
        fd,
        Box::new(|s: &[u8]| {
            got.borrow_mut().push(s.to_vec());
            0
        }),
        RingBufferOpts { sim: true },
    )
    .unwrap();
    assert_eq!(r.poll(100), 0);
    produce(rb, b"one", false);
    produce(rb, b"two!", true);
    let busy = rb.reserve(3, false, || {}).unwrap();
    produce(rb, b"four", false);
    assert_eq!(r.poll(100), 1);
    assert_eq!(*got.borrow(), [b"one".to_vec()]);
    rb.write_payload(busy, b"thr");
    rb.commit(rb.record_of(busy).unwrap(), 0, false);
    assert_eq!(r.consume(), 2);
    assert_eq!(got.borrow().len(), 3);
    assert_eq!(got.borrow()[2], b"four");
    assert_eq!(r.ring_avail(0), Some(0));
    assert_eq!(rb.consumer_pos(), rb.producer_pos());
}

#[test]
fn wraps_and_negative_return_stops() {
    let mut k = Kernel::new(KernelConfig::default());
    let fd = ring_map(&mut k, 4096);
    let m = ring(&k, fd);
    let rb = m.ops.as_ringbuf().unwrap();
    let seen = RefCell::new(Vec::new());
    let mut r = RingBuffer::new(
        &mut k,
        fd,
        Box::new(|s: &[u8]| {
            seen.borrow_mut().push(s.to_vec());
            if s[0] == 0xee { -7 } else { 0 }
        }),
        RingBufferOpts { sim: true },
    )
    .unwrap();
    for round in 0..10u8 {
        let data = vec![round; 1500];
        produce(rb, &data, false);
        assert_eq!(r.consume(), 1);
        assert_eq!(seen.borrow().last().unwrap(), &data);
    }
    produce(rb, &[0xee; 8], false);
    produce(rb, &[1; 8], false);
    assert_eq!(r.consume(), -7);
    assert_eq!(r.consume(), 1);
}

#[test]
fn several_rings_and_errors() {
    let mut k = Kernel::new(KernelConfig::default());
    let a = ring_map(&mut k, 4096);
    let b = ring_map(&mut k, 8192);
    let count = RefCell::new(0);
    let mut r = RingBuffer::new(
        &mut k,
        a,
        Box::new(|_| {
            *count.borrow_mut() += 1;
            0
        }),
        RingBufferOpts { sim: true },
    )
    .unwrap();
    r.add(
        &mut k,
        b,
        Box::new(|_| {
            *count.borrow_mut() += 10;
            0
        }),
    )
    .unwrap();
    assert_eq!(r.len(), 2);
    produce(ring(&k, b).ops.as_ringbuf().unwrap(), b"x", false);
    produce(ring(&k, a).ops.as_ringbuf().unwrap(), b"y", false);
    assert_eq!(r.poll(0), 2);
    assert_eq!(*count.borrow(), 11);
    assert_eq!(r.add(&mut k, 99, Box::new(|_| 0)).unwrap_err(), Errno::EBADF);
    let attr = MapCreateAttr {
        map_type: MapType::Array as u32,
        key_size: 4,
        value_size: 4,
        max_entries: 1,
        ..Default::default()
    };
    let arr = k.bpf(BpfAttr::MapCreate(attr)).unwrap() as i32;
    assert_eq!(r.add(&mut k, arr, Box::new(|_| 0)).unwrap_err(), Errno::EINVAL);
}
