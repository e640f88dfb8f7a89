//! Externs: `.kconfig` values and `__ksym` kernel symbols (libbpf's
//! `bpf_object__collect_externs()`, `bpf_object__resolve_externs()`,
//! `bpf_object__resolve_ksyms_btf_id()` in `src/libbpf.c`).
//!
//! **Kconfig** (`extern int CONFIG_X __kconfig;`): the values come from
//! the table below — what the emulated kernel is configured with — plus
//! libbpf's own virtual externs (`LINUX_KERNEL_VERSION`,
//! `LINUX_HAS_BPF_COOKIE`, `LINUX_HAS_SYSCALL_WRAPPER`). They live in
//! one frozen `.kconfig` array map laid out like libbpf's (biggest
//! alignment first, then by name). Types: `bool`, `char` (`y`/`n`/`m`),
//! `enum libbpf_tristate`, integers, `char[N]` strings. An unknown
//! strong extern is an error; a `__weak` one reads 0.
//!
//! | name | value |
//! |---|---|
//! | `LINUX_KERNEL_VERSION` | `KERNEL_VERSION(6, 12, 0)` (the release bpfemu models) |
//! | `LINUX_HAS_BPF_COOKIE`, `LINUX_HAS_SYSCALL_WRAPPER` | true |
//! | `CONFIG_BPF`, `CONFIG_BPF_SYSCALL`, `CONFIG_BPF_JIT`, `CONFIG_BPF_EVENTS`, `CONFIG_DEBUG_INFO_BTF`, `CONFIG_NET`, `CONFIG_NET_NS`, `CONFIG_INET`, `CONFIG_64BIT`, `CONFIG_X86_64`, `CONFIG_SMP` | y |
//! | `CONFIG_BPF_JIT_ALWAYS_ON`, `CONFIG_BPF_LSM`, `CONFIG_MODULES` | n |
//! | `CONFIG_HZ` | 250 |
//!
//! **ksyms**: a typed variable (`extern const struct rq runqueues
//! __ksym;`) resolves to its VAR in the vmlinux BTF (`BPF_PSEUDO_BTF_ID`);
//! a function (`extern void bpf_x(...) __ksym;`) to its FUNC (a kfunc call,
//! `BPF_PSEUDO_KFUNC_CALL`). Typeless variables (`extern const void x
//! __ksym;`) need `/proc/kallsyms`, which the emulator does not have: an
//! error unless `__weak`. Unresolved weak symbols load as 0, and calls to
//! unresolved weak kfuncs are poisoned as libbpf does. Not emulated:
//! module BTF, and libbpf's type-compatibility checks between the local
//! and the kernel declaration.

use crate::elf::{ElfFile, SHN_UNDEF, STB_GLOBAL, STB_WEAK};
use crate::error::{Error, Result};
use crate::map::{Map, MapDef, MapKind};
use bpfemu_btf::{Btf, BtfKind, FuncLinkage, IntEncoding, Kind, TypeId, VarLinkage, VarSecinfo};

/// The most `.kconfig` data the loader lays out.
const MAX_KCONFIG_SIZE: u32 = 1 << 16;

/// `KERNEL_VERSION(6, 12, 0)`.
pub const LINUX_KERNEL_VERSION: u32 = (6 << 16) | (12 << 8);

/// A kconfig value.
#[derive(Clone, Copy, Debug)]
enum KVal {
    Tri(u8),
    Int(u64),
}

const Y: KVal = KVal::Tri(b'y');
const N: KVal = KVal::Tri(b'n');

/// The emulated kernel's configuration.
const KCONFIG: &[(&str, KVal)] = &[
    ("CONFIG_BPF", Y),
    ("CONFIG_BPF_SYSCALL", Y),
    ("CONFIG_BPF_JIT", Y),
    ("CONFIG_BPF_EVENTS", Y),
    ("CONFIG_DEBUG_INFO_BTF", Y),
    ("CONFIG_NET", Y),
    ("CONFIG_NET_NS", Y),
    ("CONFIG_INET", Y),
    ("CONFIG_64BIT", Y),
    ("CONFIG_X86_64", Y),
    ("CONFIG_SMP", Y),
    ("CONFIG_BPF_JIT_ALWAYS_ON", N),
    ("CONFIG_BPF_LSM", N),
    ("CONFIG_MODULES", N),
    ("CONFIG_HZ", KVal::Int(250)),
];

fn kconfig_value(name: &str) -> Option<KVal> {
    match name {
        "LINUX_KERNEL_VERSION" => Some(KVal::Int(u64::from(LINUX_KERNEL_VERSION))),
        "LINUX_HAS_BPF_COOKIE" | "LINUX_HAS_SYSCALL_WRAPPER" => Some(Y),
        _ => KCONFIG.iter().find(|(n, _)| *n == name).map(|(_, v)| *v),
    }
}

