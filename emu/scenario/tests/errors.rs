//! Malformed scenario files: each kind of mistake gives a precise error
//! (`file:line:col`, what was expected, a suggestion where one fits) and
//! never a panic; a property test feeds garbage.

use bpfemu_scenario::{Loader, Scenario};
use proptest::prelude::*;
use std::path::Path;

/// Include files from memory.
struct Mem;

impl Loader for Mem {
    fn load(&self, path: &Path) -> Result<String, String> {
        match path.to_string_lossy().as_ref() {
            "dir/setup.inc" => Ok("map S type=hash key=4 value=8 max=4\n".into()),
            "dir/bad.inc" => Ok("map S type=hsh key=4 value=8 max=4\n".into()),
            "dir/loop.inc" => Ok("include \"loop.inc\"\n".into()),
            p => Err(format!("no such file: {p}")),
        }
    }
}

fn err(src: &str) -> String {
    match Scenario::from_text("dir/t.scn", src, &Mem) {
        Ok(_) => panic!("accepted:\n{src}"),
        Err(d) => d.to_string(),
    }
}

const MAP: &str = "map M type=hash key=4 value=8 max=4\n";

/// (scenario, `file:line:col`, a fragment of the message).
const CASES: &[(&str, &str, &str)] = &[
    ("mpa M type=hash key=4 value=8 max=4", "t.scn:1:1", "did you mean `map`?"),
    ("map M type=hsh key=4 value=8 max=4", "t.scn:1:12", "did you mean `hash`?"),
    ("map M type=hash key=4 value=8", "t.scn:1:30", "missing `max=`"),
    ("map M type=hash key=4 value=8 max=4 maxx=3", "t.scn:1:37", "does not take `maxx=`"),
    ("map M type=hash key=4 value=8 max=4 max=3", "t.scn:1:37", "given twice"),
    ("map M type=hash key=four value=8 max=4", "t.scn:1:21", "not a number"),
    ("map 9M type=hash key=4 value=8 max=4", "t.scn:1:5", "not a valid object name"),
    (
        "map M type=hash key=4 value=8 max=4\nmap M type=array key=4 value=8 max=4",
        "t.scn:2:5",
        "already names a map",
    ),
    ("update M key=u32:1 value=u64:1", "t.scn:1:8", "no map named `M`"),
    (
        "map MAPA type=hash key=4 value=8 max=4\nupdate MAPB key=u32:1 value=u64:1",
        "t.scn:2:8",
        "did you mean `MAPA`?",
    ),
    (
        "map M type=hash key=4 value=8 max=4\nupdate M key=u32:1 value=u64:1 => ENOENTT",
        "t.scn:2:35",
        "did you mean `ENOENT`?",
    ),
    (
        "map M type=hash key=4 value=8 max=4\nupdate M key=u33:1 value=u64:1",
        "t.scn:2:14",
        "unknown literal type `u33:`",
    ),
    (
        "map M type=hash key=4 value=8 max=4\nupdate M key=u8:300 value=u64:1",
        "t.scn:2:17",
        "does not fit in u8",
    ),
    (
        "map M type=hash key=4 value=8 max=4\nupdate M key=123 value=u64:1",
        "t.scn:2:14",
        "odd number of hex digits",
    ),
    ("map M type=hash key=4 value=8 max=4\nupdate M key=zz value=u64:1", "t.scn:2:14", "not a hex byte"),
    ("map M type=hash key=4 value=8 max=4\nupdate M key=u32:1", "t.scn:2:19", "missing `value=`"),
    (
        "map M type=hash key=4 value=8 max=4\nlookup M key=u32:1 => valu=u64:1",
        "t.scn:2:23",
        "did you mean `value`?",
    ),
    ("map M type=hash key=4 value=8 max=4\nlookup M key=u32:1 =>", "t.scn:2:20", "empty expectation"),
    ("map M type=hash key=4 value=8 max=4\nlookup M key=u32:1 => ok => ok", "t.scn:2:26", "a second `=>`"),
    ("map M type=hash key=4 value=8 max=4\nlookup M key=u32:1 => ok |", "t.scn:2:20", "empty expectation"),
    (
        "map M type=hash key=4 value=8 max=4\nlookup M key=u32:1 => banana",
        "t.scn:2:23",
        "unexpected `banana` in the expectation",
    ),
    (
        "map M type=hash key=4 value=8 max=4\nupdate M key=u32:1 value=u64:1 flags=nooexist",
        "t.scn:2:38",
        "did you mean `noexist`?",
    ),
    ("prog P type=syscall", "t.scn:1:20", "expected `{` and an assembly block"),
    ("prog P type=syscal {\nexit\n}", "t.scn:1:13", "did you mean `syscall`?"),
    ("prog P type=syscall {\n  r0 = 0\n  exit\n", "t.scn:1:22", "assembly block is not closed"),
    ("prog P type=syscall {\n  r0 = = 1\n  exit\n}", "t.scn:2:", "assembly:"),
    ("prog P type=syscall {\n  r1 = map[NOPE]\n  exit\n}", "t.scn:2:12", "no map named `NOPE`"),
    (
        "prog P type=syscall object=guest-progs/no-such.bpf.o",
        "t.scn:1:28",
        "no object file `guest-progs/no-such.bpf.o`",
    ),
    ("map M type=hash key=4 value=8 max=4\nrun M", "t.scn:2:5", "is a map, expected a program"),
    ("advance 10", "t.scn:1:9", "needs a unit"),
    ("advance 10ms parsecs", "t.scn:1:14", "unexpected `parsecs`"),
    ("advance 10min", "t.scn:1:9", "not a time unit"),
    (
        "map M type=hash key=4 value=8 max=4\nseed 3",
        "t.scn:2:1",
        "must come before the first kernel operation",
    ),
    ("cpus 2\ncpu 7", "t.scn:2:5", "no CPU 7"),
    ("cpus 0", "t.scn:1:6", "expected 1 to 64"),
    ("concurrent {\n  update M key=u32:1 value=u64:1\n}", "t.scn:2:3", "expected `branch {`"),
    ("concurrent {\n  branch {\n  }\n", "t.scn:1:1", "block is not closed"),
    ("}", "t.scn:1:1", "without an open block"),
    ("branch {\n}", "t.scn:1:1", "only valid inside `concurrent"),
    (
        "concurrent {\n branch {\n  seed 3\n }\n branch {\n }\n}",
        "t.scn:3:3",
        "cannot be used inside a branch",
    ),
    ("map M type=hash key=4 value=8 max=4 {\n}", "t.scn:1:37", "does not take a block"),
    ("include \"missing.inc\"", "t.scn:1:9", "cannot read"),
    ("include \"bad.inc\"", "bad.inc:1:12", "did you mean `hash`?"),
    ("include \"loop.inc\"", "loop.inc:1:9", "include cycle"),
    ("expect mop M key=u32:1 value=u64:1", "t.scn:1:8", "did you mean `expect map`?"),
    ("map M type=hash key=4 value=8 max=4\nexpect map M key=u32:1", "t.scn:2:23", "exactly one of"),
    ("expect trace \"unterminated", "t.scn:1:14", "unterminated string"),
    ("expect trace \"bad \\q escape\"", "t.scn:1:19", "unknown escape"),
    (
        "map M type=hash key=4 value=8 max=4\nupdate M key=u32:1 value=fd:N",
        "t.scn:2:29",
        "no object named `N`",
    ),
    ("next_id mapp", "t.scn:1:9", "did you mean `map`?"),
    ("prog P type=syscall {\nexit\n}\nrun P => r0=-ENOPE", "t.scn:4:14", "unknown errno `ENOPE`"),
    ("pin", "t.scn:1:4", "missing object name"),
    ("map M type=hash key=4 value=8 max=4\npin M sys/fs/bpf/m", "t.scn:2:7", "absolute path"),
    ("map M type=hash key=4 value=8 max=4\nclose M\nlookup M key=u32:1", "t.scn:3:8", "no map named `M`"),
    ("map M type=hash =4 value=8 max=4", "t.scn:1:17", "key is missing"),
    ("map M type=hash key=4 value=8 max=4 name=", "t.scn:1:42", "expected a value after `=`"),
    (
        "map M type=hash key=4 value=8 max=4\nexpect map M key=u32:1 missing=no",
        "t.scn:2:32",
        "expected `missing=yes`",
    ),
    ("advance 1ms => ok", "t.scn:1:13", "takes no expectation"),
    ("expect log \"R0 !read_ok\"", "t.scn:1:1", "no `prog` comes before it"),
    ("prog P type=syscall {\nexit\n}\nexpect log", "t.scn:4:11", "missing text"),
    ("prog P type=syscall {\nexit\n}\nexpect log \"x\" => ok", "t.scn:4:16", "take no `=>`"),
    ("prog P type=syscall {\nexit\n}\nexpect lgo \"x\"", "t.scn:4:8", "did you mean `expect log`?"),
    ("prog P type=syscall log_level=3 {\nexit\n}", "t.scn:1:31", "expected 0, 1 or 2"),
    ("prog P type=syscall log_levl=2 {\nexit\n}", "t.scn:1:21", "did you mean `log_level`?"),
    ("uid -1", "t.scn:1:5", "expected 0 to 4294967295"),
    ("uid 1000 => ok", "t.scn:1:10", "takes no expectation"),
    ("netns", "t.scn:1:7", "expected an action after `netns`"),
    ("netn create NS", "t.scn:1:1", "did you mean `netns`?"),
    ("netns craete NS", "t.scn:1:7", "did you mean `create`?"),
    ("netns enter NS", "t.scn:1:13", "no network namespace named `NS`"),
    ("netns create NS\nnetns destroy NS defer=maybe", "t.scn:2:24", "expected `yes` or `no`"),
    ("netns create NS\npacket NS", "t.scn:2:10", "exactly one of `proto=LAYERS` or `bytes=FRAME`"),
    ("netns create NS\npacket NS proto=ipv4/tpc", "t.scn:2:11", "unknown transport layer `tpc`"),
    ("netns create NS\npacket NS proto=ipv4/tcp src=10.0.0.1:99999", "t.scn:2:11", "expected an address"),
    (
        "map M type=hash key=4 value=8 max=4\nquery attach=flow_dissector netns=M",
        "t.scn:2:35",
        "is a map, expected a network namespace",
    ),
];

