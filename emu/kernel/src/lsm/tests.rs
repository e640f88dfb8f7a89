//! LSM programs through the `bpf()` seam: load rules, links, and the
//! hooks deciding commands, on the interpreter, the JIT and in paranoid
//! mode.

use crate::bpf::attr::{BpfAttr, LinkCreateAttr, MapCreateAttr, ProgLoadAttr};
use crate::errno::Errno;
use crate::kernel::{Kernel, KernelConfig};
use crate::uapi::{AttachType, ProgType};

fn load_log(
    k: &mut Kernel,
    hook: &str,
    attach: AttachType,
    license: &str,
    flags: u32,
    src: &str,
) -> (Result<i32, Errno>, String) {
    let insns = bpfemu_isa::asm::kernel::assemble(src).unwrap();
    let mut log = String::new();
    let attr = ProgLoadAttr {
        prog_type: ProgType::Lsm.raw(),
        insns: &insns,
        license,
        expected_attach_type: attach.raw(),
        attach_btf_id: crate::vmlinux::func_id(hook).unwrap(),
        prog_flags: flags,
        log_level: 1,
        log_size: 1 << 16,
        log: Some(&mut log),
        ..Default::default()
    };
    let r = k.bpf(BpfAttr::ProgLoad(attr)).map(|fd| fd as i32);
    (r, log)
}

fn load(k: &mut Kernel, hook: &str, src: &str) -> i32 {
    let (r, log) = load_log(k, hook, AttachType::LsmMac, "GPL", 0, src);
    r.unwrap_or_else(|e| panic!("{e}: {log}"))
}

fn link(k: &mut Kernel, fd: i32) -> Result<i32, Errno> {
    let a = LinkCreateAttr {
        prog_fd: fd,
        target_fd: 0,
        attach_type: AttachType::LsmMac.raw(),
        flags: 0,
        target_btf_id: 0,
        iter_info: None,
        iter_info_len: 0,
    };
    k.bpf(BpfAttr::LinkCreate(a)).map(|fd| fd as i32)
}

fn map(k: &mut Kernel, map_type: u32, max_entries: u32) -> Result<i64, Errno> {
    let a = MapCreateAttr { map_type, key_size: 4, value_size: 8, max_entries, ..Default::default() };
    k.bpf(BpfAttr::MapCreate(a))
}

/// bpf_lsm_bpf_map_create: -EPERM for hash maps (map->map_type, at 16 in
/// bpfemu's struct bpf_map).
const DENY_HASH: &str = "r2 = *(u64 *)(r1 +0)
r3 = *(u32 *)(r2 +16)
r0 = 0
if r3 != 1 goto out
r0 = -1
out:
exit";

/// bpf_lsm_bpf_map_create: -E2BIG when attr->max_entries > 100.
const DENY_BIG: &str = "r2 = *(u64 *)(r1 +8)
r3 = *(u32 *)(r2 +12)
r0 = 0
if r3 <= 100 goto out
r0 = -7
out:
exit";

fn kernels() -> Vec<(String, Kernel)> {
    let mut v = Vec::new();
    for (jit, paranoid) in [(false, false), (true, false), (true, true)] {
        let mut k = Kernel::new(KernelConfig::default());
        if cfg!(target_arch = "x86_64") {
            k.set_jit_enable(jit).unwrap();
        }
        k.set_paranoid(paranoid);
        v.push((format!("jit={jit} paranoid={paranoid}"), k));
    }
    v
}

#[test]
fn map_create_hook_denies_then_link_close_restores() {
    for (what, mut k) in kernels() {
        let p = load(&mut k, "bpf_lsm_bpf_map_create", DENY_HASH);
        assert!(map(&mut k, 1, 4).is_ok(), "{what}: not linked yet");
        let l = link(&mut k, p).unwrap();
        assert_eq!(map(&mut k, 1, 4), Err(Errno::EPERM), "{what}");
        assert!(map(&mut k, 2, 4).is_ok(), "{what}: array maps pass");
        let q = load(&mut k, "bpf_lsm_bpf_map_create", DENY_BIG);
        let l2 = link(&mut k, q).unwrap();
        assert_eq!(map(&mut k, 2, 1000), Err(Errno::E2BIG), "{what}");
        // Newest first: the first non-zero return wins.
        assert_eq!(map(&mut k, 1, 1000), Err(Errno::E2BIG), "{what}");
        k.close(l).unwrap();
        assert!(map(&mut k, 1, 4).is_ok(), "{what}: unlinked");
        k.close(l2).unwrap();
        assert!(map(&mut k, 2, 1000).is_ok(), "{what}");
        assert!(k.take_soundness_violations().is_empty(), "{what}");
    }
}