/// How a kconfig extern is typed (libbpf's `enum kcfg_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KcfgType {
    Bool,
    Char,
    Tristate,
    Int { signed: bool },
    CharArray,
}

/// What an extern is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExternKind {
    /// A `.kconfig` value at `data_off` in the `.kconfig` map.
    Kconfig { data_off: u32, size: u32, align: u32, ty: KcfgType },
    /// A `__ksym` variable (`typeless`: declared `void`).
    KsymVar { typeless: bool },
    /// A `__ksym` function: a kfunc.
    KsymFunc,
}

/// One extern symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extern {
    pub name: String,
    pub kind: ExternKind,
    pub weak: bool,
    /// Its VAR or FUNC in the object's BTF.
    pub btf_id: TypeId,
    /// After load: resolved against the kernel (kconfig: a value was
    /// known), and the vmlinux BTF id for ksyms.
    pub resolved: bool,
    pub kernel_btf_id: u32,
}

fn ext_err(name: &str, msg: impl Into<String>) -> Error {
    Error::Extern { name: name.to_owned(), msg: msg.into() }
}

/// The DATASEC (by name) listing type `id`.
fn datasec_of(btf: &Btf, id: TypeId) -> Option<String> {
    btf.iter().find_map(|(_, t)| match &t.kind {
        Kind::Datasec { vars, .. } if vars.iter().any(|v| v.ty == id) => {
            Some(btf.str_at(t.name_off).to_owned())
        }
        _ => None,
    })
}

fn kcfg_type(btf: &Btf, name: &str, ty: TypeId) -> Result<(KcfgType, u32, u32)> {
    let t = btf.skip_mods_and_typedefs(ty);
    let size = btf.resolve_size(t).map_err(|e| ext_err(name, format!("kconfig type has no size: {e}")))?;
    let align = btf.align_of(t).max(1);
    let k = match btf.kind(t) {
        Some(Kind::Int { encoding: IntEncoding::Bool, .. }) if size == 1 => KcfgType::Bool,
        Some(Kind::Int { encoding: IntEncoding::Char, .. }) if size == 1 => KcfgType::Char,
        Some(Kind::Int { encoding, .. }) => KcfgType::Int { signed: *encoding == IntEncoding::Signed },
        Some(Kind::Enum { .. }) if btf.name(t) == "libbpf_tristate" => KcfgType::Tristate,
        Some(Kind::Array { elem, .. }) => {
            let e = btf.skip_mods_and_typedefs(*elem);
            match btf.kind(e) {
                Some(Kind::Int { size: 1, .. }) => KcfgType::CharArray,
                _ => return Err(ext_err(name, "unsupported kconfig array type")),
            }
        }
        _ => return Err(ext_err(name, "unsupported kconfig type")),
    };
    Ok((k, size, align))
}

/// Collects the object's externs; lays out `.kconfig` (fixing its
/// DATASEC) and makes `.ksyms` loadable. Returns the externs and the
/// `.kconfig` map (values filled), if any.
pub fn collect(elf: &ElfFile, btf: Option<&mut Btf>, obj_name: &str) -> Result<(Vec<Extern>, Option<Map>)> {
    let syms: Vec<_> = elf
        .symbols
        .iter()
        .filter(|s| {
            s.shndx == SHN_UNDEF && (s.bind == STB_GLOBAL || s.bind == STB_WEAK) && !s.name.is_empty()
        })
        .collect();
    if syms.is_empty() {
        return Ok((Vec::new(), None));
    }
    let Some(btf) = btf else {
        return Err(ext_err(&syms[0].name, "externs need the object's BTF (.BTF missing or invalid)"));
    };
    let mut exts = Vec::new();
    for s in syms {
        let id = btf
            .iter()
            .find(|(_, t)| {
                btf.str_at(t.name_off) == s.name
                    && matches!(
                        t.kind,
                        Kind::Var { linkage: VarLinkage::GlobalExtern, .. }
                            | Kind::Func { linkage: FuncLinkage::Extern, .. }
                    )
            })
            .map(|(id, _)| id)
            .ok_or_else(|| ext_err(&s.name, "no extern VAR or FUNC of this name in BTF"))?;
        let sec = datasec_of(btf, id).unwrap_or_default();
        let kind = match (&btf.kind(id), sec.as_str()) {
            (Some(Kind::Var { ty, .. }), ".kconfig") => {
                let (ty, size, align) = kcfg_type(btf, &s.name, *ty)?;
                ExternKind::Kconfig { data_off: 0, size, align, ty }
            }
            (Some(Kind::Var { ty, .. }), ".ksyms") => {
                ExternKind::KsymVar { typeless: btf.skip_mods_and_typedefs(*ty) == 0 }
            }
            (Some(Kind::Func { .. }), ".ksyms") => ExternKind::KsymFunc,
            (Some(Kind::Func { .. }), "") => ExternKind::KsymFunc,
            _ => return Err(ext_err(&s.name, format!("extern in unsupported section '{sec}'"))),
        };
        exts.push(Extern {
            name: s.name.clone(),
            kind,
            weak: s.bind == STB_WEAK,
            btf_id: id,
            resolved: false,
            kernel_btf_id: 0,
        });
    }
    // libbpf's cmp_externs(): kconfig first, by alignment (largest first), then name.
    exts.sort_by(|a, b| {
        let key = |e: &Extern| match e.kind {
            ExternKind::Kconfig { align, .. } => (0u8, u32::MAX - align),
            _ => (1, 0),
        };
        key(a).cmp(&key(b)).then_with(|| a.name.cmp(&b.name))
    });
    let kmap = layout_kconfig(&mut exts, btf, obj_name)?;
    fix_ksyms_datasec(btf);
    Ok((exts, kmap))
}

