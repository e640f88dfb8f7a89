//! Element, freeze and batch commands.

use super::*;
use crate::map::MapCreateAttr;
use crate::uapi::{BPF_ANY, BPF_EXIST, BPF_F_LOCK, BPF_F_RDONLY, BPF_F_WRONLY, BPF_NOEXIST, MapType};

#[test]
fn update_lookup_delete_roundtrip() {
    let mut k = kernel();
    let fd = hash(&mut k);
    assert_eq!(fd, 3);
    assert_eq!(lookup(&mut k, fd, 1), Err(Errno::ENOENT));
    assert_eq!(update(&mut k, fd, 1, 11, BPF_ANY), Ok(0));
    assert_eq!(lookup(&mut k, fd, 1), Ok(11));
    assert_eq!(update(&mut k, fd, 1, 12, BPF_NOEXIST), Err(Errno::EEXIST));
    assert_eq!(update(&mut k, fd, 2, 12, BPF_EXIST), Err(Errno::ENOENT));
    assert_eq!(update(&mut k, fd, 1, 12, BPF_EXIST), Ok(0));
    assert_eq!(lookup(&mut k, fd, 1), Ok(12));
    assert_eq!(delete(&mut k, fd, 1), Ok(0));
    assert_eq!(delete(&mut k, fd, 1), Err(Errno::ENOENT));
    assert_eq!(lookup(&mut k, fd, 1), Err(Errno::ENOENT));
}

#[test]
fn bad_fds() {
    let mut k = kernel();
    let (pfd, _) = prog_fd(&mut k, vec![]);
    for fd in [99, -1] {
        assert_eq!(lookup(&mut k, fd, 1), Err(Errno::EBADF));
        assert_eq!(update(&mut k, fd, 1, 1, 0), Err(Errno::EBADF));
        assert_eq!(delete(&mut k, fd, 1), Err(Errno::EBADF));
        assert_eq!(k.bpf(BpfAttr::MapFreeze { map_fd: fd }), Err(Errno::EBADF));
    }
    // Open, but not a map: stdin and a program fd.
    for fd in [0, pfd] {
        assert_eq!(lookup(&mut k, fd, 1), Err(Errno::EINVAL));
        assert_eq!(update(&mut k, fd, 1, 1, 0), Err(Errno::EINVAL));
        assert_eq!(delete(&mut k, fd, 1), Err(Errno::EINVAL));
        assert_eq!(k.bpf(BpfAttr::MapFreeze { map_fd: fd }), Err(Errno::EINVAL));
        let mut next = [0u8; 4];
        assert_eq!(
            k.bpf(BpfAttr::MapGetNextKey { map_fd: fd, key: None, next_key: &mut next }),
            Err(Errno::EINVAL)
        );
    }
}

#[test]
fn flags_checks() {
    let mut k = kernel();
    let fd = hash(&mut k);
    update(&mut k, fd, 1, 1, 0).unwrap();
    let key = 1u32.to_le_bytes();
    let mut v = [0u8; 8];
    // Unknown lookup flag, and BPF_F_LOCK without a spin lock.
    for flags in [8, BPF_F_LOCK] {
        assert_eq!(
            k.bpf(BpfAttr::MapLookupElem { map_fd: fd, key: &key, value: &mut v, flags }),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            k.bpf(BpfAttr::MapLookupAndDeleteElem { map_fd: fd, key: &key, value: &mut v, flags }),
            Err(Errno::EINVAL)
        );
    }
    assert_eq!(update(&mut k, fd, 1, 1, BPF_F_LOCK), Err(Errno::EINVAL));
    // The map type's own check of update flags.
    assert_eq!(update(&mut k, fd, 1, 1, 3), Err(Errno::EINVAL));
    assert_eq!(k.bpf(BpfAttr::MapDeleteElem { map_fd: fd, key: &key, flags: 1 }), Err(Errno::EINVAL));
    assert_eq!(lookup(&mut k, fd, 1), Ok(1));
}

