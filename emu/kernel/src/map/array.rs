//! `BPF_MAP_TYPE_ARRAY` (kernel/bpf/arraymap.c, `array_map_ops`), plus the
//! attribute checks and key helpers the other array-shaped types share
//! (percpu_array, prog_array, array_of_maps).
//!
//! Emulated: `array_map_alloc_check()` (flags, sizes), zero-initialised
//! contiguous elements of `round_up(value_size, 8)` bytes at stable,
//! 8-byte aligned addresses ([`ValueMem`]), lookup / update / delete /
//! get_next_key with the kernel's errnos, `map_direct_value_addr` for
//! global data, `bpf_for_each_map_elem`, `array_map_meta_equal` (the
//! max_entries check stays unless the template has `BPF_F_INNER_MAP`,
//! because the verifier inlines lookups with the template's max_entries) and
//! `array_map_mem_usage`.
//!
//! Not emulated: `bpf_spin_lock` / timers / kptrs in values (so
//! `BPF_F_LOCK` is always `EINVAL`), the unprivileged power-of-two rounding
//! of max_entries (the emulated user is privileged), page alignment of
//! `BPF_F_MMAPABLE` values (accepted; the buffer is 8-byte aligned only),
//! batch operations and the seq_file iterator.

use super::create::{MapCreateAttr, MapEnv};
use super::valmem::ValueMem;
use super::{Map, MapDef, MapOps, for_each_elem, meta_equal_common};
use crate::errno::Errno;
use crate::uapi::{self, MapType};

/// Flags any array-shaped map accepts at creation (`ARRAY_CREATE_FLAG_MASK`).
pub const ARRAY_CREATE_FLAG_MASK: u32 = uapi::BPF_F_NUMA_NODE
    | uapi::BPF_F_MMAPABLE
    | BPF_F_ACCESS_MASK
    | uapi::BPF_F_PRESERVE_ELEMS
    | uapi::BPF_F_INNER_MAP;

/// `BPF_F_ACCESS_MASK`: the read/write restriction flags.
pub const BPF_F_ACCESS_MASK: u32 =
    uapi::BPF_F_RDONLY | uapi::BPF_F_RDONLY_PROG | uapi::BPF_F_WRONLY | uapi::BPF_F_WRONLY_PROG;

/// `PCPU_MIN_UNIT_SIZE`: the largest per-CPU value (rounded up to 8).
pub const PCPU_MIN_UNIT_SIZE: u32 = 32 << 10;

/// Approximate `sizeof(struct bpf_array)` (the `struct bpf_map` header
/// plus the array fields), the fixed part of `mem_usage`.
pub const BPF_ARRAY_HDR: u64 = 320;

const PAGE_SIZE: u64 = 4096;

/// `bpf_map_flags_access_ok()`: read-only and write-only exclude each other,
/// on the syscall side and on the program side.
pub fn flags_access_ok(flags: u32) -> bool {
    let both = |a: u32, b: u32| flags & a != 0 && flags & b != 0;
    !both(uapi::BPF_F_RDONLY, uapi::BPF_F_WRONLY) && !both(uapi::BPF_F_RDONLY_PROG, uapi::BPF_F_WRONLY_PROG)
}

/// `array_map_alloc_check()` for map type `t` (array, percpu_array and the
/// fd arrays, which add their own checks first).
pub fn alloc_check(attr: &MapCreateAttr, t: MapType) -> Result<(), Errno> {
    let percpu = t == MapType::PercpuArray;
    let numa = attr.map_flags & uapi::BPF_F_NUMA_NODE != 0;
    if attr.max_entries == 0
        || attr.key_size != 4
        || attr.value_size == 0
        || attr.map_flags & !ARRAY_CREATE_FLAG_MASK != 0
        || !flags_access_ok(attr.map_flags)
        || (percpu && numa)
    {
        return Err(Errno::EINVAL);
    }
    if t != MapType::Array && attr.map_flags & (uapi::BPF_F_MMAPABLE | uapi::BPF_F_INNER_MAP) != 0 {
        return Err(Errno::EINVAL);
    }
    if t != MapType::PerfEventArray && attr.map_flags & uapi::BPF_F_PRESERVE_ELEMS != 0 {
        return Err(Errno::EINVAL);
    }
    // round_up(value_size, 8) must not overflow an int.
    if attr.value_size > i32::MAX as u32 {
        return Err(Errno::E2BIG);
    }
    if percpu && elem_size(attr.value_size) > PCPU_MIN_UNIT_SIZE as usize {
        return Err(Errno::E2BIG);
    }
    Ok(())
}

