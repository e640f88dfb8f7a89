//! [`Object::load`] (libbpf's `bpf_object_load()`), in libbpf's order:
//!
//! 1. resolve `__ksym` externs and BTF attach targets against the
//!    kernel's BTF (read through [`Seam::vmlinux_btf`] when needed);
//! 2. CO-RE relocations of every program that will load, on its own code
//!    ([`super::co_re`]);
//! 3. `BPF_BTF_LOAD` of the object's BTF; if the kernel refuses it, the
//!    object loads without BTF (libbpf: "BTF is optional, ignoring");
//! 4. maps: pinned maps reused (`LIBBPF_PIN_BY_NAME`, after a
//!    compatibility check) or created and pinned; map-in-map inner
//!    templates created first and closed after their outer map; a
//!    creation refused with BTF is retried without; global data gets its
//!    initial value (not `.bss`, which the kernel zeroes) and `.rodata` /
//!    `.kconfig` are frozen;
//! 5. programs: subprograms appended, references resolved, then
//!    `BPF_PROG_LOAD` with the name cut to 15 bytes, the license,
//!    `kern_version`, expected attach type, flags, attach BTF id, and the
//!    object's BTF with the func_info / line_info of each piece; on
//!    failure the load is retried with a level-1 log, whose tail the error
//!    carries;
//! 6. `values` initialisers: prog_array / map-in-map slots set to the
//!    programs' and maps' fds.
//!
//! A failure closes every fd the load created (`bpf_object_unload()`).

use super::Object;
use super::btf_maps::is_map_in_map;
use super::externs::{ExternKind, resolve_ksyms};
use super::relocate;
use crate::error::{Error, Result};
use crate::map::{InitTarget, Map, MapKind};
use crate::seam::Seam;
use crate::sec_def;
use bpfemu_btf::{Btf, BtfKind};
use bpfemu_kernel::bpf::attr::{BpfAttr, MapCreateAttr, ObjInfo, ProgLoadAttr};
use bpfemu_kernel::errno::Errno;
use std::sync::Arc;

/// The log buffer for the retry after a failed load (libbpf grows its
/// buffer up to 16 MiB).
const LOG_BUF_SIZE: u32 = 16 * 1024 * 1024;
/// `BPF_MAP_TYPE_PERF_EVENT_ARRAY`.
const MAP_PERF_EVENT_ARRAY: u32 = 4;
/// Lines of verifier log an error keeps.
const LOG_TAIL_LINES: usize = 40;

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    let from = lines.len().saturating_sub(LOG_TAIL_LINES);
    lines[from..].join("\n")
}

impl Object {
    /// `bpf_object__load()`: creates the maps and loads every autoload
    /// program through `seam`.
    pub fn load(&mut self, seam: &mut impl Seam) -> Result<()> {
        if self.loaded || self.load_attempted {
            // libbpf: an object loads once, whether or not that succeeded
            // (its code has been relocated in place).
            return Err(Error::State { obj: self.name.clone(), msg: "can't load an object twice".into() });
        }
        self.load_attempted = true;
        let r = self.load_inner(seam);
        if r.is_err() {
            self.unload(seam);
        } else {
            self.loaded = true;
        }
        r
    }

    /// `bpf_object__unload()` / `bpf_object__close()`: closes every fd the
    /// object holds (maps, programs, BTF). Links are separate objects.
    pub fn unload(&mut self, seam: &mut impl Seam) {
        for p in &mut self.programs {
            if let Some(fd) = p.fd.take() {
                let _ = seam.close(fd);
            }
        }
        for m in &mut self.maps {
            if let Some(fd) = m.fd.take() {
                let _ = seam.close(fd);
            }
        }
        if let Some(fd) = self.btf_fd.take() {
            let _ = seam.close(fd);
        }
        self.loaded = false;
    }

    fn needs_vmlinux(&self) -> bool {
        !self.st_ops.is_empty()
            || self.ext.as_ref().is_some_and(|e| e.core_relos.iter().any(|s| !s.records.is_empty()))
            || self
                .externs
                .iter()
                .any(|e| matches!(e.kind, ExternKind::KsymVar { typeless: false } | ExternKind::KsymFunc))
            || self
                .programs
                .iter()
                .any(|p| p.autoload && p.sec_def.is_some_and(|d| d.flags & sec_def::SEC_ATTACH_BTF != 0))
    }

