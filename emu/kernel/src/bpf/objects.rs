//! BPF objects as user space holds them: the fd-table and bpffs handle
//! ([`Obj`]), the map user reference ([`MapUref`]) and the id allocators
//! ([`IdTable`], the kernel's `idr_alloc_cyclic` tables `map_idr`,
//! `prog_idr`, `link_idr`, `btf_idr` in kernel/bpf/syscall.c and btf.c).

use super::btf_obj::BtfObj;
use super::link::Link;
use super::prog::Prog;
use crate::errno::Errno;
use crate::map::Map;
use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

/// Access mode of a map fd (`f_mode`'s `FMODE_CAN_READ` / `FMODE_CAN_WRITE`),
/// from `BPF_F_RDONLY` / `BPF_F_WRONLY` in `map_flags` (`BPF_MAP_CREATE`),
/// `open_flags` (`BPF_MAP_GET_FD_BY_ID`) or `file_flags` (`BPF_OBJ_GET`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FMode {
    pub read: bool,
    pub write: bool,
}

impl FMode {
    pub const RDWR: FMode = FMode { read: true, write: true };

    /// `bpf_get_file_flag()`: both flags → `EINVAL`.
    pub fn from_flags(flags: u32) -> Result<FMode, Errno> {
        use crate::uapi::{BPF_F_RDONLY, BPF_F_WRONLY};
        match (flags & BPF_F_RDONLY != 0, flags & BPF_F_WRONLY != 0) {
            (true, true) => Err(Errno::EINVAL),
            (true, false) => Ok(FMode { read: true, write: false }),
            (false, true) => Ok(FMode { read: false, write: true }),
            (false, false) => Ok(FMode::RDWR),
        }
    }
}

/// A user reference to a map: what an fd or a pin holds. It counts in both
/// `refcnt` (the `Arc`) and `usercnt` (see [`Map::usercnt`]), and carries
/// the fd's access mode.
#[derive(Debug)]
pub struct MapUref(Arc<Map>, FMode);

impl MapUref {
    pub fn new(map: Arc<Map>) -> MapUref {
        MapUref::with_mode(map, FMode::RDWR)
    }

    pub fn with_mode(map: Arc<Map>, mode: FMode) -> MapUref {
        map.inc_usercnt();
        MapUref(map, mode)
    }

    pub fn map(&self) -> &Arc<Map> {
        &self.0
    }

    /// The fd's access mode (before `map_get_sys_perms()` removes write
    /// access from a frozen map).
    pub fn mode(&self) -> FMode {
        self.1
    }
}

impl Clone for MapUref {
    fn clone(&self) -> Self {
        MapUref::with_mode(self.0.clone(), self.1)
    }
}

impl Drop for MapUref {
    fn drop(&mut self) {
        self.0.dec_usercnt();
    }
}

/// What an fd (or a bpffs pin) refers to.
#[derive(Clone, Debug)]
pub enum Obj {
    Map(MapUref),
    Prog(Arc<Prog>),
    Link(Arc<Link>),
    Btf(Arc<BtfObj>),
    /// A network namespace file (`/proc/<pid>/ns/net`, nsfs): not a BPF
    /// object, but netns attach commands take its fd.
    Netns(crate::net::netns::NetRef),
    /// A socket (listening TCP or unconnected UDP): it holds its namespace.
    Socket(Arc<crate::net::sk_lookup::Sock>),
    /// An iterator file (`BPF_ITER_CREATE`): read it to run the program.
    Iter(Arc<crate::iter::seq::IterFile>),
}