/// `round_up(value_size, 8)`: the stride between elements.
pub fn elem_size(value_size: u32) -> usize {
    (value_size as usize).next_multiple_of(8)
}

/// The index a 4-byte array key holds (native endian). A malformed key
/// (shorter than 4 bytes) yields `u32::MAX`, which no array has.
pub fn key_index(key: &[u8]) -> u32 {
    key.get(..4).map_or(u32::MAX, |k| u32::from_ne_bytes(k.try_into().expect("4 bytes")))
}

/// The checks of the arrays' syscall lookup (`bpf_map_copy_value()` of an
/// array): no flags (`BPF_F_LOCK` needs a spin lock in the value) and an
/// index in range (`ENOENT`); the index.
pub(crate) fn sys_lookup_index(max_entries: u32, key: &[u8], flags: u64) -> Result<u32, Errno> {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let i = key_index(key);
    if i >= max_entries {
        return Err(Errno::ENOENT);
    }
    Ok(i)
}

/// `array_map_get_next_key()`: 0 for no key or an out-of-range one,
/// `ENOENT` after the last index.
pub fn get_next_key(max_entries: u32, key: Option<&[u8]>, next: &mut [u8]) -> Result<(), Errno> {
    let n = match key.map(key_index) {
        None => 0,
        Some(i) if i >= max_entries => 0,
        Some(i) if i == max_entries - 1 => return Err(Errno::ENOENT),
        Some(i) => i + 1,
    };
    next.get_mut(..4).ok_or(Errno::EINVAL)?.copy_from_slice(&n.to_ne_bytes());
    Ok(())
}

/// `array_map_mem_usage()` for a non-per-CPU array of `max_entries`
/// elements of `elem` bytes.
pub fn mem_usage_flat(max_entries: u32, elem: usize, mmapable: bool) -> u64 {
    let data = u64::from(max_entries) * elem as u64;
    if mmapable {
        BPF_ARRAY_HDR.next_multiple_of(PAGE_SIZE) + data.next_multiple_of(PAGE_SIZE)
    } else {
        BPF_ARRAY_HDR + data
    }
}

