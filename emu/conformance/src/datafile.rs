//! Parser for bpf_conformance `.data` test files.
//!
//! Upstream counterpart: `src/bpf_test_parser.cc` of Alan-Jowett/bpf_conformance;
//! the format is described in `/work/shared/conformance/README.md`.
//!
//! # Format
//! - `#` starts a comment that runs to the end of the line (the `-- asm`
//!   text is kept verbatim and the assembler drops comments; `-- c` and
//!   other notes are kept verbatim).
//! - Any line that contains `--` starts a section named by the rest of the
//!   line: `asm`, `raw`, `mem`, `result`, `error`, and the notes `c` and
//!   `no register offset`. Each may appear once (notes any number of times).
//! - `-- raw` replaces `-- asm` when both are present ([`TestCase::program`]).
//!   It comes in two forms, told apart by this rule: if every token is
//!   exactly two hex digits without a `0x` prefix, each token is ONE BYTE and
//!   every non-empty line must hold exactly eight of them, one slot (the
//!   `negative/unused-*.data` form); otherwise each token is one little-endian
//!   64-bit instruction word, `0x` hex or decimal (`tests/lddw.data`). So a
//!   word-form section whose every word is a two-digit decimal would be read
//!   as bytes; no real program looks like that.
//! - `-- mem`: hex bytes (one or two digits each) over any number of lines.
//! - `-- result`: one `0x` hex or decimal u64. `-- error`: free text.
//!
//! # Differences from upstream
//! Upstream matches section names by substring and silently ignores text
//! outside sections; here unknown sections (`negative/invalid_unknown_directive.data`,
//! which upstream skips with "Unknown directive"), duplicate sections, text
//! before the first section, and malformed numbers are [`ParseError`]s naming
//! `file:line`. Upstream keeps only the last line of `-- error`; here all its
//! non-empty lines are joined with `\n`.

use bpfemu_isa::Insn;
use bpfemu_isa::asm::ubpf;
use std::path::{Path, PathBuf};
use std::{fs, io};

/// The upstream runner's message for a file without instructions.
pub const NO_INSTRUCTIONS: &str = "Test file has no BPF instructions";

/// One parsed `.data` file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestCase {
    /// The file name without `.data`.
    pub name: String,
    /// The `-- asm` text, verbatim (comments included).
    pub asm: Option<String>,
    /// File line number of the first `asm` line (0 without asm).
    pub asm_line: usize,
    /// The `-- raw` instruction words (byte-form lines already combined).
    pub raw: Option<Vec<u64>>,
    /// The `-- mem` input buffer (empty without the section).
    pub mem: Vec<u8>,
    /// The expected `r0`.
    pub result: Option<u64>,
    /// The expected error: `None` without the section, `Some("")` if empty.
    pub error: Option<String>,
    /// Sections runners ignore (`-- c`, `-- no register offset`).
    pub notes: Vec<Note>,
}

/// An ignored section, kept verbatim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub section: String,
    pub text: String,
}

/// A malformed file: where and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ParseError {
    pub file: String,
    /// 1-based; 0 when the file could not be read at all.
    pub line: usize,
    pub message: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Asm,
    Raw,
    Mem,
    Result,
    Error,
    Note,
}

/// A section's header and its lines (number, text).
struct Section<'a> {
    kind: Kind,
    name: &'a str,
    header: usize,
    lines: Vec<(usize, &'a str)>,
}

impl TestCase {
    /// Parses file contents. `file` labels errors; its stem names the case.
    pub fn parse(file: &str, text: &str) -> Result<TestCase, ParseError> {
        let err = |line, message: String| ParseError { file: file.to_string(), line, message };
        let name = Path::new(file).file_stem().map_or(file.into(), |s| s.to_string_lossy());
        let mut case = TestCase { name: name.into_owned(), ..TestCase::default() };
        for s in sections(text).map_err(|(l, m)| err(l, m))? {
            match s.kind {
                Kind::Asm => {
                    case.asm_line = s.header + 1;
                    case.asm = Some(join(s.lines.iter().map(|l| l.1)));
                }
                Kind::Raw => case.raw = Some(raw_words(s.values()).map_err(|(l, m)| err(l, m))?),
                Kind::Mem => case.mem = mem_bytes(s.values()).map_err(|(l, m)| err(l, m))?,
                Kind::Result => {
                    case.result = Some(result(s.values()).map_err(|m| err(s.header, m))?);
                }
                Kind::Error => {
                    let lines = s.values().map(|(_, l)| l.trim()).filter(|l| !l.is_empty());
                    case.error = Some(lines.collect::<Vec<_>>().join("\n"));
                }
                Kind::Note => case
                    .notes
                    .push(Note { section: s.name.to_string(), text: join(s.lines.iter().map(|l| l.1)) }),
            }
        }
        Ok(case)
    }

