//! Step 2a of `BPF_PROG_LOAD`: the program's BTF (`prog_btf_fd`) with its
//! `func_info` and `line_info` records — `bpf_check_btf_info_early()`,
//! `check_btf_func_early()` and the record checks of `check_btf_line()`
//! in kernel/bpf/verifier.c, and `btf_prepare_func_args()` of
//! kernel/bpf/btf.c for global functions.
//!
//! Checked here, with the kernel's errno and log text:
//! - `prog_btf_fd` not open: `EBADF`; not a BTF object: `EINVAL`; the
//!   kernel's own BTF: `EACCES` (only when func or line info is given);
//! - `func_info_rec_size` below 8, above 252 or not a multiple of 4:
//!   "invalid func info rec size N" (`EINVAL`); bytes beyond the known
//!   record that are not zero: "nonzero tailing record in func info"
//!   (`E2BIG`); the first record not at instruction 0, offsets not
//!   increasing, a type id that is not a FUNC (`EINVAL`);
//! - `line_info_rec_size` below 16, above 252 or not a multiple of 4:
//!   `EINVAL` without a message; non-zero tails: "nonzero tailing record
//!   in line_info" (`E2BIG`).
//!
//! The layout checks that need the subprograms (func_info matching the
//! subprogram starts, line_info offsets and their order, "missing
//! bpf_line_info for func#N") are the verifier's
//! ([`bpfemu_verifier::btf_info`]); they run after the CFG checks rather
//! than before them. The line_info size checks above run before the
//! func_info layout checks (the kernel checks them after).
//!
//! Differences from the kernel: the attributes carry the records as bytes,
//! so a record count is `len / rec_size` and a length that is not a
//! multiple of the record size is `EINVAL`; on `E2BIG` the kernel writes
//! the size it knows back into the attribute, which the emulated
//! attributes (read-only) cannot receive. `__arg_trusted`,
//! `__arg_untrusted`, `__arg_nullable` and `__arg_arena` are refused as an
//! unsupported set of tags.

use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::uapi::ProgType;
use bpfemu_btf::model::{Btf, FuncLinkage, Kind, TypeId};
use bpfemu_verifier::btf_info::{FuncInfo, LineInfo, MAX_BPF_FUNC_REG_ARGS, ProgBtfInfo, SubprogArg};
use bpfemu_verifier::log::VerifierLog;

/// `MIN_BPF_FUNCINFO_SIZE`.
const MIN_FUNCINFO_SIZE: u32 = 8;
/// `MAX_FUNCINFO_REC_SIZE` (also the line info maximum).
const MAX_REC_SIZE: u32 = 252;
/// `sizeof(struct bpf_line_info)`.
const LINEINFO_SIZE: u32 = 16;

/// What the load keeps of the program's BTF: the object's id, the record
/// counts and sizes (`bpf_prog_info`), and the facts for the verifier.
#[derive(Debug)]
pub struct ProgBtf {
    pub btf_id: u32,
    pub func_info_rec_size: u32,
    pub nr_func_info: u32,
    pub line_info_rec_size: u32,
    pub nr_line_info: u32,
    pub info: ProgBtfInfo,
    /// The decoded BTF (kept by the program for extensions of it).
    pub btf: std::sync::Arc<Btf>,
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

/// Splits `data` into records of `rec_size` bytes, refusing non-zero
/// bytes beyond the first `known` of each.
fn records(data: &[u8], rec_size: u32, known: u32) -> Result<Vec<&[u8]>, Errno> {
    let rec = rec_size as usize;
    if !data.len().is_multiple_of(rec) {
        return Err(Errno::EINVAL);
    }
    let recs: Vec<&[u8]> = data.chunks(rec).collect();
    if recs.iter().any(|r| r.get(known as usize..).is_some_and(|t| t.iter().any(|&b| b != 0))) {
        return Err(Errno::E2BIG);
    }
    Ok(recs)
}

/// The ctx struct a program type's global functions receive
/// (`bpf_ctx_convert`'s user-visible types).
pub fn ctx_type_name(t: ProgType) -> Option<&'static str> {
    use ProgType as T;
    Some(match t {
        T::SocketFilter
        | T::SchedCls
        | T::SchedAct
        | T::CgroupSkb
        | T::LwtIn
        | T::LwtOut
        | T::LwtXmit
        | T::LwtSeg6local
        | T::SkSkb
        | T::FlowDissector => "__sk_buff",
        T::Xdp => "xdp_md",
        T::PerfEvent => "bpf_perf_event_data",
        T::CgroupSock => "bpf_sock",
        T::SockOps => "bpf_sock_ops",
        T::CgroupDevice => "bpf_cgroup_dev_ctx",
        T::SkMsg => "sk_msg_md",
        T::RawTracepoint | T::RawTracepointWritable => "bpf_raw_tracepoint_args",
        T::CgroupSockAddr => "bpf_sock_addr",
        T::SkReuseport => "sk_reuseport_md",
        T::CgroupSysctl => "bpf_sysctl",
        T::CgroupSockopt => "bpf_sockopt",
        T::SkLookup => "bpf_sk_lookup",
        T::Netfilter => "bpf_nf_ctx",
        _ => return None,
    })
}

