//! The `bpf()` entry point: one typed call in, `Result<i64, Errno>` out —
//! the fd or 0 Linux returns, or the errno it sets. Dispatch only; each
//! command group lives in its own module (map_cmds, obj_cmds, prog_cmds,
//! link_cmds, btf_cmds). Every command first passes `security_bpf()`
//! ([`crate::lsm::call`]).

use super::attr::BpfAttr;
use crate::errno::Errno;
use crate::kernel::Kernel;

impl Kernel {
    /// `bpf(cmd, attr, size)` on behalf of the current process.
    pub fn bpf(&mut self, attr: BpfAttr<'_>) -> Result<i64, Errno> {
        use BpfAttr as A;
        // __sys_bpf(): the LSM gate on the copied attr, every command.
        let ret = self.security_bpf(attr.cmd().raw(), || crate::lsm::attr::image(&attr));
        crate::lsm::call::check_neg(ret)?;
        match attr {
            A::MapCreate(a) => self.map_create(&a),
            A::MapLookupElem { map_fd, key, value, flags } => self.map_lookup_elem(map_fd, key, value, flags),
            A::MapUpdateElem { map_fd, key, value, flags } => self.map_update_elem(map_fd, key, value, flags),
            A::MapDeleteElem { map_fd, key, flags } => self.map_delete_elem(map_fd, key, flags),
            A::MapGetNextKey { map_fd, key, next_key } => self.map_get_next_key(map_fd, key, next_key),
            A::MapLookupAndDeleteElem { map_fd, key, value, flags } => {
                self.map_lookup_and_delete_elem(map_fd, key, value, flags)
            }
            A::MapFreeze { map_fd } => self.map_freeze(map_fd),
            A::MapLookupBatch(b) => self.map_lookup_batch(b, false),
            A::MapLookupAndDeleteBatch(b) => self.map_lookup_batch(b, true),
            A::MapUpdateBatch(b) => self.map_update_batch(b),
            A::MapDeleteBatch(b) => self.map_delete_batch(b),
            A::ProgLoad(a) => self.prog_load(a),
            A::ProgTestRun(mut a) => self.prog_test_run(&mut a),
            A::ObjPin { bpf_fd, pathname, file_flags } => self.obj_pin(bpf_fd, pathname, file_flags),
            A::ObjGet { pathname, file_flags } => self.obj_get(pathname, file_flags),
            A::ProgGetNextId { start_id, next_id } => self.get_next_id(IdKind::Prog, start_id, next_id),
            A::MapGetNextId { start_id, next_id } => self.get_next_id(IdKind::Map, start_id, next_id),
            A::LinkGetNextId { start_id, next_id } => self.get_next_id(IdKind::Link, start_id, next_id),
            A::BtfGetNextId { start_id, next_id } => self.get_next_id(IdKind::Btf, start_id, next_id),
            A::ProgGetFdById { id } => self.get_fd_by_id(IdKind::Prog, id, 0),
            A::MapGetFdById { id, open_flags } => self.get_fd_by_id(IdKind::Map, id, open_flags),
            A::LinkGetFdById { id } => self.get_fd_by_id(IdKind::Link, id, 0),
            A::BtfGetFdById { id } => self.get_fd_by_id(IdKind::Btf, id, 0),
            A::ObjGetInfoByFd { bpf_fd, info } => self.obj_get_info_by_fd(bpf_fd, info),
            A::BtfLoad { btf, log, log_level } => self.btf_load(btf, log, log_level),
            A::ProgAttach { target_fd, attach_bpf_fd, attach_type, attach_flags, replace_bpf_fd } => {
                self.prog_attach(target_fd, attach_bpf_fd, attach_type, attach_flags, replace_bpf_fd)
            }
            A::ProgDetach { target_fd, attach_bpf_fd, attach_type } => {
                self.prog_detach(target_fd, attach_bpf_fd, attach_type)
            }
            A::ProgQuery { target_fd, attach_type, query_flags, attach_flags, prog_ids } => {
                self.prog_query(target_fd, attach_type, query_flags, attach_flags, prog_ids)
            }
            A::LinkCreate(a) => self.link_create(&a),
            A::LinkUpdate { link_fd, new_prog_fd, flags, old_prog_fd } => {
                self.link_update(link_fd, new_prog_fd, flags, old_prog_fd)
            }
            A::LinkDetach { link_fd } => self.link_detach(link_fd),
            A::RawTracepointOpen { name, prog_fd, cookie } => self.raw_tracepoint_open(name, prog_fd, cookie),
            A::IterCreate { link_fd, flags } => self.iter_create(link_fd, flags),
        }
    }
}

/// Which id table a `*_GET_NEXT_ID` / `*_GET_FD_BY_ID` command uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    Prog,
    Map,
    Link,
    Btf,
}
