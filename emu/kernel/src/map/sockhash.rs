//! `BPF_MAP_TYPE_SOCKHASH` (net/core/sock_map.c: `sock_hash_alloc()`,
//! `sock_hash_lookup()`, `sock_hash_lookup_sys()`,
//! `sock_hash_update_common()`, `sock_hash_alloc_elem()`,
//! `sock_hash_delete_elem()`, `sock_hash_get_next_key()`,
//! `sock_hash_mem_usage()`).
//!
//! A hash table of sockets under keys of any size up to `MAX_BPF_STACK`;
//! the value is 4 or 8 bytes. What user space and programs see is the
//! sockmap's ([`super::sockmap`]): fds in, cookies out (`ENOSPC` with
//! 4-byte values), a program's lookup returns the socket. The hash part is
//! the kernel's: `roundup_pow_of_two(max_entries)` buckets, a new element
//! goes to the head of its bucket (a replaced one leaves), at most
//! `max_entries` elements (`E2BIG` for a new key beyond that), deleting a
//! missing key is `ENOENT`, and `get_next_key` walks the buckets in order,
//! starting over from the first element when the key is not there. The
//! bucket hash is bpfemu's seeded hash with seed 0 (the kernel's is
//! `jhash(key, key_size, 0)`), so the walk order is deterministic but not
//! the kernel's.
//!
//! Lifetime as in the sockmap: elements hold weak references, and an
//! element whose socket was closed is gone (`sock_map_close()` unlinks it
//! from every map): it is dropped at the next operation on the map.
//! Not emulated, as for the sockmap: psock programs, program-side updates,
//! redirect helpers, `CAP_NET_ADMIN`.

use super::create::{MapCreateAttr, MapEnv};
use super::hash::hashfn;
use super::sockmap::{self, Socks};
use super::{Map, MapDef, MapOps};
use crate::bpf::objects::Obj;
use crate::errno::Errno;
use crate::net::sk_lookup::Sock;
use crate::uapi;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

/// `MAX_BPF_STACK`: programs build keys on their stack.
const MAX_KEY_SIZE: u32 = 512;

/// One element: its key and socket.
#[derive(Debug)]
struct Elem {
    key: Box<[u8]>,
    sk: Weak<Sock>,
}

/// A sockhash (`struct bpf_shtab`).
#[derive(Debug)]
pub struct SockHash {
    max_entries: u32,
    key_size: u32,
    value_size: u32,
    n_buckets: u32,
    /// Non-empty buckets by index; each list newest first.
    buckets: Mutex<BTreeMap<u32, Vec<Elem>>>,
}

/// `AllocFn` for `BPF_MAP_TYPE_SOCKHASH`: `max_entries` and `key_size` not
/// zero, 4- or 8-byte values, only the NUMA and syscall access flags
/// (`EINVAL`); keys of at most `MAX_BPF_STACK` bytes (`E2BIG`).
pub fn alloc(attr: &MapCreateAttr, _env: &MapEnv, _inner: Option<&Map>) -> Result<Box<dyn MapOps>, Errno> {
    if attr.max_entries == 0
        || attr.key_size == 0
        || (attr.value_size != 4 && attr.value_size != 8)
        || attr.map_flags & !sockmap::CREATE_FLAG_MASK != 0
    {
        return Err(Errno::EINVAL);
    }
    if attr.key_size > MAX_KEY_SIZE {
        return Err(Errno::E2BIG);
    }
    let n_buckets = attr.max_entries.checked_next_power_of_two().ok_or(Errno::EINVAL)?;
    Ok(Box::new(SockHash {
        max_entries: attr.max_entries,
        key_size: attr.key_size,
        value_size: attr.value_size,
        n_buckets,
        buckets: Mutex::new(BTreeMap::new()),
    }))
}

impl SockHash {
    fn bucket(&self, key: &[u8]) -> u32 {
        hashfn::hash(key, 0) & (self.n_buckets - 1)
    }

