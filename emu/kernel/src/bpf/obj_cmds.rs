//! Object commands of `bpf()`: pinning (`bpf_obj_pin`, `bpf_obj_get` of
//! kernel/bpf/syscall.c and inode.c), ids (`bpf_obj_get_next_id`,
//! `bpf_{map,prog,link,btf}_get_fd_by_id`), `BPF_OBJ_GET_INFO_BY_FD`
//! (`bpf_{prog,map,link,btf}_get_info_by_fd`), and the bpf parts of
//! `/proc/<pid>/fdinfo/<fd>` (`bpf_{map,prog,link}_show_fdinfo`,
//! `bpf_btf_show_fdinfo`).
//!
//! Deviations: the caller is always privileged (no `EPERM` for lacking
//! `CAP_SYS_ADMIN`); `BPF_F_PATH_FD` is refused with `EINVAL` (the typed
//! attr has no `path_fd`); `bpf_map_info.btf_id` is 0 (a [`Map`] does not
//! keep its BTF object yet); `jited_prog_len` is the native image's size
//! (0 when not jited, [`crate::bpf::jit`]); `recursion_misses` counts only
//! raw tracepoint probes skipped by recursion (trampolines do not track
//! it); a program's `memlock` is an estimate of the kernel's
//! page-rounded `bpf_prog` allocation; fdinfo omits the VFS lines (`pos`,
//! `flags`, `mnt_id`, `ino`) and prog_array's `owner_*` lines.

use super::attr::{BtfInfo, LinkInfo, MapInfo, ObjInfo, ProgInfo};
use super::objects::{FMode, MapUref, Obj};
use super::syscall::IdKind;
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::map::Map;
use crate::sim::fd::FdEntry;
use crate::uapi::{BPF_F_RDONLY, BPF_F_WRONLY, LinkType};

/// `BPF_OBJ_FLAG_MASK`.
const BPF_OBJ_FLAG_MASK: u32 = BPF_F_RDONLY | BPF_F_WRONLY;
const PAGE_SIZE: u64 = 4096;
/// Bytes of `struct bpf_prog` before `insns[]` (x86-64), for `memlock`.
const BPF_PROG_HEADER: u64 = 72;

/// C's `%#x`: `0` for zero, `0x...` otherwise.
fn hash_x(v: u64) -> String {
    if v == 0 { "0".into() } else { format!("{v:#x}") }
}

fn kv(k: &str, v: impl ToString) -> (String, String) {
    (k.to_owned(), v.to_string())
}

/// A program's `memlock` (fdinfo, `bpftool prog show`): the page-rounded
/// size of its `bpf_prog` allocation.
pub fn prog_memlock(p: &super::prog::Prog) -> u64 {
    (BPF_PROG_HEADER + p.xlated.len() as u64 * 8).div_ceil(PAGE_SIZE) * PAGE_SIZE
}

/// `bpf_map_info` of a map.
pub fn map_info(map: &Map) -> MapInfo {
    MapInfo {
        map_type: map.def.map_type.raw(),
        id: map.id,
        key_size: map.def.key_size,
        value_size: map.def.value_size,
        max_entries: map.def.max_entries,
        map_flags: map.def.map_flags,
        name: map.def.name.clone(),
        btf_id: 0,
        btf_key_type_id: map.def.btf_key_type_id,
        btf_value_type_id: map.def.btf_value_type_id,
        btf_vmlinux_value_type_id: map.def.btf_vmlinux_value_type_id,
        map_extra: map.def.map_extra,
        frozen: map.is_frozen(),
    }
}

impl Kernel {
    /// `BPF_OBJ_PIN`: pins the map, program or link behind `bpf_fd` at
    /// `pathname`. Any fd that is not one of those (closed, stdio, BTF) is
    /// `EINVAL`: `bpf_fd_probe_obj()` tries each kind and gives up with
    /// `EINVAL`, not `EBADF`.
    pub(crate) fn obj_pin(&mut self, bpf_fd: i32, pathname: &str, file_flags: u32) -> Result<i64, Errno> {
        // Only BPF_F_PATH_FD is defined, and it is not emulated.
        if file_flags != 0 {
            return Err(Errno::EINVAL);
        }
        let obj = match self.fd_obj(bpf_fd) {
            // A pin's map reference has no access mode of its own.
            Ok(Obj::Map(u)) => Obj::Map(MapUref::new(u.map().clone())),
            Ok(o @ (Obj::Prog(_) | Obj::Link(_))) => o,
            Ok(Obj::Btf(_) | Obj::Netns(_) | Obj::Socket(_) | Obj::Iter(_)) | Err(_) => {
                return Err(Errno::EINVAL);
            }
        };
        self.bpffs.pin(pathname, obj)?;
        Ok(0)
    }

