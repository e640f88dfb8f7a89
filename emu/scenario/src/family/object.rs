//! `prog NAME object=FILE [program=P | section=S] [load=all|one]`: a
//! program from a BPF ELF object, opened and loaded by the emulated
//! libbpf (`bpfemu_user::Object`), as an application would with
//! `bpf_object__open_file()` + `bpf_object__load()`.
//!
//! - NAME is the selected program: `program=P` (function name), or the
//!   only program of `section=S`, or the object's only program;
//! - every program loaded is also named `NAME.<function>`, and every map
//!   of the object `NAME.<map>` (global data: `NAME.rodata`, `NAME.data`,
//!   `NAME.bss`, `NAME.data.custom`, `NAME.kconfig`), usable wherever a
//!   program or map name is (`lookup NAME.counts key=...`);
//! - `load=all` (default) loads every program of the object, as libbpf
//!   does; `load=one` only the selected one;
//! - `type=` and `attach=` are optional: given, the type must be the one
//!   the section gives, and `attach=` overrides the expected attach type;
//! - FILE is resolved relative to the scenario file's directory, then to
//!   each of its ancestors in turn (so `guest-progs/x.bpf.o` works from
//!   anywhere inside the project tree); an absolute path is used as is.
//!
//! Each statement opens and loads the object anew: two `prog ...
//! object=` statements on one file create separate maps.

use super::{ObjKind, PVal, PlanCtx, Planned};
use crate::error::{Diag, suggest};
use crate::run::{Outcome, Runner};
use bpfemu_kernel::Errno;
use bpfemu_user::Object;
use std::path::{Path, PathBuf};

/// The name the scenario gives a map of the object (`.rodata` →
/// `rodata`).
pub fn map_suffix(map_name: &str) -> &str {
    map_name.strip_prefix('.').unwrap_or(map_name)
}

/// Resolves FILE as documented above.
pub fn resolve(scenario_file: &str, file: &str) -> Option<PathBuf> {
    let p = Path::new(file);
    if p.is_absolute() {
        return p.exists().then(|| p.to_path_buf());
    }
    let base = Path::new(scenario_file).parent().unwrap_or(Path::new(""));
    let mut dir = Some(base);
    while let Some(d) = dir {
        let cand = d.join(p);
        if cand.is_file() {
            return Some(cand);
        }
        dir = d.parent();
    }
    // A relative scenario path: try the current directory too.
    let cand = Path::new(".").join(p);
    cand.is_file().then_some(cand)
}

/// Picks the selected program's name, or says why it cannot.
fn select(obj: &Object, program: Option<&str>, section: Option<&str>) -> Result<String, String> {
    let names = |it: &mut dyn Iterator<Item = &bpfemu_user::Program>| -> Vec<String> {
        it.map(|p| p.name().to_owned()).collect()
    };
    if let Some(p) = program {
        return match obj.program(p) {
            Some(_) => Ok(p.to_owned()),
            None => Err(format!("no program `{p}` in the object")),
        };
    }
    let cands = match section {
        Some(s) => names(&mut obj.programs_in_section(s)),
        None => names(&mut obj.programs()),
    };
    match cands.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(match section {
            Some(s) => format!("no program in section `{s}`"),
            None => "the object has no program".into(),
        }),
        many => {
            Err(format!("{} programs match ({}); choose one with `program=`", many.len(), many.join(", ")))
        }
    }
}

