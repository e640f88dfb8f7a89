//! A test-only map type: a `BTreeMap` behind the [`MapOps`] trait, with
//! the kernel hash map's update-flag semantics, optional per-CPU values and
//! an optional fd-map mode (stores the id of the object an fd names). It
//! counts `release_uref` calls so tests can observe `usercnt` reaching 0.

use crate::bpf::objects::{FMode, Obj};
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::map::{Map, MapDef, MapOps, meta_equal_common};
use crate::uapi::{BPF_EXIST, BPF_NOEXIST, MapType};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// What a test observes of a fake map.
#[derive(Debug, Default)]
pub struct FakeStats {
    release_uref: AtomicU32,
}

impl FakeStats {
    pub fn release_uref_calls(&self) -> u32 {
        self.release_uref.load(Ordering::Relaxed)
    }
}

/// How to build a fake map.
#[derive(Clone, Debug)]
pub struct FakeOpts {
    pub map_type: MapType,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub percpu: bool,
    pub fd_map: bool,
}

impl Default for FakeOpts {
    fn default() -> Self {
        FakeOpts {
            map_type: MapType::Hash,
            key_size: 4,
            value_size: 8,
            max_entries: 16,
            map_flags: 0,
            percpu: false,
            fd_map: false,
        }
    }
}

#[derive(Debug)]
pub struct FakeMap {
    /// Bytes stored per element (all CPUs' copies for per-CPU maps).
    elem_size: usize,
    max_entries: u32,
    percpu: bool,
    fd_map: bool,
    elems: Mutex<BTreeMap<Vec<u8>, Box<[u8]>>>,
    stats: Arc<FakeStats>,
}

impl FakeMap {
    fn store(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), Errno> {
        if flags > BPF_EXIST {
            return Err(Errno::EINVAL);
        }
        let mut e = self.elems.lock();
        let exists = e.contains_key(key);
        if flags == BPF_NOEXIST && exists {
            return Err(Errno::EEXIST);
        }
        if flags == BPF_EXIST && !exists {
            return Err(Errno::ENOENT);
        }
        if !exists && e.len() >= self.max_entries as usize {
            return Err(Errno::E2BIG);
        }
        e.insert(key.to_vec(), value[..self.elem_size].into());
        Ok(())
    }
}

impl MapOps for FakeMap {
    fn lookup(&self, key: &[u8]) -> Option<u64> {
        self.elems.lock().get(key).map(|v| v.as_ptr().expose_provenance() as u64)
    }

    fn sys_lookup(&self, key: &[u8], out: &mut [u8], _flags: u64) -> Result<(), Errno> {
        let e = self.elems.lock();
        let v = e.get(key).ok_or(Errno::ENOENT)?;
        out[..v.len()].copy_from_slice(v);
        Ok(())
    }

    fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), Errno> {
        self.store(key, value, flags)
    }

    fn delete(&self, key: &[u8]) -> Result<(), Errno> {
        self.elems.lock().remove(key).map(drop).ok_or(Errno::ENOENT)
    }

    fn get_next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<(), Errno> {
        let e = self.elems.lock();
        let found = match key {
            Some(k) if e.contains_key(k) => e.range(k.to_vec()..).nth(1),
            _ => e.iter().next(),
        };
        let (k, _) = found.ok_or(Errno::ENOENT)?;
        next.copy_from_slice(k);
        Ok(())
    }

    fn lookup_and_delete(&self, key: &[u8], out: &mut [u8], _flags: u64) -> Result<(), Errno> {
        let v = self.elems.lock().remove(key).ok_or(Errno::ENOENT)?;
        out[..v.len()].copy_from_slice(&v);
        Ok(())
    }

    fn is_percpu(&self) -> bool {
        self.percpu
    }

    fn is_fd_map(&self) -> bool {
        self.fd_map
    }

    fn fd_update(&self, key: &[u8], obj: &Obj, flags: u64) -> Result<(), Errno> {
        let id = obj.map()?.id;
        self.store(key, &id.to_le_bytes(), flags)
    }

    fn meta_equal(&self, meta: &MapDef, inner: &MapDef) -> Option<bool> {
        Some(meta_equal_common(meta, inner))
    }

    fn release_uref(&self) {
        self.stats.release_uref.fetch_add(1, Ordering::Relaxed);
    }

    fn for_each(&self, f: &mut dyn FnMut(&[u8], u64) -> bool) -> u32 {
        let e = self.elems.lock();
        let mut n = 0;
        for (k, v) in e.iter() {
            n += 1;
            if !f(k, v.as_ptr().expose_provenance() as u64) {
                break;
            }
        }
        n
    }

    fn btf_name(&self) -> &'static str {
        "fake"
    }

    fn mem_usage(&self) -> u64 {
        4096 + self.elems.lock().len() as u64 * self.elem_size as u64
    }
}

/// A fake [`Map`] (id 0 until published).
pub fn fake_map(o: &FakeOpts, nr_cpus: u32) -> (Map, Arc<FakeStats>) {
    let stats = Arc::new(FakeStats::default());
    let elem_size = if o.percpu {
        (o.value_size as usize).next_multiple_of(8) * nr_cpus as usize
    } else {
        o.value_size as usize
    };
    let ops = FakeMap {
        elem_size,
        max_entries: o.max_entries,
        percpu: o.percpu,
        fd_map: o.fd_map,
        elems: Mutex::new(BTreeMap::new()),
        stats: stats.clone(),
    };
    let def = MapDef {
        map_type: o.map_type,
        key_size: o.key_size,
        value_size: o.value_size,
        max_entries: o.max_entries,
        map_flags: o.map_flags,
        numa_node: -1,
        name: "fake".into(),
        btf_key_type_id: 0,
        btf_value_type_id: 0,
        btf_vmlinux_value_type_id: 0,
        map_extra: 0,
    };
    (Map::new(def, 0, None, Box::new(ops)), stats)
}

impl Kernel {
    /// Publishes `map` as `BPF_MAP_CREATE` would (new id, fd whose mode
    /// follows `BPF_F_RDONLY`/`BPF_F_WRONLY` in its flags) and returns the fd.
    pub(crate) fn install_map_for_test(&mut self, map: Map) -> i32 {
        let mode = FMode::from_flags(map.def.map_flags).expect("valid map flags");
        self.publish_map(map, mode).expect("install") as i32
    }
}
