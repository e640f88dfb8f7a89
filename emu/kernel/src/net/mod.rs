//! Networking: network namespaces and the BPF programs attached to them.
//!
//! Kernel counterparts: net/core/net_namespace.c (namespace lifecycle,
//! `pernet_operations`, `cleanup_net()`), fs/nsfs.c (netns fds),
//! kernel/bpf/net_namespace.c (netns links and attachment), and the
//! flow dissector and sk_lookup hooks (net/core/flow_dissector.c,
//! net/core/filter.c, net/ipv4/inet_hashtables.c).
//!
//! - [`netns`]: `struct net`, counted references, nsfs inode numbers;
//! - [`netns_bpf`]: what `netns_bpf_mutex` guards, and the attach rules;
//! - [`link`]: the netns link type and the attach commands;
//! - [`packet`], [`flow_keys`], [`flow_dissector`]: packets, `bpf_flow_keys`,
//!   the native dissector and the BPF hook;
//! - [`sk_lookup`]: listening TCP / unconnected UDP sockets and the
//!   sk_lookup hook;
//! - [`NetSubsys`]: the namespace list, which namespace each task is in
//!   (`nsproxy->net_ns`), and teardown through the pernet operations.
//!
//! Lifecycle: `unshare(CLONE_NEWNET)` ([`Kernel::net_unshare`]) gives the
//! task a new namespace; opening `/proc/self/ns/net`
//! ([`Kernel::net_open_fd`]) puts a reference in the fd table; `setns`
//! ([`Kernel::net_setns`]) moves the task. When the last reference goes
//! the namespace waits on the cleanup list until [`Kernel::net_cleanup`]
//! runs the kernel's `cleanup_net()`: unlink from the namespace list, every
//! `pre_exit` (in reverse registration order: netns_bpf's auto-detaches
//! links), then every `exit` (reverse order), then the inode number is
//! freed. [`NetSubsys::teardown_log`] records those steps.
//!
//! Not emulated: user namespaces and capabilities (every task may
//! unshare), `net->passive` references, `setns` flags other than
//! `CLONE_NEWNET`/0, network devices, routes, netns ids (`NETNSA_NSID`).

pub mod flow_dissector;
pub mod flow_keys;
pub mod link;
pub mod netns;
pub mod netns_bpf;
pub mod packet;
pub mod sk_lookup;

pub mod dissector_asm;
#[cfg(test)]
mod dissector_tests;
#[cfg(test)]
mod sockmap_tests;
#[cfg(test)]
mod tests;

use crate::bpf::Obj;
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::sim::process::{NetnsId, Pid};
use netns::{CleanupQueue, InumIda, Net, NetRef};
use netns_bpf::NetnsBpf;
use std::collections::BTreeMap;
use std::sync::Arc;

/// `CLONE_NEWNET`.
pub const CLONE_NEWNET: u32 = 0x4000_0000;

/// The pernet operations, in registration order (`pernet_list`).
pub const PERNET_OPS: [&str; 2] = ["net_ns", "netns_bpf"];

/// The networking state of one kernel.
#[derive(Debug)]
pub struct NetSubsys {
    /// `net_namespace_list`: live namespaces by id.
    nets: BTreeMap<NetnsId, Arc<Net>>,
    /// `init_net`'s own reference (it never goes away).
    init: NetRef,
    /// `nsproxy->net_ns` of the tasks the subsystem knows.
    tasks: BTreeMap<Pid, NetRef>,
    ida: InumIda,
    next_id: u32,
    queue: Arc<CleanupQueue>,
    /// `netns_bpf_mutex` and the attachments.
    pub bpf: Arc<NetnsBpf>,
    /// What each `cleanup_net()` did, in order (`pre_exit netns_bpf
    /// netns 1`, ...).
    pub teardown_log: Vec<String>,
    /// The last socket cookie handed out.
    next_cookie: u64,
}

impl NetSubsys {
    /// Boots networking: `init_net` with the first inode number.
    pub fn new() -> NetSubsys {
        let queue = Arc::new(CleanupQueue::default());
        let mut ida = InumIda::default();
        let inum = ida.alloc().unwrap_or(netns::PROC_DYNAMIC_FIRST);
        let init = netns::new_net(NetnsId(0), inum, &queue);
        let bpf = Arc::new(NetnsBpf::default());
        bpf.pernet_init(init.net());
        let mut nets = BTreeMap::new();
        nets.insert(NetnsId(0), init.net().clone());
        NetSubsys {
            nets,
            init,
            tasks: BTreeMap::new(),
            ida,
            next_id: 1,
            queue,
            bpf,
            teardown_log: Vec::new(),
            next_cookie: 0,
        }
    }

    /// `init_net`.
    pub fn init_net(&self) -> &Arc<Net> {
        self.init.net()
    }

    /// The namespace `pid` is in (`init_net` for tasks never moved).
    pub fn task_net(&self, pid: Pid) -> &NetRef {
        self.tasks.get(&pid).unwrap_or(&self.init)
    }

    /// A live (not yet torn down) namespace by id.
    pub fn get(&self, id: NetnsId) -> Option<&Arc<Net>> {
        self.nets.get(&id)
    }

