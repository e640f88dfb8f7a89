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

use bpfemu_bench::verifier_progs::{programs, stats};
use bpfemu_isa::Insn;
use bpfemu_isa::asm::kernel::assemble;
use bpfemu_kernel::bpf::BpfAttr;
use bpfemu_kernel::bpf::attr::ProgLoadAttr;
use bpfemu_kernel::uapi::ProgType;
use bpfemu_kernel::{Kernel, KernelConfig};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// Loads `insns`, with a level-1 log when `with_log`; the log.
fn load(k: &mut Kernel, insns: &[Insn], with_log: bool) -> String {
    let mut log = String::new();
    let attr = ProgLoadAttr {
        prog_type: ProgType::Syscall.raw(),
        insns,
        license: "GPL",
        // Syscall programs must be sleepable (check_attach_btf_id()).
        prog_flags: bpfemu_kernel::bpf::load::default_prog_flags(ProgType::Syscall),
        log_level: u32::from(with_log),
        log_size: if with_log { 1 << 24 } else { 0 },
        log: with_log.then_some(&mut log),
        ..Default::default()
    };
    let fd = k.bpf(BpfAttr::ProgLoad(attr)).unwrap_or_else(|e| panic!("program loads: {e}\n{log}"));
    k.close(fd as i32).expect("close");
    log
}

fn verifier(c: &mut Criterion) {
    let mut k = Kernel::new(KernelConfig::default());
    let mut g = c.benchmark_group("verify");
    for (name, src) in programs() {
        let insns = assemble(&src).expect("assembles");
        let log = load(&mut k, &insns, true);
        let s = stats(&log).expect("statistics line");
        let (processed, total, peak) = (s.processed, s.total_states, s.peak_states);
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
