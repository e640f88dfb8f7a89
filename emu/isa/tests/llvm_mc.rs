//! Cross-check against LLVM's BPF tools (written for LLVM 14, the version on
//! the build machines):
//! - `tests/data/llvm_mc_corpus.s` holds every form `llvm-mc -triple bpfel`
//!   assembles; bpfemu's assembler must produce the same bytes.
//! - That corpus plus `tests/data/llvm_objdump_extra.s` (forms llvm-mc 14
//!   cannot parse) go through `llvm-objdump -d`; bpfemu's `Syntax::Llvm`
//!   text must equal its output wherever LLVM 14 knows the instruction.
//!
//! LLVM 14 knows no ISA v4 instruction (sdiv/smod, movsx, ldsx, bswap,
//! gotol, `BPF_ST` stores), no `BPF_MOD` and no `BPF_JSET`; those are covered
//! by the round trip of `tests/disasm_roundtrip.rs` instead.
//!
//! llvm-mc needs no `-mattr` for `w` registers; `-mattr=+alu32` is passed
//! anyway, as clang does for `-mcpu=v3`. llvm-objdump needs `--mattr=+alu32`
//! to decode 32-bit atomics other than `lock ... +=`, so those are compared
//! against a second, alu32 disassembly.
//!
//! Without llvm-mc (or llvm-objdump) on PATH the tests print
//! `skipped: ... not found on PATH` to stderr and pass.

use bpfemu_isa::asm::kernel::{assemble, assemble_instructions};
use bpfemu_isa::disasm::{Syntax, disasm_insn, disasm_insn_with};
use bpfemu_isa::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const CORPUS: &str = include_str!("data/llvm_mc_corpus.s");
const EXTRA: &str = include_str!("data/llvm_objdump_extra.s");

fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// Runs `tool args` with `input` on stdin, returning stdout.
fn run(tool: &PathBuf, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", tool.display()));
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{} {args:?} failed:\n{}",
        tool.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn llvm_mc(mc: &PathBuf, src: &str) -> Vec<u8> {
    run(mc, &["-triple", "bpfel", "-mattr=+alu32", "-filetype=obj", "-o", "-"], src.as_bytes())
}

fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le_u64(b: &[u8], at: usize) -> Option<usize> {
    usize::try_from(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?)).ok()
}

/// The contents of the `.text` section of a little-endian ELF64 object.
fn text_section(elf: &[u8]) -> Option<&[u8]> {
    if elf.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let shoff = le_u64(elf, 0x28)?;
    let shentsize = usize::from(le_u16(elf, 0x3a)?);
    let shnum = usize::from(le_u16(elf, 0x3c)?);
    let shstrndx = usize::from(le_u16(elf, 0x3e)?);
    let section = |i: usize| {
        let h = shoff + i * shentsize;
        Some((le_u32(elf, h)? as usize, le_u64(elf, h + 0x18)?, le_u64(elf, h + 0x20)?))
    };
    let (_, stroff, _) = section(shstrndx)?;
    (0..shnum).find_map(|i| {
        let (name, off, size) = section(i)?;
        let name_at = elf.get(stroff + name..)?;
        let end = name_at.iter().position(|&c| c == 0)?;
        (&name_at[..end] == b".text").then(|| elf.get(off..off + size))?
    })
}

#[test]
fn llvm_mc_encodes_the_corpus_like_us() {
    let Some(mc) = find_tool("llvm-mc") else {
        eprintln!("skipped: llvm-mc not found on PATH");
        return;
    };
    let ours = assemble_instructions(CORPUS).unwrap_or_else(|e| panic!("corpus: {e}"));
    let mut line_of_slot = Vec::new();
    let mut our_slots = Vec::new();
    for (line, ins) in &ours {
        for slot in ins.encode() {
            line_of_slot.push(*line);
            our_slots.push(slot);
        }
    }
    let obj = llvm_mc(&mc, CORPUS);
    let text = text_section(&obj).expect("llvm-mc output has a .text section");
    let theirs = insns_from_bytes(text).expect("whole slots");
    let lines: Vec<&str> = CORPUS.lines().collect();
    for (i, (a, b)) in our_slots.iter().zip(&theirs).enumerate() {
        if a != b {
            let line = line_of_slot[i];
            let show = |slots: &[Insn]| {
                decode_at(slots, i).map_or_else(|e| format!("<{e}>"), |ins| disasm_insn(&ins))
            };
            panic!(
                "slot {i}, corpus line {line} `{}`:\n  bpfemu: {:02x?} `{}`\n  llvm-mc: {:02x?} `{}`",
                lines.get(line - 1).unwrap_or(&""),
                a.to_bytes(),
                show(&our_slots),
                b.to_bytes(),
                show(&theirs),
            );
        }
    }
    assert_eq!(our_slots.len(), theirs.len(), "slot counts differ");
    assert!(our_slots.len() >= 150, "corpus too small: {}", our_slots.len());
}