    /// Live namespaces in id order (`for_each_net`), including dying ones
    /// not yet cleaned up.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Net>> {
        self.nets.values()
    }

    /// Namespaces waiting for cleanup.
    pub fn cleanup_pending(&self) -> bool {
        !self.queue.is_empty()
    }

    /// `copy_net_ns()` + `setup_net()`: a new namespace with one reference.
    fn create(&mut self) -> Result<NetRef, Errno> {
        let inum = self.ida.alloc().ok_or(Errno::ENOSPC)?;
        let id = NetnsId(self.next_id);
        self.next_id += 1;
        let r = netns::new_net(id, inum, &self.queue);
        // `ops_init()` of every pernet operation, in registration order.
        self.bpf.pernet_init(r.net());
        self.nets.insert(id, r.net().clone());
        Ok(r)
    }
}

impl Default for NetSubsys {
    fn default() -> Self {
        NetSubsys::new()
    }
}

impl Kernel {
    /// `unshare(CLONE_NEWNET)` by `pid`: the task moves to a new namespace
    /// (its old one loses the task's reference). `ESRCH` for no such task.
    pub fn net_unshare(&mut self, pid: Pid) -> Result<NetnsId, Errno> {
        self.sim.procs.get(pid).ok_or(Errno::ESRCH)?;
        let r = self.net.create()?;
        let id = r.net().id;
        if let Some(p) = self.sim.procs.get_mut(pid) {
            p.netns = id;
        }
        // The old reference is put here.
        self.net.tasks.insert(pid, r);
        Ok(id)
    }

    /// `open("/proc/<pid>/ns/net")` by the calling process: an fd holding a
    /// reference to `pid`'s namespace.
    pub fn net_open_fd(&mut self, pid: Pid) -> Result<i32, Errno> {
        self.sim.procs.get(pid).ok_or(Errno::ESRCH)?;
        let r = self.net.task_net(pid).clone();
        self.install_fd(Obj::Netns(r))
    }

    /// `setns(fd, nstype)` by `pid`: `nstype` must be 0 or `CLONE_NEWNET`
    /// (`EINVAL`), `fd` a netns fd of the task's process (`EBADF`,
    /// `EINVAL`).
    pub fn net_setns(&mut self, pid: Pid, fd: i32, nstype: u32) -> Result<(), Errno> {
        if nstype != 0 && nstype != CLONE_NEWNET {
            return Err(Errno::EINVAL);
        }
        let r = match self.sim.procs.files(pid)?.object(fd)? {
            Obj::Netns(r) => r.clone(),
            _ => return Err(Errno::EINVAL),
        };
        if let Some(p) = self.sim.procs.get_mut(pid) {
            p.netns = r.net().id;
        }
        self.net.tasks.insert(pid, r);
        Ok(())
    }

    /// `fork()` (`clone()` without `CLONE_NEWNET`): the child shares the
    /// parent's namespace, with its own reference.
    pub fn net_fork(&mut self, parent: Pid) -> Result<Pid, Errno> {
        let child = self.sim.procs.fork(parent)?;
        let r = self.net.task_net(parent).clone();
        self.net.tasks.insert(child, r);
        Ok(child)
    }

    /// A task exits: its fd table (if it was the last thread) and its
    /// namespace reference are released.
    pub fn net_task_exit(&mut self, pid: Pid) -> Result<(), Errno> {
        let files = self.sim.procs.exit(pid)?;
        drop(files);
        self.net.tasks.remove(&pid);
        Ok(())
    }

    /// The `net_cleanup_work` workqueue item: `cleanup_net()` for every
    /// namespace whose last reference went. Returns their ids.
    pub fn net_cleanup(&mut self) -> Vec<NetnsId> {
        let mut done = Vec::new();
        loop {
            let dying = self.net.queue.take();
            if dying.is_empty() {
                return done;
            }
            for net in &dying {
                self.net.nets.remove(&net.id);
            }
            // pre_exit of every ops, in reverse registration order, for
            // every namespace of the batch; then exit likewise.
            for net in &dying {
                for op in PERNET_OPS.iter().rev() {
                    if *op == "netns_bpf" {
                        self.net.bpf.pre_exit(net);
                        self.net.teardown_log.push(format!("pre_exit {op} netns {}", net.id.0));
                    }
                }
            }
            for net in &dying {
                for op in PERNET_OPS.iter().rev() {
                    if *op == "net_ns" {
                        self.net.ida.free(net.inum);
                        self.net.teardown_log.push(format!("exit {op} netns {}", net.id.0));
                    }
                }
                done.push(net.id);
            }
        }
    }
}

impl Kernel {
    /// Moves `pid` into the namespace `r` refers to, returning the
    /// reference it held (the emulator's shortcut for `setns` when the
    /// caller already holds a reference rather than an fd).
    pub fn net_switch(&mut self, pid: Pid, r: NetRef) -> NetRef {
        if let Some(p) = self.sim.procs.get_mut(pid) {
            p.netns = r.net().id;
        }
        let init = self.net.init.clone();
        let old = self.net.tasks.insert(pid, r);
        old.unwrap_or(init)
    }

    /// The namespace behind a netns fd of the calling process (`EBADF`,
    /// `EINVAL` for another kind of fd).
    pub fn net_from_fd(&self, fd: i32) -> Result<NetRef, Errno> {
        link::net_from_fd(self, fd)
    }
}