    fn load_inner(&mut self, seam: &mut impl Seam) -> Result<()> {
        let vmlinux: Option<Arc<Btf>> = if self.needs_vmlinux() { seam.vmlinux_btf().ok() } else { None };
        resolve_ksyms(&mut self.externs, vmlinux.as_deref())?;
        self.resolve_attach_targets(vmlinux.as_deref(), seam)?;
        self.prepare_struct_ops(vmlinux.as_deref())?;
        self.apply_core(vmlinux.as_deref())?;
        self.load_btf(seam);
        for i in 0..self.maps.len() {
            self.create_map(seam, i)?;
        }
        for i in 0..self.programs.len() {
            if self.programs[i].is_subprog || !self.programs[i].autoload {
                continue;
            }
            self.load_program(seam, i)?;
        }
        self.init_slots(seam)
    }

    /// `libbpf_find_attach_btf_id()` for `SEC_ATTACH_BTF` programs.
    fn resolve_attach_targets(&mut self, vmlinux: Option<&Btf>, seam: &mut impl Seam) -> Result<()> {
        for p in &mut self.programs {
            let Some(def) = p.sec_def else { continue };
            if def.flags & sec_def::SEC_ATTACH_BTF == 0 || !p.autoload {
                continue;
            }
            let perr = |msg: String| Error::Program { prog: p.name.clone(), msg };
            let Some(target) = p.attach_target.clone() else {
                return Err(perr(
                    "no BTF-based attach target is specified, use bpf_program__set_attach_target()".into(),
                ));
            };
            if p.prog_type == bpfemu_kernel::uapi::ProgType::Ext.raw() || p.attach_prog_fd != 0 {
                if p.attach_prog_fd == 0 {
                    return Err(perr(format!(
                        "freplace needs the target program's fd (attach program FD is not set) for '{target}'"
                    )));
                }
                p.attach_btf_id = prog_func_btf_id(seam, p.attach_prog_fd, &target).map_err(perr)?;
                continue;
            }
            let (prefix, kind) = match p.expected_attach_type {
                sec_def::TRACE_RAW_TP => ("btf_trace_", BtfKind::Typedef),
                sec_def::LSM_MAC | sec_def::LSM_CGROUP => ("bpf_lsm_", BtfKind::Func),
                sec_def::TRACE_ITER => ("bpf_iter_", BtfKind::Func),
                _ => ("", BtfKind::Func),
            };
            let btf =
                vmlinux.ok_or_else(|| perr("the kernel has no BTF (vmlinux BTF is not found)".into()))?;
            let name = format!("{prefix}{target}");
            p.attach_btf_id = btf.find_by_name_kind(&name, kind).ok_or_else(|| {
                perr(format!("failed to find kernel BTF type ID of '{target}': {name} is not in vmlinux BTF"))
            })?;
        }
        Ok(())
    }

    fn load_btf(&mut self, seam: &mut impl Seam) {
        let Some(btf) = &self.btf else { return };
        let bytes = match btf.encode() {
            Ok(b) => b,
            Err(e) => {
                self.warnings.push(format!("BTF could not be encoded: {e}; loading without BTF"));
                return;
            }
        };
        let mut log = String::new();
        match seam.bpf(BpfAttr::BtfLoad { btf: &bytes, log: Some(&mut log), log_level: 1 }) {
            Ok(fd) => self.btf_fd = Some(fd as i32),
            Err(e) => {
                let last = log.lines().last().unwrap_or("").to_owned();
                self.warnings
                    .push(format!("Error loading .BTF into kernel: {e} ({last}); BTF is optional, ignoring"));
            }
        }
    }

    fn map_attr(&self, m: &Map, inner_fd: i32, with_btf: bool) -> MapCreateAttr {
        let d = &m.def;
        let btf_fd = if with_btf { self.btf_fd } else { None };
        let (key_id, val_id) = match btf_fd {
            Some(_) if !is_map_in_map(d.map_type) && d.map_type != super::btf_maps::MAP_PROG_ARRAY => {
                (d.btf_key_type_id, d.btf_value_type_id)
            }
            _ => (0, 0),
        };
        MapCreateAttr {
            map_type: d.map_type,
            key_size: d.key_size,
            value_size: d.value_size,
            max_entries: d.max_entries,
            map_flags: d.map_flags,
            inner_map_fd: inner_fd,
            numa_node: d.numa_node,
            map_name: m.kname.as_bytes().to_vec(),
            btf_fd: if key_id != 0 || val_id != 0 || d.btf_vmlinux_value_type_id != 0 {
                btf_fd.unwrap_or(0)
            } else {
                0
            },
            btf_key_type_id: key_id,
            btf_value_type_id: val_id,
            btf_vmlinux_value_type_id: d.btf_vmlinux_value_type_id,
            map_extra: d.map_extra,
            ..Default::default()
        }
    }

