//! `BPF_MAP_TYPE_SOCKMAP` (net/core/sock_map.c: `sock_map_alloc()`,
//! `sock_map_lookup()`, `sock_map_lookup_sys()`,
//! `sock_map_update_elem_sys()`, `sock_map_update_common()`,
//! `sock_map_delete_elem()`, `sock_map_get_next_key()`,
//! `sock_map_sk_state_allowed()`).
//!
//! An array of sockets indexed by a `u32` key; the value is 4 or 8 bytes.
//! User space stores a socket by fd (the value holds the fd, a `u64` when
//! the value is 8 bytes; more than `S32_MAX` is `EINVAL`) and reads back
//! the socket's cookie (only with 8-byte values: `ENOSPC` otherwise). A
//! program's lookup returns the socket itself (the address of its
//! `struct bpf_sock` image, [`crate::net::sk_lookup::Sock`]), which the
//! verifier types `PTR_TO_SOCKET_OR_NULL` with a reference to release.
//!
//! Lifetime: a socket in a map lives as long as its fds (the kernel's
//! `sock_map_close()` unlinks a closing socket from every map), so slots
//! hold weak references: once the last fd of a socket is closed the slot
//! reads empty. A live socket keeps its namespace alive.
//!
//! Emulated sockets are listening TCP and unconnected UDP sockets, both
//! accepted (`sock_map_sk_state_allowed()`); every one has the protocol
//! operations `sock_map_sk_is_suitable()` wants. Not emulated: the psock
//! machinery (stream parser / verdict / msg programs attached to the
//! map, `BPF_SK_SKB_*` and `BPF_SK_MSG_VERDICT` attach), program-side
//! updates (`bpf_map_update_elem` / `bpf_sock_map_update` with a socket
//! value; the verifier refuses them), the redirect helpers, `CAP_NET_ADMIN`
//! (`EPERM`). `BPF_MAP_TYPE_SOCKHASH` is [`super::sockhash`].

use super::array::{self, key_index};
use super::create::{MapCreateAttr, MapEnv};
use super::{Map, MapDef, MapOps};
use crate::bpf::objects::Obj;
use crate::errno::Errno;
use crate::net::sk_lookup::Sock;
use crate::uapi;
use parking_lot::Mutex;
use std::sync::{Arc, Weak};

/// `SOCK_CREATE_FLAG_MASK`.
pub(crate) const CREATE_FLAG_MASK: u32 = uapi::BPF_F_NUMA_NODE | uapi::BPF_F_RDONLY | uapi::BPF_F_WRONLY;

/// What the sockmap and the sockhash hold, for the sk_lookup hook (the
/// sockets programs may select from them).
pub trait Socks {
    /// Every live socket of the map, in walk order.
    fn socks(&self) -> Vec<Arc<Sock>>;
}

/// A sockmap (`struct bpf_stab`).
#[derive(Debug)]
pub struct SockMap {
    max_entries: u32,
    value_size: u32,
    sks: Mutex<Vec<Weak<Sock>>>,
}

/// `AllocFn` for `BPF_MAP_TYPE_SOCKMAP`: `max_entries` not zero, 4-byte
/// keys, 4- or 8-byte values, only the NUMA and syscall access flags.
pub fn alloc(attr: &MapCreateAttr, _env: &MapEnv, _inner: Option<&Map>) -> Result<Box<dyn MapOps>, Errno> {
    if attr.max_entries == 0
        || attr.key_size != 4
        || (attr.value_size != 4 && attr.value_size != 8)
        || attr.map_flags & !CREATE_FLAG_MASK != 0
    {
        return Err(Errno::EINVAL);
    }
    let mut sks = Vec::new();
    sks.try_reserve_exact(attr.max_entries as usize).map_err(|_| Errno::ENOMEM)?;
    sks.resize_with(attr.max_entries as usize, Weak::new);
    Ok(Box::new(SockMap { max_entries: attr.max_entries, value_size: attr.value_size, sks: Mutex::new(sks) }))
}

