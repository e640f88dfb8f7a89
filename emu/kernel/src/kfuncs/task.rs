//! Task kfuncs (kernel/bpf/helpers.c): `bpf_task_from_pid`,
//! `bpf_task_acquire`, `bpf_task_release`, and the RCU read-section
//! kfuncs.
//!
//! A run whose program calls kfuncs gets a snapshot of the process table
//! ([`TaskTable`]): one emulated `struct task_struct` ([`TaskStruct`], the
//! vmlinux BTF subset) per live task, at stable addresses, as read-only
//! memory of the run (a region in checked mode). The task kfuncs hand out
//! pointers into it and count the references they take and drop (the
//! kernel's `task_struct::usage`, `refcount_inc_not_zero` /
//! `put_task_struct`); [`TaskTable::refs`] shows what a run left.
//!
//! Emulated fields: `pid`, `tgid`, `comm`, `__state` (`TASK_RUNNING`: the
//! sim has no sleeping tasks), `flags` (0). Parent links are not tracked
//! by the sim: `real_parent` and `parent` point at the task itself (as
//! `init_task`'s do). A pointer no snapshot entry starts at (none can
//! reach a kfunc from a verified program) makes `bpf_task_acquire` return
//! NULL and `bpf_task_release` do nothing. `bpf_rcu_read_lock` /
//! `_unlock` do nothing: a run is atomic in the sim, nothing is freed
//! during it.
//!
//! Limitation: the snapshot is taken by [`crate::Kernel::run_prog_vm`]
//! for programs that call kfuncs or use a prog array; a run started from a
//! bare context without one (`run_with_ctx` of concurrent mode, a nested
//! run inside a program that has none) finds no task: `bpf_task_from_pid`
//! returns NULL there.

use super::task_mem::TaskMem;
use crate::runctx;
use crate::sim::process::ProcessTable;
use crate::vmlinux::types::TaskStruct;
use bpfemu_vm::MemRegion;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The vmlinux BTF id of `struct task_struct`.
pub fn task_struct_id() -> u32 {
    static ID: LazyLock<u32> = LazyLock::new(|| {
        crate::vmlinux::struct_id(&crate::vmlinux::shared(), "task_struct").expect("task_struct in vmlinux")
    });
    *ID
}

/// The tasks of one run.
#[derive(Debug)]
pub struct TaskTable {
    mem: TaskMem,
    pids: Vec<i32>,
    refs: Vec<AtomicU32>,
}

impl TaskTable {
    /// A snapshot of every task of `procs`, in pid order.
    pub fn snapshot<F: Clone>(procs: &ProcessTable<F>) -> TaskTable {
        let tasks: Vec<TaskStruct> = procs
            .iter()
            .map(|p| TaskStruct {
                __state: 0,
                flags: 0,
                pid: p.pid.0 as i32,
                tgid: p.tgid.0 as i32,
                real_parent: 0,
                parent: 0,
                comm: *p.comm.raw(),
            })
            .collect();
        let pids = tasks.iter().map(|t| t.pid).collect();
        let refs = tasks.iter().map(|_| AtomicU32::new(0)).collect();
        let mem = TaskMem::new(tasks);
        TaskTable { mem, pids, refs }
    }

    /// The read-only region of the snapshot (checked mode).
    pub fn region(&self) -> MemRegion<'_> {
        self.mem.region()
    }

    /// The references taken and not dropped, by pid (nonzero only).
    pub fn refs(&self) -> Vec<(i32, u32)> {
        self.pids
            .iter()
            .zip(&self.refs)
            .map(|(&p, r)| (p, r.load(Ordering::Relaxed)))
            .filter(|&(_, n)| n != 0)
            .collect()
    }

    fn index_of_addr(&self, addr: u64) -> Option<usize> {
        (0..self.mem.len()).find(|&i| self.mem.addr(i) == addr)
    }

    fn acquire_index(&self, i: usize) -> u64 {
        self.refs[i].fetch_add(1, Ordering::Relaxed);
        self.mem.addr(i)
    }

    /// `bpf_task_from_pid(pid)`: a new reference, or 0.
    pub fn from_pid(&self, pid: i32) -> u64 {
        match self.pids.iter().position(|&p| p == pid) {
            Some(i) if pid > 0 => self.acquire_index(i),
            _ => 0,
        }
    }

    /// `bpf_task_acquire(p)`: a new reference to `p`, or 0.
    pub fn acquire(&self, addr: u64) -> u64 {
        self.index_of_addr(addr).map_or(0, |i| self.acquire_index(i))
    }

    /// `bpf_task_release(p)`.
    pub fn release(&self, addr: u64) {
        if let Some(i) = self.index_of_addr(addr) {
            let _ = self.refs[i].fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        }
    }
}

fn with_tasks(f: impl FnOnce(&TaskTable) -> u64) -> u64 {
    runctx::with(|c| c.tasks.as_deref().map(f)).flatten().unwrap_or(0)
}

/// `struct task_struct *bpf_task_from_pid(s32 pid)`.
pub extern "C" fn bpf_task_from_pid(pid: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    with_tasks(|t| t.from_pid(pid as u32 as i32))
}

/// `struct task_struct *bpf_task_acquire(struct task_struct *p)`.
pub extern "C" fn bpf_task_acquire(p: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    with_tasks(|t| t.acquire(p))
}

/// `void bpf_task_release(struct task_struct *p)`.
pub extern "C" fn bpf_task_release(p: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    with_tasks(|t| {
        t.release(p);
        0
    })
}

/// `void bpf_rcu_read_lock(void)`.
pub extern "C" fn bpf_rcu_read_lock(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    0
}

/// `void bpf_rcu_read_unlock(void)`.
pub extern "C" fn bpf_rcu_read_unlock(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    0
}

impl TaskTable {
    /// The snapshot a run of `prog` needs: programs with kfunc calls
    /// (`BPF_PSEUDO_KFUNC_CALL`, `call` with `src_reg` 2) get one, and so
    /// do programs using a prog array (a tail-called program may call
    /// kfuncs); others do not pay for it.
    pub fn for_prog<F: Clone>(
        prog: &crate::bpf::prog::Prog,
        procs: &ProcessTable<F>,
    ) -> Option<std::sync::Arc<TaskTable>> {
        let calls_kfuncs = prog.xlated.iter().any(|i| i.code == 0x85 && i.src == 2);
        let tail_calls = prog.used_maps.iter().any(|m| m.map_type() == crate::uapi::MapType::ProgArray);
        (calls_kfuncs || tail_calls).then(|| std::sync::Arc::new(TaskTable::snapshot(procs)))
    }
}