    fn create_one(&self, seam: &mut impl Seam, m: &Map, inner_fd: i32) -> Result<i32> {
        let attr = self.map_attr(m, inner_fd, true);
        let had_btf = attr.btf_fd != 0;
        match seam.bpf(BpfAttr::MapCreate(attr)) {
            Ok(fd) => Ok(fd as i32),
            Err(_) if had_btf => seam
                .bpf(BpfAttr::MapCreate(self.map_attr(m, inner_fd, false)))
                .map(|fd| fd as i32)
                .map_err(|e| Error::sys(format!("map '{}': BPF_MAP_CREATE", m.name), e)),
            Err(e) => Err(Error::sys(format!("map '{}': BPF_MAP_CREATE", m.name), e)),
        }
    }

    /// `bpf_object__reuse_map()`: a pinned map compatible with the
    /// definition (`map_is_reuse_compat()`).
    fn reuse_pinned(&self, seam: &mut impl Seam, m: &Map, path: &str) -> Result<Option<i32>> {
        let fd = match seam.bpf(BpfAttr::ObjGet { pathname: path, file_flags: 0 }) {
            Ok(fd) => fd as i32,
            Err(Errno::ENOENT) => return Ok(None),
            Err(e) => return Err(Error::sys(format!("map '{}': BPF_OBJ_GET {path}", m.name), e)),
        };
        let mut info = None;
        let ok = seam.bpf(BpfAttr::ObjGetInfoByFd { bpf_fd: fd, info: &mut info }).is_ok();
        let compat = match (ok, info) {
            (true, Some(ObjInfo::Map(i))) => {
                i.map_type == m.def.map_type
                    && i.key_size == m.def.key_size
                    && i.value_size == m.def.value_size
                    && i.max_entries == m.def.max_entries
                    && i.map_flags == m.def.map_flags
                    && i.map_extra == m.def.map_extra
            }
            _ => false,
        };
        if !compat {
            let _ = seam.close(fd);
            return Err(Error::Map {
                map: m.name.clone(),
                msg: format!("couldn't reuse pinned map at '{path}': parameter mismatch"),
            });
        }
        Ok(Some(fd))
    }

    fn create_map(&mut self, seam: &mut impl Seam, i: usize) -> Result<()> {
        // map_set_def_max_entries(): a perf event array without a size gets
        // one slot per possible CPU.
        if self.maps[i].def.map_type == MAP_PERF_EVENT_ARRAY && self.maps[i].def.max_entries == 0 {
            let n = seam.possible_cpus().map_err(|e| {
                Error::sys(format!("map '{}': reading the number of possible CPUs", self.maps[i].name), e)
            })?;
            self.maps[i].def.max_entries = n;
        }
        let m = self.maps[i].clone();
        if let Some(path) = m.pin_path.as_deref()
            && m.def.pinning == crate::map::LIBBPF_PIN_BY_NAME
            && let Some(fd) = self.reuse_pinned(seam, &m, path)?
        {
            self.maps[i].fd = Some(fd);
            self.maps[i].reused = true;
            return Ok(());
        }
        let inner_fd = match &m.inner {
            Some(inner) => Some(self.create_one(seam, inner, 0)?),
            None => None,
        };
        let res = self.create_one(seam, &m, inner_fd.unwrap_or(0));
        if let Some(fd) = inner_fd {
            let _ = seam.close(fd);
        }
        let fd = res?;
        self.maps[i].fd = Some(fd);
        let merr = |what: &str, e: Errno| Error::sys(format!("map '{}': {what}", m.name), e);
        if m.kind.is_internal() && m.kind != MapKind::Bss {
            let key = 0u32.to_le_bytes();
            seam.bpf(BpfAttr::MapUpdateElem { map_fd: fd, key: &key, value: &m.data, flags: 0 })
                .map_err(|e| merr("setting the initial value", e))?;
        }
        if matches!(m.kind, MapKind::Rodata | MapKind::Kconfig) {
            seam.bpf(BpfAttr::MapFreeze { map_fd: fd }).map_err(|e| merr("BPF_MAP_FREEZE", e))?;
        }
        if let Some(path) = m.pin_path.as_deref()
            && m.def.pinning == crate::map::LIBBPF_PIN_BY_NAME
        {
            seam.bpf(BpfAttr::ObjPin { bpf_fd: fd, pathname: path, file_flags: 0 })
                .map_err(|e| merr(&format!("BPF_OBJ_PIN {path}"), e))?;
        }
        Ok(())
    }

