//! The JIT against the other engines on the same bytecode, in one run.
//!
//! For each program of `bench/programs/` (primes, copy, strcmp, switch):
//! bpfemu's x86-64 JIT, bpfemu's fast-mode interpreter, rbpf 0.4.1's
//! interpreter, rbpf 0.4.1's x86-64 JIT, and the same algorithm written in
//! Rust (`native`). Every engine's r0 is compared before any timing. Plus
//! `jit-compile/1k`: compiling a 1 000-instruction straight-line program.
//!
//! x86-64 only (both JITs emit x86-64).
//! `cargo bench -p bpfemu-bench --bench jit -- --warm-up-time 1 --measurement-time 2`

#[cfg(target_arch = "x86_64")]
mod x86 {
    use bpfemu_isa::{AluOp, Instruction, Reg, Source, Width, encode_program, insns_to_bytes};
    use bpfemu_vm::{Interpreter, JitProgram, MemRegion, Program};
    use criterion::Criterion;
    use std::hint::black_box;

    use bpfemu_bench::{load_program as load, program_mem as mem};

    /// `primes.s` in Rust.
    fn primes() -> u64 {
        let mut count = 0;
        let mut n: u64 = 2;
        while n < black_box(10_000) {
            let mut d: u64 = 2;
            loop {
                if d * d > n {
                    count += 1;
                    break;
                }
                if n.is_multiple_of(d) {
                    break;
                }
                d += 1;
            }
            n += 1;
        }
        count
    }

    /// `copy.s` in Rust.
    fn copy(buf: &mut [u8]) -> u64 {
        let (src, dst) = buf.split_at_mut(1024);
        let mut sum = 0u64;
        for (s, d) in src.iter().zip(dst.iter_mut()) {
            *d = *s;
            sum += u64::from(*s);
        }
        sum
    }

    /// `strcmp.s` in Rust.
    fn strcmp(buf: &[u8]) -> u64 {
        let (a, b) = (&buf[..256], &buf[256..512]);
        a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(256) as u64
    }

    /// `switch.s` in Rust.
    fn switch() -> u64 {
        let mut r0: u64 = 0;
        let mut r1: u64 = 0;
        while r1 < black_box(100_000) {
            match r1 & 7 {
                0 => r0 = r0.wrapping_add(r1),
                1 => r0 = r0.wrapping_sub(3),
                2 => r0 = r0.wrapping_mul(3),
                3 => r0 ^= 21845,
                4 => r0 <<= 1,
                5 => r0 >>= 2,
                6 => r0 |= r1,
                _ => r0 ^= r1,
            }
            r1 += 1;
        }
        r0
    }

    fn native(name: &str, buf: &mut [u8]) -> u64 {
        match name {
            "primes" => primes(),
            "copy" => copy(buf),
            "strcmp" => strcmp(buf),
            "switch" => switch(),
            _ => unreachable!("no native version of {name}"),
        }
    }

    fn bench_program(c: &mut Criterion, name: &str) {
        let insns = load(name);
        let bytes = insns_to_bytes(&insns);
        let prog = Program::new(&insns).expect("benchmark program loads");
        let vm = Interpreter::new();
        let mut buf = mem();
        let region = MemRegion::from_mut_slice("mem", &mut buf);
        let args = [region.start(), region.len()];
        let jit = JitProgram::compile(&prog, &vm).expect("the JIT compiles the benchmark program");
        let mut rbpf_mem = mem();
        let mut rbpf_jit = rbpf::EbpfVmRaw::new(Some(&bytes)).expect("rbpf accepts the program");
        rbpf_jit.jit_compile().expect("rbpf's JIT compiles the program");
        let rbpf_vm = rbpf::EbpfVmRaw::new(Some(&bytes)).expect("rbpf accepts the program");
        let mut native_mem = mem();

        // One run of each engine first: they must agree, or the comparison is void.
        let checked = vm.run_checked(&prog, &args, std::slice::from_ref(&region)).expect("checked run");
        // SAFETY: every access of the programs stays within `buf` (checked
        // just above in checked mode) or the interpreter's own stack.
        let fast = unsafe { vm.run_fast(&prog, &args) }.expect("fast run");
        // SAFETY: as for the fast run.
        let j = unsafe { jit.run(&args) }.expect("JIT run");
        let rbpf_r0 = rbpf_vm.execute_program(&mut rbpf_mem).expect("rbpf run");
        // SAFETY: rbpf's JIT runs the same program on a buffer of the same
        // length; the checked run above showed every access is in bounds.
        let rbpf_jit_r0 = unsafe { rbpf_jit.execute_program_jit(&mut rbpf_mem) }.expect("rbpf JIT run");
        let nat = native(name, &mut native_mem);
        assert_eq!([fast, j, rbpf_r0, rbpf_jit_r0, nat], [checked; 5], "{name}: engines disagree");

        let mut g = c.benchmark_group(name);
        g.bench_function("bpfemu-jit", |b| {
            // SAFETY: as for the fast run.
            b.iter(|| unsafe { jit.run(black_box(&args)) })
        });
        g.bench_function("bpfemu-fast", |b| {
            // SAFETY: as above; the program and buffer do not change between runs.
            b.iter(|| unsafe { vm.run_fast(black_box(&prog), black_box(&args)) })
        });
        g.bench_function("rbpf-0.4.1-interp", |b| {
            b.iter(|| rbpf_vm.execute_program(black_box(&mut rbpf_mem)))
        });
        g.bench_function("rbpf-0.4.1-jit", |b| {
            // SAFETY: as for the agreement run above.
            b.iter(|| unsafe { rbpf_jit.execute_program_jit(black_box(&mut rbpf_mem)) })
        });
        g.bench_function("native", |b| b.iter(|| native(black_box(name), black_box(&mut native_mem))));
        g.finish();
    }

