//! The core family: one statement per `bpf()` command of the kernel core
//! (maps, programs, pinning, ids, info, links, BTF, batches), `close`, bpffs
//! directory operations, `expect map` / `expect trace`, and bpftool-style
//! `show` / `dump`.

use super::{Alt, Family, Kind, ObjKind, PVal, PlanCtx, Planned, Spec};
use crate::error::{Diag, suggest};
use crate::parse::Block;
use crate::run::{Outcome, Runner};
use crate::value::Val;
use bpfemu_kernel::Errno;
use bpfemu_kernel::bpf::BpfAttr;
use bpfemu_kernel::bpf::attr::{
    BatchAttr, LinkCreateAttr, MapCreateAttr, ObjInfo, ProgLoadAttr, TestRunAttr, TestRunOut,
};
use bpfemu_kernel::bpf::test_run_detached::{DetachedDone, DetachedRun};

/// The BTF and func_info of `prog ... func_info=static` (also used by
/// other tools that load scenario programs).
pub use bpfemu_kernel::bpf::load::static_func_info::static_func_info;

use Kind as K;
use ObjKind as O;

/// The log buffer every `prog` load passes (the kernel accepts up to
/// `UINT_MAX >> 2`; 1 MiB holds any level-2 log of the corpus).
pub const PROG_LOG_SIZE: u32 = 1 << 20;

const MAP_FIELDS: &[(&str, Kind)] = &[("fd", K::Int), ("id", K::Int)];

