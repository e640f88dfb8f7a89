//! Helper tests: each helper called directly inside `runctx::enter`, and
//! some through the interpreter.
//!
//! Guest memory in these tests is `[AtomicU64]` (interior mutability, so
//! helpers writing through raw addresses never alias a Rust reference).

use super::proto::{self, id};
use super::*;
use crate::map::{Map, MapDef, MapOps};
use crate::runctx::{self, RunCtx};
use crate::sim::rng::SimRng;
use crate::uapi::{BPF_EXIST, BPF_NOEXIST, MapType};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const EFAULT: u64 = Errno::EFAULT.neg() as u64;
const EINVAL: u64 = Errno::EINVAL.neg() as u64;

/// Guest memory: `len` bytes (rounded up to 8), zeroed.
struct Buf(Box<[AtomicU64]>);

impl Buf {
    fn new(len: usize) -> Buf {
        Buf((0..len.div_ceil(8)).map(|_| AtomicU64::new(0)).collect())
    }
    fn from(bytes: &[u8]) -> Buf {
        let b = Buf::new(bytes.len());
        b.set(bytes);
        b
    }
    fn addr(&self) -> u64 {
        self.0.as_ptr().expose_provenance() as u64
    }
    fn len(&self) -> u64 {
        self.0.len() as u64 * 8
    }
    fn bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|w| w.load(Ordering::Acquire).to_le_bytes()).collect()
    }
    fn set(&self, bytes: &[u8]) {
        let mut all = self.bytes();
        all[..bytes.len()].copy_from_slice(bytes);
        for (w, c) in self.0.iter().zip(all.chunks(8)) {
            w.store(u64::from_le_bytes(c.try_into().unwrap()), Ordering::Release);
        }
    }
    fn u64_at(&self, i: usize) -> u64 {
        self.0[i].load(Ordering::Acquire)
    }
}

/// A tiny hash map for tests: values at stable addresses.
#[derive(Default)]
struct TestMap {
    value_size: usize,
    entries: Mutex<BTreeMap<Vec<u8>, Arc<Buf>>>,
}

impl std::fmt::Debug for TestMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestMap")
    }
}

impl MapOps for TestMap {
    fn lookup(&self, key: &[u8]) -> Option<u64> {
        self.entries.lock().get(key).map(|b| b.addr())
    }
    fn sys_lookup(&self, _: &[u8], _: &mut [u8], _: u64) -> Result<(), Errno> {
        Err(Errno::ENOTSUPP)
    }
    fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), Errno> {
        assert_eq!(value.len(), self.value_size);
        let mut e = self.entries.lock();
        match (e.get(key), flags) {
            (Some(_), BPF_NOEXIST) => Err(Errno::EEXIST),
            (None, BPF_EXIST) => Err(Errno::ENOENT),
            (Some(b), _) => {
                b.set(value);
                Ok(())
            }
            (None, _) => {
                e.insert(key.to_vec(), Arc::new(Buf::from(value)));
                Ok(())
            }
        }
    }
    fn delete(&self, key: &[u8]) -> Result<(), Errno> {
        self.entries.lock().remove(key).map(drop).ok_or(Errno::ENOENT)
    }
    fn get_next_key(&self, _: Option<&[u8]>, _: &mut [u8]) -> Result<(), Errno> {
        Err(Errno::ENOTSUPP)
    }
    fn meta_equal(&self, _: &MapDef, _: &MapDef) -> Option<bool> {
        None
    }
    fn for_each(&self, _: &mut dyn FnMut(&[u8], u64) -> bool) -> u32 {
        0
    }
    fn btf_name(&self) -> &'static str {
        "test"
    }
    fn mem_usage(&self) -> u64 {
        0
    }
}

fn test_map(key_size: u32, value_size: u32) -> Arc<Map> {
    let def = MapDef {
        map_type: MapType::Hash,
        key_size,
        value_size,
        max_entries: 16,
        map_flags: 0,
        numa_node: -1,
        name: "t".into(),
        btf_key_type_id: 0,
        btf_value_type_id: 0,
        btf_vmlinux_value_type_id: 0,
        map_extra: 0,
    };
    let ops = TestMap { value_size: value_size as usize, ..TestMap::default() };
    Arc::new(Map::new(def, 1, None, Box::new(ops)))
}

fn ctx() -> RunCtx {
    let mut c = RunCtx::new(2, 4, SimRng::new(7));
    c.now_ns = 1_234_567_891_000;
    c.boot_ns = 2_000_000_000;
    c.coarse_ns = 1_234_000_000_000;
    c.jiffies = 0x1_0000_0000 - 75_000 + 308_500;
    c.pid_tgid = (100 << 32) | 101;
    c.uid_gid = (1000 << 32) | 1001;
    c.comm[..4].copy_from_slice(b"curl");
    c
}

