//! Sockets and the sk_lookup hook (net/core/filter.c `BPF_PROG_TYPE_SK_LOOKUP`,
//! include/linux/filter.h `BPF_PROG_SK_LOOKUP_RUN_ARRAY()`,
//! net/ipv4/inet_hashtables.c `inet_lookup_run_sk_lookup()`,
//! `__inet_lookup_listener()`, net/ipv4/udp.c).
//!
//! Sockets are the two kinds sk_lookup programs may select: listening TCP
//! and unconnected UDP sockets, bound to an address (or the wildcard) and
//! a port in one namespace. A socket is an fd ([`Obj::Socket`]) and holds
//! a reference on its namespace.
//!
//! A lookup for a packet (protocol, remote and local address) first runs
//! the namespace's sk_lookup programs in attach order, each with a
//! `struct bpf_sk_lookup` whose `sk` is the socket selected so far:
//! `SK_PASS` with a selection makes it the current one (the last selection
//! wins), `SK_DROP` without one marks the lookup dropped. Afterwards: a
//! selection is the answer; otherwise, if some program dropped, the lookup
//! fails (`ECONNREFUSED`, no socket); if all passed, the regular lookup
//! runs: an exact local address beats the wildcard, lowest fd order
//! among equals. Programs select sockets they reach through `ctx->sk` or
//! a sockmap lookup ([`crate::map::sockmap`]) with `bpf_sk_assign`
//! ([`crate::helpers::sk_assign`]). `SO_REUSEPORT` groups are not emulated (so the
//! `no_reuseport` flag has no effect), nor are connected sockets.

use super::netns::NetRef;
use super::netns_bpf::NetnsType;
use crate::bpf::Obj;
use crate::errno::Errno;
use crate::helpers::sk_assign::{AssignState, Candidate, with_state};
use crate::kernel::Kernel;
use crate::progtype::sk_lookup::off;
use crate::sim::process::NetnsId;
use bpfemu_vm::MemRegion;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// `AF_INET`, `AF_INET6`.
pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;
/// `IPPROTO_TCP`, `IPPROTO_UDP`.
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
/// `sizeof(struct bpf_sock)`.
pub const BPF_SOCK_SIZE: usize = 80;

/// One socket.
#[derive(Debug)]
pub struct Sock {
    /// `sock_gen_cookie()`-like identity: 1, 2, ... in creation order.
    pub cookie: u64,
    pub protocol: u8,
    pub local: SocketAddr,
    net: NetRef,
    /// The `struct bpf_sock` image programs see through `ctx->sk`.
    image: Box<[u8; BPF_SOCK_SIZE]>,
}

impl Sock {
    pub fn family(&self) -> u16 {
        if self.local.is_ipv4() { AF_INET } else { AF_INET6 }
    }

    /// The namespace the socket lives in.
    pub fn netns(&self) -> NetnsId {
        self.net.net().id
    }

    /// The address of its `struct bpf_sock` image: what programs hold as
    /// the socket pointer.
    pub fn image_addr(&self) -> u64 {
        self.image.as_ptr() as u64
    }

    pub(crate) fn candidate(&self) -> Candidate {
        Candidate {
            addr: self.image_addr(),
            cookie: self.cookie,
            family: self.family(),
            protocol: self.protocol,
        }
    }
}

/// `struct bpf_sock` of a socket: family, type, protocol, source address
/// and port, state (`TCP_LISTEN` 10, or `TCP_CLOSE` 7 for UDP).
fn image(protocol: u8, local: SocketAddr) -> Box<[u8; BPF_SOCK_SIZE]> {
    let mut b = Box::new([0u8; BPF_SOCK_SIZE]);
    let fam = if local.is_ipv4() { AF_INET } else { AF_INET6 };
    b[4..8].copy_from_slice(&u32::from(fam).to_le_bytes());
    let ty: u32 = if protocol == IPPROTO_TCP { 1 } else { 2 };
    b[8..12].copy_from_slice(&ty.to_le_bytes());
    b[12..16].copy_from_slice(&u32::from(protocol).to_le_bytes());
    match local.ip() {
        IpAddr::V4(a) => b[24..28].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => b[28..44].copy_from_slice(&a.octets()),
    }
    b[44..48].copy_from_slice(&u32::from(local.port()).to_le_bytes());
    let state: u32 = if protocol == IPPROTO_TCP { 10 } else { 7 };
    b[72..76].copy_from_slice(&state.to_le_bytes());
    b
}

