//! The interpreter against rbpf 0.4.1's interpreter on the same bytecode.
//!
//! Three programs of different character (`bench/programs/`): a
//! prime-counting loop (ALU, mul/mod), a byte-copy loop (loads/stores) and a
//! branchy compare chain. Each is run by bpfemu in fast mode (trusting the
//! verifier), in checked mode (every access validated), and by rbpf's
//! `EbpfVmRaw` interpreter (which bounds-checks every access); and by
//! bpfemu's x86-64 JIT (`bpfemu-jit`, x86-64 hosts, where the program
//! compiles).
//!
//! `cargo bench -p bpfemu-bench --bench interp`

use bpfemu_isa::insns_to_bytes;
use bpfemu_vm::{Interpreter, MemRegion, Program};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use bpfemu_bench::{load_program as load, program_mem as mem};

fn bench_program(c: &mut Criterion, name: &str) {
    let insns = load(name);
    let bytes = insns_to_bytes(&insns);
    let prog = Program::new(&insns).expect("benchmark program loads");
    let vm = Interpreter::new();
    let mut buf = mem();
    let region = MemRegion::from_mut_slice("mem", &mut buf);
    let args = [region.start(), region.len()];

    // One run of each engine first: they must agree, or the comparison is void.
    let checked = vm.run_checked(&prog, &args, std::slice::from_ref(&region)).expect("checked run");
    // SAFETY: every access of the three programs stays within `buf` (checked
    // just above in checked mode) or the interpreter's own stack.
    let fast = unsafe { vm.run_fast(&prog, &args) }.expect("fast run");
    let mut rbpf_mem = mem();
    let rbpf_vm = rbpf::EbpfVmRaw::new(Some(&bytes)).expect("rbpf accepts the program");
    let rbpf_r0 = rbpf_vm.execute_program(&mut rbpf_mem).expect("rbpf run");
    assert_eq!((checked, fast), (rbpf_r0, rbpf_r0), "{name}: engines disagree");
    #[cfg(target_arch = "x86_64")]
    let jit = bpfemu_vm::JitProgram::compile(&prog, &vm).ok();
    #[cfg(target_arch = "x86_64")]
    if let Some(jit) = &jit {
        // SAFETY: as for the fast run.
        assert_eq!(unsafe { jit.run(&args) }, Ok(checked), "{name}: the JIT disagrees");
    }

    let mut g = c.benchmark_group(name);
    g.bench_function("bpfemu-fast", |b| {
        // SAFETY: as above; the program and buffer do not change between runs.
        b.iter(|| unsafe { vm.run_fast(black_box(&prog), black_box(&args)) })
    });
    g.bench_function("bpfemu-checked", |b| {
        b.iter(|| vm.run_checked(black_box(&prog), black_box(&args), std::slice::from_ref(&region)))
    });
    #[cfg(target_arch = "x86_64")]
    if let Some(jit) = &jit {
        g.bench_function("bpfemu-jit", |b| {
            // SAFETY: as for the fast run.
            b.iter(|| unsafe { jit.run(black_box(&args)) })
        });
    }
    g.bench_function("rbpf-0.4.1", |b| b.iter(|| rbpf_vm.execute_program(black_box(&mut rbpf_mem))));
    g.finish();
}

fn interp(c: &mut Criterion) {
    for name in ["primes", "copy", "switch"] {
        bench_program(c, name);
    }
}

criterion_group!(benches, interp);
criterion_main!(benches);
