//! The flow dissector: the native one against the assembly dissector over
//! a packet corpus (identical verdicts and keys where the assembly one
//! claims the protocol), the hook's choice of program, and
//! `BPF_PROG_TEST_RUN` for flow dissectors.

use super::flow_dissector::{BPF_DROP, BPF_OK, By, native};
use super::flow_keys::{F_PARSE_1ST_FRAG, F_STOP_AT_ENCAP, FLOW_KEYS_SIZE, FlowKeys};
use super::packet::{Frag, PacketSpec, build, corpus};
use crate::bpf::BpfAttr;
use crate::bpf::attr::{LinkCreateAttr, ProgLoadAttr, TestRunAttr, TestRunOut};
use crate::errno::Errno;
use crate::kernel::{Kernel, KernelConfig};
use crate::sim::process::NetnsId;
use crate::uapi::{AttachType, ProgType};

fn spec(layers: &str, sport: u16, dport: u16) -> PacketSpec {
    PacketSpec { layers: layers.split('/').map(String::from).collect(), sport, dport, ..Default::default() }
}

fn load(k: &mut Kernel) -> Result<i32, Errno> {
    let insns = bpfemu_isa::asm::kernel::assemble(super::dissector_asm::TCP_UDP).unwrap();
    let mut log = String::new();
    let r = k.bpf(BpfAttr::ProgLoad(ProgLoadAttr {
        prog_type: ProgType::FlowDissector.raw(),
        insns: &insns,
        license: "GPL",
        log_level: 1,
        log: Some(&mut log),
        log_size: 1 << 20,
        ..Default::default()
    }));
    assert!(r.is_ok(), "{log}");
    r.map(|fd| fd as i32)
}

#[test]
fn native_keys_for_known_packets() {
    let p = build(&spec("ipv4/tcp", 1234, 80)).unwrap();
    let (v, k) = native(&p[14..], [8, 0], 0, 0);
    assert_eq!(v, BPF_OK);
    assert_eq!(
        k.summary(),
        "nhoff=0 thoff=20 n_proto=0x0800 addr_proto=0x0800 ip_proto=6 src=10.0.0.1 dst=10.0.0.2 sport=1234 dport=80 is_frag=0 is_first_frag=0 is_encap=0 flow_label=0x00000"
    );
    let p = build(&spec("qinq/ipv6/udp", 5, 6)).unwrap();
    let (v, k) = native(&p[14..], [0x88, 0xa8], 0, 0);
    assert_eq!(v, BPF_OK);
    assert_eq!((k.nhoff, k.thoff, k.ip_proto, k.n_proto), (8, 48, 17, [0x86, 0xdd]));
    assert_eq!(k.flow_label, [0, 1, 0x23, 0x45]);
    let p = build(&spec("ipv4/gre/ipv6/tcp", 5, 6)).unwrap();
    let (v, k) = native(&p[14..], [8, 0], 0, 0);
    assert_eq!((v, k.is_encap, k.addr_proto, k.thoff), (BPF_OK, 1, 0x86dd, 20 + 4 + 40));
    let (v, k) = native(&p[14..], [8, 0], 0, F_STOP_AT_ENCAP);
    assert_eq!((v, k.is_encap, k.addr_proto, k.thoff), (BPF_OK, 1, 0x0800, 24));
    let s = PacketSpec { frag: Frag::First, ..spec("ipv4/tcp", 5, 6) };
    let p = build(&s).unwrap();
    let (_, k) = native(&p[14..], [8, 0], 0, 0);
    assert_eq!((k.is_frag, k.is_first_frag, k.sport), (1, 1, [0, 0]));
    let (_, k) = native(&p[14..], [8, 0], 0, F_PARSE_1ST_FRAG);
    assert_eq!(k.sport, [0, 5]);
    // Two VLAN tags of the same kind: dropped.
    let mut p = build(&spec("qinq/ipv4/tcp", 5, 6)).unwrap();
    p[12] = 0x81;
    p[13] = 0x00;
    assert_eq!(native(&p[14..], [0x81, 0], 0, 0).0, BPF_DROP);
}

