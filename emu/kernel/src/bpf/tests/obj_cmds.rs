//! Ids, fds by id, info by fd and fdinfo.

use super::*;
use crate::bpf::attr::{BtfInfo, LinkInfo, MapInfo, ObjInfo};
use crate::bpf::link::LinkInfoExtra;
use crate::uapi::{BPF_F_RDONLY, BPF_F_WRONLY};

fn info(k: &mut Kernel, fd: i32) -> Result<ObjInfo, Errno> {
    let mut info = None;
    k.bpf(BpfAttr::ObjGetInfoByFd { bpf_fd: fd, info: &mut info })?;
    Ok(info.unwrap())
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn next_id_semantics() {
    let mut k = kernel();
    assert_eq!(next_id(&mut k, b'm', 0), Err(Errno::ENOENT));
    hash(&mut k);
    let b = hash(&mut k);
    hash(&mut k);
    assert_eq!(next_id(&mut k, b'm', 0), Ok(1));
    assert_eq!(next_id(&mut k, b'm', 1), Ok(2));
    k.close(b).unwrap();
    assert_eq!(next_id(&mut k, b'm', 1), Ok(3));
    assert_eq!(next_id(&mut k, b'm', 3), Err(Errno::ENOENT));
    assert_eq!(next_id(&mut k, b'm', i32::MAX as u32), Err(Errno::EINVAL));
    assert_eq!(next_id(&mut k, b'm', u32::MAX), Err(Errno::EINVAL));
    assert_eq!(next_id(&mut k, b'p', 0), Err(Errno::ENOENT));
    assert_eq!(next_id(&mut k, b'l', 0), Err(Errno::ENOENT));
    // vmlinux BTF is id 1, loaded at boot.
    assert_eq!(next_id(&mut k, b'b', 0), Ok(1));
    assert_eq!(next_id(&mut k, b'b', 1), Err(Errno::ENOENT));
    let (_, prog) = prog_fd(&mut k, vec![]);
    let (_, link) = link_fd(&mut k, prog.clone());
    let (_, btf) = btf_fd(&mut k);
    assert_eq!(next_id(&mut k, b'p', 0), Ok(prog.id));
    assert_eq!(next_id(&mut k, b'l', 0), Ok(link.id));
    assert_eq!(next_id(&mut k, b'b', 1), Ok(btf.id));
}

#[test]
fn fd_by_id() {
    let mut k = kernel();
    let fd = hash(&mut k);
    let id = map_of(&k, fd).id;
    assert_eq!(map_fd_by_id(&mut k, 0, 0), Err(Errno::ENOENT));
    assert_eq!(map_fd_by_id(&mut k, 42, 0), Err(Errno::ENOENT));
    assert_eq!(map_fd_by_id(&mut k, id, BPF_F_RDONLY | BPF_F_WRONLY), Err(Errno::EINVAL));
    assert_eq!(map_fd_by_id(&mut k, id, 1), Err(Errno::EINVAL));
    let fd2 = map_fd_by_id(&mut k, id, 0).unwrap();
    assert!(Arc::ptr_eq(&map_of(&k, fd2), &map_of(&k, fd)));
    let (_, prog) = prog_fd(&mut k, vec![]);
    let (_, link) = link_fd(&mut k, prog.clone());
    let (_, btf) = btf_fd(&mut k);
    let p = k.bpf(BpfAttr::ProgGetFdById { id: prog.id }).unwrap() as i32;
    assert!(Arc::ptr_eq(k.fd_obj(p).unwrap().prog().unwrap(), &prog));
    let l = k.bpf(BpfAttr::LinkGetFdById { id: link.id }).unwrap() as i32;
    assert!(Arc::ptr_eq(k.fd_obj(l).unwrap().link().unwrap(), &link));
    let b = k.bpf(BpfAttr::BtfGetFdById { id: btf.id }).unwrap() as i32;
    assert!(Arc::ptr_eq(k.fd_obj(b).unwrap().btf().unwrap(), &btf));
    assert_eq!(k.bpf(BpfAttr::ProgGetFdById { id: 99 }), Err(Errno::ENOENT));
    assert_eq!(k.bpf(BpfAttr::LinkGetFdById { id: 99 }), Err(Errno::ENOENT));
    assert_eq!(k.bpf(BpfAttr::BtfGetFdById { id: 99 }), Err(Errno::ENOENT));
}

#[test]
fn info_by_fd() {
    let mut k = kernel();
    let fd = hash(&mut k);
    let map = map_of(&k, fd);
    let expect = MapInfo {
        map_type: 1,
        id: map.id,
        key_size: 4,
        value_size: 8,
        max_entries: 16,
        map_flags: 0,
        name: "fake".into(),
        ..MapInfo::default()
    };
    assert_eq!(info(&mut k, fd), Ok(ObjInfo::Map(expect.clone())));
    k.bpf(BpfAttr::MapFreeze { map_fd: fd }).unwrap();
    assert_eq!(info(&mut k, fd), Ok(ObjInfo::Map(MapInfo { frozen: true, ..expect })));

    let (pfd, prog) = prog_fd(&mut k, vec![map.clone()]);
    prog.account_run(100);
    prog.account_run(50);
    let ObjInfo::Prog(pi) = info(&mut k, pfd).unwrap() else { panic!("not prog info") };
    assert_eq!((pi.id, pi.prog_type, pi.name.as_str()), (prog.id, 1, "test_prog"));
    assert_eq!((pi.nr_map_ids, pi.map_ids.clone()), (1, vec![map.id]));
    assert_eq!((pi.xlated_prog_len, pi.jited_prog_len), (16, 0));
    assert_eq!((pi.run_cnt, pi.run_time_ns), (2, 150));
    assert_eq!((pi.tag, pi.gpl_compatible, pi.load_time), (prog.tag, true, 1234));

    let (lfd, link) = link_fd(&mut k, prog.clone());
    assert_eq!(
        info(&mut k, lfd),
        Ok(ObjInfo::Link(LinkInfo {
            link_type: 5,
            id: link.id,
            prog_id: prog.id,
            extra: LinkInfoExtra::None
        }))
    );
    let (bfd, btf) = btf_fd(&mut k);
    assert_eq!(
        info(&mut k, bfd),
        Ok(ObjInfo::Btf(BtfInfo {
            id: btf.id,
            btf_size: 4,
            name: String::new(),
            kernel_btf: false,
            data: btf.data.clone()
        }))
    );
    assert_eq!(info(&mut k, 2), Err(Errno::EINVAL));
    assert_eq!(info(&mut k, 77), Err(Errno::EBADF));
}

#[test]
fn fdinfo_keys() {
    let mut k = kernel();
    let (fd, _) = map_fd(&mut k, FakeOpts { map_flags: BPF_F_RDONLY, ..FakeOpts::default() });
    let map = map_of(&k, fd);
    update(&mut k, fd, 1, 1, 0).ok();
    assert_eq!(
        k.fdinfo(fd).unwrap(),
        pairs(&[
            ("map_type", "1"),
            ("key_size", "4"),
            ("value_size", "8"),
            ("max_entries", "16"),
            ("map_flags", "0x8"),
            ("map_extra", "0"),
            ("memlock", "4096"),
            ("map_id", "1"),
            ("frozen", "0"),
        ])
    );
    let (pfd, prog) = prog_fd(&mut k, vec![map]);
    prog.account_run(7);
    assert_eq!(
        k.fdinfo(pfd).unwrap(),
        pairs(&[
            ("prog_type", "1"),
            ("prog_jited", "0"),
            ("prog_tag", "deadbeef00010203"),
            ("memlock", "4096"),
            ("prog_id", "1"),
            ("run_time_ns", "7"),
            ("run_cnt", "1"),
            ("recursion_misses", "0"),
            ("verified_insns", "0"),
        ])
    );
    let (lfd, _) = link_fd(&mut k, prog);
    assert_eq!(
        k.fdinfo(lfd).unwrap(),
        pairs(&[
            ("link_type", "netns"),
            ("link_id", "1"),
            ("prog_tag", "deadbeef00010203"),
            ("prog_id", "1"),
            ("netns_ino", "4026531840"),
        ])
    );
    let (bfd, _) = btf_fd(&mut k);
    assert_eq!(k.fdinfo(bfd).unwrap(), pairs(&[("btf_id", "2")]));
    assert_eq!(k.fdinfo(0), Ok(vec![]));
    assert_eq!(k.fdinfo(99), Err(Errno::EBADF));
}