#[test]
fn every_mistake_has_a_precise_error() {
    assert!(CASES.len() >= 30);
    let mut bad = Vec::new();
    for (src, at, what) in CASES {
        let e = err(src);
        if !e.contains(at) || !e.contains(what) {
            bad.push(format!("scenario:\n{src}\nwanted `{at}` and `{what}`, got:\n{e}\n"));
        }
    }
    assert!(bad.is_empty(), "{} imprecise error(s):\n{}", bad.len(), bad.join("\n"));
}

#[test]
fn errors_show_the_line_and_a_caret() {
    let e = err("map M type=hsh key=4 value=8 max=4");
    assert_eq!(
        e,
        "dir/t.scn:1:12: error: unknown map type `hsh`\n1 | map M type=hsh key=4 value=8 max=4\n  |            ^\n  = help: did you mean `hash`?"
    );
}

#[test]
fn errors_in_included_files_name_the_included_file() {
    let e = err("include \"bad.inc\"");
    assert!(e.starts_with("dir/bad.inc:1:12: error: unknown map type `hsh`"), "{e}");
}

#[test]
fn good_files_with_includes_plan() {
    let sc =
        Scenario::from_text("dir/t.scn", "include \"setup.inc\"\nupdate S key=u32:1 value=u64:2\n", &Mem)
            .unwrap();
    let r = sc.run(&Default::default());
    assert!(r.ok(), "{}", r.text);
    let _ = MAP;
}

