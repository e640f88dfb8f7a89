//! Tests of the hash maps through `create()` and `MapOps`, as the bpf()
//! layer and the helpers use them.

use super::ops::HtabMap;
use crate::bpf::objects::{MapUref, Obj};
use crate::errno::Errno;
use crate::map::create::{MapCreateAttr, MapEnv, create};
use crate::map::{Map, MapDef, MapOps};
use crate::runctx;
use crate::testutil::NullMap;
use crate::uapi::*;
use std::collections::BTreeMap;
use std::sync::Arc;

const ENV: MapEnv = MapEnv { nr_cpus: 4, bpf_capable: true };

fn attr(t: MapType, key_size: u32, value_size: u32, max_entries: u32, map_flags: u32) -> MapCreateAttr {
    MapCreateAttr { map_type: t.raw(), key_size, value_size, max_entries, map_flags, ..Default::default() }
}

fn mk(t: MapType, k: u32, v: u32, max: u32, flags: u32) -> Map {
    create(&attr(t, k, v, max, flags), 1, &ENV, None).unwrap()
}

fn err(t: MapType, k: u32, v: u32, max: u32, flags: u32) -> Errno {
    create(&attr(t, k, v, max, flags), 1, &ENV, None).unwrap_err()
}

fn k32(k: u32) -> [u8; 4] {
    k.to_le_bytes()
}

fn v64(v: u64) -> [u8; 8] {
    v.to_le_bytes()
}

fn get(m: &Map, k: u32) -> Result<u64, Errno> {
    let mut out = [0u8; 8];
    m.ops.sys_lookup(&k32(k), &mut out, 0)?;
    Ok(u64::from_le_bytes(out))
}

fn keys(m: &Map) -> Vec<u32> {
    let mut v = Vec::new();
    let mut cur: Option<[u8; 4]> = None;
    let mut next = [0u8; 4];
    while m.ops.get_next_key(cur.as_ref().map(|c| &c[..]), &mut next).is_ok() {
        v.push(u32::from_le_bytes(next));
        cur = Some(next);
    }
    v
}

/// A hash map as a concrete value, for tests that look at memory.
fn htab(t: MapType, k: u32, v: u32, max: u32, flags: u32) -> HtabMap {
    let a = attr(t, k, v, max, flags);
    let percpu = matches!(t, MapType::PercpuHash | MapType::LruPercpuHash);
    let lru = matches!(t, MapType::LruHash | MapType::LruPercpuHash);
    HtabMap {
        t: super::new_table(&a, &ENV, super::table::Kind { percpu, lru, ..super::table::Kind::HASH })
            .unwrap(),
    }
}

fn on_cpu<R>(cpu: u32, f: impl FnOnce() -> R) -> R {
    runctx::on_cpu_for_test(cpu, ENV.nr_cpus, f)
}

