//! `BPF_PROG_LOAD`: attribute checks, relocation, the verifier and its
//! log, program-type checks, the tag, ids and fds.

use super::*;
use crate::bpf::load::tag::calc_tag;
use crate::uapi::AttachType;

/// Loads `src` as `prog_type` with an expected attach type.
fn load_attached(k: &mut Kernel, prog_type: ProgType, eat: AttachType, src: &str) -> Result<i32, Errno> {
    let insns = asm(src);
    let mut a = load_attr(prog_type, &insns);
    a.expected_attach_type = eat.raw();
    k.bpf(BpfAttr::ProgLoad(a)).map(|fd| fd as i32)
}

/// Loads `src` as `prog_type` with a level-1 log: the result and the log.
fn load_logged(k: &mut Kernel, prog_type: ProgType, src: &str) -> (Result<i32, Errno>, String) {
    let insns = asm(src);
    let mut log = String::new();
    let mut a = load_attr(prog_type, &insns);
    a.log = Some(&mut log);
    a.log_level = 1;
    a.log_size = 1 << 16;
    let res = k.bpf(BpfAttr::ProgLoad(a)).map(|fd| fd as i32);
    (res, log)
}

#[test]
fn loads_and_publishes() {
    let mut k = kernel();
    let fd = load(&mut k, ProgType::Syscall, "r0 = 42\nexit").unwrap();
    let p = prog_of(&k, fd);
    assert_eq!(p.id, 1);
    assert!(p.verified);
    assert_eq!(p.verified_insns, 2);
    assert!(p.gpl_compatible);
    assert_eq!(p.prog_type, ProgType::Syscall);
    assert_eq!(k.objects.progs.get(1).unwrap().id, 1);
    assert_eq!(p.tag, calc_tag(&p.insns));
    let fd2 = load(&mut k, ProgType::Syscall, "r0 = 42\nexit").unwrap();
    let p2 = prog_of(&k, fd2);
    assert_eq!(p2.id, 2);
    assert_eq!(p.tag, p2.tag, "same insns, same tag");
}

#[test]
fn attr_errnos() {
    let mut k = kernel();
    let insns = asm("r0 = 0\nexit");
    let mut a = load_attr(ProgType::Syscall, &insns);
    a.prog_type = 999;
    assert_eq!(k.bpf(BpfAttr::ProgLoad(a)), Err(Errno::EINVAL));
    let a = ProgLoadAttr { prog_type: 0, insns: &insns, ..Default::default() };
    assert_eq!(k.bpf(BpfAttr::ProgLoad(a)), Err(Errno::EINVAL), "unspec");
    let mut a = load_attr(ProgType::Syscall, &insns);
    a.prog_flags = 1 << 20;
    assert_eq!(k.bpf(BpfAttr::ProgLoad(a)), Err(Errno::EINVAL));
    let a = load_attr(ProgType::Syscall, &[]);
    assert_eq!(k.bpf(BpfAttr::ProgLoad(a)), Err(Errno::E2BIG), "insn_cnt 0 is E2BIG in the kernel");
    let big = vec![Insn::new(0x95, 0, 0, 0, 0); 1_000_001];
    assert_eq!(k.bpf(BpfAttr::ProgLoad(load_attr(ProgType::Syscall, &big))), Err(Errno::E2BIG));
    let mut a = load_attr(ProgType::Syscall, &insns);
    a.prog_name = b"bad-name";
    assert_eq!(k.bpf(BpfAttr::ProgLoad(a)), Err(Errno::EINVAL));
    let mut a = load_attr(ProgType::Syscall, &insns);
    a.prog_name = b"good_name";
    let fd = k.bpf(BpfAttr::ProgLoad(a)).unwrap() as i32;
    assert_eq!(prog_of(&k, fd).name, "good_name");
}

#[test]
fn license_decides_gpl_compatibility() {
    let mut k = kernel();
    let insns = asm("r0 = 0\nexit");
    for (lic, gpl) in
        [("GPL", true), ("Dual BSD/GPL", true), ("GPL v2\0junk", true), ("MIT", false), ("", false)]
    {
        let mut a = load_attr(ProgType::Syscall, &insns);
        a.license = lic;
        let fd = k.bpf(BpfAttr::ProgLoad(a)).unwrap() as i32;
        assert_eq!(prog_of(&k, fd).gpl_compatible, gpl, "{lic:?}");
    }
}

