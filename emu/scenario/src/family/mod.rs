//! Statement families and the plan step: each family (one file: `core` for
//! the bpf() commands, `sim` for time, CPUs, the seed and concurrency) lists
//! its statements as [`Spec`]s. Planning checks every statement against its
//! spec — known keys, required keys, value types, declared object names —
//! and turns it into a [`Planned`] statement the runner executes. A new
//! subsystem adds a file with its specs and an `exec` function, and one line
//! in [`FAMILIES`].

pub mod core;
pub mod netns;
pub mod object;
pub mod ringbuf;
pub mod sim;

use crate::error::{Diag, suggest};
use crate::parse::{Arg, Block, Stmt, Tok};
use crate::value::{Bytes, Part, parse_bytes, parse_duration, parse_int};
use bpfemu_kernel::Errno;
use bpfemu_kernel::uapi::{AttachType, MapType, ProgType};
use std::collections::BTreeMap;

/// Kinds of named objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ObjKind {
    Map,
    Prog,
    Link,
    Btf,
    /// A network namespace fd (`netns create` / `netns open`).
    Netns,
    /// Obtained with `get` / `fd_by_id`: kind known only at run time.
    Any,
}

impl ObjKind {
    pub fn word(self) -> &'static str {
        match self {
            ObjKind::Map => "map",
            ObjKind::Prog => "program",
            ObjKind::Link => "link",
            ObjKind::Btf => "BTF object",
            ObjKind::Netns => "network namespace",
            ObjKind::Any => "object",
        }
    }
}

/// What an argument must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A declared object name of this kind (`Any` accepts every kind).
    Name(ObjKind),
    /// A new object name, declared by this statement with this kind.
    NewName(ObjKind),
    Bytes,
    Int,
    Duration,
    /// A word or a `"string"`.
    Text,
    /// A bpffs path (`/sys/fs/bpf/...`).
    Path,
    MapType,
    ProgType,
    AttachType,
    /// `any`, `noexist`, `exist`, `lock` joined with `|`... or a number.
    UpdateFlags,
    /// `prog`, `map`, `link` or `btf`.
    IdKind,
    /// `yes` / `no`-like word for expectations (`missing`).
    Word,
}

/// A statement's shape.
#[derive(Debug)]
pub struct Spec {
    pub name: &'static str,
    /// Positional arguments, in order (all required).
    pub pos: &'static [(&'static str, Kind)],
    /// `key=value` arguments: (key, kind, required).
    pub keys: &'static [(&'static str, Kind, bool)],
    /// Fields the statement reports, which expectations may name.
    pub fields: &'static [(&'static str, Kind)],
    /// One line of usage for errors and docs.
    pub usage: &'static str,
}

/// A checked argument value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PVal {
    Name(String),
    Bytes(Bytes),
    Int(i128),
    Text(String),
    Map(MapType),
    Prog(ProgType),
    Attach(AttachType),
}

/// One alternative of an expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Alt {
    Ok,
    Errno(Errno),
    Fields(Vec<(String, PVal)>),
}

/// A statement after planning.
#[derive(Clone, Debug)]
pub struct Planned {
    pub stmt: Stmt,
    pub spec: &'static Spec,
    pub pos: Vec<PVal>,
    pub kv: BTreeMap<&'static str, PVal>,
    /// `None`: the statement must succeed (an error fails the scenario).
    pub expect: Option<Vec<Alt>>,
    /// Planned sub-blocks (`concurrent`'s branches, a branch's statements).
    pub children: Vec<Planned>,
}