#[test]
fn short_user_buffers_are_efault() {
    let mut k = kernel();
    let fd = hash(&mut k);
    let mut v8 = [0u8; 8];
    let mut v4 = [0u8; 4];
    // Key shorter than key_size.
    assert_eq!(
        k.bpf(BpfAttr::MapUpdateElem { map_fd: fd, key: &[1, 0], value: &v8, flags: 0 }),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        k.bpf(BpfAttr::MapLookupElem { map_fd: fd, key: &[1], value: &mut v8, flags: 0 }),
        Err(Errno::EFAULT)
    );
    assert_eq!(k.bpf(BpfAttr::MapDeleteElem { map_fd: fd, key: &[], flags: 0 }), Err(Errno::EFAULT));
    // Value shorter than value_size.
    let key = 1u32.to_le_bytes();
    assert_eq!(
        k.bpf(BpfAttr::MapUpdateElem { map_fd: fd, key: &key, value: &v4, flags: 0 }),
        Err(Errno::EFAULT)
    );
    // A short output buffer faults only when there is a value to copy.
    assert_eq!(
        k.bpf(BpfAttr::MapLookupElem { map_fd: fd, key: &key, value: &mut v4, flags: 0 }),
        Err(Errno::ENOENT)
    );
    update(&mut k, fd, 1, 7, 0).unwrap();
    assert_eq!(
        k.bpf(BpfAttr::MapLookupElem { map_fd: fd, key: &key, value: &mut v4, flags: 0 }),
        Err(Errno::EFAULT)
    );
    // Longer buffers are fine.
    let mut v16 = [0xffu8; 16];
    let long_key = [1u8, 0, 0, 0, 9, 9];
    k.bpf(BpfAttr::MapLookupElem { map_fd: fd, key: &long_key, value: &mut v16, flags: 0 }).unwrap();
    assert_eq!(v16[..8], 7u64.to_le_bytes());
    assert_eq!(v16[8..], [0xff; 8]);
    let mut next = [0u8; 2];
    assert_eq!(
        k.bpf(BpfAttr::MapGetNextKey { map_fd: fd, key: None, next_key: &mut next }),
        Err(Errno::EFAULT)
    );
}

#[test]
fn get_next_key_walks_in_order() {
    let mut k = kernel();
    let fd = hash(&mut k);
    let mut next = [0u8; 4];
    assert_eq!(
        k.bpf(BpfAttr::MapGetNextKey { map_fd: fd, key: None, next_key: &mut next }),
        Err(Errno::ENOENT)
    );
    for key in [5u32, 1, 3] {
        update(&mut k, fd, key, u64::from(key) * 10, 0).unwrap();
    }
    let mut seen = Vec::new();
    let mut cur: Option<[u8; 4]> = None;
    loop {
        let r = k.bpf(BpfAttr::MapGetNextKey {
            map_fd: fd,
            key: cur.as_ref().map(|c| &c[..]),
            next_key: &mut next,
        });
        if r == Err(Errno::ENOENT) {
            break;
        }
        r.unwrap();
        seen.push(u32::from_le_bytes(next));
        cur = Some(next);
    }
    assert_eq!(seen, [1, 3, 5]);
}

#[test]
fn lookup_and_delete() {
    let mut k = kernel();
    let fd = hash(&mut k);
    update(&mut k, fd, 4, 44, 0).unwrap();
    let key = 4u32.to_le_bytes();
    let mut v = [0u8; 8];
    assert_eq!(
        k.bpf(BpfAttr::MapLookupAndDeleteElem { map_fd: fd, key: &key, value: &mut v, flags: 0 }),
        Ok(0)
    );
    assert_eq!(u64::from_le_bytes(v), 44);
    assert_eq!(
        k.bpf(BpfAttr::MapLookupAndDeleteElem { map_fd: fd, key: &key, value: &mut v, flags: 0 }),
        Err(Errno::ENOENT)
    );
    // Queue/stack take no flags at all.
    let (qfd, _) = map_fd(&mut k, FakeOpts { map_type: MapType::Queue, key_size: 0, ..FakeOpts::default() });
    assert_eq!(
        k.bpf(BpfAttr::MapLookupAndDeleteElem { map_fd: qfd, key: &[], value: &mut v, flags: BPF_F_LOCK }),
        Err(Errno::EINVAL)
    );
}

