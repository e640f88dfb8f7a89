//! Map commands of `bpf()` (kernel/bpf/syscall.c `map_create`,
//! `map_lookup_elem`, `map_update_elem`, `map_delete_elem`,
//! `map_get_next_key`, `map_lookup_and_delete_elem`, `map_freeze`,
//! `bpf_map_do_batch` with `generic_map_{lookup,update,delete}_batch`).
//!
//! The syscall layer's part: resolving the fd (`EBADF`; `EINVAL` for an fd
//! that is not a map), access checks (`map_get_sys_perms()`: the fd's mode
//! from `BPF_F_RDONLY`/`BPF_F_WRONLY`, and no writes once frozen → `EPERM`),
//! flag checks (`EINVAL`), and copying keys and values from and to user
//! memory. User memory is the slices of [`BpfAttr`](super::BpfAttr): a
//! buffer shorter than the kernel copies (`key_size`, the syscall value
//! size [`Map::sys_value_size`], `count * size` for batches) is `EFAULT`,
//! which is what a failing `copy_from_user` / `copy_to_user` gives; longer
//! buffers are fine (only the prefix is used). As in the kernel, a short
//! *output* buffer only faults once there is something to copy (a missing
//! key is still `ENOENT`).
//!
//! Deviations: `BPF_F_LOCK` is always `EINVAL` (no map value has a
//! `bpf_spin_lock`, there is no BTF record yet); batch operations use the
//! generic (key-ordered) algorithm for every map type that has them in the
//! kernel, including hash maps whose kernel version walks buckets (the
//! resume token in `in_batch`/`out_batch` is then a key, `key_size` bytes);
//! `map->writecnt` (writable mmaps) does not exist yet.

use super::attr::{BatchAttr, MapCreateAttr};
use super::objects::{FMode, MapUref, Obj};
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::map::Map;
use crate::map::create::MapEnv;
use crate::uapi::{BPF_F_LOCK, MapType};
use std::sync::Arc;

/// `MAP_LOOKUP_RETRIES` of generic_map_lookup_batch.
const MAP_LOOKUP_RETRIES: u32 = 3;

/// `copy_from_user` of `n` bytes: `EFAULT` if the buffer is shorter.
fn user_in(buf: &[u8], n: usize) -> Result<&[u8], Errno> {
    buf.get(..n).ok_or(Errno::EFAULT)
}

/// `copy_to_user` of `src`: `EFAULT` if the buffer is shorter.
fn user_out(buf: &mut [u8], src: &[u8]) -> Result<(), Errno> {
    buf.get_mut(..src.len()).ok_or(Errno::EFAULT)?.copy_from_slice(src);
    Ok(())
}

/// `map_get_sys_perms()`: the fd's mode, without write once frozen.
fn sys_perms(map: &Map, mode: FMode) -> FMode {
    FMode { read: mode.read, write: mode.write && !map.is_frozen() }
}

fn need(ok: bool) -> Result<(), Errno> {
    if ok { Ok(()) } else { Err(Errno::EPERM) }
}

/// `BPF_F_LOCK` needs a `bpf_spin_lock` in the value; none has one here.
fn check_lock_flag(flags: u64) -> Result<(), Errno> {
    if flags & BPF_F_LOCK != 0 { Err(Errno::EINVAL) } else { Ok(()) }
}

/// Which batch operations a map type has (`map_*_batch` in its
/// `bpf_map_ops`); the others are `ENOTSUPP` (`BPF_DO_BATCH`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum BatchOp {
    Lookup,
    LookupAndDelete,
    Update,
    Delete,
}

fn has_batch(t: MapType, op: BatchOp) -> bool {
    use MapType as T;
    let hash = matches!(t, T::Hash | T::PercpuHash | T::LruHash | T::LruPercpuHash);
    match op {
        BatchOp::Lookup => hash || matches!(t, T::Array | T::PercpuArray | T::ArrayOfMaps | T::HashOfMaps),
        BatchOp::Update => hash || matches!(t, T::Array | T::PercpuArray),
        BatchOp::LookupAndDelete | BatchOp::Delete => hash,
    }
}

