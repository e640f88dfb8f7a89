//! `BPF_PROG_LOAD`: attribute checks, relocation, the verifier stand-in,
//! the tag, ids and fds.

use super::*;
use crate::bpf::load::check::STAND_IN_NOTE;
use crate::bpf::load::tag::calc_tag;

#[test]
fn loads_and_publishes() {
    let mut k = kernel();
    let fd = load(&mut k, ProgType::Syscall, "r0 = 42\nexit").unwrap();
    let p = prog_of(&k, fd);
    assert_eq!(p.id, 1);
    assert!(!p.verified);
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
fn structural_errnos() {
    let mut k = kernel();
    // Undecodable instruction.
    let bad = [Insn::new(0xff, 0, 0, 0, 0), Insn::new(0x95, 0, 0, 0, 0)];
    assert_eq!(k.bpf(BpfAttr::ProgLoad(load_attr(ProgType::Syscall, &bad))), Err(Errno::EINVAL));
    // Jump out of range.
    assert_eq!(load(&mut k, ProgType::Syscall, "goto +5\nexit"), Err(Errno::EINVAL));
    // Last insn not exit.
    assert_eq!(load(&mut k, ProgType::Syscall, "r0 = 0"), Err(Errno::EINVAL));
    assert_eq!(load(&mut k, ProgType::Syscall, "r0 = 0\nexit\nr0 = 1"), Err(Errno::EINVAL));
    // Subprogram not ending in exit.
    assert_eq!(load(&mut k, ProgType::Syscall, "call f\nexit\nf:\nr0 = 1"), Err(Errno::EINVAL));
    load(&mut k, ProgType::Syscall, "call f\nexit\nf:\nr0 = 1\nexit").unwrap();
    // Ending in a jump is fine.
    load(&mut k, ProgType::Syscall, "r0 = 0\nexit\ngoto -2").unwrap();
    // r10 writes.
    assert_eq!(load(&mut k, ProgType::Syscall, "r10 = 1\nr0 = 0\nexit"), Err(Errno::EACCES));
    assert_eq!(load(&mut k, ProgType::Syscall, "r10 += 8\nr0 = 0\nexit"), Err(Errno::EACCES));
    assert_eq!(load(&mut k, ProgType::Syscall, "r10 = *(u64 *)(r1 +0)\nr0 = 0\nexit"), Err(Errno::EACCES));
    // Stores through r10 are fine.
    load(&mut k, ProgType::Syscall, "*(u64 *)(r10 -8) = 1\nr0 = 0\nexit").unwrap();
    // Unknown helpers load (and fail when run).
    load(&mut k, ProgType::Syscall, "call 100000\nexit").unwrap();
}

#[test]
fn log_gets_the_stand_in_note_and_errors() {
    let mut k = kernel();
    let insns = asm("r10 = 1\nexit");
    let mut log = String::new();
    let mut a = load_attr(ProgType::Syscall, &insns);
    a.log = Some(&mut log);
    a.log_level = 1;
    a.log_size = 4096;
    assert_eq!(k.bpf(BpfAttr::ProgLoad(a)), Err(Errno::EACCES));
    assert!(log.starts_with(STAND_IN_NOTE), "{log}");
    assert!(log.contains("frame pointer is read only"), "{log}");

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
    // A log too small for the note: ENOSPC, with the truncated text.
    let mut log = String::new();
    let mut a = load_attr(ProgType::Syscall, &insns);
    a.log = Some(&mut log);
    a.log_level = 1;
    a.log_size = 10;
    assert_eq!(k.bpf(BpfAttr::ProgLoad(a)), Err(Errno::ENOSPC));
    assert_eq!(log.len(), 9);
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
    assert!(load(&mut k, ProgType::Syscall, "r1 = subprog[+2]\nr0 = 0\nexit\nr0 = 1\nexit").is_ok());
    // A truncated ld_imm64.
    let trunc = [Insn::new(0x18, 1, 1, 0, mfd)];
    assert_eq!(k.bpf(BpfAttr::ProgLoad(load_attr(ProgType::Syscall, &trunc))), Err(Errno::EINVAL));
}

#[test]
fn tag_matches_sha1_of_the_insns() {
    // SHA-1 of the 16 bytes of `r0 = 0; exit`.
    let insns = asm("r0 = 0\nexit");
    let bytes = bpfemu_isa::insns_to_bytes(&insns);
    assert_eq!(bytes, [0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
    let tag = calc_tag(&insns);
    use sha1::{Digest, Sha1};
    assert_eq!(&tag[..], &Sha1::digest(&bytes)[..8]);
    // Map fds are blanked: the tag of fd 3 and fd 4 loads agree.
    let a = asm("r1 = map[fd:3]\nr0 = 0\nexit");
    let b = asm("r1 = map[fd:4]\nr0 = 0\nexit");
    assert_eq!(calc_tag(&a), calc_tag(&b));
    let c = asm("r1 = map[idx:3]\nr0 = 0\nexit");
    let d = asm("r1 = map[idx:4]\nr0 = 0\nexit");
    assert_ne!(calc_tag(&c), calc_tag(&d), "only MAP_FD / MAP_VALUE are blanked");
}
