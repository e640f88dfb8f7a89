//! The flow dissector (net/core/flow_dissector.c `__skb_flow_dissect()`,
//! `bpf_flow_dissect()`; net/bpf/test_run.c
//! `bpf_prog_test_run_flow_dissector()`).
//!
//! The hook: for a packet in namespace N, the program attached in
//! `init_net` runs if there is one, else N's (the run array's first
//! program). It gets the packet (`data`, `data_end`) and `flow_keys`, zeroed
//! but for `n_proto`, `nhoff`, `thoff` (= `nhoff`) and `flags`; afterwards
//! `nhoff` is clamped into `[nhoff, hlen]` and `thoff` into `[nhoff,
//! hlen]`. Its verdict decides: `BPF_OK` dissected, `BPF_FLOW_DISSECTOR_CONTINUE`
//! hands the packet to the native dissector, anything else fails the
//! dissection. Without a program the native dissector runs. The program
//! runs on the emulated `struct bpf_flow_dissector`
//! ([`crate::progtype::convert::kern::SkBuffKern`]) its `data`,
//! `data_end` and `flow_keys` loads were rewritten for.
//!
//! The native dissector fills `bpf_flow_keys` with the same rules as the
//! kernel selftests' BPF dissector (tools/testing/selftests/bpf/progs/
//! bpf_flow.c), so the two can be compared key for key: Ethernet type
//! dispatch, 802.1ad + 802.1Q (no triple tagging), IPv4 (header length,
//! fragments, `PARSE_1ST_FRAG`), IPv6 (flow label, `STOP_AT_FLOW_LABEL`,
//! hop-by-hop / destination options, fragment header), IP-in-IP and GRE
//! version 0 (checksum, key, sequence fields, transparent Ethernet
//! bridging; `STOP_AT_ENCAP`), MPLS (label only), TCP (data offset), UDP,
//! UDP-Lite, ICMP; other protocols `BPF_DROP`. The chain of headers is
//! bounded like bpf_flow.c's tail calls (33).
//!
//! Not emulated: the kernel's own C dissector's other outputs (flow hash,
//! `flow_dissector` key sets, PPPoE, TIPC, ...), `bpf_skb_load_bytes` from
//! non-linear data (packets are linear here).

use super::flow_keys::{F_PARSE_1ST_FRAG, F_STOP_AT_ENCAP, F_STOP_AT_FLOW_LABEL, FLOW_KEYS_SIZE, FlowKeys};
use super::netns_bpf::NetnsType;
use super::packet::{ETH_HLEN, ETH_P_8021AD, ETH_P_8021Q, ETH_P_IP, ETH_P_IPV6, ETH_P_TEB};
use crate::bpf::prog::Prog;
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::progtype::convert::kern::KernCtx;
use crate::progtype::skb::off;
use crate::sim::process::NetnsId;
use bpfemu_vm::MemRegion;
use std::sync::Arc;

/// `BPF_OK`.
pub const BPF_OK: u32 = 0;
/// `BPF_DROP`.
pub const BPF_DROP: u32 = 2;
/// `BPF_FLOW_DISSECTOR_CONTINUE`.
pub const BPF_FLOW_DISSECTOR_CONTINUE: u32 = 129;

/// Who dissected a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    Bpf { prog_id: u32 },
    Native,
}

/// The result of dissecting one packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dissection {
    pub by: By,
    /// The verdict (`BPF_OK`, `BPF_DROP`, ...).
    pub verdict: u32,
    pub keys: FlowKeys,
}

impl Dissection {
    /// `__skb_flow_dissect()`'s boolean result.
    pub fn ok(&self) -> bool {
        self.verdict == BPF_OK
    }
}

/// The tail-call budget bpf_flow.c's header chain runs under.
const MAX_CHAIN: u32 = 33;

struct Native<'a> {
    data: &'a [u8],
    k: FlowKeys,
    chain: u32,
}

