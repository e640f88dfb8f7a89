//! Reading programs and memory from files: raw instruction bytes, kernel
//! pseudo-C assembly, uBPF assembly, or a bpf_conformance `.data` file.

use anyhow::{Context, Result, bail};
use bpfemu_conformance::datafile::TestCase;
use bpfemu_isa::{Insn, asm, insns_from_bytes};
use clap::ValueEnum;
use std::path::Path;

/// How a program file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// Decide from the extension: `.s`/`.asm` kernel syntax, `.ubpf` uBPF,
    /// `.data` conformance file, anything else raw bytes.
    Auto,
    /// Kernel / LLVM pseudo-C assembly (`r0 = *(u32 *)(r1 + 4)`).
    Kernel,
    /// The uBPF assembly dialect of bpf_conformance (`ldxw %r0, [%r1+4]`).
    Ubpf,
    /// A bpf_conformance `.data` file (program, memory, expected result).
    Data,
    /// Raw little-endian 8-byte instruction slots.
    Raw,
}

/// A program read from a file, with the memory a `.data` file carries.
#[derive(Debug)]
pub struct Loaded {
    pub insns: Vec<Insn>,
    pub mem: Option<Vec<u8>>,
    pub expected: Option<u64>,
}

fn resolve(path: &Path, fmt: InputFormat) -> InputFormat {
    if fmt != InputFormat::Auto {
        return fmt;
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("s" | "S" | "asm") => InputFormat::Kernel,
        Some("ubpf") => InputFormat::Ubpf,
        Some("data") => InputFormat::Data,
        _ => InputFormat::Raw,
    }
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Reads a program in the given (or detected) format.
pub fn load_program(path: &Path, fmt: InputFormat) -> Result<Loaded> {
    let shown = path.display();
    let plain = |insns| Loaded { insns, mem: None, expected: None };
    Ok(match resolve(path, fmt) {
        InputFormat::Kernel => plain(
            asm::kernel::assemble(&read_text(path)?)
                .map_err(|e| anyhow::anyhow!("{shown}:{}: {}", e.line, e.message))?,
        ),
        InputFormat::Ubpf => plain(
            asm::ubpf::assemble(&read_text(path)?)
                .map_err(|e| anyhow::anyhow!("{shown}:{}: {}", e.line, e.message))?,
        ),
        InputFormat::Data => {
            let tc =
                TestCase::parse(&shown.to_string(), &read_text(path)?).map_err(|e| anyhow::anyhow!("{e}"))?;
            let insns = tc.program().map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
            Loaded { insns, mem: Some(tc.mem.clone()), expected: tc.result }
        }
        InputFormat::Raw | InputFormat::Auto => {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read {shown}"))?;
            match insns_from_bytes(&bytes) {
                Ok(i) => plain(i),
                Err(stray) => bail!(
                    "{shown}: {} bytes is not a whole number of 8-byte instructions ({stray} left over); \
                     pass --format if this is assembly",
                    bytes.len()
                ),
            }
        }
    })
}

/// Parses hex bytes written as `de ad be ef`, `deadbeef` or `0xde 0xad`.
pub fn parse_hex_bytes(s: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for tok in s.split(|c: char| c.is_whitespace() || c == ',') {
        let t = tok.trim_start_matches("0x").trim_start_matches("0X");
        if t.is_empty() {
            continue;
        }
        if t.len() % 2 != 0 {
            bail!("hex bytes: '{tok}' has an odd number of digits");
        }
        for i in (0..t.len()).step_by(2) {
            let pair = t.get(i..i + 2).context("hex bytes: not ASCII")?;
            out.push(
                u8::from_str_radix(pair, 16).with_context(|| format!("hex bytes: '{pair}' is not hex"))?,
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_forms() {
        assert_eq!(parse_hex_bytes("de ad  be\nef").unwrap(), vec![0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(parse_hex_bytes("deadbeef").unwrap(), vec![0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(parse_hex_bytes("0x01,0x02").unwrap(), vec![1, 2]);
        assert!(parse_hex_bytes("abc").is_err());
        assert!(parse_hex_bytes("zz").is_err());
        assert!(parse_hex_bytes("é1").is_err());
    }
}