#[test]
fn creation_errnos() {
    use MapType::*;
    assert_eq!(err(Hash, 0, 8, 4, 0), Errno::EINVAL);
    assert_eq!(err(Hash, 4, 0, 4, 0), Errno::EINVAL);
    assert_eq!(err(Hash, 4, 8, 0, 0), Errno::EINVAL);
    assert_eq!(err(Hash, 4, 8, 4, BPF_F_MMAPABLE), Errno::EINVAL);
    assert_eq!(err(Hash, 4, 8, 4, BPF_F_INNER_MAP), Errno::EINVAL);
    assert_eq!(err(Hash, 4, 8, 4, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG), Errno::EINVAL);
    assert_eq!(err(Hash, 4, 8, 4, BPF_F_NO_COMMON_LRU), Errno::EINVAL);
    assert_eq!(err(LruHash, 4, 8, 4, BPF_F_NO_PREALLOC), Errno::ENOTSUPP);
    assert_eq!(err(PercpuHash, 4, 8, 4, BPF_F_NUMA_NODE), Errno::EINVAL);
    assert_eq!(err(LruHash, 4, 8, 4, BPF_F_NUMA_NODE | BPF_F_NO_COMMON_LRU), Errno::EINVAL);
    assert_eq!(err(Hash, 4, (4 << 20) - 48 - 4, 4, 0), Errno::E2BIG);
    assert_eq!(err(PercpuHash, 4, (32 << 10) + 1, 4, 0), Errno::E2BIG);
    assert_eq!(err(Hash, 4, 8, (1 << 31) + 1, BPF_F_NO_PREALLOC), Errno::E2BIG);
    assert_eq!(err(Hash, 4, 1 << 20, 1 << 20, 0), Errno::ENOMEM);
    let ok = BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_ZERO_SEED | BPF_F_WRONLY_PROG;
    mk(Hash, 4, 8, 4, ok);
    mk(Hash, 4, (4 << 20) - 48 - 5, 1, BPF_F_NO_PREALLOC);
    mk(PercpuHash, 4, 32 << 10, 1, 0);
    mk(LruHash, 4, 8, 4, BPF_F_NO_COMMON_LRU);
    mk(LruPercpuHash, 4, 8, 4, 0);
    let m = mk(Hash, 4, 8, 4, 0);
    assert_eq!(m.ops.btf_name(), "bpf_htab");
    assert!(!m.ops.is_percpu() && !m.ops.is_fd_map());
    assert_eq!(m.ops.meta_equal(&m.def, &m.def), Some(true));
    let bigger = MapDef { max_entries: 1000, ..m.def.clone() };
    assert_eq!(m.ops.meta_equal(&m.def, &bigger), Some(true));
    let wider = MapDef { value_size: 16, ..m.def.clone() };
    assert_eq!(m.ops.meta_equal(&m.def, &wider), Some(false));
    // Preallocated: fixed usage (4 buckets, 4 + 4 spare elements of 48 + 8 + 8
    // bytes, one spare pointer per CPU); on demand: grows with the elements.
    let pre = m.ops.mem_usage();
    assert_eq!(pre, 320 + 4 * 16 + 8 * 64 + 4 * 8);
    m.ops.update(&k32(1), &v64(1), BPF_ANY).unwrap();
    assert_eq!(m.ops.mem_usage(), pre);
    let lazy = mk(Hash, 4, 8, 4, BPF_F_NO_PREALLOC);
    let empty = lazy.ops.mem_usage();
    lazy.ops.update(&k32(1), &v64(1), BPF_ANY).unwrap();
    assert_eq!(lazy.ops.mem_usage(), empty + 64 + 8);
}

#[test]
fn update_flags_and_errnos() {
    let m = mk(MapType::Hash, 4, 8, 2, 0);
    assert_eq!(m.ops.update(&k32(1), &v64(1), BPF_EXIST), Err(Errno::ENOENT));
    m.ops.update(&k32(1), &v64(1), BPF_NOEXIST).unwrap();
    assert_eq!(m.ops.update(&k32(1), &v64(2), BPF_NOEXIST), Err(Errno::EEXIST));
    m.ops.update(&k32(1), &v64(3), BPF_EXIST).unwrap();
    assert_eq!(get(&m, 1), Ok(3));
    assert_eq!(m.ops.update(&k32(1), &v64(3), 3), Err(Errno::EINVAL));
    assert_eq!(m.ops.update(&k32(1), &v64(3), BPF_F_LOCK), Err(Errno::EINVAL));
    assert_eq!(m.ops.update(&k32(1), &v64(3), BPF_F_LOCK | BPF_EXIST), Err(Errno::EINVAL));
    assert_eq!(m.ops.update(&k32(1), &v64(3), 8), Err(Errno::EINVAL));
    m.ops.update(&k32(2), &v64(2), BPF_ANY).unwrap();
    assert_eq!(m.ops.update(&k32(3), &v64(3), BPF_ANY), Err(Errno::E2BIG));
    // Replacing in a full map is fine.
    m.ops.update(&k32(2), &v64(20), BPF_ANY).unwrap();
    assert_eq!(get(&m, 2), Ok(20));
    let mut out = [0u8; 8];
    assert_eq!(m.ops.sys_lookup(&k32(1), &mut out, BPF_F_LOCK), Err(Errno::EINVAL));
    assert_eq!(get(&m, 9), Err(Errno::ENOENT));
    assert_eq!(m.ops.delete(&k32(9)), Err(Errno::ENOENT));
    m.ops.delete(&k32(1)).unwrap();
    assert_eq!(m.ops.delete(&k32(1)), Err(Errno::ENOENT));
    assert_eq!(m.ops.lookup(&k32(1)), None);
    assert_eq!(m.ops.lookup_and_delete(&k32(2), &mut out, 1), Err(Errno::EINVAL));
    m.ops.lookup_and_delete(&k32(2), &mut out, 0).unwrap();
    assert_eq!(u64::from_le_bytes(out), 20);
    assert_eq!(m.ops.lookup_and_delete(&k32(2), &mut out, 0), Err(Errno::ENOENT));
    assert_eq!(keys(&m), Vec::<u32>::new());
    m.ops.update(&k32(5), &v64(5), BPF_ANY).unwrap();
    m.ops.update(&k32(6), &v64(6), BPF_ANY).unwrap();
    assert_eq!(m.ops.update(&k32(7), &v64(7), BPF_ANY), Err(Errno::E2BIG));
}