#[test]
fn a_close_may_race_a_use_in_another_branch() {
    let src = format!(
        "{MAP}concurrent {{\n branch {{\n  close M\n }}\n branch {{\n  lookup M key=u32:1 => ENOENT | EBADF\n }}\n}}\nmap M type=array key=4 value=4 max=1\n"
    );
    let sc = Scenario::from_text("t.scn", &src, &Mem).unwrap();
    let ex = bpfemu_scenario::suite::explore(&sc, 0..32, bpfemu_scenario::Engine::Interp);
    assert_eq!(ex.distinct.len(), 2, "{ex:?}");
    assert!(ex.failing.is_empty(), "{ex:?}");
}

#[test]
fn expect_log_searches_the_last_program_load() {
    // The rejection's message is in the log (and in the trace, as the log's
    // last lines); a line that is not there fails the expectation.
    let src = "prog BAD type=syscall {\n    r0 = 1\n} => EINVAL\nexpect log \"last insn is not an exit or jmp\"\nexpect log \"R0 !read_ok\"\n";
    let r = Scenario::from_text("t.scn", src, &Mem).unwrap().run(&Default::default());
    assert_eq!((r.passed, r.failed), (2, 1), "{}", r.text);
    assert!(r.text.contains("log: last insn is not an exit or jmp"), "{}", r.text);
    assert!(
        r.text.contains("FAIL: expected a line of the verifier log of `BAD` containing \"R0 !read_ok\""),
        "{}",
        r.text
    );
    assert_eq!(
        r.failures,
        ["t.scn:5: expected a line of the verifier log of `BAD` containing \"R0 !read_ok\""]
    );
}

