//! Programs attached to a network namespace (kernel/bpf/net_namespace.c,
//! net/core/flow_dissector.c `flow_dissector_bpf_prog_attach_check()`).
//!
//! Everything here is guarded by one mutex, the kernel's
//! `netns_bpf_mutex` ([`NetnsBpf`]): per namespace and attach type the
//! directly attached program (`net->bpf.progs[]`), the links in attach
//! order (`net->bpf.links[]`) and the run array programs run from
//! (`net->bpf.run_array[]`, an `Arc` snapshot readers clone as they would
//! `rcu_dereference()` it); and per link the namespace it is attached to
//! (`bpf_netns_link::net`). That pointer is a [`Weak`]: a link holds no
//! reference on its namespace. The namespace's `pre_exit`
//! ([`NetnsBpf::pre_exit`]) clears it under the mutex (auto-detach), and
//! every link operation re-reads it under the mutex and also checks that
//! the namespace is not dying (`check_net()`), as the seed commit says.
//!
//! Rules (today's kernel): a namespace takes either one directly attached
//! program or links, never both (`EEXIST` either way, `EINVAL` to detach
//! a program while links exist); at most one flow-dissector link and 64
//! sk_lookup links (`E2BIG`); a flow dissector in `init_net` excludes one
//! in any other namespace and the reverse (`EEXIST`); attaching the
//! program already attached is `EINVAL`; detaching another program
//! `ENOENT`. sk_lookup has no direct attachment.

use super::netns::Net;
use crate::bpf::link::Link;
use crate::bpf::prog::Prog;
use crate::errno::Errno;
use crate::sim::process::NetnsId;
use crate::uapi::AttachType;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

/// `enum netns_bpf_attach_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NetnsType {
    FlowDissector = 0,
    SkLookup = 1,
}

/// `MAX_NETNS_BPF_ATTACH_TYPE`.
pub const MAX_NETNS_BPF_ATTACH_TYPE: usize = 2;

/// `BPF_SK_LOOKUP_MAX_PROGS`.
pub const BPF_SK_LOOKUP_MAX_PROGS: usize = 64;

impl NetnsType {
    /// `to_netns_bpf_attach_type()`; `None` for other attach types.
    pub fn from_attach(at: AttachType) -> Option<NetnsType> {
        match at {
            AttachType::FlowDissector => Some(NetnsType::FlowDissector),
            AttachType::SkLookup => Some(NetnsType::SkLookup),
            _ => None,
        }
    }

    /// `netns_bpf_max_progs()`.
    pub fn max_progs(self) -> usize {
        match self {
            NetnsType::FlowDissector => 1,
            NetnsType::SkLookup => BPF_SK_LOOKUP_MAX_PROGS,
        }
    }

    fn idx(self) -> usize {
        self as usize
    }
}

/// A run array: the programs to run, in order.
pub type RunArray = Arc<[Arc<Prog>]>;

/// `struct netns_bpf` of one namespace.
#[derive(Debug, Default)]
struct PerNet {
    progs: [Option<Arc<Prog>>; MAX_NETNS_BPF_ATTACH_TYPE],
    /// Links in attach order: (link id, its program).
    links: [Vec<(u32, Arc<Prog>)>; MAX_NETNS_BPF_ATTACH_TYPE],
    run_array: [Option<RunArray>; MAX_NETNS_BPF_ATTACH_TYPE],
}

impl PerNet {
    fn rebuild(&mut self, t: NetnsType) {
        let i = t.idx();
        self.run_array[i] = if self.links[i].is_empty() {
            self.progs[i].clone().map(|p| Arc::from(vec![p]))
        } else {
            Some(self.links[i].iter().map(|(_, p)| p.clone()).collect::<Vec<_>>().into())
        };
    }
}

#[derive(Debug, Default)]
struct State {
    nets: BTreeMap<NetnsId, PerNet>,
    /// `bpf_netns_link::net` of every attached link, by link id.
    link_net: BTreeMap<u32, Weak<Net>>,
}

/// `netns_bpf_mutex` and what it guards.
#[derive(Debug, Default)]
pub struct NetnsBpf {
    state: Mutex<State>,
}

impl NetnsBpf {
    /// `netns_bpf_pernet_init()`.
    pub fn pernet_init(&self, net: &Net) {
        self.state.lock().nets.insert(net.id, PerNet::default());
    }

    /// `netns_bpf_pernet_pre_exit()`: empties the run arrays, auto-detaches
    /// every link (they become defunct) and drops the direct programs.
    pub fn pre_exit(&self, net: &Net) {
        let mut st = self.state.lock();
        let Some(pn) = st.nets.remove(&net.id) else { return };
        for links in &pn.links {
            for (id, _) in links {
                st.link_net.remove(id);
            }
        }
        // `pn` (direct programs, run arrays) is dropped here: bpf_prog_put.
    }

    /// `flow_dissector_bpf_prog_attach_check()`.
    fn flow_dissector_check(st: &State, net: &Net) -> Result<(), Errno> {
        let i = NetnsType::FlowDissector.idx();
        if net.is_init() {
            if st.nets.iter().any(|(id, pn)| *id != net.id && pn.run_array[i].is_some()) {
                return Err(Errno::EEXIST);
            }
        } else if st.nets.get(&NetnsId(0)).is_some_and(|pn| pn.run_array[i].is_some()) {
            return Err(Errno::EEXIST);
        }
        Ok(())
    }