#[test]
fn bpf_hook_sees_every_command() {
    for (what, mut k) in kernels() {
        // bpf_lsm_bpf(cmd, attr, size, kernel): BPF_MAP_FREEZE (22) → -EACCES.
        let src = "r2 = *(u64 *)(r1 +0)\nr0 = 0\nif r2 != 22 goto out\nr0 = -13\nout:\nexit";
        let p = load(&mut k, "bpf_lsm_bpf", src);
        let m = map(&mut k, 2, 4).unwrap() as i32;
        link(&mut k, p).unwrap();
        assert_eq!(k.bpf(BpfAttr::MapFreeze { map_fd: m }), Err(Errno::EACCES), "{what}");
        assert!(map(&mut k, 2, 4).is_ok(), "{what}");
    }
}

#[test]
fn map_and_prog_fd_hooks() {
    let mut k = Kernel::new(KernelConfig::default());
    let m = map(&mut k, 2, 4).unwrap() as i32;
    let id = k.fd_obj(m).unwrap().map().unwrap().id;
    // bpf_lsm_bpf_map(map, fmode): refuse FMODE_WRITE.
    let p = load(
        &mut k,
        "bpf_lsm_bpf_map",
        "r2 = *(u64 *)(r1 +8)\nr2 &= 2\nr0 = 0\nif r2 == 0 goto out\nr0 = -1\nout:\nexit",
    );
    link(&mut k, p).unwrap();
    let ro = crate::uapi::BPF_F_RDONLY;
    assert!(k.bpf(BpfAttr::MapGetFdById { id, open_flags: ro }).is_ok());
    assert_eq!(k.bpf(BpfAttr::MapGetFdById { id, open_flags: 0 }), Err(Errno::EPERM));
    // A new map is refused after its id was allocated (bpf_map_new_fd()).
    assert_eq!(map(&mut k, 2, 4), Err(Errno::EPERM));
    // bpf_lsm_bpf_prog_load(prog, ...): no socket filters (prog->type 1).
    let q = load(
        &mut k,
        "bpf_lsm_bpf_prog_load",
        "r2 = *(u64 *)(r1 +0)\nr3 = *(u32 *)(r2 +0)\nr0 = 0\nif r3 != 1 goto out\nr0 = -1\nout:\nexit",
    );
    link(&mut k, q).unwrap();
    let insns = bpfemu_isa::asm::kernel::assemble("r0 = 0\nexit").unwrap();
    let sf = ProgLoadAttr { prog_type: 1, insns: &insns, license: "GPL", ..Default::default() };
    assert_eq!(k.bpf(BpfAttr::ProgLoad(sf)), Err(Errno::EPERM));
    let kp = ProgLoadAttr {
        prog_type: ProgType::Kprobe.raw(),
        insns: &insns,
        license: "GPL",
        ..Default::default()
    };
    let kfd = k.bpf(BpfAttr::ProgLoad(kp)).unwrap() as i32;
    // bpf_lsm_bpf_prog(prog): no fds of programs of 2 instructions.
    let r = load(
        &mut k,
        "bpf_lsm_bpf_prog",
        "r2 = *(u64 *)(r1 +0)\nr3 = *(u32 *)(r2 +8)\nr0 = 0\nif r3 != 2 goto out\nr0 = -1\nout:\nexit",
    );
    link(&mut k, r).unwrap();
    let kid = k.fd_obj(kfd).unwrap().prog().unwrap().id;
    assert_eq!(k.bpf(BpfAttr::ProgGetFdById { id: kid }), Err(Errno::EPERM));
}