/// Golden order of the keys of `iteration_order_is_deterministic_and_complete`
/// with `BPF_F_ZERO_SEED`: changing the hash function changes it.
const GOLDEN_ZERO_SEED: [u32; 10] = [5, 12345, 64, 3, 7, 99, 42, 17, 65, 1000];

#[test]
fn iteration_order_is_deterministic_and_complete() {
    let order = |flags: u32| {
        let m = mk(MapType::Hash, 4, 8, 64, flags);
        for k in [17u32, 3, 99, 1000, 5, 42, 7, 64, 65, 12345] {
            m.ops.update(&k32(k), &v64(u64::from(k)), BPF_ANY).unwrap();
        }
        keys(&m)
    };
    let a = order(0);
    assert_eq!(a, order(0));
    let mut sorted = a.clone();
    sorted.sort();
    assert_eq!(sorted, vec![3, 5, 7, 17, 42, 64, 65, 99, 1000, 12345]);
    // Golden: the order may not depend on the process or the host.
    let z = order(BPF_F_ZERO_SEED);
    assert_eq!(z, GOLDEN_ZERO_SEED);
    // A missing key restarts from the first key.
    let m = mk(MapType::Hash, 4, 8, 64, 0);
    m.ops.update(&k32(1), &v64(1), BPF_ANY).unwrap();
    m.ops.update(&k32(2), &v64(2), BPF_ANY).unwrap();
    let first = keys(&m)[0];
    let mut next = [0u8; 4];
    m.ops.get_next_key(Some(&k32(77)), &mut next).unwrap();
    assert_eq!(u32::from_le_bytes(next), first);
    let last = *keys(&m).last().unwrap();
    assert_eq!(m.ops.get_next_key(Some(&k32(last)), &mut next), Err(Errno::ENOENT));
    let empty = mk(MapType::Hash, 4, 8, 4, 0);
    assert_eq!(empty.ops.get_next_key(None, &mut next), Err(Errno::ENOENT));
}

#[test]
fn golden_iteration_order() {
    let m = mk(MapType::Hash, 4, 8, 8, BPF_F_ZERO_SEED);
    for k in 0..8u32 {
        m.ops.update(&k32(k), &v64(0), BPF_ANY).unwrap();
    }
    let expected = keys(&m);
    // Recomputed from the hash function alone: bucket order, newest first.
    let mut by_bucket: Vec<(u32, std::cmp::Reverse<u32>, u32)> =
        (0..8u32).map(|k| (super::hashfn::hash(&k32(k), 0) & 7, std::cmp::Reverse(k), k)).collect();
    by_bucket.sort();
    assert_eq!(expected, by_bucket.iter().map(|e| e.2).collect::<Vec<_>>());
}