    fn load_program(&mut self, seam: &mut impl Seam, i: usize) -> Result<()> {
        let mut linked = relocate::link(self, i)?;
        relocate::resolve(self, &mut linked)?;
        let (funcs, lines) =
            if self.btf_fd.is_some() { self.btf_ext_records(&linked) } else { (Vec::new(), Vec::new()) };
        let func_info = bpfemu_btf::ext::encode_func_info(&funcs);
        let line_info = bpfemu_btf::ext::encode_line_info(&lines);
        let p = &self.programs[i];
        let name: String = p.name.chars().take(15).collect();
        let level = p.log_level;
        let mut attempt = |log_level: u32, log: Option<&mut String>| {
            let attr = ProgLoadAttr {
                prog_type: p.prog_type,
                insns: &linked.insns,
                license: &self.license,
                log_level,
                log_size: if log.is_some() { LOG_BUF_SIZE } else { 0 },
                log,
                kern_version: self.kern_version,
                prog_flags: p.prog_flags,
                prog_name: name.as_bytes(),
                expected_attach_type: p.expected_attach_type,
                attach_btf_id: p.attach_btf_id,
                attach_prog_fd: p.attach_prog_fd,
                prog_btf_fd: if funcs.is_empty() && lines.is_empty() { 0 } else { self.btf_fd.unwrap_or(0) },
                func_info_rec_size: if funcs.is_empty() { 0 } else { 8 },
                func_info: &func_info,
                line_info_rec_size: if lines.is_empty() { 0 } else { 16 },
                line_info: &line_info,
                ..Default::default()
            };
            seam.bpf(BpfAttr::ProgLoad(attr))
        };
        let mut log = String::new();
        let first = if level > 0 { attempt(level, Some(&mut log)) } else { attempt(0, None) };
        let res = match first {
            Ok(fd) => Ok(fd),
            Err(e) if level == 0 => {
                let _ = attempt(1, Some(&mut log));
                Err(e)
            }
            Err(e) => Err(e),
        };
        let p = &mut self.programs[i];
        p.final_insns = linked.insns;
        p.log = log;
        match res {
            Ok(fd) => {
                p.fd = Some(fd as i32);
                Ok(())
            }
            Err(errno) => Err(Error::ProgLoad { prog: p.name.clone(), errno, log: tail(&p.log) }),
        }
    }

    fn init_slots(&mut self, seam: &mut impl Seam) -> Result<()> {
        for m in &self.maps {
            let Some(fd) = m.fd else { continue };
            for (slot, target) in &m.init_slots {
                let val = match target {
                    InitTarget::Prog(name) => {
                        let p = self.programs.iter().find(|p| !p.is_subprog && &p.name == name);
                        match p.and_then(|p| p.fd) {
                            Some(fd) => fd,
                            // libbpf skips programs that were not loaded (autoload off).
                            None => continue,
                        }
                    }
                    InitTarget::Map(t) => self.maps[*t].fd.ok_or_else(|| Error::Map {
                        map: m.name.clone(),
                        msg: format!("inner map '{}' was not created", self.maps[*t].name),
                    })?,
                };
                let key = slot.to_le_bytes();
                seam.bpf(BpfAttr::MapUpdateElem {
                    map_fd: fd,
                    key: &key,
                    value: &val.to_le_bytes(),
                    flags: 0,
                })
                .map_err(|e| Error::sys(format!("map '{}': setting slot {slot}", m.name), e))?;
            }
        }
        Ok(())
    }
}

/// `libbpf_find_prog_btf_id()`: the id of FUNC `name` in the BTF of the
/// program `prog_fd` (its `btf_id` from `bpf_prog_info`, the BTF read back
/// with `BPF_BTF_GET_FD_BY_ID` and `bpf_btf_info`).
fn prog_func_btf_id(seam: &mut impl Seam, prog_fd: i32, name: &str) -> std::result::Result<u32, String> {
    use bpfemu_kernel::bpf::attr::ObjInfo;
    let mut info = None;
    seam.bpf(BpfAttr::ObjGetInfoByFd { bpf_fd: prog_fd, info: &mut info })
        .map_err(|e| format!("failed to get the target program's info: {e}"))?;
    let btf_id = match info {
        Some(ObjInfo::Prog(p)) if p.btf_id != 0 => p.btf_id,
        _ => return Err(format!("target program has no BTF (looking for '{name}')")),
    };
    let fd = seam
        .bpf(BpfAttr::BtfGetFdById { id: btf_id })
        .map_err(|e| format!("failed to get the target program's BTF: {e}"))? as i32;
    let mut info = None;
    let r = seam.bpf(BpfAttr::ObjGetInfoByFd { bpf_fd: fd, info: &mut info });
    let _ = seam.close(fd);
    r.map_err(|e| format!("failed to read the target program's BTF: {e}"))?;
    let Some(ObjInfo::Btf(b)) = info else { return Err("not a BTF object".into()) };
    let btf = bpfemu_btf::decode::decode(&b.data).map_err(|e| format!("target program's BTF: {e}"))?;
    btf.find_by_name_kind(name, BtfKind::Func)
        .ok_or_else(|| format!("{name} is not found in the target program's BTF"))
}
