//! The kernel-syntax assembler never panics: random text, token soup and
//! garbled valid lines either assemble or fail with an error. Whatever
//! assembles is a fixed point of disassemble-then-assemble.

use bpfemu_isa::asm::kernel::assemble;
use bpfemu_isa::disasm::{Syntax, disasm_program_with};
use proptest::prelude::*;
use proptest::sample::select;

/// Valid lines in both syntaxes, to garble.
const LINES: &[&str] = &[
    "r0 = *(u32 *)(r1 +4)",
    "r0 = *(u32 *)(r1 + 4)",
    "w0 += w1",
    "r1 = (s8)r2",
    "r0 = *(s16 *)(r1 +2)",
    "if w1 s> 0x5 goto pc+3",
    "if w1 s> 5 goto +3",
    "goto pc-2",
    "gotol pc+100",
    "lock *(u64 *)(r10 -8) += r1",
    "lock *(u32 *)(r10 - 4) += w1",
    "r1 = atomic64_fetch_add((u64 *)(r10 -8), r1)",
    "w1 = atomic_fetch_or((u32 *)(r10 - 8), w1)",
    "r0 = atomic_cmpxchg((u32 *)(r2 +0), r0, r3)",
    "r0 = cmpxchg_64(r2 + 8, r0, r3)",
    "w1 = xchg32_32(r10 + 0, w1)",
    "r1 = be16 r1",
    "r1 = bswap32 r1",
    "r1 = 0x1122334455667788 ll",
    "r1 = -1 ll",
    "r1 = map[fd:3][0]+16",
    "r1 = map[idx:1]+8",
    "r1 = btf_id[77][btf_fd:4]",
    "r1 = subprog[-5]",
    "ld_pseudo r1, 1, 3",
    "call bpf_map_lookup_elem#1",
    "call kernel-function#7[btf_fd_idx:2]",
    "call pc+5",
    "callx r2",
    "exit",
    "r0 = *(u16 *)skb[r7 + -2]",
    "r0 = *(u8 *)skb[12]",
    "*(u32 *)(r1 +0) = -5",
    "*(u8 *)(r10 - 1) = w3",
    "3: (b7) r0 = 1",
    "lbl: if r1 == 0 goto lbl ; comment",
];

const TOKENS: &[&str] = &[
    "r0",
    "r1",
    "w1",
    "r10",
    "r11",
    "w99",
    "=",
    "+=",
    "s>>=",
    "s/=",
    "-",
    "+",
    "*",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    "#",
    "u8",
    "u64",
    "s32",
    "ll",
    "goto",
    "gotol",
    "pc",
    "pc+",
    "if",
    "call",
    "callx",
    "exit",
    "lock",
    "skb",
    "map",
    "fd",
    "idx",
    "subprog",
    "btf_id",
    "ld_pseudo",
    "atomic64_fetch_add",
    "xchg_64",
    "cmpxchg32_32",
    "kernel-function",
    "be16",
    "bswap64",
    "0",
    "1",
    "-1",
    "0x",
    "0xffffffff",
    "4294967296",
    "99999999999999999999999",
    "-32769",
    "lbl",
    "lbl:",
    ";",
    "//",
    "é",
    "\t",
    " ",
];

fn check(src: &str) -> Result<(), TestCaseError> {
    if let Ok(insns) = assemble(src) {
        for syntax in [Syntax::Kernel, Syntax::Llvm] {
            let text: String = disasm_program_with(&insns, syntax)
                .map_err(|e| TestCaseError::fail(format!("{src:?} assembled to undecodable {e}")))?
                .into_iter()
                .map(|(_, t)| t + "\n")
                .collect();
            prop_assert_eq!(assemble(&text).ok(), Some(insns.clone()), "{:?} -> {:?}", src, text);
        }
    }
    Ok(())
}

#[derive(Clone, Debug)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, char),
    Replace(usize, char),
    Duplicate(usize, usize),
}

fn garble(line: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = line.chars().collect();
    for e in edits {
        let n = chars.len().max(1);
        match *e {
            Edit::Delete(at, len) => {
                let at = at % n;
                let end = (at + len % 4).min(chars.len());
                if at < end {
                    chars.drain(at..end);
                }
            }
            Edit::Insert(at, c) => chars.insert(at % (chars.len() + 1), c),
            Edit::Replace(at, c) => {
                if let Some(slot) = chars.get_mut(at % n) {
                    *slot = c;
                }
            }
            Edit::Duplicate(at, len) => {
                let at = at % n;
                let piece: Vec<char> = chars.iter().skip(at).take(len % 6).copied().collect();
                let pos = at.min(chars.len());
                chars.splice(pos..pos, piece);
            }
        }
    }
    chars.into_iter().collect()
}

fn edit() -> impl Strategy<Value = Edit> {
    let ch = prop_oneof![select(" ()[]*+-=,:#;x0189rwspl_.".chars().collect::<Vec<_>>()), any::<char>()];
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(a, l)| Edit::Delete(a, l)),
        (any::<usize>(), ch.clone()).prop_map(|(a, c)| Edit::Insert(a, c)),
        (any::<usize>(), ch).prop_map(|(a, c)| Edit::Replace(a, c)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, l)| Edit::Duplicate(a, l)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_text_never_panics(src in any::<String>()) {
        check(&src)?;
    }

    #[test]
    fn token_soup_never_panics(toks in proptest::collection::vec(select(TOKENS.to_vec()), 0..12),
                               seps in proptest::collection::vec(select(vec!["", " ", "\n"]), 12)) {
        let src: String = toks.iter().zip(&seps).flat_map(|(t, s)| [*t, *s]).collect();
        check(&src)?;
    }

    #[test]
    fn garbled_lines_never_panic(line in select(LINES.to_vec()),
                                 edits in proptest::collection::vec(edit(), 1..4)) {
        check(&garble(line, &edits))?;
    }
}

#[test]
fn the_garbling_corpus_is_valid() {
    for line in LINES {
        assert!(assemble(line).is_ok(), "{line}: {:?}", assemble(line));
    }
}