#[test]
fn corpus_native_and_bpf_agree() {
    let mut k = Kernel::new(KernelConfig::default());
    let fd = load(&mut k).unwrap();
    let prog = k.prog_from_fd(fd).unwrap();
    let mut compared = 0;
    for flags in [0, F_PARSE_1ST_FRAG, super::flow_keys::F_STOP_AT_FLOW_LABEL] {
        for (what, frame) in corpus() {
            let proto = [frame[12], frame[13]];
            // What the assembly dissector handles: one 802.1Q tag, IPv4 or
            // IPv6 without extension headers, TCP or UDP.
            let (l3, at) = if proto == [0x81, 0] { ([frame[16], frame[17]], 18) } else { (proto, 14) };
            let claimed = match l3 {
                [8, 0] => frame.len() > at + 9 && matches!(frame[at + 9], 6 | 17),
                [0x86, 0xdd] => {
                    frame.len() > at + 6
                        && (matches!(frame[at + 6], 6 | 17)
                            || flags & super::flow_keys::F_STOP_AT_FLOW_LABEL != 0)
                }
                _ => false,
            };
            let n = native(&frame[14..], proto, 0, flags);
            let b = match k.bpf_flow_dissect(&prog, &frame[14..], proto, 0, flags) {
                Ok(b) => b,
                Err(e) => panic!("{what}: {e:?}"),
            };
            if claimed {
                assert_eq!(n.0, b.0, "{what} flags={flags}");
                assert_eq!(
                    n.1,
                    b.1,
                    "{what} flags={flags}\nnative {}\nbpf    {}",
                    n.1.summary(),
                    b.1.summary()
                );
                compared += 1;
            } else {
                assert_eq!(b.0, BPF_DROP, "{what}");
            }
        }
    }
    assert!(compared >= 30, "{compared}");
    // The same through the public comparison.
    for flags in [0, F_PARSE_1ST_FRAG] {
        let diff = k
            .flow_dissector_diff(&prog, flags, |f| {
                f[12..14] == [8, 0] && f.len() > 23 && matches!(f[23], 6 | 17)
            })
            .unwrap();
        assert!(diff.is_empty(), "{diff:#?}");
    }
}

#[test]
fn the_hook_runs_init_nets_program_first_then_the_namespaces() {
    let mut k = Kernel::new(KernelConfig::default());
    let fd = load(&mut k).unwrap();
    let pid = k.prog_from_fd(fd).unwrap().id;
    let child = k.net_unshare(k.user).unwrap();
    let ns = k.net_open_fd(k.user).unwrap();
    let icmp = build(&spec("ipv4/icmp", 0, 0)).unwrap();
    let tcp = build(&spec("ipv4/tcp", 1, 2)).unwrap();
    let d = k.flow_dissect(child, &icmp, 0).unwrap();
    assert_eq!((d.by, d.ok()), (By::Native, true));
    let l = k
        .bpf(BpfAttr::LinkCreate(LinkCreateAttr {
            prog_fd: fd,
            target_fd: ns,
            attach_type: AttachType::FlowDissector.raw(),
            ..Default::default()
        }))
        .unwrap() as i32;
    let d = k.flow_dissect(child, &icmp, 0).unwrap();
    // The program does not know ICMP: its verdict stands.
    assert_eq!((d.by, d.verdict), (By::Bpf { prog_id: pid }, BPF_DROP));
    assert_eq!(k.flow_dissect(child, &tcp, 0).unwrap().keys.dport, [0, 2]);
    // init_net has none: packets there are dissected natively.
    assert_eq!(k.flow_dissect(NetnsId(0), &icmp, 0).unwrap().by, By::Native);
    k.close(l).unwrap();
    assert_eq!(k.flow_dissect(child, &icmp, 0).unwrap().by, By::Native);
    assert_eq!(k.flow_dissect(child, &icmp[..10], 0), Err(Errno::EINVAL));
}

fn test_run(k: &mut Kernel, fd: i32, data: &[u8], ctx: &[u8], out: &mut [u8]) -> Result<TestRunOut, Errno> {
    let mut o = TestRunOut::default();
    k.bpf(BpfAttr::ProgTestRun(TestRunAttr {
        prog_fd: fd,
        data_in: data,
        data_out: Some(out),
        ctx_in: ctx,
        out: Some(&mut o),
        ..Default::default()
    }))?;
    Ok(o)
}

