//! `BPF_MAP_TYPE_QUEUE` and `BPF_MAP_TYPE_STACK`
//! (kernel/bpf/queue_stack_maps.c).
//!
//! A ring of `max_entries + 1` slots of `value_size` bytes with a head
//! (next push) and a tail (oldest element); empty when they meet, full when
//! the head is one behind the tail. Push writes at the head; a queue pops
//! and peeks at the tail (FIFO), a stack at the slot before the head
//! (LIFO). No keys (`key_size` 0). Operations:
//! - push (`bpf_map_push_elem`, `BPF_MAP_UPDATE_ELEM`): flags 0 or
//!   `BPF_EXIST` (anything else `EINVAL`); full: `E2BIG`, or with
//!   `BPF_EXIST` the oldest element is overwritten;
//! - pop (`bpf_map_pop_elem`, `BPF_MAP_LOOKUP_AND_DELETE_ELEM`) and peek
//!   (`bpf_map_peek_elem`, `BPF_MAP_LOOKUP_ELEM`): `ENOENT` when empty, the
//!   program's buffer zeroed;
//! - lookup from a program: NULL; update from a program, delete and
//!   `get_next_key`: `EINVAL`.
//!
//! Creation (`queue_stack_map_alloc_check()`): `EPERM` without `CAP_BPF`
//! (first), `EINVAL` for
//! `max_entries` 0, a key, a value size of 0, flags beyond
//! `BPF_F_NUMA_NODE` and the access flags or conflicting access flags,
//! `E2BIG` above `KMALLOC_MAX_SIZE` per value.

use super::array::{BPF_F_ACCESS_MASK, flags_access_ok};
use super::create::{MapCreateAttr, MapEnv};
use super::{Map, MapDef, MapOps, meta_equal_common};
use crate::errno::Errno;
use crate::uapi::{self, MapType};
use parking_lot::Mutex;

/// `QUEUE_STACK_CREATE_FLAG_MASK`.
const CREATE_FLAG_MASK: u32 = uapi::BPF_F_NUMA_NODE | BPF_F_ACCESS_MASK;

/// `KMALLOC_MAX_SIZE` on x86-64 (`1 << (MAX_PAGE_ORDER + PAGE_SHIFT)`).
pub(crate) const KMALLOC_MAX_SIZE: u32 = 4 << 20;

/// Approximate `sizeof(struct bpf_queue_stack)` without the elements.
const BPF_QUEUE_STACK_HDR: u64 = 320;

#[derive(Debug)]
struct Ring {
    head: u32,
    tail: u32,
    elements: Vec<u8>,
}

/// A queue or a stack (`struct bpf_queue_stack`).
#[derive(Debug)]
pub struct QueueStack {
    stack: bool,
    value_size: usize,
    /// `max_entries + 1`.
    size: u32,
    ring: Mutex<Ring>,
}

/// `AllocFn` for both types (see the module docs).
pub fn alloc(attr: &MapCreateAttr, env: &MapEnv, _inner: Option<&Map>) -> Result<Box<dyn MapOps>, Errno> {
    if !env.bpf_capable {
        return Err(Errno::EPERM);
    }
    if attr.max_entries == 0
        || attr.key_size != 0
        || attr.value_size == 0
        || attr.map_flags & !CREATE_FLAG_MASK != 0
        || !flags_access_ok(attr.map_flags)
    {
        return Err(Errno::EINVAL);
    }
    if attr.value_size > KMALLOC_MAX_SIZE {
        return Err(Errno::E2BIG);
    }
    let size = attr.max_entries.checked_add(1).ok_or(Errno::ENOMEM)?;
    let bytes = u64::from(size) * u64::from(attr.value_size);
    let bytes = usize::try_from(bytes).map_err(|_| Errno::ENOMEM)?;
    let mut elements = Vec::new();
    elements.try_reserve_exact(bytes).map_err(|_| Errno::ENOMEM)?;
    elements.resize(bytes, 0);
    Ok(Box::new(QueueStack {
        stack: attr.map_type == MapType::Stack.raw(),
        value_size: attr.value_size as usize,
        size,
        ring: Mutex::new(Ring { head: 0, tail: 0, elements }),
    }))
}

impl QueueStack {
    fn slot<'a>(&self, r: &'a mut Ring, i: u32) -> &'a mut [u8] {
        let at = i as usize * self.value_size;
        &mut r.elements[at..at + self.value_size]
    }

    /// `__queue_map_get()` / `__stack_map_get()`: the element a pop or a
    /// peek sees, copied to `out`, removed if `delete`.
    fn get(&self, out: &mut [u8], delete: bool) -> Result<(), Errno> {
        let out = out.get_mut(..self.value_size).ok_or(Errno::EINVAL)?;
        let mut r = self.ring.lock();
        if r.head == r.tail {
            out.fill(0);
            return Err(Errno::ENOENT);
        }
        let index = if self.stack { if r.head == 0 { self.size - 1 } else { r.head - 1 } } else { r.tail };
        out.copy_from_slice(self.slot(&mut r, index));
        if delete {
            if self.stack {
                r.head = index;
            } else {
                r.tail = (r.tail + 1) % self.size;
            }
        }
        Ok(())
    }
}

