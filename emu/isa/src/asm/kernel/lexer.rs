//! The lexer: comments, the verifier log's listing prefix, tokens, numbers
//! and register names.

use super::parser::{PResult, err};
use crate::instr::*;

/// Cuts a `;`, `//` or word-initial `#` comment (`call bpf_foo#1` keeps its `#`).
pub(super) fn strip_comment(line: &str) -> &str {
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        let starts = match c {
            ';' => true,
            '/' => line[i..].starts_with("//"),
            '#' => prev_space,
            _ => false,
        };
        if starts {
            return &line[..i];
        }
        prev_space = c.is_whitespace();
    }
    line
}

/// Skips the verifier log's `idx: (code) ` prefix, returning a suffix of `line`.
pub(super) fn strip_listing_prefix(line: &str) -> &str {
    let t = line.trim_start();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let Some(rest) = t[digits..].strip_prefix(':').filter(|_| digits > 0) else {
        return t;
    };
    let Some(rest) = rest.trim_start().strip_prefix('(') else {
        return t;
    };
    match rest.as_bytes() {
        [a, b, b')', ..] if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => rest[3..].trim_start(),
        _ => t,
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Tok {
    Ident(String),
    Num(u64),
    Op(&'static str),
}

#[derive(Debug)]
pub(super) struct Token {
    pub(super) tok: Tok,
    /// The token as written, for error messages.
    pub(super) text: String,
    pub(super) col: usize,
}

/// Operators, longest first so that `s>>=` wins over `s>` and `>>=`.
pub(super) const OPS: [&str; 39] = [
    "s>>=", "<<=", ">>=", "s/=", "s%=", "s>=", "s<=", "+=", "-=", "*=", "/=", "|=", "&=", "%=", "^=", "==",
    "!=", ">=", "<=", "s>", "s<", ">", "<", "=", "+", "-", "*", "/", "(", ")", "[", "]", ",", ":", "#", "&",
    "|", "%", "^",
];

pub(super) fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || matches!(c, '_' | '.' | '$')
}

pub(super) fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$')
}

/// Splits one comment-free line into tokens; `base` is the byte offset of
/// `text` in the source line (for columns).
pub(super) fn lex(text: &str, base: usize) -> PResult<Vec<Token>> {
    let mut toks = Vec::new();
    let mut i = 0;
    while let Some(c) = text[i..].chars().next() {
        let rest = &text[i..];
        let col = base + i + 1;
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        let (tok, len) = if let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) {
            (Tok::Op(op), op.len())
        } else if c.is_ascii_digit() {
            let len = rest.find(|c: char| !is_ident_char(c)).unwrap_or(rest.len());
            (Tok::Num(parse_number(&rest[..len]).map_err(|m| (col, m))?), len)
        } else if is_ident_start(c) {
            let len = rest.find(|c: char| !is_ident_char(c)).unwrap_or(rest.len());
            (Tok::Ident(rest[..len].to_string()), len)
        } else {
            return err(col, format!("unexpected character '{c}'"));
        };
        toks.push(Token { tok, text: rest[..len].to_string(), col });
        i += len;
    }
    Ok(toks)
}

pub(super) fn parse_number(s: &str) -> Result<u64, String> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse::<u64>(),
    };
    parsed.map_err(|e| match e.kind() {
        std::num::IntErrorKind::PosOverflow => format!("number '{s}' does not fit in 64 bits"),
        _ => format!("invalid number '{s}'"),
    })
}

/// `rN` or `wN`: `None` if `s` is not shaped like a register, an error if
/// it names one above r10.
pub(super) fn reg_name(s: &str) -> Option<Result<(Reg, Width), String>> {
    let width = match s.as_bytes().first() {
        Some(b'r') => Width::W64,
        Some(b'w') => Width::W32,
        _ => return None,
    };
    let digits = &s[1..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let reg = digits.parse::<u8>().ok().and_then(Reg::new);
    Some(reg.map(|r| (r, width)).ok_or_else(|| format!("invalid register '{s}' (r0..r10)")))
}
