//! The netns lifecycle and attachment rules through the `bpf()` seam
//! (the cases of tools/testing/selftests/bpf/prog_tests/
//! flow_dissector_reattach.c, in init_net and in a child namespace).

use crate::bpf::BpfAttr;
use crate::bpf::attr::{LinkCreateAttr, ObjInfo};
use crate::bpf::link::LinkInfoExtra;
use crate::errno::Errno;
use crate::kernel::{Kernel, KernelConfig};
use crate::testutil::{install_prog, prog_parts};
use crate::uapi::{AttachType, BPF_F_REPLACE, ProgType};

const FD: u32 = AttachType::FlowDissector as u32;

fn kernel() -> Kernel {
    Kernel::new(KernelConfig::default())
}

fn prog(k: &mut Kernel, t: ProgType) -> i32 {
    install_prog(k, prog_parts(t, "p", vec![])).0
}

fn attach(k: &mut Kernel, p: i32) -> Result<i64, Errno> {
    k.bpf(BpfAttr::ProgAttach {
        target_fd: 0,
        attach_bpf_fd: p,
        attach_type: FD,
        attach_flags: 0,
        replace_bpf_fd: 0,
    })
}

fn detach(k: &mut Kernel, p: i32) -> Result<i64, Errno> {
    k.bpf(BpfAttr::ProgDetach { target_fd: 0, attach_bpf_fd: p, attach_type: FD })
}

fn query(k: &mut Kernel, ns: i32) -> Vec<u32> {
    let mut flags = 0;
    let mut ids = Vec::new();
    k.bpf(BpfAttr::ProgQuery {
        target_fd: ns,
        attach_type: FD,
        query_flags: 0,
        attach_flags: &mut flags,
        prog_ids: &mut ids,
    })
    .unwrap();
    ids
}

fn link(k: &mut Kernel, p: i32, ns: i32) -> Result<i32, Errno> {
    k.bpf(BpfAttr::LinkCreate(LinkCreateAttr {
        prog_fd: p,
        target_fd: ns,
        attach_type: FD,
        flags: 0,
        target_btf_id: 0,
        iter_info: None,
        iter_info_len: 0,
    }))
    .map(|fd| fd as i32)
}

fn update(k: &mut Kernel, l: i32, p: i32, flags: u32, old: i32) -> Result<i64, Errno> {
    k.bpf(BpfAttr::LinkUpdate { link_fd: l, new_prog_fd: p, flags, old_prog_fd: old })
}

fn id_of(k: &mut Kernel, fd: i32) -> u32 {
    let mut info = None;
    k.bpf(BpfAttr::ObjGetInfoByFd { bpf_fd: fd, info: &mut info }).unwrap();
    match info {
        Some(ObjInfo::Prog(p)) => p.id,
        Some(ObjInfo::Link(l)) => l.id,
        _ => 0,
    }
}

fn link_info(k: &mut Kernel, fd: i32) -> (u32, u32, LinkInfoExtra) {
    let mut info = None;
    k.bpf(BpfAttr::ObjGetInfoByFd { bpf_fd: fd, info: &mut info }).unwrap();
    match info {
        Some(ObjInfo::Link(l)) => (l.id, l.prog_id, l.extra),
        other => panic!("{other:?}"),
    }
}

/// Runs `case` in init_net and in a fresh child namespace.
fn both(case: impl Fn(&mut Kernel, i32, i32, i32)) {
    for child in [false, true] {
        let mut k = kernel();
        if child {
            k.net_unshare(k.user).unwrap();
        }
        let ns = k.net_open_fd(k.user).unwrap();
        let p1 = prog(&mut k, ProgType::FlowDissector);
        let p2 = prog(&mut k, ProgType::FlowDissector);
        case(&mut k, ns, p1, p2);
        assert!(query(&mut k, ns).is_empty(), "child={child}");
    }
}

#[test]
fn prog_attach_prog_attach() {
    both(|k, ns, p1, p2| {
        attach(k, p1).unwrap();
        assert_eq!(query(k, ns), [id_of(k, p1)]);
        attach(k, p2).unwrap();
        assert_eq!(query(k, ns), [id_of(k, p2)]);
        assert_eq!(attach(k, p2), Err(Errno::EINVAL));
        assert_eq!(detach(k, p1), Err(Errno::ENOENT));
        detach(k, p2).unwrap();
    });
}