#[test]
fn freeze() {
    let mut k = kernel();
    let fd = hash(&mut k);
    update(&mut k, fd, 1, 1, 0).unwrap();
    assert_eq!(k.bpf(BpfAttr::MapFreeze { map_fd: fd }), Ok(0));
    assert_eq!(k.bpf(BpfAttr::MapFreeze { map_fd: fd }), Err(Errno::EBUSY));
    assert_eq!(update(&mut k, fd, 1, 2, 0), Err(Errno::EPERM));
    assert_eq!(delete(&mut k, fd, 1), Err(Errno::EPERM));
    let mut v = [0u8; 8];
    let key = 1u32.to_le_bytes();
    assert_eq!(
        k.bpf(BpfAttr::MapLookupAndDeleteElem { map_fd: fd, key: &key, value: &mut v, flags: 0 }),
        Err(Errno::EPERM)
    );
    assert_eq!(lookup(&mut k, fd, 1), Ok(1));
    // Program-side writes are not affected.
    map_of(&k, fd).ops.update(&key, &5u64.to_le_bytes(), 0).unwrap();
    assert_eq!(lookup(&mut k, fd, 1), Ok(5));
    let (sfd, _) = map_fd(&mut k, FakeOpts { map_type: MapType::StructOps, ..FakeOpts::default() });
    assert_eq!(k.bpf(BpfAttr::MapFreeze { map_fd: sfd }), Err(Errno::ENOTSUPP));
}

#[test]
fn rdonly_and_wronly_fds() {
    let mut k = kernel();
    let (ro, _) = map_fd(&mut k, FakeOpts { map_flags: BPF_F_RDONLY, ..FakeOpts::default() });
    assert_eq!(update(&mut k, ro, 1, 1, 0), Err(Errno::EPERM));
    assert_eq!(delete(&mut k, ro, 1), Err(Errno::EPERM));
    assert_eq!(lookup(&mut k, ro, 1), Err(Errno::ENOENT));
    // Freezing needs no write access.
    assert_eq!(k.bpf(BpfAttr::MapFreeze { map_fd: ro }), Ok(0));

    let (wo, _) = map_fd(&mut k, FakeOpts { map_flags: BPF_F_WRONLY, ..FakeOpts::default() });
    assert_eq!(update(&mut k, wo, 1, 1, 0), Ok(0));
    assert_eq!(lookup(&mut k, wo, 1), Err(Errno::EPERM));
    let mut next = [0u8; 4];
    assert_eq!(
        k.bpf(BpfAttr::MapGetNextKey { map_fd: wo, key: None, next_key: &mut next }),
        Err(Errno::EPERM)
    );
    let mut v = [0u8; 8];
    assert_eq!(
        k.bpf(BpfAttr::MapLookupAndDeleteElem {
            map_fd: wo,
            key: &1u32.to_le_bytes(),
            value: &mut v,
            flags: 0
        }),
        Err(Errno::EPERM)
    );
    assert_eq!(delete(&mut k, wo, 1), Ok(0));

    // The mode belongs to the fd: another fd by id may read and write.
    let id = map_of(&k, wo).id;
    let rw = map_fd_by_id(&mut k, id, 0).unwrap();
    assert_eq!(lookup(&mut k, rw, 1), Err(Errno::ENOENT));
    let ro2 = map_fd_by_id(&mut k, id, BPF_F_RDONLY).unwrap();
    assert_eq!(update(&mut k, ro2, 1, 1, 0), Err(Errno::EPERM));
    assert_eq!(update(&mut k, rw, 1, 1, 0), Ok(0));
}

#[test]
fn map_create_checks() {
    let mut k = kernel();
    let attr = |map_type: MapType, map_flags: u32, inner_map_fd: i32| MapCreateAttr {
        map_type: map_type.raw(),
        key_size: 4,
        value_size: 4,
        max_entries: 4,
        map_flags,
        inner_map_fd,
        ..MapCreateAttr::default()
    };
    assert_eq!(
        k.bpf(BpfAttr::MapCreate(attr(MapType::Hash, BPF_F_RDONLY | BPF_F_WRONLY, 0))),
        Err(Errno::EINVAL)
    );
    let unknown = MapCreateAttr { map_type: 999, ..attr(MapType::Hash, 0, 0) };
    assert_eq!(k.bpf(BpfAttr::MapCreate(unknown)), Err(Errno::EINVAL));
    // Map-in-map: the inner map fd must be a map.
    assert_eq!(k.bpf(BpfAttr::MapCreate(attr(MapType::ArrayOfMaps, 0, 77))), Err(Errno::EBADF));
    assert_eq!(k.bpf(BpfAttr::MapCreate(attr(MapType::HashOfMaps, 0, 1))), Err(Errno::EINVAL));
    // Failed creations consume no id and no fd.
    let fd = hash(&mut k);
    assert_eq!((fd, map_of(&k, fd).id), (3, 1));
}

