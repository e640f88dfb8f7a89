//! `BPF_MAP_TYPE_PERCPU_ARRAY` (kernel/bpf/arraymap.c,
//! `percpu_array_map_ops`): an array with one copy of every value per
//! possible CPU.
//!
//! Layout: one [`ValueMem`] holding, for each index, `nr_cpus` slots of
//! `round_up(value_size, 8)` bytes (index-major), so each CPU's copy has a
//! stable, 8-byte aligned address. Programs see the copy of the CPU they run
//! on ([`crate::runctx::this_cpu`]); the syscall side copies all CPUs'
//! copies, each padded to 8 bytes (`bpf_percpu_array_copy()` /
//! `bpf_percpu_array_update()`).
//!
//! `map_meta_equal` is the generic `bpf_map_meta_equal()` (no max_entries
//! check), as `percpu_array_map_ops` has it. Not emulated:
//! `bpf_map_lookup_percpu_elem()` on another CPU (no trait method yet),
//! `map_gen_lookup` inlining, batch operations.

use super::array::{self, check_update, elem_size, key_index};
use super::create::{MapCreateAttr, MapEnv};
use super::valmem::ValueMem;
use super::{Map, MapDef, MapOps, for_each_elem, meta_equal_common};
use crate::errno::Errno;
use crate::runctx;
use crate::uapi::{self, MapType};

/// A per-CPU array map.
#[derive(Debug)]
pub struct PercpuArrayMap {
    value_size: u32,
    max_entries: u32,
    elem_size: usize,
    nr_cpus: u32,
    values: ValueMem,
}

/// `AllocFn` for `BPF_MAP_TYPE_PERCPU_ARRAY`.
pub fn alloc(attr: &MapCreateAttr, env: &MapEnv, _inner: Option<&Map>) -> Result<Box<dyn MapOps>, Errno> {
    array::alloc_check(attr, MapType::PercpuArray)?;
    let elem = elem_size(attr.value_size);
    let nr_cpus = env.nr_cpus.max(1);
    let total = (attr.max_entries as usize)
        .checked_mul(nr_cpus as usize)
        .and_then(|n| n.checked_mul(elem))
        .ok_or(Errno::ENOMEM)?;
    Ok(Box::new(PercpuArrayMap {
        value_size: attr.value_size,
        max_entries: attr.max_entries,
        elem_size: elem,
        nr_cpus,
        values: ValueMem::new(total)?,
    }))
}

impl PercpuArrayMap {
    fn offset(&self, index: u32, cpu: u32) -> usize {
        (index as usize * self.nr_cpus as usize + cpu as usize) * self.elem_size
    }

    /// Address of CPU `cpu`'s copy of element `index`
    /// (`bpf_map_lookup_percpu_elem()`); `None` when either is out of range.
    pub fn lookup_on_cpu(&self, index: u32, cpu: u32) -> Option<u64> {
        (index < self.max_entries && cpu < self.nr_cpus).then(|| self.values.addr(self.offset(index, cpu)))
    }

    fn sys_size(&self) -> usize {
        self.elem_size * self.nr_cpus as usize
    }
}

impl MapOps for PercpuArrayMap {
    fn lookup(&self, key: &[u8]) -> Option<u64> {
        self.lookup_on_cpu(key_index(key), runctx::this_cpu())
    }

    fn sys_lookup(&self, key: &[u8], out: &mut [u8], flags: u64) -> Result<(), Errno> {
        let i = array::sys_lookup_index(self.max_entries, key, flags)?;
        let out = out.get_mut(..self.sys_size()).ok_or(Errno::EINVAL)?;
        // The CPUs' copies of one index are adjacent and already padded.
        self.values.read(self.offset(i, 0), out);
        Ok(())
    }

