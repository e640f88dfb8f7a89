//! Verification throughput: `BPF_PROG_LOAD` of three syscall programs, in
//! processed instructions per second (criterion's `Elements` are the
//! verifier's `processed N insns` of the program).
//!
//! `cargo bench -p bpfemu-bench --bench verifier -- --warm-up-time 1 --measurement-time 3`
//!
//! * `straight` — 4000 straight-line ALU and stack instructions;
//! * `loop` — a bounded loop of 1000 iterations (the verifier walks every
//!   iteration: the counter differs in each state);
//! * `branchy` — 200 if/else diamonds on unknown scalars, both sides
//!   ending in the same state: 2^200 paths without pruning, linear with it.
//!
//! A load is the whole pipeline (attribute checks, relocation, the
//! verifier, the tag's SHA-1, the image), without a log; the verifier
//! dominates. Each program is first loaded once with a level-1 log, whose
//! statistics (processed insns, total_states, peak_states) are printed to
//! stderr (docs/performance.md lists them).

use bpfemu_isa::Insn;
use bpfemu_isa::asm::kernel::assemble;
use bpfemu_kernel::bpf::BpfAttr;
use bpfemu_kernel::bpf::attr::ProgLoadAttr;
use bpfemu_kernel::uapi::ProgType;
use bpfemu_kernel::{Kernel, KernelConfig};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::fmt::Write as _;
use std::hint::black_box;

/// 4000 instructions of ALU and stack traffic, then exit.
fn straight() -> String {
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
fn looped() -> String {
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
fn branchy() -> String {
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

/// Loads `insns`, with a level-1 log when `with_log`; the log.
fn load(k: &mut Kernel, insns: &[Insn], with_log: bool) -> String {
    let mut log = String::new();
    let attr = ProgLoadAttr {
        prog_type: ProgType::Syscall.raw(),
        insns,
        license: "GPL",
        log_level: u32::from(with_log),
        log_size: if with_log { 1 << 24 } else { 0 },
        log: with_log.then_some(&mut log),
        ..Default::default()
    };
    let fd = k.bpf(BpfAttr::ProgLoad(attr)).unwrap_or_else(|e| panic!("program loads: {e}\n{log}"));
    k.close(fd as i32).expect("close");
    log
}

/// `(processed, total_states, peak_states)` of a log's statistics line.
fn stats(log: &str) -> (u64, u64, u64) {
    let line = log.lines().rev().find(|l| l.starts_with("processed ")).expect("statistics line");
    let w: Vec<&str> = line.split(' ').collect();
    let after = |key: &str| -> u64 {
        let i = w.iter().position(|x| *x == key).unwrap_or_else(|| panic!("{key} in {line}"));
        w[i + 1].parse().expect("number")
    };
    (w[1].parse().expect("processed count"), after("total_states"), after("peak_states"))
}

fn verifier(c: &mut Criterion) {
    let mut k = Kernel::new(KernelConfig::default());
    let mut g = c.benchmark_group("verify");
    for (name, src) in [("straight", straight()), ("loop", looped()), ("branchy", branchy())] {
        let insns = assemble(&src).expect("assembles");
        let log = load(&mut k, &insns, true);
        let (processed, total, peak) = stats(&log);
        eprintln!(
            "verify/{name}: {} insns, processed {processed}, total_states {total}, peak_states {peak}",
            insns.len()
        );
        g.throughput(Throughput::Elements(processed));
        g.bench_function(name, |b| b.iter(|| load(&mut k, black_box(&insns), false)));
    }
    g.finish();
}

criterion_group!(benches, verifier);
criterion_main!(benches);