#[test]
fn prog_test_run_flow_dissector() {
    let mut k = Kernel::new(KernelConfig::default());
    let fd = load(&mut k).unwrap();
    let frame = build(&spec("ipv4/udp", 53, 5353)).unwrap();
    let mut out = [0u8; FLOW_KEYS_SIZE];
    let o = test_run(&mut k, fd, &frame, &[], &mut out).unwrap();
    assert_eq!((o.retval, o.data_size_out), (BPF_OK, 56));
    let keys = FlowKeys::from_bytes(&out);
    assert_eq!((keys.nhoff, keys.thoff, keys.sport, keys.dport), (14, 34, [0, 53], [0x14, 0xe9]));
    assert_eq!(keys, native(&frame, [8, 0], 14, 0).1);
    // Only flags may be set in ctx_in; too short a frame; flags/cpu.
    let mut ctx = [0u8; FLOW_KEYS_SIZE];
    ctx[48] = 1;
    assert!(test_run(&mut k, fd, &frame, &ctx, &mut out).is_ok());
    ctx[0] = 1;
    assert_eq!(test_run(&mut k, fd, &frame, &ctx, &mut out), Err(Errno::EINVAL));
    assert_eq!(test_run(&mut k, fd, &frame[..13], &[], &mut out), Err(Errno::EINVAL));
    let mut small = [0u8; 8];
    assert_eq!(test_run(&mut k, fd, &frame, &[], &mut small), Err(Errno::ENOSPC));
    assert_eq!(small, out[..8]);
    let r = k.bpf(BpfAttr::ProgTestRun(TestRunAttr {
        prog_fd: fd,
        data_in: &frame,
        cpu: 1,
        ..Default::default()
    }));
    assert_eq!(r, Err(Errno::EINVAL));
}

/// sk_lookup programs: attach order, verdicts, the regular lookup, and
/// sockets holding their namespace.
#[test]
fn sk_lookup_runs_links_in_order() {
    use super::sk_lookup::{IPPROTO_TCP, LookupReq, LookupResult};
    let mut k = Kernel::new(KernelConfig::default());
    let load_sl = |k: &mut Kernel, src: &str| {
        let insns = bpfemu_isa::asm::kernel::assemble(src).unwrap();
        k.bpf(BpfAttr::ProgLoad(ProgLoadAttr {
            prog_type: ProgType::SkLookup.raw(),
            expected_attach_type: AttachType::SkLookup.raw(),
            insns: &insns,
            license: "GPL",
            ..Default::default()
        }))
        .unwrap() as i32
    };
    // Reads local_port (offset 60) and passes; drops when it is 81.
    let pass = load_sl(&mut k, "r0 = 1\nexit");
    let drop81 = load_sl(&mut k, "r2 = *(u32 *)(r1 +60)\nr0 = 1\nif r2 != 81 goto out\nr0 = 0\nout:\nexit");
    let child = k.net_unshare(k.user).unwrap();
    let ns = k.net_open_fd(k.user).unwrap();
    let s80 = k.sock_bind(IPPROTO_TCP, "0.0.0.0:80".parse().unwrap()).unwrap();
    let exact = k.sock_bind(IPPROTO_TCP, "10.0.0.2:80".parse().unwrap()).unwrap();
    assert_eq!(k.sock_bind(IPPROTO_TCP, "10.0.0.2:80".parse().unwrap()), Err(Errno::EADDRINUSE));
    let req = |port: u16| LookupReq {
        protocol: IPPROTO_TCP,
        remote: "10.0.0.1:5555".parse().unwrap(),
        local: format!("10.0.0.2:{port}").parse().unwrap(),
    };
    assert_eq!(k.sk_lookup(child, req(80)).unwrap(), LookupResult::Regular(Some(2)));
    let sl = AttachType::SkLookup.raw();
    for p in [pass, drop81] {
        k.bpf(BpfAttr::LinkCreate(LinkCreateAttr {
            prog_fd: p,
            target_fd: ns,
            attach_type: sl,
            ..Default::default()
        }))
        .unwrap();
    }
    assert_eq!(k.sk_lookup(child, req(80)).unwrap(), LookupResult::Regular(Some(2)));
    assert_eq!(k.sk_lookup(child, req(81)).unwrap(), LookupResult::Refused);
    k.close(exact).unwrap();
    assert_eq!(k.sk_lookup(child, req(80)).unwrap(), LookupResult::Regular(Some(1)));
    // The socket holds the namespace after the process and the fd left it.
    k.net_switch(k.user, crate::net::netns::NetRef::get(k.net.init_net()).unwrap());
    k.close(ns).unwrap();
    assert!(k.net_cleanup().is_empty());
    k.close(s80).unwrap();
    assert_eq!(k.net_cleanup(), [child]);
}
