//! Real map types through the `bpf()` seam, as user space sees them:
//! create, update, lookup, iterate, delete, freeze, pin, and the errno of
//! each failure.

use bpfemu_kernel::bpf::BpfAttr;
use bpfemu_kernel::bpf::attr::{MapCreateAttr, ObjInfo};
use bpfemu_kernel::uapi::{BPF_ANY, BPF_EXIST, BPF_NOEXIST, MapType};
use bpfemu_kernel::{Errno, Kernel, KernelConfig};

fn create(k: &mut Kernel, t: MapType, key: u32, value: u32, max: u32) -> Result<i32, Errno> {
    let attr = MapCreateAttr {
        map_type: t.raw(),
        key_size: key,
        value_size: value,
        max_entries: max,
        map_name: b"m".to_vec(),
        ..Default::default()
    };
    k.bpf(BpfAttr::MapCreate(attr)).map(|fd| fd as i32)
}

fn update(k: &mut Kernel, fd: i32, key: &[u8], value: &[u8], flags: u64) -> Result<i64, Errno> {
    k.bpf(BpfAttr::MapUpdateElem { map_fd: fd, key, value, flags })
}

fn lookup(k: &mut Kernel, fd: i32, key: &[u8], len: usize) -> Result<Vec<u8>, Errno> {
    let mut v = vec![0u8; len];
    k.bpf(BpfAttr::MapLookupElem { map_fd: fd, key, value: &mut v, flags: 0 })?;
    Ok(v)
}

fn keys(k: &mut Kernel, fd: i32, key_size: usize) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut next = vec![0u8; key_size];
        let prev = out.last().cloned();
        match k.bpf(BpfAttr::MapGetNextKey { map_fd: fd, key: prev.as_deref(), next_key: &mut next }) {
            Ok(_) => out.push(next),
            Err(Errno::ENOENT) => return out,
            Err(e) => panic!("get_next_key: {e}"),
        }
    }
}

#[test]
fn array_through_the_seam() {
    let mut k = Kernel::new(KernelConfig::default());
    let fd = create(&mut k, MapType::Array, 4, 8, 4).unwrap();
    assert_eq!(fd, 3, "first fd after stdio");
    assert_eq!(lookup(&mut k, fd, &1u32.to_le_bytes(), 8).unwrap(), vec![0; 8]);
    update(&mut k, fd, &1u32.to_le_bytes(), &7u64.to_le_bytes(), BPF_ANY).unwrap();
    assert_eq!(lookup(&mut k, fd, &1u32.to_le_bytes(), 8).unwrap(), 7u64.to_le_bytes());
    assert_eq!(update(&mut k, fd, &1u32.to_le_bytes(), &[0; 8], BPF_NOEXIST), Err(Errno::EEXIST));
    assert_eq!(update(&mut k, fd, &9u32.to_le_bytes(), &[0; 8], BPF_ANY), Err(Errno::E2BIG));
    assert_eq!(lookup(&mut k, fd, &9u32.to_le_bytes(), 8), Err(Errno::ENOENT));
    assert_eq!(
        k.bpf(BpfAttr::MapDeleteElem { map_fd: fd, key: &1u32.to_le_bytes(), flags: 0 }),
        Err(Errno::EINVAL)
    );
    assert_eq!(keys(&mut k, fd, 4).len(), 4);
    // Bad key size for an array: EINVAL at creation.
    assert_eq!(create(&mut k, MapType::Array, 8, 8, 4), Err(Errno::EINVAL));
    // Freeze: syscall writes are refused, reads still work.
    k.bpf(BpfAttr::MapFreeze { map_fd: fd }).unwrap();
    assert_eq!(k.bpf(BpfAttr::MapFreeze { map_fd: fd }), Err(Errno::EBUSY));
    assert_eq!(update(&mut k, fd, &1u32.to_le_bytes(), &[0; 8], BPF_ANY), Err(Errno::EPERM));
    assert_eq!(lookup(&mut k, fd, &1u32.to_le_bytes(), 8).unwrap(), 7u64.to_le_bytes());
}

