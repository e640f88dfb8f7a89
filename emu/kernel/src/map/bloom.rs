//! `BPF_MAP_TYPE_BLOOM_FILTER` (kernel/bpf/bloom_filter.c).
//!
//! A bit array and `nr_hash_funcs` hashes of each value (the low 4 bits of
//! `map_extra`, 5 when 0). Push (`bpf_map_push_elem`,
//! `BPF_MAP_UPDATE_ELEM`, flags must be `BPF_ANY`) sets the value's bits;
//! peek (`bpf_map_peek_elem`, `BPF_MAP_LOOKUP_ELEM` with the value passed
//! in) answers 0 if every bit is set ("maybe present") and `ENOENT`
//! otherwise ("certainly absent"). The bit array has
//! `max_entries * nr_hash_funcs * 7 / 5` bits rounded up to a power of two
//! (at least 64; 2^32 when that overflows or exceeds 2^31), as the kernel
//! sizes it. Pop, delete and `get_next_key` are `EOPNOTSUPP`; lookup and
//! update from a program `EINVAL` (the verifier keeps programs to peek and
//! push).
//!
//! Creation (`bloom_map_alloc_check()`, `bloom_map_alloc()`): `E2BIG` for a
//! value above `KMALLOC_MAX_SIZE`, then `EPERM` without `CAP_BPF`, then
//! `EINVAL` for a key, a value size or `max_entries` of 0, flags beyond
//! `BPF_F_NUMA_NODE`, `BPF_F_ZERO_SEED` and the access flags, or
//! `map_extra` above 15.
//!
//! The hashes are bpfemu's seeded hash ([`super::hash::hashfn`]), the
//! `i`-th with seed + `i`, not the kernel's `jhash`/`jhash2`; the seed is 0
//! with `BPF_F_ZERO_SEED` and otherwise derived from the creation
//! attributes (the kernel draws a random one), so which values collide
//! differs from the kernel's but is the same on every run.

use super::create::{MapCreateAttr, MapEnv};
use super::hash::hashfn;
use super::queue_stack::KMALLOC_MAX_SIZE;
use super::{Map, MapDef, MapOps, array, meta_equal_common};
use crate::errno::Errno;
use crate::uapi;
use parking_lot::Mutex;

/// `BLOOM_CREATE_FLAG_MASK`.
const CREATE_FLAG_MASK: u32 = uapi::BPF_F_NUMA_NODE | uapi::BPF_F_ZERO_SEED | array::BPF_F_ACCESS_MASK;

/// Approximate `sizeof(struct bpf_bloom_filter)` without the bits.
const BPF_BLOOM_HDR: u64 = 320;

/// A bloom filter (`struct bpf_bloom_filter`).
#[derive(Debug)]
pub struct Bloom {
    value_size: usize,
    nr_hash_funcs: u32,
    bitset_mask: u32,
    seed: u32,
    bits: Mutex<Vec<u64>>,
}

/// `AllocFn` for `BPF_MAP_TYPE_BLOOM_FILTER` (see the module docs).
pub fn alloc(attr: &MapCreateAttr, env: &MapEnv, _inner: Option<&Map>) -> Result<Box<dyn MapOps>, Errno> {
    if attr.value_size > KMALLOC_MAX_SIZE {
        return Err(Errno::E2BIG);
    }
    if !env.bpf_capable {
        return Err(Errno::EPERM);
    }
    if attr.key_size != 0
        || attr.value_size == 0
        || attr.max_entries == 0
        || attr.map_flags & !CREATE_FLAG_MASK != 0
        || !array::flags_access_ok(attr.map_flags)
        || attr.map_extra & !0xf != 0
    {
        return Err(Errno::EINVAL);
    }
    let nr_hash_funcs = if attr.map_extra == 0 { 5 } else { attr.map_extra as u32 };
    let nr_bits = attr.max_entries.checked_mul(nr_hash_funcs).and_then(|n| (n / 5).checked_mul(7));
    let (words, bitset_mask) = match nr_bits {
        Some(n) if n <= 1 << 31 => {
            let n = if n <= 64 { 64 } else { n.next_power_of_two() };
            ((n / 64) as usize, n - 1)
        }
        _ => ((1usize << 32) / 64, u32::MAX),
    };
    let mut bits = Vec::new();
    bits.try_reserve_exact(words).map_err(|_| Errno::ENOMEM)?;
    bits.resize(words, 0);
    let zero_seed = attr.map_flags & uapi::BPF_F_ZERO_SEED != 0;
    Ok(Box::new(Bloom {
        value_size: attr.value_size as usize,
        nr_hash_funcs,
        bitset_mask,
        seed: hashfn::seed_for(attr, zero_seed),
        bits: Mutex::new(bits),
    }))
}

impl Bloom {
    /// The bit of hash function `i` for `value`.
    fn bit(&self, value: &[u8], i: u32) -> u32 {
        hashfn::hash(value, self.seed.wrapping_add(i)) & self.bitset_mask
    }

    fn value<'v>(&self, value: &'v [u8]) -> Result<&'v [u8], Errno> {
        value.get(..self.value_size).ok_or(Errno::EINVAL)
    }
}

impl MapOps for Bloom {
    /// `bloom_map_lookup_elem()`: programs peek instead.
    fn lookup(&self, _key: &[u8]) -> Option<u64> {
        None
    }

    /// `BPF_MAP_LOOKUP_ELEM`: `out` holds the value to test (the syscall
    /// copies the caller's value in for this type).
    fn sys_lookup(&self, _key: &[u8], out: &mut [u8], _flags: u64) -> Result<(), Errno> {
        self.peek(out)
    }