impl Native<'_> {
    /// `bpf_flow_dissect_get_header()`: `size` bytes at `thoff`, if inside.
    fn header(&self, size: usize) -> Option<&[u8]> {
        let t = usize::from(self.k.thoff);
        if t > usize::from(u16::MAX) - size {
            return None;
        }
        self.data.get(t..t + size)
    }

    fn add_thoff(&mut self, n: usize) {
        self.k.thoff = self.k.thoff.wrapping_add(n as u16);
    }

    /// One "tail call" to a header parser; `false` when over budget.
    fn chain(&mut self) -> bool {
        self.chain += 1;
        self.chain <= MAX_CHAIN
    }

    fn eth_proto(&mut self, proto: [u8; 2]) -> u32 {
        if !self.chain() {
            return BPF_DROP;
        }
        match u16::from_be_bytes(proto) {
            ETH_P_IP => self.ipv4(),
            ETH_P_IPV6 => self.ipv6(),
            0x8847 | 0x8848 => self.header(4).map_or(BPF_DROP, |_| BPF_OK),
            ETH_P_8021Q | ETH_P_8021AD => self.vlan(),
            _ => BPF_DROP,
        }
    }

    fn ipv4(&mut self) -> u32 {
        let Some(h) = self.header(20).map(<[u8]>::to_vec) else { return BPF_DROP };
        let ihl = h[0] & 0xf;
        if ihl < 5 {
            return BPF_DROP;
        }
        self.k.addr_proto = ETH_P_IP;
        self.k.addrs[..8].copy_from_slice(&h[12..20]);
        self.k.ip_proto = h[9];
        self.add_thoff(usize::from(ihl) << 2);
        if usize::from(self.k.thoff) > self.data.len() {
            return BPF_DROP;
        }
        let frag_off = u16::from_be_bytes([h[6], h[7]]);
        let mut done = false;
        if frag_off & 0x3fff != 0 {
            self.k.is_frag = 1;
            if frag_off & 0x1fff != 0 {
                done = true;
            } else {
                self.k.is_first_frag = 1;
                done = self.k.flags & F_PARSE_1ST_FRAG == 0;
            }
        }
        if done { BPF_OK } else { self.ip_proto(h[9]) }
    }

    fn ipv6(&mut self) -> u32 {
        let Some(h) = self.header(40).map(<[u8]>::to_vec) else { return BPF_DROP };
        self.k.addr_proto = ETH_P_IPV6;
        self.k.addrs.copy_from_slice(&h[8..40]);
        self.add_thoff(40);
        self.k.ip_proto = h[6];
        self.k.flow_label = [0, h[1] & 0x0f, h[2], h[3]];
        if self.k.flags & F_STOP_AT_FLOW_LABEL != 0 {
            return BPF_OK;
        }
        self.ipv6_proto(h[6])
    }

    fn ipv6_proto(&mut self, next: u8) -> u32 {
        match next {
            0 | 60 => {
                if !self.chain() {
                    return BPF_DROP;
                }
                let Some(h) = self.header(2).map(<[u8]>::to_vec) else { return BPF_DROP };
                self.add_thoff((1 + usize::from(h[1])) << 3);
                self.k.ip_proto = h[0];
                self.ipv6_proto(h[0])
            }
            44 => {
                if !self.chain() {
                    return BPF_DROP;
                }
                let Some(h) = self.header(8).map(<[u8]>::to_vec) else { return BPF_DROP };
                self.add_thoff(8);
                self.k.is_frag = 1;
                self.k.ip_proto = h[0];
                if u16::from_be_bytes([h[2], h[3]]) & 0xfff8 == 0 {
                    self.k.is_first_frag = 1;
                    if self.k.flags & F_PARSE_1ST_FRAG == 0 {
                        return BPF_OK;
                    }
                } else {
                    return BPF_OK;
                }
                self.ipv6_proto(h[0])
            }
            p => self.ip_proto(p),
        }
    }

    fn ip_proto(&mut self, proto: u8) -> u32 {
        match proto {
            1 => self.header(8).map_or(BPF_DROP, |_| BPF_OK),
            4 | 41 => {
                self.k.is_encap = 1;
                if self.k.flags & F_STOP_AT_ENCAP != 0 {
                    return BPF_OK;
                }
                self.eth_proto(if proto == 4 { ETH_P_IP } else { ETH_P_IPV6 }.to_be_bytes())
            }
            47 => {
                let Some(g) = self.header(4).map(<[u8]>::to_vec) else { return BPF_DROP };
                let flags = u16::from_be_bytes([g[0], g[1]]);
                if flags & 0x0007 != 0 {
                    return BPF_OK;
                }
                self.add_thoff(4);
                for bit in [0x8000, 0x2000, 0x1000] {
                    if flags & bit != 0 {
                        self.add_thoff(4);
                    }
                }
                self.k.is_encap = 1;
                if self.k.flags & F_STOP_AT_ENCAP != 0 {
                    return BPF_OK;
                }
                if u16::from_be_bytes([g[2], g[3]]) == ETH_P_TEB {
                    let Some(e) = self.header(ETH_HLEN).map(<[u8]>::to_vec) else { return BPF_DROP };
                    self.add_thoff(ETH_HLEN);
                    self.eth_proto([e[12], e[13]])
                } else {
                    self.eth_proto([g[2], g[3]])
                }
            }
            6 => {
                let Some(t) = self.header(20).map(<[u8]>::to_vec) else { return BPF_DROP };
                let doff = usize::from(t[12] >> 4);
                if doff < 5 || usize::from(self.k.thoff) + (doff << 2) > self.data.len() {
                    return BPF_DROP;
                }
                self.k.sport = [t[0], t[1]];
                self.k.dport = [t[2], t[3]];
                BPF_OK
            }
            17 | 136 => {
                let Some(u) = self.header(8).map(<[u8]>::to_vec) else { return BPF_DROP };
                self.k.sport = [u[0], u[1]];
                self.k.dport = [u[2], u[3]];
                BPF_OK
            }
            _ => BPF_DROP,
        }
    }

    fn vlan(&mut self) -> u32 {
        if u16::from_be_bytes(self.k.n_proto) == ETH_P_8021AD {
            let Some(v) = self.header(4).map(<[u8]>::to_vec) else { return BPF_DROP };
            if u16::from_be_bytes([v[2], v[3]]) != ETH_P_8021Q {
                return BPF_DROP;
            }
            self.k.nhoff = self.k.nhoff.wrapping_add(4);
            self.add_thoff(4);
        }
        let Some(v) = self.header(4).map(<[u8]>::to_vec) else { return BPF_DROP };
        self.k.nhoff = self.k.nhoff.wrapping_add(4);
        self.add_thoff(4);
        let inner = u16::from_be_bytes([v[2], v[3]]);
        if inner == ETH_P_8021AD || inner == ETH_P_8021Q {
            return BPF_DROP;
        }
        self.k.n_proto = [v[2], v[3]];
        self.eth_proto([v[2], v[3]])
    }
}