    /// Reads and parses one file.
    pub fn from_file(path: &Path) -> Result<TestCase, ParseError> {
        let file = path.display().to_string();
        let err = |message| ParseError { file: file.clone(), line: 0, message };
        let bytes = fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|e| err(format!("not UTF-8: {e}")))?;
        TestCase::parse(&file, &text)
    }

    /// The program: `-- raw` if present, else the assembled `-- asm`.
    /// Errors are assembler messages prefixed by the file line
    /// (`line 7: Invalid register: %r50`), or [`NO_INSTRUCTIONS`].
    pub fn program(&self) -> Result<Vec<Insn>, String> {
        let prog = match (&self.raw, &self.asm) {
            (Some(raw), _) => raw.iter().map(|&w| Insn::from_u64(w)).collect(),
            (None, Some(asm)) => ubpf::assemble(asm).map_err(|e| {
                let line = (self.asm_line + e.line).saturating_sub(1);
                format!("line {line}: {}", e.message)
            })?,
            (None, None) => Vec::new(),
        };
        if prog.is_empty() {
            return Err(NO_INSTRUCTIONS.to_string());
        }
        Ok(prog)
    }
}

/// Parses every `*.data` file directly in `dir`, sorted by file name.
pub fn load_dir(dir: &Path) -> io::Result<Vec<(PathBuf, Result<TestCase, ParseError>)>> {
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "data") {
            paths.push(path);
        }
    }
    paths.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(paths
        .into_iter()
        .map(|p| {
            let case = TestCase::from_file(&p);
            (p, case)
        })
        .collect())
}

type LineError = (usize, String);

impl<'a> Section<'a> {
    /// The lines with comments removed.
    fn values(&self) -> impl Iterator<Item = (usize, &'a str)> + '_ {
        self.lines.iter().map(|&(n, l)| (n, strip_comment(l)))
    }
}

fn strip_comment(line: &str) -> &str {
    line.split('#').next().unwrap_or_default()
}

fn join<'a>(lines: impl Iterator<Item = &'a str>) -> String {
    lines.collect::<Vec<_>>().join("\n")
}

fn sections(text: &str) -> Result<Vec<Section<'_>>, LineError> {
    let mut out: Vec<Section> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let Some((_, rest)) = line.split_once("--") else {
            match out.last_mut() {
                Some(s) => s.lines.push((n, line)),
                None if strip_comment(line).trim().is_empty() => {}
                None => return Err((n, "text before the first `--` section".into())),
            }
            continue;
        };
        let name = strip_comment(rest).trim();
        let kind = match name {
            "asm" => Kind::Asm,
            "raw" => Kind::Raw,
            "mem" => Kind::Mem,
            "result" => Kind::Result,
            "error" => Kind::Error,
            "c" | "no register offset" => Kind::Note,
            _ => return Err((n, format!("Unknown directive: '{}'", line.trim()))),
        };
        if let Some(prev) = out.iter().find(|s| s.kind == kind && kind != Kind::Note) {
            return Err((n, format!("duplicate `-- {name}` section (first on line {})", prev.header)));
        }
        out.push(Section { kind, name, header: n, lines: Vec::new() });
    }
    Ok(out)
}

/// The `-- raw` words, in either form (see the module docs).
fn raw_words<'a>(lines: impl Iterator<Item = (usize, &'a str)>) -> Result<Vec<u64>, LineError> {
    let lines: Vec<(usize, Vec<&str>)> = lines
        .map(|(n, l)| (n, l.split_whitespace().collect::<Vec<_>>()))
        .filter(|(_, toks)| !toks.is_empty())
        .collect();
    let is_byte = |t: &&str| t.len() == 2 && t.bytes().all(|b| b.is_ascii_hexdigit());
    let byte_form = lines.iter().all(|(_, toks)| toks.iter().all(is_byte));
    let mut words = Vec::new();
    for (n, toks) in &lines {
        if byte_form {
            if toks.len() != 8 {
                return Err((*n, format!("{} bytes on a byte-form raw line, expected 8", toks.len())));
            }
            let mut b = [0u8; 8];
            for (dst, t) in b.iter_mut().zip(toks) {
                *dst = u8::from_str_radix(t, 16).map_err(|_| (*n, format!("invalid byte '{t}'")))?;
            }
            words.push(u64::from_le_bytes(b));
            continue;
        }
        for t in toks {
            let w = parse_u64(t).ok_or_else(|| (*n, format!("invalid raw instruction word '{t}'")))?;
            words.push(w);
        }
    }
    Ok(words)
}

fn mem_bytes<'a>(lines: impl Iterator<Item = (usize, &'a str)>) -> Result<Vec<u8>, LineError> {
    let mut out = Vec::new();
    for (n, line) in lines {
        for t in line.split_whitespace() {
            let ok = (1..=2).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_hexdigit());
            let b = u8::from_str_radix(t, 16).ok().filter(|_| ok);
            out.push(b.ok_or_else(|| (n, format!("invalid mem byte '{t}'")))?);
        }
    }
    Ok(out)
}

fn result<'a>(lines: impl Iterator<Item = (usize, &'a str)>) -> Result<u64, String> {
    let toks: Vec<&str> = lines.flat_map(|(_, l)| l.split_whitespace()).collect();
    match toks[..] {
        [t] => parse_u64(t).ok_or_else(|| format!("invalid result '{t}'")),
        [] => Err("empty `-- result` section".into()),
        _ => Err(format!("`-- result` holds {} values, expected one", toks.len())),
    }
}

/// `0x` hex (either case of digits) or decimal.
fn parse_u64(t: &str) -> Option<u64> {
    let (digits, radix) = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None => (t, 10),
    };
    let ok = !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix));
    u64::from_str_radix(digits, radix).ok().filter(|_| ok)
}
