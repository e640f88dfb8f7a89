//! The BPF filesystem (kernel/bpf/inode.c): pinned objects by path under
//! `/sys/fs/bpf`. A pin holds a reference like an fd does (for maps a user
//! reference, [`crate::bpf::objects::MapUref`]), so a pinned object outlives
//! its last fd until the pin is unlinked.
//!
//! Emulated: one bpffs instance mounted at [`BPFFS_ROOT`]; directories
//! (`mkdir`, `rmdir`), pins (`BPF_OBJ_PIN`, `BPF_OBJ_GET`), `unlink`, and the
//! errnos of path lookup in the VFS (`ENOENT` for a missing component,
//! `ENOTDIR` when a component is a pinned object, `EEXIST`, `EISDIR`,
//! `ENOTEMPTY`) and of inode.c (`EACCES` when `BPF_OBJ_GET` names a
//! directory: `bpf_inode_type()`; `EPERM` when `BPF_OBJ_PIN` targets a
//! directory outside bpffs: `bpf_obj_do_pin()` checks `dir->i_op`).
//!
//! Not emulated: the rest of the host filesystem. Paths outside bpffs are
//! treated as lying in existing non-bpffs directories for pin and mkdir
//! (`EPERM`) and as missing for get and unlink (`ENOENT`); there is no cwd
//! (relative paths resolve from `/`), no symlinks, no permissions (the
//! caller is root), no iterator pins (`bpf_iter_link_pin_kernel`), no
//! `BPF_F_PATH_FD`.

use super::objects::Obj;
use crate::errno::Errno;
use crate::kernel::Kernel;
use std::collections::{BTreeMap, BTreeSet};

/// Where bpffs is mounted.
pub const BPFFS_ROOT: &str = "/sys/fs/bpf";

/// `NAME_MAX`.
const NAME_MAX: usize = 255;
/// `PATH_MAX`, including the terminating NUL.
const PATH_MAX: usize = 4096;

/// Pinned objects and directories by absolute, normalized path.
#[derive(Debug, Default)]
pub struct Bpffs {
    pub entries: BTreeMap<String, Obj>,
    /// Directories below the root (the root always exists).
    pub dirs: BTreeSet<String>,
}

/// Where a path resolves.
enum Resolved {
    /// Inside bpffs (the root itself included): the normalized path.
    Inside(String),
    /// Outside the mount.
    Outside,
}

/// Normalizes `path` (duplicate slashes, `.` and `..`) and says whether it
/// lies in bpffs. `ENOENT` for an empty path (as `getname()`),
/// `ENAMETOOLONG` for a component over `NAME_MAX` or a path over `PATH_MAX`.
fn resolve(path: &str) -> Result<Resolved, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c if c.len() > NAME_MAX => return Err(Errno::ENAMETOOLONG),
            c => parts.push(c),
        }
    }
    let abs = format!("/{}", parts.join("/"));
    if abs == BPFFS_ROOT || abs.strip_prefix(BPFFS_ROOT).is_some_and(|rest| rest.starts_with('/')) {
        Ok(Resolved::Inside(abs))
    } else {
        Ok(Resolved::Outside)
    }
}

/// The parent of a normalized path inside bpffs (not the root).
fn parent(abs: &str) -> &str {
    abs.rsplit_once('/').map_or("/", |(p, _)| p)
}

impl Bpffs {
    fn is_dir(&self, abs: &str) -> bool {
        abs == BPFFS_ROOT || self.dirs.contains(abs)
    }

    fn exists(&self, abs: &str) -> bool {
        self.is_dir(abs) || self.entries.contains_key(abs)
    }

    /// Checks that every ancestor of `abs` below the root is a directory:
    /// `ENOTDIR` if one is a pinned object, `ENOENT` if one is missing.
    fn walk_to_parent(&self, abs: &str) -> Result<(), Errno> {
        let rest = &abs[BPFFS_ROOT.len()..];
        let mut cur = String::from(BPFFS_ROOT);
        let comps: Vec<&str> = rest.split('/').filter(|c| !c.is_empty()).collect();
        for c in comps.iter().take(comps.len().saturating_sub(1)) {
            cur.push('/');
            cur.push_str(c);
            if self.entries.contains_key(&cur) {
                return Err(Errno::ENOTDIR);
            }
            if !self.dirs.contains(&cur) {
                return Err(Errno::ENOENT);
            }
        }
        Ok(())
    }

