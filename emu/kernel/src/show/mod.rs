//! What `bpftool` prints about the kernel's BPF objects: `prog show`,
//! `map show`, `map dump`, `link show` and `btf show`, plain and JSON
//! (`-j`), with bpftool's field names, order and units.
//!
//! Counterparts: tools/bpf/bpftool/{prog,map,link,btf}.c
//! (`print_prog_plain/json`, `show_map_close_plain/json`,
//! `print_entry_plain/json`, `show_link_close_plain/json`,
//! `show_btf_plain/json`). Objects are listed in id order, as bpftool's
//! `*_GET_NEXT_ID` walk does.
//!
//! Time: `loaded_at` is the program's virtual load time (ns since boot)
//! plus a fixed wall-clock boot time, [`SIM_BOOT_EPOCH`]
//! (2025-01-01T00:00:00+0000), so output is deterministic: plain output
//! prints it as ISO-8601 (`%FT%T%z`, always `+0000`), JSON as epoch
//! seconds.
//!
//! Deviations: no `pids` (bpftool finds them with a BPF iterator over
//! every task's fds), no `pinned` paths (bpftool's `-f`), no program
//! metadata, no `owner_prog_type` for prog arrays; `map dump` prints hex
//! only (no BTF-formatted values) and skips an element deleted between
//! `GET_NEXT_KEY` and `LOOKUP`; trailing spaces bpftool leaves at the end
//! of some lines (`prog 25  `) are trimmed. A program's `jited` size is its
//! native image's ([`crate::bpf::jit`]; `not jited` when it runs on the
//! interpreter).

#[cfg(test)]
mod tests;

use crate::bpf::link::{Link, LinkInfoExtra};
use crate::bpf::obj_cmds::prog_memlock;
use crate::bpf::prog::Prog;
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::map::Map;
use crate::uapi::{LinkType, MapType, ProgType};
use serde::Serialize;
use std::fmt::Write;
use std::sync::Arc;

/// Wall-clock time of the simulated boot, in seconds since the Unix epoch
/// (2025-01-01T00:00:00Z).
pub const SIM_BOOT_EPOCH: u64 = 1_735_689_600;

/// Epoch seconds of a time `ns` since boot.
pub fn epoch_secs(ns_since_boot: u64) -> u64 {
    SIM_BOOT_EPOCH + ns_since_boot / 1_000_000_000
}

/// `strftime("%FT%T%z")` in UTC for epoch seconds.
pub fn iso8601(epoch: u64) -> String {
    let days = (epoch / 86_400) as i64;
    let secs = epoch % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+0000", secs / 3600, secs / 60 % 60, secs % 60)
}

