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

#[test]
fn wider_state_is_not_pruned_by_narrower_one() {
    // Path 1 reaches `join` with r3 in [0, 4], path 2 with r3 in [0, 8]:
    // the second must be walked and the out-of-bounds access found.
    reject(
        "r2 = map[fd:0][0]+0\nr3 = *(u32 *)(r1 +0)\nr4 = *(u32 *)(r1 +4)\nif r4 > 5 goto wide\nr3 &= 4\n\
         r5 = 1\nr5 += 1\nr5 += 1\nr5 += 1\ngoto join\nwide: r3 &= 8\njoin: r2 += r3\nr0 = *(u64 *)(r2 +4)\nexit",
        "invalid access to map value, value_size=16 off=12 size=8",
    );
}

#[test]
fn dead_registers_do_not_block_pruning() {
    // r7 differs on the two sides but is dead at the join.
    let o = accept(
        "r6 = *(u32 *)(r1 +0)\nr0 = 0\nif r6 > 3 goto a\nr7 = 1\nr8 = 1\nr8 += 1\nr8 += 1\nr8 += 1\ngoto j\n\
         a: r7 = 2\nj: r7 = 0\nr0 = 0\nr0 += 1\nr0 += 1\nexit",
    );
    assert!(o.stats.insn_processed <= 16, "{:?}", o.stats);
}

#[test]
fn safe_lines_in_the_log() {
    let src = "r6 = *(u32 *)(r1 +0)\nr0 = 0\nif r6 > 3 goto a\nr7 = 1\nr8 = 1\nr8 += 1\nr8 += 1\nr8 += 1\ngoto j\n\
               a: r7 = 2\nj: r7 = 0\nr0 = 0\nr0 += 1\nr0 += 1\nexit";
    let (r, log) = run_with(src, VerifyOptions::default(), 2);
    r.unwrap();
    assert!(log.contains("\nfrom 2 to 9:"), "{log}");
    assert!(log.contains("10: safe\n"), "{log}");
}

#[test]
fn many_diamonds_scale() {
    // The compared value is dead at each join: every second path is pruned.
    // (Comparing one value again and again would be quadratic: every
    // scalar counts as precise here, see prune.rs.)
    let mut src = String::from("r0 = 0\n");
    for i in 0..1500 {
        src.push_str(&format!(
            "r6 = *(u32 *)(r1 +0)\nif r6 > {i} goto l{i}\nr7 = 1\nr8 = r7\nr8 += 1\nl{i}: r8 = 2\nr9 = 3\nr9 += 1\n"
        ));
    }
    src.push_str("exit");
    let o = accept(&src);
    assert!(o.stats.insn_processed < 60_000, "{:?}", o.stats);
}

#[test]
fn imprecise_scalars_are_pruned() {
    // A counter only returned: its value never matters, the states at each
    // join differ in it only and are pruned (2^30 paths otherwise).
    let mut src = String::from("r7 = 0\n");
    for i in 0..30 {
        src.push_str(&format!(
            "r8 = *(u32 *)(r1 +4)\nif r8 > 5 goto l{i}\nr7 += 1\nr9 = 1\nr9 += 1\nr9 += 1\nl{i}: r6 = 0\n"
        ));
    }
    src.push_str("r0 = r7\nexit");
    let o = accept(&src);
    assert!(o.stats.insn_processed < 2_000, "{:?}", o.stats);
    // The same counter used as a map value index must stay exact.
    let mut src = String::from("r7 = 0\nr5 = map[fd:0][0]+0\n");
    for i in 0..7 {
        src.push_str(&format!(
            "r8 = *(u32 *)(r1 +4)\nif r8 > 5 goto l{i}\nr7 += 2\nr9 = 1\nr9 += 1\nr9 += 1\nl{i}: r6 = 0\n"
        ));
    }
    src.push_str("r5 += r7\nr0 = *(u32 *)(r5 +0)\nexit");
    reject(&src, "invalid access to map value, value_size=16 off=14 size=4");
}

/// Diamonds whose taken side (walked last) adds `step` to r7.
fn diamonds(n: usize, tag: &str, step: i32) -> String {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "r8 = *(u32 *)(r1 +4)\nif r8 > 5 goto inc{tag}{i}\nr9 = 1\nr9 += 1\nr9 += 1\ngoto l{tag}{i}\n\
             inc{tag}{i}: r7 += {step}\nl{tag}{i}: r6 = 0\n"
        ));
    }
    s
}

#[test]
fn precision_follows_spills_and_copies() {
    // The value reaches the pointer through a spill, a fill and a copy;
    // the large values come from paths walked after the small ones.
    let src = format!(
        "r7 = 0\nr5 = map[fd:0][0]+0\n{}*(u64 *)(r10 -8) = r7\nr7 = 0\n{}r3 = *(u64 *)(r10 -8)\nr4 = r3\n\
         r5 += r4\nr0 = *(u32 *)(r5 +0)\nexit",
        diamonds(7, "a", 2),
        diamonds(4, "b", 1)
    );
    reject(&src, "invalid access to map value, value_size=16 off=14 size=4");
    // Linked copies: the bound is checked on a copy, the original is used.
    let src = format!(
        "r7 = 0\nr5 = map[fd:0][0]+0\n{}r2 = r7\nif r2 > 12 goto out\n{}r5 += r7\nr0 = *(u32 *)(r5 +0)\nout: r0 = 0\nexit",
        diamonds(7, "a", 2),
        diamonds(3, "b", 0)
    );
    accept(&src);
    let src = format!(
        "r7 = 0\nr5 = map[fd:0][0]+0\n{}r2 = r7\nif r2 > 14 goto out\n{}r5 += r7\nr0 = *(u32 *)(r5 +0)\nout: r0 = 0\nexit",
        diamonds(7, "a", 2),
        diamonds(3, "b", 0)
    );
    reject(&src, "invalid access to map value, value_size=16 off=14 size=4");
}

#[test]
fn long_loop_with_precise_counter() {
    // 3000 iterations, the counter masked into an index each time.
    let o = accept(
        "r6 = 0\nr5 = map[fd:0][0]+0\nl: r2 = r6\nr2 &= 12\nr3 = r5\nr3 += r2\nr0 = *(u32 *)(r3 +0)\n\
         r6 += 1\nif r6 < 3000 goto l\nr0 = 0\nexit",
    );
    assert!(o.stats.insn_processed > 20_000, "{:?}", o.stats);
}

#[test]
fn taken_side_keeps_the_link_precise() {
    // On the taken side of `r2 > 14`, r7 >= 15 through the copy r2 decides
    // `r7 < 15`; the path where r2 is no copy of r7 must not be pruned at
    // `check` against the linked one.
    let src = "r7 = *(u32 *)(r1 +0)\nr7 &= 20\nr5 = map[fd:0][0]+0\nr2 = r7\nr8 = *(u32 *)(r1 +4)\n\
               if r8 > 5 goto nolink\nr9 = 1\nr9 += 1\nr9 += 1\nr9 += 1\ngoto check\nnolink: r2 = 20\n\
               check: if r2 > 14 goto big\nr0 = 0\nexit\n\
               big: r9 = 1\nr9 += 1\nr9 += 1\nr9 += 1\nif r7 < 15 goto bad\nr0 = 0\nexit\n\
               bad: r5 += r7\nr0 = *(u64 *)(r5 +12)\nexit";
    reject(src, "invalid access to map value, value_size=16 off=12 size=8");
}
