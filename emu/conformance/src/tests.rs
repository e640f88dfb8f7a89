//! Parser unit tests on small inline files (the real suite is covered by
//! `tests/suite.rs`).

use crate::*;
use bpfemu_isa::Insn;
use proptest::prelude::*;

const FULL: &str = "\
# Copyright line
# SPDX line
-- c
#include <stdint.h>
int x = 1;
-- asm
mov %r0, 1   # comment
exit
-- mem
00 ff
Aa 1
-- result
0x1   # trailing
-- no register offset
call instruction
";

fn parse(text: &str) -> Result<TestCase, ParseError> {
    TestCase::parse("dir/t.data", text)
}

#[test]
fn parses_every_section() {
    let c = parse(FULL).unwrap();
    assert_eq!(c.name, "t");
    assert_eq!(c.asm.as_deref(), Some("mov %r0, 1   # comment\nexit"));
    assert_eq!(c.asm_line, 7);
    assert_eq!(c.raw, None);
    assert_eq!(c.mem, [0x00, 0xff, 0xaa, 0x01]);
    assert_eq!(c.result, Some(1));
    assert_eq!(c.error, None);
    assert_eq!(c.notes.len(), 2);
    assert_eq!(c.notes[0].section, "c");
    assert_eq!(c.notes[0].text, "#include <stdint.h>\nint x = 1;");
    assert_eq!(c.notes[1].section, "no register offset");
    assert_eq!(c.program().unwrap(), [Insn::new(0xb7, 0, 0, 0, 1), Insn::new(0x95, 0, 0, 0, 0)]);
}

#[test]
fn raw_word_form_replaces_asm() {
    let c = parse("-- asm\nexit\n-- raw\n0x00000001000000b7 149\n0x95\n-- result\n1").unwrap();
    assert_eq!(c.raw, Some(vec![0x1_0000_00b7, 149, 0x95]));
    let p = c.program().unwrap();
    assert_eq!(p[0], Insn::new(0xb7, 0, 0, 0, 1));
    assert_eq!(p[1], Insn::new(0x95, 0, 0, 0, 0));
}

#[test]
fn raw_byte_form_is_one_byte_per_token() {
    let c = parse("-- raw\n04 10 00 00 01 00 00 00\n95 00 00 00 00 00 00 00\n-- error\n").unwrap();
    assert_eq!(c.raw, Some(vec![0x0000_0001_0000_1004, 0x95]));
    assert_eq!(c.program().unwrap()[0], Insn::new(0x04, 0, 1, 0, 1));
    assert_eq!(c.error.as_deref(), Some(""));
    let e = parse("-- raw\n04 10 00 00 01 00 00\n").unwrap_err();
    assert_eq!((e.line, e.file.as_str()), (2, "dir/t.data"));
    assert!(e.message.contains("expected 8"), "{e}");
}

#[test]
fn error_section_text() {
    let c = parse("-- asm\nexit\n-- error\n\nInvalid register # why\n").unwrap();
    assert_eq!(c.error.as_deref(), Some("Invalid register"));
}

#[test]
fn malformed_files_name_file_and_line() {
    let cases = [
        ("-- asm\n-- Unknown directive\n", 2, "Unknown directive"),
        ("-- asm\nexit\n-- asm\nexit\n", 3, "duplicate `-- asm` section (first on line 1)"),
        ("mov %r0, 1\n-- asm\n", 1, "text before the first"),
        ("-- mem\n00 100\n", 2, "invalid mem byte '100'"),
        ("-- mem\n0x0\n", 2, "invalid mem byte '0x0'"),
        ("-- raw\n0xz\n", 2, "invalid raw instruction word '0xz'"),
        ("-- raw\n0x10000000000000000\n", 2, "invalid raw instruction word"),
        ("-- result\n", 1, "empty `-- result` section"),
        ("-- result\n1 2\n", 1, "expected one"),
        ("-- result\n-1\n", 1, "invalid result '-1'"),
    ];
    for (text, line, msg) in cases {
        let e = parse(text).unwrap_err();
        assert_eq!(e.line, line, "{text:?}: {e}");
        assert!(e.message.contains(msg), "{text:?}: {e}");
        assert!(e.to_string().starts_with(&format!("dir/t.data:{line}: ")), "{e}");
    }
}

#[test]
fn program_errors() {
    assert_eq!(parse("").unwrap().program().unwrap_err(), NO_INSTRUCTIONS);
    assert_eq!(parse("-- result\n0x0").unwrap().program().unwrap_err(), NO_INSTRUCTIONS);
    assert_eq!(parse("-- asm\n# nothing\n").unwrap().program().unwrap_err(), NO_INSTRUCTIONS);
    let c = parse("# header\n-- asm\nmov %r0, 1\nor %r0, %r50\n").unwrap();
    assert_eq!(c.program().unwrap_err(), "line 4: Invalid register: %r50");
}

#[test]
fn load_dir_skips_non_data_and_sorts() {
    let dir = std::env::temp_dir().join(format!("bpfemu-conformance-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub.data")).unwrap();
    for (f, text) in [("b.data", "-- asm\nexit"), ("a.data", "junk"), ("README.md", "x")] {
        std::fs::write(dir.join(f), text).unwrap();
    }
    let got = load_dir(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let names: Vec<_> = got.iter().map(|(p, _)| p.file_name().unwrap().to_owned()).collect();
    assert_eq!(names, ["a.data", "b.data"]);
    assert!(got[0].1.is_err());
    assert_eq!(got[1].1.as_ref().unwrap().name, "b");
}

proptest! {
    #[test]
    fn parse_never_panics(text in "\\PC{0,300}") {
        if let Ok(c) = parse(&text) {
            let _ = c.program();
        }
    }

    #[test]
    fn parse_never_panics_on_section_soup(lines in prop::collection::vec(prop::sample::select(vec![
        "-- asm", "-- raw", "-- mem", "-- result", "-- error", "-- c", "--", "-- x", "# c",
        "exit", "mov %r0, 1", "ja l", "l:", "0x95", "95 00 00 00 00 00 00 00", "00", "zz",
        "0x", "1 2", "", "   ", "ff ff", "18446744073709551616",
    ]), 0..16)) {
        if let Ok(c) = parse(&lines.join("\n")) {
            let _ = c.program();
        }
    }
}