/// bpftool's `fprint_hex`: bytes as `%02x` separated by `sep`, two spaces
/// after every 8 bytes and a newline after every 16.
pub fn fprint_hex(data: &[u8], sep: &str) -> String {
    let mut s = String::new();
    for (i, b) in data.iter().enumerate() {
        if i != 0 {
            s.push_str(if i % 16 == 0 {
                "\n"
            } else if i % 8 == 0 {
                "  "
            } else {
                sep
            });
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn hex_json(data: &[u8]) -> Vec<String> {
    data.iter().map(|b| format!("0x{b:02x}")).collect()
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serializable")
}

fn trim_lines(s: String) -> String {
    let mut out = String::with_capacity(s.len());
    for l in s.lines() {
        out.push_str(l.trim_end());
        out.push('\n');
    }
    out
}

fn prog_type_str(t: ProgType) -> String {
    match t {
        ProgType::Unspec => format!("type {}", t.raw()),
        _ => t.name().to_owned(),
    }
}

// ---------------------------------------------------------------- progs

/// One `prog show` JSON object.
#[derive(Debug, Serialize)]
pub struct ProgJson {
    pub id: u32,
    #[serde(rename = "type")]
    pub prog_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub tag: String,
    pub gpl_compatible: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_time_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_cnt: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recursion_misses: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loaded_at: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    pub orphaned: bool,
    pub bytes_xlated: u64,
    pub jited: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_jited: Option<u64>,
    pub bytes_memlock: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub map_ids: Vec<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub btf_id: Option<u32>,
}

fn prog_json(p: &Prog) -> ProgJson {
    let run_time_ns = p.run_time_ns();
    ProgJson {
        id: p.id,
        prog_type: p.prog_type.name().to_owned(),
        name: p.name.clone(),
        tag: p.tag_hex(),
        gpl_compatible: p.gpl_compatible,
        run_time_ns: (run_time_ns != 0).then_some(run_time_ns),
        run_cnt: (run_time_ns != 0).then(|| p.run_cnt()),
        recursion_misses: (p.recursion_misses() != 0).then(|| p.recursion_misses()),
        loaded_at: (p.load_time != 0).then(|| epoch_secs(p.load_time)),
        uid: (p.load_time != 0).then_some(p.uid),
        orphaned: false,
        bytes_xlated: p.xlated.len() as u64 * 8,
        jited: p.jited_len() != 0,
        bytes_jited: (p.jited_len() != 0).then_some(p.jited_len() as u64),
        bytes_memlock: prog_memlock(p),
        map_ids: p.used_maps.iter().map(|m| m.id).collect(),
        btf_id: (p.btf_id != 0).then_some(p.btf_id),
    }
}

fn prog_plain(p: &Prog, out: &mut String) {
    let _ = write!(out, "{}: {}  ", p.id, prog_type_str(p.prog_type));
    if !p.name.is_empty() {
        let _ = write!(out, "name {}  ", p.name);
    }
    let _ = write!(out, "tag {}", p.tag_hex());
    if p.gpl_compatible {
        out.push_str("  gpl");
    }
    if p.run_time_ns() != 0 {
        let _ = write!(out, " run_time_ns {} run_cnt {}", p.run_time_ns(), p.run_cnt());
    }
    if p.recursion_misses() != 0 {
        let _ = write!(out, " recursion_misses {}", p.recursion_misses());
    }
    out.push('\n');
    if p.load_time != 0 {
        let _ = writeln!(out, "\tloaded_at {}  uid {}", iso8601(epoch_secs(p.load_time)), p.uid);
    }
    let _ = write!(out, "\txlated {}B", p.xlated.len() * 8);
    match p.jited_len() {
        0 => out.push_str("  not jited"),
        n => {
            let _ = write!(out, "  jited {n}B");
        }
    }
    let _ = write!(out, "  memlock {}B", prog_memlock(p));
    if !p.used_maps.is_empty() {
        let ids: Vec<String> = p.used_maps.iter().map(|m| m.id.to_string()).collect();
        let _ = write!(out, "  map_ids {}", ids.join(","));
    }
    if p.btf_id != 0 {
        let _ = write!(out, "\n\tbtf_id {}", p.btf_id);
    }
    out.push('\n');
}

/// `bpftool prog show`.
pub fn prog_show(k: &Kernel) -> String {
    let mut out = String::new();
    for p in k.objects.progs.live() {
        prog_plain(&p, &mut out);
    }
    trim_lines(out)
}

/// `bpftool -j prog show`.
pub fn prog_show_json(k: &Kernel) -> String {
    let v: Vec<ProgJson> = k.objects.progs.live().iter().map(|p| prog_json(p)).collect();
    to_json(&v)
}

// ----------------------------------------------------------------- maps

/// One `map show` JSON object.
#[derive(Debug, Serialize)]
pub struct MapJson {
    pub id: u32,
    #[serde(rename = "type")]
    pub map_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub flags: u32,
    pub bytes_key: u32,
    pub bytes_value: u32,
    pub max_entries: u32,
    pub bytes_memlock: u64,
    pub frozen: u32,
}

fn map_type_str(t: MapType) -> String {
    match t {
        MapType::Unspec => format!("type {}", t.raw()),
        _ => t.name().to_owned(),
    }
}

fn map_json(m: &Map) -> MapJson {
    MapJson {
        id: m.id,
        map_type: m.def.map_type.name().to_owned(),
        name: m.def.name.clone(),
        flags: m.def.map_flags,
        bytes_key: m.def.key_size,
        bytes_value: m.def.value_size,
        max_entries: m.def.max_entries,
        bytes_memlock: m.ops.mem_usage(),
        frozen: u32::from(m.is_frozen()),
    }
}

fn map_plain(m: &Map, out: &mut String) {
    let _ = write!(out, "{}: {}  ", m.id, map_type_str(m.def.map_type));
    if !m.def.name.is_empty() {
        let _ = write!(out, "name {}  ", m.def.name);
    }
    let _ = writeln!(out, "flags {:#x}", m.def.map_flags);
    let _ = write!(
        out,
        "\tkey {}B  value {}B  max_entries {}  memlock {}B",
        m.def.key_size,
        m.def.value_size,
        m.def.max_entries,
        m.ops.mem_usage()
    );
    if m.is_frozen() {
        out.push_str("\n\tfrozen");
    }
    out.push('\n');
}

/// `bpftool map show`.
pub fn map_show(k: &Kernel) -> String {
    let mut out = String::new();
    for m in k.objects.maps.live() {
        map_plain(&m, &mut out);
    }
    trim_lines(out)
}

/// `bpftool -j map show`.
pub fn map_show_json(k: &Kernel) -> String {
    let v: Vec<MapJson> = k.objects.maps.live().iter().map(|m| map_json(m)).collect();
    to_json(&v)
}

/// A map's `(key, value)` pairs.
pub type Elements = Vec<(Vec<u8>, Vec<u8>)>;

/// The map's elements as `(key, value)` in `GET_NEXT_KEY` order; per-CPU
/// values hold every CPU's copy (each `round_up(value_size, 8)` bytes).
pub fn map_elements(k: &Kernel, m: &Map) -> Elements {
    let mut elems = Vec::new();
    let mut key: Option<Vec<u8>> = None;
    let vsize = m.sys_value_size(k.sim.nr_cpus());
    // Bounded: a map cannot hold more than max_entries keys (plus one
    // racing update, not possible here).
    for _ in 0..=m.def.max_entries {
        let mut next = vec![0u8; m.def.key_size as usize];
        if m.ops.get_next_key(key.as_deref(), &mut next).is_err() {
            break;
        }
        let mut value = vec![0u8; vsize];
        if m.ops.sys_lookup(&next, &mut value, 0).is_ok() {
            elems.push((next.clone(), value));
        }
        key = Some(next);
    }
    elems
}

fn dump_map(k: &Kernel, map_id: u32) -> Result<(Arc<Map>, Elements), Errno> {
    let m = k.objects.maps.get(map_id).ok_or(Errno::ENOENT)?;
    let elems = map_elements(k, &m);
    Ok((m, elems))
}

/// `bpftool map dump id ID` (hex; `ENOENT` for an unknown id).
pub fn map_dump(k: &Kernel, map_id: u32) -> Result<String, Errno> {
    let (m, elems) = dump_map(k, map_id)?;
    let (ks, vs) = (m.def.key_size, m.def.value_size);
    let mut out = String::new();
    for (key, value) in &elems {
        if !m.ops.is_percpu() {
            let break_names = ks > 16 || vs > 16;
            let single_line = ks + vs <= 24 && !break_names;
            let brk = if break_names { '\n' } else { ' ' };
            let _ = write!(out, "key:{brk}{}", fprint_hex(key, " "));
            out.push_str(if single_line { "  " } else { "\n" });
            let _ = writeln!(out, "value:{brk}{}", fprint_hex(value, " "));
        } else {
            let _ = writeln!(out, "key:\n{}", fprint_hex(key, " "));
            let step = (vs as usize).next_multiple_of(8);
            for (cpu, chunk) in value.chunks(step).enumerate() {
                let brk = if vs > 16 { '\n' } else { ' ' };
                let _ = writeln!(out, "value (CPU {cpu:02}):{brk}{}", fprint_hex(&chunk[..vs as usize], " "));
            }
        }
    }
    let n = elems.len();
    let _ = writeln!(out, "Found {n} element{}", if n == 1 { "" } else { "s" });
    Ok(trim_lines(out))
}

/// One per-CPU value of `map dump` JSON.
#[derive(Debug, Serialize)]
pub struct CpuValueJson {
    pub cpu: u32,
    pub value: Vec<String>,
}

/// One element of `map dump` JSON.
#[derive(Debug, Serialize)]
pub struct ElemJson {
    pub key: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<CpuValueJson>>,
}

/// `bpftool -j map dump id ID`.
pub fn map_dump_json(k: &Kernel, map_id: u32) -> Result<String, Errno> {
    let (m, elems) = dump_map(k, map_id)?;
    let vs = m.def.value_size as usize;
    let v: Vec<ElemJson> = elems
        .iter()
        .map(|(key, value)| {
            let key = hex_json(key);
            if m.ops.is_percpu() {
                let values = value
                    .chunks(vs.next_multiple_of(8))
                    .enumerate()
                    .map(|(cpu, c)| CpuValueJson { cpu: cpu as u32, value: hex_json(&c[..vs]) })
                    .collect();
                ElemJson { key, value: None, values: Some(values) }
            } else {
                ElemJson { key, value: Some(hex_json(value)), values: None }
            }
        })
        .collect();
    Ok(to_json(&v))
}

// ---------------------------------------------------------------- links

/// One `link show` JSON object.
#[derive(Debug, Serialize)]
pub struct LinkJson {
    pub id: u32,
    #[serde(rename = "type")]
    pub link_type: String,
    pub prog_id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netns_ino: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tp_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
}

fn link_type_str(t: LinkType) -> String {
    match t {
        LinkType::Unspec => format!("type {}", t.raw()),
        _ => t.name().to_owned(),
    }
}

fn link_json(l: &Link) -> LinkJson {
    let mut j = LinkJson {
        id: l.id,
        link_type: l.link_type().name().to_owned(),
        prog_id: l.prog().id,
        netns_ino: None,
        attach_type: None,
        tp_name: None,
        target_name: None,
    };
    match l.ops.fill_info(l) {
        LinkInfoExtra::None => j.attach_type = l.attach_type.map(|t| t.name().to_owned()),
        LinkInfoExtra::Netns { netns_ino, attach_type } => {
            j.netns_ino = Some(netns_ino);
            j.attach_type = Some(attach_type.name().to_owned());
        }
        LinkInfoExtra::RawTracepoint { tp_name } => j.tp_name = Some(tp_name),
        LinkInfoExtra::Iter { target_name } => j.target_name = Some(target_name),
    }
    j
}

fn link_plain(l: &Link, out: &mut String) {
    let _ = write!(out, "{}: {}  prog {}", l.id, link_type_str(l.link_type()), l.prog().id);
    match l.ops.fill_info(l) {
        LinkInfoExtra::None => {
            if let Some(t) = l.attach_type {
                let _ = write!(out, "\n\tattach_type {}", t.name());
            }
        }
        LinkInfoExtra::Netns { netns_ino, attach_type } => {
            let _ = write!(out, "\n\tnetns_ino {netns_ino}  attach_type {}", attach_type.name());
        }
        LinkInfoExtra::RawTracepoint { tp_name } => {
            let _ = write!(out, "\n\ttp '{tp_name}'");
        }
        LinkInfoExtra::Iter { target_name } => {
            let _ = write!(out, "\n\ttarget_name {target_name}");
        }
    }
    out.push('\n');
}

/// `bpftool link show`.
pub fn link_show(k: &Kernel) -> String {
    let mut out = String::new();
    for l in k.objects.links.live() {
        link_plain(&l, &mut out);
    }
    trim_lines(out)
}

/// `bpftool -j link show`.
pub fn link_show_json(k: &Kernel) -> String {
    let v: Vec<LinkJson> = k.objects.links.live().iter().map(|l| link_json(l)).collect();
    to_json(&v)
}

// ------------------------------------------------------------------ btf

/// One `btf show` JSON object.
#[derive(Debug, Serialize)]
pub struct BtfJson {
    pub id: u32,
    pub size: u32,
    pub prog_ids: Vec<u32>,
    pub map_ids: Vec<u32>,
    pub kernel: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
}

/// BTF objects with the programs and maps referring to them (by
/// `btf_id`; maps do not keep a BTF object yet, so `map_ids` is empty).
fn btfs(k: &Kernel) -> Vec<BtfJson> {
    let progs = k.objects.progs.live();
    k.objects
        .btfs
        .live()
        .iter()
        .map(|b| BtfJson {
            id: b.id,
            size: b.data.len() as u32,
            prog_ids: progs.iter().filter(|p| p.btf_id == b.id).map(|p| p.id).collect(),
            map_ids: Vec::new(),
            kernel: b.kernel_btf,
            name: b.name.clone(),
        })
        .collect()
}

/// `bpftool btf show`.
pub fn btf_show(k: &Kernel) -> String {
    let mut out = String::new();
    for b in btfs(k) {
        let _ = write!(out, "{}: ", b.id);
        if b.kernel {
            let _ = write!(out, "name [{}]  ", b.name);
        } else if !b.name.is_empty() {
            let _ = write!(out, "name {}  ", b.name);
        } else {
            out.push_str("name <anon>  ");
        }
        let _ = write!(out, "size {}B", b.size);
        let join = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        if !b.prog_ids.is_empty() {
            let _ = write!(out, "  prog_ids {}", join(&b.prog_ids));
        }
        if !b.map_ids.is_empty() {
            let _ = write!(out, "  map_ids {}", join(&b.map_ids));
        }
        out.push('\n');
    }
    out
}

/// `bpftool -j btf show`.
pub fn btf_show_json(k: &Kernel) -> String {
    to_json(&btfs(k))
}