/// The keys a dissection starts from (`bpf_flow_dissect()`'s setup).
fn initial_keys(proto: [u8; 2], nhoff: u16, flags: u32) -> FlowKeys {
    FlowKeys { n_proto: proto, nhoff, thoff: nhoff, flags, ..Default::default() }
}

/// `bpf_flow_dissect()`'s clamping after the dissector ran.
fn clamp(k: &mut FlowKeys, nhoff: u16, hlen: usize) {
    let hlen = hlen.min(usize::from(u16::MAX)) as u16;
    k.nhoff = k.nhoff.clamp(nhoff, hlen.max(nhoff));
    k.thoff = k.thoff.clamp(k.nhoff, hlen.max(k.nhoff));
}

/// The native dissector over `data` (from the `data` pointer on).
pub fn native(data: &[u8], proto: [u8; 2], nhoff: u16, flags: u32) -> (u32, FlowKeys) {
    let mut n = Native { data, k: initial_keys(proto, nhoff, flags), chain: 0 };
    let v = n.eth_proto(proto);
    let mut k = n.k;
    clamp(&mut k, nhoff, data.len());
    (v, k)
}

impl Kernel {
    /// `bpf_flow_dissect()`: runs `prog` on `data` with `flow_keys` set up
    /// for (`proto`, `nhoff`, `flags`); returns its verdict and the keys.
    pub fn bpf_flow_dissect(
        &mut self,
        prog: &Arc<Prog>,
        data: &[u8],
        proto: [u8; 2],
        nhoff: u16,
        flags: u32,
    ) -> Result<(u32, FlowKeys), Errno> {
        let pkt = data.to_vec();
        let mut keys = initial_keys(proto, nhoff, flags).to_bytes();
        // `struct bpf_flow_dissector`: the program's `data`/`data_end`
        // loads were rewritten into 64-bit loads of it.
        let mut ctx = KernCtx::skb();
        let start = pkt.as_ptr() as u64;
        ctx.set_packet(start, start, start + pkt.len() as u64);
        ctx.set_u64(off::FLOW_KEYS, keys.as_ptr() as u64);
        let ctx_addr = ctx.addr();
        let regions = [
            MemRegion::from_slice("ctx", &ctx.bytes),
            MemRegion::from_slice("packet", &pkt),
            MemRegion::from_mut_slice("flow_keys", &mut keys),
        ];
        let verdict = self.run_prog(prog, &[ctx_addr], &regions)? as u32;
        drop(regions);
        let mut k = FlowKeys::from_bytes(&keys);
        clamp(&mut k, nhoff, data.len());
        Ok((verdict, k))
    }