#[test]
fn load_rules() {
    let mut k = Kernel::new(KernelConfig::default());
    let (r, log) = load_log(&mut k, "bpf_lsm_bpf", AttachType::LsmMac, "Dual BSD/GPL", 0, "r0 = 0\nexit");
    assert!(r.is_ok(), "{log}");
    let (r, log) = load_log(&mut k, "bpf_lsm_bpf", AttachType::LsmMac, "Proprietary", 0, "r0 = 0\nexit");
    assert_eq!(r, Err(Errno::EINVAL));
    assert!(log.contains("LSM programs must have a GPL compatible license"), "{log}");
    let (r, log) = load_log(&mut k, "bpf_fentry_test1", AttachType::LsmMac, "GPL", 0, "r0 = 0\nexit");
    assert_eq!(r, Err(Errno::EINVAL));
    let id = crate::vmlinux::func_id("bpf_fentry_test1").unwrap();
    assert!(log.contains(&format!("attach_btf_id {id} points to wrong type name bpf_fentry_test1")), "{log}");
    // Every emulated hook is sleepable.
    let (r, log) = load_log(&mut k, "bpf_lsm_bpf_prog", AttachType::LsmMac, "GPL", 16, "r0 = 0\nexit");
    assert!(r.is_ok(), "{log}");
    let (r, log) = load_log(&mut k, "bpf_lsm_bpf", AttachType::LsmMac, "GPL", 0, "r0 = 1\nexit");
    assert_eq!(r, Err(Errno::EINVAL));
    assert!(
        log.contains("At program exit the register R0 has smin=1 smax=1 should have been in [-4095, 0]"),
        "{log}"
    );
    // The low 32 bits count: 1 << 32 is 0 for the int the hook returns.
    let (r, log) = load_log(&mut k, "bpf_lsm_bpf", AttachType::LsmMac, "GPL", 0, "r0 = 1\nr0 <<= 32\nexit");
    assert!(r.is_ok(), "{log}");
    // The return value slot is in [-MAX_ERRNO, 0] (is_retval).
    let (r, log) =
        load_log(&mut k, "bpf_lsm_bpf", AttachType::LsmMac, "GPL", 0, "r0 = *(u64 *)(r1 +32)\nexit");
    assert!(r.is_ok(), "{log}");
    let (r, _) = load_log(&mut k, "bpf_lsm_bpf", AttachType::LsmCgroup, "GPL", 0, "r0 = 0\nexit");
    assert_eq!(r, Err(Errno::EINVAL));
    // A program returning 1 << 32 denies nothing: its int is 0.
    let p = load(&mut k, "bpf_lsm_bpf_map_create", "r0 = 1\nr0 <<= 32\nexit");
    link(&mut k, p).unwrap();
    assert!(map(&mut k, 2, 4).is_ok());
}

#[test]
fn prog_load_hook_runs_after_the_attach_checks() {
    let mut k = Kernel::new(KernelConfig::default());
    let p = load(&mut k, "bpf_lsm_bpf_prog_load", "r0 = -1\nexit");
    link(&mut k, p).unwrap();
    let insns = bpfemu_isa::asm::kernel::assemble("r0 = 0\nexit").unwrap();
    // bpf_prog_load_check_attach(): attach_btf_id on a kprobe, EINVAL
    // before the hook.
    let a = ProgLoadAttr {
        prog_type: ProgType::Kprobe.raw(),
        insns: &insns,
        license: "GPL",
        attach_btf_id: 5,
        ..Default::default()
    };
    assert_eq!(k.bpf(BpfAttr::ProgLoad(a)), Err(Errno::EINVAL));
    // The hook runs before the log attributes are checked (bpf_check()).
    let a = ProgLoadAttr {
        prog_type: ProgType::Kprobe.raw(),
        insns: &insns,
        license: "GPL",
        log_level: 1,
        ..Default::default()
    };
    assert_eq!(k.bpf(BpfAttr::ProgLoad(a)), Err(Errno::EPERM));
}
