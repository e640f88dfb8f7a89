//! struct_ops in the loader (libbpf's `init_struct_ops_maps()`,
//! `bpf_object__collect_st_ops_relos()`, `bpf_map__init_kern_struct_ops()`,
//! `bpf_object_adjust_struct_ops_autoload()`, `bpf_map__attach_struct_ops()`),
//! driving the matching library [`crate::struct_ops`]:
//!
//! - open: each variable of `.struct_ops` / `.struct_ops.link` becomes a
//!   [`MapKind::StructOps`] map; the section's relocation records bind its
//!   function-pointer members to `struct_ops/` programs;
//! - load: the kernel's `struct X` / `struct bpf_struct_ops_X` are found in
//!   the vmlinux BTF, the value laid out, each bound program gets its
//!   `attach_btf_id` and `expected_attach_type` (member index) from them;
//!   struct_ops programs no map uses are not loaded; the map is created
//!   with `btf_vmlinux_value_type_id` (the emulated kernel has no struct_ops
//!   maps yet and answers `EINVAL`);
//! - [`Object::attach_struct_ops`]: the program fds are written into the
//!   value and `BPF_MAP_UPDATE_ELEM` registers it; a `.struct_ops.link` map
//!   then gets a `BPF_LINK_CREATE` (`BPF_STRUCT_OPS`), a plain one a link
//!   whose destruction deletes the element (unregisters), unless
//!   disconnected.

use super::Object;
use crate::elf::ElfFile;
use crate::error::{Error, Result};
use crate::link::Link;
use crate::map::{Map, MapDef, MapKind};
use crate::program::Program;
use crate::seam::Seam;
use crate::struct_ops::{
    KernStructOps, STRUCT_OPS_LINK_SEC, STRUCT_OPS_SEC, StructOpsMap, assign_programs, bind_prog,
    collect_maps, init_kern,
};
use bpfemu_btf::Btf;
use bpfemu_kernel::bpf::attr::{BpfAttr, LinkCreateAttr};
use bpfemu_kernel::uapi::ProgType;

/// `BPF_MAP_TYPE_STRUCT_OPS`, `BPF_STRUCT_OPS` (attach type).
pub const MAP_STRUCT_OPS: u32 = 26;
pub const ATTACH_STRUCT_OPS: u32 = 44;

/// One struct_ops map's library state.
#[derive(Clone, Debug)]
pub struct StOps {
    /// Index of its [`Map`] in the object.
    pub map: usize,
    pub local: StructOpsMap,
    /// The kernel layout, once loaded.
    pub kern: Option<KernStructOps>,
}

fn st_err(sec: &str, e: impl std::fmt::Display) -> Error {
    Error::Section { section: sec.to_owned(), msg: format!("struct_ops: {e}") }
}

/// Open: the struct_ops maps of the object and their program bindings.
pub fn collect(
    elf: &ElfFile,
    btf: Option<&Btf>,
    maps: &mut Vec<Map>,
    programs: &[Program],
) -> Result<Vec<StOps>> {
    let mut out: Vec<StOps> = Vec::new();
    for sec_name in [STRUCT_OPS_SEC, STRUCT_OPS_LINK_SEC] {
        let Some(sec) = elf.section_by_name(sec_name) else { continue };
        let btf = btf.ok_or_else(|| st_err(sec_name, "needs the object's BTF"))?;
        let mut locals = collect_maps(btf, sec_name, &sec.data).map_err(|e| st_err(sec_name, e))?;
        for rs in elf.rel_sections.iter().filter(|r| r.target == sec.index) {
            for (index, r) in rs.rels.iter().enumerate() {
                let fail =
                    |msg: String| Error::Reloc { section: rs.name.clone(), index, offset: r.offset, msg };
                let sym = elf
                    .symbols
                    .get(r.sym as usize)
                    .ok_or_else(|| fail("symbol index out of range".into()))?;
                if sym.shndx == 0 || sym.shndx >= 0xff00 {
                    return Err(fail(format!("'{}': unsupported non-static function", sym.name)));
                }
                if !sym.value.is_multiple_of(8) {
                    return Err(fail(format!("'{}': invalid target program offset", sym.name)));
                }
                let insn = (sym.value / 8) as usize;
                let prog = programs
                    .iter()
                    .find(|p| {
                        p.sec_idx == usize::from(sym.shndx)
                            && insn >= p.sec_insn_off
                            && insn < p.sec_insn_off + p.insns.len()
                    })
                    .ok_or_else(|| fail(format!("no program at '{}'", sym.name)))?;
                let is_st = prog.prog_type == ProgType::StructOps.raw();
                bind_prog(btf, &mut locals, sec_name, r.offset, &prog.name, is_st)
                    .map_err(|e| fail(e.to_string()))?;
            }
        }
        for local in locals {
            let def = MapDef {
                map_type: MAP_STRUCT_OPS,
                key_size: 4,
                value_size: 0,
                max_entries: 1,
                map_flags: local.map_flags,
                ..Default::default()
            };
            let kname: String = local.name.chars().take(15).collect();
            maps.push(Map {
                name: local.name.clone(),
                kname,
                kind: MapKind::StructOps,
                def,
                sec_idx: sec.index,
                sec_offset: u64::from(local.sec_offset),
                inner: None,
                init_slots: Vec::new(),
                data: Vec::new(),
                pin_path: None,
                fd: None,
                reused: false,
            });
            out.push(StOps { map: maps.len() - 1, local, kern: None });
        }
    }
    Ok(out)
}

