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

use super::array::{self, elem_size, key_index};
use super::create::{MapCreateAttr, MapEnv};
use super::{Map, MapDef, MapOps};
use crate::bpf::objects::Obj;
use crate::bpf::prog::Prog;
use crate::errno::Errno;
use crate::uapi::{self, MapType, ProgType};
use parking_lot::{Mutex, RwLock};
use std::sync::Arc;

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
    max_entries: u32,
    slots: RwLock<Vec<Option<Arc<Prog>>>>,
    owner: PrgArrayOwner,
}

/// `fd_array_map_alloc_check()`: a 4-byte fd per value, no program-side
/// access flags, then the array checks.
pub fn fd_array_alloc_check(attr: &MapCreateAttr, t: MapType) -> Result<(), Errno> {
    if attr.value_size != 4 || attr.map_flags & (uapi::BPF_F_RDONLY_PROG | uapi::BPF_F_WRONLY_PROG) != 0 {
        return Err(Errno::EINVAL);
    }
    array::alloc_check(attr, t)
}

/// `AllocFn` for `BPF_MAP_TYPE_PROG_ARRAY`.
pub fn alloc(attr: &MapCreateAttr, _env: &MapEnv, _inner: Option<&Map>) -> Result<Box<dyn MapOps>, Errno> {
    fd_array_alloc_check(attr, MapType::ProgArray)?;
    let mut slots = Vec::new();
    slots.try_reserve_exact(attr.max_entries as usize).map_err(|_| Errno::ENOMEM)?;
    slots.resize(attr.max_entries as usize, None);
    Ok(Box::new(ProgArrayMap {
        max_entries: attr.max_entries,
        slots: RwLock::new(slots),
        owner: PrgArrayOwner::default(),
    }))
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
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        let id = self.prog_at(u64::from(key_index(key))).ok_or(Errno::ENOENT)?.id;
        out.get_mut(..4).ok_or(Errno::EINVAL)?.copy_from_slice(&id.to_ne_bytes());
        Ok(())
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
        let i = key_index(key);
        if i >= self.max_entries {
            return Err(Errno::E2BIG);
        }
        let old = self.slots.write()[i as usize].take();
        old.map(drop).ok_or(Errno::ENOENT)
    }

    fn get_next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<(), Errno> {
        array::get_next_key(self.max_entries, key, next)
    }

    fn is_fd_map(&self) -> bool {
        true
    }

    /// `bpf_fd_array_map_update_elem()` with `prog_fd_array_get_ptr()`:
    /// flags must be `BPF_ANY`, the index in range, the object a program,
    /// not an extension (`BPF_PROG_TYPE_EXT`), compatible with the array's
    /// owner type.
    fn fd_update(&self, key: &[u8], obj: &Obj, flags: u64) -> Result<(), Errno> {
        if flags != uapi::BPF_ANY {
            return Err(Errno::EINVAL);
        }
        let i = key_index(key);
        if i >= self.max_entries {
            return Err(Errno::E2BIG);
        }
        let prog = obj.prog()?;
        // freplace programs may not be tail-call targets (they could form
        // tail-call loops through the program they extend).
        if prog.prog_type == ProgType::Ext || !self.owner.compatible(prog) {
            return Err(Errno::EINVAL);
        }
        // The old entry is dropped after the lock guard (a temporary) is released.
        let old = self.slots.write()[i as usize].replace(prog.clone());
        drop(old);
        Ok(())
    }

    fn prog_at(&self, index: u64) -> Option<Arc<Prog>> {
        let slots = self.slots.read();
        usize::try_from(index).ok().and_then(|i| slots.get(i)).and_then(Clone::clone)
    }

    /// A prog_array has no `map_meta_equal`: it cannot be an inner map.
    fn meta_equal(&self, _meta: &MapDef, _inner: &MapDef) -> Option<bool> {
        None
    }

    /// `prog_array_map_clear()`: drops every stored program.
    fn release_uref(&self) {
        // Programs are released outside the lock: dropping one may drop maps.
        let old: Vec<Option<Arc<Prog>>> = self.slots.write().iter_mut().map(Option::take).collect();
        drop(old);
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
        array::mem_usage_flat(self.max_entries, elem_size(4), false)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bpf::objects::MapUref;
    use crate::bpf::prog::ProgParts;
    use crate::map::array::tests::{ENV, attr, k};
    use crate::map::create::create;
    use bpfemu_isa::Insn;
    use bpfemu_vm::Program;

    /// A loaded `r0 = 0; exit` program of type `t`.
    pub(crate) fn prog(id: u32, t: ProgType) -> Arc<Prog> {
        let insns = vec![Insn::new(0xb7, 0, 0, 0, 0), Insn::new(0x95, 0, 0, 0, 0)];
        let image = Arc::new(Program::new(&insns).unwrap());
        Arc::new(Prog::new(
            id,
            ProgParts {
                prog_type: t,
                expected_attach_type: None,
                name: format!("p{id}"),
                tag: [0; 8],
                gpl_compatible: true,
                insns: insns.clone(),
                xlated: insns,
                image,
                used_maps: Vec::new(),
                load_time: 0,
                verified: false,
                uid: 0,
                btf_id: 0,
            },
        ))
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