impl Planned {
    pub fn name(&self, i: usize) -> &str {
        match self.pos.get(i) {
            Some(PVal::Name(n) | PVal::Text(n)) => n,
            _ => "",
        }
    }
    pub fn int(&self, key: &str) -> Option<i128> {
        match self.kv.get(key) {
            Some(PVal::Int(n)) => Some(*n),
            _ => None,
        }
    }
    pub fn text(&self, key: &str) -> Option<&str> {
        match self.kv.get(key) {
            Some(PVal::Text(s) | PVal::Name(s)) => Some(s),
            _ => None,
        }
    }
    pub fn bytes(&self, key: &str) -> Option<&Bytes> {
        match self.kv.get(key) {
            Some(PVal::Bytes(b)) => Some(b),
            _ => None,
        }
    }
}

/// One family of statements.
#[derive(Debug)]
pub struct Family {
    pub name: &'static str,
    pub specs: &'static [Spec],
}

/// Every family; the order is the order of `--help`-style listings.
pub static FAMILIES: &[&Family] = &[&core::FAMILY, &sim::FAMILY, &netns::FAMILY, &ringbuf::FAMILY];

/// Every statement name (for suggestions).
pub fn statement_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = FAMILIES.iter().flat_map(|f| f.specs.iter().map(|s| s.name)).collect();
    v.push("include");
    // Two-word heads (`netns create`): the head alone, for suggestions.
    v.push("netns");
    v
}

fn find_spec(name: &str) -> Option<&'static Spec> {
    FAMILIES.iter().flat_map(|f| f.specs.iter()).find(|s| s.name == name)
}

/// Names declared so far, while planning.
#[derive(Debug, Default)]
pub struct PlanCtx {
    pub names: BTreeMap<String, ObjKind>,
    /// Has a kernel operation been planned (after which `seed`/`cpus` are late)?
    pub started: bool,
    pub seed: Option<u64>,
    pub cpus: Option<u32>,
    /// Planning the branches of a `concurrent` block.
    pub in_concurrent: bool,
    /// Has a `prog` statement been planned (so `expect log` has a log)?
    pub seen_prog: bool,
}

/// Plans a whole scenario.
pub fn plan(stmts: &[Stmt]) -> Result<(Vec<Planned>, PlanCtx), Diag> {
    let mut cx = PlanCtx::default();
    let out = plan_list(stmts, &mut cx)?;
    Ok((out, cx))
}

pub(crate) fn plan_list(stmts: &[Stmt], cx: &mut PlanCtx) -> Result<Vec<Planned>, Diag> {
    stmts.iter().map(|s| plan_one(s, cx)).collect()
}