#[test]
fn fd_map_update_resolves_fds() {
    let mut k = kernel();
    let (outer, _) = map_fd(&mut k, FakeOpts { value_size: 4, fd_map: true, ..FakeOpts::default() });
    let inner = hash(&mut k);
    let inner_id = map_of(&k, inner).id;
    let key = 0u32.to_le_bytes();
    let upd = |k: &mut Kernel, value: &[u8]| {
        k.bpf(BpfAttr::MapUpdateElem { map_fd: outer, key: &key, value, flags: 0 })
    };
    assert_eq!(upd(&mut k, &inner.to_le_bytes()), Ok(0));
    let mut v = [0u8; 4];
    k.bpf(BpfAttr::MapLookupElem { map_fd: outer, key: &key, value: &mut v, flags: 0 }).unwrap();
    assert_eq!(u32::from_le_bytes(v), inner_id);
    assert_eq!(upd(&mut k, &42i32.to_le_bytes()), Err(Errno::EBADF));
    assert_eq!(upd(&mut k, &(-1i32).to_le_bytes()), Err(Errno::EBADF));
    assert_eq!(upd(&mut k, &[3, 0]), Err(Errno::EFAULT));
    // The map type rejects objects of the wrong kind.
    let (pfd, _) = prog_fd(&mut k, vec![]);
    assert_eq!(upd(&mut k, &pfd.to_le_bytes()), Err(Errno::EINVAL));
}

#[test]
fn percpu_values_are_sized_for_all_cpus() {
    let mut k = kernel();
    let (fd, _) = map_fd(&mut k, FakeOpts { value_size: 4, percpu: true, ..FakeOpts::default() });
    assert_eq!(map_of(&k, fd).sys_value_size(NR_CPUS), 8 * NR_CPUS as usize);
    let key = 1u32.to_le_bytes();
    let value: Vec<u8> = (0..8 * NR_CPUS as u8).collect();
    assert_eq!(
        k.bpf(BpfAttr::MapUpdateElem { map_fd: fd, key: &key, value: &value[..4], flags: 0 }),
        Err(Errno::EFAULT)
    );
    assert_eq!(k.bpf(BpfAttr::MapUpdateElem { map_fd: fd, key: &key, value: &value, flags: 0 }), Ok(0));
    let mut out = vec![0u8; 8];
    assert_eq!(
        k.bpf(BpfAttr::MapLookupElem { map_fd: fd, key: &key, value: &mut out, flags: 0 }),
        Err(Errno::EFAULT)
    );
    let mut out = vec![0u8; value.len()];
    assert_eq!(k.bpf(BpfAttr::MapLookupElem { map_fd: fd, key: &key, value: &mut out, flags: 0 }), Ok(0));
    assert_eq!(out, value);
}

fn filled(k: &mut Kernel, n: u32) -> i32 {
    let fd = hash(k);
    for key in 1..=n {
        update(k, fd, key, u64::from(key) * 100, 0).unwrap();
    }
    fd
}