#[test]
fn verifier_errnos() {
    let mut k = kernel();
    // Undecodable instruction.
    let bad = [Insn::new(0xff, 0, 0, 0, 0), Insn::new(0x95, 0, 0, 0, 0)];
    assert_eq!(k.bpf(BpfAttr::ProgLoad(load_attr(ProgType::Syscall, &bad))), Err(Errno::EINVAL));
    // Jump out of range.
    assert_eq!(load(&mut k, ProgType::Syscall, "goto +5\nexit"), Err(Errno::EINVAL));
    // Last insn not exit; unreachable code.
    assert_eq!(load(&mut k, ProgType::Syscall, "r0 = 0"), Err(Errno::EINVAL));
    assert_eq!(load(&mut k, ProgType::Syscall, "r0 = 0\nexit\nr0 = 1"), Err(Errno::EINVAL));
    assert_eq!(load(&mut k, ProgType::Syscall, "r0 = 0\nexit\ngoto -2"), Err(Errno::EINVAL));
    // Subprogram not ending in exit.
    assert_eq!(load(&mut k, ProgType::Syscall, "call f\nexit\nf:\nr0 = 1"), Err(Errno::EINVAL));
    load(&mut k, ProgType::Syscall, "call f\nexit\nf:\nr0 = 1\nexit").unwrap();
    // r10 writes.
    assert_eq!(load(&mut k, ProgType::Syscall, "r10 = 1\nr0 = 0\nexit"), Err(Errno::EACCES));
    assert_eq!(load(&mut k, ProgType::Syscall, "r10 += 8\nr0 = 0\nexit"), Err(Errno::EACCES));
    assert_eq!(load(&mut k, ProgType::Syscall, "r10 = *(u64 *)(r1 +0)\nr0 = 0\nexit"), Err(Errno::EACCES));
    // Stores through r10 are fine.
    load(&mut k, ProgType::Syscall, "*(u64 *)(r10 -8) = 1\nr0 = 0\nexit").unwrap();
    // Uninitialised r0 at exit.
    let (res, log) = load_logged(&mut k, ProgType::Syscall, "exit");
    assert_eq!(res, Err(Errno::EACCES));
    assert!(log.contains("R0 !read_ok"), "{log}");
}

#[test]
fn helpers_are_checked_at_load() {
    let mut k = kernel();
    // An id outside the uapi: "invalid func".
    let (res, log) = load_logged(&mut k, ProgType::Syscall, "call 100000\nexit");
    assert_eq!(res, Err(Errno::EINVAL));
    assert!(log.contains("invalid func unknown#100000"), "{log}");
    // A helper bpfemu does not implement: "program of this type cannot use helper".
    let (res, log) =
        load_logged(&mut k, ProgType::Syscall, "r1 = 0\nr2 = 8\nr3 = 0\nr4 = 0\ncall 9\nr0 = 0\nexit");
    assert_eq!(res, Err(Errno::EINVAL));
    assert!(log.contains("program of this type cannot use helper bpf_skb_store_bytes#9"), "{log}");
    // A helper the program type may not call: bpf_get_func_ip is for
    // tracing programs, not socket filters (get_current_uid_gid, in the
    // base set since 6.16, is for all).
    let (res, log) = load_logged(&mut k, ProgType::SocketFilter, "call 173\nr0 = 0\nexit");
    assert_eq!(res, Err(Errno::EINVAL));
    assert!(log.contains("program of this type cannot use helper bpf_get_func_ip#173"), "{log}");
    load(&mut k, ProgType::SocketFilter, "call 15\nr0 = 0\nexit").unwrap();
    load(&mut k, ProgType::Syscall, "call 15\nr0 = 0\nexit").unwrap();
    load(&mut k, ProgType::SocketFilter, "call 14\nr0 = 0\nexit").unwrap();
}

