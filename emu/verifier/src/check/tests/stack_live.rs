//! Stack-slot liveness ([`crate::check::stack_live`]): a slot the
//! continuation never reads does not block pruning; one it reads — directly,
//! through a pointer in a callee, through a helper — does.

use super::*;

/// Two paths join at `j` with different values in fp-8 (a spilled stack
/// pointer on one, a scalar on the other); `after` follows the join.
fn join_prog(after: &str) -> String {
    format!(
        "r6 = *(u32 *)(r1 +0)\nr0 = 0\nif r6 > 3 goto a\n*(u64 *)(r10 -8) = r10\nr8 = 1\nr8 += 1\nr8 += 1\nr8 += 1\n\
         goto j\na: *(u64 *)(r10 -8) = r6\nj: r0 = 0\n{after}r0 += 1\nr0 += 1\nr0 += 1\nr0 += 1\nr0 += 1\n\
         r0 += 1\nexit"
    )
}

#[test]
fn unread_slot_does_not_block_pruning() {
    // fp-8 is dead after the join: the second path is pruned there.
    let o = accept(&join_prog(""));
    // First path: 9 insns to the join, 8 after it; second: `a`, then the
    // join (counted, then pruned).
    assert_eq!(o.stats.insn_processed, 19, "{:?}", o.stats);
    // Read after the join, the slot keeps the second path from being
    // pruned (as every slot did before stack liveness): both walk the
    // join and the 9 instructions after it.
    let read = accept(&join_prog("r2 = *(u64 *)(r10 -8)\n"));
    assert_eq!(read.stats.insn_processed, 9 + 9 + 1 + 9, "{:?}", read.stats);
    assert!(o.stats.insn_processed < read.stats.insn_processed);
    assert!(read.stats.mark_read >= 1, "{:?}", read.stats);
}

#[test]
fn overwritten_slot_does_not_block_pruning() {
    // fp-8 is written before it is read after the join: the older value
    // is dead.
    let o = accept(&join_prog("r2 = 5\n*(u64 *)(r10 -8) = r2\nr2 = *(u64 *)(r10 -8)\n"));
    assert_eq!(o.stats.insn_processed, 9 + 11 + 2, "{:?}", o.stats);
    // A narrower store keeps the other bytes: still live.
    let o = accept(&join_prog("*(u32 *)(r10 -8) = 5\nr2 = *(u64 *)(r10 -8)\n"));
    assert_eq!(o.stats.insn_processed, 9 + 10 + 1 + 10, "{:?}", o.stats);
}

#[test]
fn read_through_a_callee_pointer_is_live() {
    // The first path leaves a valid stack pointer in fp-8, the second a
    // scalar; only the callee reads the slot, through r1. Pruning the
    // second path would accept a dereference of a scalar.
    reject(
        "r6 = *(u32 *)(r1 +0)\nr0 = 0\n*(u64 *)(r10 -16) = r0\nif r6 > 3 goto a\nr3 = r10\nr3 += -16\n\
         *(u64 *)(r10 -8) = r3\nr8 = 1\nr8 += 1\nr8 += 1\nr8 += 1\ngoto j\na: *(u64 *)(r10 -8) = r6\n\
         j: r1 = r10\nr1 += -8\nr2 = 0\nr3 = 0\nr4 = 0\nr5 = 0\ncall f\nr0 = 0\nexit\n\
         f: r2 = *(u64 *)(r1 +0)\nr0 = *(u8 *)(r2 +0)\nexit",
        "R2 invalid mem access 'scalar'",
    );
}

#[test]
fn helper_read_is_live() {
    // Only the helper reads fp-8 (the key): the second path leaves it
    // uninitialised and must be refused.
    reject_with(
        "r6 = *(u32 *)(r1 +0)\nr0 = 0\nif r6 > 3 goto a\n*(u64 *)(r10 -8) = r0\nr8 = 1\nr8 += 1\nr8 += 1\n\
         r8 += 1\ngoto j\na: r8 = 0\nj: r2 = r10\nr2 += -8\nr1 = map[fd:0]\ncall bpf_map_lookup_elem#1\n\
         r0 = 0\nexit",
        unpriv(),
        "invalid read from stack R2 off -8+0 size 4",
    );
}

#[test]
fn read_of_a_caller_slot_after_the_callee_returns_is_live() {
    // The slot is read after the call returns; the join is inside the
    // callee, where the caller's fp-8 differs.
    reject(
        "r6 = *(u32 *)(r1 +0)\nr0 = 0\n*(u64 *)(r10 -16) = r0\nr3 = r10\nr3 += -16\n*(u64 *)(r10 -8) = r3\n\
         r1 = r10\nr1 += -8\nr2 = r6\ncall f\nr2 = *(u64 *)(r10 -8)\nr0 = *(u8 *)(r2 +0)\nr0 = 0\nexit\n\
         f: if r2 > 3 goto a\nr8 = 1\nr8 += 1\nr8 += 1\nr8 += 1\nr8 += 1\ngoto j\n\
         a: *(u64 *)(r1 +0) = r2\nj: r0 = 0\nr0 += 1\nr0 += 1\nexit",
        "R2 invalid mem access 'scalar'",
    );
}