impl SockMap {
    /// The live socket in slot `key` (`__sock_map_lookup_elem()`).
    pub fn sock(&self, key: &[u8]) -> Option<Arc<Sock>> {
        let i = key_index(key);
        self.sks.lock().get(i as usize).and_then(Weak::upgrade)
    }

    /// `sock_map_update_common()` with the socket resolved: flags up to
    /// `BPF_EXIST` (`EINVAL`), the index in range (`E2BIG`), `EEXIST` /
    /// `ENOENT` as the flag asks.
    pub fn store(&self, key: &[u8], sk: &Arc<Sock>, flags: u64) -> Result<(), Errno> {
        if flags > uapi::BPF_EXIST {
            return Err(Errno::EINVAL);
        }
        let i = key_index(key);
        if i >= self.max_entries {
            return Err(Errno::E2BIG);
        }
        let mut sks = self.sks.lock();
        let slot = &mut sks[i as usize];
        let occupied = slot.strong_count() > 0;
        if occupied && flags == uapi::BPF_NOEXIST {
            return Err(Errno::EEXIST);
        }
        if !occupied && flags == uapi::BPF_EXIST {
            return Err(Errno::ENOENT);
        }
        *slot = Arc::downgrade(sk);
        Ok(())
    }
}

/// The syscall lookup of the sockmap and the sockhash: no flags
/// (`EINVAL`), 8-byte values only (`ENOSPC`), the socket's cookie, or
/// `ENOENT` when `sock` finds none.
pub(crate) fn cookie_out(
    value_size: u32,
    sock: impl FnOnce() -> Option<Arc<Sock>>,
    out: &mut [u8],
    flags: u64,
) -> Result<(), Errno> {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    if value_size != 8 {
        return Err(Errno::ENOSPC);
    }
    let sk = sock().ok_or(Errno::ENOENT)?;
    out.get_mut(..8).ok_or(Errno::EFAULT)?.copy_from_slice(&sk.cookie.to_ne_bytes());
    Ok(())
}

impl Socks for SockMap {
    /// In slot order.
    fn socks(&self) -> Vec<Arc<Sock>> {
        self.sks.lock().iter().filter_map(Weak::upgrade).collect()
    }
}

impl MapOps for SockMap {
    /// `sock_map_lookup()`: the socket's address (its `struct bpf_sock`
    /// image). Emulated sockets are all RCU-freed (listening TCP, bound
    /// UDP), so no reference count is taken: the sk_lookup hook keeps the
    /// sockets it offers alive for the run.
    fn lookup(&self, key: &[u8]) -> Option<u64> {
        self.sock(key).map(|s| s.image_addr())
    }

    /// `sock_map_lookup_sys()`: the socket cookie; `ENOSPC` unless values
    /// are 8 bytes, `ENOENT` for an empty slot or an index out of range.
    fn sys_lookup(&self, key: &[u8], out: &mut [u8], flags: u64) -> Result<(), Errno> {
        cookie_out(self.value_size, || self.sock(key), out, flags)
    }

    /// Programs cannot store sockets here (the verifier refuses the call).
    fn update(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }

