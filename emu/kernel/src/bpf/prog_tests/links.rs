//! The link framework and the legacy attach commands, with a test-only
//! attach point registered the way subsystems will register theirs.

use super::*;
use crate::bpf::attr::LinkCreateAttr;
use crate::bpf::link::{Link, LinkOps};
use crate::bpf::link_cmds::{AttachReq, DetachReq, LinkCreator, LinkReq, ProgAttacher, QueryReq};
use crate::uapi::{AttachType, BPF_F_REPLACE, LinkType};
use std::sync::atomic::AtomicU32;

/// A link type that records releases; `updatable` selects whether it has
/// `update_prog` and `detach`.
#[derive(Debug)]
struct TestLinkOps {
    updatable: bool,
    released: Arc<AtomicU32>,
}

impl LinkOps for TestLinkOps {
    fn link_type(&self) -> LinkType {
        LinkType::Netns
    }

    fn release(&self, _link: &Link) {
        self.released.fetch_add(1, Ordering::Relaxed);
    }

    fn detach(&self, link: &Link) -> Option<Result<(), Errno>> {
        self.updatable.then(|| {
            self.release(link);
            Ok(())
        })
    }

    fn update_prog(
        &self,
        link: &Link,
        new: &Arc<Prog>,
        old: Option<&Arc<Prog>>,
    ) -> Option<Result<(), Errno>> {
        if !self.updatable {
            return None;
        }
        if let Some(old) = old
            && !Arc::ptr_eq(old, &link.prog())
        {
            return Some(Err(Errno::EPERM));
        }
        link.set_prog(new.clone());
        Some(Ok(()))
    }
}

#[derive(Debug)]
struct TestCreator {
    updatable: bool,
    released: Arc<AtomicU32>,
}

impl LinkCreator for TestCreator {
    fn create(&self, _k: &mut Kernel, req: LinkReq<'_>) -> Result<Arc<Link>, Errno> {
        if req.attr.flags != 0 {
            return Err(Errno::EINVAL);
        }
        let ops = TestLinkOps { updatable: self.updatable, released: self.released.clone() };
        Ok(Arc::new(Link::new(req.id, Some(req.attach_type), req.prog, Box::new(ops))))
    }
}

fn setup(updatable: bool) -> (Kernel, i32, Arc<AtomicU32>) {
    let mut k = kernel();
    let released = Arc::new(AtomicU32::new(0));
    k.register_link_type(
        ProgType::FlowDissector,
        AttachType::FlowDissector,
        Arc::new(TestCreator { updatable, released: released.clone() }),
    );
    let fd = load(&mut k, ProgType::FlowDissector, "r0 = 0\nexit").unwrap();
    (k, fd, released)
}

fn create(k: &mut Kernel, prog_fd: i32, attach_type: u32) -> Result<i32, Errno> {
    let a = LinkCreateAttr { prog_fd, attach_type, ..Default::default() };
    k.bpf(BpfAttr::LinkCreate(a)).map(|fd| fd as i32)
}

#[test]
fn nothing_registered_is_einval() {
    let mut k = kernel();
    // A kernel without the netns attach points (net registers them at boot).
    k.attach_registry = Default::default();
    let fd = load(&mut k, ProgType::FlowDissector, "r0 = 0\nexit").unwrap();
    assert_eq!(create(&mut k, fd, AttachType::FlowDissector.raw()), Err(Errno::EINVAL));
    assert_eq!(create(&mut k, 42, AttachType::FlowDissector.raw()), Err(Errno::EBADF));
    let at = AttachType::FlowDissector.raw();
    assert_eq!(
        k.bpf(BpfAttr::ProgAttach {
            target_fd: 0,
            attach_bpf_fd: fd,
            attach_type: at,
            attach_flags: 0,
            replace_bpf_fd: 0
        }),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        k.bpf(BpfAttr::ProgDetach { target_fd: 0, attach_bpf_fd: fd, attach_type: at }),
        Err(Errno::EINVAL)
    );
    let (mut flags, mut ids) = (0, Vec::new());
    let q = BpfAttr::ProgQuery {
        target_fd: 0,
        attach_type: at,
        query_flags: 0,
        attach_flags: &mut flags,
        prog_ids: &mut ids,
    };
    assert_eq!(k.bpf(q), Err(Errno::EINVAL));
}