#[test]
fn link_create_link_create_and_mixing() {
    both(|k, ns, p1, p2| {
        let l = link(k, p1, ns).unwrap();
        assert_eq!(query(k, ns), [id_of(k, p1)]);
        assert_eq!(link(k, p2, ns), Err(Errno::E2BIG));
        assert_eq!(attach(k, p2), Err(Errno::EEXIST));
        assert_eq!(detach(k, p1), Err(Errno::EINVAL));
        k.close(l).unwrap();
        attach(k, p1).unwrap();
        assert_eq!(link(k, p2, ns), Err(Errno::EEXIST));
        detach(k, p1).unwrap();
    });
}

#[test]
fn link_update_rules() {
    both(|k, ns, p1, p2| {
        let l = link(k, p1, ns).unwrap();
        update(k, l, p2, 0, 0).unwrap();
        assert_eq!(query(k, ns), [id_of(k, p2)]);
        update(k, l, p2, 0, 0).unwrap();
        update(k, l, p1, BPF_F_REPLACE, p2).unwrap();
        assert_eq!(update(k, l, p2, 0, p1), Err(Errno::EINVAL));
        assert_eq!(update(k, l, p2, BPF_F_REPLACE, p2), Err(Errno::EPERM));
        assert_eq!(update(k, l, p2, BPF_F_REPLACE, -1), Err(Errno::EBADF));
        assert_eq!(update(k, l, p2, crate::uapi::BPF_F_ALLOW_MULTI, 0), Err(Errno::EINVAL));
        assert_eq!(update(k, l, -1, 0, 0), Err(Errno::EBADF));
        let sf = prog(k, ProgType::SocketFilter);
        assert_eq!(update(k, l, sf, 0, 0), Err(Errno::EINVAL));
        assert_eq!(query(k, ns), [id_of(k, p1)]);
        k.close(l).unwrap();
    });
}

#[test]
fn init_net_and_child_flow_dissectors_exclude_each_other() {
    let mut k = kernel();
    let init = k.net_open_fd(k.user).unwrap();
    let p1 = prog(&mut k, ProgType::FlowDissector);
    k.net_unshare(k.user).unwrap();
    let child = k.net_open_fd(k.user).unwrap();
    let l = link(&mut k, p1, child).unwrap();
    assert_eq!(link(&mut k, p1, init), Err(Errno::EEXIST));
    k.net_setns(k.user, init, 0).unwrap();
    assert_eq!(attach(&mut k, p1), Err(Errno::EEXIST));
    k.close(l).unwrap();
    attach(&mut k, p1).unwrap();
    assert_eq!(link(&mut k, p1, child), Err(Errno::EEXIST));
}

#[test]
fn netns_gone_auto_detaches_and_leaves_the_link_defunct() {
    let mut k = kernel();
    let init = k.net_open_fd(k.user).unwrap();
    let p1 = prog(&mut k, ProgType::FlowDissector);
    let p2 = prog(&mut k, ProgType::FlowDissector);
    let id = k.net_unshare(k.user).unwrap();
    let ns = k.net_open_fd(k.user).unwrap();
    let inum = k.net.get(id).unwrap().inum;
    assert_eq!(inum, 4026531841);
    let l = link(&mut k, p1, ns).unwrap();
    let (lid, pid, extra) = link_info(&mut k, l);
    assert_eq!(extra, LinkInfoExtra::Netns { netns_ino: inum, attach_type: AttachType::FlowDissector });
    attach(&mut k, p2).unwrap_err();
    // Leave and close the last reference: dying, not yet cleaned up.
    k.net_setns(k.user, init, crate::net::CLONE_NEWNET).unwrap();
    k.close(ns).unwrap();
    assert!(k.net.cleanup_pending());
    assert_eq!(
        link_info(&mut k, l).2,
        LinkInfoExtra::Netns { netns_ino: 0, attach_type: AttachType::FlowDissector }
    );
    assert_eq!(update(&mut k, l, p2, 0, 0), Err(Errno::ENOLINK));
    assert_eq!(k.net_cleanup(), [id]);
    assert_eq!(k.net.teardown_log, ["pre_exit netns_bpf netns 1", "exit net_ns netns 1"]);
    assert_eq!(k.net.bpf.attached_links(), 0);
    assert_eq!(
        link_info(&mut k, l),
        (lid, pid, LinkInfoExtra::Netns { netns_ino: 0, attach_type: AttachType::FlowDissector })
    );
    assert_eq!(update(&mut k, l, p2, 0, 0), Err(Errno::ENOLINK));
    assert_eq!(
        k.fdinfo(l).unwrap()[4..],
        [("netns_ino".to_string(), "0".to_string()), ("attach_type".to_string(), "17".to_string())]
    );
    // The freed inode number is reused.
    k.net_unshare(k.user).unwrap();
    assert_eq!(k.net.task_net(k.user).net().inum, 4026531841);
    k.close(l).unwrap();
}

