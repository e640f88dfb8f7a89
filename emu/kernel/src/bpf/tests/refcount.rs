//! refcnt vs usercnt: fds and pins hold user references; programs hold
//! only `refcnt` on the maps they use.

use super::*;

fn id_live(k: &mut Kernel, id: u32) -> bool {
    let listed = next_id(k, b'm', id - 1) == Ok(id);
    let opened = map_fd_by_id(k, id, 0);
    if let Ok(fd) = opened {
        k.close(fd).unwrap();
    }
    assert_eq!(listed, opened.is_ok());
    listed
}

#[test]
fn closing_the_last_fd_frees_the_map() {
    let mut k = kernel();
    let (fd, stats) = map_fd(&mut k, FakeOpts::default());
    let id = map_of(&k, fd).id;
    let dup = k.sim.procs.files_mut(k.user).unwrap().dup(fd).unwrap();
    k.close(fd).unwrap();
    assert!(id_live(&mut k, id));
    assert_eq!(stats.release_uref_calls(), 0);
    k.close(dup).unwrap();
    assert_eq!(stats.release_uref_calls(), 1);
    assert_eq!(next_id(&mut k, b'm', 0), Err(Errno::ENOENT));
    assert_eq!(map_fd_by_id(&mut k, id, 0), Err(Errno::ENOENT));
    assert_eq!(lookup(&mut k, fd, 1), Err(Errno::EBADF));
}

#[test]
fn a_pin_keeps_the_map_until_unlinked() {
    let mut k = kernel();
    let (fd, stats) = map_fd(&mut k, FakeOpts::default());
    let id = map_of(&k, fd).id;
    update(&mut k, fd, 1, 9, 0).unwrap();
    k.bpf(BpfAttr::ObjPin { bpf_fd: fd, pathname: "/sys/fs/bpf/m", file_flags: 0 }).unwrap();
    assert_eq!(map_of(&k, fd).usercnt(), 2);
    k.close(fd).unwrap();
    assert!(id_live(&mut k, id));
    assert_eq!(stats.release_uref_calls(), 0);
    let fd = k.bpf(BpfAttr::ObjGet { pathname: "/sys/fs/bpf/m", file_flags: 0 }).unwrap() as i32;
    assert_eq!(lookup(&mut k, fd, 1), Ok(9));
    k.close(fd).unwrap();
    k.bpffs_unlink("/sys/fs/bpf/m").unwrap();
    assert_eq!(stats.release_uref_calls(), 1);
    assert!(!id_live(&mut k, id));
}

#[test]
fn a_program_keeps_refcnt_but_not_usercnt() {
    let mut k = kernel();
    let (fd, stats) = map_fd(&mut k, FakeOpts::default());
    let map = map_of(&k, fd);
    let id = map.id;
    let (pfd, prog) = prog_fd(&mut k, vec![map.clone()]);
    drop(map);
    k.close(fd).unwrap();
    // The program's reference keeps the map (and its id) alive, but the
    // last user reference is gone: release_uref ran.
    assert_eq!(stats.release_uref_calls(), 1);
    assert_eq!(prog.used_maps[0].usercnt(), 0);
    assert_eq!(next_id(&mut k, b'm', 0), Ok(id));
    // GET_FD_BY_ID takes a new user reference (bpf_map_inc_not_zero).
    let fd = map_fd_by_id(&mut k, id, 0).unwrap();
    assert_eq!(prog.used_maps[0].usercnt(), 1);
    k.close(fd).unwrap();
    assert_eq!(stats.release_uref_calls(), 2);
    // Program gone: the map goes with it.
    drop(prog);
    k.close(pfd).unwrap();
    assert_eq!(next_id(&mut k, b'm', 0), Err(Errno::ENOENT));
    assert_eq!(map_fd_by_id(&mut k, id, 0), Err(Errno::ENOENT));
    assert_eq!(next_id(&mut k, b'p', 0), Err(Errno::ENOENT));
}

#[test]
fn a_pinned_program_outlives_its_fds() {
    let mut k = kernel();
    let (pfd, prog) = prog_fd(&mut k, vec![]);
    let id = prog.id;
    drop(prog);
    k.bpf(BpfAttr::ObjPin { bpf_fd: pfd, pathname: "/sys/fs/bpf/p", file_flags: 0 }).unwrap();
    k.close(pfd).unwrap();
    assert_eq!(next_id(&mut k, b'p', 0), Ok(id));
    k.bpffs_unlink("/sys/fs/bpf/p").unwrap();
    assert_eq!(next_id(&mut k, b'p', 0), Err(Errno::ENOENT));
    assert_eq!(k.bpf(BpfAttr::ProgGetFdById { id }), Err(Errno::ENOENT));
}