impl Object {
    /// The struct_ops maps' library state.
    pub fn struct_ops(&self) -> &[StOps] {
        &self.st_ops
    }

    /// Load step: kernel layouts and program attach parameters.
    pub(crate) fn prepare_struct_ops(&mut self, vmlinux: Option<&Btf>) -> Result<()> {
        if self.st_ops.is_empty() {
            return Ok(());
        }
        let (Some(btf), Some(kern)) = (&self.btf, vmlinux) else {
            return Err(st_err(STRUCT_OPS_SEC, "needs the object's and the kernel's BTF"));
        };
        for s in &mut self.st_ops {
            let k = init_kern(btf, kern, &s.local)
                .map_err(|e| Error::Map { map: s.local.name.clone(), msg: e.to_string() })?;
            let m = &mut self.maps[s.map];
            m.def.value_size = k.value_size;
            m.def.btf_vmlinux_value_type_id = k.kern_vtype_id;
            s.kern = Some(k);
        }
        let attach = assign_programs(
            self.st_ops.iter().filter_map(|s| s.kern.as_ref().map(|k| (s.local.name.as_str(), k))),
        )
        .map_err(|e| st_err(STRUCT_OPS_SEC, e))?;
        for p in &mut self.programs {
            if p.prog_type != ProgType::StructOps.raw() || p.is_subprog {
                continue;
            }
            match attach.get(&p.name) {
                Some(a) => {
                    p.attach_btf_id = a.attach_btf_id;
                    p.expected_attach_type = a.expected_attach_type;
                }
                // bpf_object_adjust_struct_ops_autoload(): used by no map.
                None => p.autoload = false,
            }
        }
        Ok(())
    }

    /// `bpf_map__attach_struct_ops()`: registers the struct_ops map `name`.
    pub fn attach_struct_ops(&self, seam: &mut impl Seam, name: &str) -> Result<Link> {
        let s = self
            .st_ops
            .iter()
            .find(|s| s.local.name == name)
            .ok_or_else(|| Error::NotFound { what: "struct_ops map", name: name.to_owned() })?;
        let map = &self.maps[s.map];
        let (Some(k), Some(map_fd)) = (&s.kern, map.fd) else {
            return Err(Error::Map {
                map: name.to_owned(),
                msg: "not created yet (load the object first)".into(),
            });
        };
        let mut value = k.value.clone();
        for f in &k.funcs {
            let p = self.programs.iter().find(|p| !p.is_subprog && p.name == f.prog);
            let fd = p.and_then(|p| p.fd).ok_or_else(|| Error::Program {
                prog: f.prog.clone(),
                msg: format!("not loaded, but struct_ops map '{name}' uses it"),
            })?;
            let at = f.value_off as usize;
            let slot = value.get_mut(at..at + 8).ok_or_else(|| Error::Map {
                map: name.to_owned(),
                msg: "function slot outside the value".into(),
            })?;
            slot.copy_from_slice(&i64::from(fd).to_le_bytes());
        }
        let key = 0u32.to_le_bytes();
        seam.bpf(BpfAttr::MapUpdateElem { map_fd, key: &key, value: &value, flags: 0 }).map_err(|e| {
            Error::sys(format!("struct_ops map '{name}': registering (BPF_MAP_UPDATE_ELEM)"), e)
        })?;
        if map.def.map_flags & crate::struct_ops::BPF_F_LINK == 0 {
            return Ok(Link::struct_ops_map(map_fd));
        }
        let attr = LinkCreateAttr {
            prog_fd: map_fd,
            target_fd: 0,
            attach_type: ATTACH_STRUCT_OPS,
            flags: 0,
            target_btf_id: 0,
            iter_info: None,
            iter_info_len: 0,
        };
        seam.bpf(BpfAttr::LinkCreate(attr))
            .map(|fd| Link::from_fd(fd as i32))
            .map_err(|e| Error::sys(format!("struct_ops map '{name}': BPF_LINK_CREATE"), e))
    }
}