#[test]
fn value_addresses_are_stable_and_old_values_survive_replace() {
    let h = htab(MapType::Hash, 4, 12, 4, 0);
    h.update(&k32(1), &[1; 12], BPF_ANY).unwrap();
    let a1 = h.lookup(&k32(1)).unwrap();
    assert_eq!(a1 % 8, 0);
    h.update(&k32(2), &[2; 12], BPF_ANY).unwrap();
    assert_eq!(h.lookup(&k32(1)), Some(a1));
    // Replace: the new value is elsewhere, the old memory still holds the old value.
    h.update(&k32(1), &[9; 12], BPF_ANY).unwrap();
    let a1b = h.lookup(&k32(1)).unwrap();
    assert_ne!(a1b, a1);
    assert_eq!(h.t.peek(a1, 12), vec![1; 12]);
    assert_eq!(h.t.peek(a1b, 12), vec![9; 12]);
    // Delete: memory stays readable.
    h.delete(&k32(2)).unwrap();
    h.t.peek(a1, 12);
    // Per-CPU spare: a replace on another CPU uses that CPU's spare.
    let a = on_cpu(2, || {
        h.update(&k32(1), &[7; 12], BPF_ANY).unwrap();
        h.lookup(&k32(1)).unwrap()
    });
    assert!(a != a1 && a != a1b);
    assert_eq!(h.t.peek(a1b, 12), vec![9; 12]);
    // No-prealloc: same observable behaviour.
    let n = htab(MapType::Hash, 4, 8, 2, BPF_F_NO_PREALLOC);
    n.update(&k32(1), &v64(1), BPF_ANY).unwrap();
    let old = n.lookup(&k32(1)).unwrap();
    n.update(&k32(1), &v64(2), BPF_ANY).unwrap();
    assert_ne!(n.lookup(&k32(1)).unwrap(), old);
    assert_eq!(n.t.peek(old, 8), v64(1).to_vec());
}

#[test]
fn percpu_layouts() {
    let m = mk(MapType::PercpuHash, 4, 4, 4, 0);
    assert!(m.ops.is_percpu());
    assert_eq!(m.sys_value_size(ENV.nr_cpus), 32);
    // Program on CPU 2 inserts: other CPUs are zero.
    on_cpu(2, || m.ops.update(&k32(1), &[0xaa; 4], BPF_ANY)).unwrap();
    let mut out = [0xffu8; 32];
    m.ops.sys_lookup(&k32(1), &mut out, 0).unwrap();
    let mut want = [0u8; 32];
    want[16..20].copy_from_slice(&[0xaa; 4]);
    assert_eq!(out, want);
    // Program on CPU 1 updates in place its own copy.
    on_cpu(1, || m.ops.update(&k32(1), &[0x11; 4], BPF_EXIST)).unwrap();
    m.ops.sys_lookup(&k32(1), &mut out, 0).unwrap();
    assert_eq!(&out[8..12], &[0x11; 4]);
    assert_eq!(&out[16..20], &[0xaa; 4]);
    // Syscall writes every CPU.
    let all: Vec<u8> = (0..32).collect();
    m.ops.sys_update(&k32(1), &all, BPF_ANY).unwrap();
    m.ops.sys_lookup(&k32(1), &mut out, 0).unwrap();
    assert_eq!(&out[..], &all[..]);
    // Program-side lookups address each CPU's copy.
    let a0 = on_cpu(0, || m.ops.lookup(&k32(1))).unwrap();
    let a3 = on_cpu(3, || m.ops.lookup(&k32(3)));
    assert_eq!(a3, None);
    let a3 = on_cpu(3, || m.ops.lookup(&k32(1))).unwrap();
    assert_eq!(a3 - a0, 24);
    let h = htab(MapType::PercpuHash, 4, 4, 4, 0);
    h.sys_update(&k32(1), &all, BPF_ANY).unwrap();
    let a = on_cpu(3, || h.lookup(&k32(1))).unwrap();
    assert_eq!(h.t.peek(a, 4), vec![24, 25, 26, 27]);
    // The in-place update keeps the address.
    on_cpu(3, || h.update(&k32(1), &[1; 4], BPF_ANY)).unwrap();
    assert_eq!(on_cpu(3, || h.lookup(&k32(1))), Some(a));
    let mut seen = Vec::new();
    on_cpu(3, || {
        h.for_each(&mut |k, addr| {
            seen.push((k.to_vec(), addr));
            true
        })
    });
    assert_eq!(seen, vec![(k32(1).to_vec(), a)]);
    let mut o = [0u8; 32];
    h.lookup_and_delete(&k32(1), &mut o, 0).unwrap();
    assert_eq!(&o[24..28], &[1; 4]);
}

