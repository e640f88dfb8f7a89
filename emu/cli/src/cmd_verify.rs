//! `bpfemu verify`: load one program into a fresh emulated kernel through
//! `BPF_PROG_LOAD` and print what the verifier said — the log, then
//! `verified: N insns processed` or the errno of the refusal.
//!
//! The program is an assembly file (kernel pseudo-C or uBPF syntax, as
//! `bpfemu asm` reads) or raw instruction bytes (as `bpfemu exec` reads).
//! Maps it names as `map[fd:N]` are created first from `--map` flags, in
//! order, at fds 3, 4, ... (the first fds a fresh process hands out), so the
//! first `--map` is `map[fd:3]`. A BPF ELF object goes through the
//! emulated libbpf instead, each program on its own ([`crate::verify_obj`]).
//!
//! Like `bpftool prog load`, which prints the kernel's log when the load
//! fails (and with `-d` on success).

use crate::input::{InputFormat, load_program};
use anyhow::{Context, Result, bail};
use bpfemu_kernel::bpf::BpfAttr;
use bpfemu_kernel::bpf::attr::{MapCreateAttr, ProgLoadAttr};
use bpfemu_kernel::uapi::{MapType, ProgType};
use bpfemu_kernel::{Kernel, KernelConfig};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// `BPF_LOG_STATS`: add the verifier's statistics to the log.
const BPF_LOG_STATS: u32 = 4;
/// The log buffer handed to the kernel (`log_size`): 16 MiB.
const LOG_SIZE: u32 = 16 << 20;
/// The first fd of a fresh process after stdin, stdout and stderr.
const FIRST_FD: i32 = 3;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Program: assembly (`.s`/`.asm` kernel syntax, `.ubpf`), raw instruction bytes,
    /// or a BPF ELF object (`clang -target bpf -c`; every program, or `--prog`).
    pub file: PathBuf,
    /// Input format.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: InputFormat,
    /// Program type, as bpftool names it (`syscall`, `socket_filter`, `xdp`, ...);
    /// syscall programs load sleepable, as libbpf loads `SEC("syscall")`.
    /// Default `syscall`; an ELF object's programs take theirs from `SEC()`.
    #[arg(long = "type")]
    pub prog_type: Option<String>,
    /// Program of an ELF object to verify, by function name (default: all of them).
    #[arg(long)]
    pub prog: Option<String>,
    /// Log level: 1 prints the failing path, 2 every instruction with its state.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=2))]
    pub log_level: u32,
    /// Add the statistics lines (`BPF_LOG_STATS`): stack depth, verification time.
    #[arg(long)]
    pub stats: bool,
    /// Create a map before loading: `TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES[:FLAGS]`
    /// (e.g. `hash:4:8:1024`); repeat for more; the first is `map[fd:3]`.
    #[arg(long = "map", value_name = "SPEC")]
    pub maps: Vec<String>,
}

/// A `--map` flag, parsed.
#[derive(Debug, PartialEq, Eq)]
struct MapSpec {
    map_type: MapType,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    flags: u32,
}

fn parse_num(s: &str, what: &str, spec: &str) -> Result<u32> {
    let r = match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.with_context(|| format!("--map {spec}: {what} '{s}' is not a number"))
}

fn parse_map(spec: &str) -> Result<MapSpec> {
    let parts: Vec<&str> = spec.split(':').collect();
    if !(4..=5).contains(&parts.len()) {
        bail!("--map {spec}: expected TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES[:FLAGS]");
    }
    let map_type = MapType::ALL.iter().copied().find(|t| t.name() == parts[0]).with_context(|| {
        let names: Vec<&str> = MapType::ALL.iter().map(|t| t.name()).filter(|n| *n != "unspec").collect();
        format!("--map {spec}: unknown map type '{}' (one of: {})", parts[0], names.join(", "))
    })?;
    Ok(MapSpec {
        map_type,
        key_size: parse_num(parts[1], "key size", spec)?,
        value_size: parse_num(parts[2], "value size", spec)?,
        max_entries: parse_num(parts[3], "max entries", spec)?,
        flags: parts.get(4).map_or(Ok(0), |f| parse_num(f, "flags", spec))?,
    })
}

fn prog_type(name: &str) -> Result<ProgType> {
    ProgType::ALL.iter().copied().find(|t| t.name() == name && *t != ProgType::Unspec).with_context(|| {
        let names: Vec<&str> = ProgType::ALL.iter().map(|t| t.name()).filter(|n| *n != "unspec").collect();
        format!("--type {name}: unknown program type (one of: {})", names.join(", "))
    })
}

