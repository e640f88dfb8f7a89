//! `BPF_MAP_TYPE_PROG_ARRAY` (kernel/bpf/arraymap.c, `prog_array_map_ops`,
//! the `fd_array_map_*` functions): the jump table of `bpf_tail_call`.
//!
//! Slots hold programs (`Arc<Prog>`, a `refcnt` each). The syscall side
//! stores a program by fd ([`MapOps::fd_update`], the syscall layer resolves
//! the fd), reads back its id, and deletes; programs cannot look up, update
//! or delete (the verifier refuses; here those calls fail). The array's
//! owner program type (`map->owner`, set by the first program stored, see
//! `__bpf_prog_map_compatible()` in kernel/bpf/core.c) is fixed for the
//! map's lifetime: programs of other types are refused with `EINVAL`.
//! When the last user reference goes, the array empties itself
//! (`prog_array_map_clear`, via [`MapOps::release_uref`]), which breaks
//! reference cycles of programs tail-calling through their own array.
//!
//! Not emulated: owner fields other than the program type (`jited`,
//! `xdp_has_frags`, sleepable, attach function prototype), the `-EBUSY`
//! for programs already extended by freplace, JIT poke descriptors (the JIT
//! reads the slot through [`MapOps::prog_at`]) and the deferred clear.
//! The kernel also binds or checks the owner when a program that uses the
//! array is loaded (`check_map_prog_compatibility()`); that needs a `MapOps`
//! hook calling [`PrgArrayOwner::compatible`], not there yet: today only
//! updates bind the owner.

use super::create::{MapCreateAttr, MapEnv};
use super::fd_array::FdArray;
use super::{Map, MapDef, MapOps};
use crate::bpf::objects::Obj;
use crate::bpf::prog::Prog;
use crate::errno::Errno;
use crate::uapi::{MapType, ProgType};
use parking_lot::Mutex;
use std::sync::Arc;

pub use super::fd_array::fd_array_alloc_check;

/// The program type a prog_array is bound to once a program was stored
/// (the `type` of `struct bpf_map_owner`).
#[derive(Debug, Default)]
pub struct PrgArrayOwner {
    owner: Mutex<Option<ProgType>>,
}

impl PrgArrayOwner {
    /// `bpf_prog_map_compatible()`: binds the owner on first use, then
    /// accepts only programs of the same type.
    pub fn compatible(&self, prog: &Prog) -> bool {
        let mut o = self.owner.lock();
        match *o {
            None => {
                *o = Some(prog.prog_type);
                true
            }
            Some(t) => t == prog.prog_type,
        }
    }

    /// The bound program type, if any.
    pub fn get(&self) -> Option<ProgType> {
        *self.owner.lock()
    }
}

/// A program array.
#[derive(Debug)]
pub struct ProgArrayMap {
    slots: FdArray<Prog>,
    owner: PrgArrayOwner,
}

/// `AllocFn` for `BPF_MAP_TYPE_PROG_ARRAY`.
pub fn alloc(attr: &MapCreateAttr, _env: &MapEnv, _inner: Option<&Map>) -> Result<Box<dyn MapOps>, Errno> {
    fd_array_alloc_check(attr, MapType::ProgArray)?;
    Ok(Box::new(ProgArrayMap { slots: FdArray::alloc(attr.max_entries)?, owner: PrgArrayOwner::default() }))
}

impl ProgArrayMap {
    /// The owner program type tracking of this array.
    pub fn owner(&self) -> &PrgArrayOwner {
        &self.owner
    }
}

impl MapOps for ProgArrayMap {
    /// Programs cannot look into a prog_array (the kernel's lookup op
    /// returns `-EOPNOTSUPP` and the verifier refuses the call).
    fn lookup(&self, _key: &[u8]) -> Option<u64> {
        None
    }

    /// `bpf_fd_array_map_lookup_elem()`: the id of the stored program,
    /// `ENOENT` for an empty slot or an index out of range.
    fn sys_lookup(&self, key: &[u8], out: &mut [u8], flags: u64) -> Result<(), Errno> {
        self.slots.sys_lookup(key, out, flags, |p| p.id)
    }