#[test]
fn ctx_access_per_program_type() {
    let mut k = kernel();
    // A socket filter reads skb->len and writes cb[0], but may not read
    // skb->data nor write skb->mark.
    load(&mut k, ProgType::SocketFilter, "r0 = *(u32 *)(r1 +0)\n*(u32 *)(r1 +48) = r0\nexit").unwrap();
    let (res, log) = load_logged(&mut k, ProgType::SocketFilter, "r0 = *(u32 *)(r1 +76)\nexit");
    assert_eq!(res, Err(Errno::EACCES));
    assert!(log.contains("invalid bpf_context access off=76 size=4"), "{log}");
    let (res, _) = load_logged(&mut k, ProgType::SocketFilter, "r0 = 0\n*(u32 *)(r1 +8) = r0\nexit");
    assert_eq!(res, Err(Errno::EACCES));
    // sk_lookup must return SK_DROP or SK_PASS.
    let sk_lookup = AttachType::SkLookup;
    load_attached(&mut k, ProgType::SkLookup, sk_lookup, "r0 = 1\nexit").unwrap();
    assert_eq!(load_attached(&mut k, ProgType::SkLookup, sk_lookup, "r0 = 2\nexit"), Err(Errno::EINVAL));
    // cgroup_skb: 0 or 1, up to 3 on egress.
    let (ingress, egress) = (AttachType::CgroupInetIngress, AttachType::CgroupInetEgress);
    assert_eq!(load_attached(&mut k, ProgType::CgroupSkb, ingress, "r0 = 3\nexit"), Err(Errno::EINVAL));
    load_attached(&mut k, ProgType::CgroupSkb, egress, "r0 = 3\nexit").unwrap();
    // cgroup_device: read only, 0 or 1.
    load(&mut k, ProgType::CgroupDevice, "r0 = *(u32 *)(r1 +4)\nr0 &= 1\nexit").unwrap();
    assert_eq!(load(&mut k, ProgType::CgroupDevice, "r0 = 2\nexit"), Err(Errno::EINVAL));
    // sk_msg: u64 packet pointers.
    load(&mut k, ProgType::SkMsg, "r2 = *(u64 *)(r1 +0)\nr3 = *(u64 *)(r1 +8)\nr0 = 1\nexit").unwrap();
    assert_eq!(load(&mut k, ProgType::SkMsg, "r2 = *(u32 *)(r1 +0)\nr0 = 1\nexit"), Err(Errno::EACCES));
    // Kprobe ctx is read only.
    load(&mut k, ProgType::Kprobe, "r0 = *(u64 *)(r1 +8)\nexit").unwrap();
    assert_eq!(load(&mut k, ProgType::Kprobe, "r0 = 0\n*(u64 *)(r1 +8) = r0\nexit"), Err(Errno::EACCES));
    // Syscall ctx: read and write anywhere aligned.
    load(&mut k, ProgType::Syscall, "r0 = *(u64 *)(r1 +800)\n*(u64 *)(r1 +16) = r0\nexit").unwrap();
}

#[test]
fn expected_attach_types() {
    let mut k = kernel();
    let src = "r0 = 1\nexit";
    // sk_lookup needs BPF_SK_LOOKUP; cgroup_skb ingress or egress; syscall
    // none (bpf_prog_load_check_attach()).
    assert_eq!(load(&mut k, ProgType::SkLookup, src), Err(Errno::EINVAL));
    assert_eq!(load_attached(&mut k, ProgType::CgroupSkb, AttachType::SkLookup, src), Err(Errno::EINVAL));
    load(&mut k, ProgType::CgroupSkb, src).unwrap();
    assert_eq!(
        load_attached(&mut k, ProgType::Syscall, AttachType::CgroupInetEgress, src),
        Err(Errno::EINVAL)
    );
    assert_eq!(load(&mut k, ProgType::SkReuseport, src), Err(Errno::EINVAL));
    load_attached(&mut k, ProgType::SkReuseport, AttachType::SkReuseportSelect, src).unwrap();
    // Types that take none ignore it.
    load_attached(&mut k, ProgType::Kprobe, AttachType::SkLookup, src).unwrap();
}