/// The sockets the programs of a lookup can hold a pointer to: those of
/// the namespace (`fd_socks`), then those in the sockmaps the programs use
/// (which may belong to any namespace, as in the kernel), each once. They
/// are the candidates `bpf_sk_assign` accepts and the `struct bpf_sock`
/// images checked-mode runs may read; holding them here keeps them alive
/// for the whole lookup (the kernel's RCU read section). Limit: sockmaps
/// only a tail-called program uses are not scanned, so its sockets are
/// refused by `bpf_sk_assign` (`-EINVAL`).
fn offered_socks(fd_socks: Vec<Arc<Sock>>, progs: &[Arc<crate::bpf::prog::Prog>]) -> Vec<Arc<Sock>> {
    let mut socks = fd_socks;
    for m in progs.iter().flat_map(|p| p.used_maps.iter()) {
        if let Some(sm) = m.ops.as_sockmap() {
            for s in sm.socks() {
                if !socks.iter().any(|o| o.cookie == s.cookie) {
                    socks.push(s);
                }
            }
        }
    }
    socks
}

/// Who answered a lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupResult {
    /// A program selected this socket (cookie).
    Selected(u64),
    /// Some program dropped and none selected: the lookup fails.
    Refused,
    /// The regular lookup's answer (`None`: no socket).
    Regular(Option<u64>),
}

/// One lookup's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LookupReq {
    pub protocol: u8,
    pub remote: SocketAddr,
    pub local: SocketAddr,
}

/// `BPF_PROG_SK_LOOKUP_RUN_ARRAY()`'s folding of verdicts: `run(i,
/// state)` runs program `i` with the selection so far in `state` and
/// returns its verdict. Returns `SK_PASS` (1) or `SK_DROP` (0) and the
/// final selection.
pub fn run_array(
    n: usize,
    mut state: AssignState,
    mut run: impl FnMut(usize, AssignState) -> (u32, AssignState),
) -> (u32, AssignState) {
    let (mut selected, mut no_reuseport, mut all_pass) = (None, false, true);
    for i in 0..n {
        state.selected = selected;
        state.no_reuseport = no_reuseport;
        let (verdict, st) = run(i, state);
        state = st;
        if verdict == 1 && state.selected.is_some() {
            selected = state.selected;
            no_reuseport = state.no_reuseport;
        } else if verdict == 0 && all_pass {
            all_pass = false;
        }
    }
    state.selected = selected;
    state.no_reuseport = no_reuseport;
    (u32::from(all_pass || selected.is_some()), state)
}

impl Kernel {
    /// `socket()` + `bind()` (+ `listen()` for TCP) in the caller's
    /// namespace: an fd. `EPROTONOSUPPORT` for protocols other than TCP and
    /// UDP; `EADDRINUSE` if a socket of the namespace has the same
    /// protocol, address and port.
    pub fn sock_bind(&mut self, protocol: u8, local: SocketAddr) -> Result<i32, Errno> {
        if protocol != IPPROTO_TCP && protocol != IPPROTO_UDP {
            return Err(Errno::EPROTONOSUPPORT);
        }
        let net = self.net.task_net(self.user).clone();
        let id = net.net().id;
        if self.socks(id).iter().any(|s| s.protocol == protocol && s.local == local) {
            return Err(Errno::EADDRINUSE);
        }
        self.net.next_cookie += 1;
        let sock = Arc::new(Sock {
            cookie: self.net.next_cookie,
            protocol,
            local,
            net,
            image: image(protocol, local),
        });
        self.install_fd(Obj::Socket(sock))
    }