fn region(c: &mut RunCtx, b: &Buf, writable: bool) {
    c.add_region(b.addr(), b.len(), writable);
}

fn call(f: HelperFn, a: [u64; 5]) -> u64 {
    f(a[0], a[1], a[2], a[3], a[4])
}

// ---- time, randomness, cpu, task ----

#[test]
fn clocks_cpu_and_task_come_from_the_run_context() {
    let ((), _) = runctx::enter(ctx(), || {
        assert_eq!(call(misc::ktime_get_ns, [0; 5]), 1_234_567_891_000);
        assert_eq!(call(misc::ktime_get_boot_ns, [0; 5]), 2_000_000_000);
        assert_eq!(call(misc::ktime_get_coarse_ns, [0; 5]), 1_234_000_000_000);
        assert_eq!(call(misc::jiffies64, [0; 5]), 0x1_0000_0000 - 75_000 + 308_500);
        assert_eq!(call(misc::get_smp_processor_id, [0; 5]), 2);
        assert_eq!(call(misc::get_numa_node_id, [0; 5]), 0);
        assert_eq!(call(misc::get_current_pid_tgid, [0; 5]), (100 << 32) | 101);
        assert_eq!(call(misc::get_current_uid_gid, [0; 5]), (1000 << 32) | 1001);
    });
    // Outside a run.
    assert_eq!(call(misc::ktime_get_ns, [0; 5]), 0);
    assert_eq!(call(misc::get_current_pid_tgid, [0; 5]), EINVAL);
    assert_eq!(call(misc::get_current_uid_gid, [0; 5]), EINVAL);
}

#[test]
fn prandom_is_the_seeded_stream() {
    let run = |seed| {
        let mut c = ctx();
        c.rng = SimRng::new(seed);
        runctx::enter(c, || (0..8).map(|_| call(misc::get_prandom_u32, [0; 5])).collect::<Vec<_>>())
    };
    let (a, after) = run(42);
    let (b, _) = run(42);
    let (other, _) = run(43);
    assert_eq!(a, b);
    assert_ne!(a, other);
    let mut r = SimRng::new(42);
    assert_eq!(a, (0..8).map(|_| u64::from(r.next_u32())).collect::<Vec<_>>());
    assert!(a.iter().all(|&v| v <= u64::from(u32::MAX)));
    // The state advanced in the context handed back.
    let mut after_rng = after.rng;
    assert_eq!(after_rng.next_u32(), r.next_u32());
}

#[test]
fn get_current_comm_copies_pads_and_truncates() {
    let buf = Buf::from(&[0xaa; 16]);
    let mut c = ctx();
    region(&mut c, &buf, true);
    runctx::enter(c, || {
        assert_eq!(call(misc::get_current_comm, [buf.addr(), 16, 0, 0, 0]), 0);
        assert_eq!(&buf.bytes()[..16], b"curl\0\0\0\0\0\0\0\0\0\0\0\0");
        buf.set(&[0xaa; 16]);
        assert_eq!(call(misc::get_current_comm, [buf.addr(), 3, 0, 0, 0]), 0);
        assert_eq!(&buf.bytes()[..4], b"cu\0\xaa");
        // Beyond the writable region: nothing written.
        buf.set(&[0xaa; 16]);
        assert_eq!(call(misc::get_current_comm, [buf.addr() + 8, 16, 0, 0, 0]), EFAULT);
        assert_eq!(call(misc::get_current_comm, [0, 16, 0, 0, 0]), EFAULT);
        assert_eq!(buf.bytes(), vec![0xaa; 16]);
    });
}

// ---- maps ----

#[test]
fn map_lookup_update_delete() {
    let map = test_map(4, 8);
    let key = Buf::from(&7u32.to_le_bytes());
    let val = Buf::from(&0x1122_3344_5566_7788u64.to_le_bytes());
    let mut c = ctx();
    c.add_map(map.clone());
    region(&mut c, &key, false);
    region(&mut c, &val, false);
    let m = map.addr();
    let ((), out) = runctx::enter(c, || {
        assert_eq!(call(map::map_lookup_elem, [m, key.addr(), 0, 0, 0]), 0);
        assert_eq!(call(map::map_update_elem, [m, key.addr(), val.addr(), BPF_ANY_FLAG, 0]), 0);
        assert_eq!(
            call(map::map_update_elem, [m, key.addr(), val.addr(), BPF_NOEXIST, 0]),
            Errno::EEXIST.neg() as u64
        );
        let v = call(map::map_lookup_elem, [m, key.addr(), 0, 0, 0]);
        assert_eq!(v, map.ops.lookup(&7u32.to_le_bytes()).unwrap());
        // The returned value became a region: probe_read can read it.
        let dst = Buf::new(8);
        runctx::with(|c| region(c, &dst, true));
        assert_eq!(call(probe::probe_read_kernel, [dst.addr(), 8, v, 0, 0]), 0);
        assert_eq!(dst.u64_at(0), 0x1122_3344_5566_7788);
        assert_eq!(call(map::map_delete_elem, [m, key.addr(), 0, 0, 0]), 0);
        assert_eq!(call(map::map_delete_elem, [m, key.addr(), 0, 0, 0]), Errno::ENOENT.neg() as u64);
        assert_eq!(call(map::map_lookup_elem, [m, key.addr(), 0, 0, 0]), 0);
    });
    assert!(out.regions.iter().any(|r| r.len == 8 && r.writable));
}