#[test]
fn link_detach_forces_defunct_and_netns_fd_errors() {
    let mut k = kernel();
    let ns = k.net_open_fd(k.user).unwrap();
    let p1 = prog(&mut k, ProgType::FlowDissector);
    let l = link(&mut k, p1, ns).unwrap();
    k.bpf(BpfAttr::LinkDetach { link_fd: l }).unwrap();
    assert!(query(&mut k, ns).is_empty());
    assert_eq!(
        link_info(&mut k, l).2,
        LinkInfoExtra::Netns { netns_ino: 0, attach_type: AttachType::FlowDissector }
    );
    assert_eq!(update(&mut k, l, p1, 0, 0), Err(Errno::ENOLINK));
    // target_fd: closed → EBADF, a program → EINVAL, stdin → EINVAL.
    assert_eq!(link(&mut k, p1, 99), Err(Errno::EBADF));
    assert_eq!(link(&mut k, p1, p1), Err(Errno::EINVAL));
    assert_eq!(link(&mut k, p1, 0), Err(Errno::EINVAL));
    let mut info = None;
    assert_eq!(k.bpf(BpfAttr::ObjGetInfoByFd { bpf_fd: ns, info: &mut info }), Err(Errno::EINVAL));
    // sk_lookup is link-only.
    let sl = install_prog(
        &mut k,
        crate::bpf::prog::ProgParts {
            expected_attach_type: Some(AttachType::SkLookup),
            ..prog_parts(ProgType::SkLookup, "sl", vec![])
        },
    )
    .0;
    let a = AttachType::SkLookup as u32;
    assert_eq!(
        k.bpf(BpfAttr::ProgAttach {
            target_fd: 0,
            attach_bpf_fd: sl,
            attach_type: a,
            attach_flags: 0,
            replace_bpf_fd: 0
        }),
        Err(Errno::EINVAL)
    );
    let mut links = Vec::new();
    for _ in 0..64 {
        links.push(
            k.bpf(BpfAttr::LinkCreate(LinkCreateAttr {
                prog_fd: sl,
                target_fd: ns,
                attach_type: a,
                flags: 0,
                target_btf_id: 0,
                iter_info: None,
                iter_info_len: 0,
            }))
            .unwrap(),
        );
    }
    assert_eq!(
        k.bpf(BpfAttr::LinkCreate(LinkCreateAttr {
            prog_fd: sl,
            target_fd: ns,
            attach_type: a,
            flags: 0,
            target_btf_id: 0,
            iter_info: None,
            iter_info_len: 0
        })),
        Err(Errno::E2BIG)
    );
}

