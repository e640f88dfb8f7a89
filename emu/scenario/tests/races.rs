//! Program runs in `concurrent` branches interleave at their helper calls
//! (`emu/scenario/src/interleave.rs`): exploring seeds of
//! `scenarios/core/races/counter.scn` finds the lost update of a plain
//! load-add-store counter and never one of the atomic counter, with the
//! same outcomes, seed by seed, under every engine.

use bpfemu_scenario::{Engine, Scenario, suite};
use std::path::PathBuf;

#[test]
fn interleaved_runs_lose_plain_updates_but_not_atomic_ones() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/core/races/counter.scn");
    let sc = Scenario::from_file(&path).expect("counter.scn parses");
    let mut per_engine = Vec::new();
    for &e in Engine::AVAILABLE {
        let ex = suite::explore(&sc, 0..64, e);
        assert!(ex.failing.is_empty(), "{:?}", ex.failing);
        let totals: Vec<&str> = ex
            .distinct
            .iter()
            .map(|d| {
                let line = d.outcome.lines().find(|l| l.starts_with("counter.scn:51:")).expect("plain total");
                line.rsplit(' ').next().unwrap_or("")
            })
            .collect();
        assert!(totals.contains(&"value=0200000000000000"), "no seed kept both updates: {totals:?}");
        assert!(totals.contains(&"value=0100000000000000"), "no seed lost an update: {totals:?}");
        for d in &ex.distinct {
            assert!(d.outcome.contains("counter.scn:52: value=0200000000000000"), "atomic counter lost one");
        }
        per_engine.push(ex.distinct.iter().map(|d| (d.first_seed, d.count)).collect::<Vec<_>>());
    }
    assert!(per_engine.windows(2).all(|w| w[0] == w[1]), "engines interleave differently: {per_engine:?}");
}