/// `btf_type_skip_modifiers()`, typedefs included.
fn skip_mods(btf: &Btf, mut id: TypeId) -> TypeId {
    for _ in 0..=btf.types.len() {
        match btf.kind(id) {
            Some(k) if k.is_mod_or_typedef() => id = k.ref_type().unwrap_or(0),
            _ => break,
        }
    }
    id
}

fn is_scalar_kind(k: Option<&Kind>) -> bool {
    matches!(k, Some(Kind::Int { .. } | Kind::Enum { .. } | Kind::Enum64 { .. }))
}

/// `btf_type_str()`: the kind's name, "UNKNOWN" for void.
fn kind_str(btf: &Btf, id: TypeId) -> &'static str {
    btf.kind(id).map_or("UNKNOWN", |k| k.tag().name())
}

/// The `arg:` decl tags on parameter `i` of FUNC `func`.
fn arg_tags(btf: &Btf, func: TypeId, i: usize) -> Vec<String> {
    btf.iter()
        .filter_map(|(_, t)| match &t.kind {
            Kind::DeclTag { ty, component_idx, .. } if *ty == func && *component_idx == i as i32 => {
                btf.str_at(t.name_off).strip_prefix("arg:").map(str::to_string)
            }
            _ => None,
        })
        .collect()
}

/// `btf_prepare_func_args()` for the global function `func` (a FUNC id).
fn prepare_args(btf: &Btf, func: TypeId, prog_type: ProgType) -> Result<Vec<SubprogArg>, String> {
    let name = btf.name(func).to_string();
    let proto = btf.kind(func).and_then(Kind::ref_type).unwrap_or(0);
    let Some(Kind::FuncProto { ret, params }) = btf.kind(proto) else {
        return Err(format!("Invalid type of function {name}()"));
    };
    if params.len() > MAX_BPF_FUNC_REG_ARGS {
        return Err(format!(
            "Global function {name}() with {} > {MAX_BPF_FUNC_REG_ARGS} args. Buggy compiler.",
            params.len()
        ));
    }
    if !is_scalar_kind(btf.kind(skip_mods(btf, *ret))) {
        return Err(format!("Global function {name}() doesn't return scalar. Only those are supported."));
    }
    let ctx_name = ctx_type_name(prog_type);
    let mut out = Vec::new();
    for (i, p) in params.iter().enumerate() {
        let tags = arg_tags(btf, func, i);
        let ctx_tag = tags.iter().any(|t| t == "ctx");
        let nonnull = tags.iter().any(|t| t == "nonnull");
        if tags.iter().any(|t| t != "ctx" && t != "nonnull") {
            return Err(format!("arg#{i} has unsupported set of tags"));
        }
        let t = skip_mods(btf, p.ty);
        match btf.kind(t) {
            Some(Kind::Ptr { ty }) => {
                let pointee = skip_mods(btf, *ty);
                let is_ctx = matches!(btf.kind(pointee), Some(Kind::Struct(_)))
                    && ctx_name.is_some_and(|n| btf.name(pointee) == n);
                if ctx_tag || is_ctx {
                    if ctx_tag && nonnull {
                        return Err(format!("arg#{i} has invalid combination of tags"));
                    }
                    out.push(SubprogArg::Ctx);
                    continue;
                }
                let size = match btf.kind(pointee) {
                    Some(Kind::Fwd { .. } | Kind::Func { .. } | Kind::FuncProto { .. }) | None => None,
                    Some(_) => btf.resolve_size(pointee).ok(),
                };
                let Some(size) = size else {
                    return Err(format!(
                        "arg#{i} reference type('{} {}') size cannot be determined: -22",
                        kind_str(btf, pointee),
                        btf.name(pointee)
                    ));
                };
                out.push(SubprogArg::Mem { size, nullable: !nonnull });
            }
            k if is_scalar_kind(k) => {
                if !tags.is_empty() {
                    return Err(format!("arg#{i} has pointer tag, but is not a pointer type"));
                }
                out.push(SubprogArg::Scalar);
            }
            _ => {
                return Err(format!("Arg#{i} type {} in {name}() is not supported yet.", kind_str(btf, t)));
            }
        }
    }
    Ok(out)
}