fn layout_kconfig(exts: &mut [Extern], btf: &mut Btf, obj_name: &str) -> Result<Option<Map>> {
    let mut off = 0u32;
    for e in exts.iter_mut() {
        if let ExternKind::Kconfig { data_off, size, align, .. } = &mut e.kind {
            off = off
                .checked_next_multiple_of(*align)
                .and_then(|o| o.checked_add(*size).map(|end| (o, end)))
                .filter(|(_, end)| *end <= MAX_KCONFIG_SIZE)
                .map(|(o, end)| {
                    *data_off = o;
                    end
                })
                .ok_or_else(|| ext_err(&e.name, "kconfig data too large"))?;
        }
    }
    if off == 0 {
        return Ok(None);
    }
    let mut data = vec![0u8; off as usize];
    for e in exts.iter_mut() {
        let ExternKind::Kconfig { data_off, size, ty, .. } = e.kind else { continue };
        let slot = &mut data[data_off as usize..(data_off + size) as usize];
        match kconfig_value(&e.name) {
            Some(v) => {
                write_kcfg(&e.name, ty, v, slot)?;
                e.resolved = true;
            }
            None if e.weak => {}
            None if e.name.starts_with("LINUX_") => {
                return Err(ext_err(&e.name, "unrecognized virtual extern"));
            }
            None => {
                return Err(ext_err(&e.name, "(strong) not resolved: not in the emulated kernel's kconfig"));
            }
        }
    }
    // The DATASEC gets the layout.
    if let Some(ds) = btf.find_by_name_kind(".kconfig", BtfKind::Datasec) {
        let offs: Vec<(TypeId, u32)> = exts
            .iter()
            .filter_map(|e| match e.kind {
                ExternKind::Kconfig { data_off, .. } => Some((e.btf_id, data_off)),
                _ => None,
            })
            .collect();
        if let Some(t) = btf.types.get_mut(ds as usize - 1)
            && let Kind::Datasec { size, vars } = &mut t.kind
        {
            *size = off;
            for v in vars.iter_mut() {
                if let Some((_, o)) = offs.iter().find(|(id, _)| *id == v.ty) {
                    v.offset = *o;
                }
            }
            vars.sort_by_key(|v| v.offset);
        }
    }
    let def = MapDef {
        map_type: 2,
        key_size: 4,
        value_size: off,
        max_entries: 1,
        map_flags: bpfemu_kernel::uapi::BPF_F_RDONLY_PROG | bpfemu_kernel::uapi::BPF_F_MMAPABLE,
        btf_value_type_id: btf.find_by_name_kind(".kconfig", BtfKind::Datasec).unwrap_or(0),
        ..Default::default()
    };
    Ok(Some(Map {
        name: ".kconfig".into(),
        kname: super::parse::internal_map_name(obj_name, ".kconfig"),
        kind: MapKind::Kconfig,
        def,
        sec_idx: 0,
        sec_offset: 0,
        inner: None,
        init_slots: Vec::new(),
        data,
        pin_path: None,
        fd: None,
        reused: false,
    }))
}

