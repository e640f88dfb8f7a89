//! The printf dialect of `bpf_trace_printk`, `bpf_snprintf` (and later
//! `bpf_seq_printf` / `bpf_trace_vprintk`): validation as
//! `bpf_bprintf_prepare()` in kernel/bpf/helpers.c, rendering as the
//! kernel's `bstr_printf()` (lib/vsprintf.c) renders those conversions.
//!
//! Accepted, per conversion (at most `num_args` of them; `%%` is free):
//! - optional flags `0 + - space` and a decimal width (no precision);
//! - `%d %i %u %x %X` (32-bit), with `l` or `ll` (64-bit);
//! - `%c` (low byte of the argument);
//! - `%s`, `%pks`, `%pus`: a string read from the argument address, which
//!   must be followed by the end, a space or punctuation;
//! - `%p` followed by the end, space, punctuation, `K`, `x`, `s`, `S` or
//!   `B`; `%pi4 %pI4 %pi6 %pI6` (an address read from the argument). As in
//!   the kernel, the byte after a bare `%p` is not validated (it is printed
//!   literally, so `%p%d` prints `%d` where `bstr_printf()` would read a
//!   missing argument).
//!
//! Anything else, a non-printable non-space byte, or more conversions than
//! arguments: `-EINVAL`.
//!
//! Deterministic rendering where the kernel's output depends on the boot:
//! `%p` and `%pK` print `(____ptrval____)` (what the kernel prints before
//! its pointer-hashing key exists); `%px` prints the raw value as 16 hex
//! digits; `%ps %pS %pB` print `0x` and the value in hex (no kallsyms).
//! Strings and addresses that cannot be read (outside the run's regions)
//! render as an empty string and as zeros, as in the kernel. Not emulated:
//! the `-ENOSPC` when string arguments together exceed the 1024-byte
//! scratch buffer (each string is read up to 1023 bytes).

use super::guest::{self, Ptr};
use crate::errno::Errno;
use crate::runctx::RunCtx;

/// `MAX_BPRINTF_BUF`: the formatting buffer of the printf helpers.
pub const MAX_BPRINTF_BUF: usize = 1024;
/// `MAX_BPRINTF_VARARGS`: most arguments `bpf_snprintf` takes.
pub const MAX_BPRINTF_VARARGS: usize = 12;

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

fn is_print(b: u8) -> bool {
    (0x20..0x7f).contains(&b)
}

/// Whether the byte after a string conversion ends it properly.
fn str_end_ok(b: u8) -> bool {
    b == 0 || is_space(b) || b.is_ascii_punctuation()
}

#[derive(Clone, Copy, Default)]
struct Spec {
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    width: usize,
}

impl Spec {
    /// Pads `body` (with `sign` before zero padding) to the width.
    fn pad(&self, sign: &str, body: &[u8], numeric: bool, out: &mut Vec<u8>) {
        let len = sign.len() + body.len();
        let fill = self.width.saturating_sub(len);
        if self.left {
            out.extend_from_slice(sign.as_bytes());
            out.extend_from_slice(body);
            out.resize(out.len() + fill, b' ');
        } else if self.zero && numeric {
            out.extend_from_slice(sign.as_bytes());
            out.resize(out.len() + fill, b'0');
            out.extend_from_slice(body);
        } else {
            out.resize(out.len() + fill, b' ');
            out.extend_from_slice(sign.as_bytes());
            out.extend_from_slice(body);
        }
    }
}