#[test]
fn lookup_batch_resumes_and_ends_with_enoent() {
    let mut k = kernel();
    let fd = filled(&mut k, 5);
    let mut b = Batch::new(2);
    assert_eq!(k.bpf(BpfAttr::MapLookupBatch(b.attr(fd))), Ok(0));
    assert_eq!((b.count, b.keys_u32(), b.values_u64()), (2, vec![1, 2], vec![100, 200]));
    assert_eq!(b.out_batch, 2u32.to_le_bytes());
    b.in_batch = Some(b.out_batch.clone());
    assert_eq!(k.bpf(BpfAttr::MapLookupBatch(b.attr(fd))), Ok(0));
    assert_eq!(b.keys_u32(), [3, 4]);
    b.in_batch = Some(b.out_batch.clone());
    assert_eq!(k.bpf(BpfAttr::MapLookupBatch(b.attr(fd))), Err(Errno::ENOENT));
    assert_eq!((b.count, b.keys_u32(), b.values_u64()), (1, vec![5], vec![500]));
    assert_eq!(b.out_batch, 5u32.to_le_bytes());
    b.in_batch = Some(b.out_batch.clone());
    b.count = 2;
    assert_eq!(k.bpf(BpfAttr::MapLookupBatch(b.attr(fd))), Err(Errno::ENOENT));
    assert_eq!(b.count, 0);
    // count 0: nothing happens.
    let mut z = Batch::new(0);
    assert_eq!(k.bpf(BpfAttr::MapLookupBatch(z.attr(fd))), Ok(0));
    assert_eq!(z.count, 0);
    // Nothing was deleted by lookups.
    assert_eq!(lookup(&mut k, fd, 1), Ok(100));
}

#[test]
fn lookup_and_delete_batch() {
    let mut k = kernel();
    let fd = filled(&mut k, 3);
    let mut b = Batch::new(2);
    b.in_batch = Some(1u32.to_le_bytes().to_vec());
    assert_eq!(k.bpf(BpfAttr::MapLookupAndDeleteBatch(b.attr(fd))), Ok(0));
    assert_eq!((b.keys_u32(), b.values_u64()), (vec![2, 3], vec![200, 300]));
    assert_eq!(lookup(&mut k, fd, 2), Err(Errno::ENOENT));
    assert_eq!(lookup(&mut k, fd, 1), Ok(100));
    let mut all = Batch::new(8);
    assert_eq!(k.bpf(BpfAttr::MapLookupAndDeleteBatch(all.attr(fd))), Err(Errno::ENOENT));
    assert_eq!(all.keys_u32(), [1]);
    assert_eq!(lookup(&mut k, fd, 1), Err(Errno::ENOENT));
}

#[test]
fn batch_checks() {
    let mut k = kernel();
    let fd = filled(&mut k, 3);
    let mut b = Batch::new(2);
    b.flags = 1;
    assert_eq!(k.bpf(BpfAttr::MapLookupBatch(b.attr(fd))), Err(Errno::EINVAL));
    assert_eq!(k.bpf(BpfAttr::MapUpdateBatch(b.attr(fd))), Err(Errno::EINVAL));
    assert_eq!(k.bpf(BpfAttr::MapDeleteBatch(b.attr(fd))), Err(Errno::EINVAL));
    // The fd is checked first.
    assert_eq!(k.bpf(BpfAttr::MapLookupBatch(b.attr(99))), Err(Errno::EBADF));
    b.flags = 0;
    for elem_flags in [2, BPF_F_LOCK] {
        b.elem_flags = elem_flags;
        assert_eq!(k.bpf(BpfAttr::MapLookupBatch(b.attr(fd))), Err(Errno::EINVAL));
        assert_eq!(k.bpf(BpfAttr::MapDeleteBatch(b.attr(fd))), Err(Errno::EINVAL));
    }
    b.elem_flags = 0;
    assert_eq!(k.bpf(BpfAttr::MapLookupBatch(b.attr(99))), Err(Errno::EBADF));
    assert_eq!(k.bpf(BpfAttr::MapLookupBatch(b.attr(1))), Err(Errno::EINVAL));
    // Short keys buffer for the elements found.
    b.keys.truncate(6);
    assert_eq!(k.bpf(BpfAttr::MapLookupBatch(b.attr(fd))), Err(Errno::EFAULT));
    // Short in_batch.
    let mut s = Batch::new(1);
    s.in_batch = Some(vec![1]);
    assert_eq!(k.bpf(BpfAttr::MapLookupBatch(s.attr(fd))), Err(Errno::EFAULT));
    // Map types without batch operations.
    let (q, _) = map_fd(&mut k, FakeOpts { map_type: MapType::LpmTrie, ..FakeOpts::default() });
    let mut b = Batch::new(2);
    assert_eq!(k.bpf(BpfAttr::MapLookupBatch(b.attr(q))), Err(Errno::ENOTSUPP));
    let (a, _) = map_fd(&mut k, FakeOpts { map_type: MapType::Array, ..FakeOpts::default() });
    assert_eq!(k.bpf(BpfAttr::MapDeleteBatch(b.attr(a))), Err(Errno::ENOTSUPP));
    assert_eq!(k.bpf(BpfAttr::MapLookupAndDeleteBatch(b.attr(a))), Err(Errno::ENOTSUPP));
    // Access: frozen maps take no batch writes; write-only fds no reads.
    k.bpf(BpfAttr::MapFreeze { map_fd: fd }).unwrap();
    assert_eq!(k.bpf(BpfAttr::MapUpdateBatch(b.attr(fd))), Err(Errno::EPERM));
    assert_eq!(k.bpf(BpfAttr::MapDeleteBatch(b.attr(fd))), Err(Errno::EPERM));
    assert_eq!(k.bpf(BpfAttr::MapLookupAndDeleteBatch(b.attr(fd))), Err(Errno::EPERM));
    let (wo, _) = map_fd(&mut k, FakeOpts { map_flags: BPF_F_WRONLY, ..FakeOpts::default() });
    assert_eq!(k.bpf(BpfAttr::MapLookupBatch(b.attr(wo))), Err(Errno::EPERM));
}