const BPF_ANY_FLAG: u64 = crate::uapi::BPF_ANY;

#[test]
fn map_helpers_reject_unknown_maps_and_bad_pointers() {
    let map = test_map(4, 8);
    let key = Buf::from(&[1, 0, 0, 0]);
    let small = Buf::new(8); // holds a key but not... value_size 8 fits; use offset to overrun
    let mut c = ctx();
    c.add_map(map.clone());
    region(&mut c, &key, false);
    region(&mut c, &small, false);
    let m = map.addr();
    runctx::enter(c, || {
        let bogus = m + 8;
        assert_eq!(call(map::map_lookup_elem, [bogus, key.addr(), 0, 0, 0]), 0);
        assert_eq!(call(map::map_update_elem, [bogus, key.addr(), key.addr(), 0, 0]), EINVAL);
        assert_eq!(call(map::map_delete_elem, [bogus, key.addr(), 0, 0, 0]), EINVAL);
        // Unreadable key / value.
        assert_eq!(call(map::map_lookup_elem, [m, 0x10, 0, 0, 0]), 0);
        assert_eq!(call(map::map_delete_elem, [m, 0x10, 0, 0, 0]), EFAULT);
        assert_eq!(call(map::map_update_elem, [m, 0x10, key.addr(), 0, 0]), EFAULT);
        // The value is 8 bytes; 4 bytes before the end of `small` it overruns.
        assert_eq!(call(map::map_update_elem, [m, key.addr(), small.addr() + 4, 0, 0]), EFAULT);
        assert!(map.ops.lookup(&[1, 0, 0, 0]).is_none());
        for f in [map::map_push_elem, map::map_pop_elem, map::map_peek_elem] {
            assert_eq!(call(f, [m, key.addr(), 0, 0, 0]), EINVAL);
        }
    });
    // Outside a run no map is known.
    assert_eq!(call(map::map_lookup_elem, [m, key.addr(), 0, 0, 0]), 0);
    assert_eq!(call(map::map_update_elem, [m, key.addr(), key.addr(), 0, 0]), EINVAL);
}

// ---- probe_read ----

#[test]
fn probe_read_copies_or_faults_and_zeroes() {
    let src = Buf::from(b"hello, world\0xyz");
    let dst = Buf::from(&[0xee; 16]);
    let mut c = ctx();
    region(&mut c, &src, false);
    region(&mut c, &dst, true);
    runctx::enter(c, || {
        for f in [probe::probe_read_kernel, probe::probe_read_user] {
            dst.set(&[0xee; 16]);
            assert_eq!(call(f, [dst.addr(), 5, src.addr(), 0, 0]), 0);
            assert_eq!(&dst.bytes()[..6], b"hello\xee");
            // Source outside any region: -EFAULT, destination zeroed.
            assert_eq!(call(f, [dst.addr(), 8, 0xdead_0000, 0, 0]), EFAULT);
            assert_eq!(&dst.bytes()[..9], b"\0\0\0\0\0\0\0\0\xee");
            // Source overruns its region.
            dst.set(&[0xee; 16]);
            assert_eq!(call(f, [dst.addr(), 8, src.addr() + 12, 0, 0]), EFAULT);
            assert_eq!(&dst.bytes()[..8], &[0; 8]);
            // Destination not writable: nothing written at all.
            assert_eq!(call(f, [src.addr(), 4, dst.addr(), 0, 0]), EFAULT);
            assert_eq!(&src.bytes()[..5], b"hello");
            assert_eq!(call(f, [dst.addr(), 0, 0, 0, 0]), 0);
        }
        for f in [probe::probe_read_kernel_str, probe::probe_read_user_str] {
            dst.set(&[0xee; 16]);
            assert_eq!(call(f, [dst.addr(), 16, src.addr(), 0, 0]), 13);
            assert_eq!(&dst.bytes()[..14], b"hello, world\0\xee");
            dst.set(&[0xee; 16]);
            assert_eq!(call(f, [dst.addr(), 4, src.addr(), 0, 0]), 4);
            assert_eq!(&dst.bytes()[..5], b"hel\0\xee");
            assert_eq!(call(f, [dst.addr(), 0, src.addr(), 0, 0]), 0);
            // String running off the end of its region.
            dst.set(&[0xee; 16]);
            assert_eq!(call(f, [dst.addr(), 16, src.addr() + 13, 0, 0]), EFAULT);
            assert_eq!(dst.bytes(), vec![0; 16]);
        }
    });
}