    /// Programs cannot update a prog_array (the verifier refuses).
    fn update(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    /// A raw value (an fd number) must go through [`MapOps::fd_update`].
    fn sys_update(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    /// `fd_array_map_delete_elem()`: `E2BIG` out of range, `ENOENT` empty.
    fn delete(&self, key: &[u8]) -> Result<(), Errno> {
        self.slots.delete(key)
    }

    fn get_next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<(), Errno> {
        self.slots.get_next_key(key, next)
    }

    fn is_fd_map(&self) -> bool {
        true
    }

    /// `bpf_fd_array_map_update_elem()` with `prog_fd_array_get_ptr()`:
    /// flags must be `BPF_ANY`, the index in range, the object a program,
    /// not an extension (`BPF_PROG_TYPE_EXT`), compatible with the array's
    /// owner type.
    fn fd_update(&self, key: &[u8], obj: &Obj, flags: u64) -> Result<(), Errno> {
        let i = self.slots.update_index(key, flags)?;
        let prog = obj.prog()?;
        // freplace programs may not be tail-call targets (they could form
        // tail-call loops through the program they extend).
        if prog.prog_type == ProgType::Ext || !self.owner.compatible(prog) {
            return Err(Errno::EINVAL);
        }
        self.slots.store(i, prog.clone());
        Ok(())
    }

    fn prog_at(&self, index: u64) -> Option<Arc<Prog>> {
        self.slots.get(index)
    }

    /// A prog_array has no `map_meta_equal`: it cannot be an inner map.
    fn meta_equal(&self, _meta: &MapDef, _inner: &MapDef) -> Option<bool> {
        None
    }

    /// `prog_array_map_clear()`: drops every stored program.
    fn release_uref(&self) {
        self.slots.clear();
    }

    /// `bpf_for_each_map_elem` does not support prog_array (the verifier
    /// refuses); nothing is visited.
    fn for_each(&self, _f: &mut dyn FnMut(&[u8], u64) -> bool) -> u32 {
        0
    }

    fn btf_name(&self) -> &'static str {
        "bpf_array"
    }

    fn mem_usage(&self) -> u64 {
        self.slots.mem_usage()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::objects::MapUref;
    use crate::map::array::tests::{ENV, attr, k};
    use crate::map::create::create;
    use crate::testutil::test_prog;
    use crate::uapi;

    /// A loaded `r0 = 0; exit` program of type `t`.
    fn prog(id: u32, t: ProgType) -> Arc<Prog> {
        test_prog(id, t, Vec::new())
    }

    fn pa(max_entries: u32) -> Arc<Map> {
        Arc::new(create(&attr(MapType::ProgArray, 4, max_entries, 0), 7, &ENV, None).unwrap())
    }

    #[test]
    fn create_checks() {
        let e = |a: &MapCreateAttr| create(a, 1, &ENV, None).map(|_| ()).unwrap_err();
        assert_eq!(e(&attr(MapType::ProgArray, 8, 1, 0)), Errno::EINVAL);
        assert_eq!(e(&attr(MapType::ProgArray, 4, 0, 0)), Errno::EINVAL);
        for f in
            [uapi::BPF_F_RDONLY_PROG, uapi::BPF_F_WRONLY_PROG, uapi::BPF_F_MMAPABLE, uapi::BPF_F_INNER_MAP]
        {
            assert_eq!(e(&attr(MapType::ProgArray, 4, 1, f)), Errno::EINVAL, "flag {f:#x}");
        }
        create(&attr(MapType::ProgArray, 4, 1, uapi::BPF_F_RDONLY), 1, &ENV, None).unwrap();
        let m = pa(2);
        assert!(m.ops.is_fd_map() && !m.ops.is_percpu());
        assert_eq!(m.ops.meta_equal(&m.def, &m.def), None);
        assert_eq!(m.ops.btf_name(), "bpf_array");
    }

    #[test]
    fn store_lookup_delete() {
        let m = pa(2);
        let p = prog(42, ProgType::SocketFilter);
        let obj = Obj::Prog(p.clone());
        let mut out = [0u8; 4];
        assert_eq!(m.ops.sys_lookup(&k(0), &mut out, 0), Err(Errno::ENOENT));
        assert_eq!(m.ops.fd_update(&k(0), &obj, uapi::BPF_NOEXIST), Err(Errno::EINVAL));
        assert_eq!(m.ops.fd_update(&k(0), &obj, uapi::BPF_EXIST), Err(Errno::EINVAL));
        assert_eq!(m.ops.fd_update(&k(2), &obj, 0), Err(Errno::E2BIG));
        let not_prog = Obj::Map(MapUref::new(pa(1)));
        assert_eq!(m.ops.fd_update(&k(0), &not_prog, 0), Err(Errno::EINVAL));
        m.ops.fd_update(&k(1), &obj, 0).unwrap();
        assert_eq!(Arc::strong_count(&p), 3, "the slot holds a reference");
        m.ops.sys_lookup(&k(1), &mut out, 0).unwrap();
        assert_eq!(u32::from_ne_bytes(out), 42);
        assert_eq!(m.ops.sys_lookup(&k(5), &mut out, 0), Err(Errno::ENOENT));
        assert!(Arc::ptr_eq(&m.ops.prog_at(1).unwrap(), &p));
        assert!(
            m.ops.prog_at(0).is_none() && m.ops.prog_at(2).is_none() && m.ops.prog_at(u64::MAX).is_none()
        );
        assert_eq!(m.ops.lookup(&k(1)), None);
        assert_eq!(m.ops.update(&k(1), &[0; 4], 0), Err(Errno::EINVAL));
        assert_eq!(m.ops.sys_update(&k(1), &[0; 4], 0), Err(Errno::EINVAL));
        let mut nk = [0u8; 4];
        m.ops.get_next_key(None, &mut nk).unwrap();
        assert_eq!(nk, k(0));
        assert_eq!(m.ops.get_next_key(Some(&k(1)), &mut nk), Err(Errno::ENOENT));
        assert_eq!(m.ops.delete(&k(2)), Err(Errno::E2BIG));
        assert_eq!(m.ops.delete(&k(0)), Err(Errno::ENOENT));
        m.ops.delete(&k(1)).unwrap();
        assert_eq!(m.ops.delete(&k(1)), Err(Errno::ENOENT));
        assert_eq!(Arc::strong_count(&p), 2);
    }

    #[test]
    fn owner_type_is_bound_by_first_program() {
        let m = pa(4);
        let xdp = prog(1, ProgType::Xdp);
        m.ops.fd_update(&k(0), &Obj::Prog(xdp.clone()), 0).unwrap();
        assert_eq!(m.ops.fd_update(&k(1), &Obj::Prog(prog(2, ProgType::Kprobe)), 0), Err(Errno::EINVAL));
        // Still bound after the array empties.
        m.ops.delete(&k(0)).unwrap();
        assert_eq!(
            m.ops.fd_update(&k(1), &Obj::Prog(prog(3, ProgType::SocketFilter)), 0),
            Err(Errno::EINVAL)
        );
        m.ops.fd_update(&k(1), &Obj::Prog(prog(4, ProgType::Xdp)), 0).unwrap();
        // Extension programs are refused, and do not bind an owner.
        let fresh = pa(1);
        assert_eq!(fresh.ops.fd_update(&k(0), &Obj::Prog(prog(5, ProgType::Ext)), 0), Err(Errno::EINVAL));
        fresh.ops.fd_update(&k(0), &Obj::Prog(prog(6, ProgType::Kprobe)), 0).unwrap();
    }

    #[test]
    fn last_user_reference_clears_the_array() {
        let m = pa(3);
        let p = prog(9, ProgType::Xdp);
        let fd = MapUref::new(m.clone());
        let pin = fd.clone();
        m.ops.fd_update(&k(0), &Obj::Prog(p.clone()), 0).unwrap();
        m.ops.fd_update(&k(2), &Obj::Prog(p.clone()), 0).unwrap();
        drop(fd);
        assert!(m.ops.prog_at(0).is_some(), "a pin still holds a user reference");
        drop(pin);
        assert_eq!(m.usercnt(), 0);
        assert!((0..3).all(|i| m.ops.prog_at(i).is_none()));
        assert_eq!(Arc::strong_count(&p), 1);
        // The map (refcnt still held, e.g. by a program) stays usable.
        m.ops.fd_update(&k(1), &Obj::Prog(p.clone()), 0).unwrap();
        assert!(m.ops.prog_at(1).is_some());
    }
}
