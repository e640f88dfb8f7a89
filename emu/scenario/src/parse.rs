//! Parsing: text → generic statements ([`Stmt`]). A statement is one line:
//! a head word, positional arguments, `key=value` arguments, an optional
//! expectation after `=>`, and an optional `{ ... }` block (assembly for
//! `prog`, statements for `concurrent` / `branch`). `include "file"` is
//! expanded here. What the words mean is decided by the statement families
//! (`family/`), in the plan step.

use crate::error::{Diag, Loc, suggest};
use std::path::{Path, PathBuf};

/// One lexical token of a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tok {
    pub text: String,
    /// 1-based column.
    pub col: usize,
    /// Was a `"quoted string"`.
    pub quoted: bool,
}

/// One argument: positional or `key=value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    Pos(Tok),
    Kv(Tok, Tok),
}

impl Arg {
    pub fn col(&self) -> usize {
        match self {
            Arg::Pos(t) | Arg::Kv(t, _) => t.col,
        }
    }
}

/// The block a statement carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// Raw lines (assembly), with the 1-based file line of the first.
    Raw {
        first_line: usize,
        text: String,
    },
    Stmts(Vec<Stmt>),
}

/// One statement, not yet interpreted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stmt {
    pub loc: Loc,
    /// The line as written (trimmed), for traces and diagnostics.
    pub src: String,
    /// The raw line, for carets in diagnostics.
    pub raw_line: String,
    pub head: Tok,
    pub args: Vec<Arg>,
    pub block: Option<Block>,
    /// Alternatives after `=>`, split on `|`; each one a list of arguments.
    pub expect: Option<(usize, Vec<Vec<Arg>>)>,
}

impl Stmt {
    /// A location in this statement's line.
    pub fn at(&self, col: usize) -> Loc {
        Loc { col, ..self.loc.clone() }
    }

    /// A diagnostic at `col` with this statement's source line.
    pub fn err(&self, col: usize, msg: impl Into<String>) -> Diag {
        let mut d = Diag::new(self.at(col), msg);
        d.source = self.raw_line.clone();
        d
    }
}

/// Statements whose block is raw text rather than statements.
const RAW_BLOCKS: &[&str] = &["prog"];
/// Statements that take a block of statements.
const STMT_BLOCKS: &[&str] = &["concurrent", "branch"];

/// A source being parsed (a file or an included file).
struct Src<'a> {
    name: String,
    dir: PathBuf,
    lines: Vec<&'a str>,
    pos: usize,
}

/// Reads a file from disk; the parser asks this for `include`.
pub trait Loader {
    fn load(&self, path: &Path) -> Result<String, String>;
}

/// The real file system.
#[derive(Debug, Clone, Copy)]
pub struct FsLoader;

impl Loader for FsLoader {
    fn load(&self, path: &Path) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    }
}

/// Parses scenario text named `name` (includes resolve relative to its directory).
pub fn parse(name: &str, text: &str, loader: &dyn Loader) -> Result<Vec<Stmt>, Diag> {
    let dir = Path::new(name).parent().map(Path::to_path_buf).unwrap_or_default();
    let mut stack = vec![PathBuf::from(name)];
    parse_src(name, dir, text, loader, &mut stack)
}

fn parse_src(
    name: &str,
    dir: PathBuf,
    text: &str,
    loader: &dyn Loader,
    stack: &mut Vec<PathBuf>,
) -> Result<Vec<Stmt>, Diag> {
    let mut src = Src { name: display_name(name), dir, lines: text.lines().collect(), pos: 0 };
    let (stmts, closer) = parse_block(&mut src, loader, stack, None)?;
    debug_assert!(closer.is_none());
    Ok(stmts)
}

fn display_name(name: &str) -> String {
    name.strip_prefix("./").unwrap_or(name).to_string()
}