pub fn verify(a: VerifyArgs) -> Result<ExitCode> {
    let shown = a.file.display();
    let head = std::fs::read(&a.file).with_context(|| format!("cannot read {shown}"))?;
    let log_level = a.log_level | if a.stats { BPF_LOG_STATS } else { 0 };
    if head.starts_with(b"\x7fELF") {
        if let Some(t) = &a.prog_type {
            bail!("--type {t}: an ELF object's programs take their type from SEC()");
        }
        if let Some(m) = a.maps.first() {
            bail!("--map {m}: an ELF object's maps come from the object");
        }
        return crate::verify_obj::verify_object(&a.file, a.prog.as_deref(), log_level);
    }
    if let Some(p) = &a.prog {
        bail!("--prog {p}: selects a program of an ELF object, and {shown} is not one");
    }
    let ptype = prog_type(a.prog_type.as_deref().unwrap_or("syscall"))?;
    let specs = a.maps.iter().map(|m| parse_map(m)).collect::<Result<Vec<_>>>()?;
    let insns = load_program(&a.file, a.format)?.insns;

    let mut k = Kernel::new(KernelConfig::default());
    for (i, (spec, text)) in specs.iter().zip(&a.maps).enumerate() {
        let attr = MapCreateAttr {
            map_type: spec.map_type.raw(),
            key_size: spec.key_size,
            value_size: spec.value_size,
            max_entries: spec.max_entries,
            map_flags: spec.flags,
            ..Default::default()
        };
        let fd = k.bpf(BpfAttr::MapCreate(attr)).map_err(|e| anyhow::anyhow!("--map {text}: {e}"))?;
        let want = FIRST_FD + i as i32;
        if fd != i64::from(want) {
            bail!("--map {text}: created at fd {fd}, expected fd {want}");
        }
    }
    // Assembly carries no BTF: a program passing callbacks (`ld_imm64`
    // of BPF_PSEUDO_FUNC, which the kernel accepts only with func_info)
    // gets the BTF and func_info clang emits for static functions.
    let uses_callbacks = insns.iter().any(|i| i.code == 0x18 && i.src == 4);
    let (btf_fd, func_info) = if uses_callbacks {
        use bpfemu_kernel::bpf::load::static_func_info::{encode_records, static_func_info};
        let (data, recs) = static_func_info("prog", &insns);
        let fd = k
            .bpf(BpfAttr::BtfLoad { btf: &data, log: None, log_level: 0 })
            .map_err(|e| anyhow::anyhow!("func_info BTF: {e}"))?;
        (fd as i32, encode_records(&recs))
    } else {
        (0, Vec::new())
    };
    let mut log = String::new();
    let attr = ProgLoadAttr {
        prog_btf_fd: btf_fd,
        func_info_rec_size: if func_info.is_empty() { 0 } else { 8 },
        func_info: &func_info,
        prog_type: ptype.raw(),
        insns: &insns,
        license: "GPL",
        prog_flags: bpfemu_kernel::bpf::load::default_prog_flags(ptype),
        log_level,
        log: Some(&mut log),
        log_size: LOG_SIZE,
        ..Default::default()
    };
    let result = k.bpf(BpfAttr::ProgLoad(attr)).map(|_| ());
    let ok = crate::verify_obj::report(&log, result);
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_specs() {
        assert_eq!(
            parse_map("hash:4:8:1024").unwrap(),
            MapSpec { map_type: MapType::Hash, key_size: 4, value_size: 8, max_entries: 1024, flags: 0 }
        );
        assert_eq!(parse_map("array:4:16:1:0x400").unwrap().flags, 0x400);
        assert!(parse_map("hash:4:8").is_err());
        assert!(parse_map("nosuch:4:8:1").unwrap_err().to_string().contains("unknown map type"));
        assert!(parse_map("hash:x:8:1").is_err());
    }

    #[test]
    fn processed_line() {
        let log = "0: (b7) r0 = 0\nprocessed 2 insns (limit 1000000) max_states_per_insn 0 \
                   total_states 0 peak_states 0 mark_read 0\n";
        assert_eq!(crate::verify_obj::processed(log), Some(2));
        assert_eq!(crate::verify_obj::processed("nothing"), None);
    }

    #[test]
    fn program_types_by_bpftool_name() {
        assert_eq!(prog_type("syscall").unwrap(), ProgType::Syscall);
        assert_eq!(prog_type("socket_filter").unwrap(), ProgType::SocketFilter);
        assert!(prog_type("unspec").is_err());
    }
}