impl Kernel {
    /// The map behind `fd` with the fd's mode: `EBADF` if not open,
    /// `EINVAL` if not a map (`__bpf_map_get()`).
    pub(crate) fn map_of_fd(&self, fd: i32) -> Result<(Arc<Map>, FMode), Errno> {
        match self.sim.procs.files(self.user)?.object(fd)? {
            Obj::Map(u) => Ok((u.map().clone(), u.mode())),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Publishes a freshly created map under a new id and installs an fd
    /// with `mode` (the end of `map_create()`: `bpf_map_alloc_id()`,
    /// `bpf_map_new_fd()`). The id is allocated after the map, so failed
    /// creations consume none, as in the kernel; `security_bpf_map()`
    /// comes after it, so a map it refuses is released with its id used.
    pub(crate) fn publish_map(&mut self, mut map: Map, mode: FMode) -> Result<i64, Errno> {
        map.id = self.objects.maps.alloc()?;
        let map = Arc::new(map);
        self.objects.maps.publish(map.id, &map);
        self.map_fd_check(&map, mode)?;
        let fd = self.install_fd(Obj::Map(MapUref::with_mode(map, mode)))?;
        Ok(i64::from(fd))
    }

    /// `security_bpf_map()` of `bpf_map_new_fd()` for a new fd of `map`
    /// with `mode`.
    pub(crate) fn map_fd_check(&mut self, map: &Map, mode: FMode) -> Result<(), Errno> {
        let ret =
            self.security_bpf_map(&crate::lsm::attr::map_image(map), crate::lsm::call::open_fmode(mode));
        crate::lsm::call::check_neg(ret)
    }

    /// `security_bpf_prog()` of `bpf_prog_new_fd()` for a new fd of `prog`.
    pub(crate) fn prog_fd_check(&mut self, prog: &crate::bpf::prog::Prog) -> Result<(), Errno> {
        let ret = self.security_bpf_prog(&crate::lsm::attr::loaded_prog_image(prog));
        crate::lsm::call::check_neg(ret)
    }

    /// `BPF_MAP_CREATE`: the fd of the new map.
    pub(crate) fn map_create(&mut self, attr: &MapCreateAttr) -> Result<i64, Errno> {
        // bpf_get_file_flag(): BPF_F_RDONLY | BPF_F_WRONLY is EINVAL.
        let mode = FMode::from_flags(attr.map_flags)?;
        let map_type = MapType::from_raw(attr.map_type);
        // bpf_map_meta_alloc(): the inner map template of map-in-map types.
        let inner = match map_type {
            Some(MapType::ArrayOfMaps | MapType::HashOfMaps) => Some(self.map_of_fd(attr.inner_map_fd)?.0),
            _ => None,
        };
        let caps = self.loader_caps();
        let env = MapEnv { nr_cpus: self.sim.nr_cpus(), bpf_capable: caps.bpf };
        let map = crate::map::create(attr, 0, &env, inner.as_deref())?;
        // map_create() after the type's checks: without CAP_BPF only these
        // types (the emulated caller has every capability or none, so the
        // CAP_NET_ADMIN types are refused with the CAP_BPF ones).
        let unprivileged_ok = matches!(
            map.map_type(),
            MapType::Array
                | MapType::PercpuArray
                | MapType::ProgArray
                | MapType::PerfEventArray
                | MapType::CgroupArray
                | MapType::ArrayOfMaps
                | MapType::Hash
                | MapType::PercpuHash
                | MapType::HashOfMaps
                | MapType::Ringbuf
                | MapType::UserRingbuf
                | MapType::CgroupStorage
                | MapType::PercpuCgroupStorage
        );
        if !caps.bpf && !unprivileged_ok {
            return Err(Errno::EPERM);
        }
        let img = crate::lsm::attr::map_image(&map);
        let ret = self.security_bpf_map_create(&img, &crate::lsm::attr::map_create_image(attr));
        if let Some(r) = crate::lsm::call::check_nonzero(ret) {
            return r;
        }
        self.publish_map(map, mode)
    }

    /// The common start of `BPF_MAP_LOOKUP_ELEM` and (`and_delete`)
    /// `BPF_MAP_LOOKUP_AND_DELETE_ELEM`: the flags, the fd's map and its
    /// permissions (write too to delete); the map and the key read in.
    fn map_lookup_start<'k>(
        &self,
        map_fd: i32,
        key: &'k [u8],
        flags: u64,
        and_delete: bool,
    ) -> Result<(Arc<Map>, &'k [u8]), Errno> {
        if flags & !BPF_F_LOCK != 0 {
            return Err(Errno::EINVAL);
        }
        let (map, mode) = self.map_of_fd(map_fd)?;
        let perms = sys_perms(&map, mode);
        need(perms.read && (perms.write || !and_delete))?;
        if and_delete && flags != 0 && matches!(map.map_type(), MapType::Queue | MapType::Stack) {
            return Err(Errno::EINVAL);
        }
        check_lock_flag(flags)?;
        let key = user_in(key, map.def.key_size as usize)?;
        Ok((map, key))
    }

    /// `BPF_MAP_LOOKUP_ELEM`.
    pub(crate) fn map_lookup_elem(
        &mut self,
        map_fd: i32,
        key: &[u8],
        value: &mut [u8],
        flags: u64,
    ) -> Result<i64, Errno> {
        let (map, key) = self.map_lookup_start(map_fd, key, flags, false)?;
        let mut buf = vec![0u8; map.sys_value_size(self.sim.nr_cpus())];
        if map.map_type() == MapType::BloomFilter {
            // The bloom filter "looks up" the value the caller passes in.
            let n = buf.len();
            buf.copy_from_slice(user_in(value, n)?);
        }
        map.ops.sys_lookup(key, &mut buf, flags)?;
        user_out(value, &buf)?;
        Ok(0)
    }

    /// `bpf_map_update_value()`: fd maps resolve the value as an fd
    /// (`map_fd_get_ptr`; `EBADF` if it is not open), others store it.
    fn map_update_value(&self, map: &Map, key: &[u8], value: &[u8], flags: u64) -> Result<(), Errno> {
        if map.ops.as_sockmap().is_some() {
            // `sock_map_update_elem_sys()`: a u64 fd with 8-byte values,
            // at most `S32_MAX`; `sockfd_lookup()`'s `EBADF`.
            let raw = user_in(value, map.def.value_size as usize)?;
            let ufd = if raw.len() == 8 {
                u64::from_le_bytes(raw.try_into().map_err(|_| Errno::EFAULT)?)
            } else {
                u64::from(u32::from_le_bytes(raw.try_into().map_err(|_| Errno::EFAULT)?))
            };
            let fd = i32::try_from(ufd).map_err(|_| Errno::EINVAL)?;
            let files = self.sim.procs.files(self.user)?;
            let obj = files.object(fd).map_err(|e| if e == Errno::EINVAL { Errno::ENOTSOCK } else { e })?;
            return map.ops.fd_update(key, obj, flags);
        }
        if map.ops.is_fd_map() {
            let raw: [u8; 4] = user_in(value, 4)?.try_into().map_err(|_| Errno::EFAULT)?;
            let obj = self.sim.procs.files(self.user)?.object(i32::from_le_bytes(raw))?;
            map.ops.fd_update(key, obj, flags)
        } else {
            map.ops.sys_update(key, value, flags)
        }
    }

    /// `BPF_MAP_UPDATE_ELEM`.
    pub(crate) fn map_update_elem(
        &mut self,
        map_fd: i32,
        key: &[u8],
        value: &[u8],
        flags: u64,
    ) -> Result<i64, Errno> {
        let (map, mode) = self.map_of_fd(map_fd)?;
        need(sys_perms(&map, mode).write)?;
        check_lock_flag(flags)?;
        let key = user_in(key, map.def.key_size as usize)?;
        let value = user_in(value, map.sys_value_size(self.sim.nr_cpus()))?;
        self.map_update_value(&map, key, value, flags)?;
        Ok(0)
    }

    /// `BPF_MAP_DELETE_ELEM`. `flags` lies past the command's last field
    /// (`CHECK_ATTR`): non-zero is `EINVAL`.
    pub(crate) fn map_delete_elem(&mut self, map_fd: i32, key: &[u8], flags: u64) -> Result<i64, Errno> {
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        let (map, mode) = self.map_of_fd(map_fd)?;
        need(sys_perms(&map, mode).write)?;
        let key = user_in(key, map.def.key_size as usize)?;
        map.ops.delete(key)?;
        Ok(0)
    }

    /// `BPF_MAP_GET_NEXT_KEY` (`key: None`: the first key).
    pub(crate) fn map_get_next_key(
        &mut self,
        map_fd: i32,
        key: Option<&[u8]>,
        next_key: &mut [u8],
    ) -> Result<i64, Errno> {
        let (map, mode) = self.map_of_fd(map_fd)?;
        need(sys_perms(&map, mode).read)?;
        let ks = map.def.key_size as usize;
        let key = key.map(|k| user_in(k, ks)).transpose()?;
        let mut next = vec![0u8; ks];
        map.ops.get_next_key(key, &mut next)?;
        user_out(next_key, &next)?;
        Ok(0)
    }

    /// `BPF_MAP_LOOKUP_AND_DELETE_ELEM` (also queue/stack pop).
    pub(crate) fn map_lookup_and_delete_elem(
        &mut self,
        map_fd: i32,
        key: &[u8],
        value: &mut [u8],
        flags: u64,
    ) -> Result<i64, Errno> {
        let (map, key) = self.map_lookup_start(map_fd, key, flags, true)?;
        let mut buf = vec![0u8; map.sys_value_size(self.sim.nr_cpus())];
        map.ops.lookup_and_delete(key, &mut buf, flags)?;
        user_out(value, &buf)?;
        Ok(0)
    }

    /// `BPF_MAP_FREEZE`: `EBUSY` if already frozen; struct_ops maps cannot
    /// be frozen (`ENOTSUPP`). No access check, as in the kernel (only
    /// `CAP_BPF`, which the caller has).
    pub(crate) fn map_freeze(&mut self, map_fd: i32) -> Result<i64, Errno> {
        let (map, _) = self.map_of_fd(map_fd)?;
        if map.map_type() == MapType::StructOps {
            return Err(Errno::ENOTSUPP);
        }
        map.freeze()?;
        Ok(0)
    }

    /// The common head of `bpf_map_do_batch()` and the batch functions: the
    /// fd a map, the access allowed (`EPERM`), the map type must have the
    /// operation (`ENOTSUPP`), `elem_flags` only `BPF_F_LOCK` and `flags` 0
    /// (`EINVAL`).
    fn batch_map(&self, b: &BatchAttr<'_>, op: BatchOp) -> Result<Arc<Map>, Errno> {
        let (map, mode) = self.map_of_fd(b.map_fd)?;
        let perms = sys_perms(&map, mode);
        let (read, write) = match op {
            BatchOp::Lookup => (true, false),
            BatchOp::LookupAndDelete => (true, true),
            BatchOp::Update | BatchOp::Delete => (false, true),
        };
        need((!read || perms.read) && (!write || perms.write))?;
        if !has_batch(map.map_type(), op) {
            return Err(Errno::ENOTSUPP);
        }
        if b.elem_flags & !BPF_F_LOCK != 0 {
            return Err(Errno::EINVAL);
        }
        check_lock_flag(b.elem_flags)?;
        if b.flags != 0 {
            return Err(Errno::EINVAL);
        }
        Ok(map)
    }

    /// `BPF_MAP_LOOKUP_BATCH` / `BPF_MAP_LOOKUP_AND_DELETE_BATCH`
    /// (`generic_map_lookup_batch()`): up to `count` elements after
    /// `in_batch` (from the start if `None`) into `keys`/`values`; `count`
    /// becomes the number copied and `out_batch` the last key copied.
    /// Returns `ENOENT` (with `count` and `out_batch` set) when the walk
    /// reached the end of the map.
    pub(crate) fn map_lookup_batch(&mut self, b: BatchAttr<'_>, delete: bool) -> Result<i64, Errno> {
        let op = if delete { BatchOp::LookupAndDelete } else { BatchOp::Lookup };
        let map = self.batch_map(&b, op)?;
        let max = *b.count;
        if max == 0 {
            return Ok(0);
        }
        *b.count = 0;
        let ks = map.def.key_size as usize;
        let vs = map.sys_value_size(self.sim.nr_cpus());
        let mut prev: Option<Vec<u8>> = b.in_batch.map(|k| user_in(k, ks).map(<[u8]>::to_vec)).transpose()?;
        // The walk first, then (for the delete variant) the deletions, so a
        // deleted key never steers get_next_key back to the start.
        let mut found: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut retry = MAP_LOOKUP_RETRIES;
        let mut end = Ok(());
        while found.len() < max as usize {
            let mut key = vec![0u8; ks];
            if let Err(e) = map.ops.get_next_key(prev.as_deref(), &mut key) {
                end = Err(e);
                break;
            }
            let mut value = vec![0u8; vs];
            match map.ops.sys_lookup(&key, &mut value, b.elem_flags) {
                Ok(()) => {}
                Err(Errno::ENOENT) if retry > 0 => {
                    retry -= 1;
                    continue;
                }
                Err(Errno::ENOENT) => {
                    end = Err(Errno::EINTR);
                    break;
                }
                Err(e) => return Err(e),
            }
            retry = MAP_LOOKUP_RETRIES;
            prev = Some(key.clone());
            found.push((key, value));
        }
        if delete {
            for (key, value) in &mut found {
                map.ops.lookup_and_delete(key, value, b.elem_flags)?;
            }
        }
        for (i, (key, value)) in found.iter().enumerate() {
            user_out(b.keys.get_mut(i * ks..).ok_or(Errno::EFAULT)?, key)?;
            user_out(b.values.get_mut(i * vs..).ok_or(Errno::EFAULT)?, value)?;
        }
        *b.count = found.len() as u32;
        if let Some((last, _)) = found.last() {
            user_out(b.out_batch, last)?;
        }
        end.map(|()| 0)
    }

    /// `BPF_MAP_UPDATE_BATCH` (`generic_map_update_batch()`): updates
    /// element by element, stopping at the first error; `count` becomes the
    /// number updated.
    pub(crate) fn map_update_batch(&mut self, b: BatchAttr<'_>) -> Result<i64, Errno> {
        let map = self.batch_map(&b, BatchOp::Update)?;
        let count = *b.count as usize;
        let ks = map.def.key_size as usize;
        let vs = map.sys_value_size(self.sim.nr_cpus());
        let mut res = Ok(0);
        let mut cp = 0;
        while cp < count {
            let kv = b
                .keys
                .get(cp * ks..)
                .and_then(|k| k.get(..ks))
                .zip(b.values.get(cp * vs..).and_then(|v| v.get(..vs)))
                .ok_or(Errno::EFAULT);
            if let Err(e) = kv.and_then(|(k, v)| self.map_update_value(&map, k, v, b.elem_flags)) {
                res = Err(e);
                break;
            }
            cp += 1;
        }
        *b.count = cp as u32;
        res
    }

    /// `BPF_MAP_DELETE_BATCH` (`generic_map_delete_batch()`): deletes the
    /// `count` keys in order, stopping at the first error; `count` becomes
    /// the number deleted.
    pub(crate) fn map_delete_batch(&mut self, b: BatchAttr<'_>) -> Result<i64, Errno> {
        let map = self.batch_map(&b, BatchOp::Delete)?;
        let count = *b.count as usize;
        let ks = map.def.key_size as usize;
        let mut res = Ok(0);
        let mut cp = 0;
        while cp < count {
            let key = b.keys.get(cp * ks..).and_then(|k| k.get(..ks)).ok_or(Errno::EFAULT);
            if let Err(e) = key.and_then(|k| map.ops.delete(k)) {
                res = Err(e);
                break;
            }
            cp += 1;
        }
        *b.count = cp as u32;
        res
    }
}
