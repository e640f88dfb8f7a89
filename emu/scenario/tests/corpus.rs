//! The shape of the verifier corpus (`scenarios/verifier/`, issue 5): at
//! least 300 cases; each `prog` case is preceded by a `# RULE` comment
//! naming the rule; each rejection names the kernel's message in an
//! `expect log` right after it (unless the load has no log: `log_level=0`,
//! or a refusal before the verifier runs, which the rule comment says with
//! "no log"); every family
//! has cases on both sides, except those whose accepting side needs kernel
//! support that does not exist yet.

use std::path::PathBuf;

/// Families with rejections only, and why.
const ONE_SIDED: &[(&str, &str)] = &[];

fn corpus() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/verifier");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("scenarios/verifier readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "scn"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(p).expect("readable"))
        })
        .collect()
}

#[test]
fn every_case_names_its_rule_and_every_rejection_its_message() {
    let mut cases = 0;
    let mut bad = Vec::new();
    for (file, text) in corpus() {
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if !l.starts_with("prog ") {
                continue;
            }
            let here = format!("{file}:{}", i + 1);
            // The rule comment: the first line above that is not a
            // declaration (`map`, `uid`) and not a continuation comment.
            let mut j = i;
            while j > 0 && (lines[j - 1].starts_with("map ") || lines[j - 1].starts_with("uid ")) {
                j -= 1;
            }
            while j > 0 && lines[j - 1].starts_with('#') && !lines[j - 1].starts_with("# RULE ") {
                j -= 1;
            }
            if j == 0 || !lines[j - 1].starts_with("# RULE ") {
                bad.push(format!("{here}: no `# RULE` comment before the case"));
            }
            let comment = lines[j.saturating_sub(1)..i].join(" ");
            let Some(end) = (i..lines.len()).find(|&k| lines[k].starts_with('}')) else {
                bad.push(format!("{here}: no closing `}}`"));
                continue;
            };
            let outcome = lines[end].split("=>").nth(1).map(str::trim).unwrap_or("");
            if outcome.is_empty() {
                bad.push(format!("{here}: the load has no `=> ok` or `=> ERRNO`"));
                continue;
            }
            let accepted = outcome == "ok";
            let no_log = l.contains("log_level=0") || comment.contains("no log");
            if !accepted && !no_log && !lines.get(end + 1).is_some_and(|n| n.starts_with("expect log \"")) {
                bad.push(format!("{here}: a rejection ({outcome}) without `expect log` after it"));
            }
            cases += 1;
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert!(cases >= 300, "only {cases} cases");
}

#[test]
fn every_family_has_both_sides() {
    for (file, text) in corpus() {
        let ok = text.lines().filter(|l| l.starts_with("} => ok")).count();
        let refused = text.lines().filter(|l| l.starts_with("} => E")).count();
        if ONE_SIDED.iter().any(|(f, _)| *f == file) {
            assert!(refused > 0, "{file}: no rejection");
            continue;
        }
        assert!(ok > 0 && refused > 0, "{file}: {ok} accepted and {refused} refused cases");
    }
}