#[test]
fn update_and_delete_batch_stop_at_first_error() {
    let mut k = kernel();
    let (fd, _) = map_fd(&mut k, FakeOpts { max_entries: 3, ..FakeOpts::default() });
    let mut b = Batch::new(3);
    for (i, key) in [1u32, 2, 3].iter().enumerate() {
        b.keys[i * 4..i * 4 + 4].copy_from_slice(&key.to_le_bytes());
        b.values[i * 8..i * 8 + 8].copy_from_slice(&(u64::from(*key) + 1000).to_le_bytes());
    }
    assert_eq!(k.bpf(BpfAttr::MapUpdateBatch(b.attr(fd))), Ok(0));
    assert_eq!(b.count, 3);
    assert_eq!(lookup(&mut k, fd, 3), Ok(1003));
    // elem_flags take only BPF_F_LOCK: not even BPF_NOEXIST.
    b.elem_flags = BPF_NOEXIST;
    assert_eq!(k.bpf(BpfAttr::MapUpdateBatch(b.attr(fd))), Err(Errno::EINVAL));
    b.elem_flags = 0;
    // The map is full (max_entries 3): a new key fails after one update.
    b.keys[4..8].copy_from_slice(&9u32.to_le_bytes());
    b.values[0..8].copy_from_slice(&1001u64.to_le_bytes());
    assert_eq!(k.bpf(BpfAttr::MapUpdateBatch(b.attr(fd))), Err(Errno::E2BIG));
    assert_eq!(b.count, 1);
    assert_eq!(lookup(&mut k, fd, 9), Err(Errno::ENOENT));
    delete(&mut k, fd, 1).unwrap();
    b.count = 3;
    b.keys[0..4].copy_from_slice(&9u32.to_le_bytes());
    b.keys[4..8].copy_from_slice(&2u32.to_le_bytes());
    assert_eq!(k.bpf(BpfAttr::MapUpdateBatch(b.attr(fd))), Ok(0));
    assert_eq!(lookup(&mut k, fd, 9), Ok(1001));
    // Values shorter than count * value_size.
    b.elem_flags = 0;
    b.count = 3;
    b.values.truncate(12);
    assert_eq!(k.bpf(BpfAttr::MapUpdateBatch(b.attr(fd))), Err(Errno::EFAULT));
    assert_eq!(b.count, 1);
    // Delete 9, 2, 3, then 3 again is ENOENT after three.
    let mut d = Batch::new(4);
    for (i, key) in [9u32, 2, 3, 3].iter().enumerate() {
        d.keys[i * 4..i * 4 + 4].copy_from_slice(&key.to_le_bytes());
    }
    assert_eq!(k.bpf(BpfAttr::MapDeleteBatch(d.attr(fd))), Err(Errno::ENOENT));
    assert_eq!(d.count, 3);
    assert_eq!(lookup(&mut k, fd, 9), Err(Errno::ENOENT));
    assert_eq!(lookup(&mut k, fd, 2), Err(Errno::ENOENT));
}