    /// `BPF_OBJ_GET`: a new fd for the object pinned at `pathname`.
    /// `file_flags` may hold `BPF_F_RDONLY` or `BPF_F_WRONLY` (both:
    /// `EINVAL`), which set a map fd's mode; links only open read-write
    /// (`EINVAL` otherwise).
    pub(crate) fn obj_get(&mut self, pathname: &str, file_flags: u32) -> Result<i64, Errno> {
        // BPF_F_PATH_FD is valid in the kernel but not emulated.
        if file_flags & !BPF_OBJ_FLAG_MASK != 0 {
            return Err(Errno::EINVAL);
        }
        let mode = FMode::from_flags(file_flags)?;
        let obj = match self.bpffs.get(pathname)? {
            Obj::Map(u) => Obj::Map(MapUref::with_mode(u.map().clone(), mode)),
            Obj::Link(_) if mode != FMode::RDWR => return Err(Errno::EINVAL),
            o => o.clone(),
        };
        self.new_fd_check(&obj, mode)?;
        Ok(i64::from(self.install_fd(obj)?))
    }

    /// `BPF_*_GET_NEXT_ID`: the smallest live id above `start_id` into
    /// `next_id`; `ENOENT` if there is none, `EINVAL` for a `start_id` of
    /// `INT_MAX` or more.
    pub(crate) fn get_next_id(
        &mut self,
        kind: IdKind,
        start_id: u32,
        next_id: &mut u32,
    ) -> Result<i64, Errno> {
        if start_id >= i32::MAX as u32 {
            return Err(Errno::EINVAL);
        }
        let o = &self.objects;
        let next = match kind {
            IdKind::Prog => o.progs.next_id(start_id),
            IdKind::Map => o.maps.next_id(start_id),
            IdKind::Link => o.links.next_id(start_id),
            IdKind::Btf => o.btfs.next_id(start_id),
        };
        *next_id = next.ok_or(Errno::ENOENT)?;
        Ok(0)
    }

    /// `BPF_*_GET_FD_BY_ID`: a new fd for a live object (`ENOENT` if the id
    /// is unknown or its object is gone). For maps, `open_flags` is the
    /// fd's mode (`BPF_F_RDONLY` / `BPF_F_WRONLY`; anything else or both:
    /// `EINVAL`); a map that only programs still reference regains a user
    /// reference, as `bpf_map_inc_not_zero()` gives it. Other kinds take
    /// no flags (`EINVAL`).
    pub(crate) fn get_fd_by_id(&mut self, kind: IdKind, id: u32, open_flags: u32) -> Result<i64, Errno> {
        let obj = match kind {
            IdKind::Map => {
                if open_flags & !BPF_OBJ_FLAG_MASK != 0 {
                    return Err(Errno::EINVAL);
                }
                let mode = FMode::from_flags(open_flags)?;
                let map = self.objects.maps.get(id).ok_or(Errno::ENOENT)?;
                Obj::Map(MapUref::with_mode(map, mode))
            }
            _ if open_flags != 0 => return Err(Errno::EINVAL),
            IdKind::Prog => Obj::Prog(self.objects.progs.get(id).ok_or(Errno::ENOENT)?),
            IdKind::Link => Obj::Link(self.objects.links.get(id).ok_or(Errno::ENOENT)?),
            IdKind::Btf => Obj::Btf(self.objects.btfs.get(id).ok_or(Errno::ENOENT)?),
        };
        let mode = FMode::from_flags(open_flags)?;
        self.new_fd_check(&obj, mode)?;
        Ok(i64::from(self.install_fd(obj)?))
    }

    /// The LSM check of `bpf_map_new_fd()` / `bpf_prog_new_fd()` before a
    /// new fd of a map (with `mode`) or a program.
    fn new_fd_check(&mut self, obj: &Obj, mode: FMode) -> Result<(), Errno> {
        match obj {
            Obj::Map(u) => self.map_fd_check(u.map(), mode),
            Obj::Prog(p) => self.prog_fd_check(p),
            _ => Ok(()),
        }
    }

