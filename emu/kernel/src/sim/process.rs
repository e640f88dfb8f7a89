//! Simulated processes and threads.
//!
//! Kernel counterpart: `struct task_struct` (`include/linux/sched.h`): pid
//! and tgid (a thread group shares one fd table, as with `CLONE_FILES`),
//! `comm` (`TASK_COMM_LEN` = 16 bytes including the NUL, set like
//! `__set_task_comm`: truncated to 15 bytes, zero padded), credentials
//! (uid/gid only) and the network namespace (`nsproxy->net_ns`, an opaque
//! [`NetnsId`] until netns exist). `current` lives on each CPU
//! ([`super::cpu::Cpu::current`]). The BPF helpers' packed values
//! (`bpf_get_current_pid_tgid`, `bpf_get_current_uid_gid`) are provided.
//!
//! Not emulated: pid namespaces, `pid_max` wrap-around (pids only grow),
//! capabilities, supplementary groups, signals, zombies.

use std::collections::BTreeMap;
use std::fmt;

use super::fd::FdTable;
use crate::errno::Errno;

/// `TASK_COMM_LEN`.
pub const TASK_COMM_LEN: usize = 16;

/// A process or thread id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pid(pub u32);

impl Pid {
    /// The per-CPU idle task (`swapper/N`), pid 0.
    pub const IDLE: Pid = Pid(0);
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A network namespace, opaque until the netns subsystem exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NetnsId(pub u32);

/// A task name: at most 15 bytes and a NUL, zero padded.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Comm([u8; TASK_COMM_LEN]);

impl Comm {
    /// `name` truncated as `__set_task_comm` does (bytes, stopping at a NUL).
    pub fn new(name: &str) -> Comm {
        let mut buf = [0u8; TASK_COMM_LEN];
        let bytes = name.as_bytes();
        let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len()).min(TASK_COMM_LEN - 1);
        buf[..len].copy_from_slice(&bytes[..len]);
        Comm(buf)
    }

    /// The 16 raw bytes (what `bpf_get_current_comm` copies).
    pub fn raw(&self) -> &[u8; TASK_COMM_LEN] {
        &self.0
    }

    /// The name without NUL padding.
    pub fn as_bytes(&self) -> &[u8] {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(TASK_COMM_LEN);
        &self.0[..len]
    }
}

impl fmt::Display for Comm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

impl fmt::Debug for Comm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Comm({:?})", self.to_string())
    }
}

/// What a new process starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpawnArgs {
    /// Task name (truncated to 15 bytes).
    pub comm: String,
    /// Real/effective uid.
    pub uid: u32,
    /// Real/effective gid.
    pub gid: u32,
    /// Network namespace.
    pub netns: NetnsId,
}

impl SpawnArgs {
    /// A root process named `comm` in netns 0.
    pub fn root(comm: &str) -> SpawnArgs {
        SpawnArgs { comm: comm.to_string(), uid: 0, gid: 0, netns: NetnsId::default() }
    }
}

/// One task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// Thread id (`task->pid`).
    pub pid: Pid,
    /// Thread group id (`task->tgid`, the user-visible process id).
    pub tgid: Pid,
    /// Task name.
    pub comm: Comm,
    /// uid.
    pub uid: u32,
    /// gid.
    pub gid: u32,
    /// Network namespace.
    pub netns: NetnsId,
}

impl Process {
    /// `bpf_get_current_pid_tgid()`: `tgid << 32 | pid`.
    pub fn pid_tgid(&self) -> u64 {
        u64::from(self.tgid.0) << 32 | u64::from(self.pid.0)
    }

    /// `bpf_get_current_uid_gid()`: `gid << 32 | uid`.
    pub fn uid_gid(&self) -> u64 {
        u64::from(self.gid) << 32 | u64::from(self.uid)
    }
}

/// All tasks, and the fd tables of their thread groups.
#[derive(Debug, Clone)]
pub struct ProcessTable<F: Clone> {
    tasks: BTreeMap<Pid, Process>,
    files: BTreeMap<Pid, FdTable<F>>,
    next_pid: u32,
}

impl<F: Clone> Default for ProcessTable<F> {
    fn default() -> Self {
        ProcessTable { tasks: BTreeMap::new(), files: BTreeMap::new(), next_pid: 1 }
    }
}

impl<F: Clone> ProcessTable<F> {
    /// An empty table; the first pid handed out is 1.
    pub fn new() -> Self {
        Self::default()
    }

    fn next_pid(&mut self) -> Pid {
        let pid = Pid(self.next_pid);
        self.next_pid += 1;
        pid
    }

    /// A new single-threaded process with stdio open.
    pub fn spawn(&mut self, args: SpawnArgs) -> Pid {
        let pid = self.next_pid();
        let task = Process {
            pid,
            tgid: pid,
            comm: Comm::new(&args.comm),
            uid: args.uid,
            gid: args.gid,
            netns: args.netns,
        };
        self.tasks.insert(pid, task);
        self.files.insert(pid, FdTable::new());
        pid
    }