    /// The buckets with the elements of closed sockets dropped.
    fn live(&self) -> parking_lot::MutexGuard<'_, BTreeMap<u32, Vec<Elem>>> {
        let mut b = self.buckets.lock();
        b.retain(|_, list| {
            list.retain(|e| e.sk.strong_count() > 0);
            !list.is_empty()
        });
        b
    }

    fn check_key<'k>(&self, key: &'k [u8]) -> Result<&'k [u8], Errno> {
        key.get(..self.key_size as usize).ok_or(Errno::EINVAL)
    }

    /// The live socket under `key` (`__sock_hash_lookup_elem()`).
    pub fn sock(&self, key: &[u8]) -> Option<Arc<Sock>> {
        let key = self.check_key(key).ok()?;
        let b = self.live();
        b.get(&self.bucket(key))?.iter().find(|e| *e.key == *key).and_then(|e| e.sk.upgrade())
    }

    /// `sock_hash_update_common()` with the socket resolved: flags up to
    /// `BPF_EXIST` (`EINVAL`), `EEXIST` / `ENOENT` as the flag asks, a new
    /// key beyond `max_entries` elements `E2BIG`.
    pub fn store(&self, key: &[u8], sk: &Arc<Sock>, flags: u64) -> Result<(), Errno> {
        if flags > uapi::BPF_EXIST {
            return Err(Errno::EINVAL);
        }
        let key = self.check_key(key)?;
        let bucket = self.bucket(key);
        let mut b = self.live();
        let count: usize = b.values().map(Vec::len).sum();
        let list = b.entry(bucket).or_default();
        let old = list.iter().position(|e| *e.key == *key);
        match (old, flags) {
            (Some(_), uapi::BPF_NOEXIST) => return Err(Errno::EEXIST),
            (None, uapi::BPF_EXIST) => return Err(Errno::ENOENT),
            (None, _) if count >= self.max_entries as usize => return Err(Errno::E2BIG),
            _ => {}
        }
        if let Some(i) = old {
            list.remove(i);
        }
        list.insert(0, Elem { key: key.into(), sk: Arc::downgrade(sk) });
        Ok(())
    }
}

impl Socks for SockHash {
    /// Every live socket, in walk order.
    fn socks(&self) -> Vec<Arc<Sock>> {
        self.live().values().flatten().filter_map(|e| e.sk.upgrade()).collect()
    }
}

impl MapOps for SockHash {
    /// `sock_hash_lookup()`: the socket's `struct bpf_sock` image (see the
    /// sockmap's lookup for why no reference is taken).
    fn lookup(&self, key: &[u8]) -> Option<u64> {
        self.sock(key).map(|s| s.image_addr())
    }

    /// `sock_hash_lookup_sys()`: the cookie; `ENOSPC` unless values are 8
    /// bytes, `ENOENT` for a missing key.
    fn sys_lookup(&self, key: &[u8], out: &mut [u8], flags: u64) -> Result<(), Errno> {
        sockmap::cookie_out(self.value_size, || self.sock(key), out, flags)
    }

    /// Programs cannot store sockets here (the verifier refuses the call).
    fn update(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }

    /// A raw value (an fd number) must go through [`MapOps::fd_update`].
    fn sys_update(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    /// `sock_hash_delete_elem()`: `ENOENT` for a missing key.
    fn delete(&self, key: &[u8]) -> Result<(), Errno> {
        let key = self.check_key(key)?;
        let bucket = self.bucket(key);
        let mut b = self.live();
        let list = b.get_mut(&bucket).ok_or(Errno::ENOENT)?;
        let i = list.iter().position(|e| *e.key == *key).ok_or(Errno::ENOENT)?;
        list.remove(i);
        if list.is_empty() {
            b.remove(&bucket);
        }
        Ok(())
    }

    /// `sock_hash_get_next_key()`: the next element of the key's bucket,
    /// else the first of a later bucket; the first element of all when the
    /// key is missing (or none is given); `ENOENT` after the last.
    fn get_next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<(), Errno> {
        let next = next.get_mut(..self.key_size as usize).ok_or(Errno::EINVAL)?;
        let b = self.live();
        let mut from = 0;
        if let Some(k) = key {
            let k = self.check_key(k)?;
            let bucket = self.bucket(k);
            if let Some(list) = b.get(&bucket)
                && let Some(i) = list.iter().position(|e| *e.key == *k)
            {
                if let Some(e) = list.get(i + 1) {
                    next.copy_from_slice(&e.key);
                    return Ok(());
                }
                from = bucket + 1;
            }
        }
        let e = b.range(from..).next().map(|(_, list)| &list[0]).ok_or(Errno::ENOENT)?;
        next.copy_from_slice(&e.key);
        Ok(())
    }

    fn is_fd_map(&self) -> bool {
        true
    }

    /// `sock_map_update_elem_sys()` with the fd resolved (`ENOTSOCK` for
    /// anything but a socket).
    fn fd_update(&self, key: &[u8], obj: &Obj, flags: u64) -> Result<(), Errno> {
        let Obj::Socket(sk) = obj else { return Err(Errno::ENOTSOCK) };
        self.store(key, sk, flags)
    }

    /// A sockhash cannot be an inner map.
    fn meta_equal(&self, _meta: &MapDef, _inner: &MapDef) -> Option<bool> {
        None
    }

    /// `bpf_for_each_map_elem` does not take sockhashes (the verifier
    /// refuses); nothing is visited.
    fn for_each(&self, _f: &mut dyn FnMut(&[u8], u64) -> bool) -> u32 {
        0
    }

    fn btf_name(&self) -> &'static str {
        "bpf_shtab"
    }