    /// 1 000 straight-line ALU instructions over r0..r5, then exit.
    fn straight_line() -> Program {
        let ops = [AluOp::Add, AluOp::Sub, AluOp::Xor, AluOp::Or, AluOp::And, AluOp::Mul, AluOp::Lsh];
        let mut p: Vec<Instruction> = (0..999usize)
            .map(|i| {
                let dst = Reg::new((i % 6) as u8).expect("r0..r5");
                let src = if i % 3 == 0 {
                    Source::Reg(Reg::new(((i + 1) % 6) as u8).expect("r0..r5"))
                } else {
                    Source::Imm((i % 31) as i32 + 1)
                };
                let width = if i % 4 == 0 { Width::W32 } else { Width::W64 };
                Instruction::Alu { width, op: ops[i % ops.len()], dst, src }
            })
            .collect();
        p.insert(
            0,
            Instruction::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Source::Imm(1) },
        );
        p.push(Instruction::Exit);
        Program::new(&encode_program(&p)).expect("straight-line program loads")
    }

    fn compile_time(c: &mut Criterion) {
        let prog = straight_line();
        let vm = Interpreter::new();
        let mut g = c.benchmark_group("jit-compile");
        g.bench_function("1k-insns", |b| b.iter(|| JitProgram::compile(black_box(&prog), &vm).is_ok()));
        g.finish();
    }

    /// The cost of one run of `r0 = 0; exit` on each JIT: entry and exit,
    /// not the code.
    fn run_overhead(c: &mut Criterion) {
        let p = [
            Instruction::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Source::Imm(0) },
            Instruction::Exit,
        ];
        let insns = encode_program(&p);
        let prog = Program::new(&insns).expect("two-instruction program loads");
        let vm = Interpreter::new();
        let jit = JitProgram::compile(&prog, &vm).expect("the JIT compiles it");
        let mut rbpf_mem = mem();
        let bytes = insns_to_bytes(&insns);
        let mut rbpf_jit = rbpf::EbpfVmRaw::new(Some(&bytes)).expect("rbpf accepts the program");
        rbpf_jit.jit_compile().expect("rbpf's JIT compiles the program");
        let mut g = c.benchmark_group("run-overhead");
        g.bench_function("bpfemu-jit", |b| {
            // SAFETY: the program makes no memory access.
            b.iter(|| unsafe { jit.run(black_box(&[0, 0])) })
        });
        g.bench_function("rbpf-0.4.1-jit", |b| {
            // SAFETY: the program makes no memory access.
            b.iter(|| unsafe { rbpf_jit.execute_program_jit(black_box(&mut rbpf_mem)) })
        });
        g.finish();
    }

    pub fn all(c: &mut Criterion) {
        for name in ["primes", "copy", "strcmp", "switch"] {
            bench_program(c, name);
        }
        compile_time(c);
        run_overhead(c);
    }
}

#[cfg(target_arch = "x86_64")]
criterion::criterion_group!(benches, x86::all);
#[cfg(target_arch = "x86_64")]
criterion::criterion_main!(benches);

#[cfg(not(target_arch = "x86_64"))]
fn main() {}