#[test]
fn link_create_dispatches_and_publishes() {
    let (mut k, fd, released) = setup(true);
    // Unknown attach type; registered type but other attach type; bad fd.
    assert_eq!(create(&mut k, fd, 9999), Err(Errno::EINVAL));
    assert_eq!(create(&mut k, fd, AttachType::SkLookup.raw()), Err(Errno::EINVAL));
    assert_eq!(create(&mut k, 77, AttachType::FlowDissector.raw()), Err(Errno::EBADF));
    // Another program type at the registered attach type.
    let other = load(&mut k, ProgType::Syscall, "r0 = 0\nexit").unwrap();
    assert_eq!(create(&mut k, other, AttachType::FlowDissector.raw()), Err(Errno::EINVAL));
    // The type's own checks.
    let a = LinkCreateAttr {
        prog_fd: fd,
        attach_type: AttachType::FlowDissector.raw(),
        flags: 1,
        ..Default::default()
    };
    assert_eq!(k.bpf(BpfAttr::LinkCreate(a)), Err(Errno::EINVAL));

    let lfd = create(&mut k, fd, AttachType::FlowDissector.raw()).unwrap();
    let link = k.link_from_fd(lfd).unwrap();
    assert_eq!(k.objects.links.get(link.id).unwrap().id, link.id);
    assert!(Arc::ptr_eq(&link.prog(), &prog_of(&k, fd)));
    drop(link);
    assert_eq!(released.load(Ordering::Relaxed), 0);
    k.close(lfd).unwrap();
    assert_eq!(released.load(Ordering::Relaxed), 1, "last reference releases");
}

#[test]
fn link_update_errnos_and_success() {
    let (mut k, fd, _) = setup(true);
    let fd2 = load(&mut k, ProgType::FlowDissector, "r0 = 1\nexit").unwrap();
    let lfd = create(&mut k, fd, AttachType::FlowDissector.raw()).unwrap();
    let upd = |k: &mut Kernel, link_fd, new_prog_fd, flags, old_prog_fd| {
        k.bpf(BpfAttr::LinkUpdate { link_fd, new_prog_fd, flags, old_prog_fd })
    };
    assert_eq!(upd(&mut k, lfd, fd2, 1, 0), Err(Errno::EINVAL), "unknown flag");
    assert_eq!(upd(&mut k, 99, fd2, 0, 0), Err(Errno::EBADF), "bad link fd");
    assert_eq!(upd(&mut k, fd, fd2, 0, 0), Err(Errno::EINVAL), "not a link");
    assert_eq!(upd(&mut k, lfd, 99, 0, 0), Err(Errno::EBADF), "bad new prog fd");
    assert_eq!(upd(&mut k, lfd, fd2, 0, fd), Err(Errno::EINVAL), "old fd without BPF_F_REPLACE");
    assert_eq!(upd(&mut k, lfd, fd2, BPF_F_REPLACE, 99), Err(Errno::EBADF), "bad old prog fd");
    assert_eq!(upd(&mut k, lfd, fd2, BPF_F_REPLACE, fd2), Err(Errno::EPERM), "old does not match");
    assert_eq!(upd(&mut k, lfd, fd2, BPF_F_REPLACE, fd), Ok(0));
    assert!(Arc::ptr_eq(&k.link_from_fd(lfd).unwrap().prog(), &prog_of(&k, fd2)));
    assert_eq!(upd(&mut k, lfd, fd, 0, 0), Ok(0));

    let (mut k, fd, _) = setup(false);
    let lfd = create(&mut k, fd, AttachType::FlowDissector.raw()).unwrap();
    assert_eq!(upd(&mut k, lfd, fd, 0, 0), Err(Errno::EINVAL), "no update_prog");
}