#[test]
fn lru_evicts_least_recently_used() {
    for t in [MapType::LruHash, MapType::LruPercpuHash] {
        let m = mk(t, 4, 8, 3, 0);
        let vs = m.sys_value_size(ENV.nr_cpus);
        let val = vec![1u8; vs];
        for k in 1..=3 {
            m.ops.sys_update(&k32(k), &val, BPF_ANY).unwrap();
        }
        // Program lookup of 1 makes 2 the oldest; a syscall lookup does not count.
        assert!(m.ops.lookup(&k32(1)).is_some());
        let mut out = vec![0u8; vs];
        m.ops.sys_lookup(&k32(2), &mut out, 0).unwrap();
        m.ops.sys_update(&k32(4), &val, BPF_ANY).unwrap();
        assert_eq!(m.ops.sys_lookup(&k32(2), &mut out, 0), Err(Errno::ENOENT), "{t:?}");
        // Next victim: 3 (inserted before 4, not used since).
        m.ops.sys_update(&k32(5), &val, BPF_ANY).unwrap();
        assert_eq!(m.ops.sys_lookup(&k32(3), &mut out, 0), Err(Errno::ENOENT));
        let mut ks = keys(&m);
        ks.sort();
        assert_eq!(ks, vec![1, 4, 5]);
        // Replacing an existing key never evicts.
        m.ops.sys_update(&k32(1), &val, BPF_EXIST).unwrap();
        let mut ks = keys(&m);
        ks.sort();
        assert_eq!(ks, vec![1, 4, 5]);
        m.ops.delete(&k32(4)).unwrap();
        m.ops.sys_update(&k32(6), &val, BPF_NOEXIST).unwrap();
        let mut ks = keys(&m);
        ks.sort();
        assert_eq!(ks, vec![1, 5, 6]);
    }
    // Per-CPU lists: capacity rounded up to 8, 2 elements per CPU's list.
    let m = mk(MapType::LruHash, 4, 8, 5, BPF_F_NO_COMMON_LRU);
    for k in 0..3 {
        m.ops.update(&k32(k), &v64(0), BPF_ANY).unwrap();
    }
    // CPU 0's list is full after two: key 0 went although the map has room.
    assert_eq!(get(&m, 0), Err(Errno::ENOENT));
    for k in 10..16u32 {
        on_cpu(1 + (k - 10) / 2, || m.ops.update(&k32(k), &v64(0), BPF_ANY)).unwrap();
    }
    assert_eq!(keys(&m).len(), 8);
    on_cpu(3, || m.ops.lookup(&k32(14))).unwrap();
    on_cpu(3, || m.ops.update(&k32(20), &v64(0), BPF_ANY)).unwrap();
    assert_eq!(get(&m, 15), Err(Errno::ENOENT), "CPU 3's least recently used");
    assert_eq!(keys(&m).len(), 8);
    // A delete frees room on the deleted element's list only.
    m.ops.delete(&k32(14)).unwrap();
    on_cpu(3, || m.ops.update(&k32(21), &v64(0), BPF_ANY)).unwrap();
    assert_eq!(keys(&m).len(), 8);
    on_cpu(2, || m.ops.update(&k32(22), &v64(0), BPF_ANY)).unwrap();
    assert_eq!(get(&m, 12), Err(Errno::ENOENT));
}