#[test]
fn program_types_without_support_are_refused() {
    let mut k = kernel();
    let (res, log) = load_logged(&mut k, ProgType::Tracing, "r0 = 0\nexit");
    assert_eq!(res, Err(Errno::EINVAL));
    assert_eq!(log, "Tracing programs must provide btf_id\n");
    assert_eq!(load(&mut k, ProgType::Lsm, "r0 = 0\nexit"), Err(Errno::EINVAL));
    assert_eq!(load(&mut k, ProgType::Ext, "r0 = 0\nexit"), Err(Errno::EINVAL));
    assert_eq!(load(&mut k, ProgType::StructOps, "r0 = 0\nexit"), Err(Errno::ENOTSUPP));
    let (res, log) = load_logged(&mut k, ProgType::CgroupSock, "r0 = 0\nexit");
    assert_eq!(res, Err(Errno::EINVAL));
    assert_eq!(log, "bpfemu: program type cgroup_sock is not supported yet\n");
    // Sleepable socket filters do not exist.
    let insns = asm("r0 = 0\nexit");
    let mut a = load_attr(ProgType::SocketFilter, &insns);
    a.prog_flags = crate::bpf::load::BPF_F_SLEEPABLE;
    assert_eq!(k.bpf(BpfAttr::ProgLoad(a)), Err(Errno::EINVAL));
}

#[test]
fn log_levels_and_errors() {
    let mut k = kernel();
    let (res, log) = load_logged(&mut k, ProgType::Syscall, "r10 = 1\nexit");
    assert_eq!(res, Err(Errno::EACCES));
    assert!(log.contains("frame pointer is read only"), "{log}");
    // Success: the statistics line last.
    let (res, log) = load_logged(&mut k, ProgType::Syscall, "r0 = 0\nexit");
    res.unwrap();
    assert!(log.lines().last().unwrap_or("").starts_with("processed 2 insns (limit 1000000) "), "{log}");

    // A log buffer without a level, or a level without a size: EINVAL.
    let insns = asm("r0 = 0\nexit");
    let mut log = String::new();
    let mut a = load_attr(ProgType::Syscall, &insns);
    a.log = Some(&mut log);
    a.log_size = 4096;
    assert_eq!(k.bpf(BpfAttr::ProgLoad(a)), Err(Errno::EINVAL));
    let mut a = load_attr(ProgType::Syscall, &insns);
    a.log_size = 4096;
    assert_eq!(k.bpf(BpfAttr::ProgLoad(a)), Err(Errno::EINVAL));
    // A log too small: ENOSPC, with the end of the text (rotating log).
    let mut log = String::new();
    let mut a = load_attr(ProgType::Syscall, &insns);
    a.log = Some(&mut log);
    a.log_level = 1;
    a.log_size = 10;
    assert_eq!(k.bpf(BpfAttr::ProgLoad(a)), Err(Errno::ENOSPC));
    assert_eq!(log.len(), 9);
    assert!(log.ends_with('\n'), "{log:?}");
    // log_true_size: what the whole log needed.
    let mut big = String::new();
    let mut a = load_attr(ProgType::Syscall, &insns);
    a.log = Some(&mut big);
    a.log_level = 1;
    a.log_size = 4096;
    k.bpf(BpfAttr::ProgLoad(a)).unwrap();
    let mut log = String::new();
    let mut true_size = 0;
    let mut a = load_attr(ProgType::Syscall, &insns);
    a.log = Some(&mut log);
    a.log_level = 1;
    a.log_size = 10;
    a.log_true_size = Some(&mut true_size);
    assert_eq!(k.bpf(BpfAttr::ProgLoad(a)), Err(Errno::ENOSPC));
    assert_eq!(true_size as usize, big.len() + 1);
    // BPF_LOG_FIXED keeps the beginning.
    let mut log = String::new();
    let mut a = load_attr(ProgType::Syscall, &insns);
    a.log = Some(&mut log);
    a.log_level = 1 | 8;
    a.log_size = 10;
    assert_eq!(k.bpf(BpfAttr::ProgLoad(a)), Err(Errno::ENOSPC));
    assert_eq!(log.len(), 9);
    assert!(!log.ends_with('\n'), "{log:?}");
    // The failed loads installed nothing: only the successes have ids.
    assert_eq!(k.objects.progs.get(3).map(|p| p.id), None);
}

#[test]
fn verified_insns_in_info() {
    let mut k = kernel();
    let fd = load(&mut k, ProgType::Syscall, "r0 = 1\nr0 += 2\nexit").unwrap();
    assert_eq!(prog_of(&k, fd).verified_insns, 3);
    let mut info = None;
    k.bpf(BpfAttr::ObjGetInfoByFd { bpf_fd: fd, info: &mut info }).unwrap();
    let Some(crate::bpf::attr::ObjInfo::Prog(pi)) = info else { panic!("not prog info") };
    assert_eq!(pi.verified_insns, 3);
    let fdinfo = k.fdinfo(fd).unwrap();
    assert!(fdinfo.iter().any(|(key, v)| key == "verified_insns" && v == "3"), "{fdinfo:?}");
}