    /// A raw value (an fd number) must go through [`MapOps::fd_update`].
    fn sys_update(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    /// `sock_map_delete_elem()`: `EINVAL` out of range or for an empty
    /// slot.
    fn delete(&self, key: &[u8]) -> Result<(), Errno> {
        let i = key_index(key);
        let mut sks = self.sks.lock();
        let slot = sks.get_mut(i as usize).ok_or(Errno::EINVAL)?;
        if slot.strong_count() == 0 {
            return Err(Errno::EINVAL);
        }
        *slot = Weak::new();
        Ok(())
    }

    /// `sock_map_get_next_key()`: the array walk.
    fn get_next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<(), Errno> {
        array::get_next_key(self.max_entries, key, next)
    }

    fn is_fd_map(&self) -> bool {
        true
    }

    /// `sock_map_update_elem_sys()` with the fd resolved: the object must
    /// be a socket (`ENOTSOCK`); its state is always one
    /// `sock_map_sk_state_allowed()` accepts.
    fn fd_update(&self, key: &[u8], obj: &Obj, flags: u64) -> Result<(), Errno> {
        let Obj::Socket(sk) = obj else { return Err(Errno::ENOTSOCK) };
        self.store(key, sk, flags)
    }

    /// A sockmap has no `map_meta_equal`: it cannot be an inner map.
    fn meta_equal(&self, _meta: &MapDef, _inner: &MapDef) -> Option<bool> {
        None
    }

    /// `bpf_for_each_map_elem` does not take sockmaps (the verifier
    /// refuses); nothing is visited.
    fn for_each(&self, _f: &mut dyn FnMut(&[u8], u64) -> bool) -> u32 {
        0
    }

    fn btf_name(&self) -> &'static str {
        "bpf_stab"
    }

    /// `sock_map_mem_usage()`: the struct and one pointer per slot.
    fn mem_usage(&self) -> u64 {
        const BPF_STAB: u64 = 512;
        BPF_STAB + 8 * u64::from(self.max_entries)
    }

    fn as_sockmap(&self) -> Option<&dyn Socks> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::array::tests::{ENV, attr};
    use crate::map::create::create;
    use crate::uapi::MapType;

    fn sm(value_size: u32, max: u32) -> Map {
        create(&attr(MapType::Sockmap, value_size, max, 0), 1, &ENV, None).unwrap()
    }

    #[test]
    fn create_checks() {
        let e = |a: &MapCreateAttr| create(a, 1, &ENV, None).map(|_| ()).unwrap_err();
        assert_eq!(e(&attr(MapType::Sockmap, 16, 1, 0)), Errno::EINVAL);
        assert_eq!(e(&attr(MapType::Sockmap, 4, 0, 0)), Errno::EINVAL);
        assert_eq!(e(&attr(MapType::Sockmap, 8, 1, uapi::BPF_F_RDONLY_PROG)), Errno::EINVAL);
        let mut a = attr(MapType::Sockmap, 8, 1, 0);
        a.key_size = 8;
        assert_eq!(e(&a), Errno::EINVAL);
        create(&attr(MapType::Sockmap, 4, 1, uapi::BPF_F_RDONLY), 1, &ENV, None).unwrap();
        let m = sm(8, 2);
        assert!(m.ops.is_fd_map() && m.ops.as_sockmap().is_some());
        assert_eq!(m.ops.btf_name(), "bpf_stab");
    }

    #[test]
    fn empty_map_answers() {
        let (m4, m8) = (sm(4, 2), sm(8, 2));
        let mut out = [0u8; 8];
        let k = 0u32.to_ne_bytes();
        assert_eq!(m4.ops.sys_lookup(&k, &mut out, 0), Err(Errno::ENOSPC));
        assert_eq!(m8.ops.sys_lookup(&k, &mut out, 0), Err(Errno::ENOENT));
        assert_eq!(m8.ops.sys_lookup(&9u32.to_ne_bytes(), &mut out, 0), Err(Errno::ENOENT));
        assert_eq!(m8.ops.delete(&k), Err(Errno::EINVAL));
        assert_eq!(m8.ops.delete(&5u32.to_ne_bytes()), Err(Errno::EINVAL));
        assert_eq!(m8.ops.lookup(&k), None);
        let mut next = [0u8; 4];
        m8.ops.get_next_key(None, &mut next).unwrap();
        assert_eq!(u32::from_ne_bytes(next), 0);
        assert_eq!(m8.ops.get_next_key(Some(&1u32.to_ne_bytes()), &mut next), Err(Errno::ENOENT));
        assert_eq!(m8.ops.update(&k, &[0; 8], 0), Err(Errno::EOPNOTSUPP));
    }
}