fn plan_one(stmt: &Stmt, cx: &mut PlanCtx) -> Result<Planned, Diag> {
    // Two-word statements: `expect map`, `expect trace`.
    let mut head = stmt.head.text.clone();
    let mut args: &[Arg] = &stmt.args;
    if head == "expect" {
        match args.first() {
            Some(Arg::Pos(t)) if !t.quoted => {
                head = format!("expect {}", t.text);
                args = &args[1..];
                if find_spec(&head).is_none() {
                    return Err(stmt.err(t.col, format!("unknown expectation `expect {}`", t.text)).help(
                        suggest(&head, statement_names().into_iter().filter(|n| n.starts_with("expect ")))
                            .or(Some("expectations: expect map, expect trace, expect log".into())),
                    ));
                }
            }
            _ => return Err(stmt.err(stmt.head.col + 7, "expected `map`, `trace` or `log` after `expect`")),
        }
    } else if let Some(actions) = netns::actions(&head) {
        // `netns create NS`, `packet ...`: a family's two-word statements.
        match args.first() {
            Some(Arg::Pos(t)) if !t.quoted && find_spec(&format!("{head} {}", t.text)).is_some() => {
                head = format!("{head} {}", t.text);
                args = &args[1..];
            }
            Some(Arg::Pos(t)) => {
                return Err(stmt.err(t.col, format!("unknown action `{head} {}`", t.text)).help(
                    suggest(&t.text, actions.iter().copied())
                        .or_else(|| Some(format!("actions: {}", actions.join(", ")))),
                ));
            }
            _ => {
                return Err(stmt
                    .err(stmt.head.col + head.len() + 1, format!("expected an action after `{head}`"))
                    .help(Some(format!("actions: {}", actions.join(", ")))));
            }
        }
    }
    let Some(spec) = find_spec(&head) else {
        return Err(crate::parse::unknown_statement(stmt, &statement_names()));
    };
    let mut p = Planned {
        stmt: stmt.clone(),
        spec,
        pos: Vec::new(),
        kv: BTreeMap::new(),
        expect: None,
        children: Vec::new(),
    };
    let mut pos_i = 0;
    let mut new_names = Vec::new();
    for a in args {
        match a {
            Arg::Pos(t) => {
                let Some(&(what, kind)) = spec.pos.get(pos_i) else {
                    return Err(stmt
                        .err(t.col, format!("unexpected `{}`", t.text))
                        .help(Some(format!("usage: {}", spec.usage))));
                };
                pos_i += 1;
                let v = check(stmt, t, kind, cx, what)?;
                if let (Kind::NewName(k), PVal::Name(n)) = (kind, &v) {
                    new_names.push((n.clone(), k));
                }
                p.pos.push(v);
            }
            Arg::Kv(k, v) => {
                let Some(&(key, kind, _)) = spec.keys.iter().find(|(n, _, _)| *n == k.text) else {
                    let keys: Vec<&str> = spec.keys.iter().map(|x| x.0).collect();
                    let help = suggest(&k.text, keys.iter().copied())
                        .unwrap_or_else(|| format!("usage: {}", spec.usage));
                    return Err(stmt
                        .err(k.col, format!("`{}` does not take `{}=`", head, k.text))
                        .help(Some(help)));
                };
                if p.kv.contains_key(key) {
                    return Err(stmt.err(k.col, format!("`{key}=` given twice")));
                }
                let v = check(stmt, v, kind, cx, key)?;
                p.kv.insert(key, v);
            }
        }
    }
    if let Some(&(what, _)) = spec.pos.get(pos_i) {
        let col = stmt.raw_line.trim_end().len() + 1;
        return Err(stmt.err(col, format!("missing {what}")).help(Some(format!("usage: {}", spec.usage))));
    }
    for &(key, _, required) in spec.keys {
        if required && !p.kv.contains_key(key) {
            // `prog ... object=` is checked by the family.
            if spec.name == "prog" && p.kv.contains_key("object") {
                continue;
            }
            let col = stmt.raw_line.split('#').next().unwrap_or("").trim_end().len() + 1;
            return Err(stmt
                .err(col, format!("missing `{key}=`"))
                .help(Some(format!("usage: {}", spec.usage))));
        }
    }
    if let Some((col, alts)) = &stmt.expect {
        let mut out = Vec::new();
        for alt in alts {
            out.push(plan_alt(stmt, spec, *col, alt, cx)?);
        }
        p.expect = Some(out);
    }
    match spec.name {
        "seed" | "cpus" => {
            if cx.started {
                return Err(stmt
                    .err(
                        stmt.head.col,
                        format!("`{}` must come before the first kernel operation", spec.name),
                    )
                    .help(Some("the kernel is built with its seed and CPU count at the start".into())));
            }
        }
        "concurrent" | "branch" => {}
        _ => cx.started = true,
    }
    core::plan_extra(&mut p, cx)?;
    sim::plan_extra(&mut p, cx)?;
    netns::plan_extra(&mut p, cx)?;
    if let Some(Block::Stmts(_)) = &stmt.block
        && spec.name != "concurrent"
        && spec.name != "branch"
    {
        return Err(stmt.err(stmt.head.col, format!("`{}` does not take a block", spec.name)));
    }
    for (n, k) in new_names {
        cx.names.insert(n, k);
    }
    Ok(p)
}