#[test]
fn failing_expectations_show_expected_and_actual() {
    let src = format!(
        "{MAP}update M key=u32:1 value=u64:1\nlookup M key=u32:1 => value=u64:2\ndelete M key=u32:7\n"
    );
    let r = Scenario::from_text("t.scn", &src, &Mem).unwrap().run(&Default::default());
    assert_eq!(r.failed, 2, "{}", r.text);
    assert!(
        r.text.contains("FAIL: expected value=0200000000000000, got value=0100000000000000"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains(
            "FAIL: unexpected error ENOENT (No such file or directory); write `=> ENOENT` to expect it"
        ),
        "{}",
        r.text
    );
    assert_eq!(r.failures[0], "t.scn:3: expected value=0200000000000000, got value=0100000000000000");
}

#[test]
fn same_seed_same_output_and_seeds_change_interleavings() {
    let src = format!(
        "{MAP}concurrent {{\n branch {{\n  update M key=u32:1 value=u64:1\n  update M key=u32:2 value=u64:1\n }}\n branch {{\n  delete M key=u32:1 => ok | ENOENT\n  delete M key=u32:2 => ok | ENOENT\n }}\n}}\n"
    );
    let sc = Scenario::from_text("t.scn", &src, &Mem).unwrap();
    let opts = |s| bpfemu_scenario::Options { seed: Some(s), ..Default::default() };
    assert_eq!(sc.run(&opts(3)).text, sc.run(&opts(3)).text);
    let ex = bpfemu_scenario::suite::explore(&sc, 0..64, bpfemu_scenario::Engine::Interp);
    assert!(ex.distinct.len() > 1, "{ex:?}");
    assert!(ex.failing.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn garbage_never_panics(src in "[a-z =>{}|\"#:_0-9A-Z\n.,/-]{0,200}") {
        if let Ok(sc) = Scenario::from_text("g.scn", &src, &Mem) {
            let _ = sc.run(&Default::default());
        }
    }

    #[test]
    fn mutated_good_files_never_panic(pos in 0usize..400, ch in proptest::char::any()) {
        let good = include_str!("../../../scenarios/core/progs/tail_calls.scn");
        let mut s: Vec<char> = good.chars().collect();
        let p = pos % s.len();
        s[p] = ch;
        let src: String = s.into_iter().collect();
        if let Ok(sc) = Scenario::from_text("m.scn", &src, &Mem) {
            let _ = sc.run(&Default::default());
        }
    }
}