/// The core statements.
pub static FAMILY: Family = Family {
    name: "core",
    specs: &[
        Spec {
            name: "map",
            pos: &[("map name", K::NewName(O::Map))],
            keys: &[
                ("type", K::MapType, true),
                ("key", K::Int, true),
                ("value", K::Int, true),
                ("max", K::Int, true),
                ("flags", K::Int, false),
                ("inner", K::Name(O::Map), false),
                ("name", K::Text, false),
                ("extra", K::Int, false),
                ("numa", K::Int, false),
            ],
            fields: MAP_FIELDS,
            usage: "map NAME type=hash key=4 value=8 max=16 [flags=N] [inner=MAP] [name=STR]",
        },
        Spec {
            name: "prog",
            pos: &[("program name", K::NewName(O::Prog))],
            keys: &[
                ("type", K::ProgType, true),
                ("attach", K::AttachType, false),
                ("target", K::Text, false),
                ("btf_id", K::Int, false),
                ("member", K::Text, false),
                ("license", K::Text, false),
                ("name", K::Text, false),
                ("flags", K::Int, false),
                ("object", K::Text, false),
                ("section", K::Text, false),
                ("log_level", K::Int, false),
                ("program", K::Text, false),
                ("load", K::Text, false),
                ("func_info", K::Text, false),
            ],
            fields: MAP_FIELDS,
            usage: "prog NAME type=syscall [attach=TYPE] [target=FUNC|STRUCT|btf_id=N] [member=IDX|NAME] [license=GPL] [name=STR] [log_level=1|2] [func_info=static] { assembly }  |  prog NAME object=FILE [program=P | section=S] [load=all|one]",
        },
        Spec {
            name: "update",
            pos: &[("map name", K::Name(O::Map))],
            keys: &[("key", K::Bytes, true), ("value", K::Bytes, true), ("flags", K::UpdateFlags, false)],
            fields: &[],
            usage: "update MAP key=BYTES value=BYTES [flags=any|noexist|exist|lock]",
        },
        Spec {
            name: "lookup",
            pos: &[("map name", K::Name(O::Map))],
            keys: &[("key", K::Bytes, true), ("flags", K::UpdateFlags, false), ("value", K::Bytes, false)],
            fields: &[("value", K::Bytes)],
            usage: "lookup MAP key=BYTES [value=BYTES] => value=BYTES   (value=: the buffer's contents going in, e.g. the value a bloom filter tests)",
        },
        Spec {
            name: "delete",
            pos: &[("map name", K::Name(O::Map))],
            keys: &[("key", K::Bytes, true)],
            fields: &[],
            usage: "delete MAP key=BYTES",
        },
        Spec {
            name: "lookup_and_delete",
            pos: &[("map name", K::Name(O::Map))],
            keys: &[("key", K::Bytes, true), ("flags", K::UpdateFlags, false)],
            fields: &[("value", K::Bytes)],
            usage: "lookup_and_delete MAP key=BYTES => value=BYTES",
        },
        Spec {
            name: "next_key",
            pos: &[("map name", K::Name(O::Map))],
            keys: &[("key", K::Bytes, false)],
            fields: &[("key", K::Bytes)],
            usage: "next_key MAP [key=BYTES] => key=BYTES",
        },
        Spec {
            name: "freeze",
            pos: &[("map name", K::Name(O::Map))],
            keys: &[],
            fields: &[],
            usage: "freeze MAP",
        },
        Spec {
            name: "pin",
            pos: &[("object name", K::Name(O::Any)), ("bpffs path", K::Path)],
            keys: &[("flags", K::Int, false)],
            fields: &[],
            usage: "pin OBJ /sys/fs/bpf/PATH",
        },
        Spec {
            name: "get",
            pos: &[("new name", K::NewName(O::Any)), ("bpffs path", K::Path)],
            keys: &[("flags", K::Int, false)],
            fields: &[("fd", K::Int)],
            usage: "get NAME /sys/fs/bpf/PATH   (BPF_OBJ_GET: NAME is the new fd)",
        },
        Spec {
            name: "unpin",
            pos: &[("bpffs path", K::Path)],
            keys: &[],
            fields: &[],
            usage: "unpin /sys/fs/bpf/PATH   (unlink)",
        },
        Spec {
            name: "mkdir",
            pos: &[("bpffs path", K::Path)],
            keys: &[],
            fields: &[],
            usage: "mkdir /sys/fs/bpf/DIR",
        },
        Spec {
            name: "rmdir",
            pos: &[("bpffs path", K::Path)],
            keys: &[],
            fields: &[],
            usage: "rmdir /sys/fs/bpf/DIR",
        },
        Spec {
            name: "close",
            pos: &[("object name", K::Name(O::Any))],
            keys: &[],
            fields: &[],
            usage: "close OBJ",
        },
        Spec {
            name: "run",
            pos: &[("program name", K::Name(O::Prog))],
            keys: &[
                ("ctx", K::Bytes, false),
                ("data", K::Bytes, false),
                ("repeat", K::Int, false),
                ("flags", K::Int, false),
                ("cpu", K::Int, false),
                ("ctx_out", K::Int, false),
                ("data_out", K::Int, false),
            ],
            fields: &[("r0", K::Int), ("ctx", K::Bytes), ("duration", K::Int), ("data", K::Bytes)],
            usage: "run PROG [ctx=BYTES] [data=BYTES] [repeat=N] [data_out=N] => r0=N [ctx=BYTES] [data=BYTES]",
        },
        Spec {
            name: "info",
            pos: &[("object name", K::Name(O::Any))],
            keys: &[],
            fields: &[
                ("type", K::Text),
                ("id", K::Int),
                ("name", K::Text),
                ("key", K::Int),
                ("value", K::Int),
                ("max", K::Int),
                ("flags", K::Int),
                ("frozen", K::Int),
                ("tag", K::Text),
                ("run_cnt", K::Int),
                ("map_ids", K::Text),
                ("prog_id", K::Int),
                ("size", K::Int),
                ("netns_ino", K::Int),
                ("attach_type", K::Text),
                ("tp_name", K::Text),
                ("target_name", K::Text),
            ],
            usage: "info OBJ => FIELD=VALUE ...   (BPF_OBJ_GET_INFO_BY_FD)",
        },
        Spec {
            name: "fd_by_id",
            pos: &[("new name", K::NewName(O::Any)), ("object kind", K::IdKind)],
            keys: &[("id", K::Int, true), ("flags", K::Int, false)],
            fields: &[("fd", K::Int)],
            usage: "fd_by_id NAME prog|map|link|btf id=N",
        },
        Spec {
            name: "next_id",
            pos: &[("object kind", K::IdKind)],
            keys: &[("start", K::Int, false)],
            fields: &[("id", K::Int)],
            usage: "next_id prog|map|link|btf [start=N] => id=N",
        },
        Spec {
            name: "btf",
            pos: &[("BTF name", K::NewName(O::Btf))],
            keys: &[("data", K::Bytes, true)],
            fields: MAP_FIELDS,
            usage: "btf NAME data=BYTES   (BPF_BTF_LOAD)",
        },
        Spec {
            name: "link",
            pos: &[("link name", K::NewName(O::Link))],
            keys: &[
                ("prog", K::Name(O::Prog), true),
                ("attach", K::AttachType, true),
                ("target_fd", K::Int, false),
                ("target", K::Name(O::Any), false),
                ("netns", K::Name(O::Netns), false),
                ("flags", K::Int, false),
            ],
            fields: MAP_FIELDS,
            usage: "link NAME prog=PROG attach=TYPE [target=OBJ|target_fd=N|netns=NS]   (BPF_LINK_CREATE)",
        },
        Spec {
            name: "raw_tp",
            pos: &[("link name", K::NewName(O::Link))],
            keys: &[("prog", K::Name(O::Prog), true), ("tp", K::Text, false), ("cookie", K::Int, false)],
            fields: MAP_FIELDS,
            usage: "raw_tp NAME prog=PROG [tp=TRACEPOINT] [cookie=N]   (BPF_RAW_TRACEPOINT_OPEN; no tp=: a NULL name)",
        },
        Spec {
            name: "iter",
            pos: &[("iterator name", K::NewName(O::Any))],
            keys: &[("link", K::Name(O::Link), true), ("flags", K::Int, false)],
            fields: &[("fd", K::Int)],
            usage: "iter NAME link=LINK [flags=N]   (BPF_ITER_CREATE)",
        },
        Spec {
            name: "iter_read",
            pos: &[("iterator name", K::Name(O::Any))],
            keys: &[("size", K::Int, false)],
            fields: &[("text", K::Text), ("reads", K::Int)],
            usage: "iter_read ITER [size=N]   (read() in chunks of N bytes (default 4096) until the end; text = all bytes)",
        },
        Spec {
            name: "link_update",
            pos: &[("link name", K::Name(O::Link))],
            keys: &[
                ("prog", K::Name(O::Prog), true),
                ("old", K::Name(O::Prog), false),
                ("flags", K::Int, false),
            ],
            fields: &[],
            usage: "link_update LINK prog=PROG [old=PROG]",
        },
        Spec {
            name: "link_detach",
            pos: &[("link name", K::Name(O::Link))],
            keys: &[],
            fields: &[],
            usage: "link_detach LINK",
        },
        Spec {
            name: "attach",
            pos: &[("program name", K::Name(O::Prog))],
            keys: &[
                ("attach", K::AttachType, true),
                ("target_fd", K::Int, false),
                ("flags", K::Int, false),
                ("replace", K::Name(O::Prog), false),
                ("netns", K::Name(O::Netns), false),
            ],
            fields: &[],
            usage: "attach PROG attach=TYPE [target_fd=N] [flags=N] [netns=NS]   (BPF_PROG_ATTACH; netns=: called from inside NS)",
        },
        Spec {
            name: "detach",
            pos: &[("program name", K::Name(O::Prog))],
            keys: &[
                ("attach", K::AttachType, true),
                ("target_fd", K::Int, false),
                ("netns", K::Name(O::Netns), false),
            ],
            fields: &[],
            usage: "detach PROG attach=TYPE [target_fd=N] [netns=NS]",
        },
        Spec {
            name: "query",
            pos: &[],
            keys: &[
                ("attach", K::AttachType, true),
                ("target_fd", K::Int, false),
                ("netns", K::Name(O::Netns), false),
                ("flags", K::Int, false),
            ],
            fields: &[("prog_ids", K::Text), ("attach_flags", K::Int)],
            usage: "query attach=TYPE [target_fd=N|netns=NS] => prog_ids=\"1,2\"",
        },
        Spec {
            name: "lookup_batch",
            pos: &[("map name", K::Name(O::Map))],
            keys: &[("count", K::Int, true), ("in", K::Bytes, false)],
            fields: &[("count", K::Int), ("keys", K::Bytes), ("values", K::Bytes), ("out", K::Bytes)],
            usage: "lookup_batch MAP count=N [in=BYTES] => count=N keys=BYTES values=BYTES",
        },
        Spec {
            name: "lookup_and_delete_batch",
            pos: &[("map name", K::Name(O::Map))],
            keys: &[("count", K::Int, true), ("in", K::Bytes, false)],
            fields: &[("count", K::Int), ("keys", K::Bytes), ("values", K::Bytes), ("out", K::Bytes)],
            usage: "lookup_and_delete_batch MAP count=N => count=N keys=BYTES values=BYTES",
        },
        Spec {
            name: "update_batch",
            pos: &[("map name", K::Name(O::Map))],
            keys: &[("keys", K::Bytes, true), ("values", K::Bytes, true), ("flags", K::UpdateFlags, false)],
            fields: &[("count", K::Int)],
            usage: "update_batch MAP keys=BYTES values=BYTES",
        },
        Spec {
            name: "delete_batch",
            pos: &[("map name", K::Name(O::Map))],
            keys: &[("keys", K::Bytes, true)],
            fields: &[("count", K::Int)],
            usage: "delete_batch MAP keys=BYTES",
        },
        Spec {
            name: "expect map",
            pos: &[("map name", K::Name(O::Map))],
            keys: &[("key", K::Bytes, true), ("value", K::Bytes, false), ("missing", K::Word, false)],
            fields: &[],
            usage: "expect map MAP key=BYTES value=BYTES | expect map MAP key=BYTES missing=yes",
        },
        Spec {
            name: "expect trace",
            pos: &[("text", K::Text)],
            keys: &[],
            fields: &[],
            usage: "expect trace \"TEXT\"   (the next trace_pipe line ends with TEXT; `expect trace none`: no line left)",
        },
        Spec {
            name: "expect log",
            pos: &[("text", K::Text)],
            keys: &[],
            fields: &[],
            usage: "expect log \"TEXT\"   (a line of the last `prog` load's verifier log contains TEXT)",
        },
        Spec {
            name: "show",
            pos: &[("object kind", K::IdKind)],
            keys: &[],
            fields: &[],
            usage: "show prog|map|link|btf   (bpftool ... show)",
        },
        Spec {
            name: "dump",
            pos: &[("map name", K::Name(O::Map))],
            keys: &[],
            fields: &[],
            usage: "dump MAP   (bpftool map dump)",
        },
    ],
};