/// Real threads: the last reference to a namespace goes and the cleanup
/// work runs on one thread while others update, query and detach its link.
/// Every update is `Ok` or `ENOLINK`, the inode number a reader sees goes
/// from the namespace's to 0 and never back, and nothing stays attached.
#[test]
fn stress_teardown_against_link_ops_on_host_threads() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    for round in 0..200 {
        let mut k = kernel();
        let p1 = prog(&mut k, ProgType::FlowDissector);
        let p2 = prog(&mut k, ProgType::FlowDissector);
        let prog2 = k.prog_from_fd(p2).unwrap();
        let back = k.net.task_net(k.user).clone();
        k.net_unshare(k.user).unwrap();
        let ns = k.net_open_fd(k.user).unwrap();
        let inum = k.net.task_net(k.user).net().inum;
        let l = link(&mut k, p1, ns).unwrap();
        let lk = k.link_from_fd(l).unwrap();
        let netref = k.net_from_fd(ns).unwrap();
        k.close(ns).unwrap();
        drop(k.net_switch(k.user, back));
        let stop = Arc::new(AtomicBool::new(false));
        // The kernel itself stays on this thread; the teardown thread does
        // what cleanup_net() does for netns_bpf: put, then pre_exit.
        let (bpf, net) = (k.net.bpf.clone(), netref.net().clone());
        let teardown = std::thread::spawn(move || {
            drop(netref);
            bpf.pre_exit(&net);
        });
        let (lk2, stop2) = (lk.clone(), stop.clone());
        let updater = std::thread::spawn(move || {
            let mut seen_enolink = false;
            while !stop2.load(Ordering::Acquire) || !seen_enolink {
                match lk2.ops.update_prog(&lk2, &prog2, None).unwrap() {
                    Ok(()) => assert!(!seen_enolink, "update succeeded after ENOLINK"),
                    Err(Errno::ENOLINK) => seen_enolink = true,
                    Err(e) => panic!("{e:?}"),
                }
            }
        });
        let (lk3, stop3) = (lk.clone(), stop.clone());
        let reader = std::thread::spawn(move || {
            let mut zero = false;
            while !stop3.load(Ordering::Acquire) {
                match lk3.ops.fill_info(&lk3) {
                    LinkInfoExtra::Netns { netns_ino: 0, .. } => zero = true,
                    LinkInfoExtra::Netns { netns_ino, .. } => {
                        assert!(!zero, "netns_ino came back");
                        assert_eq!(netns_ino, inum);
                    }
                    other => panic!("{other:?}"),
                }
            }
        });
        if round % 2 == 0 {
            lk.ops.detach(&lk).unwrap().unwrap();
        }
        teardown.join().unwrap();
        assert_eq!(k.net_cleanup().len(), 1);
        stop.store(true, Ordering::Release);
        updater.join().unwrap();
        reader.join().unwrap();
        assert_eq!(k.net.bpf.attached_links(), 0);
        assert_eq!(
            lk.ops.fill_info(&lk),
            LinkInfoExtra::Netns { netns_ino: 0, attach_type: AttachType::FlowDissector }
        );
        drop(lk);
        k.close(l).unwrap();
        assert!(k.objects.links.live().is_empty());
    }
}

/// Processes hold their namespace: a forked child inherits it, and the
/// namespace goes when the last task in it exits and no fd refers to it.
#[test]
fn processes_hold_their_namespace() {
    let mut k = kernel();
    let parent = k.user;
    let child = k.sim.procs.fork(parent).unwrap();
    let id = k.net_unshare(child).unwrap();
    assert_eq!(k.sim.procs.get(child).unwrap().netns, id);
    assert_eq!(k.net.task_net(parent).net().id, crate::sim::process::NetnsId(0));
    let net = k.net.get(id).unwrap().clone();
    assert_eq!(net.count(), 1);
    // The parent opens /proc/<child>/ns/net: two references.
    let fd = k.net_open_fd(child).unwrap();
    assert_eq!(net.count(), 2);
    k.net_task_exit(child).unwrap();
    assert!(k.net_cleanup().is_empty());
    assert_eq!(net.count(), 1);
    k.close(fd).unwrap();
    assert_eq!(k.net_cleanup(), [id]);
    assert!(k.net.get(id).is_none());
    assert_eq!(k.net_task_exit(child), Err(Errno::ESRCH));
    // A fork inside a namespace holds it too.
    let id2 = k.net_unshare(parent).unwrap();
    let kid = k.net_fork(parent).unwrap();
    let net2 = k.net.get(id2).unwrap().clone();
    assert_eq!(net2.count(), 2);
    k.net_task_exit(kid).unwrap();
    assert_eq!(net2.count(), 1);
    drop(k.net_switch(parent, crate::net::netns::NetRef::get(k.net.init_net()).unwrap()));
    assert_eq!(k.net_cleanup(), [id2]);
    assert_eq!(k.net_setns(parent, 1, 0), Err(Errno::EINVAL));
    assert_eq!(k.net_setns(parent, 99, 0), Err(Errno::EBADF));
    let ns = k.net_open_fd(parent).unwrap();
    assert_eq!(k.net_setns(parent, ns, 1), Err(Errno::EINVAL));
}