    /// `sock_hash_mem_usage()`: the struct, 16 bytes a bucket, and
    /// `sizeof(struct bpf_shtab_elem)` (48) plus the key rounded up to 8
    /// per element.
    fn mem_usage(&self) -> u64 {
        const BPF_SHTAB: u64 = 512;
        let elems = self.live().values().map(Vec::len).sum::<usize>() as u64;
        BPF_SHTAB
            + 16 * u64::from(self.n_buckets)
            + elems * (48 + u64::from(self.key_size.next_multiple_of(8)))
    }

    fn as_sockmap(&self) -> Option<&dyn Socks> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::BpfAttr;
    use crate::kernel::{Kernel, KernelConfig};
    use crate::net::sk_lookup::IPPROTO_TCP;
    use crate::uapi::MapType;

    fn create(k: &mut Kernel, key_size: u32, value_size: u32, max: u32, flags: u32) -> Result<i32, Errno> {
        let attr = MapCreateAttr {
            map_type: MapType::Sockhash.raw(),
            key_size,
            value_size,
            max_entries: max,
            map_flags: flags,
            ..Default::default()
        };
        k.bpf(BpfAttr::MapCreate(attr)).map(|fd| fd as i32)
    }

    fn update(k: &mut Kernel, m: i32, key: u64, fd: i32, flags: u64) -> Result<i64, Errno> {
        let value = u64::try_from(fd).unwrap().to_ne_bytes();
        k.bpf(BpfAttr::MapUpdateElem { map_fd: m, key: &key.to_ne_bytes(), value: &value, flags })
    }

    fn cookie(k: &mut Kernel, m: i32, key: u64) -> Result<u64, Errno> {
        let mut out = [0u8; 8];
        k.bpf(BpfAttr::MapLookupElem { map_fd: m, key: &key.to_ne_bytes(), value: &mut out, flags: 0 })?;
        Ok(u64::from_ne_bytes(out))
    }

    fn next_key(k: &mut Kernel, m: i32, key: Option<u64>) -> Result<u64, Errno> {
        let mut out = [0u8; 8];
        let key = key.map(u64::to_ne_bytes);
        k.bpf(BpfAttr::MapGetNextKey { map_fd: m, key: key.as_ref().map(|k| &k[..]), next_key: &mut out })?;
        Ok(u64::from_ne_bytes(out))
    }

    fn delete(k: &mut Kernel, m: i32, key: u64) -> Result<i64, Errno> {
        k.bpf(BpfAttr::MapDeleteElem { map_fd: m, key: &key.to_ne_bytes(), flags: 0 })
    }

