//! Running many scenarios as `bpfemu test` does: collect `.scn` files,
//! run each under every available engine, twice (the two outputs must be
//! identical), compare with the golden `.expected` file beside it (or
//! rewrite it when blessing), and describe every failure.

use crate::{Engine, Options, Scenario};
use std::path::{Path, PathBuf};

/// The `.scn` files under `paths` (files are taken as given), sorted;
/// include-only files use the `.inc` extension and are not collected.
pub fn collect(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    entries.sort();
    for e in entries {
        if e.is_dir() {
            walk(&e, out)?;
        } else if e.extension().is_some_and(|x| x == "scn") {
            out.push(e);
        }
    }
    Ok(())
}

/// Parses `K/N` (1-based K).
pub fn parse_partition(s: &str) -> Result<(usize, usize), String> {
    let err = || format!("`{s}`: expected K/N with 1 <= K <= N, e.g. 1/4");
    let (k, n) = s.split_once('/').ok_or_else(err)?;
    let (k, n): (usize, usize) = (k.parse().map_err(|_| err())?, n.parse().map_err(|_| err())?);
    if k == 0 || n == 0 || k > n {
        return Err(err());
    }
    Ok((k, n))
}

/// The files of partition `k` of `n` (round robin over the sorted list).
pub fn partition(files: Vec<PathBuf>, k: usize, n: usize) -> Vec<PathBuf> {
    files.into_iter().enumerate().filter(|(i, _)| i % n == k - 1).map(|(_, f)| f).collect()
}

/// The golden file beside a scenario.
pub fn golden_path(scn: &Path) -> PathBuf {
    scn.with_extension("expected")
}

/// The result of one scenario under one engine.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub name: String,
    pub engine: Engine,
    pub ok: bool,
    /// Why it failed (several lines), empty on success.
    pub message: String,
    /// Was the golden file (re)written?
    pub blessed: bool,
}

/// Runs one scenario file under `engine`: twice for determinism, then the
/// golden comparison (or blessing).
pub fn run_case(path: &Path, engine: Engine, bless: bool) -> CaseResult {
    let name = path.to_string_lossy().into_owned();
    let mut res =
        CaseResult { name: name.clone(), engine, ok: false, message: String::new(), blessed: false };
    let sc = match Scenario::from_file(path) {
        Ok(s) => s,
        Err(d) => {
            res.message = d.to_string();
            return res;
        }
    };
    let opts = Options { seed: None, engine };
    let a = sc.run(&opts);
    let b = sc.run(&opts);
    if a.text != b.text || a.json != b.json {
        res.message = format!("not deterministic: two runs differ\n{}", first_diff(&a.text, &b.text));
        return res;
    }
    let golden = golden_path(path);
    let mut msgs = Vec::new();
    if !a.ok() {
        msgs.push(format!("{} expectation(s) failed:\n  {}", a.failed, a.failures.join("\n  ")));
    }
    if bless {
        if let Err(e) = std::fs::write(&golden, &a.text) {
            msgs.push(format!("cannot write {}: {e}", golden.display()));
        } else {
            res.blessed = true;
        }
    } else if let Ok(want) = std::fs::read_to_string(&golden)
        && want != a.text
    {
        msgs.push(format!(
            "output differs from {} (rerun with --bless to accept)\n{}",
            golden.display(),
            first_diff(&want, &a.text)
        ));
    }
    res.ok = msgs.is_empty();
    res.message = msgs.join("\n");
    res
}

/// The first differing line of two texts, as `- expected` / `+ actual`.
pub fn first_diff(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    for i in 0..w.len().max(g.len()) {
        if w.get(i) != g.get(i) {
            return format!(
                "  at line {}:\n  - {}\n  + {}",
                i + 1,
                w.get(i).copied().unwrap_or("<end of output>"),
                g.get(i).copied().unwrap_or("<end of output>")
            );
        }
    }
    "  (texts differ only in the final newline)".into()
}

/// JUnit XML for a list of results.
pub fn junit(results: &[CaseResult]) -> String {
    let failures = results.iter().filter(|r| !r.ok).count();
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"bpfemu-scenarios\" tests=\"{}\" failures=\"{}\">\n",
        results.len(),
        failures
    );
    for r in results {
        let name = xml(&format!("{} [{}]", r.name, r.engine.name()));
        if r.ok {
            s.push_str(&format!("  <testcase name=\"{name}\"/>\n"));
        } else {
            s.push_str(&format!(
                "  <testcase name=\"{name}\">\n    <failure message=\"scenario failed\">{}</failure>\n  </testcase>\n",
                xml(&r.message)
            ));
        }
    }
    s.push_str("</testsuite>\n");
    s
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Parses `A..B` (inclusive A, exclusive B) or `A..=B`.
pub fn parse_seed_range(s: &str) -> Result<std::ops::Range<u64>, String> {
    let err = || format!("`{s}`: expected a seed range such as 0..100");
    if let Some((a, b)) = s.split_once("..=") {
        let (a, b): (u64, u64) = (a.parse().map_err(|_| err())?, b.parse().map_err(|_| err())?);
        return if a <= b { Ok(a..b + 1) } else { Err(err()) };
    }
    let (a, b) = s.split_once("..").ok_or_else(err)?;
    let (a, b): (u64, u64) = (a.parse().map_err(|_| err())?, b.parse().map_err(|_| err())?);
    if a >= b {
        return Err(err());
    }
    Ok(a..b)
}

/// One distinct outcome found by [`explore`].
#[derive(Debug, Clone)]
pub struct Distinct {
    pub outcome: String,
    pub first_seed: u64,
    pub count: usize,
}

/// The result of exploring seeds.
#[derive(Debug, Clone, Default)]
pub struct Exploration {
    pub distinct: Vec<Distinct>,
    /// Seeds whose run broke an expectation, with the first failure.
    pub failing: Vec<(u64, String)>,
}

/// Runs `sc` under every seed of `seeds`.
pub fn explore(sc: &Scenario, seeds: std::ops::Range<u64>, engine: Engine) -> Exploration {
    let mut ex = Exploration::default();
    for seed in seeds {
        let r = sc.run(&Options { seed: Some(seed), engine });
        match ex.distinct.iter_mut().find(|d| d.outcome == r.outcome) {
            Some(d) => d.count += 1,
            None => ex.distinct.push(Distinct { outcome: r.outcome.clone(), first_seed: seed, count: 1 }),
        }
        if !r.ok() {
            ex.failing.push((seed, r.failures.first().cloned().unwrap_or_default()));
        }
    }
    ex
}