fn plan_alt(stmt: &Stmt, spec: &Spec, col: usize, alt: &[Arg], cx: &mut PlanCtx) -> Result<Alt, Diag> {
    if let [Arg::Pos(t)] = alt
        && !t.quoted
    {
        if t.text == "ok" {
            return Ok(Alt::Ok);
        }
        if t.text.starts_with('E') && t.text.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
            return match Errno::from_name(&t.text) {
                Some(e) => Ok(Alt::Errno(e)),
                None => Err(stmt
                    .err(t.col, format!("unknown errno `{}`", t.text))
                    .help(suggest(&t.text, Errno::ALL.iter().map(|e| e.name())))),
            };
        }
    }
    let mut fields = Vec::new();
    for a in alt {
        match a {
            Arg::Kv(k, v) => {
                let Some(&(name, kind)) = spec.fields.iter().find(|f| f.0 == k.text) else {
                    let names: Vec<&str> = spec.fields.iter().map(|f| f.0).collect();
                    let help = suggest(&k.text, names.iter().copied()).or_else(|| {
                        Some(if names.is_empty() {
                            format!("`{}` reports no fields: expect `ok` or an errno", spec.name)
                        } else {
                            format!("`{}` reports: {}", spec.name, names.join(", "))
                        })
                    });
                    return Err(stmt
                        .err(k.col, format!("`{}` does not report `{}`", spec.name, k.text))
                        .help(help));
                };
                let v = if name == "r0" { r0_value(stmt, v)? } else { check(stmt, v, kind, cx, name)? };
                fields.push((name.to_string(), v));
            }
            Arg::Pos(t) => {
                return Err(stmt.err(t.col, format!("unexpected `{}` in the expectation", t.text)).help(Some(
                    "expected `ok`, an errno name such as `ENOENT`, or fields such as `value=u64:1`; alternatives are separated by `|`".into(),
                )));
            }
        }
    }
    let _ = col;
    Ok(Alt::Fields(fields))
}

fn r0_value(stmt: &Stmt, t: &Tok) -> Result<PVal, Diag> {
    if let Some(name) = t.text.strip_prefix("-E") {
        let name = format!("E{name}");
        return match Errno::from_name(&name) {
            Some(e) => Ok(PVal::Int(-i128::from(e.raw()))),
            None => Err(stmt
                .err(t.col + 1, format!("unknown errno `{name}`"))
                .help(suggest(&name, Errno::ALL.iter().map(|e| e.name())))),
        };
    }
    parse_int(&t.text).map(PVal::Int).map_err(|m| stmt.err(t.col, m))
}

