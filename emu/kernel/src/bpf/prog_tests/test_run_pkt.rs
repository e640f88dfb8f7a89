//! `BPF_PROG_TEST_RUN` of packet programs (skb and XDP) and the ctx
//! rewrite they rely on, on both engines where the JIT exists.

use super::*;

/// An IPv4/UDP frame: dst MAC 02:.., 10.0.0.1 → 10.0.0.2.
fn frame() -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0];
    f.extend_from_slice(&[0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    f.extend_from_slice(&[0, 53, 0, 54, 0, 8, 0, 0]);
    f
}

struct Run {
    out: TestRunOut,
    data: Vec<u8>,
    ctx: Vec<u8>,
}

fn run(k: &mut Kernel, fd: i32, data: &[u8], ctx: &[u8], ctx_out: usize) -> Result<Run, Errno> {
    let mut out = TestRunOut::default();
    let mut d = vec![0u8; data.len()];
    let mut c = vec![0u8; ctx_out];
    k.bpf(BpfAttr::ProgTestRun(TestRunAttr {
        prog_fd: fd,
        data_in: data,
        data_out: Some(&mut d),
        ctx_in: ctx,
        ctx_out: (ctx_out > 0).then_some(&mut c[..]),
        out: Some(&mut out),
        ..Default::default()
    }))?;
    Ok(Run { out, data: d, ctx: c })
}

fn engines() -> Vec<bool> {
    if cfg!(target_arch = "x86_64") { vec![false, true] } else { vec![false] }
}

fn kernel_with(jit: bool) -> Kernel {
    let mut k = kernel();
    if k.jit_enable() != jit {
        k.set_jit_enable(jit).unwrap();
    }
    k
}

/// A tc program: bounds-checked read of the Ethernet type's first byte,
/// `mark = 7`, `cb[0] = len`, returns the byte plus `protocol`'s low byte
/// (a narrow load) times 256.
const TC: &str = "
    r2 = *(u32 *)(r1 +76)
    r3 = *(u32 *)(r1 +80)
    r4 = r2
    r4 += 14
    if r4 > r3 goto drop
    r0 = *(u8 *)(r2 +12)
    r5 = 7
    *(u32 *)(r1 +8) = r5
    r5 = *(u32 *)(r1 +0)
    *(u32 *)(r1 +48) = r5
    r6 = *(u8 *)(r1 +17)
    r6 <<= 8
    r0 += r6
    exit
drop:
    r0 = 2
    exit
";

#[test]
fn sched_cls_runs_on_the_kernel_skb() {
    for jit in engines() {
        let mut k = kernel_with(jit);
        let fd = load(&mut k, ProgType::SchedCls, TC).unwrap();
        let f = frame();
        let r = run(&mut k, fd, &f, &[0u8; 192], 192).unwrap();
        // byte 12 of the frame (0x08) + (protocol byte 1 = 0x00) << 8
        assert_eq!(r.out.retval, 8, "jit={jit}");
        assert_eq!(r.out.data_size_out, f.len() as u32);
        assert_eq!(r.data, f);
        assert_eq!(r.out.ctx_size_out, 192);
        assert_eq!(&r.ctx[8..12], &7u32.to_le_bytes());
        assert_eq!(&r.ctx[48..52], &(f.len() as u32).to_le_bytes());
        // ingress_ifindex stays, ifindex is the loopback device.
        assert_eq!(&r.ctx[40..44], &1u32.to_le_bytes());
        assert_eq!(u64::from(r.out.duration), Kernel::prog_run_cost(&prog_of(&k, fd)));
        // No ctx at all: still runs.
        assert_eq!(run(&mut k, fd, &f, &[], 0).unwrap().out.retval, 8);
    }
}

#[test]
fn xlated_shows_the_rewrite() {
    use crate::progtype::convert::kern;
    let mut k = kernel();
    let fd = load(&mut k, ProgType::SchedCls, TC).unwrap();
    let p = prog_of(&k, fd);
    // data and data_end are 64-bit loads of the kernel struct.
    assert_eq!(p.xlated[0], Insn::new(0x79, 2, 1, kern::SKB_DATA as i16, 0));
    assert_eq!(p.xlated[1], Insn::new(0x79, 3, 1, kern::SKB_DATA_END as i16, 0));
    // The narrow protocol load became a word load, a shift by 8 and a mask.
    let at = p.xlated.iter().position(|i| *i == Insn::new(0x61, 6, 1, 16, 0)).unwrap();
    assert_eq!(p.xlated[at + 1], Insn::new(0x74, 6, 0, 0, 8));
    assert_eq!(p.xlated[at + 2], Insn::new(0x54, 6, 0, 0, 0xff));
    assert_eq!(p.xlated.len(), asm(TC).len() + 2);
    // The jump over the grown part still lands on `drop`.
    let j = p.xlated[4];
    assert_eq!(p.xlated[4 + 1 + j.off as usize], Insn::new(0xb7, 0, 0, 0, 2));
}

#[test]
fn socket_filter_sees_the_network_header() {
    for jit in engines() {
        let mut k = kernel_with(jit);
        // len, then pkt_type (other host) and family (AF_INET) and the
        // local address (source) through the ctx.
        let fd = load(&mut k, ProgType::SocketFilter, "r0 = *(u32 *)(r1 +0)\nexit").unwrap();
        let f = frame();
        let r = run(&mut k, fd, &f, &[], 0).unwrap();
        assert_eq!(r.out.retval, (f.len() - 14) as u32);
        // The Ethernet header comes back blank.
        assert_eq!(&r.data[..14], &[0u8; 14]);
        assert_eq!(&r.data[14..], &f[14..]);
        let fd = load(&mut k, ProgType::SocketFilter, "r0 = *(u32 *)(r1 +4)\nexit").unwrap();
        assert_eq!(run(&mut k, fd, &f, &[], 0).unwrap().out.retval, 3);
    }
    let mut k = kernel();
    // No packet pointers for cgroup_skb in a test run: data_end is 0.
    let src = "r2 = *(u32 *)(r1 +76)\nr3 = *(u32 *)(r1 +80)\nr0 = 1\nif r3 == 0 goto out\nr0 = 0\nout:\nexit";
    let fd = load(&mut k, ProgType::CgroupSkb, src).unwrap();
    assert_eq!(run(&mut k, fd, &frame(), &[], 0).unwrap().out.retval, 1);
    // family (AF_INET), local_ip4 (the source, 10.0.0.1), remote_ip4.
    for (off, want) in [(88, 2u32), (96, 0x0100_000a), (92, 0x0200_000a)] {
        let src = format!("r2 = *(u32 *)(r1 +{off})\nr0 = 0\nif r2 != {want} goto out\nr0 = 1\nout:\nexit");
        let fd = load(&mut k, ProgType::CgroupSkb, &src).unwrap();
        assert_eq!(run(&mut k, fd, &frame(), &[], 0).unwrap().out.retval, 1, "{off}");
    }
}

#[test]
fn skb_errnos() {
    let mut k = kernel();
    let fd = load(&mut k, ProgType::SchedCls, "r0 = 0\nexit").unwrap();
    let f = frame();
    let err = |k: &mut Kernel, a: TestRunAttr<'_>| k.bpf(BpfAttr::ProgTestRun(a)).unwrap_err();
    assert_eq!(run(&mut k, fd, &f[..13], &[], 0).err(), Some(Errno::EINVAL));
    assert_eq!(run(&mut k, fd, &[0u8; 3713], &[], 0).err(), Some(Errno::EINVAL));
    assert!(run(&mut k, fd, &[0u8; 3712], &[], 0).is_ok());
    for a in [
        TestRunAttr { prog_fd: fd, data_in: &f, flags: 1, ..Default::default() },
        TestRunAttr { prog_fd: fd, data_in: &f, cpu: 1, ..Default::default() },
        TestRunAttr { prog_fd: fd, data_in: &f, batch_size: 1, ..Default::default() },
    ] {
        assert_eq!(err(&mut k, a), Errno::EINVAL);
    }
    let mut ctx = vec![0u8; 200];
    ctx[196] = 1;
    assert_eq!(run(&mut k, fd, &f, &ctx, 0).err(), Some(Errno::E2BIG));
    let bad = |at: usize, v: u32| {
        let mut c = vec![0u8; 192];
        c[at..at + 4].copy_from_slice(&v.to_le_bytes());
        c
    };
    // len, protocol, tc_index, data, sk: not allowed.
    for at in [0, 16, 44, 76, 168] {
        assert_eq!(run(&mut k, fd, &f, &bad(at, 1), 0).err(), Some(Errno::EINVAL), "{at}");
    }
    // mark, priority, cb, gso_size: allowed; ifindex 1 too, 2 is no device.
    for at in [8, 32, 48, 176] {
        assert!(run(&mut k, fd, &f, &bad(at, 1), 0).is_ok(), "{at}");
    }
    assert!(run(&mut k, fd, &f, &bad(40, 1), 0).is_ok());
    assert_eq!(run(&mut k, fd, &f, &bad(40, 2), 0).err(), Some(Errno::ENODEV));
    // wire_len below the packet length, gso_segs over the limit.
    assert_eq!(run(&mut k, fd, &f, &bad(160, 5), 0).err(), Some(Errno::EINVAL));
    assert!(run(&mut k, fd, &f, &bad(160, 100), 0).is_ok());
    assert_eq!(run(&mut k, fd, &f, &bad(164, 65536), 0).err(), Some(Errno::EINVAL));
    // Short buffers: ENOSPC, with the sizes reported.
    let mut out = TestRunOut::default();
    let mut d = [0u8; 10];
    let a = TestRunAttr {
        prog_fd: fd,
        data_in: &f,
        data_out: Some(&mut d),
        out: Some(&mut out),
        ..Default::default()
    };
    assert_eq!(err(&mut k, a), Errno::ENOSPC);
    assert_eq!((out.data_size_out, &d[..]), (f.len() as u32, &f[..10]));
    assert_eq!(run(&mut k, fd, &f, &[0u8; 192], 100).err(), Some(Errno::ENOSPC));
}

/// An XDP program returning `data_end - data` + 1000 * (`data - data_meta`)
/// + 100000 * `ingress_ifindex`.
const XDP: &str = "
    r2 = *(u32 *)(r1 +0)
    r3 = *(u32 *)(r1 +4)
    r4 = *(u32 *)(r1 +8)
    r5 = *(u32 *)(r1 +12)
    r0 = r3
    r0 -= r2
    r2 -= r4
    r2 *= 1000
    r0 += r2
    r5 *= 100000
    r0 += r5
    exit
";

#[test]
fn xdp_runs_with_headroom_and_metadata() {
    for jit in engines() {
        let mut k = kernel_with(jit);
        let fd = load(&mut k, ProgType::Xdp, XDP).unwrap();
        let f = frame();
        let r = run(&mut k, fd, &f, &[], 0).unwrap();
        assert_eq!(r.out.retval, 100_000 + f.len() as u32, "jit={jit}");
        assert_eq!(r.data, f);
        // 8 bytes of metadata: data_in starts with them.
        let mut ctx = vec![0u8; 24];
        ctx[0..4].copy_from_slice(&8u32.to_le_bytes());
        ctx[4..8].copy_from_slice(&(f.len() as u32).to_le_bytes());
        let r = run(&mut k, fd, &f, &ctx, 24).unwrap();
        assert_eq!(r.out.retval, 100_000 + 8000 + f.len() as u32 - 8);
        assert_eq!(r.data, f);
        assert_eq!(r.ctx, ctx);
        assert_eq!(r.out.ctx_size_out, 24);
    }
}

#[test]
fn xdp_errnos() {
    let mut k = kernel();
    let fd = load(&mut k, ProgType::Xdp, "r0 = 2\nexit").unwrap();
    let f = frame();
    let n = f.len() as u32;
    let ctx = |vals: [u32; 6]| vals.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
    for (c, e) in [
        (ctx([0, n, 4, 0, 0, 0]), Errno::EINVAL),     // data_meta
        (ctx([0, n - 1, 0, 0, 0, 0]), Errno::EINVAL), // data_end
        (ctx([3, n, 0, 0, 0, 0]), Errno::EINVAL),     // metadata length
        (ctx([36, n, 0, 0, 0, 0]), Errno::EINVAL),    // over 32
        (ctx([0, n, 0, 0, 0, 1]), Errno::EINVAL),     // egress_ifindex
        (ctx([0, n, 0, 0, 1, 0]), Errno::EINVAL),     // queue without device
        (ctx([0, n, 0, 2, 0, 0]), Errno::ENODEV),
        (ctx([0, n, 0, 1, 1, 0]), Errno::EINVAL), // lo has one queue
    ] {
        assert_eq!(run(&mut k, fd, &f, &c, 0).err(), Some(e), "{c:?}");
    }
    assert!(run(&mut k, fd, &f, &ctx([0, n, 0, 1, 0, 0]), 0).is_ok());
    assert_eq!(run(&mut k, fd, &f[..13], &[], 0).err(), Some(Errno::EINVAL));
    assert_eq!(run(&mut k, fd, &vec![0u8; 4000], &[], 0).err(), Some(Errno::ENOTSUPP));
    let err = |k: &mut Kernel, a: TestRunAttr<'_>| k.bpf(BpfAttr::ProgTestRun(a)).unwrap_err();
    assert_eq!(
        err(&mut k, TestRunAttr { prog_fd: fd, data_in: &f, flags: 1, ..Default::default() }),
        Errno::EINVAL
    );
    assert_eq!(
        err(&mut k, TestRunAttr { prog_fd: fd, data_in: &f, batch_size: 1, ..Default::default() }),
        Errno::EINVAL
    );
    assert_eq!(
        err(&mut k, TestRunAttr { prog_fd: fd, data_in: &f, flags: 2, ..Default::default() }),
        Errno::ENOTSUPP
    );
}

#[test]
fn callbacks_follow_a_grown_program() {
    // A narrow load (3 instructions after the rewrite) before a bpf_loop
    // whose callback address must move with it.
    let src = "
        r6 = r1
        r7 = *(u8 *)(r6 +1)
        *(u64 *)(r10 -8) = 0
        r1 = 3
        r2 = subprog[+8]
        r3 = r10
        r3 += -8
        r4 = 0
        call 181
        r0 = *(u64 *)(r10 -8)
        r0 += r7
        exit
        r3 = *(u64 *)(r2 +0)
        r3 += r1
        *(u64 *)(r2 +0) = r3
        r0 = 0
        exit";
    for jit in engines() {
        let mut k = kernel_with(jit);
        let fd = load_cb(&mut k, ProgType::SchedCls, src).unwrap();
        assert_eq!(prog_of(&k, fd).xlated.len(), asm(src).len() + 2);
        let mut f = frame();
        f.resize(300, 0);
        // 0 + 1 + 2 from the loop, plus len (300 = 0x12c) byte 1.
        assert_eq!(run(&mut k, fd, &f, &[], 0).unwrap().out.retval, 4, "jit={jit}");
    }
}

#[test]
fn sign_extending_ctx_loads() {
    // mark's low byte and low half, sign-extended: a load, a mask and a
    // sign-extending mov each.
    let src = "r2 = *(s8 *)(r1 +8)\nr3 = *(s16 *)(r1 +8)\nr0 = r2\nr0 += r3\nexit";
    for jit in engines() {
        let mut k = kernel_with(jit);
        let fd = load(&mut k, ProgType::SchedCls, src).unwrap();
        assert_eq!(prog_of(&k, fd).xlated.len(), asm(src).len() + 4);
        let mut ctx = vec![0u8; 192];
        ctx[8..12].copy_from_slice(&0x0000_80ffu32.to_le_bytes());
        // -1 + (-32513)
        let r = run(&mut k, fd, &frame(), &ctx, 0).unwrap();
        assert_eq!(r.out.retval as i32, -1 - 32513, "jit={jit}");
    }
}
