//! BPF_OBJ_PIN / BPF_OBJ_GET and bpffs directories.

use super::*;
use crate::uapi::{BPF_F_PATH_FD, BPF_F_RDONLY, BPF_F_WRONLY};

fn pin(k: &mut Kernel, fd: i32, path: &str) -> Result<i64, Errno> {
    k.bpf(BpfAttr::ObjPin { bpf_fd: fd, pathname: path, file_flags: 0 })
}

fn get(k: &mut Kernel, path: &str, file_flags: u32) -> Result<i32, Errno> {
    k.bpf(BpfAttr::ObjGet { pathname: path, file_flags }).map(|fd| fd as i32)
}

#[test]
fn pin_and_get_a_map() {
    let mut k = kernel();
    let fd = hash(&mut k);
    update(&mut k, fd, 1, 5, 0).unwrap();
    assert_eq!(pin(&mut k, fd, "/sys/fs/bpf/m"), Ok(0));
    assert_eq!(pin(&mut k, fd, "/sys/fs/bpf/m"), Err(Errno::EEXIST));
    let fd2 = get(&mut k, "/sys/fs/bpf/m", 0).unwrap();
    assert_ne!(fd2, fd);
    assert_eq!(lookup(&mut k, fd2, 1), Ok(5));
    // Path normalization: the same file.
    let fd3 = get(&mut k, "//sys/fs/bpf/./x/../m", 0).unwrap();
    assert_eq!(map_of(&k, fd3).id, map_of(&k, fd).id);
    // Read-only and write-only opens.
    let ro = get(&mut k, "/sys/fs/bpf/m", BPF_F_RDONLY).unwrap();
    assert_eq!(update(&mut k, ro, 1, 6, 0), Err(Errno::EPERM));
    assert_eq!(lookup(&mut k, ro, 1), Ok(5));
    let wo = get(&mut k, "/sys/fs/bpf/m", BPF_F_WRONLY).unwrap();
    assert_eq!(lookup(&mut k, wo, 1), Err(Errno::EPERM));
    assert_eq!(get(&mut k, "/sys/fs/bpf/m", BPF_F_RDONLY | BPF_F_WRONLY), Err(Errno::EINVAL));
    assert_eq!(get(&mut k, "/sys/fs/bpf/m", 1), Err(Errno::EINVAL));
    assert_eq!(get(&mut k, "/sys/fs/bpf/m", BPF_F_PATH_FD), Err(Errno::EINVAL));
}

#[test]
fn pin_errors() {
    let mut k = kernel();
    let fd = hash(&mut k);
    let (bfd, _) = btf_fd(&mut k);
    // Not a map, prog or link: EINVAL (bpf_fd_probe_obj), even when closed.
    assert_eq!(pin(&mut k, 99, "/sys/fs/bpf/a"), Err(Errno::EINVAL));
    assert_eq!(pin(&mut k, 0, "/sys/fs/bpf/a"), Err(Errno::EINVAL));
    assert_eq!(pin(&mut k, bfd, "/sys/fs/bpf/a"), Err(Errno::EINVAL));
    assert_eq!(
        k.bpf(BpfAttr::ObjPin { bpf_fd: fd, pathname: "/sys/fs/bpf/a", file_flags: 1 }),
        Err(Errno::EINVAL)
    );
    // Paths.
    assert_eq!(pin(&mut k, fd, "/sys/fs/bpf/no/such"), Err(Errno::ENOENT));
    assert_eq!(pin(&mut k, fd, "/tmp/m"), Err(Errno::EPERM));
    assert_eq!(pin(&mut k, fd, "/sys/fs/bpf"), Err(Errno::EEXIST));
    assert_eq!(pin(&mut k, fd, ""), Err(Errno::ENOENT));
    assert_eq!(pin(&mut k, fd, &format!("/sys/fs/bpf/{}", "x".repeat(256))), Err(Errno::ENAMETOOLONG));
    pin(&mut k, fd, "/sys/fs/bpf/a").unwrap();
    assert_eq!(pin(&mut k, fd, "/sys/fs/bpf/a/b"), Err(Errno::ENOTDIR));
    assert!(k.bpffs.entries.contains_key("/sys/fs/bpf/a"));
}

#[test]
fn get_errors() {
    let mut k = kernel();
    assert_eq!(get(&mut k, "/sys/fs/bpf/none", 0), Err(Errno::ENOENT));
    assert_eq!(get(&mut k, "/tmp/none", 0), Err(Errno::ENOENT));
    k.bpffs_mkdir("/sys/fs/bpf/d").unwrap();
    assert_eq!(get(&mut k, "/sys/fs/bpf/d", 0), Err(Errno::EACCES));
    assert_eq!(get(&mut k, "/sys/fs/bpf", 0), Err(Errno::EACCES));
    assert_eq!(get(&mut k, "/sys/fs/bpf/d/none", 0), Err(Errno::ENOENT));
}