    /// `BPF_OBJ_GET_INFO_BY_FD`: `EBADF` for a closed fd, `EINVAL` for one
    /// that is not a BPF object.
    pub(crate) fn obj_get_info_by_fd(
        &mut self,
        bpf_fd: i32,
        info: &mut Option<ObjInfo>,
    ) -> Result<i64, Errno> {
        let obj = self.sim.procs.files(self.user)?.object(bpf_fd)?;
        if let Obj::Netns(_) | Obj::Socket(_) | Obj::Iter(_) = obj {
            return Err(Errno::EINVAL);
        }
        *info = Some(match obj {
            Obj::Map(u) => ObjInfo::Map(map_info(u.map())),
            Obj::Prog(p) => ObjInfo::Prog(ProgInfo {
                prog_type: p.prog_type.raw(),
                id: p.id,
                tag: p.tag,
                jited_prog_len: p.jited_len() as u32,
                xlated_prog_len: (p.xlated.len() * 8) as u32,
                load_time: p.load_time,
                created_by_uid: p.uid,
                nr_map_ids: p.used_maps.len() as u32,
                map_ids: p.used_maps.iter().map(|m| m.id).collect(),
                name: p.name.clone(),
                gpl_compatible: p.gpl_compatible,
                btf_id: p.btf_id,
                run_time_ns: p.run_time_ns(),
                run_cnt: p.run_cnt(),
                recursion_misses: p.recursion_misses(),
                verified_insns: p.verified_insns,
                expected_attach_type: p.expected_attach_type.map_or(0, |t| t.raw()),
                nr_func_info: p.btf_counts.nr_func_info,
                func_info_rec_size: p.btf_counts.func_info_rec_size,
                nr_line_info: p.btf_counts.nr_line_info,
                line_info_rec_size: p.btf_counts.line_info_rec_size,
                attach_btf_obj_id: if p.attach_btf_id != 0 { self.vmlinux_btf_id() } else { 0 },
                attach_btf_id: p.attach_btf_id,
            }),
            Obj::Link(l) => ObjInfo::Link(LinkInfo {
                link_type: l.link_type().raw(),
                id: l.id,
                prog_id: l.prog().id,
                extra: l.ops.fill_info(l),
            }),
            Obj::Btf(b) => ObjInfo::Btf(BtfInfo {
                id: b.id,
                btf_size: b.data.len() as u32,
                name: b.name.clone(),
                kernel_btf: b.kernel_btf,
                data: b.data.clone(),
            }),
            Obj::Netns(_) | Obj::Socket(_) | Obj::Iter(_) => return Err(Errno::EINVAL),
        });
        Ok(0)
    }

    /// The BPF lines of `/proc/self/fdinfo/<fd>`, as `(key, value)` in the
    /// kernel's order: `EBADF` for a closed fd, nothing for a non-BPF fd.
    pub fn fdinfo(&self, fd: i32) -> Result<Vec<(String, String)>, Errno> {
        let obj = match self.sim.procs.files(self.user)?.get(fd)? {
            FdEntry::Stdio => return Ok(Vec::new()),
            FdEntry::Object(o) => o,
        };
        Ok(match obj {
            Obj::Map(u) => {
                let m = u.map();
                vec![
                    kv("map_type", m.def.map_type.raw()),
                    kv("key_size", m.def.key_size),
                    kv("value_size", m.def.value_size),
                    kv("max_entries", m.def.max_entries),
                    kv("map_flags", hash_x(u64::from(m.def.map_flags))),
                    kv("map_extra", hash_x(m.def.map_extra)),
                    kv("memlock", m.ops.mem_usage()),
                    kv("map_id", m.id),
                    kv("frozen", u32::from(m.is_frozen())),
                ]
            }
            Obj::Prog(p) => {
                vec![
                    kv("prog_type", p.prog_type.raw()),
                    kv("prog_jited", u32::from(p.jited_len() != 0)),
                    kv("prog_tag", p.tag_hex()),
                    kv("memlock", prog_memlock(p)),
                    kv("prog_id", p.id),
                    kv("run_time_ns", p.run_time_ns()),
                    kv("run_cnt", p.run_cnt()),
                    kv("recursion_misses", p.recursion_misses()),
                    kv("verified_insns", p.verified_insns),
                ]
            }
            Obj::Link(l) => {
                let t = l.link_type();
                let prog = l.prog();
                let mut v = vec![
                    kv("link_type", if t == LinkType::Unspec { "<invalid>" } else { t.name() }),
                    kv("link_id", l.id),
                    kv("prog_tag", prog.tag_hex()),
                    kv("prog_id", prog.id),
                ];
                v.extend(l.ops.show_fdinfo(l));
                v
            }
            Obj::Btf(b) => vec![kv("btf_id", b.id)],
            Obj::Netns(_) | Obj::Socket(_) | Obj::Iter(_) => Vec::new(),
        })
    }
}
