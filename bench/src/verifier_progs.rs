//! The programs of the verifier benchmark (`benches/verifier.rs`), shared
//! with `bpfemu-hostcmp --verifier-bench`, which loads the same programs
//! into the host kernel to compare its state counts with bpfemu's.
//! They are syscall programs (loaded `BPF_F_SLEEPABLE`, as the kernel
//! requires) that call only `bpf_get_prandom_u32`.

use std::fmt::Write as _;

/// The three programs by name, in kernel assembler syntax.
pub fn programs() -> [(&'static str, String); 3] {
    [("straight", straight()), ("loop", looped()), ("branchy", branchy())]
}

/// 4000 instructions of ALU and stack traffic, then exit.
pub fn straight() -> String {
    let mut s = String::from("r1 = 1\nr2 = 2\n");
    let mut i = 0;
    while i < 3990 / 5 {
        let slot = 8 * (1 + i % 32);
        let _ = writeln!(s, "r1 += {}", i % 7 + 1);
        let _ = writeln!(s, "*(u64 *)(r10 -{slot}) = r1");
        let _ = writeln!(s, "r3 = *(u64 *)(r10 -{slot})");
        let _ = writeln!(s, "r2 ^= r3");
        let _ = writeln!(s, "w2 <<= 1");
        i += 1;
    }
    s.push_str("r0 = r2\nexit\n");
    s
}

/// A loop of 1000 iterations over a stack buffer.
pub fn looped() -> String {
    "
    r1 = 0
    r2 = 0
    *(u64 *)(r10 -8) = r2
    *(u64 *)(r10 -16) = r2
    *(u64 *)(r10 -24) = r2
    *(u64 *)(r10 -32) = r2
loop:
    r3 = r1
    r3 &= 3
    r3 <<= 3
    r4 = r10
    r4 += -32
    r4 += r3
    r5 = *(u64 *)(r4 +0)
    r5 += r1
    *(u64 *)(r4 +0) = r5
    r2 += r5
    r1 += 1
    if r1 < 1000 goto loop
    r0 = r2
    exit
"
    .to_string()
}

/// 200 if/else diamonds on unknown scalars whose two sides do different
/// work that ends in the same state, so the join prunes the second path.
pub fn branchy() -> String {
    let mut s = String::from(
        "call bpf_get_prandom_u32#7\nr6 = r0\ncall bpf_get_prandom_u32#7\nr8 = r0\nr7 = 0\n\
         *(u64 *)(r10 -8) = r7\n",
    );
    for i in 0..200 {
        let (a, b) = if i % 2 == 0 { ("r6", "r8") } else { ("r8", "r6") };
        let _ = writeln!(s, "if {a} > {b} goto e{i}");
        let _ = writeln!(s, "r7 += {}", i + 1);
        let _ = writeln!(s, "r7 -= {}", i + 1);
        let _ = writeln!(s, "goto j{i}");
        let _ = writeln!(s, "e{i}:");
        let _ = writeln!(s, "r7 ^= 0");
        let _ = writeln!(s, "*(u64 *)(r10 -8) = r7");
        let _ = writeln!(s, "j{i}:");
    }
    s.push_str("r0 = *(u64 *)(r10 -8)\nexit\n");
    s
}

/// The numbers of a verifier log's statistics line (`processed N insns
/// (limit L) max_states_per_insn M total_states T peak_states P mark_read R`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub processed: u64,
    pub max_states_per_insn: u64,
    pub total_states: u64,
    pub peak_states: u64,
    pub mark_read: u64,
}

/// The statistics of `log` (its last `processed ...` line), if it has one.
pub fn stats(log: &str) -> Option<Stats> {
    let line = log.lines().rev().find(|l| l.starts_with("processed "))?;
    let w: Vec<&str> = line.split(' ').collect();
    let after = |key: &str| -> Option<u64> {
        let i = w.iter().position(|x| *x == key)?;
        w.get(i + 1)?.parse().ok()
    };
    Some(Stats {
        processed: w.get(1)?.parse().ok()?,
        max_states_per_insn: after("max_states_per_insn")?,
        total_states: after("total_states")?,
        peak_states: after("peak_states")?,
        mark_read: after("mark_read").unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_assemble() {
        for (name, src) in programs() {
            assert!(bpfemu_isa::asm::kernel::assemble(&src).is_ok(), "{name}");
        }
    }

    #[test]
    fn statistics_are_read_from_the_last_line() {
        let log = "0: (b7) r0 = 0\nprocessed 12 insns (limit 1000000) max_states_per_insn 2 total_states 5 peak_states 4 mark_read 1\n";
        let s = stats(log).unwrap();
        assert_eq!(
            (s.processed, s.max_states_per_insn, s.total_states, s.peak_states, s.mark_read),
            (12, 2, 5, 4, 1)
        );
        assert!(stats("R0 !read_ok\n").is_none());
    }
}