impl MapOps for QueueStack {
    /// `queue_stack_map_lookup_elem()`: always NULL (the verifier keeps
    /// programs from calling it).
    fn lookup(&self, _key: &[u8]) -> Option<u64> {
        None
    }

    /// `BPF_MAP_LOOKUP_ELEM` peeks.
    fn sys_lookup(&self, _key: &[u8], out: &mut [u8], _flags: u64) -> Result<(), Errno> {
        self.peek(out)
    }

    /// `queue_stack_map_update_elem()`: `EINVAL`.
    fn update(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    /// `BPF_MAP_UPDATE_ELEM` pushes.
    fn sys_update(&self, _key: &[u8], value: &[u8], flags: u64) -> Result<(), Errno> {
        self.push(value, flags)
    }

    /// `queue_stack_map_delete_elem()`: `EINVAL`.
    fn delete(&self, _key: &[u8]) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    /// `queue_stack_map_get_next_key()`: `EINVAL`.
    fn get_next_key(&self, _key: Option<&[u8]>, _next: &mut [u8]) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    /// `BPF_MAP_LOOKUP_AND_DELETE_ELEM` pops (`map_lookup_and_delete_elem()`
    /// refuses flags for these types before getting here).
    fn lookup_and_delete(&self, _key: &[u8], out: &mut [u8], _flags: u64) -> Result<(), Errno> {
        self.pop(out)
    }

    /// `queue_stack_map_push_elem()`.
    fn push(&self, value: &[u8], flags: u64) -> Result<(), Errno> {
        let replace = flags & uapi::BPF_EXIST != 0;
        if flags & uapi::BPF_NOEXIST != 0 || flags > uapi::BPF_EXIST {
            return Err(Errno::EINVAL);
        }
        let value = value.get(..self.value_size).ok_or(Errno::EINVAL)?;
        let mut r = self.ring.lock();
        if (r.head + 1) % self.size == r.tail {
            if !replace {
                return Err(Errno::E2BIG);
            }
            r.tail = (r.tail + 1) % self.size;
        }
        let head = r.head;
        self.slot(&mut r, head).copy_from_slice(value);
        r.head = (r.head + 1) % self.size;
        Ok(())
    }

    /// `queue_map_pop_elem()` / `stack_map_pop_elem()`.
    fn pop(&self, out: &mut [u8]) -> Result<(), Errno> {
        self.get(out, true)
    }

    /// `queue_map_peek_elem()` / `stack_map_peek_elem()`.
    fn peek(&self, out: &mut [u8]) -> Result<(), Errno> {
        self.get(out, false)
    }

    /// `bpf_map_meta_equal()`.
    fn meta_equal(&self, meta: &MapDef, inner: &MapDef) -> Option<bool> {
        Some(meta_equal_common(meta, inner))
    }

    /// `bpf_for_each_map_elem` does not take these types (the verifier
    /// refuses); nothing is visited.
    fn for_each(&self, _f: &mut dyn FnMut(&[u8], u64) -> bool) -> u32 {
        0
    }

    fn btf_name(&self) -> &'static str {
        "bpf_queue_stack"
    }