#[test]
fn hash_of_maps_templates_and_fds() {
    let tmpl = Arc::new(create(&attr(MapType::Hash, 4, 8, 4, 0), 10, &ENV, None).unwrap());
    let outer_attr = attr(MapType::HashOfMaps, 4, 4, 2, 0);
    assert_eq!(create(&outer_attr, 1, &ENV, None).unwrap_err(), Errno::EINVAL);
    assert_eq!(
        create(&attr(MapType::HashOfMaps, 4, 8, 2, 0), 1, &ENV, Some(&tmpl)).unwrap_err(),
        Errno::EINVAL
    );
    let no_inner =
        Map::new(MapDef { map_type: MapType::ProgArray, ..tmpl.def.clone() }, 11, None, Box::new(NullMap));
    assert_eq!(create(&outer_attr, 1, &ENV, Some(&no_inner)).unwrap_err(), Errno::ENOTSUPP);
    let outer = Arc::new(create(&outer_attr, 20, &ENV, Some(&tmpl)).unwrap());
    assert!(outer.ops.is_fd_map());
    assert_eq!(outer.inner_meta.as_ref(), Some(&tmpl.def));
    assert_eq!(outer.ops.meta_equal(&outer.def, &outer.def), None);
    // Map-in-map cannot be a template.
    assert_eq!(create(&outer_attr, 2, &ENV, Some(&outer)).unwrap_err(), Errno::EINVAL);
    // A bigger hash map fits (max_entries relaxed); other shapes do not.
    let big = Arc::new(create(&attr(MapType::Hash, 4, 8, 100, 0), 30, &ENV, None).unwrap());
    let other_val = Arc::new(create(&attr(MapType::Hash, 4, 16, 4, 0), 31, &ENV, None).unwrap());
    let other_type = Arc::new(create(&attr(MapType::LruHash, 4, 8, 4, 0), 32, &ENV, None).unwrap());
    let other_flags =
        Arc::new(create(&attr(MapType::Hash, 4, 8, 4, BPF_F_NO_PREALLOC), 33, &ENV, None).unwrap());
    let obj = |m: &Arc<Map>| Obj::Map(MapUref::new(m.clone()));
    for bad in [&other_val, &other_type, &other_flags] {
        assert_eq!(outer.ops.fd_update(&k32(1), &obj(bad), BPF_ANY), Err(Errno::EINVAL));
    }
    assert_eq!(outer.ops.fd_update(&k32(1), &obj(&outer), BPF_ANY), Err(Errno::EINVAL));
    assert_eq!(outer.ops.fd_update(&k32(1), &obj(&big), BPF_EXIST), Err(Errno::ENOENT));
    assert_eq!(outer.ops.fd_update(&k32(1), &obj(&big), BPF_F_LOCK), Err(Errno::EINVAL));
    outer.ops.fd_update(&k32(1), &obj(&big), BPF_ANY).unwrap();
    assert_eq!(outer.ops.fd_update(&k32(1), &obj(&tmpl), BPF_NOEXIST), Err(Errno::EEXIST));
    outer.ops.fd_update(&k32(2), &obj(&tmpl), BPF_ANY).unwrap();
    assert_eq!(outer.ops.fd_update(&k32(3), &obj(&tmpl), BPF_ANY), Err(Errno::E2BIG));
    // Held by refcnt only.
    assert_eq!(big.usercnt(), 0);
    assert_eq!(Arc::strong_count(&big), 2);
    let mut id = [0u8; 4];
    outer.ops.sys_lookup(&k32(1), &mut id, 0).unwrap();
    assert_eq!(u32::from_ne_bytes(id), 30);
    assert_eq!(outer.ops.lookup(&k32(1)), Some(big.addr()));
    assert!(Arc::ptr_eq(&outer.ops.inner_map(&k32(2)).unwrap(), &tmpl));
    assert!(outer.ops.inner_map(&k32(3)).is_none());
    assert_eq!(outer.ops.update(&k32(1), &[0; 4], BPF_ANY), Err(Errno::EINVAL));
    // Replace in place; the old inner map waits for reclaim.
    outer.ops.fd_update(&k32(1), &obj(&tmpl), BPF_EXIST).unwrap();
    assert_eq!(Arc::strong_count(&big), 2);
    outer.ops.delete(&k32(2)).unwrap();
    let mut n = 0;
    outer.ops.for_each(&mut |_, _| {
        n += 1;
        true
    });
    assert_eq!(n, 1);
    drop(outer);
    assert_eq!(Arc::strong_count(&big), 1);
    assert_eq!(Arc::strong_count(&tmpl), 1);
}

