//! The slots of the fd arrays (kernel/bpf/arraymap.c, the `fd_array_map_*`
//! functions shared by `prog_array_map_ops` and `array_of_maps_map_ops`):
//! an array of `Option<Arc<T>>`, each a `refcnt` on the stored object, that
//! the syscall side fills by fd and reads back as ids.

use super::array::{self, elem_size, key_index};
use super::create::MapCreateAttr;
use crate::errno::Errno;
use crate::uapi::{self, MapType};
use parking_lot::RwLock;
use std::sync::Arc;

/// `fd_array_map_alloc_check()`: a 4-byte fd per value, no program-side
/// access flags, then the array checks.
pub fn fd_array_alloc_check(attr: &MapCreateAttr, t: MapType) -> Result<(), Errno> {
    if attr.value_size != 4 || attr.map_flags & (uapi::BPF_F_RDONLY_PROG | uapi::BPF_F_WRONLY_PROG) != 0 {
        return Err(Errno::EINVAL);
    }
    array::alloc_check(attr, t)
}

/// The slots of an fd array of objects `T`.
#[derive(Debug)]
pub(crate) struct FdArray<T> {
    max_entries: u32,
    slots: RwLock<Vec<Option<Arc<T>>>>,
}

impl<T> FdArray<T> {
    /// `max_entries` empty slots (`ENOMEM` if they cannot be allocated),
    /// after [`fd_array_alloc_check`].
    pub(crate) fn alloc(max_entries: u32) -> Result<FdArray<T>, Errno> {
        let mut slots = Vec::new();
        slots.try_reserve_exact(max_entries as usize).map_err(|_| Errno::ENOMEM)?;
        slots.resize_with(max_entries as usize, || None);
        Ok(FdArray { max_entries, slots: RwLock::new(slots) })
    }

    /// The object in slot `index`, `None` for an empty slot or an index out
    /// of range.
    pub(crate) fn get(&self, index: u64) -> Option<Arc<T>> {
        let slots = self.slots.read();
        usize::try_from(index).ok().and_then(|i| slots.get(i)).and_then(Clone::clone)
    }

    /// The object in the slot `key` names.
    pub(crate) fn get_key(&self, key: &[u8]) -> Option<Arc<T>> {
        self.get(u64::from(key_index(key)))
    }

    /// `bpf_fd_array_map_lookup_elem()` with the type's `map_fd_sys_lookup_elem`
    /// (`id`): no flags, `ENOENT` for an empty slot or an index out of range.
    pub(crate) fn sys_lookup(
        &self,
        key: &[u8],
        out: &mut [u8],
        flags: u64,
        id: impl FnOnce(&T) -> u32,
    ) -> Result<(), Errno> {
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        let obj = self.get_key(key).ok_or(Errno::ENOENT)?;
        let id = id(&obj);
        out.get_mut(..4).ok_or(Errno::EINVAL)?.copy_from_slice(&id.to_ne_bytes());
        Ok(())
    }

    /// The checks of `bpf_fd_array_map_update_elem()` before the object is
    /// resolved: flags `BPF_ANY` only, the index in range (`E2BIG`). The
    /// slot's index.
    pub(crate) fn update_index(&self, key: &[u8], flags: u64) -> Result<usize, Errno> {
        if flags != uapi::BPF_ANY {
            return Err(Errno::EINVAL);
        }
        self.index(key)
    }

    /// Stores `obj` in slot `i` (from [`FdArray::update_index`]).
    pub(crate) fn store(&self, i: usize, obj: Arc<T>) {
        // The old entry is dropped after the lock guard (a temporary) is released.
        let old = self.slots.write()[i].replace(obj);
        drop(old);
    }

    /// `fd_array_map_delete_elem()`: `E2BIG` out of range, `ENOENT` empty.
    pub(crate) fn delete(&self, key: &[u8]) -> Result<(), Errno> {
        let i = self.index(key)?;
        let old = self.slots.write()[i].take();
        old.map(drop).ok_or(Errno::ENOENT)
    }

    /// Empties every slot (`bpf_fd_array_map_clear()`).
    pub(crate) fn clear(&self) {
        // Objects are released outside the lock: dropping one may drop maps.
        let old: Vec<Option<Arc<T>>> = self.slots.write().iter_mut().map(Option::take).collect();
        drop(old);
    }

    pub(crate) fn get_next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<(), Errno> {
        array::get_next_key(self.max_entries, key, next)
    }

    pub(crate) fn mem_usage(&self) -> u64 {
        array::mem_usage_flat(self.max_entries, elem_size(4), false)
    }

    /// The slot index of `key`, `E2BIG` out of range.
    fn index(&self, key: &[u8]) -> Result<usize, Errno> {
        let i = key_index(key);
        if i >= self.max_entries {
            return Err(Errno::E2BIG);
        }
        Ok(i as usize)
    }
}