/// Checks beyond the spec: program blocks, `close` forgetting a name.
pub(super) fn plan_extra(p: &mut Planned, cx: &mut PlanCtx) -> Result<(), Diag> {
    let s = &p.stmt;
    match p.spec.name {
        "prog" => {
            if let Some(PVal::Text(obj)) = p.kv.get("object") {
                let obj = obj.clone();
                if s.block.is_some() {
                    return Err(s.err(s.head.col, "`prog ... object=` takes no assembly block"));
                }
                return super::object::plan(p, cx, &obj);
            }
            if p.kv.contains_key("program") || p.kv.contains_key("section") || p.kv.contains_key("load") {
                let col = s
                    .raw_line
                    .find("program=")
                    .or(s.raw_line.find("section="))
                    .or(s.raw_line.find("load="))
                    .map_or(1, |i| i + 1);
                return Err(s.err(
                    col,
                    "`program=`, `section=` and `load=` select from an object: add `object=FILE`",
                ));
            }
            let Some(Block::Raw { first_line, text }) = &s.block else {
                return Err(s
                    .err(
                        s.raw_line.trim_end().len() + 1,
                        "expected `{` and an assembly block after the program's arguments",
                    )
                    .help(Some("prog P type=syscall {\n      r0 = 0\n      exit\n  }".into())));
            };
            // Check the assembly now, with every map name resolved to a placeholder fd.
            let src = rewrite_map_names(text, |name| {
                if cx.names.get(name) == Some(&ObjKind::Map) || cx.names.get(name) == Some(&ObjKind::Any) {
                    Ok(1)
                } else {
                    Err(())
                }
            })
            .map_err(|(line, col, name)| {
                let maps = cx.names.iter().filter(|(_, k)| **k == ObjKind::Map).map(|(n, _)| n.as_str());
                asm_diag(s, *first_line, line, col, format!("no map named `{name}`"), text)
                    .help(suggest(&name, maps))
            })?;
            let src = bpfemu_kernel::kfuncs::asm::rewrite_kfunc_calls(&src);
            if let Err(e) = bpfemu_isa::asm::kernel::assemble(&src) {
                return Err(asm_diag(s, *first_line, e.line, e.column, e.message, text));
            }
            if let Some(PVal::Int(l)) = p.kv.get("log_level")
                && !(0..=2).contains(l)
            {
                let col = s.raw_line.find("log_level=").map_or(1, |i| i + 11);
                return Err(s
                    .err(col, format!("`log_level={l}`: expected 0, 1 or 2"))
                    .help(Some("1: the failing path and the error; 2: every instruction".into())));
            }
            if let Some(PVal::Text(f)) = p.kv.get("func_info")
                && f != "static"
            {
                let col = s.raw_line.find("func_info=").map_or(1, |i| i + 11);
                return Err(s
                    .err(col, format!("`func_info={f}`: expected `static`"))
                    .help(Some("func_info=static: BTF with one static FUNC per function".into())));
            }
            cx.seen_prog = true;
        }
        "close" => {
            cx.names.remove(p.name(0));
        }
        "expect log" if !cx.seen_prog => {
            return Err(s
                .err(
                    s.head.col,
                    "`expect log` checks the log of a program load, and no `prog` comes before it",
                )
                .help(Some("load a program first: prog P type=socket_filter { ... } => EACCES".into())));
        }
        "expect map" if p.kv.contains_key("value") == p.kv.contains_key("missing") => {
            return Err(s
                .err(
                    s.raw_line.trim_end().len() + 1,
                    "expected exactly one of `value=BYTES` or `missing=yes`",
                )
                .help(Some(format!("usage: {}", p.spec.usage))));
        }
        "expect map" => {
            if let Some(PVal::Text(v)) = p.kv.get("missing")
                && v != "yes"
            {
                let col = s.raw_line.find("missing=").map_or(1, |i| i + 9);
                return Err(s.err(col, format!("`missing={v}`: expected `missing=yes`")));
            }
        }
        _ => {}
    }
    if p.spec.name.starts_with("expect ") && p.expect.is_some() {
        return Err(s.err(s.expect.as_ref().map_or(1, |e| e.0), "`expect` statements take no `=>`"));
    }
    let _ = Alt::Ok;
    Ok(())
}