#[test]
fn map_relocation() {
    let mut k = kernel();
    let (mfd, map) = test_map(&mut k, MapType::Array, 16);
    let src = format!("r1 = map[fd:{mfd}]\nr2 = map[fd:{mfd}][0]+8\nr3 = map[fd:{mfd}]\nr0 = 0\nexit");
    let fd = load(&mut k, ProgType::Syscall, &src).unwrap();
    let p = prog_of(&k, fd);
    assert_eq!(p.used_maps.len(), 1, "deduplicated");
    assert!(Arc::ptr_eq(&p.used_maps[0], &map));
    let x = &p.xlated;
    assert!(x.iter().all(|i| i.src == 0), "pseudo sources gone");
    let addr = |lo: &Insn, hi: &Insn| u64::from(lo.imm as u32) | (u64::from(hi.imm as u32) << 32);
    assert_eq!(addr(&x[0], &x[1]), map.addr());
    assert_eq!(addr(&x[2], &x[3]), map.ops.direct_value_addr(8).unwrap());
    // The tag ignores the fd numbers.
    let (mfd2, _) = test_map(&mut k, MapType::Array, 16);
    let src2 = format!("r1 = map[fd:{mfd2}]\nr2 = map[fd:{mfd2}][0]+8\nr3 = map[fd:{mfd2}]\nr0 = 0\nexit");
    let fd2 = load(&mut k, ProgType::Syscall, &src2).unwrap();
    let p2 = prog_of(&k, fd2);
    assert_eq!(p.tag, p2.tag);
    // The program keeps the map alive.
    drop(map);
    k.close(mfd).unwrap();
    assert_eq!(p.used_maps[0].usercnt(), 0);
}

#[test]
fn map_relocation_errnos() {
    let mut k = kernel();
    assert_eq!(load(&mut k, ProgType::Syscall, "r1 = map[fd:77]\nr0 = 0\nexit"), Err(Errno::EBADF));
    let pfd = load(&mut k, ProgType::Syscall, "r0 = 0\nexit").unwrap();
    assert_eq!(
        load(&mut k, ProgType::Syscall, &format!("r1 = map[fd:{pfd}]\nr0 = 0\nexit")),
        Err(Errno::EINVAL)
    );
    let (mfd, _) = test_map(&mut k, MapType::Array, 16);
    // Value offset beyond the value.
    assert_eq!(
        load(&mut k, ProgType::Syscall, &format!("r1 = map[fd:{mfd}][0]+16\nr0 = 0\nexit")),
        Err(Errno::EINVAL)
    );
    // fd_array indices.
    let insns = asm("r1 = map[idx:1]\nr0 = 0\nexit");
    assert_eq!(k.bpf(BpfAttr::ProgLoad(load_attr(ProgType::Syscall, &insns))), Err(Errno::EPROTO));
    let fds = [mfd];
    let mut a = load_attr(ProgType::Syscall, &insns);
    a.fd_array = &fds;
    assert_eq!(k.bpf(BpfAttr::ProgLoad(a)), Err(Errno::EFAULT));
    let fds = [-1, mfd];
    let mut a = load_attr(ProgType::Syscall, &insns);
    a.fd_array = &fds;
    let fd = k.bpf(BpfAttr::ProgLoad(a)).unwrap() as i32;
    assert_eq!(prog_of(&k, fd).used_maps.len(), 1);
    // BTF ids are not emulated yet; function addresses are (callbacks.rs).
    assert_eq!(load(&mut k, ProgType::Syscall, "r1 = btf_id[5]\nr0 = 0\nexit"), Err(Errno::EINVAL));
    assert!(load_cb(&mut k, ProgType::Syscall, "r1 = subprog[+3]\nr0 = 0\nexit\nr0 = 1\nexit").is_ok());
    // Pointing into the main program leaves it without an exit.
    assert_eq!(
        load_cb(&mut k, ProgType::Syscall, "r1 = subprog[+2]\nr0 = 0\nexit\nr0 = 1\nexit"),
        Err(Errno::EINVAL)
    );
    // A truncated ld_imm64.
    let trunc = [Insn::new(0x18, 1, 1, 0, mfd)];
    assert_eq!(k.bpf(BpfAttr::ProgLoad(load_attr(ProgType::Syscall, &trunc))), Err(Errno::EINVAL));
}