#[test]
fn verified_programs_trust_proven_pointers_but_not_probe_sources() {
    let dst = Buf::new(8);
    let mut c = ctx();
    c.verified = true;
    runctx::enter(c, || {
        // dst is not in the table, but the verifier proved it.
        dst.set(&[0xee; 8]);
        assert_eq!(call(probe::probe_read_kernel, [dst.addr(), 8, 0x1000, 0, 0]), EFAULT);
        assert_eq!(dst.bytes(), vec![0; 8]);
    });
}

// ---- printf ----

fn printk(c: RunCtx, fmt: &[u8], args: [u64; 3]) -> (u64, Vec<String>) {
    let f = Buf::from(fmt);
    let mut c = c;
    region(&mut c, &f, false);
    let (r, out) = runctx::enter(c, || {
        call(trace::trace_printk, [f.addr(), fmt.len() as u64, args[0], args[1], args[2]])
    });
    (r, out.trace)
}

fn msg(fmt: &str, args: [u64; 3]) -> Result<String, u64> {
    let mut c = ctx();
    c.comm = [0; 16];
    c.pid_tgid = 0;
    c.now_ns = 0;
    let (r, lines) = printk(c, format!("{fmt}\0").as_bytes(), args);
    if (r as i64) < 0 {
        assert!(lines.is_empty());
        return Err(r);
    }
    let prefix = "          <idle>-0       [002] d....     0.000000: bpf_trace_printk: ";
    let line = lines[0].strip_prefix(prefix).unwrap_or_else(|| panic!("{:?}", lines[0]));
    assert_eq!(r as usize, line.len(), "{fmt}");
    Ok(line.to_string())
}

#[test]
fn trace_printk_line_format() {
    let (r, lines) = printk(ctx(), b"hello %d\n\0", [42, 0, 0]);
    assert_eq!(r, 9);
    assert_eq!(lines, ["            curl-101     [002] d....  1234.567891: bpf_trace_printk: hello 42"]);
}

#[test]
fn trace_printk_conversions() {
    let neg1 = u64::MAX;
    assert_eq!(msg("%d %i %u %x", [neg1, 5, neg1]).unwrap_err(), EINVAL);
    assert_eq!(msg("%d %u %x", [neg1, neg1, 0xabc]).unwrap(), "-1 4294967295 abc");
    assert_eq!(msg("%ld %lu %llx", [neg1, neg1, neg1]).unwrap(), "-1 18446744073709551615 ffffffffffffffff");
    assert_eq!(msg("%lli %lX %i", [neg1 - 1, 0xbeef, 7]).unwrap(), "-2 BEEF 7");
    assert_eq!(msg("[%5d|%-5d|%05d]", [42, 42, neg1]).unwrap(), "[   42|42   |-0001]");
    assert_eq!(msg("[%+d|% d|%+d]", [3, 3, neg1]).unwrap(), "[+3| 3|-1]");
    assert_eq!(msg("%c%c%c", [u64::from(b'a'), u64::from(b'b'), 0x163]).unwrap(), "abc");
    assert_eq!(msg("100%% %d%%", [5, 0, 0]).unwrap(), "100% 5%");
    assert_eq!(
        msg("%p %pK %px.", [0x1234, 1, 0xff]).unwrap(),
        "(____ptrval____) (____ptrval____) 00000000000000ff."
    );
    assert_eq!(msg("%ps %pS", [0x10, 0xabc, 0]).unwrap(), "0x10 0xabc");
    assert_eq!(msg("", [0; 3]).unwrap(), "");
    assert_eq!(msg("%p%d", [1, 0, 0]).unwrap(), "(____ptrval____)%d");
    assert_eq!(msg("%pB", [0x20, 0, 0]).unwrap(), "0x20");
}