    /// `bloom_map_update_elem()`: programs push instead.
    fn update(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    /// `BPF_MAP_UPDATE_ELEM` pushes.
    fn sys_update(&self, _key: &[u8], value: &[u8], flags: u64) -> Result<(), Errno> {
        self.push(value, flags)
    }

    /// `bloom_map_delete_elem()`.
    fn delete(&self, _key: &[u8]) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }

    /// `bloom_map_get_next_key()`.
    fn get_next_key(&self, _key: Option<&[u8]>, _next: &mut [u8]) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }

    /// `bloom_map_push_elem()`: flags must be `BPF_ANY`.
    fn push(&self, value: &[u8], flags: u64) -> Result<(), Errno> {
        if flags != uapi::BPF_ANY {
            return Err(Errno::EINVAL);
        }
        let value = self.value(value)?;
        let mut bits = self.bits.lock();
        for i in 0..self.nr_hash_funcs {
            let b = self.bit(value, i);
            bits[(b / 64) as usize] |= 1 << (b % 64);
        }
        Ok(())
    }

    /// `bloom_map_pop_elem()`.
    fn pop(&self, _out: &mut [u8]) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }

    /// `bloom_map_peek_elem()`: `value` is read, not written.
    fn peek(&self, value: &mut [u8]) -> Result<(), Errno> {
        let value = self.value(value)?;
        let bits = self.bits.lock();
        let all = (0..self.nr_hash_funcs).all(|i| {
            let b = self.bit(value, i);
            bits[(b / 64) as usize] & (1 << (b % 64)) != 0
        });
        if all { Ok(()) } else { Err(Errno::ENOENT) }
    }

    /// `bpf_map_meta_equal()`.
    fn meta_equal(&self, meta: &MapDef, inner: &MapDef) -> Option<bool> {
        Some(meta_equal_common(meta, inner))
    }

    /// Not iterable.
    fn for_each(&self, _f: &mut dyn FnMut(&[u8], u64) -> bool) -> u32 {
        0
    }

    fn btf_name(&self) -> &'static str {
        "bpf_bloom_filter"
    }

    /// The struct and the bit array (the kernel has no `map_mem_usage`
    /// for this type in some versions; this is what it allocates).
    fn mem_usage(&self) -> u64 {
        BPF_BLOOM_HDR + 8 * self.bits.lock().len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::array::tests::{ENV, attr};
    use crate::map::create::create;
    use crate::uapi::MapType;

    fn bloom(max: u32, extra: u64, flags: u32) -> Result<Map, Errno> {
        let mut a = attr(MapType::BloomFilter, 8, max, flags);
        a.key_size = 0;
        a.map_extra = extra;
        create(&a, 1, &ENV, None)
    }

    #[test]
    fn create_checks_and_sizes() {
        let e = |r: Result<Map, Errno>| r.map(|_| ()).unwrap_err();
        assert_eq!(e(bloom(0, 0, 0)), Errno::EINVAL);
        assert_eq!(e(bloom(4, 16, 0)), Errno::EINVAL);
        assert_eq!(e(bloom(4, 0, uapi::BPF_F_MMAPABLE)), Errno::EINVAL);
        let mut a = attr(MapType::BloomFilter, KMALLOC_MAX_SIZE + 1, 1, 0);
        a.key_size = 0;
        let unpriv = MapEnv { bpf_capable: false, ..ENV };
        assert_eq!(e(create(&a, 1, &unpriv, None)), Errno::E2BIG, "E2BIG comes before EPERM");
        a.value_size = 8;
        assert_eq!(e(create(&a, 1, &unpriv, None)), Errno::EPERM);
        a.key_size = 4;
        assert_eq!(e(create(&a, 1, &ENV, None)), Errno::EINVAL);
        // 100 entries * 5 hashes * 7 / 5 = 700 bits -> 1024 bits.
        let m = bloom(100, 0, 0).unwrap();
        assert_eq!(m.ops.mem_usage(), BPF_BLOOM_HDR + 1024 / 8);
        assert_eq!(bloom(1, 1, 0).unwrap().ops.mem_usage(), BPF_BLOOM_HDR + 8, "at least 64 bits");
        assert_eq!(m.ops.btf_name(), "bpf_bloom_filter");
    }

    #[test]
    fn pushed_values_are_found_and_others_mostly_not() {
        let m = bloom(64, 3, uapi::BPF_F_ZERO_SEED).unwrap();
        let v = |n: u64| n.to_ne_bytes();
        assert_eq!(m.ops.peek(&mut v(1)), Err(Errno::ENOENT));
        for n in 0..64 {
            m.ops.push(&v(n), 0).unwrap();
        }
        for n in 0..64 {
            assert_eq!(m.ops.peek(&mut v(n)), Ok(()), "no false negatives");
        }
        let false_pos = (1000..2000).filter(|&n| m.ops.peek(&mut v(n)).is_ok()).count();
        assert!(false_pos < 300, "{false_pos} false positives of 1000");
        assert_eq!(m.ops.push(&v(1), uapi::BPF_EXIST), Err(Errno::EINVAL));
        assert_eq!(m.ops.pop(&mut v(1)), Err(Errno::EOPNOTSUPP));
        assert_eq!(m.ops.delete(&[]), Err(Errno::EOPNOTSUPP));
        assert_eq!(m.ops.get_next_key(None, &mut [0; 8]), Err(Errno::EOPNOTSUPP));
        assert_eq!(m.ops.update(&[], &v(1), 0), Err(Errno::EINVAL));
    }
}