fn asm_diag(
    s: &crate::parse::Stmt,
    first_line: usize,
    line: usize,
    col: usize,
    msg: String,
    text: &str,
) -> Diag {
    let mut d = Diag::new(
        crate::error::Loc { file: s.loc.file.clone(), line: first_line + line - 1, col },
        format!("assembly: {msg}"),
    );
    d.source = text.lines().nth(line.saturating_sub(1)).unwrap_or("").to_string();
    d
}

/// Rewrites `map[NAME]` to `map[fd:N]`; errors give (line, col, name).
pub fn rewrite_map_names(
    text: &str,
    mut fd: impl FnMut(&str) -> Result<i32, ()>,
) -> Result<String, (usize, usize, String)> {
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        let mut consumed = 0;
        while let Some(at) = rest.find("map[") {
            let (before, after) = rest.split_at(at + 4);
            out.push_str(before);
            let name_len =
                after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
            let name = &after[..name_len];
            let ident = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
            if ident && after[name_len..].starts_with(']') && name != "fd" && name != "idx" {
                let col = consumed + at + 5;
                let n = fd(name).map_err(|()| (i + 1, col, name.to_string()))?;
                out.push_str(&format!("fd:{n}"));
                rest = &after[name_len..];
                consumed += at + 4 + name_len;
            } else {
                rest = after;
                consumed += at + 4;
            }
        }
        out.push_str(rest);
        out.push('\n');
    }
    Ok(out)
}