    /// The flow-dissector hook for a frame (from its Ethernet header)
    /// received in namespace `net`: as after `eth_type_trans()`, the
    /// dissector sees the data after the Ethernet header (`nhoff` 0) and
    /// `skb->protocol`. `EINVAL` for a frame shorter than an Ethernet
    /// header; a failing program run is `EFAULT`.
    pub fn flow_dissect(&mut self, net: NetnsId, frame: &[u8], flags: u32) -> Result<Dissection, Errno> {
        if frame.len() < ETH_HLEN {
            return Err(Errno::EINVAL);
        }
        let proto = [frame[12], frame[13]];
        let data = &frame[ETH_HLEN..];
        let t = NetnsType::FlowDissector;
        let run = self.net.bpf.run_array(NetnsId(0), t).or_else(|| self.net.bpf.run_array(net, t));
        if let Some(prog) = run.as_ref().and_then(|ra| ra.first()).cloned() {
            let (verdict, keys) = self.bpf_flow_dissect(&prog, data, proto, 0, flags)?;
            if verdict != BPF_FLOW_DISSECTOR_CONTINUE {
                return Ok(Dissection { by: By::Bpf { prog_id: prog.id }, verdict, keys });
            }
        }
        let (verdict, keys) = native(data, proto, 0, flags);
        Ok(Dissection { by: By::Native, verdict, keys })
    }
}

impl Kernel {
    /// Runs every frame of [`super::packet::corpus`] that `claims` accepts
    /// through `prog` and the native dissector with `flags` (as the hook
    /// does: data after the Ethernet header) and lists the differences in
    /// verdict or keys, one line each. For comparing a BPF dissector such
    /// as bpf_flow.c's with the native one.
    pub fn flow_dissector_diff(
        &mut self,
        prog: &Arc<Prog>,
        flags: u32,
        claims: impl Fn(&[u8]) -> bool,
    ) -> Result<Vec<String>, Errno> {
        let mut out = Vec::new();
        for (what, frame) in super::packet::corpus() {
            if !claims(&frame) {
                continue;
            }
            let proto = [frame[12], frame[13]];
            let (nv, nk) = native(&frame[ETH_HLEN..], proto, 0, flags);
            let (bv, bk) = self.bpf_flow_dissect(prog, &frame[ETH_HLEN..], proto, 0, flags)?;
            if (nv, nk) != (bv, bk) {
                out.push(format!(
                    "{what} flags={flags}: native {nv} {} / bpf {bv} {}",
                    nk.summary(),
                    bk.summary()
                ));
            }
        }
        Ok(out)
    }
}

/// `bpf_prog_test_run_flow_dissector()`'s size rule: at least an Ethernet
/// header, at most a page (`bpf_test_init()` with no head- or tailroom).
pub fn test_run_size_ok(len: usize) -> bool {
    (ETH_HLEN..=4096).contains(&len)
}

/// `verify_user_bpf_flow_keys()`: only `flags` may be set in `ctx_in`.
pub fn user_keys_flags(ctx: &[u8]) -> Result<u32, Errno> {
    let mut k = [0u8; FLOW_KEYS_SIZE];
    let n = ctx.len().min(FLOW_KEYS_SIZE);
    k[..n].copy_from_slice(&ctx[..n]);
    if ctx[n..].iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    let keys = FlowKeys::from_bytes(&k);
    if (FlowKeys { flags: 0, ..keys }) != FlowKeys::default() {
        return Err(Errno::EINVAL);
    }
    Ok(keys.flags)
}