#[test]
fn link_detach() {
    let (mut k, fd, released) = setup(true);
    let lfd = create(&mut k, fd, AttachType::FlowDissector.raw()).unwrap();
    assert_eq!(k.bpf(BpfAttr::LinkDetach { link_fd: 99 }), Err(Errno::EBADF));
    assert_eq!(k.bpf(BpfAttr::LinkDetach { link_fd: fd }), Err(Errno::EINVAL));
    assert_eq!(k.bpf(BpfAttr::LinkDetach { link_fd: lfd }), Ok(0));
    assert_eq!(released.load(Ordering::Relaxed), 1);

    let (mut k, fd, _) = setup(false);
    let lfd = create(&mut k, fd, AttachType::FlowDissector.raw()).unwrap();
    assert_eq!(k.bpf(BpfAttr::LinkDetach { link_fd: lfd }), Err(Errno::EOPNOTSUPP));
}

/// A legacy attach point holding at most one program.
#[derive(Debug, Default)]
struct OneProg {
    attached: Mutex<Option<Arc<Prog>>>,
}

impl ProgAttacher for OneProg {
    fn prog_type(&self) -> ProgType {
        ProgType::FlowDissector
    }

    fn attach(&self, _k: &mut Kernel, req: AttachReq) -> Result<(), Errno> {
        let mut a = self.attached.lock();
        if a.is_some() && req.attach_flags & crate::uapi::BPF_F_ALLOW_OVERRIDE == 0 {
            return Err(Errno::EEXIST);
        }
        *a = Some(req.prog);
        Ok(())
    }

    fn detach(&self, _k: &mut Kernel, _req: DetachReq) -> Result<(), Errno> {
        self.attached.lock().take().map(drop).ok_or(Errno::ENOENT)
    }

    fn query(&self, _k: &mut Kernel, req: QueryReq<'_>) -> Result<(), Errno> {
        *req.attach_flags = 0;
        req.prog_ids.clear();
        req.prog_ids.extend(self.attached.lock().as_ref().map(|p| p.id));
        Ok(())
    }
}

#[test]
fn legacy_attach_detach_query() {
    let mut k = kernel();
    k.register_attach_type(AttachType::FlowDissector, Arc::new(OneProg::default()));
    let fd = load(&mut k, ProgType::FlowDissector, "r0 = 0\nexit").unwrap();
    let wrong = load(&mut k, ProgType::Syscall, "r0 = 0\nexit").unwrap();
    let at = AttachType::FlowDissector.raw();
    let attach = |k: &mut Kernel, attach_bpf_fd, attach_type, attach_flags| {
        k.bpf(BpfAttr::ProgAttach {
            target_fd: 0,
            attach_bpf_fd,
            attach_type,
            attach_flags,
            replace_bpf_fd: 0,
        })
    };
    let query = |k: &mut Kernel, query_flags| {
        let (mut flags, mut ids) = (0, Vec::new());
        let q = BpfAttr::ProgQuery {
            target_fd: 0,
            attach_type: at,
            query_flags,
            attach_flags: &mut flags,
            prog_ids: &mut ids,
        };
        k.bpf(q).map(|_| ids)
    };
    assert_eq!(attach(&mut k, fd, 9999, 0), Err(Errno::EINVAL), "unknown attach type");
    assert_eq!(attach(&mut k, fd, AttachType::SkLookup.raw(), 0), Err(Errno::EINVAL), "unregistered");
    assert_eq!(attach(&mut k, fd, at, 1 << 3), Err(Errno::EINVAL), "mprog flag on a base attach point");
    assert_eq!(attach(&mut k, 99, at, 0), Err(Errno::EBADF));
    assert_eq!(attach(&mut k, wrong, at, 0), Err(Errno::EINVAL), "wrong program type");
    assert_eq!(attach(&mut k, fd, at, 0), Ok(0));
    assert_eq!(attach(&mut k, fd, at, 0), Err(Errno::EEXIST));
    assert_eq!(query(&mut k, 0), Ok(vec![prog_of(&k, fd).id]));
    assert_eq!(query(&mut k, 2), Err(Errno::EINVAL), "unknown query flag");
    assert_eq!(k.bpf(BpfAttr::ProgDetach { target_fd: 0, attach_bpf_fd: 0, attach_type: at }), Ok(0));
    assert_eq!(
        k.bpf(BpfAttr::ProgDetach { target_fd: 0, attach_bpf_fd: 0, attach_type: at }),
        Err(Errno::ENOENT)
    );
    assert_eq!(query(&mut k, 0), Ok(vec![]));
}