/// The update-flag checks of `array_map_update_elem()` shared by the
/// program and syscall sides: unknown flags `EINVAL`, out of range `E2BIG`,
/// `BPF_NOEXIST` `EEXIST` (every element always exists), `BPF_F_LOCK`
/// `EINVAL` (no value holds a `bpf_spin_lock` in the emulator).
pub fn check_update(index: u32, max_entries: u32, flags: u64) -> Result<(), Errno> {
    if (flags & !uapi::BPF_F_LOCK) > uapi::BPF_EXIST {
        return Err(Errno::EINVAL);
    }
    if index >= max_entries {
        return Err(Errno::E2BIG);
    }
    if flags & uapi::BPF_NOEXIST != 0 {
        return Err(Errno::EEXIST);
    }
    if flags & uapi::BPF_F_LOCK != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// A plain array map.
#[derive(Debug)]
pub struct ArrayMap {
    value_size: u32,
    max_entries: u32,
    elem_size: usize,
    mmapable: bool,
    values: ValueMem,
}

/// `AllocFn` for `BPF_MAP_TYPE_ARRAY`.
pub fn alloc(attr: &MapCreateAttr, _env: &MapEnv, _inner: Option<&Map>) -> Result<Box<dyn MapOps>, Errno> {
    alloc_check(attr, MapType::Array)?;
    Ok(Box::new(ArrayMap::new(attr)?))
}

impl ArrayMap {
    fn new(attr: &MapCreateAttr) -> Result<ArrayMap, Errno> {
        let elem = elem_size(attr.value_size);
        let total = (attr.max_entries as usize).checked_mul(elem).ok_or(Errno::ENOMEM)?;
        Ok(ArrayMap {
            value_size: attr.value_size,
            max_entries: attr.max_entries,
            elem_size: elem,
            mmapable: attr.map_flags & uapi::BPF_F_MMAPABLE != 0,
            values: ValueMem::new(total)?,
        })
    }

    fn offset(&self, index: u32) -> usize {
        index as usize * self.elem_size
    }

    /// The value memory (for `mmap` of `BPF_F_MMAPABLE` arrays).
    pub fn values(&self) -> &ValueMem {
        &self.values
    }
}

impl MapOps for ArrayMap {
    fn lookup(&self, key: &[u8]) -> Option<u64> {
        let i = key_index(key);
        (i < self.max_entries).then(|| self.values.addr(self.offset(i)))
    }

    fn sys_lookup(&self, key: &[u8], out: &mut [u8], flags: u64) -> Result<(), Errno> {
        let i = sys_lookup_index(self.max_entries, key, flags)?;
        let out = out.get_mut(..self.value_size as usize).ok_or(Errno::EINVAL)?;
        self.values.read(self.offset(i), out);
        Ok(())
    }

    fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), Errno> {
        let i = key_index(key);
        check_update(i, self.max_entries, flags)?;
        let v = value.get(..self.value_size as usize).ok_or(Errno::EINVAL)?;
        self.values.write(self.offset(i), v);
        Ok(())
    }

    fn delete(&self, _key: &[u8]) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    fn get_next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<(), Errno> {
        get_next_key(self.max_entries, key, next)
    }

    /// Only single-element arrays back global data; the kernel answers
    /// `ENOTSUPP` for others and `EINVAL` for an offset past the value.
    fn direct_value_addr(&self, off: u32) -> Result<u64, Errno> {
        if self.max_entries != 1 {
            return Err(Errno::ENOTSUPP);
        }
        if off >= self.value_size {
            return Err(Errno::EINVAL);
        }
        Ok(self.values.addr(off as usize))
    }

    fn meta_equal(&self, meta: &MapDef, inner: &MapDef) -> Option<bool> {
        Some(array_meta_equal(meta, inner))
    }

    fn for_each(&self, f: &mut dyn FnMut(&[u8], u64) -> bool) -> u32 {
        for_each_elem((0..self.max_entries).map(|i| (i.to_ne_bytes(), self.values.addr(self.offset(i)))), f)
    }

    fn btf_name(&self) -> &'static str {
        "bpf_array"
    }

    fn value_regions(&self) -> Vec<(u64, u64, bool)> {
        vec![(self.values.base(), self.values.len() as u64, true)]
    }

    fn mem_usage(&self) -> u64 {
        mem_usage_flat(self.max_entries, self.elem_size, self.mmapable)
    }
}