    /// A new thread in `pid`'s thread group, sharing its fd table
    /// (`clone(CLONE_THREAD | CLONE_FILES)`); `ESRCH` if `pid` doesn't exist.
    pub fn spawn_thread(&mut self, pid: Pid, comm: &str) -> Result<Pid, Errno> {
        let parent = self.tasks.get(&pid).ok_or(Errno::ESRCH)?.clone();
        let tid = self.next_pid();
        self.tasks.insert(tid, Process { pid: tid, comm: Comm::new(comm), ..parent });
        Ok(tid)
    }

    /// `fork()`: a new process with a copy of the parent's fd table
    /// (each handle cloned) and its credentials, comm and netns.
    pub fn fork(&mut self, parent: Pid) -> Result<Pid, Errno> {
        let task = self.tasks.get(&parent).ok_or(Errno::ESRCH)?.clone();
        let files = self.files(parent)?.clone();
        let pid = self.next_pid();
        self.tasks.insert(pid, Process { pid, tgid: pid, ..task });
        self.files.insert(pid, files);
        Ok(pid)
    }

    /// A task exits. When it was the last of its thread group, the group's
    /// fd table is returned so the caller can release every handle.
    pub fn exit(&mut self, pid: Pid) -> Result<Option<FdTable<F>>, Errno> {
        let task = self.tasks.remove(&pid).ok_or(Errno::ESRCH)?;
        let group_alive = self.tasks.values().any(|t| t.tgid == task.tgid);
        Ok(if group_alive { None } else { self.files.remove(&task.tgid) })
    }

    /// A task by pid.
    pub fn get(&self, pid: Pid) -> Option<&Process> {
        self.tasks.get(&pid)
    }

    /// A task by pid, mutably (to change credentials, comm or netns).
    pub fn get_mut(&mut self, pid: Pid) -> Option<&mut Process> {
        self.tasks.get_mut(&pid)
    }

    /// The fd table `pid` uses (its thread group's); `ESRCH` if no such task.
    pub fn files(&self, pid: Pid) -> Result<&FdTable<F>, Errno> {
        let tgid = self.tasks.get(&pid).ok_or(Errno::ESRCH)?.tgid;
        self.files.get(&tgid).ok_or(Errno::ESRCH)
    }

    /// The fd table `pid` uses, mutably.
    pub fn files_mut(&mut self, pid: Pid) -> Result<&mut FdTable<F>, Errno> {
        let tgid = self.tasks.get(&pid).ok_or(Errno::ESRCH)?.tgid;
        self.files.get_mut(&tgid).ok_or(Errno::ESRCH)
    }

    /// All tasks in pid order.
    pub fn iter(&self) -> impl Iterator<Item = &Process> {
        self.tasks.values()
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether no task exists.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::fd::FdEntry;

    #[test]
    fn comm_truncation() {
        let c = Comm::new("a_very_long_task_name");
        assert_eq!(c.as_bytes(), b"a_very_long_tas");
        assert_eq!(c.raw()[15], 0);
        assert_eq!(c.to_string(), "a_very_long_tas");
        let s = Comm::new("bpftool");
        assert_eq!(s.raw(), b"bpftool\0\0\0\0\0\0\0\0\0");
        assert_eq!(Comm::new("ab\0cd").as_bytes(), b"ab");
        assert_eq!(Comm::new("exactly15bytes!").as_bytes().len(), 15);
        assert_eq!(format!("{s:?}"), "Comm(\"bpftool\")");
    }

    #[test]
    fn pids_threads_and_packed_ids() {
        let mut t: ProcessTable<u32> = ProcessTable::new();
        let p = t.spawn(SpawnArgs { comm: "loader".into(), uid: 1000, gid: 100, netns: NetnsId(7) });
        assert_eq!(p, Pid(1));
        let th = t.spawn_thread(p, "worker").unwrap();
        assert_eq!(th, Pid(2));
        let task = t.get(th).unwrap();
        assert_eq!((task.tgid, task.uid, task.netns), (p, 1000, NetnsId(7)));
        assert_eq!(task.pid_tgid(), 1 << 32 | 2);
        assert_eq!(task.uid_gid(), 100 << 32 | 1000);
        assert_eq!(t.spawn_thread(Pid(99), "x"), Err(Errno::ESRCH));
        assert_eq!(t.iter().map(|p| p.pid).collect::<Vec<_>>(), [Pid(1), Pid(2)]);
    }

    #[test]
    fn threads_share_files_fork_copies() {
        let mut t: ProcessTable<&str> = ProcessTable::new();
        let p = t.spawn(SpawnArgs::root("app"));
        let th = t.spawn_thread(p, "app-t").unwrap();
        assert_eq!(t.files_mut(th).unwrap().alloc("map"), Ok(3));
        assert_eq!(t.files(p).unwrap().object(3), Ok(&"map"));
        let child = t.fork(p).unwrap();
        assert_eq!(t.files_mut(child).unwrap().close(3), Ok(FdEntry::Object("map")));
        assert_eq!(t.files(p).unwrap().object(3), Ok(&"map"));
        assert_eq!(t.get(child).unwrap().tgid, child);

        assert_eq!(t.exit(p), Ok(None));
        let files = t.exit(th).unwrap().expect("last thread releases the table");
        assert_eq!(files.object(3), Ok(&"map"));
        assert_eq!(t.files(th).err(), Some(Errno::ESRCH));
        assert_eq!(t.exit(th), Err(Errno::ESRCH));
        assert_eq!(t.len(), 1);
    }
}