/// Parses statements until end of input (`open` = None) or a `}` line
/// closing the block opened at `open`.
fn parse_block(
    src: &mut Src<'_>,
    loader: &dyn Loader,
    stack: &mut Vec<PathBuf>,
    open: Option<&Stmt>,
) -> Result<(Vec<Stmt>, Option<Stmt>), Diag> {
    let mut out = Vec::new();
    while src.pos < src.lines.len() {
        let lineno = src.pos + 1;
        let raw = src.lines[src.pos];
        src.pos += 1;
        let loc = Loc { file: src.name.clone(), line: lineno, col: 1 };
        let toks = lex(raw, &loc)?;
        if toks.is_empty() {
            continue;
        }
        let stmt = split(raw, loc, toks)?;
        if stmt.head.text == "}" {
            if open.is_some() {
                return Ok((out, Some(stmt)));
            }
            return Err(stmt.err(stmt.head.col, "`}` without an open block"));
        }
        if stmt.head.text == "include" {
            out.extend(include(src, loader, stack, &stmt)?);
            continue;
        }
        let opens = matches!(stmt.args.last(), Some(Arg::Pos(t)) if t.text == "{" && !t.quoted);
        let mut stmt = stmt;
        if opens {
            stmt.args.pop();
            let head = stmt.head.text.clone();
            if RAW_BLOCKS.contains(&head.as_str()) {
                let first_line = src.pos + 1;
                let mut text = String::new();
                let mut closed = false;
                while src.pos < src.lines.len() {
                    let l = src.lines[src.pos];
                    src.pos += 1;
                    let t = l.trim();
                    if t == "}" || t.starts_with("} ") || t.starts_with("}=") {
                        let loc = Loc { file: src.name.clone(), line: src.pos, col: 1 };
                        let close = split(l, loc.clone(), lex(l, &loc)?)?;
                        merge_close(&mut stmt, close)?;
                        closed = true;
                        break;
                    }
                    text.push_str(l);
                    text.push('\n');
                }
                if !closed {
                    return Err(stmt
                        .err(stmt.raw_line.len() + 1, "assembly block is not closed: expected a line `}`"));
                }
                stmt.block = Some(Block::Raw { first_line, text });
            } else if STMT_BLOCKS.contains(&head.as_str()) {
                let (body, close) = parse_block(src, loader, stack, Some(&stmt))?;
                let Some(close) = close else {
                    return Err(stmt.err(stmt.raw_line.len(), "block is not closed: expected a line `}`"));
                };
                merge_close(&mut stmt, close)?;
                stmt.block = Some(Block::Stmts(body));
            } else {
                return Err(stmt
                    .err(
                        stmt.raw_line.rfind('{').map_or(1, |i| i + 1),
                        format!("`{head}` does not take a block"),
                    )
                    .help(Some("blocks follow `prog` (assembly), `concurrent` and `branch`".into())));
            }
        }
        out.push(stmt);
    }
    if let Some(open) = open {
        return Err(open
            .err(open.head.col, format!("`{}` block is not closed: expected a line `}}`", open.head.text)));
    }
    Ok((out, None))
}

/// The closing `}` line may carry the block statement's expectation.
fn merge_close(stmt: &mut Stmt, close: Stmt) -> Result<(), Diag> {
    if let Some(a) = close.args.first() {
        return Err(close.err(a.col(), "unexpected text after `}`: expected `=> EXPECTATION` or nothing"));
    }
    if let Some(e) = close.expect.clone() {
        if stmt.expect.is_some() {
            return Err(close.err(e.0, "the statement already has an expectation on its first line"));
        }
        stmt.expect = Some(e);
    }
    Ok(())
}

fn include(
    src: &Src<'_>,
    loader: &dyn Loader,
    stack: &mut Vec<PathBuf>,
    stmt: &Stmt,
) -> Result<Vec<Stmt>, Diag> {
    let [Arg::Pos(path)] = stmt.args.as_slice() else {
        return Err(stmt.err(stmt.head.col + 8, "expected one file name: include \"common/setup.scn\""));
    };
    if stmt.expect.is_some() {
        return Err(stmt.err(stmt.expect.as_ref().map_or(1, |e| e.0), "`include` takes no expectation"));
    }
    let full = src.dir.join(&path.text);
    if stack.contains(&full) {
        return Err(stmt.err(path.col, format!("`{}` includes itself (include cycle)", path.text)));
    }
    let text = loader
        .load(&full)
        .map_err(|e| stmt.err(path.col, format!("cannot read `{}`: {e}", full.display())))?;
    stack.push(full.clone());
    let dir = full.parent().map(Path::to_path_buf).unwrap_or_default();
    let r = parse_src(&full.to_string_lossy(), dir, &text, loader, stack);
    stack.pop();
    r
}

/// Splits a statement line into head, arguments and expectation.
fn split(raw: &str, loc: Loc, toks: Vec<Tok>) -> Result<Stmt, Diag> {
    let mk_err = |col: usize, msg: String| {
        let mut d = Diag::new(Loc { col, ..loc.clone() }, msg);
        d.source = raw.to_string();
        d
    };
    let mut it = toks.into_iter();
    let head = it.next().expect("non-empty");
    if head.quoted {
        return Err(mk_err(head.col, "expected a statement name, found a string".into()));
    }
    let mut args = Vec::new();
    let mut expect: Option<(usize, Vec<Vec<Arg>>)> = None;
    for t in it {
        if !t.quoted && t.text == "=>" {
            if expect.is_some() {
                return Err(mk_err(t.col, "a second `=>`: one expectation per statement".into()));
            }
            expect = Some((t.col, vec![Vec::new()]));
            continue;
        }
        let arg = to_arg(t, &mk_err)?;
        match &mut expect {
            Some((_, alts)) => {
                if matches!(&arg, Arg::Pos(p) if p.text == "|" && !p.quoted) {
                    alts.push(Vec::new());
                } else if matches!(&arg, Arg::Pos(p) if p.text == "{" && !p.quoted) {
                    // `prog P ... => EINVAL {`: the block opener follows the expectation.
                    args.push(arg);
                } else {
                    alts.last_mut().expect("one").push(arg);
                }
            }
            None => args.push(arg),
        }
    }
    if let Some((col, alts)) = &expect
        && alts.iter().any(Vec::is_empty)
    {
        return Err(mk_err(*col, "empty expectation: expected `ok`, an errno name such as `ENOENT`, or fields such as `value=u64:1`".into()));
    }
    Ok(Stmt { loc, src: raw.trim().to_string(), raw_line: raw.to_string(), head, args, block: None, expect })
}

