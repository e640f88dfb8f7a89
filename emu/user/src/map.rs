//! A map of an object (libbpf's `struct bpf_map`): its definition from
//! `.maps` (BTF), the legacy `maps` section, or a global data section,
//! and after load its fd, with element access through the seam
//! (`bpf_map__lookup_elem()` and friends, which check the key and value
//! sizes before the system call).

use crate::error::{Error, Result};
use crate::seam::Seam;
use bpfemu_kernel::bpf::attr::BpfAttr;
use bpfemu_kernel::errno::Errno;

/// Where a map was defined (libbpf's `enum libbpf_map_type`, plus the
/// two definition styles of user maps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    /// A BTF-defined map in `.maps`.
    Btf,
    /// A `struct bpf_map_def` in the legacy `maps` section.
    Legacy,
    /// `.data` or `.data.*`.
    Data,
    /// `.rodata` or `.rodata.*` (frozen after its initial value is set).
    Rodata,
    /// `.bss`.
    Bss,
    /// The `.kconfig` externs (frozen).
    Kconfig,
    /// A `.struct_ops` / `.struct_ops.link` variable.
    StructOps,
}

impl MapKind {
    /// Global data (an internal map in libbpf's terms).
    pub fn is_internal(self) -> bool {
        !matches!(self, MapKind::Btf | MapKind::Legacy | MapKind::StructOps)
    }
}

/// `LIBBPF_PIN_NONE` / `LIBBPF_PIN_BY_NAME`.
pub const LIBBPF_PIN_NONE: u32 = 0;
pub const LIBBPF_PIN_BY_NAME: u32 = 1;

/// The attributes `BPF_MAP_CREATE` gets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MapDef {
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub numa_node: u32,
    pub map_extra: u64,
    pub pinning: u32,
    /// BTF type ids of the key and value in the object's BTF (0: none).
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    /// struct_ops maps: `struct bpf_struct_ops_X` in the kernel's BTF.
    pub btf_vmlinux_value_type_id: u32,
}

/// What slot `slot` of a prog_array / map-in-map gets once loaded
/// (`values` initialisers in `.maps`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InitTarget {
    /// The fd of the program with this name.
    Prog(String),
    /// The fd of the map with this index in the object.
    Map(usize),
}

/// A map of an object.
#[derive(Clone, Debug)]
pub struct Map {
    /// The name users see (`bpf_map__name`): the variable name, or the
    /// section name for global data.
    pub(crate) name: String,
    /// The name given to the kernel (libbpf's `internal_map_name()` for
    /// global data, truncated to 15 bytes).
    pub(crate) kname: String,
    pub(crate) kind: MapKind,
    pub(crate) def: MapDef,
    pub(crate) sec_idx: usize,
    pub(crate) sec_offset: u64,
    /// The inner map template of a map-in-map.
    pub(crate) inner: Option<Box<Map>>,
    /// `values` initialisers: (slot, target).
    pub(crate) init_slots: Vec<(u32, InitTarget)>,
    /// Initial value of global data (one element).
    pub(crate) data: Vec<u8>,
    pub(crate) pin_path: Option<String>,
    pub(crate) fd: Option<i32>,
    /// The map came from a pinned path instead of being created.
    pub(crate) reused: bool,
}

impl Map {
    /// `bpf_map__name`.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The name the kernel knows the map by (`bpftool map show`).
    pub fn kernel_name(&self) -> &str {
        &self.kname
    }
    pub fn kind(&self) -> MapKind {
        self.kind
    }
    /// The definition (`bpf_map__type`, `key_size`, ...).
    pub fn def(&self) -> &MapDef {
        &self.def
    }
    /// Mutable definition, before load (`bpf_map__set_max_entries`, ...).
    pub fn def_mut(&mut self) -> &mut MapDef {
        &mut self.def
    }
    /// The inner map template of a map-in-map.
    pub fn inner(&self) -> Option<&Map> {
        self.inner.as_deref()
    }
    /// `values` initialisers.
    pub fn init_slots(&self) -> &[(u32, InitTarget)] {
        &self.init_slots
    }
    /// Global data's initial value (`bpf_map__initial_value`).
    pub fn initial_value(&self) -> Option<&[u8]> {
        self.kind.is_internal().then_some(&self.data[..])
    }
    /// `bpf_map__set_initial_value`: same size, global data other than
    /// `.kconfig`, before load.
    pub fn set_initial_value(&mut self, data: &[u8]) -> Result<()> {
        if !self.kind.is_internal()
            || self.kind == MapKind::Kconfig
            || data.len() != self.data.len()
            || self.fd.is_some()
        {
            return Err(Error::Map { map: self.name.clone(), msg: "cannot set this initial value".into() });
        }
        self.data.copy_from_slice(data);
        Ok(())
    }
    /// The pin path (`bpf_map__pin_path`), for `LIBBPF_PIN_BY_NAME` maps.
    pub fn pin_path(&self) -> Option<&str> {
        self.pin_path.as_deref()
    }
    /// The map's fd once created (`bpf_map__fd`).
    pub fn fd(&self) -> Option<i32> {
        self.fd
    }
    /// Whether load reused a pinned map.
    pub fn reused(&self) -> bool {
        self.reused
    }