fn check(stmt: &Stmt, t: &Tok, kind: Kind, cx: &PlanCtx, what: &str) -> Result<PVal, Diag> {
    let e = |col: usize, m: String| stmt.err(col, m);
    let word = |t: &Tok| -> Result<(), Diag> {
        if t.quoted { Err(e(t.col, format!("{what}: expected a word, found a string"))) } else { Ok(()) }
    };
    Ok(match kind {
        Kind::Name(k) => {
            word(t)?;
            match cx.names.get(&t.text) {
                Some(have) if k == ObjKind::Any || *have == k || *have == ObjKind::Any => {
                    PVal::Name(t.text.clone())
                }
                Some(have) => {
                    return Err(e(
                        t.col,
                        format!("`{}` is a {}, expected a {}", t.text, have.word(), k.word()),
                    ));
                }
                None => {
                    let cands: Vec<&str> = cx
                        .names
                        .iter()
                        .filter(|(_, h)| k == ObjKind::Any || **h == k || **h == ObjKind::Any)
                        .map(|(n, _)| n.as_str())
                        .collect();
                    return Err(e(t.col, format!("no {} named `{}`", k.word(), t.text)).help(
                        suggest(&t.text, cands.iter().copied()).or_else(|| {
                            Some(format!(
                                "declare it first (e.g. `{}`)",
                                match k {
                                    ObjKind::Prog => "prog P type=syscall { ... }",
                                    ObjKind::Link => "link L prog=P attach=...",
                                    ObjKind::Netns => "netns create NS",
                                    _ => "map M type=hash key=4 value=8 max=16",
                                }
                            ))
                        }),
                    ));
                }
            }
        }
        Kind::NewName(_) => {
            word(t)?;
            let ok = t.text.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && t.text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return Err(e(
                    t.col,
                    format!("`{}` is not a valid object name (letters, digits, `_`)", t.text),
                ));
            }
            if let Some(k) = cx.names.get(&t.text) {
                return Err(e(t.col, format!("`{}` already names a {}", t.text, k.word()))
                    .help(Some(format!("`close {}` first or choose another name", t.text))));
            }
            PVal::Name(t.text.clone())
        }
        Kind::Bytes => {
            let b = parse_bytes(t).map_err(|(c, m)| e(c, m))?;
            for p in &b.0 {
                if let Part::Fd(n, col) = p
                    && !cx.names.contains_key(n)
                {
                    return Err(e(*col, format!("no object named `{n}`"))
                        .help(suggest(n, cx.names.keys().map(String::as_str))));
                }
            }
            PVal::Bytes(b)
        }
        Kind::Int => {
            word(t)?;
            PVal::Int(parse_int(&t.text).map_err(|m| e(t.col, format!("{what}: {m}")))?)
        }
        Kind::Duration => {
            word(t)?;
            PVal::Int(i128::from(parse_duration(&t.text).map_err(|m| e(t.col, m))?))
        }
        Kind::Text | Kind::Word => PVal::Text(t.text.clone()),
        Kind::Path => {
            if !t.text.starts_with('/') {
                return Err(e(t.col, format!("`{}`: expected an absolute path under /sys/fs/bpf", t.text)));
            }
            PVal::Text(t.text.clone())
        }
        Kind::MapType => {
            word(t)?;
            match MapType::ALL.iter().find(|m| m.name() == t.text) {
                Some(m) => PVal::Map(*m),
                None => {
                    return Err(e(t.col, format!("unknown map type `{}`", t.text))
                        .help(suggest(&t.text, MapType::ALL.iter().map(|m| m.name()))));
                }
            }
        }
        Kind::ProgType => {
            word(t)?;
            match ProgType::ALL.iter().find(|m| m.name() == t.text) {
                Some(m) => PVal::Prog(*m),
                None => {
                    return Err(e(t.col, format!("unknown program type `{}`", t.text))
                        .help(suggest(&t.text, ProgType::ALL.iter().map(|m| m.name()))));
                }
            }
        }
        Kind::AttachType => {
            word(t)?;
            match AttachType::ALL.iter().find(|m| m.name() == t.text) {
                Some(m) => PVal::Attach(*m),
                None => {
                    return Err(e(t.col, format!("unknown attach type `{}`", t.text))
                        .help(suggest(&t.text, AttachType::ALL.iter().map(|m| m.name()))));
                }
            }
        }
        Kind::UpdateFlags => {
            word(t)?;
            let mut v: i128 = 0;
            for f in t.text.split('+') {
                v |= match f {
                    "any" => 0,
                    "noexist" => 1,
                    "exist" => 2,
                    "lock" => 4,
                    other => parse_int(other).map_err(|_| {
                        e(t.col, format!("unknown update flag `{other}`")).help(
                            suggest(other, ["any", "noexist", "exist", "lock"]).or(Some(
                                "flags: any, noexist, exist, lock (join with +) or a number".into(),
                            )),
                        )
                    })?,
                };
            }
            PVal::Int(v)
        }
        Kind::IdKind => {
            word(t)?;
            const K: [&str; 4] = ["prog", "map", "link", "btf"];
            if !K.contains(&t.text.as_str()) {
                return Err(e(t.col, format!("unknown object kind `{}`", t.text))
                    .help(suggest(&t.text, K).or(Some("expected prog, map, link or btf".into()))));
            }
            PVal::Text(t.text.clone())
        }
    })
}
