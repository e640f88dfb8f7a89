//! The BPF filesystem (`kernel/bpf/inode.c`): pinned objects by path under
//! `/sys/fs/bpf`. A pin holds a user reference like an fd does.

use super::objects::Obj;
use std::collections::BTreeMap;

/// Where bpffs is mounted.
pub const BPFFS_ROOT: &str = "/sys/fs/bpf";

/// Pinned objects by absolute path.
#[derive(Debug, Default)]
pub struct Bpffs {
    pub entries: BTreeMap<String, Obj>,
}