/// Validates `fmt` (the bytes before its NUL) against `args` and renders
/// it. The full rendering is returned; callers truncate to their buffer.
pub fn format(ctx: &RunCtx, fmt: &[u8], args: &[u64]) -> Result<Vec<u8>, Errno> {
    let at = |j: usize| fmt.get(j).copied().unwrap_or(0);
    let mut out = Vec::new();
    let mut nspec = 0usize;
    let mut i = 0usize;
    while i < fmt.len() {
        let ch = fmt[i];
        if !is_print(ch) && !is_space(ch) {
            return Err(Errno::EINVAL);
        }
        if ch != b'%' {
            out.push(ch);
            i += 1;
            continue;
        }
        if at(i + 1) == b'%' {
            out.push(b'%');
            i += 2;
            continue;
        }
        if nspec >= args.len() {
            return Err(Errno::EINVAL);
        }
        let arg = args[nspec];
        nspec += 1;
        i += 1;
        let mut spec = Spec::default();
        loop {
            match at(i) {
                b'0' => spec.zero = true,
                b'+' => spec.plus = true,
                b'-' => spec.left = true,
                b' ' => spec.space = true,
                _ => break,
            }
            i += 1;
        }
        if (b'1'..=b'9').contains(&at(i)) {
            while at(i).is_ascii_digit() {
                spec.width = spec.width.saturating_mul(10).saturating_add(usize::from(at(i) - b'0'));
                i += 1;
            }
        }
        match at(i) {
            b'p' => {
                let m = at(i + 1);
                if (m == b'k' || m == b'u') && at(i + 2) == b's' {
                    i += 2;
                    string(ctx, arg, fmt, i, spec, &mut out)?;
                    i += 1;
                } else if m == 0 || is_space(m) || m.is_ascii_punctuation() {
                    spec.pad("", b"(____ptrval____)", false, &mut out);
                    // The kernel's validation skips the byte after a bare
                    // `%p`; it is printed as it is.
                    if m != 0 {
                        out.push(m);
                    }
                    i += 2;
                } else if matches!(m, b'K' | b'x' | b's' | b'S' | b'B') {
                    let body = match m {
                        b'K' => "(____ptrval____)".to_string(),
                        b'x' => format!("{arg:016x}"),
                        _ => format!("0x{arg:x}"),
                    };
                    spec.pad("", body.as_bytes(), false, &mut out);
                    i += 2;
                } else if matches!(m, b'i' | b'I') && matches!(at(i + 2), b'4' | b'6') {
                    let v6 = at(i + 2) == b'6';
                    let n = if v6 { 16 } else { 4 };
                    let ip = guest::read(ctx, arg, n, Ptr::Unproven).unwrap_or_else(|| vec![0; n]);
                    let body = ip_string(&ip, m == b'I');
                    spec.pad("", body.as_bytes(), false, &mut out);
                    i += 3;
                } else {
                    return Err(Errno::EINVAL);
                }
            }
            b's' => {
                string(ctx, arg, fmt, i, spec, &mut out)?;
                i += 1;
            }
            b'c' => {
                spec.pad("", &[arg as u8], false, &mut out);
                i += 1;
            }
            _ => {
                let mut long = false;
                if at(i) == b'l' {
                    long = true;
                    i += 1;
                    if at(i) == b'l' {
                        i += 1;
                    }
                }
                let conv = at(i);
                if !matches!(conv, b'i' | b'd' | b'u' | b'x' | b'X') {
                    return Err(Errno::EINVAL);
                }
                let v = if long { arg } else { u64::from(arg as u32) };
                let (sign, body) = match conv {
                    b'i' | b'd' => {
                        let s = if long { v as i64 } else { i64::from(v as u32 as i32) };
                        let sign = if s < 0 {
                            "-"
                        } else if spec.plus {
                            "+"
                        } else if spec.space {
                            " "
                        } else {
                            ""
                        };
                        (sign, s.unsigned_abs().to_string())
                    }
                    b'u' => ("", v.to_string()),
                    b'x' => ("", format!("{v:x}")),
                    _ => ("", format!("{v:X}")),
                };
                spec.pad(sign, body.as_bytes(), true, &mut out);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// A `%s`-style conversion at `fmt[i]` (the `s`): checks what follows and
/// renders the string at `addr`.
fn string(ctx: &RunCtx, addr: u64, fmt: &[u8], i: usize, spec: Spec, out: &mut Vec<u8>) -> Result<(), Errno> {
    if !str_end_ok(fmt.get(i + 1).copied().unwrap_or(0)) {
        return Err(Errno::EINVAL);
    }
    let s = guest::read_str(ctx, addr, MAX_BPRINTF_BUF, Ptr::Unproven).unwrap_or_default();
    spec.pad("", &s, false, out);
    Ok(())
}

/// `%pI4` / `%pi4` / `%pI6` / `%pi6` of the address bytes `ip`.
fn ip_string(ip: &[u8], upper: bool) -> String {
    match (ip.len(), upper) {
        (4, true) => ip.iter().map(|b| b.to_string()).collect::<Vec<_>>().join("."),
        (4, false) => ip.iter().map(|b| format!("{b:03}")).collect::<Vec<_>>().join("."),
        (_, true) => ip.chunks(2).map(|w| format!("{:02x}{:02x}", w[0], w[1])).collect::<Vec<_>>().join(":"),
        (_, false) => ip.iter().map(|b| format!("{b:02x}")).collect(),
    }
}