fn ok(fields: Vec<(&str, Val)>) -> Outcome {
    Ok(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn int(v: impl Into<i128>) -> Val {
    Val::Int(v.into())
}

/// Runs a core statement; `None` if it is not one.
pub fn exec(r: &mut Runner, p: &Planned) -> Option<Outcome> {
    Some(match p.spec.name {
        "map" => {
            let inner_map_fd = match p.text("inner") {
                Some(n) => match r.fd(n) {
                    Ok(fd) => fd,
                    Err(e) => return Some(Err(e)),
                },
                None => 0,
            };
            let Some(PVal::Map(t)) = p.kv.get("type") else { return Some(Err(Errno::EINVAL)) };
            let attr = MapCreateAttr {
                map_type: t.raw(),
                key_size: p.int("key").unwrap_or(0) as u32,
                value_size: p.int("value").unwrap_or(0) as u32,
                max_entries: p.int("max").unwrap_or(0) as u32,
                map_flags: p.int("flags").unwrap_or(0) as u32,
                inner_map_fd,
                numa_node: p.int("numa").unwrap_or(0) as u32,
                map_name: p.text("name").unwrap_or(p.name(0)).as_bytes().iter().take(15).copied().collect(),
                map_extra: p.int("extra").unwrap_or(0) as u64,
                ..Default::default()
            };
            let res = r.k.bpf(BpfAttr::MapCreate(attr));
            r.bind(p.name(0), res)
        }
        "prog" if p.text("object").is_some() => super::object::run(r, p, p.text("object").unwrap_or("")),
        "prog" => {
            let Some(Block::Raw { text, .. }) = &p.stmt.block else { return Some(Err(Errno::EINVAL)) };
            let src = match rewrite_map_names(text, |n| r.fd(n).map_err(drop)) {
                Ok(s) => s,
                Err(_) => return Some(Err(Errno::EBADF)),
            };
            let src = bpfemu_kernel::kfuncs::asm::rewrite_kfunc_calls(&src);
            let insns = match bpfemu_isa::asm::kernel::assemble(&src) {
                Ok(i) => i,
                Err(_) => return Some(Err(Errno::EINVAL)),
            };
            let Some(PVal::Prog(t)) = p.kv.get("type") else { return Some(Err(Errno::EINVAL)) };
            let mut attach = match p.kv.get("attach") {
                Some(PVal::Attach(a)) => a.raw(),
                _ => 0,
            };
            // target=FUNC: attach_btf_id of a FUNC of vmlinux BTF (else of
            // a btf_trace_* TYPEDEF for tp_btf, or of a STRUCT: a
            // struct_ops type); btf_id=N: any id.
            let vmlinux = bpfemu_kernel::vmlinux::shared();
            let attach_btf_id = match (p.text("target"), p.int("btf_id")) {
                (Some(f), _) => match bpfemu_kernel::vmlinux::func_id(f)
                    .or_else(|| bpfemu_kernel::vmlinux::typedef_id(f))
                    .or_else(|| bpfemu_kernel::vmlinux::struct_id(&vmlinux, f))
                {
                    Some(id) => id,
                    None => return Some(Err(Errno::ENOENT)),
                },
                (None, Some(n)) => n as u32,
                (None, None) => 0,
            };
            // member=N|NAME: a struct_ops program's member index, passed as
            // expected_attach_type (as libbpf does); a name is looked up in
            // the target struct.
            if let Some(m) = p.text("member") {
                attach = match m.parse::<u32>() {
                    Ok(n) => n,
                    Err(_) => match bpfemu_kernel::vmlinux::member_index(&vmlinux, attach_btf_id, m) {
                        Some(n) => n,
                        None => return Some(Err(Errno::ENOENT)),
                    },
                };
            }
            let name: Vec<u8> =
                p.text("name").unwrap_or(p.name(0)).as_bytes().iter().take(15).copied().collect();
            // func_info=static: the BTF and func_info clang emits for
            // static functions (the kernel needs them for callbacks).
            let (btf_fd, func_info) = match p.text("func_info") {
                None => (0, Vec::new()),
                Some("static") => {
                    let (data, recs) = static_func_info(&String::from_utf8_lossy(&name), &insns);
                    let fd = match r.k.bpf(BpfAttr::BtfLoad { btf: &data, log: None, log_level: 0 }) {
                        Ok(fd) => fd as i32,
                        Err(e) => return Some(Err(e)),
                    };
                    (fd, bpfemu_kernel::bpf::load::static_func_info::encode_records(&recs))
                }
                Some(_) => return Some(Err(Errno::EINVAL)),
            };
            let mut log = String::new();
            let log_level = p.int("log_level").unwrap_or(1) as u32;
            let attr = ProgLoadAttr {
                prog_type: t.raw(),
                insns: &insns,
                license: p.text("license").unwrap_or("GPL"),
                prog_name: &name,
                expected_attach_type: attach,
                attach_btf_id,
                // Without flags=, what libbpf passes (syscall programs sleepable).
                prog_flags: p
                    .int("flags")
                    .map_or(bpfemu_kernel::bpf::load::default_prog_flags(*t), |f| f as u32),
                log_level,
                // log_level=0: no buffer at all (the kernel refuses a buffer without a level).
                log: if log_level == 0 { None } else { Some(&mut log) },
                log_size: if log_level == 0 { 0 } else { PROG_LOG_SIZE },
                prog_btf_fd: btf_fd,
                func_info_rec_size: if func_info.is_empty() { 0 } else { 8 },
                func_info: &func_info,
                ..Default::default()
            };
            let res = r.k.bpf(BpfAttr::ProgLoad(attr));
            if btf_fd > 0 {
                // The program holds its own reference to the BTF.
                let _ = r.k.close(btf_fd);
            }
            if res.is_err() {
                r.log_tail(&log);
            }
            r.prog_log = Some((p.name(0).to_string(), log));
            r.bind(p.name(0), res)
        }
        "update" | "lookup" | "delete" | "lookup_and_delete" => map_elem(r, p),
        "next_key" => (|| {
            let fd = r.fd(p.name(0))?;
            let key = p.bytes("key").map(|b| r.resolve(b)).transpose()?;
            let mut next = vec![0u8; key_size(r, fd)?];
            r.k.bpf(BpfAttr::MapGetNextKey { map_fd: fd, key: key.as_deref(), next_key: &mut next })?;
            ok(vec![("key", Val::Bytes(next))])
        })(),
        "freeze" => (|| {
            let fd = r.fd(p.name(0))?;
            r.k.bpf(BpfAttr::MapFreeze { map_fd: fd })?;
            ok(vec![])
        })(),
        "pin" => (|| {
            let fd = r.fd(p.name(0))?;
            r.k.bpf(BpfAttr::ObjPin {
                bpf_fd: fd,
                pathname: p.name(1),
                file_flags: p.int("flags").unwrap_or(0) as u32,
            })?;
            ok(vec![])
        })(),
        "get" => {
            let res = r
                .k
                .bpf(BpfAttr::ObjGet { pathname: p.name(1), file_flags: p.int("flags").unwrap_or(0) as u32 });
            r.bind(p.name(0), res)
        }
        "unpin" => r.k.bpffs_unlink(p.name(0)).and_then(|()| ok(vec![])),
        "mkdir" => r.k.bpffs_mkdir(p.name(0)).and_then(|()| ok(vec![])),
        "rmdir" => r.k.bpffs_rmdir(p.name(0)).and_then(|()| ok(vec![])),
        "close" => (|| {
            let fd = r.fd(p.name(0))?;
            r.objs.remove(p.name(0));
            r.k.close(fd)?;
            ok(vec![])
        })(),
        "run" => run_prog(r, p),
        "info" => info(r, p),
        "fd_by_id" => {
            let id = p.int("id").unwrap_or(0) as u32;
            let res = match p.name(1) {
                "prog" => r.k.bpf(BpfAttr::ProgGetFdById { id }),
                "map" => {
                    r.k.bpf(BpfAttr::MapGetFdById { id, open_flags: p.int("flags").unwrap_or(0) as u32 })
                }
                "link" => r.k.bpf(BpfAttr::LinkGetFdById { id }),
                _ => r.k.bpf(BpfAttr::BtfGetFdById { id }),
            };
            r.bind(p.name(0), res)
        }
        "next_id" => (|| {
            let start_id = p.int("start").unwrap_or(0) as u32;
            let mut next = 0u32;
            let n = &mut next;
            match p.name(0) {
                "prog" => r.k.bpf(BpfAttr::ProgGetNextId { start_id, next_id: n }),
                "map" => r.k.bpf(BpfAttr::MapGetNextId { start_id, next_id: n }),
                "link" => r.k.bpf(BpfAttr::LinkGetNextId { start_id, next_id: n }),
                _ => r.k.bpf(BpfAttr::BtfGetNextId { start_id, next_id: n }),
            }?;
            ok(vec![("id", int(next))])
        })(),
        "btf" => {
            let data = match p.bytes("data").map(|b| r.resolve(b)) {
                Some(Ok(d)) => d,
                Some(Err(e)) => return Some(Err(e)),
                None => Vec::new(),
            };
            let mut log = String::new();
            let res = r.k.bpf(BpfAttr::BtfLoad { btf: &data, log: Some(&mut log), log_level: 1 });
            r.log(&log);
            r.bind(p.name(0), res)
        }
        "link" => {
            let res = (|| {
                let prog_fd = r.fd(p.text("prog").unwrap_or(""))?;
                let target_fd = match (p.text("target"), p.text("netns")) {
                    (Some(t), _) | (None, Some(t)) => r.fd(t)?,
                    (None, None) => p.int("target_fd").unwrap_or(0) as i32,
                };
                let attach_type = match p.kv.get("attach") {
                    Some(PVal::Attach(a)) => a.raw(),
                    _ => 0,
                };
                let attr = LinkCreateAttr {
                    prog_fd,
                    target_fd,
                    attach_type,
                    flags: p.int("flags").unwrap_or(0) as u32,
                    target_btf_id: 0,
                    iter_info: None,
                    iter_info_len: 0,
                };
                r.k.bpf(BpfAttr::LinkCreate(attr))
            })();
            r.bind(p.name(0), res)
        }
        "raw_tp" => {
            let res = (|| {
                let prog_fd = r.fd(p.text("prog").unwrap_or(""))?;
                let cookie = p.int("cookie").unwrap_or(0) as u64;
                r.k.bpf(BpfAttr::RawTracepointOpen { name: p.text("tp"), prog_fd, cookie })
            })();
            r.bind(p.name(0), res)
        }
        "iter" => {
            let res = (|| {
                let link_fd = r.fd(p.text("link").unwrap_or(""))?;
                let flags = p.int("flags").unwrap_or(0) as u32;
                r.k.bpf(BpfAttr::IterCreate { link_fd, flags })
            })();
            r.bind(p.name(0), res)
        }
        "iter_read" => (|| {
            let fd = r.fd(p.name(0))?;
            let size = p.int("size").unwrap_or(4096).max(1) as usize;
            let (mut text, mut reads) = (Vec::new(), 0i64);
            loop {
                let b = r.k.iter_read(fd, size)?;
                reads += 1;
                if b.is_empty() {
                    break;
                }
                text.extend(b);
            }
            ok(vec![("text", Val::Text(String::from_utf8_lossy(&text).into_owned())), ("reads", int(reads))])
        })(),
        "link_update" => (|| {
            let link_fd = r.fd(p.name(0))?;
            let new_prog_fd = r.fd(p.text("prog").unwrap_or(""))?;
            let old_prog_fd = match p.text("old") {
                Some(o) => r.fd(o)?,
                None => 0,
            };
            r.k.bpf(BpfAttr::LinkUpdate {
                link_fd,
                new_prog_fd,
                flags: p.int("flags").unwrap_or(0) as u32,
                old_prog_fd,
            })?;
            ok(vec![])
        })(),
        "link_detach" => (|| {
            let link_fd = r.fd(p.name(0))?;
            r.k.bpf(BpfAttr::LinkDetach { link_fd })?;
            ok(vec![])
        })(),
        "attach" | "detach" => (|| {
            let prog = r.fd(p.name(0))?;
            let attach_type = match p.kv.get("attach") {
                Some(PVal::Attach(a)) => a.raw(),
                _ => 0,
            };
            let target_fd = p.int("target_fd").unwrap_or(0) as i32;
            // `netns=NS`: the call is made from inside NS.
            let back = match p.text("netns") {
                Some(ns) => {
                    let r2 = r.k.net_from_fd(r.fd(ns)?)?;
                    let user = r.k.user;
                    Some(r.k.net_switch(user, r2))
                }
                None => None,
            };
            let res = attach_detach(r, p, prog, attach_type, target_fd);
            if let Some(b) = back {
                let user = r.k.user;
                drop(r.k.net_switch(user, b));
            }
            res
        })(),
        "query" => (|| {
            let attach_type = match p.kv.get("attach") {
                Some(PVal::Attach(a)) => a.raw(),
                _ => 0,
            };
            let mut flags = 0u32;
            let mut ids = Vec::new();
            let target_fd = match p.text("netns") {
                Some(ns) => r.fd(ns)?,
                None => p.int("target_fd").unwrap_or(0) as i32,
            };
            r.k.bpf(BpfAttr::ProgQuery {
                target_fd,
                attach_type,
                query_flags: p.int("flags").unwrap_or(0) as u32,
                attach_flags: &mut flags,
                prog_ids: &mut ids,
            })?;
            let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
            ok(vec![("prog_ids", Val::Text(ids.join(","))), ("attach_flags", int(flags))])
        })(),
        "lookup_batch" | "lookup_and_delete_batch" | "update_batch" | "delete_batch" => batch(r, p),
        "expect map" => (|| {
            let fd = r.fd(p.name(0))?;
            let key = r.resolve(p.bytes("key").unwrap_or(&Default::default()))?;
            let mut v = vec![0u8; value_size(r, fd)?];
            match r.k.bpf(BpfAttr::MapLookupElem { map_fd: fd, key: &key, value: &mut v, flags: 0 }) {
                Ok(_) => ok(vec![("value", Val::Bytes(v))]),
                Err(Errno::ENOENT) => ok(vec![("missing", Val::Text("yes".into()))]),
                Err(e) => Err(e),
            }
        })(),
        "expect trace" => {
            let line = r.k.trace_pipe.get(r.trace_cursor).cloned();
            if line.is_some() {
                r.trace_cursor += 1;
            }
            ok(vec![("line", line.map_or(Val::Text("none".into()), Val::Text))])
        }
        "expect log" => {
            let want = p.name(0);
            let found = r.prog_log.as_ref().is_some_and(|(_, log)| log.lines().any(|l| l.contains(want)));
            ok(vec![("found", Val::Text(if found { "yes" } else { "no" }.into()))])
        }
        "show" => {
            let text = match p.name(0) {
                "prog" => bpfemu_kernel::show::prog_show(&r.k),
                "map" => bpfemu_kernel::show::map_show(&r.k),
                "link" => bpfemu_kernel::show::link_show(&r.k),
                _ => bpfemu_kernel::show::btf_show(&r.k),
            };
            for l in text.lines() {
                r.note(format!("| {}", engine_neutral(l)));
            }
            ok(vec![])
        }
        "dump" => (|| {
            let fd = r.fd(p.name(0))?;
            let Some(ObjInfo::Map(mi)) = obj_info(r, fd)? else { return Err(Errno::EINVAL) };
            let text = bpfemu_kernel::show::map_dump(&r.k, mi.id)?;
            for l in text.lines() {
                r.note(format!("| {l}"));
            }
            ok(vec![])
        })(),
        _ => return None,
    })
}

fn attach_detach(r: &mut Runner, p: &Planned, prog: i32, attach_type: u32, target_fd: i32) -> Outcome {
    if p.spec.name == "attach" {
        let replace_bpf_fd = match p.text("replace") {
            Some(n) => r.fd(n)?,
            None => 0,
        };
        r.k.bpf(BpfAttr::ProgAttach {
            target_fd,
            attach_bpf_fd: prog,
            attach_type,
            attach_flags: p.int("flags").unwrap_or(0) as u32,
            replace_bpf_fd,
        })?;
    } else {
        r.k.bpf(BpfAttr::ProgDetach { target_fd, attach_bpf_fd: prog, attach_type })?;
    }
    ok(vec![])
}

fn obj_info(r: &mut Runner, fd: i32) -> Result<Option<ObjInfo>, Errno> {
    let mut info = None;
    r.k.bpf(BpfAttr::ObjGetInfoByFd { bpf_fd: fd, info: &mut info })?;
    Ok(info)
}

fn key_size(r: &mut Runner, fd: i32) -> Result<usize, Errno> {
    match obj_info(r, fd)? {
        Some(ObjInfo::Map(m)) => Ok(m.key_size as usize),
        _ => Err(Errno::EINVAL),
    }
}

/// The value size user space passes (per-CPU maps: one value per CPU, each rounded to 8).
fn value_size(r: &mut Runner, fd: i32) -> Result<usize, Errno> {
    match obj_info(r, fd)? {
        Some(ObjInfo::Map(m)) => {
            let percpu = matches!(m.map_type, 5 | 6 | 10 | 21);
            Ok(if percpu {
                (m.value_size as usize).div_ceil(8) * 8 * r.k.sim.nr_cpus() as usize
            } else {
                m.value_size as usize
            })
        }
        _ => Err(Errno::EINVAL),
    }
}

fn map_elem(r: &mut Runner, p: &Planned) -> Outcome {
    let fd = r.fd(p.name(0))?;
    let key = r.resolve(p.bytes("key").unwrap_or(&Default::default()))?;
    let flags = p.int("flags").unwrap_or(0) as u64;
    match p.spec.name {
        "update" => {
            let value = r.resolve(p.bytes("value").unwrap_or(&Default::default()))?;
            r.k.bpf(BpfAttr::MapUpdateElem { map_fd: fd, key: &key, value: &value, flags })?;
            ok(vec![])
        }
        "delete" => {
            r.k.bpf(BpfAttr::MapDeleteElem { map_fd: fd, key: &key, flags: 0 })?;
            ok(vec![])
        }
        name => {
            let mut v = vec![0u8; value_size(r, fd)?];
            if let Some(b) = p.bytes("value") {
                let given = r.resolve(b)?;
                let n = given.len().min(v.len());
                v[..n].copy_from_slice(&given[..n]);
            }
            if name == "lookup" {
                r.k.bpf(BpfAttr::MapLookupElem { map_fd: fd, key: &key, value: &mut v, flags })?;
            } else {
                r.k.bpf(BpfAttr::MapLookupAndDeleteElem { map_fd: fd, key: &key, value: &mut v, flags })?;
            }
            ok(vec![("value", Val::Bytes(v))])
        }
    }
}

fn run_prog(r: &mut Runner, p: &Planned) -> Outcome {
    let fd = r.fd(p.name(0))?;
    let ctx = p.bytes("ctx").map(|b| r.resolve(b)).transpose()?.unwrap_or_default();
    let data = p.bytes("data").map(|b| r.resolve(b)).transpose()?.unwrap_or_default();
    let want_ctx = p.kv.contains_key("ctx_out")
        || p.expect.as_ref().is_some_and(|alts| {
            alts.iter().any(|a| matches!(a, Alt::Fields(f) if f.iter().any(|(k, _)| k == "ctx")))
        });
    let ctx_len = p.int("ctx_out").map_or(ctx.len(), |n| n as usize);
    let mut ctx_out = vec![0u8; ctx_len];
    let want_data = p.kv.contains_key("data_out")
        || p.expect.as_ref().is_some_and(|alts| {
            alts.iter().any(|a| matches!(a, Alt::Fields(f) if f.iter().any(|(k, _)| k == "data")))
        });
    let data_len = p.int("data_out").map_or(data.len(), |n| n as usize);
    let mut data_out = vec![0u8; data_len];
    let mut out = TestRunOut::default();
    let attr = TestRunAttr {
        prog_fd: fd,
        data_in: &data,
        data_out: if want_data && data_len > 0 { Some(&mut data_out) } else { None },
        ctx_in: &ctx,
        ctx_out: if want_ctx && ctx_len > 0 { Some(&mut ctx_out) } else { None },
        repeat: p.int("repeat").unwrap_or(0) as u32,
        flags: p.int("flags").unwrap_or(0) as u32,
        cpu: p.int("cpu").unwrap_or(0) as u32,
        out: Some(&mut out),
        ..Default::default()
    };
    r.k.bpf(BpfAttr::ProgTestRun(attr))?;
    let mut f = vec![("r0", int(out.retval as i32))];
    // The virtual duration is shown only when the expectation asks for it.
    if p.expect.as_ref().is_some_and(|alts| {
        alts.iter().any(|a| matches!(a, Alt::Fields(f) if f.iter().any(|(k, _)| k == "duration")))
    }) {
        f.push(("duration", int(out.duration)));
    }
    if want_ctx && ctx_len > 0 {
        f.push(("ctx", Val::Bytes(ctx_out)));
    }
    if want_data && data_len > 0 {
        data_out.truncate(out.data_size_out as usize);
        f.push(("data", Val::Bytes(data_out)));
    }
    ok(f)
}

/// Whether an expectation of `p` names field `k`.
fn expects_field(p: &Planned, k: &str) -> bool {
    p.expect.as_ref().is_some_and(|alts| {
        alts.iter().any(|a| matches!(a, Alt::Fields(f) if f.iter().any(|(name, _)| name == k)))
    })
}

/// A `run` a `concurrent` block can interleave with its other branches:
/// a syscall program with at most `ctx=` and `ctx_out=`
/// ([`Kernel::test_run_detach`](bpfemu_kernel::Kernel::test_run_detach)).
/// `None`: run it whole with [`exec`].
pub fn run_detach(r: &mut Runner, p: &Planned) -> Option<Result<DetachedRun, Errno>> {
    if p.spec.name != "run" || p.kv.keys().any(|k| !matches!(*k, "ctx" | "ctx_out")) {
        return None;
    }
    let fd = match r.fd(p.name(0)) {
        Ok(fd) => fd,
        Err(e) => return Some(Err(e)),
    };
    let ctx = match p.bytes("ctx").map(|b| r.resolve(b)).transpose() {
        Ok(c) => c.unwrap_or_default(),
        Err(e) => return Some(Err(e)),
    };
    match r.k.test_run_detach(fd, &ctx) {
        Err(Errno::EOPNOTSUPP) => None,
        other => Some(other),
    }
}

/// The outcome of a `run` taken apart by [`run_detach`], once it returned:
/// the fields `run` reports.
pub fn run_reattach(r: &mut Runner, p: &Planned, done: DetachedDone) -> Outcome {
    let out = r.k.test_run_reattach(done)?;
    let mut f = vec![("r0", int(out.retval as i32))];
    if expects_field(p, "duration") {
        f.push(("duration", int(out.duration)));
    }
    let ctx_len = p.int("ctx_out").map_or(out.ctx.len(), |n| n as usize);
    if (p.kv.contains_key("ctx_out") || expects_field(p, "ctx")) && ctx_len > 0 {
        // As BPF_PROG_TEST_RUN: ENOSPC when ctx_out is shorter than the ctx.
        let mut ctx = out.ctx;
        if ctx.len() > ctx_len {
            return Err(Errno::ENOSPC);
        }
        ctx.resize(ctx_len, 0);
        f.push(("ctx", Val::Bytes(ctx)));
    }
    ok(f)
}

fn info(r: &mut Runner, p: &Planned) -> Outcome {
    let fd = r.fd(p.name(0))?;
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    match obj_info(r, fd)? {
        Some(ObjInfo::Map(m)) => ok(vec![
            (
                "type",
                Val::Text(
                    bpfemu_kernel::uapi::MapType::from_raw(m.map_type)
                        .map_or("?".into(), |t| t.name().into()),
                ),
            ),
            ("id", int(m.id)),
            ("name", Val::Text(m.name)),
            ("key", int(m.key_size)),
            ("value", int(m.value_size)),
            ("max", int(m.max_entries)),
            ("flags", int(m.map_flags)),
            ("frozen", int(u8::from(m.frozen))),
        ]),
        Some(ObjInfo::Prog(pi)) => ok(vec![
            (
                "type",
                Val::Text(
                    bpfemu_kernel::uapi::ProgType::from_raw(pi.prog_type)
                        .map_or("?".into(), |t| t.name().into()),
                ),
            ),
            ("id", int(pi.id)),
            ("name", Val::Text(pi.name)),
            ("tag", Val::Text(hex(&pi.tag))),
            ("run_cnt", int(pi.run_cnt)),
            ("map_ids", Val::Text(pi.map_ids.iter().map(u32::to_string).collect::<Vec<_>>().join(","))),
        ]),
        Some(ObjInfo::Link(l)) => {
            let mut f = vec![("type", int(l.link_type)), ("id", int(l.id)), ("prog_id", int(l.prog_id))];
            if let bpfemu_kernel::bpf::link::LinkInfoExtra::Netns { netns_ino, attach_type } = l.extra {
                f.push(("netns_ino", int(netns_ino)));
                f.push(("attach_type", Val::Text(attach_type.name().into())));
            }
            match l.extra {
                bpfemu_kernel::bpf::link::LinkInfoExtra::RawTracepoint { tp_name } => {
                    f.push(("tp_name", Val::Text(tp_name)));
                }
                bpfemu_kernel::bpf::link::LinkInfoExtra::Iter { target_name } => {
                    f.push(("target_name", Val::Text(target_name)));
                }
                _ => {}
            }
            ok(f)
        }
        Some(ObjInfo::Btf(b)) => {
            ok(vec![("id", int(b.id)), ("name", Val::Text(b.name)), ("size", int(b.btf_size))])
        }
        None => Err(Errno::EINVAL),
    }
}

fn batch(r: &mut Runner, p: &Planned) -> Outcome {
    let fd = r.fd(p.name(0))?;
    let ks = key_size(r, fd)?;
    let vs = value_size(r, fd)?;
    let flags = p.int("flags").unwrap_or(0) as u64;
    match p.spec.name {
        "lookup_batch" | "lookup_and_delete_batch" => {
            let n = p.int("count").unwrap_or(0).clamp(0, 1 << 16) as usize;
            let inb = p.bytes("in").map(|b| r.resolve(b)).transpose()?;
            let mut out_b = vec![0u8; ks.max(4)];
            let mut keys = vec![0u8; n * ks];
            let mut values = vec![0u8; n * vs];
            let mut count = n as u32;
            let b = BatchAttr {
                map_fd: fd,
                in_batch: inb.as_deref(),
                out_batch: &mut out_b,
                keys: &mut keys,
                values: &mut values,
                count: &mut count,
                elem_flags: 0,
                flags: 0,
            };
            let res = if p.spec.name == "lookup_batch" {
                r.k.bpf(BpfAttr::MapLookupBatch(b))
            } else {
                r.k.bpf(BpfAttr::MapLookupAndDeleteBatch(b))
            };
            if let Err(e) = res
                && !(e == Errno::ENOENT && count > 0)
            {
                return Err(e);
            }
            let c = count as usize;
            keys.truncate(c * ks);
            values.truncate(c * vs);
            ok(vec![
                ("count", int(count)),
                ("keys", Val::Bytes(keys)),
                ("values", Val::Bytes(values)),
                ("out", Val::Bytes(out_b)),
            ])
        }
        name => {
            let mut keys = r.resolve(p.bytes("keys").unwrap_or(&Default::default()))?;
            let mut values = match p.bytes("values") {
                Some(b) => r.resolve(b)?,
                None => Vec::new(),
            };
            let mut count = keys.len().checked_div(ks).unwrap_or(0) as u32;
            let b = BatchAttr {
                map_fd: fd,
                in_batch: None,
                out_batch: &mut [],
                keys: &mut keys,
                values: &mut values,
                count: &mut count,
                elem_flags: flags,
                flags: 0,
            };
            if name == "update_batch" {
                r.k.bpf(BpfAttr::MapUpdateBatch(b))?;
            } else {
                r.k.bpf(BpfAttr::MapDeleteBatch(b))?;
            }
            ok(vec![("count", int(count))])
        }
    }
}

/// A `show` line with the engine-dependent part of `prog show` (`not
/// jited` on the interpreter, `jited NB` on the JIT) printed as `jited ?`,
/// so a scenario's output is the same under every engine.
fn engine_neutral(line: &str) -> std::borrow::Cow<'_, str> {
    if let Some(at) = line.find("  not jited  ") {
        return format!("{}  jited ?{}", &line[..at], &line[at + "  not jited".len()..]).into();
    }
    if let Some(at) = line.find("  jited ")
        && let Some(len) = line[at + 8..].find("B  ")
        && line[at + 8..at + 8 + len].bytes().all(|b| b.is_ascii_digit())
    {
        return format!("{}  jited ?{}", &line[..at], &line[at + 8 + len + 1..]).into();
    }
    line.into()
}

#[cfg(test)]
mod engine_neutral_tests {
    use super::engine_neutral;

    #[test]
    fn the_jited_clause_is_the_same_under_both_engines() {
        let want = "\txlated 16B  jited ?  memlock 4096B  map_ids 1";
        assert_eq!(engine_neutral("\txlated 16B  not jited  memlock 4096B  map_ids 1"), want);
        assert_eq!(engine_neutral("\txlated 16B  jited 123B  memlock 4096B  map_ids 1"), want);
        assert_eq!(engine_neutral("1: syscall  name jited  tag 00"), "1: syscall  name jited  tag 00");
    }
}