    fn loaded_fd(&self) -> Result<i32> {
        self.fd.ok_or_else(|| Error::Map {
            map: self.name.clone(),
            msg: "not created yet (load the object first)".into(),
        })
    }

    fn check_sizes(&self, key: usize, value: Option<usize>) -> Result<()> {
        // bpf_map__check_sizes(): per-CPU values are not sized here.
        if key != self.def.key_size as usize {
            return Err(Error::Map {
                map: self.name.clone(),
                msg: format!("key size {key} differs from the map's {}", self.def.key_size),
            });
        }
        if let Some(v) = value
            && v != self.def.value_size as usize
            && !is_percpu(self.def.map_type)
        {
            return Err(Error::Map {
                map: self.name.clone(),
                msg: format!("value size {v} differs from the map's {}", self.def.value_size),
            });
        }
        Ok(())
    }

    fn sys(&self, cmd: &str, errno: Errno) -> Error {
        Error::sys(format!("map '{}': {cmd}", self.name), errno)
    }

    /// `bpf_map__lookup_elem`: the value, `None` if the key is absent. A
    /// per-CPU map gives one value per possible CPU, each padded to 8
    /// bytes, as the kernel copies them out.
    pub fn lookup(&self, seam: &mut impl Seam, key: &[u8], flags: u64) -> Result<Option<Vec<u8>>> {
        self.check_sizes(key.len(), None)?;
        let fd = self.loaded_fd()?;
        let cpus = if is_percpu(self.def.map_type) { seam.possible_cpus().unwrap_or(MAX_CPUS) } else { 1 };
        let mut value = vec![0u8; value_buf_size(&self.def, cpus)];
        match seam.bpf(BpfAttr::MapLookupElem { map_fd: fd, key, value: &mut value, flags }) {
            Ok(_) => Ok(Some(value)),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(self.sys("BPF_MAP_LOOKUP_ELEM", e)),
        }
    }

    /// `bpf_map__update_elem`.
    pub fn update(&self, seam: &mut impl Seam, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
        self.check_sizes(key.len(), Some(value.len()))?;
        let fd = self.loaded_fd()?;
        seam.bpf(BpfAttr::MapUpdateElem { map_fd: fd, key, value, flags })
            .map(|_| ())
            .map_err(|e| self.sys("BPF_MAP_UPDATE_ELEM", e))
    }

    /// `bpf_map__delete_elem`.
    pub fn delete(&self, seam: &mut impl Seam, key: &[u8], flags: u64) -> Result<()> {
        self.check_sizes(key.len(), None)?;
        let fd = self.loaded_fd()?;
        seam.bpf(BpfAttr::MapDeleteElem { map_fd: fd, key, flags })
            .map(|_| ())
            .map_err(|e| self.sys("BPF_MAP_DELETE_ELEM", e))
    }

    /// `bpf_map__get_next_key`: `None` after the last key.
    pub fn next_key(&self, seam: &mut impl Seam, key: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        if let Some(k) = key {
            self.check_sizes(k.len(), None)?;
        }
        let fd = self.loaded_fd()?;
        let mut next = vec![0u8; self.def.key_size as usize];
        match seam.bpf(BpfAttr::MapGetNextKey { map_fd: fd, key, next_key: &mut next }) {
            Ok(_) => Ok(Some(next)),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(self.sys("BPF_MAP_GET_NEXT_KEY", e)),
        }
    }

    /// `bpf_map__pin`: pins the created map at `path`.
    pub fn pin(&mut self, seam: &mut impl Seam, path: &str) -> Result<()> {
        let fd = self.loaded_fd()?;
        seam.bpf(BpfAttr::ObjPin { bpf_fd: fd, pathname: path, file_flags: 0 })
            .map_err(|e| self.sys(&format!("BPF_OBJ_PIN {path}"), e))?;
        self.pin_path = Some(path.to_owned());
        Ok(())
    }
}

/// Per-CPU map types (values are `nr_cpus` rounded-up copies).
pub fn is_percpu(map_type: u32) -> bool {
    // percpu_hash 5, percpu_array 6, lru_percpu_hash 10, percpu_cgroup_storage 21
    matches!(map_type, 5 | 6 | 10 | 21)
}

/// The most CPUs the emulated kernel has (the buffer used when the seam
/// cannot tell the possible CPUs).
const MAX_CPUS: u32 = 64;

/// The value buffer a lookup needs: per-CPU maps return one 8-byte
/// aligned copy per possible CPU.
fn value_buf_size(def: &MapDef, cpus: u32) -> usize {
    if is_percpu(def.map_type) {
        (def.value_size as usize).div_ceil(8) * 8 * cpus as usize
    } else {
        def.value_size as usize
    }
}