fn write_kcfg(name: &str, ty: KcfgType, v: KVal, slot: &mut [u8]) -> Result<()> {
    match (ty, v) {
        (KcfgType::Bool, KVal::Tri(b'y')) => slot[0] = 1,
        (KcfgType::Bool, KVal::Tri(b'n')) => slot[0] = 0,
        (KcfgType::Char, KVal::Tri(c)) => slot[0] = c,
        (KcfgType::Tristate, KVal::Tri(c)) => {
            let v: u32 = match c {
                b'y' => 1,
                b'm' => 2,
                _ => 0,
            };
            let n = slot.len().min(4);
            slot[..n].copy_from_slice(&v.to_le_bytes()[..n]);
        }
        (KcfgType::Int { .. }, KVal::Int(v)) => {
            let bytes = v.to_le_bytes();
            if slot.len() < 8 && v >> (slot.len() * 8) != 0 {
                return Err(ext_err(name, format!("value {v} does not fit in {} bytes", slot.len())));
            }
            let n = slot.len().min(8);
            slot[..n].copy_from_slice(&bytes[..n]);
        }
        (KcfgType::Int { .. }, KVal::Tri(_)) | (KcfgType::CharArray, _) | (_, _) => {
            return Err(ext_err(name, "kconfig value does not match the extern's type"));
        }
    }
    Ok(())
}

/// `.ksyms` lists typeless VARs and extern FUNCs, which the kernel's BTF
/// checks refuse: as libbpf, every entry becomes an `int`-typed VAR at
/// `4 * i` (FUNCs point at one `dummy_ksym` VAR), and unnamed parameters of
/// extern FUNCs get that VAR's name.
fn fix_ksyms_datasec(btf: &mut Btf) {
    let Some(ds) = btf.find_by_name_kind(".ksyms", BtfKind::Datasec) else { return };
    let found = btf
        .iter()
        .find(|(_, t)| matches!(t.kind, Kind::Int { size: 4, encoding: IntEncoding::Signed, .. }))
        .map(|(id, _)| id);
    let int = match found {
        Some(id) => id,
        None => btf.add_int("int", 4, IntEncoding::Signed),
    };
    let mut dummy: Option<TypeId> = None;
    let Some(Kind::Datasec { vars, .. }) = btf.kind(ds).cloned() else { return };
    let mut new_vars: Vec<VarSecinfo> = Vec::with_capacity(vars.len());
    for (i, v) in vars.iter().enumerate() {
        let ty = match btf.kind(v.ty).cloned() {
            Some(Kind::Var { linkage, .. }) => {
                if let Some(t) = btf.types.get_mut(v.ty as usize - 1) {
                    t.kind = Kind::Var { ty: int, linkage };
                }
                v.ty
            }
            Some(Kind::Func { proto, .. }) => {
                let d =
                    *dummy.get_or_insert_with(|| btf.add_var("dummy_ksym", int, VarLinkage::GlobalAllocated));
                let dname = btf.get(d).map(|t| t.name_off).unwrap_or(0);
                if let Some(t) = btf.types.get_mut(proto as usize - 1)
                    && let Kind::FuncProto { params, .. } = &mut t.kind
                {
                    for p in params.iter_mut() {
                        if p.name_off == 0 && p.ty != 0 {
                            p.name_off = dname;
                        }
                    }
                }
                d
            }
            _ => v.ty,
        };
        new_vars.push(VarSecinfo { ty, offset: 4 * i as u32, size: 4 });
    }
    if let Some(t) = btf.types.get_mut(ds as usize - 1) {
        t.kind = Kind::Datasec { size: 4 * new_vars.len() as u32, vars: new_vars };
    }
}

/// Resolves `__ksym` externs against the vmlinux BTF.
pub fn resolve_ksyms(exts: &mut [Extern], vmlinux: Option<&Btf>) -> Result<()> {
    for e in exts.iter_mut() {
        let kind = match e.kind {
            ExternKind::KsymVar { typeless: false } => BtfKind::Var,
            ExternKind::KsymFunc => BtfKind::Func,
            ExternKind::KsymVar { typeless: true } => {
                if e.weak {
                    continue;
                }
                return Err(ext_err(
                    &e.name,
                    "typeless ksym needs /proc/kallsyms, which the emulated kernel does not provide",
                ));
            }
            ExternKind::Kconfig { .. } => continue,
        };
        match vmlinux.and_then(|b| b.find_by_name_kind(&e.name, kind)) {
            Some(id) => {
                e.resolved = true;
                e.kernel_btf_id = id;
            }
            None if e.weak => {}
            None => {
                let what = if kind == BtfKind::Func { "kfunc" } else { "ksym" };
                return Err(ext_err(&e.name, format!("{what} not found in the kernel's BTF")));
            }
        }
    }
    Ok(())
}