    /// Open sockets of namespace `id`, in fd order of the calling process.
    pub fn socks(&self, id: NetnsId) -> Vec<Arc<Sock>> {
        let Ok(files) = self.sim.procs.files(self.user) else { return Vec::new() };
        files
            .iter()
            .filter_map(|(_, e)| match e {
                crate::sim::fd::FdEntry::Object(Obj::Socket(s)) if s.netns() == id => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    /// The regular lookup: exact local address first, then the wildcard.
    fn regular_lookup(&self, net: NetnsId, req: &LookupReq) -> Option<u64> {
        let socks = self.socks(net);
        let fits = |s: &&Arc<Sock>| {
            s.protocol == req.protocol
                && s.local.port() == req.local.port()
                && s.local.is_ipv4() == req.local.is_ipv4()
        };
        socks
            .iter()
            .filter(fits)
            .find(|s| s.local.ip() == req.local.ip())
            .or_else(|| socks.iter().filter(fits).find(|s| s.local.ip().is_unspecified()))
            .map(|s| s.cookie)
    }

    /// A socket lookup in namespace `net` (what a SYN or a datagram
    /// arriving there triggers). A failing program run is `EFAULT`.
    pub fn sk_lookup(&mut self, net: NetnsId, req: LookupReq) -> Result<LookupResult, Errno> {
        let Some(progs) = self.net.bpf.run_array(net, NetnsType::SkLookup) else {
            return Ok(LookupResult::Regular(self.regular_lookup(net, &req)));
        };
        Ok(match self.sk_lookup_run(net, &progs, req)? {
            (1, Some(c)) => LookupResult::Selected(c),
            (1, None) => LookupResult::Regular(self.regular_lookup(net, &req)),
            _ => LookupResult::Refused,
        })
    }

    /// `BPF_PROG_SK_LOOKUP_RUN_ARRAY()` over `progs` with the sockets of
    /// `net` selectable: the folded verdict and the selected socket's
    /// cookie.
    pub fn sk_lookup_run(
        &mut self,
        net: NetnsId,
        progs: &[Arc<crate::bpf::prog::Prog>],
        req: LookupReq,
    ) -> Result<(u32, Option<u64>), Errno> {
        let socks = offered_socks(self.socks(net), progs);
        let family = if req.local.is_ipv4() { AF_INET } else { AF_INET6 };
        let state = AssignState {
            family,
            protocol: req.protocol,
            candidates: socks.iter().map(|s| s.candidate()).collect(),
            ..Default::default()
        };
        let mut ctx = [0u8; off::SIZE];
        ctx[off::FAMILY..off::FAMILY + 4].copy_from_slice(&u32::from(family).to_le_bytes());
        ctx[off::PROTOCOL..off::PROTOCOL + 4].copy_from_slice(&u32::from(req.protocol).to_le_bytes());
        match (req.remote.ip(), req.local.ip()) {
            (IpAddr::V4(r), IpAddr::V4(l)) => {
                ctx[off::REMOTE_IP4..off::REMOTE_IP4 + 4].copy_from_slice(&r.octets());
                ctx[off::LOCAL_IP4..off::LOCAL_IP4 + 4].copy_from_slice(&l.octets());
            }
            (IpAddr::V6(r), IpAddr::V6(l)) => {
                ctx[off::REMOTE_IP6..off::REMOTE_IP6 + 16].copy_from_slice(&r.octets());
                ctx[off::LOCAL_IP6..off::LOCAL_IP6 + 16].copy_from_slice(&l.octets());
            }
            _ => return Err(Errno::EAFNOSUPPORT),
        }
        ctx[off::REMOTE_PORT..off::REMOTE_PORT + 2].copy_from_slice(&req.remote.port().to_be_bytes());
        ctx[off::LOCAL_PORT..off::LOCAL_PORT + 4].copy_from_slice(&u32::from(req.local.port()).to_le_bytes());
        ctx[off::INGRESS_IFINDEX..off::INGRESS_IFINDEX + 4].copy_from_slice(&1u32.to_le_bytes());
        let mut failure = None;
        let (verdict, st) = run_array(progs.len(), state, |i, st| {
            if failure.is_some() {
                return (0, st);
            }
            let sk = st.selected.map_or(0, |c| c.addr);
            ctx[off::SK..off::SK + 8].copy_from_slice(&sk.to_le_bytes());
            let ctx_addr = ctx.as_ptr() as u64;
            let mut regions = vec![MemRegion::from_slice("ctx", &ctx)];
            for s in &socks {
                regions.push(MemRegion::from_slice("bpf_sock", &s.image[..]));
            }
            let (r, st) = with_state(st, || self.run_prog(&progs[i], &[ctx_addr], &regions));
            match r {
                Ok(v) => (v as u32, st),
                Err(e) => {
                    failure = Some(e);
                    (0, st)
                }
            }
        });
        if let Some(e) = failure {
            return Err(e);
        }
        Ok((verdict, st.selected.map(|c| c.cookie)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helpers::sk_assign::assign;

    fn cand(cookie: u64) -> Candidate {
        Candidate { addr: cookie * 100, cookie, family: AF_INET, protocol: IPPROTO_TCP }
    }

    /// Programs as closures: (verdict, socket to assign or none).
    fn fold(progs: &[(u32, Option<u64>)]) -> (u32, Option<u64>) {
        let st = AssignState {
            family: AF_INET,
            protocol: IPPROTO_TCP,
            candidates: (1..=3).map(cand).collect(),
            ..Default::default()
        };
        let (v, st) = run_array(progs.len(), st, |i, mut st| {
            if let Some(c) = progs[i].1 {
                let _ = assign(&mut st, c * 100, 1);
            }
            (progs[i].0, st)
        });
        (v, st.selected.map(|c| c.cookie))
    }

    #[test]
    fn verdict_rules() {
        // The last selection wins.
        assert_eq!(fold(&[(1, Some(1)), (1, Some(2))]), (1, Some(2)));
        // A selection with SK_DROP does not count; a later SK_PASS keeps the earlier one.
        assert_eq!(fold(&[(1, Some(1)), (0, Some(2)), (1, None)]), (1, Some(1)));
        // SK_DROP without a selection anywhere: dropped.
        assert_eq!(fold(&[(1, None), (0, None)]), (0, None));
        // A selection makes up for a drop.
        assert_eq!(fold(&[(0, None), (1, Some(3))]), (1, Some(3)));
        // All pass, none selects: fall through.
        assert_eq!(fold(&[(1, None), (1, None)]), (1, None));
        assert_eq!(fold(&[]), (1, None));
    }
}