impl Obj {
    /// The kernel's name of the object kind, as fdinfo and errors use it.
    pub fn kind(&self) -> &'static str {
        match self {
            Obj::Map(_) => "map",
            Obj::Prog(_) => "prog",
            Obj::Link(_) => "link",
            Obj::Btf(_) => "btf",
            Obj::Netns(_) => "netns",
            Obj::Socket(_) => "socket",
            Obj::Iter(_) => "bpf_iter",
        }
    }

    pub fn map(&self) -> Result<&Arc<Map>, Errno> {
        match self {
            Obj::Map(m) => Ok(m.map()),
            _ => Err(Errno::EINVAL),
        }
    }

    pub fn prog(&self) -> Result<&Arc<Prog>, Errno> {
        match self {
            Obj::Prog(p) => Ok(p),
            _ => Err(Errno::EINVAL),
        }
    }

    pub fn link(&self) -> Result<&Arc<Link>, Errno> {
        match self {
            Obj::Link(l) => Ok(l),
            _ => Err(Errno::EINVAL),
        }
    }

    pub fn btf(&self) -> Result<&Arc<BtfObj>, Errno> {
        match self {
            Obj::Btf(b) => Ok(b),
            _ => Err(Errno::EINVAL),
        }
    }
}

/// Ids of one object kind: allocated cyclically from 1 up to `INT_MAX`
/// (`idr_alloc_cyclic(&map_idr, map, 1, INT_MAX, ...)`), looked up without
/// keeping the object alive. An id disappears when its object is freed (the
/// `Weak` no longer upgrades), as `bpf_map_free_id()` removes it.
#[derive(Debug)]
pub struct IdTable<T> {
    ids: BTreeMap<u32, Weak<T>>,
    next: u32,
}

impl<T> Default for IdTable<T> {
    fn default() -> Self {
        IdTable { ids: BTreeMap::new(), next: 1 }
    }
}

impl<T> IdTable<T> {
    /// Reserves the next free id (cyclic); `ENOSPC` when all are taken.
    pub fn alloc(&mut self) -> Result<u32, Errno> {
        self.ids.retain(|_, w| w.strong_count() > 0);
        let max = i32::MAX as u32;
        let mut id = self.next;
        for _ in 0..self.ids.len() + 1 {
            if !self.ids.contains_key(&id) {
                self.next = if id == max { 1 } else { id + 1 };
                self.ids.insert(id, Weak::new());
                return Ok(id);
            }
            id = if id == max { 1 } else { id + 1 };
        }
        Err(Errno::ENOSPC)
    }

    /// Publishes the object under an id from [`IdTable::alloc`].
    pub fn publish(&mut self, id: u32, obj: &Arc<T>) {
        self.ids.insert(id, Arc::downgrade(obj));
    }

    /// The live object with this id.
    pub fn get(&self, id: u32) -> Option<Arc<T>> {
        self.ids.get(&id).and_then(Weak::upgrade)
    }

    /// `*_GET_NEXT_ID`: the smallest live id greater than `start`.
    pub fn next_id(&self, start: u32) -> Option<u32> {
        self.ids.range(start.saturating_add(1)..).find(|(_, w)| w.strong_count() > 0).map(|(id, _)| *id)
    }

    /// Live objects in id order.
    pub fn live(&self) -> Vec<Arc<T>> {
        self.ids.values().filter_map(Weak::upgrade).collect()
    }
}

/// The id tables of the four object kinds.
#[derive(Debug, Default)]
pub struct Objects {
    pub maps: IdTable<Map>,
    pub progs: IdTable<Prog>,
    pub links: IdTable<Link>,
    pub btfs: IdTable<BtfObj>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_cyclic_and_skip_the_dead() {
        let mut t: IdTable<u8> = IdTable::default();
        let a = Arc::new(1u8);
        let ia = t.alloc().unwrap();
        t.publish(ia, &a);
        let ib = t.alloc().unwrap();
        let b = Arc::new(2u8);
        t.publish(ib, &b);
        assert_eq!((ia, ib), (1, 2));
        assert_eq!(t.next_id(0), Some(1));
        assert_eq!(t.next_id(1), Some(2));
        assert_eq!(t.next_id(2), None);
        drop(a);
        assert_eq!(t.get(1), None);
        assert_eq!(t.next_id(0), Some(2));
        // Cyclic: a freed id is not reused before the counter wraps.
        assert_eq!(t.alloc().unwrap(), 3);
    }
}