#[test]
fn hash_of_maps_reclaim_releases_inner_maps() {
    let tmpl = Arc::new(create(&attr(MapType::Hash, 4, 8, 4, 0), 10, &ENV, None).unwrap());
    let outer = super::of_maps::new(&attr(MapType::HashOfMaps, 4, 4, 2, 0), &ENV, Some(&tmpl)).unwrap();
    outer.fd_update(&k32(1), &Obj::Map(MapUref::new(tmpl.clone())), BPF_ANY).unwrap();
    outer.fd_update(&k32(2), &Obj::Map(MapUref::new(tmpl.clone())), BPF_ANY).unwrap();
    outer.delete(&k32(1)).unwrap();
    assert_eq!(Arc::strong_count(&tmpl), 3);
    assert_eq!(outer.reclaim(), 1);
    assert_eq!(Arc::strong_count(&tmpl), 2);
    assert_eq!(outer.reclaim(), 0);
}

#[test]
fn for_each_may_delete_and_stops_early() {
    let m = mk(MapType::Hash, 4, 8, 8, 0);
    for k in 0..5 {
        m.ops.update(&k32(k), &v64(u64::from(k)), BPF_ANY).unwrap();
    }
    let order = keys(&m);
    let mut seen = Vec::new();
    let n = m.ops.for_each(&mut |k, _| {
        seen.push(u32::from_le_bytes(k.try_into().unwrap()));
        m.ops.delete(k).unwrap();
        seen.len() < 3
    });
    assert_eq!(n, 3);
    assert_eq!(seen, order[..3]);
    assert_eq!(keys(&m).len(), 2);
}