/// Planning: the object must open and the selection must exist; its
/// programs and maps get their `NAME.x` names.
pub(super) fn plan(p: &Planned, cx: &mut PlanCtx, file: &str) -> Result<(), Diag> {
    let s = &p.stmt;
    let col = s.raw_line.find("object=").map_or(1, |i| i + 8);
    let path = resolve(&s.loc.file, file).ok_or_else(|| {
        s.err(
            col,
            format!("no object file `{file}` (looked next to the scenario and in its parent directories)"),
        )
    })?;
    let obj = Object::open(&path).map_err(|e| s.err(col, format!("cannot open `{file}`: {e}")))?;
    let sel = select(&obj, p.text("program"), p.text("section")).map_err(|m| {
        let key = if p.text("program").is_some() {
            "program="
        } else if p.text("section").is_some() {
            "section="
        } else {
            "object="
        };
        let c = s.raw_line.find(key).map_or(col, |i| i + key.len() + 1);
        let progs: Vec<String> = obj.programs().map(|p| p.name().to_owned()).collect();
        s.err(c, m).help(suggest(p.text("program").unwrap_or(""), progs.iter().map(String::as_str)))
    })?;
    if let Some(PVal::Prog(t)) = p.kv.get("type") {
        let have = obj.program(&sel).map_or(0, |p| p.prog_type());
        if t.raw() != have {
            let c = s.raw_line.find("type=").map_or(1, |i| i + 6);
            return Err(s.err(
                c,
                format!("`{sel}` is a {} program (its section says so), not {}", type_name(have), t.name()),
            ));
        }
    }
    if let Some(PVal::Text(l)) = p.kv.get("load")
        && l != "all"
        && l != "one"
    {
        let c = s.raw_line.find("load=").map_or(1, |i| i + 6);
        return Err(s.err(c, format!("`load={l}`: expected `all` or `one`")));
    }
    let name = p.name(0);
    let one = p.text("load") == Some("one");
    for prog in obj.programs() {
        if !one || prog.name() == sel {
            cx.names.insert(format!("{name}.{}", prog.name()), ObjKind::Prog);
        }
    }
    for m in obj.maps() {
        cx.names.insert(format!("{name}.{}", map_suffix(m.name())), ObjKind::Map);
    }
    cx.seen_prog = true;
    Ok(())
}

fn type_name(t: u32) -> String {
    bpfemu_kernel::uapi::ProgType::from_raw(t).map_or_else(|| t.to_string(), |p| p.name().to_owned())
}

/// Running: open, load, bind the names.
pub(super) fn run(r: &mut Runner, p: &Planned, file: &str) -> Outcome {
    let path = resolve(&p.stmt.loc.file, file).ok_or(Errno::ENOENT)?;
    let mut obj = Object::open(&path).map_err(|_| Errno::EINVAL)?;
    let sel = select(&obj, p.text("program"), p.text("section")).map_err(|_| Errno::ENOENT)?;
    let one = p.text("load") == Some("one");
    let level = p.int("log_level").unwrap_or(1) as u32;
    let attach = match p.kv.get("attach") {
        Some(PVal::Attach(a)) => Some(a.raw()),
        _ => None,
    };
    for prog in obj.all_programs_mut() {
        if prog.is_subprog() {
            continue;
        }
        let selected = prog.name() == sel;
        prog.set_autoload(!one || selected);
        prog.set_log_level(if selected { level } else { 0 });
        if selected && let Some(a) = attach {
            prog.set_expected_attach_type(a);
        }
    }
    let res = obj.load(&mut r.k);
    let log = obj.program(&sel).map(|p| p.log().to_owned()).unwrap_or_default();
    r.prog_log = Some((p.name(0).to_string(), log.clone()));
    if let Err(e) = res {
        match &e {
            bpfemu_user::Error::ProgLoad { prog, log, .. } => {
                if prog != &sel {
                    r.note(format!("program `{prog}` of the object failed to load"));
                }
                r.log_tail(log);
            }
            other => r.note(format!("loader: {other}")),
        }
        return Err(e.errno().unwrap_or(Errno::EINVAL));
    }
    let name = p.name(0).to_string();
    for prog in obj.programs() {
        if let Some(fd) = prog.fd() {
            r.objs.insert(format!("{name}.{}", prog.name()), fd);
        }
    }
    for m in obj.maps() {
        if let Some(fd) = m.fd() {
            r.objs.insert(format!("{name}.{}", map_suffix(m.name())), fd);
        }
    }
    let fd = obj.program(&sel).and_then(|p| p.fd()).ok_or(Errno::ENOENT)?;
    r.bind(&name, Ok(i64::from(fd)))
}