    /// From a program: writes this CPU's copy only.
    fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), Errno> {
        let i = key_index(key);
        check_update(i, self.max_entries, flags)?;
        let cpu = runctx::this_cpu();
        if cpu >= self.nr_cpus {
            return Err(Errno::EINVAL);
        }
        let v = value.get(..self.value_size as usize).ok_or(Errno::EINVAL)?;
        self.values.write(self.offset(i, cpu), v);
        Ok(())
    }

    /// From the syscall: every CPU's copy, `round_up(value_size, 8)` bytes
    /// each; `BPF_F_LOCK` is unknown here.
    fn sys_update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), Errno> {
        if flags > uapi::BPF_EXIST {
            return Err(Errno::EINVAL);
        }
        let i = key_index(key);
        check_update(i, self.max_entries, flags)?;
        let v = value.get(..self.sys_size()).ok_or(Errno::EINVAL)?;
        self.values.write(self.offset(i, 0), v);
        Ok(())
    }

    fn delete(&self, _key: &[u8]) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    fn get_next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<(), Errno> {
        array::get_next_key(self.max_entries, key, next)
    }

    fn is_percpu(&self) -> bool {
        true
    }

    fn meta_equal(&self, meta: &MapDef, inner: &MapDef) -> Option<bool> {
        Some(meta_equal_common(meta, inner))
    }

    /// Visits this CPU's copy of each element.
    fn for_each(&self, f: &mut dyn FnMut(&[u8], u64) -> bool) -> u32 {
        let cpu = runctx::this_cpu().min(self.nr_cpus - 1);
        let elems = (0..self.max_entries).map(|i| (i.to_ne_bytes(), self.values.addr(self.offset(i, cpu))));
        for_each_elem(elems, f)
    }

    fn btf_name(&self) -> &'static str {
        "bpf_array"
    }

    /// Header, one per-CPU pointer per element, and the values of all CPUs.
    fn value_regions(&self) -> Vec<(u64, u64, bool)> {
        vec![(self.values.base(), self.values.len() as u64, true)]
    }

    fn mem_usage(&self) -> u64 {
        let entries = u64::from(self.max_entries);
        array::BPF_ARRAY_HDR + entries * 8 + entries * self.elem_size as u64 * u64::from(self.nr_cpus)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::array::tests::{ENV, attr, k};
    use crate::map::create::create;

    fn on_cpu<R>(cpu: u32, f: impl FnOnce() -> R) -> R {
        runctx::on_cpu_for_test(cpu, ENV.nr_cpus, f)
    }

    fn pa(value_size: u32, max_entries: u32) -> Map {
        create(&attr(MapType::PercpuArray, value_size, max_entries, 0), 1, &ENV, None).unwrap()
    }

    #[test]
    fn create_checks() {
        let e = |a: &MapCreateAttr| create(a, 1, &ENV, None).map(|_| ()).unwrap_err();
        for f in
            [uapi::BPF_F_MMAPABLE, uapi::BPF_F_INNER_MAP, uapi::BPF_F_NUMA_NODE, uapi::BPF_F_PRESERVE_ELEMS]
        {
            assert_eq!(e(&attr(MapType::PercpuArray, 4, 1, f)), Errno::EINVAL, "flag {f:#x}");
        }
        assert_eq!(e(&attr(MapType::PercpuArray, 0, 1, 0)), Errno::EINVAL);
        assert_eq!(e(&attr(MapType::PercpuArray, 4, 0, 0)), Errno::EINVAL);
        assert_eq!(e(&attr(MapType::PercpuArray, array::PCPU_MIN_UNIT_SIZE + 1, 1, 0)), Errno::E2BIG);
        pa(array::PCPU_MIN_UNIT_SIZE, 1);
        let m = pa(4, 1);
        assert!(m.ops.is_percpu());
        assert_eq!(m.sys_value_size(ENV.nr_cpus), 8 * 4);
    }

    #[test]
    fn per_cpu_copies_and_syscall_layout() {
        let m = pa(12, 2);
        // Programs on CPUs 1 and 3 write their own copies.
        on_cpu(1, || m.ops.update(&k(1), &[0x11; 12], 0)).unwrap();
        on_cpu(3, || m.ops.update(&k(1), &[0x33; 12], 0)).unwrap();
        let a1 = on_cpu(1, || m.ops.lookup(&k(1))).unwrap();
        let a3 = on_cpu(3, || m.ops.lookup(&k(1))).unwrap();
        assert_ne!(a1, a3);
        assert_eq!(a1 % 8, 0);
        assert_eq!(on_cpu(1, || m.ops.lookup(&k(2))), None);

        let mut out = vec![0xffu8; 16 * 4];
        m.ops.sys_lookup(&k(1), &mut out, 0).unwrap();
        let mut want = vec![0u8; 16 * 4];
        want[16..28].fill(0x11);
        want[48..60].fill(0x33);
        assert_eq!(out, want);
        assert_eq!(m.ops.sys_lookup(&k(2), &mut out, 0), Err(Errno::ENOENT));

        // The syscall writes every CPU's copy.
        let all: Vec<u8> = (0..64).collect();
        m.ops.sys_update(&k(0), &all, uapi::BPF_ANY).unwrap();
        m.ops.sys_lookup(&k(0), &mut out, 0).unwrap();
        assert_eq!(out, all);
        let a2 = on_cpu(2, || m.ops.lookup(&k(0))).unwrap();
        assert_eq!(on_cpu(2, || m.ops.lookup(&k(0))), Some(a2), "stable");
        assert_eq!(m.ops.sys_update(&k(0), &all, uapi::BPF_NOEXIST), Err(Errno::EEXIST));
        assert_eq!(m.ops.sys_update(&k(0), &all, uapi::BPF_F_LOCK), Err(Errno::EINVAL));
        assert_eq!(m.ops.sys_update(&k(2), &all, uapi::BPF_ANY), Err(Errno::E2BIG));
        assert_eq!(m.ops.delete(&k(0)), Err(Errno::EINVAL));
        let mut nk = [0u8; 4];
        m.ops.get_next_key(None, &mut nk).unwrap();
        assert_eq!(nk, k(0));
        assert_eq!(m.ops.get_next_key(Some(&k(1)), &mut nk), Err(Errno::ENOENT));
        // for_each sees the running CPU's copies.
        let mut addrs = Vec::new();
        assert_eq!(
            on_cpu(3, || m.ops.for_each(&mut |_, a| {
                addrs.push(a);
                true
            })),
            2
        );
        assert_eq!(addrs[1], a3);
    }

    #[test]
    fn cpus_update_their_copies_concurrently() {
        let m = std::sync::Arc::new(pa(8, 1));
        let threads: Vec<_> = (0..ENV.nr_cpus)
            .map(|cpu| {
                let m = m.clone();
                std::thread::spawn(move || {
                    on_cpu(cpu, || {
                        for n in 0..5_000u64 {
                            m.ops.update(&k(0), &(n * 10 + u64::from(cpu)).to_ne_bytes(), 0).unwrap();
                        }
                    })
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut out = vec![0u8; 8 * ENV.nr_cpus as usize];
        m.ops.sys_lookup(&k(0), &mut out, 0).unwrap();
        for (cpu, v) in out.chunks(8).enumerate() {
            assert_eq!(u64::from_ne_bytes(v.try_into().unwrap()), 4_999 * 10 + cpu as u64);
        }
    }

    #[test]
    fn meta_equal_ignores_max_entries() {
        let a = pa(8, 4);
        let b = pa(8, 16);
        assert_eq!(a.ops.meta_equal(&a.def, &b.def), Some(true));
        let c = pa(16, 4);
        assert_eq!(a.ops.meta_equal(&a.def, &c.def), Some(false));
    }
}