    /// `netns_bpf_prog_attach()` after its argument checks, on `net`
    /// (the caller's namespace).
    pub fn prog_attach(&self, net: &Net, t: NetnsType, prog: &Arc<Prog>) -> Result<(), Errno> {
        let mut st = self.state.lock();
        let pn = st.nets.get(&net.id).ok_or(Errno::EINVAL)?;
        if !pn.links[t.idx()].is_empty() {
            return Err(Errno::EEXIST);
        }
        match t {
            NetnsType::FlowDissector => Self::flow_dissector_check(&st, net)?,
            NetnsType::SkLookup => return Err(Errno::EINVAL),
        }
        let pn = st.nets.get_mut(&net.id).ok_or(Errno::EINVAL)?;
        if pn.progs[t.idx()].as_ref().is_some_and(|p| Arc::ptr_eq(p, prog)) {
            return Err(Errno::EINVAL);
        }
        pn.progs[t.idx()] = Some(prog.clone());
        pn.rebuild(t);
        Ok(())
    }

    /// `__netns_bpf_prog_detach()`.
    pub fn prog_detach(&self, net: &Net, t: NetnsType, prog: &Arc<Prog>) -> Result<(), Errno> {
        let mut st = self.state.lock();
        let pn = st.nets.get_mut(&net.id).ok_or(Errno::ENOENT)?;
        if !pn.links[t.idx()].is_empty() {
            return Err(Errno::EINVAL);
        }
        match &pn.progs[t.idx()] {
            Some(p) if Arc::ptr_eq(p, prog) => {}
            _ => return Err(Errno::ENOENT),
        }
        pn.progs[t.idx()] = None;
        pn.rebuild(t);
        Ok(())
    }

    /// `__netns_bpf_prog_query()`: the ids of the run array's programs.
    pub fn query(&self, net: &Net, t: NetnsType) -> Vec<u32> {
        let st = self.state.lock();
        st.nets
            .get(&net.id)
            .and_then(|pn| pn.run_array[t.idx()].as_ref())
            .map_or_else(Vec::new, |ra| ra.iter().map(|p| p.id).collect())
    }

    /// `netns_bpf_link_attach()`.
    pub fn link_attach(
        &self,
        net: &Arc<Net>,
        t: NetnsType,
        link_id: u32,
        prog: &Arc<Prog>,
    ) -> Result<(), Errno> {
        let mut st = self.state.lock();
        let pn = st.nets.get(&net.id).ok_or(Errno::EINVAL)?;
        if pn.links[t.idx()].len() >= t.max_progs() {
            return Err(Errno::E2BIG);
        }
        if pn.progs[t.idx()].is_some() {
            return Err(Errno::EEXIST);
        }
        if t == NetnsType::FlowDissector {
            Self::flow_dissector_check(&st, net)?;
        }
        let pn = st.nets.get_mut(&net.id).ok_or(Errno::EINVAL)?;
        pn.links[t.idx()].push((link_id, prog.clone()));
        pn.rebuild(t);
        st.link_net.insert(link_id, Arc::downgrade(net));
        Ok(())
    }

    /// The live namespace a link is attached to, under the mutex.
    fn link_net(st: &State, link_id: u32) -> Option<Arc<Net>> {
        // An entry exists only until pre_exit, which runs before the
        // namespace is freed: a failed upgrade would be a use after free.
        let w = st.link_net.get(&link_id)?;
        let net = w.upgrade();
        debug_assert!(net.is_some(), "netns link {link_id} points to a freed netns");
        net
    }

    /// `bpf_netns_link_release()` (also `.detach`): takes the link out of
    /// its namespace's list and run array, unless it was auto-detached.
    /// Idempotent.
    pub fn link_release(&self, link_id: u32, t: NetnsType) {
        let mut st = self.state.lock();
        let Some(net) = Self::link_net(&st, link_id) else {
            st.link_net.remove(&link_id);
            return;
        };
        st.link_net.remove(&link_id);
        if let Some(pn) = st.nets.get_mut(&net.id) {
            pn.links[t.idx()].retain(|(id, _)| *id != link_id);
            pn.rebuild(t);
        }
    }

    /// `bpf_netns_link_update_prog()` after the type checks: `ENOLINK`
    /// once auto-detached or while the namespace is dying.
    pub fn link_update(&self, link: &Link, t: NetnsType, new: &Arc<Prog>) -> Result<(), Errno> {
        let link_id = link.id;
        let mut st = self.state.lock();
        let net = match Self::link_net(&st, link_id) {
            Some(n) if n.check() => n,
            _ => return Err(Errno::ENOLINK),
        };
        let pn = st.nets.get_mut(&net.id).ok_or(Errno::ENOLINK)?;
        let slot = pn.links[t.idx()].iter_mut().find(|(id, _)| *id == link_id).ok_or(Errno::ENOLINK)?;
        slot.1 = new.clone();
        pn.rebuild(t);
        // `xchg(&link->prog, new_prog)` under the mutex; the old program is
        // put when the returned reference drops.
        drop(link.set_prog(new.clone()));
        Ok(())
    }

    /// The inode number `fill_link_info` reports: 0 once auto-detached or
    /// while the namespace is dying.
    pub fn link_netns_ino(&self, link_id: u32) -> u32 {
        let st = self.state.lock();
        match Self::link_net(&st, link_id) {
            Some(n) if n.check() => n.inum,
            _ => 0,
        }
    }

    /// The run array of `net` for `t` (an RCU read).
    pub fn run_array(&self, net: NetnsId, t: NetnsType) -> Option<RunArray> {
        self.state.lock().nets.get(&net).and_then(|pn| pn.run_array[t.idx()].clone())
    }

    /// Number of links attached anywhere (leak checks).
    pub fn attached_links(&self) -> usize {
        self.state.lock().link_net.len()
    }
}