fn to_arg(t: Tok, mk_err: &dyn Fn(usize, String) -> Diag) -> Result<Arg, Diag> {
    if t.quoted {
        return Ok(Arg::Pos(t));
    }
    if let Some(i) = t.text.find('=') {
        let (k, v) = t.text.split_at(i);
        let v = &v[1..];
        if k.is_empty() {
            return Err(mk_err(t.col, format!("`{}`: expected `key=value`, the key is missing", t.text)));
        }
        let key = Tok { text: k.to_string(), col: t.col, quoted: false };
        let vcol = t.col + k.chars().count() + 1;
        if let Some(q) = v.strip_prefix('\u{1}') {
            // A quoted value (`name="x y"`), marked by the lexer.
            return Ok(Arg::Kv(key, Tok { text: q.to_string(), col: vcol, quoted: true }));
        }
        if v.is_empty() {
            return Err(mk_err(vcol, format!("`{k}=`: expected a value after `=`")));
        }
        return Ok(Arg::Kv(key, Tok { text: v.to_string(), col: vcol, quoted: false }));
    }
    Ok(Arg::Pos(t))
}

/// Splits a line into tokens: whitespace-separated words, `"strings"`
/// (with `\"`, `\\`, `\n`, `\t` escapes), `=>`, `|`, `{`, `}`; `#` starts a
/// comment outside strings.
pub fn lex(raw: &str, loc: &Loc) -> Result<Vec<Tok>, Diag> {
    let chars: Vec<char> = raw.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let err = |col: usize, msg: &str| {
        let mut d = Diag::new(Loc { col, ..loc.clone() }, msg);
        d.source = raw.to_string();
        d
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' {
            break;
        }
        let start = i;
        if c == '"' {
            let s = lex_string(&chars, &mut i).map_err(|(col, m)| err(col, &m))?;
            toks.push(Tok { text: s, col: start + 1, quoted: true });
            continue;
        }
        if c == '=' && chars.get(i + 1) == Some(&'>') {
            toks.push(Tok { text: "=>".into(), col: start + 1, quoted: false });
            i += 2;
            continue;
        }
        if matches!(c, '|' | '{' | '}') {
            toks.push(Tok { text: c.to_string(), col: start + 1, quoted: false });
            i += 1;
            continue;
        }
        let mut word = String::new();
        while i < chars.len() && !chars[i].is_whitespace() && !matches!(chars[i], '|' | '{' | '}' | '#') {
            if chars[i] == '=' && chars.get(i + 1) == Some(&'>') {
                break;
            }
            if chars[i] == '"' {
                if word.ends_with('=') {
                    let s = lex_string(&chars, &mut i).map_err(|(col, m)| err(col, &m))?;
                    word.push('\u{1}');
                    word.push_str(&s);
                    break;
                }
                return Err(err(
                    i + 1,
                    "unexpected `\"` inside a word: strings stand alone or follow `key=`",
                ));
            }
            word.push(chars[i]);
            i += 1;
        }
        toks.push(Tok { text: word, col: start + 1, quoted: false });
    }
    Ok(toks)
}

fn lex_string(chars: &[char], i: &mut usize) -> Result<String, (usize, String)> {
    let start = *i;
    *i += 1;
    let mut s = String::new();
    while *i < chars.len() {
        match chars[*i] {
            '"' => {
                *i += 1;
                return Ok(s);
            }
            '\\' => {
                let e = chars.get(*i + 1).copied();
                s.push(match e {
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('\\') => '\\',
                    Some('"') => '"',
                    Some(o) => {
                        return Err((
                            *i + 1,
                            format!("unknown escape `\\{o}`: expected \\n, \\t, \\\\ or \\\""),
                        ));
                    }
                    None => break,
                });
                *i += 2;
            }
            c => {
                s.push(c);
                *i += 1;
            }
        }
    }
    Err((start + 1, "unterminated string: expected a closing `\"`".into()))
}

/// Suggestion among statement names for an unknown head.
pub fn unknown_statement(stmt: &Stmt, names: &[&str]) -> Diag {
    stmt.err(stmt.head.col, format!("unknown statement `{}`", stmt.head.text)).help(
        suggest(&stmt.head.text, names.iter().copied())
            .or_else(|| Some(format!("statements: {}", names.join(", ")))),
    )
}
