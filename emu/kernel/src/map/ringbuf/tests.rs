use super::*;

fn attr(key: u32, value: u32, max: u32, flags: u32) -> MapCreateAttr {
    MapCreateAttr {
        map_type: uapi::MapType::Ringbuf as u32,
        key_size: key,
        value_size: value,
        max_entries: max,
        map_flags: flags,
        ..Default::default()
    }
}

fn create(a: &MapCreateAttr) -> Result<Box<dyn MapOps>, Errno> {
    alloc(a, &MapEnv { nr_cpus: 2, bpf_capable: true }, None)
}

#[test]
fn sizes_follow_ringbuf_map_alloc() {
    assert!(create(&attr(0, 0, 4096, 0)).is_ok());
    assert!(create(&attr(0, 0, 1 << 16, uapi::BPF_F_NUMA_NODE)).is_ok());
    assert_eq!(create(&attr(4, 0, 4096, 0)).unwrap_err(), Errno::EINVAL);
    assert_eq!(create(&attr(0, 8, 4096, 0)).unwrap_err(), Errno::EINVAL);
    assert_eq!(create(&attr(0, 0, 4096 * 3, 0)).unwrap_err(), Errno::EINVAL);
    assert_eq!(create(&attr(0, 0, 2048, 0)).unwrap_err(), Errno::EINVAL);
    assert_eq!(create(&attr(0, 0, 0, 0)).unwrap_err(), Errno::EINVAL);
    assert_eq!(create(&attr(0, 0, 4096, 1)).unwrap_err(), Errno::EINVAL);
    // 2^31 is below the 64 GiB limit: allowed by the kernel (and sparse
    // here), so E2BIG cannot be reached with a u32 max_entries on x86-64.
    assert!(MAX_DATA_SZ > u64::from(u32::MAX));
}

#[test]
fn map_operations_are_not_supported() {
    let m = create(&attr(0, 0, 4096, 0)).unwrap();
    assert_eq!(m.sys_lookup(&[], &mut [], 0), Err(Errno::ENOTSUPP));
    assert_eq!(m.update(&[], &[], 0), Err(Errno::ENOTSUPP));
    assert_eq!(m.delete(&[]), Err(Errno::ENOTSUPP));
    assert_eq!(m.get_next_key(None, &mut []), Err(Errno::ENOTSUPP));
    assert!(m.lookup(&[]).is_none());
    assert_eq!(m.btf_name(), "bpf_ringbuf_map");
}

fn header(rb: &RingBuf, pos: u64) -> u32 {
    rb.view.u32_at(DATA_OFF + (pos & rb.mask) as usize).load(Ordering::Acquire)
}

#[test]
fn reserve_commit_and_positions() {
    let rb = RingBuf::new(4096).unwrap();
    let a = rb.reserve(5, false, || {}).unwrap();
    assert_eq!(rb.producer_pos(), 16);
    assert_eq!(header(&rb, 0), 5 | BUSY_BIT);
    let b = rb.reserve(8, false, || {}).unwrap();
    assert_eq!(b - a, 16);
    assert_eq!(rb.query(BPF_RB_AVAIL_DATA), 32);
    assert_eq!(rb.query(BPF_RB_RING_SIZE), 4096);
    assert_eq!(rb.query(BPF_RB_PROD_POS), 32);
    assert_eq!(rb.query(BPF_RB_CONS_POS), 0);
    assert_eq!(rb.query(99), 0);
    // Committing the second record first: the consumer waits at record 0,
    // so only committing record 0 wakes it.
    let hb = rb.record_of(b).unwrap();
    assert!(!rb.commit(hb, 0, false));
    let ha = rb.record_of(a).unwrap();
    assert!(rb.commit(ha, 0, true));
    assert_eq!(header(&rb, 0), 5 | DISCARD_BIT);
    assert_eq!(header(&rb, 16), 8);
    assert_eq!(rb.wakeups(), 1);
    // Committed records are no longer "reserved".
    assert_eq!(rb.record_of(a), None);
}

#[test]
fn full_ring_and_too_big() {
    let rb = RingBuf::new(4096).unwrap();
    assert_eq!(rb.reserve(4096, false, || {}), Err(ReserveError::TooBig));
    assert_eq!(rb.reserve(MAX_RECORD_SZ + 1, false, || {}), Err(ReserveError::TooBig));
    // 4088 + 8 = 4096 > mask: the producer may run at most size-1 ahead.
    assert_eq!(rb.reserve(4088, false, || {}), Err(ReserveError::Full));
    let s = rb.reserve(4080, false, || {}).unwrap();
    assert_eq!(rb.reserve(0, false, || {}), Err(ReserveError::Full));
    rb.commit(rb.record_of(s).unwrap(), BPF_RB_NO_WAKEUP, false);
    assert_eq!(rb.wakeups(), 0);
}

#[test]
fn nmi_fails_while_the_lock_is_held() {
    let rb = RingBuf::new(4096).unwrap();
    let mut inner = None;
    let outer = rb.reserve(8, false, || inner = Some(rb.reserve(8, true, || {}))).unwrap();
    assert_eq!(inner, Some(Err(ReserveError::Contended)));
    assert!(rb.record_of(outer).is_some());
    assert!(rb.reserve(8, true, || {}).is_ok());
}

#[test]
fn wrapped_records_are_contiguous() {
    let rb = RingBuf::new(4096).unwrap();
    for _ in 0..3 {
        let s = rb.reserve(1000, false, || {}).unwrap();
        rb.commit(rb.record_of(s).unwrap(), 0, false);
    }
    // Pretend the consumer read everything.
    rb.view.u64_at(CONS_OFF).store(rb.producer_pos(), Ordering::Release);
    let s = rb.reserve(2000, false, || {}).unwrap();
    let data: Vec<u8> = (0..2000).map(|i| i as u8).collect();
    rb.write_payload(s, &data);
    let hdr = rb.record_of(s).unwrap();
    // Written across the end of the first copy; the part past the end is
    // the start of the data area.
    let mut all = vec![0u8; 2000];
    rb.view.read(hdr + 8, &mut all);
    assert_eq!(all, data);
    let tail = 4096 - (hdr + 8 - DATA_OFF);
    let mut head = vec![0u8; 2000 - tail];
    rb.view.read(DATA_OFF, &mut head);
    assert_eq!(head, data[tail..]);
}