    /// Resolves a path to create: the parent must exist and be a directory
    /// in bpffs (`EPERM` outside), the name must be free (`EEXIST`).
    fn creatable(&self, path: &str) -> Result<String, Errno> {
        let abs = match resolve(path)? {
            Resolved::Inside(abs) => abs,
            Resolved::Outside => return Err(Errno::EPERM),
        };
        if abs == BPFFS_ROOT {
            return Err(Errno::EEXIST);
        }
        self.walk_to_parent(&abs)?;
        debug_assert!(self.is_dir(parent(&abs)));
        if self.exists(&abs) {
            return Err(Errno::EEXIST);
        }
        Ok(abs)
    }

    /// Resolves an existing path (`ENOENT` if missing or outside bpffs).
    fn existing(&self, path: &str) -> Result<String, Errno> {
        let abs = match resolve(path)? {
            Resolved::Inside(abs) => abs,
            Resolved::Outside => return Err(Errno::ENOENT),
        };
        if abs != BPFFS_ROOT {
            self.walk_to_parent(&abs)?;
        }
        if !self.exists(&abs) {
            return Err(Errno::ENOENT);
        }
        Ok(abs)
    }

    /// `bpf_obj_do_pin()`: creates a pin holding `obj`.
    pub fn pin(&mut self, path: &str, obj: Obj) -> Result<(), Errno> {
        let abs = self.creatable(path)?;
        self.entries.insert(abs, obj);
        Ok(())
    }

    /// `bpf_obj_do_get()`: the object pinned at `path` (`EACCES` for a
    /// directory, `ENOENT` if nothing is there).
    pub fn get(&self, path: &str) -> Result<&Obj, Errno> {
        let abs = self.existing(path)?;
        self.entries.get(&abs).ok_or(Errno::EACCES)
    }

    /// `mkdir(2)` in bpffs (`bpf_mkdir`).
    pub fn mkdir(&mut self, path: &str) -> Result<(), Errno> {
        let abs = self.creatable(path)?;
        self.dirs.insert(abs);
        Ok(())
    }

    /// `unlink(2)` of a pin: returns the object so the caller drops the
    /// pin's reference. `EISDIR` for a directory.
    pub fn unlink(&mut self, path: &str) -> Result<Obj, Errno> {
        let abs = self.existing(path)?;
        self.entries.remove(&abs).ok_or(Errno::EISDIR)
    }

    /// `rmdir(2)`: `ENOTDIR` for a pin, `ENOTEMPTY` if anything is inside,
    /// `EBUSY` for the mount point itself.
    pub fn rmdir(&mut self, path: &str) -> Result<(), Errno> {
        let abs = self.existing(path)?;
        if abs == BPFFS_ROOT {
            return Err(Errno::EBUSY);
        }
        if !self.dirs.contains(&abs) {
            return Err(Errno::ENOTDIR);
        }
        let prefix = format!("{abs}/");
        let busy = self.entries.range(prefix.clone()..).next().is_some_and(|(k, _)| k.starts_with(&prefix))
            || self.dirs.range(prefix.clone()..).next().is_some_and(|k| k.starts_with(&prefix));
        if busy {
            return Err(Errno::ENOTEMPTY);
        }
        self.dirs.remove(&abs);
        Ok(())
    }

    /// `readdir`: names in the directory at `path`, sorted (`ENOTDIR` for
    /// a pin).
    pub fn list(&self, path: &str) -> Result<Vec<String>, Errno> {
        let abs = self.existing(path)?;
        if !self.is_dir(&abs) {
            return Err(Errno::ENOTDIR);
        }
        let prefix = format!("{abs}/");
        let direct = |k: &String| k.strip_prefix(&prefix).filter(|r| !r.contains('/')).map(str::to_owned);
        let mut names: Vec<String> =
            self.entries.keys().filter_map(direct).chain(self.dirs.iter().filter_map(direct)).collect();
        names.sort();
        Ok(names)
    }
}

impl Kernel {
    /// `mkdir(path)` in bpffs.
    pub fn bpffs_mkdir(&mut self, path: &str) -> Result<(), Errno> {
        self.bpffs.mkdir(path)
    }

    /// `rmdir(path)` in bpffs.
    pub fn bpffs_rmdir(&mut self, path: &str) -> Result<(), Errno> {
        self.bpffs.rmdir(path)
    }

    /// `unlink(path)` of a pin: drops the pin's reference (the object is
    /// freed if that was the last one).
    pub fn bpffs_unlink(&mut self, path: &str) -> Result<(), Errno> {
        self.bpffs.unlink(path).map(drop)
    }
}