#[test]
fn hash_through_the_seam() {
    let mut k = Kernel::new(KernelConfig::default());
    let fd = create(&mut k, MapType::Hash, 4, 4, 2).unwrap();
    assert_eq!(update(&mut k, fd, &1u32.to_le_bytes(), &10u32.to_le_bytes(), BPF_EXIST), Err(Errno::ENOENT));
    update(&mut k, fd, &1u32.to_le_bytes(), &10u32.to_le_bytes(), BPF_NOEXIST).unwrap();
    update(&mut k, fd, &2u32.to_le_bytes(), &20u32.to_le_bytes(), BPF_ANY).unwrap();
    assert_eq!(update(&mut k, fd, &3u32.to_le_bytes(), &30u32.to_le_bytes(), BPF_ANY), Err(Errno::E2BIG));
    let mut ks = keys(&mut k, fd, 4);
    ks.sort();
    assert_eq!(ks, vec![1u32.to_le_bytes().to_vec(), 2u32.to_le_bytes().to_vec()]);
    let mut v = [0u8; 4];
    k.bpf(BpfAttr::MapLookupAndDeleteElem { map_fd: fd, key: &1u32.to_le_bytes(), value: &mut v, flags: 0 })
        .unwrap();
    assert_eq!(v, 10u32.to_le_bytes());
    assert_eq!(lookup(&mut k, fd, &1u32.to_le_bytes(), 4), Err(Errno::ENOENT));
    assert_eq!(
        k.bpf(BpfAttr::MapDeleteElem { map_fd: fd, key: &1u32.to_le_bytes(), flags: 0 }),
        Err(Errno::ENOENT)
    );
}

#[test]
fn percpu_values_come_back_for_every_cpu() {
    let mut k = Kernel::new(KernelConfig::default());
    let cpus = k.sim.nr_cpus() as usize;
    let fd = create(&mut k, MapType::PercpuArray, 4, 4, 1).unwrap();
    // Each CPU's value is padded to 8 bytes on the syscall side.
    let mut all = vec![0u8; 8 * cpus];
    for c in 0..cpus {
        all[c * 8] = c as u8 + 1;
    }
    update(&mut k, fd, &0u32.to_le_bytes(), &all, BPF_ANY).unwrap();
    assert_eq!(lookup(&mut k, fd, &0u32.to_le_bytes(), 8 * cpus).unwrap(), all);
    // A buffer too short for every CPU's copy faults, as copy_to_user would.
    assert_eq!(lookup(&mut k, fd, &0u32.to_le_bytes(), 4), Err(Errno::EFAULT));
}

#[test]
fn ids_info_pin_and_lifetime() {
    let mut k = Kernel::new(KernelConfig::default());
    let fd = create(&mut k, MapType::Hash, 8, 16, 32).unwrap();
    let mut info = None;
    k.bpf(BpfAttr::ObjGetInfoByFd { bpf_fd: fd, info: &mut info }).unwrap();
    let Some(ObjInfo::Map(mi)) = info else { panic!("map info") };
    assert_eq!((mi.map_type, mi.key_size, mi.value_size, mi.max_entries), (1, 8, 16, 32));
    assert_eq!(mi.name, "m");
    let id = mi.id;
    k.bpf(BpfAttr::ObjPin { bpf_fd: fd, pathname: "/sys/fs/bpf/m", file_flags: 0 }).unwrap();
    assert_eq!(
        k.bpf(BpfAttr::ObjPin { bpf_fd: fd, pathname: "/sys/fs/bpf/m", file_flags: 0 }),
        Err(Errno::EEXIST)
    );
    k.close(fd).unwrap();
    // The pin keeps it: same id through a new fd.
    let fd2 = k.bpf(BpfAttr::ObjGet { pathname: "/sys/fs/bpf/m", file_flags: 0 }).unwrap() as i32;
    let mut info = None;
    k.bpf(BpfAttr::ObjGetInfoByFd { bpf_fd: fd2, info: &mut info }).unwrap();
    assert!(matches!(info, Some(ObjInfo::Map(ref m)) if m.id == id));
    k.close(fd2).unwrap();
    k.bpffs_unlink("/sys/fs/bpf/m").unwrap();
    // Last reference gone: the id is free.
    assert_eq!(k.bpf(BpfAttr::MapGetFdById { id, open_flags: 0 }), Err(Errno::ENOENT));
    let mut next = 0;
    assert_eq!(k.bpf(BpfAttr::MapGetNextId { start_id: 0, next_id: &mut next }), Err(Errno::ENOENT));
    assert_eq!(k.close(fd2), Err(Errno::EBADF));
}