    #[test]
    fn create_checks() {
        let mut k = Kernel::new(KernelConfig::default());
        assert_eq!(create(&mut k, 0, 8, 1, 0), Err(Errno::EINVAL));
        assert_eq!(create(&mut k, 4, 2, 1, 0), Err(Errno::EINVAL));
        assert_eq!(create(&mut k, 4, 8, 0, 0), Err(Errno::EINVAL));
        assert_eq!(create(&mut k, 4, 8, 1, uapi::BPF_F_RDONLY_PROG), Err(Errno::EINVAL));
        assert_eq!(create(&mut k, 513, 8, 1, 0), Err(Errno::E2BIG));
        let m = create(&mut k, 512, 4, 3, uapi::BPF_F_RDONLY).unwrap();
        let map = k.fd_obj(m).unwrap().map().unwrap().clone();
        assert!(map.ops.is_fd_map() && map.ops.as_sockmap().is_some());
        assert_eq!(map.ops.btf_name(), "bpf_shtab");
        assert_eq!(map.ops.mem_usage(), 512 + 16 * 4);
    }

    #[test]
    fn elements_flags_limits_and_walk() {
        let mut k = Kernel::new(KernelConfig::default());
        let m = create(&mut k, 8, 8, 2, 0).unwrap();
        let a = k.sock_bind(IPPROTO_TCP, "10.0.0.1:1".parse().unwrap()).unwrap();
        let b = k.sock_bind(IPPROTO_TCP, "10.0.0.1:2".parse().unwrap()).unwrap();
        let c = k.sock_bind(IPPROTO_TCP, "10.0.0.1:3".parse().unwrap()).unwrap();
        assert_eq!(cookie(&mut k, m, 1), Err(Errno::ENOENT));
        assert_eq!(delete(&mut k, m, 1), Err(Errno::ENOENT));
        assert_eq!(next_key(&mut k, m, None), Err(Errno::ENOENT));
        update(&mut k, m, 1, a, uapi::BPF_NOEXIST).unwrap();
        assert_eq!(update(&mut k, m, 1, b, uapi::BPF_NOEXIST), Err(Errno::EEXIST));
        assert_eq!(update(&mut k, m, 2, b, uapi::BPF_EXIST), Err(Errno::ENOENT));
        assert_eq!(update(&mut k, m, 2, b, 4), Err(Errno::EINVAL));
        assert_eq!(update(&mut k, m, 2, m, 0), Err(Errno::ENOTSOCK));
        update(&mut k, m, 2, b, 0).unwrap();
        // Full: a new key is E2BIG, replacing an existing one is fine.
        assert_eq!(update(&mut k, m, 3, c, 0), Err(Errno::E2BIG));
        update(&mut k, m, 1, c, uapi::BPF_EXIST).unwrap();
        assert_eq!(cookie(&mut k, m, 1), Ok(3));
        assert_eq!(cookie(&mut k, m, 2), Ok(2));
        // The walk visits both keys once, then ENOENT; a missing key
        // starts over from the first.
        let first = next_key(&mut k, m, None).unwrap();
        let second = next_key(&mut k, m, Some(first)).unwrap();
        assert_eq!(next_key(&mut k, m, Some(second)), Err(Errno::ENOENT));
        let mut seen = [first, second];
        seen.sort_unstable();
        assert_eq!(seen, [1, 2]);
        assert_eq!(next_key(&mut k, m, Some(99)), Ok(first));
        // A closed socket leaves the map and frees its place.
        k.close(c).unwrap();
        assert_eq!(cookie(&mut k, m, 1), Err(Errno::ENOENT));
        update(&mut k, m, 3, a, 0).unwrap();
        delete(&mut k, m, 3).unwrap();
        assert_eq!(delete(&mut k, m, 3), Err(Errno::ENOENT));
    }

    #[test]
    fn four_byte_values_cannot_hold_a_cookie() {
        let mut k = Kernel::new(KernelConfig::default());
        let m = create(&mut k, 8, 4, 1, 0).unwrap();
        let a = k.sock_bind(IPPROTO_TCP, "10.0.0.1:1".parse().unwrap()).unwrap();
        let value = u32::try_from(a).unwrap().to_ne_bytes();
        k.bpf(BpfAttr::MapUpdateElem { map_fd: m, key: &1u64.to_ne_bytes(), value: &value, flags: 0 })
            .unwrap();
        assert_eq!(cookie(&mut k, m, 1), Err(Errno::ENOSPC));
    }
}