#[test]
fn two_threads_smoke() {
    let m = Arc::new(mk(MapType::Hash, 4, 8, 1024, 0));
    let hs: Vec<_> = (0..2u32)
        .map(|t| {
            let m = m.clone();
            std::thread::spawn(move || {
                for i in 0..2000u32 {
                    let k = (i % 400) * 2 + t;
                    m.ops.update(&k32(k), &v64(u64::from(i)), BPF_ANY).unwrap();
                    assert!(m.ops.lookup(&k32(k)).is_some());
                    if i % 3 == 0 {
                        m.ops.delete(&k32(k)).unwrap();
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let ks = keys(&m);
    let mut sorted = ks.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), ks.len());
    for k in ks {
        get(&m, k).unwrap();
    }
}

mod model {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        Update(u8, u64, u64),
        Delete(u8),
        Lookup(u8),
        LookupAndDelete(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..24, any::<u64>(), 0u64..3).prop_map(|(k, v, f)| Op::Update(k, v, f)),
            (0u8..24).prop_map(Op::Delete),
            (0u8..24).prop_map(Op::Lookup),
            (0u8..24).prop_map(Op::LookupAndDelete),
        ]
    }

    proptest! {
        #[test]
        fn hash_matches_btreemap(ops in proptest::collection::vec(op(), 1..200), no_prealloc in any::<bool>()) {
            const MAX: usize = 16;
            let flags = if no_prealloc { BPF_F_NO_PREALLOC } else { 0 };
            let m = mk(MapType::Hash, 4, 8, MAX as u32, flags);
            let mut model: BTreeMap<u32, u64> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Update(k, v, f) => {
                        let k = u32::from(k);
                        let present = model.contains_key(&k);
                        let want = match (present, f) {
                            (true, BPF_NOEXIST) => Err(Errno::EEXIST),
                            (false, BPF_EXIST) => Err(Errno::ENOENT),
                            (false, _) if model.len() >= MAX => Err(Errno::E2BIG),
                            _ => Ok(()),
                        };
                        prop_assert_eq!(m.ops.update(&k32(k), &v64(v), f), want);
                        if want.is_ok() {
                            model.insert(k, v);
                        }
                    }
                    Op::Delete(k) => {
                        let want = if model.remove(&u32::from(k)).is_some() { Ok(()) } else { Err(Errno::ENOENT) };
                        prop_assert_eq!(m.ops.delete(&k32(u32::from(k))), want);
                    }
                    Op::Lookup(k) => {
                        let k = u32::from(k);
                        prop_assert_eq!(get(&m, k), model.get(&k).copied().ok_or(Errno::ENOENT));
                        prop_assert_eq!(m.ops.lookup(&k32(k)).is_some(), model.contains_key(&k));
                    }
                    Op::LookupAndDelete(k) => {
                        let k = u32::from(k);
                        let mut out = [0u8; 8];
                        let r = m.ops.lookup_and_delete(&k32(k), &mut out, 0).map(|()| u64::from_le_bytes(out));
                        prop_assert_eq!(r, model.remove(&k).ok_or(Errno::ENOENT));
                    }
                }
            }
            let mut ks = keys(&m);
            ks.sort();
            prop_assert_eq!(ks, model.keys().copied().collect::<Vec<_>>());
        }
    }

    #[derive(Clone, Debug)]
    enum LruOp {
        Update(u8, u64),
        ProgLookup(u8),
        SysLookup(u8),
        Delete(u8),
    }

    fn lru_op() -> impl Strategy<Value = LruOp> {
        prop_oneof![
            (0u8..16, any::<u64>()).prop_map(|(k, v)| LruOp::Update(k, v)),
            (0u8..16).prop_map(LruOp::ProgLookup),
            (0u8..16).prop_map(LruOp::SysLookup),
            (0u8..16).prop_map(LruOp::Delete),
        ]
    }

    proptest! {
        #[test]
        fn lru_matches_model(ops in proptest::collection::vec(lru_op(), 1..200), percpu in any::<bool>()) {
            const MAX: usize = 6;
            let t = if percpu { MapType::LruPercpuHash } else { MapType::LruHash };
            let m = mk(t, 4, 8, MAX as u32, 0);
            let vs = m.sys_value_size(ENV.nr_cpus);
            // key -> (value, last use)
            let mut model: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
            let mut tick = 0u64;
            for op in ops {
                tick += 1;
                match op {
                    LruOp::Update(k, v) => {
                        let k = u32::from(k);
                        if !model.contains_key(&k) && model.len() >= MAX {
                            let victim = *model.iter().min_by_key(|(_, (_, t))| *t).unwrap().0;
                            model.remove(&victim);
                        }
                        model.insert(k, (v, tick));
                        prop_assert_eq!(m.ops.sys_update(&k32(k), &v64(v).repeat(vs / 8), BPF_ANY), Ok(()));
                    }
                    LruOp::ProgLookup(k) => {
                        let k = u32::from(k);
                        let hit = m.ops.lookup(&k32(k)).is_some();
                        prop_assert_eq!(hit, model.contains_key(&k));
                        if let Some(e) = model.get_mut(&k) {
                            e.1 = tick;
                        }
                    }
                    LruOp::SysLookup(k) => {
                        let k = u32::from(k);
                        let mut out = vec![0u8; vs];
                        let r = m.ops.sys_lookup(&k32(k), &mut out, 0)
                            .map(|()| u64::from_le_bytes(out[..8].try_into().unwrap()));
                        prop_assert_eq!(r, model.get(&k).map(|e| e.0).ok_or(Errno::ENOENT));
                    }
                    LruOp::Delete(k) => {
                        let k = u32::from(k);
                        let want = if model.remove(&k).is_some() { Ok(()) } else { Err(Errno::ENOENT) };
                        prop_assert_eq!(m.ops.delete(&k32(k)), want);
                    }
                }
            }
            let mut ks = keys(&m);
            ks.sort();
            prop_assert_eq!(ks, model.keys().copied().collect::<Vec<_>>());
        }
    }
}