#[test]
fn tag_matches_sha256_of_the_insns() {
    // SHA-256 of the 16 bytes of `r0 = 0; exit`; a Linux 6.18 kernel
    // reported this tag for the same socket filter (bpf_prog_info.tag).
    let insns = asm("r0 = 0\nexit");
    let bytes = bpfemu_isa::insns_to_bytes(&insns);
    assert_eq!(bytes, [0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
    let tag = calc_tag(&insns);
    use sha2::{Digest, Sha256};
    assert_eq!(&tag[..], &Sha256::digest(&bytes)[..8]);
    assert_eq!(tag, [0x59, 0xf4, 0xa9, 0x31, 0x74, 0x4d, 0xcd, 0xc6]);
    // Map fds are blanked: the tag of fd 3 and fd 4 loads agree.
    let a = asm("r1 = map[fd:3]\nr0 = 0\nexit");
    let b = asm("r1 = map[fd:4]\nr0 = 0\nexit");
    assert_eq!(calc_tag(&a), calc_tag(&b));
    let c = asm("r1 = map[idx:3]\nr0 = 0\nexit");
    let d = asm("r1 = map[idx:4]\nr0 = 0\nexit");
    assert_ne!(calc_tag(&c), calc_tag(&d), "only MAP_FD / MAP_VALUE are blanked");
}

#[test]
fn packet_access_per_program_type() {
    let mut k = kernel();
    // XDP and tc write the packet after a bounds check against data_end.
    let xdp = "r2 = *(u32 *)(r1 +0)\nr3 = *(u32 *)(r1 +4)\nr4 = r2\nr4 += 14\nif r4 > r3 goto +2\nr5 = 7\n\
               *(u8 *)(r2 +0) = r5\nr0 = 2\nexit";
    load(&mut k, ProgType::Xdp, xdp).unwrap();
    let unchecked = "r2 = *(u32 *)(r1 +0)\nr5 = 7\n*(u8 *)(r2 +0) = r5\nr0 = 2\nexit";
    assert_eq!(load(&mut k, ProgType::Xdp, unchecked), Err(Errno::EACCES));
    let tc = "r2 = *(u32 *)(r1 +76)\nr3 = *(u32 *)(r1 +80)\nr4 = r2\nr4 += 1\nif r4 > r3 goto +2\nr5 = 1\n\
              *(u8 *)(r2 +0) = r5\nr0 = 0\nexit";
    load(&mut k, ProgType::SchedCls, tc).unwrap();
    load(&mut k, ProgType::SkSkb, tc).unwrap();
    load(&mut k, ProgType::LwtXmit, tc).unwrap();
    assert_eq!(load(&mut k, ProgType::LwtOut, tc), Err(Errno::EACCES));
    // A flow dissector only reads the packet; it writes its flow keys.
    let (res, log) = load_logged(&mut k, ProgType::FlowDissector, tc);
    assert_eq!(res, Err(Errno::EACCES));
    assert!(log.contains("cannot write into packet"), "{log}");
    load(
        &mut k,
        ProgType::FlowDissector,
        "r2 = *(u64 *)(r1 +144)\nr5 = 1\n*(u16 *)(r2 +0) = r5\nr0 = 0\nexit",
    )
    .unwrap();
    // Legacy packet loads: socket filters yes, syscall programs no.
    load(&mut k, ProgType::SocketFilter, "r6 = r1\nr0 = *(u8 *)skb[12]\nexit").unwrap();
    let (res, log) = load_logged(&mut k, ProgType::Syscall, "r6 = r1\nr0 = *(u8 *)skb[12]\nexit");
    assert_eq!(res, Err(Errno::EINVAL));
    assert!(log.contains("BPF_LD_[ABS|IND] instructions not allowed for this program type"), "{log}");
    // Tracing ctx tables.
    load(&mut k, ProgType::PerfEvent, "r0 = *(u64 *)(r1 +168)\nr2 = *(u32 *)(r1 +176)\nexit").unwrap();
    load(&mut k, ProgType::RawTracepoint, "r0 = *(u64 *)(r1 +88)\nexit").unwrap();
    assert_eq!(load(&mut k, ProgType::RawTracepoint, "r0 = *(u64 *)(r1 +96)\nexit"), Err(Errno::EACCES));
    load(&mut k, ProgType::Tracepoint, "r0 = *(u64 *)(r1 +2040)\nexit").unwrap();
    assert_eq!(load(&mut k, ProgType::SchedAct, "r0 = *(u32 *)(r1 +92)\nexit"), Err(Errno::EACCES));
}

#[test]
fn maps_as_the_verifier_sees_them() {
    use crate::bpf::load::verify::map_info;
    use crate::map::MapCreateAttr;
    use crate::uapi::BPF_F_RDONLY_PROG;
    let mut k = kernel();
    let create = |k: &mut Kernel, map_type: MapType, flags: u32, inner: i32| {
        let attr = MapCreateAttr {
            map_type: map_type.raw(),
            key_size: 4,
            value_size: if inner != 0 { 4 } else { 8 },
            max_entries: 1,
            map_flags: flags,
            inner_map_fd: inner,
            map_name: b"m".to_vec(),
            ..Default::default()
        };
        k.bpf(BpfAttr::MapCreate(attr)).unwrap() as i32
    };
    let map_of = |k: &Kernel, fd: i32| k.fd_obj(fd).unwrap().map().unwrap().clone();
    // A read-only (for programs) array: constant once frozen.
    let ro = create(&mut k, MapType::Array, BPF_F_RDONLY_PROG, 0);
    let v = 0x1122u64.to_le_bytes();
    k.bpf(BpfAttr::MapUpdateElem { map_fd: ro, key: &0u32.to_le_bytes(), value: &v, flags: 0 }).unwrap();
    let info = map_info(&map_of(&k, ro));
    assert!(info.rdonly_prog);
    assert_eq!((info.map_type, info.key_size, info.value_size, info.name.as_str()), (2, 4, 8, "m"));
    assert_eq!(info.const_value, None, "not frozen yet");
    k.bpf(BpfAttr::MapFreeze { map_fd: ro }).unwrap();
    assert_eq!(map_info(&map_of(&k, ro)).const_value, Some(v.to_vec()));
    // Programs may read it but not write it.
    let read = format!("r1 = map[fd:{ro}][0]+0\nr0 = *(u64 *)(r1 +0)\nexit");
    let fd = load(&mut k, ProgType::Syscall, &read).unwrap();
    assert_eq!(test_run(&mut k, fd, &[]).unwrap().0, 0x1122);
    let write = format!("r1 = map[fd:{ro}][0]+0\nr0 = 0\n*(u64 *)(r1 +0) = r0\nexit");
    assert_eq!(load(&mut k, ProgType::Syscall, &write), Err(Errno::EACCES));
    // Map-in-map: the inner template.
    let inner = create(&mut k, MapType::Array, 0, 0);
    let outer = create(&mut k, MapType::ArrayOfMaps, 0, inner);
    let info = map_info(&map_of(&k, outer));
    let tpl = info.inner.expect("template");
    assert_eq!((tpl.map_type, tpl.value_size, tpl.rdonly_prog), (2, 8, false));
}

#[test]
fn unprivileged_loaders_are_limited_to_bpf_maxinsns() {
    // bpf_prog_load(): insn_cnt > (bpf_cap ? BPF_COMPLEXITY_LIMIT_INSNS : BPF_MAXINSNS) is E2BIG.
    let max = bpfemu_isa::opcode::BPF_MAXINSNS;
    let body = |n: usize| format!("{}r0 = 0\nexit", "r0 = 1\n".repeat(n - 2));
    let mut k = kernel();
    let user = k.user;
    k.sim.procs.get_mut(user).unwrap().uid = 1000;
    assert!(load(&mut k, ProgType::SocketFilter, &body(max)).is_ok());
    assert_eq!(load(&mut k, ProgType::SocketFilter, &body(max + 1)), Err(Errno::E2BIG));
    // Root (CAP_BPF) goes up to the complexity limit.
    k.sim.procs.get_mut(user).unwrap().uid = 0;
    assert!(load(&mut k, ProgType::SocketFilter, &body(max + 1)).is_ok());
}