#[test]
fn pin_progs_and_links() {
    let mut k = kernel();
    let (pfd, prog) = prog_fd(&mut k, vec![]);
    let (lfd, link) = link_fd(&mut k, prog.clone());
    pin(&mut k, pfd, "/sys/fs/bpf/p").unwrap();
    pin(&mut k, lfd, "/sys/fs/bpf/l").unwrap();
    let p2 = get(&mut k, "/sys/fs/bpf/p", BPF_F_RDONLY).unwrap();
    assert!(Arc::ptr_eq(k.fd_obj(p2).unwrap().prog().unwrap(), &prog));
    // Links open read-write only.
    assert_eq!(get(&mut k, "/sys/fs/bpf/l", BPF_F_RDONLY), Err(Errno::EINVAL));
    let l2 = get(&mut k, "/sys/fs/bpf/l", 0).unwrap();
    assert!(Arc::ptr_eq(k.fd_obj(l2).unwrap().link().unwrap(), &link));
}

#[test]
fn directories() {
    let mut k = kernel();
    let fd = hash(&mut k);
    assert_eq!(k.bpffs_mkdir("/sys/fs/bpf/a"), Ok(()));
    assert_eq!(k.bpffs_mkdir("/sys/fs/bpf/a"), Err(Errno::EEXIST));
    assert_eq!(k.bpffs_mkdir("/sys/fs/bpf/x/y"), Err(Errno::ENOENT));
    assert_eq!(k.bpffs_mkdir("/sys/fs/bpf"), Err(Errno::EEXIST));
    assert_eq!(k.bpffs_mkdir("/tmp/d"), Err(Errno::EPERM));
    assert_eq!(k.bpffs_mkdir("/sys/fs/bpf/a/b"), Ok(()));
    assert_eq!(pin(&mut k, fd, "/sys/fs/bpf/a/b/m"), Ok(0));
    assert_eq!(pin(&mut k, fd, "/sys/fs/bpf/a/m"), Ok(0));
    assert_eq!(k.bpffs.list("/sys/fs/bpf/a"), Ok(vec!["b".to_string(), "m".to_string()]));
    assert_eq!(k.bpffs.list("/sys/fs/bpf"), Ok(vec!["a".to_string()]));
    assert_eq!(k.bpffs.list("/sys/fs/bpf/a/m"), Err(Errno::ENOTDIR));
    assert_eq!(k.bpffs_mkdir("/sys/fs/bpf/a/m/c"), Err(Errno::ENOTDIR));
    assert_eq!(k.bpffs_rmdir("/sys/fs/bpf/a/b"), Err(Errno::ENOTEMPTY));
    assert_eq!(k.bpffs_rmdir("/sys/fs/bpf/a/m"), Err(Errno::ENOTDIR));
    assert_eq!(k.bpffs_rmdir("/sys/fs/bpf"), Err(Errno::EBUSY));
    assert_eq!(k.bpffs_rmdir("/sys/fs/bpf/zz"), Err(Errno::ENOENT));
    assert_eq!(k.bpffs_unlink("/sys/fs/bpf/a/b"), Err(Errno::EISDIR));
    assert_eq!(k.bpffs_unlink("/sys/fs/bpf/a/b/m"), Ok(()));
    assert_eq!(k.bpffs_unlink("/sys/fs/bpf/a/b/m"), Err(Errno::ENOENT));
    assert_eq!(k.bpffs_rmdir("/sys/fs/bpf/a/b"), Ok(()));
    assert_eq!(k.bpffs_rmdir("/sys/fs/bpf/a"), Err(Errno::ENOTEMPTY));
    assert_eq!(k.bpffs_unlink("/sys/fs/bpf/a/m"), Ok(()));
    assert_eq!(k.bpffs_rmdir("/sys/fs/bpf/a"), Ok(()));
    assert_eq!(k.bpffs.list("/sys/fs/bpf"), Ok(vec![]));
    // A sibling whose name extends the directory's doesn't make it busy.
    k.bpffs_mkdir("/sys/fs/bpf/d").unwrap();
    pin(&mut k, fd, "/sys/fs/bpf/d2").unwrap();
    assert_eq!(k.bpffs_rmdir("/sys/fs/bpf/d"), Ok(()));
}
