//! Values in scenario files: byte strings (keys, values, ctx), integers,
//! durations, and the fields statements report and expectations compare.
//!
//! Bytes: `01000000` (hex, even length, optional `0x`), `u8:`/`u16:`/`u32:`/
//! `u64:` (and `s8:`..`s64:`) typed integers in little endian, `"text"`
//! (no NUL added), `zero:N` (N zero bytes), `fd:NAME` (the u32 fd of a named
//! object, for prog_array and map-in-map values), joined with `,`.

use crate::parse::Tok;
use std::fmt;

/// One part of a byte string; `fd:NAME` is resolved when the statement runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    Lit(Vec<u8>),
    Fd(String, usize),
}

/// A byte string as written.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<Part>);

impl Bytes {
    pub fn lit(b: Vec<u8>) -> Bytes {
        Bytes(vec![Part::Lit(b)])
    }
}

/// Parses a byte string; errors are (column, message).
pub fn parse_bytes(t: &Tok) -> Result<Bytes, (usize, String)> {
    if t.quoted {
        return Ok(Bytes::lit(t.text.as_bytes().to_vec()));
    }
    let mut parts = Vec::new();
    let mut col = t.col;
    for piece in t.text.split(',') {
        parts.push(parse_part(piece, col)?);
        col += piece.chars().count() + 1;
    }
    Ok(Bytes(parts))
}

const WIDTHS: &[(&str, u32, bool)] = &[
    ("u8", 1, false),
    ("u16", 2, false),
    ("u32", 4, false),
    ("u64", 8, false),
    ("s8", 1, true),
    ("s16", 2, true),
    ("s32", 4, true),
    ("s64", 8, true),
];

fn parse_part(p: &str, col: usize) -> Result<Part, (usize, String)> {
    if p.is_empty() {
        return Err((
            col,
            "empty byte string part: expected hex bytes or a typed literal such as `u32:7`".into(),
        ));
    }
    if let Some((ty, v)) = p.split_once(':') {
        if ty == "fd" {
            return Ok(Part::Fd(v.to_string(), col + 3));
        }
        if ty == "zero" {
            let n = parse_int(v).map_err(|m| (col + 5, m))?;
            if !(0..=1 << 20).contains(&n) {
                return Err((col + 5, format!("zero:{v}: expected a size up to 1048576")));
            }
            return Ok(Part::Lit(vec![0; n as usize]));
        }
        let Some(&(_, w, signed)) = WIDTHS.iter().find(|(n, _, _)| *n == ty) else {
            let names: Vec<&str> = WIDTHS.iter().map(|w| w.0).chain(["fd", "zero"]).collect();
            let help = crate::error::suggest(ty, names.iter().copied())
                .unwrap_or_else(|| "expected u8, u16, u32, u64, s8..s64, fd or zero".into());
            return Err((col, format!("unknown literal type `{ty}:` ({help})")));
        };
        let vcol = col + ty.len() + 1;
        let n = parse_int(v).map_err(|m| (vcol, m))?;
        let bits = w * 8;
        let (lo, hi) = if signed {
            (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        } else {
            (-(1i128 << (bits - 1)), (1i128 << bits) - 1)
        };
        if n < lo || n > hi {
            return Err((vcol, format!("{v} does not fit in {ty}")));
        }
        let bytes = (n as u128).to_le_bytes();
        return Ok(Part::Lit(bytes[..w as usize].to_vec()));
    }
    let h = p.strip_prefix("0x").unwrap_or(p);
    if !h.len().is_multiple_of(2) {
        return Err((
            col,
            format!(
                "`{p}`: odd number of hex digits (bytes are two digits each; for a number write `u32:{p}`)"
            ),
        ));
    }
    let mut out = Vec::new();
    for (i, pair) in h.as_bytes().chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).unwrap_or("??");
        let b = u8::from_str_radix(s, 16).map_err(|_| {
            (
                col + i * 2 + (p.len() - h.len()),
                format!("`{s}` is not a hex byte (bytes: hex like `01ff`, or typed like `u32:7`)"),
            )
        })?;
        out.push(b);
    }
    Ok(Part::Lit(out))
}

/// An integer: decimal, `0x` hex, optional `-`, `_` separators.
pub fn parse_int(s: &str) -> Result<i128, String> {
    let t: String = s.chars().filter(|c| *c != '_').collect();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r.to_string()),
        None => (false, t),
    };
    let v = if let Some(h) = t.strip_prefix("0x") { i128::from_str_radix(h, 16) } else { t.parse::<i128>() }
        .map_err(|_| format!("`{s}` is not a number (decimal or 0x hex)"))?;
    if v > i128::from(u64::MAX) {
        return Err(format!("`{s}` is too large"));
    }
    Ok(if neg { -v } else { v })
}

/// A duration: `10ms`, `5us`, `1s`, `100ns`.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let idx = s.find(|c: char| !c.is_ascii_digit() && c != '_').unwrap_or(s.len());
    let (n, unit) = s.split_at(idx);
    let n = parse_int(n)
        .map_err(|_| format!("`{s}`: expected a duration such as `10ms` (units ns, us, ms, s)"))?;
    let mul = match unit {
        "ns" => 1,
        "us" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "" => return Err(format!("`{s}`: a duration needs a unit (ns, us, ms, s)")),
        u => return Err(format!("`{u}` is not a time unit: expected ns, us, ms or s")),
    };
    u64::try_from(n).ok().and_then(|n| n.checked_mul(mul)).ok_or_else(|| format!("`{s}` is too long"))
}

/// A field a statement reports (`value=...`, `r0=42`, `id=3`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Val {
    Bytes(Vec<u8>),
    Int(i128),
    Text(String),
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Bytes(b) if b.is_empty() => f.write_str("\"\""),
            Val::Bytes(b) => b.iter().try_for_each(|x| write!(f, "{x:02x}")),
            Val::Int(n) => write!(f, "{n}"),
            Val::Text(s) => write!(f, "{s:?}"),
        }
    }
}

/// Formats fields as `k=v k=v`.
pub fn fields_str(fields: &[(String, Val)]) -> String {
    fields.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(s: &str) -> Tok {
        Tok { text: s.into(), col: 1, quoted: false }
    }

    #[test]
    fn bytes_forms() {
        assert_eq!(
            parse_bytes(&tok("u32:7,0102")).unwrap(),
            Bytes(vec![Part::Lit(vec![7, 0, 0, 0]), Part::Lit(vec![1, 2])])
        );
        assert_eq!(parse_bytes(&tok("s16:-1")).unwrap(), Bytes::lit(vec![0xff, 0xff]));
        assert!(parse_bytes(&tok("u8:256")).is_err());
        assert!(parse_bytes(&tok("abc")).is_err());
        assert_eq!(parse_duration("10ms"), Ok(10_000_000));
        assert!(parse_duration("10").is_err());
    }
}