/// `llvm-objdump -d` text by slot index, whitespace-normalised, without the
/// ` <label+0x..>` after jump targets.
fn objdump(tool: &PathBuf, obj: &[u8], alu32: bool) -> BTreeMap<usize, String> {
    let mut args = vec!["-d", "--no-show-raw-insn"];
    if alu32 {
        args.push("--mattr=+alu32");
    }
    args.push("-");
    let out = String::from_utf8(run(tool, &args, obj)).unwrap();
    let mut map = BTreeMap::new();
    for line in out.lines() {
        let Some((idx, text)) = line.split_once(':') else {
            continue;
        };
        let Ok(idx) = idx.trim().parse::<usize>() else {
            continue;
        };
        let text = match text.rfind(" <") {
            Some(cut) if text.ends_with('>') && !text.ends_with("<unknown>") => &text[..cut],
            _ => text,
        };
        map.insert(idx, text.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    map
}

/// Where LLVM 14's printer loses information bpfemu keeps, bpfemu prints a
/// lossless form instead (documented in `bpfemu_isa::disasm`).
fn known_deviation(ins: &Instruction) -> Option<&'static str> {
    Some(match ins {
        Instruction::Alu { op: AluOp::SDiv | AluOp::SMod | AluOp::MovSx(_), .. } => {
            "LLVM 14 ignores `off` (ISA v4 sdiv/smod/movsx)"
        }
        Instruction::Call(CallTarget::Local(_)) => "LLVM prints a bpf2bpf call as `call N`",
        Instruction::Call(CallTarget::Kfunc { .. }) => "LLVM prints a kfunc call as `call N`",
        Instruction::Call(CallTarget::Reg(_)) => "LLVM 14 reads callx's register from imm",
        Instruction::LdPacket { src: Some(_), imm, .. } if *imm != 0 => "LLVM drops BPF_IND's imm",
        Instruction::LdImm64 { src, .. } if !matches!(src, LdImm64::Imm(_)) => {
            let hi = ins.encode().get(1).map_or(0, |s| s.imm);
            if hi == 0 {
                return None;
            }
            "ld_pseudo drops the second slot's imm"
        }
        _ => return None,
    })
}

#[test]
fn llvm_objdump_prints_our_llvm_syntax() {
    let (Some(mc), Some(od)) = (find_tool("llvm-mc"), find_tool("llvm-objdump")) else {
        eprintln!("skipped: llvm-mc or llvm-objdump not found on PATH");
        return;
    };
    let src = format!("{CORPUS}\n{EXTRA}");
    let slots = assemble(&src).unwrap_or_else(|e| panic!("corpus: {e}"));
    let quads: String = slots.iter().map(|s| format!(".quad {:#018x}\n", s.to_u64())).collect();
    let obj = llvm_mc(&mc, &quads);
    let plain = objdump(&od, &obj, false);
    let alu32 = objdump(&od, &obj, true);
    let (mut compared, mut unknown, mut mismatches) = (0, 0, Vec::new());
    for (pc, ins) in decode_program(&slots).unwrap() {
        let ours = disasm_insn_with(&ins, Syntax::Llvm);
        let atomic32 = matches!(ins, Instruction::Atomic { size: Size::W, .. });
        let theirs = if atomic32 { &alu32 } else { &plain }.get(&pc).cloned().unwrap_or_default();
        if theirs == "<unknown>" {
            unknown += 1;
        } else if let Some(why) = known_deviation(&ins) {
            eprintln!("deviation at {pc}: bpfemu `{ours}`, llvm-objdump `{theirs}` ({why})");
        } else if ours != theirs {
            mismatches.push(format!("slot {pc}: bpfemu `{ours}`, llvm-objdump `{theirs}`"));
        } else {
            compared += 1;
        }
    }
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
    eprintln!("{compared} instructions agree, {unknown} unknown to this llvm-objdump");
    assert!(compared > 150, "only {compared} instructions compared");
}

#[test]
fn elf_reader_rejects_garbage() {
    assert_eq!(text_section(b""), None);
    assert_eq!(text_section(b"\x7fELF\x02\x01\0\0"), None);
    assert_eq!(text_section(&[0x7f; 64]), None);
}