/// `check_btf_func_early()` with what the verifier needs of each record.
fn func_infos(
    btf: &Btf,
    data: &[u8],
    rec_size: u32,
    prog_type: ProgType,
    log: &mut VerifierLog,
) -> Result<Vec<FuncInfo>, Errno> {
    if !(MIN_FUNCINFO_SIZE..=MAX_REC_SIZE).contains(&rec_size) || !rec_size.is_multiple_of(4) {
        log.line(&format!("invalid func info rec size {rec_size}"));
        return Err(Errno::EINVAL);
    }
    let recs = records(data, rec_size, MIN_FUNCINFO_SIZE).inspect_err(|e| {
        if *e == Errno::E2BIG {
            log.write("nonzero tailing record in func info");
        }
    })?;
    let mut out: Vec<FuncInfo> = Vec::with_capacity(recs.len());
    for (i, r) in recs.iter().enumerate() {
        let insn_off = u32_at(r, 0);
        let type_id = u32_at(r, 4);
        if i == 0 && insn_off != 0 {
            log.write(&format!("nonzero insn_off {insn_off} for the first func info record"));
            return Err(Errno::EINVAL);
        }
        if let Some(prev) = out.last()
            && insn_off <= prev.insn_off
        {
            log.write(&format!(
                "same or smaller insn offset ({insn_off}) than previous func info record ({})",
                prev.insn_off
            ));
            return Err(Errno::EINVAL);
        }
        let Some(Kind::Func { proto, linkage }) = btf.kind(type_id) else {
            log.write(&format!("invalid type id {} in func info", type_id as i32));
            return Err(Errno::EINVAL);
        };
        let Some(Kind::FuncProto { ret, .. }) = btf.kind(*proto) else {
            return Err(Errno::EINVAL);
        };
        let global = *linkage == FuncLinkage::Global;
        out.push(FuncInfo {
            insn_off,
            type_id,
            name: btf.name(type_id).to_string(),
            global,
            ret_scalar: is_scalar_kind(btf.kind(skip_mods(btf, *ret))),
            args: if global { prepare_args(btf, type_id, prog_type) } else { Ok(Vec::new()) },
        });
    }
    Ok(out)
}

/// The line records, their strings resolved (`check_btf_line()`'s size
/// checks; the rest is the verifier's).
fn line_infos(btf: &Btf, data: &[u8], rec_size: u32, log: &mut VerifierLog) -> Result<Vec<LineInfo>, Errno> {
    if !(LINEINFO_SIZE..=MAX_REC_SIZE).contains(&rec_size) || !rec_size.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let recs = records(data, rec_size, LINEINFO_SIZE).inspect_err(|e| {
        if *e == Errno::E2BIG {
            log.write("nonzero tailing record in line_info");
        }
    })?;
    Ok(recs
        .iter()
        .map(|r| {
            let file_name_off = u32_at(r, 4);
            LineInfo {
                insn_off: u32_at(r, 0),
                file_name_off,
                file: btf.strings.get(file_name_off).map(str::to_string),
                line: btf.strings.get(u32_at(r, 8)).map(str::to_string),
                line_num: u32_at(r, 12) >> 10,
            }
        })
        .collect())
}

impl Kernel {
    /// `bpf_check_btf_info_early()` and the record checks: `None` when the
    /// load passed neither func nor line info (`prog_btf_fd` is then
    /// ignored, as in the kernel).
    pub(crate) fn prog_btf(
        &self,
        prog_btf_fd: i32,
        func_info: (&[u8], u32),
        line_info: (&[u8], u32),
        prog_type: ProgType,
        log: &mut VerifierLog,
    ) -> Result<Option<ProgBtf>, Errno> {
        if func_info.0.is_empty() && line_info.0.is_empty() {
            return Ok(None);
        }
        let obj = self.fd_obj(prog_btf_fd)?;
        let btf_obj = obj.btf()?;
        if btf_obj.kernel_btf {
            return Err(Errno::EACCES);
        }
        let btf = bpfemu_btf::decode::decode(&btf_obj.data).map_err(|_| Errno::EINVAL)?;
        let funcs = if func_info.0.is_empty() {
            Vec::new()
        } else {
            func_infos(&btf, func_info.0, func_info.1, prog_type, log)?
        };
        let lines = if line_info.0.is_empty() {
            Vec::new()
        } else {
            line_infos(&btf, line_info.0, line_info.1, log)?
        };
        Ok(Some(ProgBtf {
            btf_id: btf_obj.id,
            func_info_rec_size: if funcs.is_empty() { 0 } else { MIN_FUNCINFO_SIZE },
            nr_func_info: funcs.len() as u32,
            line_info_rec_size: if lines.is_empty() { 0 } else { LINEINFO_SIZE },
            nr_line_info: lines.len() as u32,
            info: ProgBtfInfo { funcs, lines },
            btf: std::sync::Arc::new(btf),
        }))
    }
}
