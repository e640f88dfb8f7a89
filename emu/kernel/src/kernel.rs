//! The simulated kernel: the simulation core plus the BPF objects, and the
//! process on whose behalf `bpf()` calls run.

use crate::bpf::bpffs::Bpffs;
use crate::bpf::btf_obj::BtfObj;
use crate::bpf::link_cmds::AttachRegistry;
use crate::bpf::objects::{Obj, Objects};
use crate::errno::Errno;
use crate::runctx::RunCtx;
use crate::sim::process::{Pid, SpawnArgs};
use crate::sim::{Sim, SimConfig};
use bpfemu_btf::Btf;
use std::sync::Arc;

/// Events of the kernel's event queue (subsystems add variants).
pub type KernelEvent = ();

/// How to build a [`Kernel`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelConfig {
    pub sim: SimConfig,
}

/// One simulated kernel.
#[derive(Debug)]
pub struct Kernel {
    pub sim: Sim<KernelEvent, Obj>,
    pub objects: Objects,
    pub bpffs: Bpffs,
    /// Lines of the trace pipe (`/sys/kernel/tracing/trace_pipe`), in order.
    pub trace_pipe: Vec<String>,
    /// The process `bpf()` calls act for (the scenario's or test's process).
    pub user: Pid,
    /// Attach points and link types subsystems registered
    /// ([`Kernel::register_link_type`], [`Kernel::register_attach_type`]).
    pub attach_registry: AttachRegistry,
    /// The kernel's own BTF object (`btf_vmlinux`), id 1, alive for the
    /// kernel's lifetime.
    pub vmlinux: Arc<BtfObj>,
    /// How verified programs run (paranoid mode for the soundness fuzzer).
    pub exec: crate::bpf::run::ExecPolicy,
    /// Network namespaces and their attachments ([`crate::net`]).
    pub net: crate::net::NetSubsys,
    /// Hooks at preemption points hit inside program runs (an NMI injected
    /// while `bpf_ringbuf_reserve` holds the ring's lock).
    pub run_points: Arc<crate::sim::preempt::RunPoints>,
    /// The trampolines of traced kernel functions ([`crate::trampoline`]).
    pub trampolines: Arc<crate::trampoline::tramp::Trampolines>,
    /// The functions of BPF programs replaced by extensions
    /// ([`crate::trampoline::freplace`]).
    pub extensions: Arc<crate::trampoline::freplace::Extensions>,
    /// The programs attached to each raw tracepoint
    /// ([`crate::tracepoint::link`]).
    pub raw_tps: Arc<crate::tracepoint::link::RawTracepoints>,
}

impl Kernel {
    pub fn new(config: KernelConfig) -> Kernel {
        let mut sim = Sim::new(config.sim);
        let user = sim.procs.spawn(SpawnArgs::root("bpfemu"));
        let mut objects = Objects::default();
        let vmlinux = crate::vmlinux::load_into(&mut objects.btfs);
        let mut k = Kernel {
            sim,
            objects,
            bpffs: Bpffs::default(),
            trace_pipe: Vec::new(),
            user,
            attach_registry: AttachRegistry::default(),
            vmlinux,
            exec: Default::default(),
            net: crate::net::NetSubsys::new(),
            run_points: Default::default(),
            trampolines: Default::default(),
            extensions: Default::default(),
            raw_tps: Default::default(),
        };
        crate::net::link::register(&mut k);
        crate::trampoline::tramp::register(&mut k);
        crate::tracepoint::link::register(&mut k);
        crate::iter::link::register(&mut k);
        k
    }

    /// The id of the vmlinux BTF object (1: loaded first, at boot).
    pub fn vmlinux_btf_id(&self) -> u32 {
        self.vmlinux.id
    }

    /// The vmlinux BTF model (what [`crate::vmlinux::vmlinux_btf`] builds).
    pub fn vmlinux_btf(&self) -> Arc<Btf> {
        crate::vmlinux::shared()
    }

    /// `map_btf_id` of a map type: the vmlinux BTF id of the struct its
    /// [`MapOps::btf_name`](crate::map::MapOps::btf_name) names.
    pub fn map_btf_id(&self, btf_name: &str) -> Option<u32> {
        crate::vmlinux::struct_id(&self.vmlinux_btf(), btf_name)
    }

    /// The object behind `fd` in the calling process (`EBADF` if none).
    pub fn fd_obj(&self, fd: i32) -> Result<Obj, Errno> {
        self.sim.procs.files(self.user)?.object(fd).cloned()
    }

    /// Installs `obj` in the calling process's fd table (`anon_inode_getfd`).
    pub fn install_fd(&mut self, obj: Obj) -> Result<i32, Errno> {
        self.sim.procs.files_mut(self.user)?.alloc(obj)
    }

    /// `close(fd)`.
    pub fn close(&mut self, fd: i32) -> Result<(), Errno> {
        self.sim.procs.files_mut(self.user)?.close(fd).map(drop)
    }

    /// The context helpers see for a program run on the current CPU now.
    pub fn run_ctx(&self) -> RunCtx {
        let cpu = self.sim.smp_processor_id();
        let task = self.sim.procs.get(self.user);
        RunCtx {
            cpu,
            nr_cpus: self.sim.nr_cpus(),
            now_ns: self.sim.clock.now(),
            boot_ns: self.sim.clock.boot_ns(),
            coarse_ns: self.sim.clock.coarse_ns(),
            jiffies: self.sim.clock.jiffies(),
            pid_tgid: task.map_or(0, |t| t.pid_tgid()),
            uid_gid: task.map_or(0, |t| t.uid_gid()),
            comm: task.map_or([0; 16], |t| *t.comm.raw()),
            rng: self.sim.fork_rng(crate::sim::STREAM_CPU_BASE + u64::from(cpu)),
            trace: Vec::new(),
            verified: false,
            regions: Vec::new(),
            maps: Vec::new(),
            spin_lock_held: None,
            nmi: self.sim.this_cpu().in_nmi(),
            points: Some(self.run_points.clone()),
            tasks: None,
            switcher: None,
            raw_tps: Some(self.raw_tps.clone()),
            probe_active: Vec::new(),
            seq: None,
        }
    }
}