    /// `queue_stack_map_mem_usage()`.
    fn mem_usage(&self) -> u64 {
        BPF_QUEUE_STACK_HDR + u64::from(self.size) * self.value_size as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::array::tests::{ENV, attr};
    use crate::map::create::create;

    fn qs(t: MapType, value_size: u32, max: u32) -> Map {
        let mut a = attr(t, value_size, max, 0);
        a.key_size = 0;
        create(&a, 1, &ENV, None).unwrap()
    }

    fn push(m: &Map, v: u32, flags: u64) -> Result<(), Errno> {
        m.ops.push(&v.to_ne_bytes(), flags)
    }

    fn take(m: &Map, pop: bool) -> Result<u32, Errno> {
        let mut out = [0xffu8; 4];
        let r = if pop { m.ops.pop(&mut out) } else { m.ops.peek(&mut out) };
        r.map(|()| u32::from_ne_bytes(out)).inspect_err(|_| assert_eq!(out, [0; 4], "zeroed on failure"))
    }

    #[test]
    fn create_checks() {
        let e = |f: &dyn Fn(&mut MapCreateAttr)| {
            let mut a = attr(MapType::Queue, 4, 2, 0);
            a.key_size = 0;
            f(&mut a);
            create(&a, 1, &ENV, None).map(|_| ()).unwrap_err()
        };
        assert_eq!(e(&|a| a.key_size = 4), Errno::EINVAL);
        assert_eq!(e(&|a| a.max_entries = 0), Errno::EINVAL);
        assert_eq!(e(&|a| a.value_size = 0), Errno::EINVAL);
        assert_eq!(e(&|a| a.map_flags = uapi::BPF_F_MMAPABLE), Errno::EINVAL);
        assert_eq!(e(&|a| a.map_flags = uapi::BPF_F_RDONLY_PROG | uapi::BPF_F_WRONLY_PROG), Errno::EINVAL);
        assert_eq!(e(&|a| a.value_size = KMALLOC_MAX_SIZE + 1), Errno::E2BIG);
        let mut a = attr(MapType::Stack, 4, 2, 0);
        a.key_size = 0;
        let unpriv = MapEnv { bpf_capable: false, ..ENV };
        assert_eq!(create(&a, 1, &unpriv, None).map(|_| ()).unwrap_err(), Errno::EPERM);
        let m = qs(MapType::Stack, 8, 3);
        assert_eq!(m.ops.btf_name(), "bpf_queue_stack");
        assert_eq!(m.ops.mem_usage(), BPF_QUEUE_STACK_HDR + 4 * 8);
    }

    #[test]
    fn a_queue_is_fifo_and_a_stack_lifo() {
        for (t, order) in [(MapType::Queue, [1, 2, 3]), (MapType::Stack, [3, 2, 1])] {
            let m = qs(t, 4, 3);
            assert_eq!(take(&m, false), Err(Errno::ENOENT));
            assert_eq!(take(&m, true), Err(Errno::ENOENT));
            for v in 1..=3 {
                push(&m, v, 0).unwrap();
            }
            assert_eq!(push(&m, 4, 0), Err(Errno::E2BIG), "{t:?} full");
            assert_eq!(take(&m, false), Ok(order[0]));
            for want in order {
                assert_eq!(take(&m, true), Ok(want), "{t:?}");
            }
            assert_eq!(take(&m, true), Err(Errno::ENOENT));
        }
    }

    #[test]
    fn bpf_exist_makes_room_by_dropping_the_oldest() {
        // Queue: 1 2 3, push 4 with BPF_EXIST drops 1.
        let q = qs(MapType::Queue, 4, 3);
        for v in 1..=3 {
            push(&q, v, 0).unwrap();
        }
        push(&q, 4, uapi::BPF_EXIST).unwrap();
        assert_eq!([take(&q, true), take(&q, true), take(&q, true)], [Ok(2), Ok(3), Ok(4)]);
        // Stack: the oldest (bottom) goes too; the order wraps around the ring.
        let s = qs(MapType::Stack, 4, 2);
        for v in 1..=2 {
            push(&s, v, 0).unwrap();
        }
        push(&s, 3, uapi::BPF_EXIST).unwrap();
        assert_eq!([take(&s, true), take(&s, true), take(&s, true)], [Ok(3), Ok(2), Err(Errno::ENOENT)]);
        assert_eq!(push(&s, 1, uapi::BPF_NOEXIST), Err(Errno::EINVAL));
        assert_eq!(push(&s, 1, 4), Err(Errno::EINVAL));
    }

    #[test]
    fn keyed_operations_are_refused() {
        let m = qs(MapType::Queue, 4, 1);
        let mut out = [0u8; 4];
        assert_eq!(m.ops.lookup(&[]), None);
        assert_eq!(m.ops.update(&[], &[0; 4], 0), Err(Errno::EINVAL));
        assert_eq!(m.ops.delete(&[]), Err(Errno::EINVAL));
        assert_eq!(m.ops.get_next_key(None, &mut out), Err(Errno::EINVAL));
        m.ops.sys_update(&[], &7u32.to_ne_bytes(), 0).unwrap();
        m.ops.sys_lookup(&[], &mut out, 0).unwrap();
        assert_eq!(u32::from_ne_bytes(out), 7);
        m.ops.lookup_and_delete(&[], &mut out, 0).unwrap();
        assert_eq!(m.ops.sys_lookup(&[], &mut out, 0), Err(Errno::ENOENT));
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;
        use std::collections::VecDeque;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            /// Random pushes (with and without `BPF_EXIST`), pops and peeks
            /// against a `VecDeque` of at most `max` values.
            #[test]
            fn queues_and_stacks_follow_a_deque(
                stack in any::<bool>(),
                max in 1u32..6,
                ops in proptest::collection::vec((0u8..4, any::<u32>()), 1..64),
            ) {
                let t = if stack { MapType::Stack } else { MapType::Queue };
                let m = qs(t, 4, max);
                let mut model: VecDeque<u32> = VecDeque::new();
                for (op, v) in ops {
                    match op {
                        0 | 1 => {
                            let replace = op == 1;
                            let want = if model.len() == max as usize {
                                if replace {
                                    model.pop_front();
                                    model.push_back(v);
                                    Ok(())
                                } else {
                                    Err(Errno::E2BIG)
                                }
                            } else {
                                model.push_back(v);
                                Ok(())
                            };
                            let flags = if replace { uapi::BPF_EXIST } else { 0 };
                            prop_assert_eq!(push(&m, v, flags), want);
                        }
                        _ => {
                            let pop = op == 2;
                            let want = if stack { model.back() } else { model.front() }.copied().ok_or(Errno::ENOENT);
                            if pop && want.is_ok() {
                                if stack { model.pop_back(); } else { model.pop_front(); }
                            }
                            prop_assert_eq!(take(&m, pop), want);
                        }
                    }
                }
            }
        }
    }
}
