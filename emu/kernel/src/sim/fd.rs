//! Per-process file descriptor tables.
//!
//! Kernel counterpart: `fs/file.c` (`alloc_fd`, `close_fd`, `dup`) and
//! `include/linux/fdtable.h`. Rules kept from the kernel:
//! - a new fd is the lowest free number (POSIX), checked against the
//!   `RLIMIT_NOFILE` soft limit: no free fd below it → `EMFILE`;
//! - a table starts with 0, 1, 2 open, as a process inherits stdin, stdout
//!   and stderr, so the first BPF object gets fd 3 — and closing 0 makes
//!   the next object get fd 0, as in Linux;
//! - an fd that is negative or not open → `EBADF`.
//!
//! The table maps fds to a handle type `T` chosen by the object table (not
//! written yet); `T::clone` is what `dup` and `fork` use, so a refcounted
//! handle takes its reference there. Not emulated: `O_CLOEXEC`, `dup2`,
//! `fs.nr_open`/`ENFILE`, the `next_fd` search hint (it doesn't change
//! which fd is chosen).

use std::collections::BTreeMap;

use crate::errno::Errno;

/// Default `RLIMIT_NOFILE` soft limit (`INR_OPEN_CUR`).
pub const DEFAULT_NOFILE: u32 = 1024;

/// What an open fd refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FdEntry<T> {
    /// An inherited stdio file: open, but not a BPF object.
    Stdio,
    /// A kernel object.
    Object(T),
}

/// A file descriptor table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdTable<T: Clone> {
    entries: BTreeMap<u32, FdEntry<T>>,
    limit: u32,
}

impl<T: Clone> Default for FdTable<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Clone> FdTable<T> {
    /// A table with 0, 1 and 2 open as stdio and the default limit.
    pub fn new() -> Self {
        let entries = (0..3).map(|fd| (fd, FdEntry::Stdio)).collect();
        FdTable { entries, limit: DEFAULT_NOFILE }
    }

    /// A table with nothing open (a kernel thread's).
    pub fn empty() -> Self {
        FdTable { entries: BTreeMap::new(), limit: DEFAULT_NOFILE }
    }

    /// The `RLIMIT_NOFILE` soft limit: fds must be below it.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Sets the limit; already-open fds above it stay open, as in Linux.
    pub fn set_limit(&mut self, limit: u32) {
        self.limit = limit;
    }

    fn key(fd: i32) -> Result<u32, Errno> {
        u32::try_from(fd).map_err(|_| Errno::EBADF)
    }

    /// The lowest free fd, if below the limit.
    fn lowest_free(&self) -> Result<u32, Errno> {
        let mut want = 0u32;
        for &fd in self.entries.keys() {
            if fd != want {
                break;
            }
            want += 1;
        }
        if want >= self.limit { Err(Errno::EMFILE) } else { Ok(want) }
    }

    /// Installs `obj` at the lowest free fd (`get_unused_fd_flags` + `fd_install`).
    pub fn alloc(&mut self, obj: T) -> Result<i32, Errno> {
        let fd = self.lowest_free()?;
        self.entries.insert(fd, FdEntry::Object(obj));
        Ok(fd as i32)
    }

    /// What `fd` refers to; `EBADF` if it isn't open.
    pub fn get(&self, fd: i32) -> Result<&FdEntry<T>, Errno> {
        self.entries.get(&Self::key(fd)?).ok_or(Errno::EBADF)
    }

    /// The object behind `fd`: `EBADF` if not open, `EINVAL` if it is open
    /// but not a kernel object (what `bpf_map_get`/`bpf_prog_get` return
    /// for, say, stdin).
    pub fn object(&self, fd: i32) -> Result<&T, Errno> {
        match self.get(fd)? {
            FdEntry::Object(o) => Ok(o),
            FdEntry::Stdio => Err(Errno::EINVAL),
        }
    }

    /// `close(fd)`: returns what was open so the caller can drop its
    /// reference; `EBADF` if nothing was.
    pub fn close(&mut self, fd: i32) -> Result<FdEntry<T>, Errno> {
        self.entries.remove(&Self::key(fd)?).ok_or(Errno::EBADF)
    }

    /// `dup(fd)`: the same entry at the lowest free fd.
    pub fn dup(&mut self, fd: i32) -> Result<i32, Errno> {
        let entry = self.get(fd)?.clone();
        let new = self.lowest_free()?;
        self.entries.insert(new, entry);
        Ok(new as i32)
    }

    /// Number of open fds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no fd is open.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Open fds in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &FdEntry<T>)> {
        self.entries.iter().map(|(&fd, e)| (fd as i32, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_free_starting_after_stdio() {
        let mut t = FdTable::new();
        assert_eq!(t.alloc("a"), Ok(3));
        assert_eq!(t.alloc("b"), Ok(4));
        assert_eq!(t.alloc("c"), Ok(5));
        assert_eq!(t.close(4), Ok(FdEntry::Object("b")));
        assert_eq!(t.alloc("d"), Ok(4));
        assert_eq!(t.close(0), Ok(FdEntry::Stdio));
        assert_eq!(t.alloc("e"), Ok(0));
        assert_eq!(t.object(0), Ok(&"e"));
        let fds: Vec<i32> = t.iter().map(|(fd, _)| fd).collect();
        assert_eq!(fds, [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn ebadf_and_einval() {
        let mut t: FdTable<u8> = FdTable::new();
        assert_eq!(t.close(3), Err(Errno::EBADF));
        assert_eq!(t.close(-1), Err(Errno::EBADF));
        assert_eq!(t.get(-5), Err(Errno::EBADF));
        assert_eq!(t.object(7), Err(Errno::EBADF));
        assert_eq!(t.object(1), Err(Errno::EINVAL));
        let fd = t.alloc(9).unwrap();
        assert_eq!(t.close(fd), Ok(FdEntry::Object(9)));
        assert_eq!(t.close(fd), Err(Errno::EBADF));
        assert_eq!(t.dup(fd), Err(Errno::EBADF));
    }

    #[test]
    fn rlimit_nofile_gives_emfile() {
        let mut t = FdTable::new();
        t.set_limit(5);
        assert_eq!(t.alloc(1), Ok(3));
        assert_eq!(t.alloc(2), Ok(4));
        assert_eq!(t.alloc(3), Err(Errno::EMFILE));
        assert_eq!(t.dup(3), Err(Errno::EMFILE));
        t.close(3).unwrap();
        assert_eq!(t.dup(4), Ok(3));
        assert_eq!(t.object(3), Ok(&2));
        let mut e: FdTable<u8> = FdTable::empty();
        assert!(e.is_empty());
        e.set_limit(0);
        assert_eq!(e.alloc(0), Err(Errno::EMFILE));
        assert_eq!(FdTable::<u8>::default().limit(), DEFAULT_NOFILE);
    }
}