#[test]
fn trace_printk_strings_and_addresses() {
    let s = Buf::from(b"world\0");
    let ip4 = Buf::from(&[10, 0, 0, 1]);
    let ip6 = Buf::from(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    let mut c = ctx();
    c.pid_tgid = 0;
    c.comm = [0; 16];
    c.now_ns = 0;
    region(&mut c, &s, false);
    region(&mut c, &ip4, false);
    region(&mut c, &ip6, false);
    let run = |fmt: &str, args: [u64; 3]| {
        let (r, lines) = printk(c.clone(), format!("{fmt}\0").as_bytes(), args);
        assert!((r as i64) >= 0, "{fmt}: {}", r as i64);
        lines[0].split_once("bpf_trace_printk: ").unwrap().1.to_string()
    };
    assert_eq!(run("hello %s!", [s.addr(), 0, 0]), "hello world!");
    assert_eq!(run("[%8s|%-8s]", [s.addr(), s.addr(), 0]), "[   world|world   ]");
    assert_eq!(run("%pks %pus", [s.addr(), s.addr() + 1, 0]), "world orld");
    // Unreadable strings render empty.
    assert_eq!(run("<%s>", [0xdead, 0, 0]), "<>");
    assert_eq!(run("%pI4 %pi4", [ip4.addr(), ip4.addr(), 0]), "10.0.0.1 010.000.000.001");
    assert_eq!(run("%pI6", [ip6.addr(), 0, 0]), "2001:0db8:0000:0000:0000:0000:0000:0001");
    assert_eq!(run("%pi6", [ip6.addr(), 0, 0]), "20010db8000000000000000000000001");
    assert_eq!(run("%pI4", [0x10, 0, 0]), "0.0.0.0");
}

#[test]
fn trace_printk_rejects_bad_formats() {
    for bad in [
        "%d %d %d %d", // more than 3 conversions
        "%n",
        "%f",
        "%5.2d",
        "%hd",
        "%lc",
        "%sx",
        "%pX",
        "%pI5",
        "%#x",
        "tab\x01",
        "%",
    ] {
        assert_eq!(msg(bad, [1, 2, 3]), Err(EINVAL), "{bad:?}");
    }
    // No NUL within fmt_size.
    let (r, lines) = printk(ctx(), b"abc", [0; 3]);
    assert_eq!((r, lines.len()), (EINVAL, 0));
    // fmt pointer outside the regions.
    let (r, _) = runctx::enter(ctx(), || call(trace::trace_printk, [0x4000, 4, 0, 0, 0]));
    assert_eq!(r, EFAULT);
}

#[test]
fn trace_printk_truncates_at_1023_bytes_and_returns_the_full_length() {
    let fmt = format!("{}%d\0", "x".repeat(1100));
    let (r, lines) = printk(ctx(), fmt.as_bytes(), [12, 0, 0]);
    assert_eq!(r, 1102);
    let m = lines[0].split_once("bpf_trace_printk: ").unwrap().1;
    assert_eq!(m.len(), 1023);
}

#[test]
fn snprintf_formats_into_the_buffer() {
    let fmt = Buf::from(b"%d-%s-%x\0");
    let s = Buf::from(b"ab\0");
    let data = Buf::new(24);
    let out = Buf::from(&[0xee; 16]);
    data.set(&[5u64.to_le_bytes(), s.addr().to_le_bytes(), 0xffu64.to_le_bytes()].concat());
    let mut c = ctx();
    for (b, w) in [(&fmt, false), (&s, false), (&data, false), (&out, true)] {
        region(&mut c, b, w);
    }
    runctx::enter(c, || {
        assert_eq!(call(trace::snprintf, [out.addr(), 16, fmt.addr(), data.addr(), 24]), 8);
        assert_eq!(&out.bytes()[..9], b"5-ab-ff\0\xee");
        out.set(&[0xee; 16]);
        assert_eq!(call(trace::snprintf, [out.addr(), 4, fmt.addr(), data.addr(), 24]), 8);
        assert_eq!(&out.bytes()[..5], b"5-a\0\xee");
        assert_eq!(call(trace::snprintf, [0, 0, fmt.addr(), data.addr(), 24]), 8);
        // Too few arguments for the format, bad data_len, bad pointers.
        assert_eq!(call(trace::snprintf, [out.addr(), 16, fmt.addr(), data.addr(), 16]), EINVAL);
        assert_eq!(call(trace::snprintf, [out.addr(), 16, fmt.addr(), data.addr(), 12]), EINVAL);
        assert_eq!(call(trace::snprintf, [out.addr(), 16, fmt.addr(), data.addr(), 13 * 8]), EINVAL);
        assert_eq!(call(trace::snprintf, [out.addr(), 16, fmt.addr(), 0, 8]), EINVAL);
        assert_eq!(call(trace::snprintf, [fmt.addr(), 4, fmt.addr(), data.addr(), 24]), EFAULT);
        assert_eq!(call(trace::snprintf, [out.addr(), 16, 0x30, data.addr(), 24]), EFAULT);
    });
}

// ---- spin lock ----

#[test]
fn spin_lock_rules() {
    let val = Buf::new(16);
    let mut c = ctx();
    region(&mut c, &val, true);
    let a = val.addr();
    let ((), out) = runctx::enter(c, || {
        assert_eq!(call(lock::spin_lock, [a, 0, 0, 0, 0]), 0);
        assert_eq!(val.u64_at(0), 1);
        assert_eq!(call(lock::spin_lock, [a + 4, 0, 0, 0, 0]), Errno::EDEADLK.neg() as u64);
        assert_eq!(call(lock::spin_unlock, [a + 4, 0, 0, 0, 0]), EINVAL);
        assert_eq!(call(lock::spin_unlock, [a, 0, 0, 0, 0]), 0);
        assert_eq!(val.u64_at(0), 0);
        assert_eq!(call(lock::spin_unlock, [a, 0, 0, 0, 0]), EINVAL);
        assert_eq!(call(lock::spin_lock, [a + 2, 0, 0, 0, 0]), EFAULT);
        assert_eq!(call(lock::spin_lock, [a + 16, 0, 0, 0, 0]), EFAULT);
        assert_eq!(call(lock::spin_lock, [a + 4, 0, 0, 0, 0]), 0);
        assert_eq!(val.u64_at(0), 1 << 32);
    });
    assert_eq!(out.spin_lock_held, Some(a + 4));
}

#[test]
fn spin_lock_excludes_another_thread() {
    // value: { struct bpf_spin_lock lock; u32 pad; u64 counter; }
    let val = Arc::new(Buf::new(16));
    const N: u64 = 20_000;
    let threads: Vec<_> = (0..2)
        .map(|cpu| {
            let val = val.clone();
            std::thread::spawn(move || {
                let local = Buf::new(8);
                let mut c = RunCtx::new(cpu, 2, SimRng::new(1));
                region(&mut c, &val, true);
                region(&mut c, &local, true);
                let (lock, counter) = (val.addr(), val.addr() + 8);
                runctx::enter(c, || {
                    for _ in 0..N {
                        assert_eq!(call(lock::spin_lock, [lock, 0, 0, 0, 0]), 0);
                        // A non-atomic read-modify-write through guest memory.
                        assert_eq!(call(probe::probe_read_kernel, [local.addr(), 8, counter, 0, 0]), 0);
                        local.set(&(local.u64_at(0) + 1).to_le_bytes());
                        std::hint::spin_loop();
                        assert_eq!(call(probe::probe_read_kernel, [counter, 8, local.addr(), 0, 0]), 0);
                        assert_eq!(call(lock::spin_unlock, [lock, 0, 0, 0, 0]), 0);
                    }
                });
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(val.u64_at(1), 2 * N);
    assert_eq!(val.u64_at(0), 0);
}

// ---- registration and prototypes ----

#[test]
fn every_registered_helper_has_an_implemented_prototype() {
    for &(id, _) in HELPERS.iter().chain(CALLBACK_HELPERS) {
        let p = proto::proto(id).unwrap_or_else(|| panic!("no prototype for {id}"));
        assert!(p.implemented, "{}", p.name);
    }
    for p in proto::PROTOS {
        assert_eq!(p.implemented, helper(p.id).is_some() || p.id == id::TAIL_CALL, "{}", p.name);
    }
}

// ---- through the interpreter ----

fn run_asm(c: RunCtx, src: &str) -> (u64, RunCtx) {
    let insns = bpfemu_isa::asm::kernel::assemble(src).expect("assembles");
    let prog = bpfemu_vm::Program::new(&insns).expect("loads");
    let mut vm = bpfemu_vm::Interpreter::new();
    register_all(&mut vm);
    let (r, out) = runctx::enter(c, || vm.run_checked(&prog, &[], &[]));
    (r.expect("runs"), out)
}

#[test]
fn interpreter_calls_time_and_random_helpers() {
    let (r, _) = run_asm(ctx(), "call 5\nexit");
    assert_eq!(r, 1_234_567_891_000);
    let (r, _) = run_asm(ctx(), "call 7\nr6 = r0\ncall 7\nr0 <<= 32\nr0 |= r6\nexit");
    let mut rng = SimRng::new(7);
    let (a, b) = (u64::from(rng.next_u32()), u64::from(rng.next_u32()));
    assert_eq!(r, (b << 32) | a);
    let (r, _) = run_asm(ctx(), "call 8\nexit");
    assert_eq!(r, 2);
}

#[test]
fn interpreter_trace_printk_from_the_stack() {
    // "hi %d\n\0" as a little-endian u64.
    let fmt = u64::from_le_bytes(*b"hi %d\n\0\0");
    let mut c = ctx();
    c.verified = true;
    let src =
        format!("r1 = {fmt:#x} ll\n*(u64 *)(r10 -8) = r1\nr1 = r10\nr1 += -8\nr2 = 7\nr3 = 42\ncall 6\nexit");
    let (r, out) = run_asm(c, &src);
    assert_eq!(r, 6);
    assert_eq!(out.trace, ["            curl-101     [002] d....  1234.567891: bpf_trace_printk: hi 42"]);
    // Unverified, the pointer is checked: the running program's stack is
    // valid memory (bpfemu_vm::current_stack), so the same output.
    let (r, out) = run_asm(ctx(), &src);
    assert_eq!((r, out.trace.len()), (6, 1));
    // A pointer below the stack is not: -EFAULT, no line.
    let bad = src.replace("r1 += -8", "r1 += -4096");
    let (r, out) = run_asm(ctx(), &bad);
    assert_eq!((r, out.trace.len()), (EFAULT, 0));
}

#[test]
fn interpreter_map_update_then_lookup() {
    let map = test_map(4, 8);
    let mut c = ctx();
    c.verified = true;
    c.add_map(map.clone());
    let src = format!(
        "*(u32 *)(r10 -4) = 3
         r1 = 77
         *(u64 *)(r10 -16) = r1
         r1 = {m:#x} ll
         r2 = r10
         r2 += -4
         r3 = r10
         r3 += -16
         r4 = 0
         call 2
         if r0 != 0 goto +6
         r1 = {m:#x} ll
         r2 = r10
         r2 += -4
         call 1
         if r0 == 0 goto +1
         r0 = 1
         exit",
        m = map.addr()
    );
    let (r, _) = run_asm(c, &src);
    assert_eq!(r, 1);
    let v = map.ops.lookup(&3u32.to_le_bytes()).expect("inserted");
    let check = Buf::new(8);
    let mut c = ctx();
    c.add_region(v, 8, false);
    region(&mut c, &check, true);
    runctx::enter(c, || assert_eq!(call(probe::probe_read_kernel, [check.addr(), 8, v, 0, 0]), 0));
    assert_eq!(check.u64_at(0), 77);
}

/// An outer map-in-map with one inner map at every key.
#[derive(Debug)]
struct Outer(Arc<Map>);

impl MapOps for Outer {
    fn lookup(&self, _: &[u8]) -> Option<u64> {
        panic!("outer maps answer through inner_map")
    }
    fn sys_lookup(&self, _: &[u8], _: &mut [u8], _: u64) -> Result<(), Errno> {
        Err(Errno::ENOTSUPP)
    }
    fn update(&self, _: &[u8], _: &[u8], _: u64) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }
    fn delete(&self, _: &[u8]) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }
    fn get_next_key(&self, _: Option<&[u8]>, _: &mut [u8]) -> Result<(), Errno> {
        Err(Errno::ENOTSUPP)
    }
    fn inner_map(&self, key: &[u8]) -> Option<Arc<Map>> {
        (key == [0, 0, 0, 0]).then(|| self.0.clone())
    }
    fn meta_equal(&self, _: &MapDef, _: &MapDef) -> Option<bool> {
        None
    }
    fn for_each(&self, _: &mut dyn FnMut(&[u8], u64) -> bool) -> u32 {
        0
    }
    fn btf_name(&self) -> &'static str {
        "bpf_array"
    }
    fn mem_usage(&self) -> u64 {
        0
    }
}

#[test]
fn lookup_in_an_outer_map_yields_a_usable_inner_map() {
    let inner = test_map(4, 8);
    let mut def = test_map(4, 4).def.clone();
    def.map_type = MapType::ArrayOfMaps;
    let outer = Arc::new(Map::new(def, 2, Some(inner.def.clone()), Box::new(Outer(inner.clone()))));
    let key0 = Buf::from(&[0, 0, 0, 0]);
    let key1 = Buf::from(&[1, 0, 0, 0]);
    let val = Buf::from(&9u64.to_le_bytes());
    let mut c = ctx();
    c.add_map(outer.clone());
    for b in [&key0, &key1, &val] {
        region(&mut c, b, false);
    }
    let ((), out) = runctx::enter(c, || {
        assert_eq!(call(map::map_lookup_elem, [outer.addr(), key1.addr(), 0, 0, 0]), 0);
        let m = call(map::map_lookup_elem, [outer.addr(), key0.addr(), 0, 0, 0]);
        assert_eq!(m, inner.addr());
        // The inner map is now known to the map helpers of this run.
        assert_eq!(call(map::map_update_elem, [m, key1.addr(), val.addr(), 0, 0]), 0);
    });
    assert!(inner.ops.lookup(&[1, 0, 0, 0]).is_some());
    assert_eq!(out.maps.len(), 2);
}

// ---- dynptrs ----

#[test]
fn dynptr_helpers_follow_the_kernel_and_validate_unverified_runs() {
    use dynptr::DynptrKern;
    const E2BIG: u64 = Errno::E2BIG.neg() as u64;
    let mem = Buf::new(16);
    let dp = Buf::new(16);
    let io = Buf::from(&0x0102_0304_0506_0708u64.to_le_bytes());
    let mut c = ctx();
    region(&mut c, &mem, true);
    region(&mut c, &dp, true);
    region(&mut c, &io, true);
    let kern = |b: &Buf| DynptrKern::from_bytes(&b.bytes()).unwrap();
    runctx::enter(c, || {
        use dynptr::*;
        assert_eq!(call(dynptr_from_mem, [mem.addr(), 16, 0, dp.addr(), 0]), 0);
        let d = kern(&dp);
        assert_eq!((d.data, d.size(), d.typ(), d.offset), (mem.addr(), 16, BPF_DYNPTR_TYPE_LOCAL, 0));
        assert_eq!(call(dynptr_write, [dp.addr(), 8, io.addr(), 8, 0]), 0);
        assert_eq!(mem.u64_at(1), 0x0102_0304_0506_0708);
        assert_eq!(call(dynptr_write, [dp.addr(), 9, io.addr(), 8, 0]), E2BIG);
        assert_eq!(call(dynptr_write, [dp.addr(), 0, io.addr(), 8, 1]), EINVAL);
        assert_eq!(call(dynptr_read, [io.addr(), 4, dp.addr(), 12, 0]), 0);
        assert_eq!(io.u64_at(0), 0x0102_0304_0102_0304);
        assert_eq!(call(dynptr_read, [io.addr(), 8, dp.addr(), 9, 0]), E2BIG);
        assert_eq!(call(dynptr_read, [io.addr(), 8, dp.addr(), 0, 1]), EINVAL);
        assert_eq!(call(dynptr_data, [dp.addr(), 8, 8, 0, 0]), mem.addr() + 8);
        assert_eq!(call(dynptr_data, [dp.addr(), 9, 8, 0, 0]), 0);
        // Flags, sizes: a null dynptr, refused by read and write.
        assert_eq!(call(dynptr_from_mem, [mem.addr(), 16, 1, dp.addr(), 0]), EINVAL);
        assert_eq!(dp.bytes(), vec![0; 16]);
        assert_eq!(call(dynptr_read, [io.addr(), 1, dp.addr(), 0, 0]), EINVAL);
        assert_eq!(call(dynptr_write, [dp.addr(), 0, io.addr(), 1, 0]), EINVAL);
        assert_eq!(call(dynptr_data, [dp.addr(), 0, 1, 0, 0]), 0);
        assert_eq!(call(dynptr_from_mem, [mem.addr(), 1 << 24, 0, dp.addr(), 0]), E2BIG);
        // Submitting or discarding a null dynptr does nothing.
        assert_eq!(call(ringbuf_submit_dynptr, [dp.addr(), 0, 0, 0, 0]), 0);
        // This run is unverified: memory outside its regions is refused,
        // through from_mem or through a forged dynptr.
        assert_eq!(call(dynptr_from_mem, [0xdead_0000, 16, 0, dp.addr(), 0]), EFAULT);
        assert_eq!(dp.bytes(), vec![0; 16]);
        assert_eq!(call(dynptr_from_mem, [mem.addr(), 16, 0, 0xdead_0000, 0]), EFAULT);
        dp.set(&DynptrKern::new(0xdead_0000, BPF_DYNPTR_TYPE_LOCAL, 0, 16).to_bytes());
        assert_eq!(call(dynptr_read, [io.addr(), 8, dp.addr(), 0, 0]), EFAULT);
        assert_eq!(call(dynptr_write, [dp.addr(), 0, io.addr(), 8, 0]), EFAULT);
        assert_eq!(call(dynptr_data, [dp.addr(), 0, 8, 0, 0]), 0);
        dp.set(&DynptrKern::new(mem.addr(), BPF_DYNPTR_TYPE_LOCAL, 8, 0xff_ffff).to_bytes());
        assert_eq!(call(dynptr_read, [io.addr(), 16, dp.addr(), 0, 0]), EFAULT);
        // A forged ring-buffer dynptr is no record of any ring.
        dp.set(&DynptrKern::new(mem.addr(), BPF_DYNPTR_TYPE_RINGBUF, 0, 8).to_bytes());
        assert_eq!(call(ringbuf_submit_dynptr, [dp.addr(), 0, 0, 0, 0]), EINVAL);
        assert_eq!(call(ringbuf_discard_dynptr, [dp.addr(), 0, 0, 0, 0]), EINVAL);
        dp.set(&DynptrKern::new(mem.addr(), BPF_DYNPTR_TYPE_LOCAL, 0, 8).to_bytes());
        assert_eq!(call(ringbuf_submit_dynptr, [dp.addr(), 0, 0, 0, 0]), EINVAL);
        // No ring at that address: the reservation fails, the dynptr is null.
        assert_eq!(call(ringbuf_reserve_dynptr, [0x1234, 8, 0, dp.addr(), 0]), EINVAL);
        assert_eq!(dp.bytes(), vec![0; 16]);
        assert_eq!(call(ringbuf_reserve_dynptr, [0x1234, 8, 1, dp.addr(), 0]), EINVAL);
        assert_eq!(call(ringbuf_reserve_dynptr, [0x1234, 1 << 24, 0, dp.addr(), 0]), E2BIG);
    });
}
