//! Pruning, loops, infinite-loop detection.

use super::*;

#[test]
fn diamond_is_pruned() {
    // Many independent diamonds: without pruning 2^20 paths.
    let mut src = String::from("r6 = *(u32 *)(r1 +0)\nr0 = 0\n");
    for i in 0..20 {
        src.push_str(&format!(
            "if r6 > {i} goto l{i}\nr7 = 1\nl{i}: r8 = 2\nr9 = 3\nr9 += 1\nr9 += 1\nr9 += 1\nr9 += 1\n"
        ));
    }
    src.push_str("exit");
    let o = accept(&src);
    assert!(o.stats.insn_processed < 2000, "{:?}", o.stats);
    assert!(o.stats.total_states > 0);
}

#[test]
fn bounded_loop() {
    let o = accept("r0 = 0\nr1 = 0\nl: r0 += 2\nr1 += 1\nif r1 < 10 goto l\nexit");
    assert!(o.stats.insn_processed >= 30, "{:?}", o.stats);
}

#[test]
fn infinite_loop_detected() {
    let e = reject("r0 = 0\nl: r1 = 0\nif r0 == 0 goto l\nexit", "infinite loop detected at insn 1");
    assert_eq!(e.errno, 22);
}

#[test]
fn unbounded_loop_hits_limit() {
    let (r, _) = run("r0 = 0\nl: r0 += 1\nif r0 != 0 goto l\nexit");
    let e = r.unwrap_err();
    assert_eq!(e.errno, 7);
    assert!(e.msg.starts_with("BPF program is too large. Processed 1000001 insn"), "{}", e.msg);
}

#[test]
fn back_edge_without_cap_bpf() {
    reject_with("r0 = 0\nl: r0 += 1\nif r0 < 3 goto l\nexit", unpriv(), "back-edge from insn 2 to 1");
}