/// `array_map_meta_equal()`: the common fields, and max_entries too unless
/// the template was created with `BPF_F_INNER_MAP`.
pub fn array_meta_equal(meta: &MapDef, inner: &MapDef) -> bool {
    meta_equal_common(meta, inner)
        && (meta.map_flags & uapi::BPF_F_INNER_MAP != 0 || meta.max_entries == inner.max_entries)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::map::create::create;
    use std::sync::Arc;

    pub(crate) const ENV: MapEnv = MapEnv { nr_cpus: 4, bpf_capable: true };

    pub(crate) fn attr(t: MapType, value_size: u32, max_entries: u32, flags: u32) -> MapCreateAttr {
        MapCreateAttr {
            map_type: t.raw(),
            key_size: 4,
            value_size,
            max_entries,
            map_flags: flags,
            ..Default::default()
        }
    }

    pub(crate) fn k(i: u32) -> [u8; 4] {
        i.to_ne_bytes()
    }

    fn arr(value_size: u32, max_entries: u32) -> Map {
        create(&attr(MapType::Array, value_size, max_entries, 0), 1, &ENV, None).unwrap()
    }

    #[test]
    fn create_checks() {
        let e = |a: &MapCreateAttr| create(a, 1, &ENV, None).map(|_| ()).unwrap_err();
        let mut a = attr(MapType::Array, 4, 1, 0);
        a.key_size = 8;
        assert_eq!(e(&a), Errno::EINVAL);
        assert_eq!(e(&attr(MapType::Array, 0, 1, 0)), Errno::EINVAL);
        assert_eq!(e(&attr(MapType::Array, 4, 0, 0)), Errno::EINVAL);
        assert_eq!(e(&attr(MapType::Array, 4, 1, uapi::BPF_F_NO_PREALLOC)), Errno::EINVAL);
        assert_eq!(e(&attr(MapType::Array, 4, 1, uapi::BPF_F_PRESERVE_ELEMS)), Errno::EINVAL);
        assert_eq!(e(&attr(MapType::Array, 4, 1, uapi::BPF_F_RDONLY | uapi::BPF_F_WRONLY)), Errno::EINVAL);
        assert_eq!(
            e(&attr(MapType::Array, 4, 1, uapi::BPF_F_RDONLY_PROG | uapi::BPF_F_WRONLY_PROG)),
            Errno::EINVAL
        );
        assert_eq!(e(&attr(MapType::Array, i32::MAX as u32 + 1, 1, 0)), Errno::E2BIG);
        assert_eq!(e(&attr(MapType::Array, 8, u32::MAX, 0)), Errno::ENOMEM);
        for f in [
            uapi::BPF_F_NUMA_NODE,
            uapi::BPF_F_RDONLY,
            uapi::BPF_F_WRONLY,
            uapi::BPF_F_RDONLY_PROG | uapi::BPF_F_WRONLY,
            uapi::BPF_F_MMAPABLE,
            uapi::BPF_F_INNER_MAP,
        ] {
            let m = create(&attr(MapType::Array, 4, 2, f), 1, &ENV, None).unwrap();
            assert_eq!(m.ops.btf_name(), "bpf_array");
        }
    }

    #[test]
    fn lookup_update_delete_next_key() {
        let m = arr(12, 3);
        let mut out = [0xaau8; 12];
        m.ops.sys_lookup(&k(2), &mut out, 0).unwrap();
        assert_eq!(out, [0; 12], "zero-initialised");
        assert_eq!(m.ops.sys_lookup(&k(3), &mut out, 0), Err(Errno::ENOENT));
        assert_eq!(m.ops.lookup(&k(3)), None);
        let v: Vec<u8> = (1..=12).collect();
        m.ops.update(&k(1), &v, uapi::BPF_ANY).unwrap();
        m.ops.update(&k(1), &v, uapi::BPF_EXIST).unwrap();
        assert_eq!(m.ops.update(&k(1), &v, uapi::BPF_NOEXIST), Err(Errno::EEXIST));
        assert_eq!(m.ops.update(&k(1), &v, 3), Err(Errno::EINVAL));
        assert_eq!(m.ops.update(&k(1), &v, uapi::BPF_F_LOCK), Err(Errno::EINVAL));
        assert_eq!(m.ops.update(&k(3), &v, uapi::BPF_ANY), Err(Errno::E2BIG));
        assert_eq!(m.ops.update(&k(3), &v, uapi::BPF_NOEXIST), Err(Errno::E2BIG));
        assert_eq!(m.ops.sys_lookup(&k(1), &mut out, uapi::BPF_F_LOCK), Err(Errno::EINVAL));
        m.ops.sys_lookup(&k(1), &mut out, 0).unwrap();
        assert_eq!(out.as_slice(), v.as_slice());
        assert_eq!(m.ops.delete(&k(1)), Err(Errno::EINVAL));
        assert_eq!(m.ops.lookup_and_delete(&k(1), &mut out, 0), Err(Errno::ENOTSUPP));

        let mut nk = [0u8; 4];
        m.ops.get_next_key(None, &mut nk).unwrap();
        assert_eq!(nk, k(0));
        m.ops.get_next_key(Some(&k(0)), &mut nk).unwrap();
        assert_eq!(nk, k(1));
        m.ops.get_next_key(Some(&k(77)), &mut nk).unwrap();
        assert_eq!(nk, k(0));
        assert_eq!(m.ops.get_next_key(Some(&k(2)), &mut nk), Err(Errno::ENOENT));
        assert_eq!(m.sys_value_size(4), 12);
        assert!(!m.ops.is_percpu() && !m.ops.is_fd_map());
        assert_eq!(m.ops.mem_usage(), BPF_ARRAY_HDR + 3 * 16);
    }

    #[test]
    fn values_are_contiguous_aligned_and_stable() {
        let m = arr(12, 4);
        let addrs: Vec<u64> = (0..4).map(|i| m.ops.lookup(&k(i)).unwrap()).collect();
        assert_eq!(addrs[0] % 8, 0);
        for w in addrs.windows(2) {
            assert_eq!(w[1] - w[0], 16);
        }
        for round in 0..3u8 {
            m.ops.update(&k(2), &[round; 12], 0).unwrap();
            assert_eq!(m.ops.lookup(&k(2)), Some(addrs[2]));
        }
        let mut seen = Vec::new();
        let n = m.ops.for_each(&mut |key, addr| {
            seen.push((key_index(key), addr));
            key_index(key) < 1
        });
        assert_eq!(n, 2);
        assert_eq!(seen, vec![(0, addrs[0]), (1, addrs[1])]);
        assert_eq!(m.ops.for_each(&mut |_, _| true), 4);
    }

    #[test]
    fn direct_value_addr_only_for_single_element() {
        let m = arr(16, 1);
        let base = m.ops.lookup(&k(0)).unwrap();
        assert_eq!(m.ops.direct_value_addr(0), Ok(base));
        assert_eq!(m.ops.direct_value_addr(15), Ok(base + 15));
        assert_eq!(m.ops.direct_value_addr(16), Err(Errno::EINVAL));
        assert_eq!(arr(16, 2).ops.direct_value_addr(0), Err(Errno::ENOTSUPP));
    }

    #[test]
    fn meta_equal_keeps_max_entries_unless_inner_map_flag() {
        let a = arr(8, 4);
        let same = arr(8, 4);
        let bigger = arr(8, 8);
        let other_vs = arr(16, 4);
        assert_eq!(a.ops.meta_equal(&a.def, &same.def), Some(true));
        assert_eq!(a.ops.meta_equal(&a.def, &bigger.def), Some(false));
        assert_eq!(a.ops.meta_equal(&a.def, &other_vs.def), Some(false));
        let t = create(&attr(MapType::Array, 8, 4, uapi::BPF_F_INNER_MAP), 1, &ENV, None).unwrap();
        let big_flagged = create(&attr(MapType::Array, 8, 64, uapi::BPF_F_INNER_MAP), 1, &ENV, None).unwrap();
        assert_eq!(t.ops.meta_equal(&t.def, &big_flagged.def), Some(true));
        // map_flags must match exactly.
        assert_eq!(t.ops.meta_equal(&t.def, &bigger.def), Some(false));
    }

    #[test]
    fn concurrent_updates_of_different_keys() {
        let m = Arc::new(arr(8, 2));
        let threads: Vec<_> = (0..2u32)
            .map(|t| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for n in 0..10_000u64 {
                        m.ops.update(&k(t), &(n * 2 + u64::from(t)).to_ne_bytes(), 0).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        for t in 0..2u32 {
            let mut out = [0u8; 8];
            m.ops.sys_lookup(&k(t), &mut out, 0).unwrap();
            assert_eq!(u64::from_ne_bytes(out), 9_999 * 2 + u64::from(t));
        }
    }
}
