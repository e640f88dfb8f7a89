//! Soundness fuzzer of the verifier: random structured programs
//! ([`generate`]) are loaded through the `bpf()` seam; each one the verifier
//! accepts runs a few times, with different ctx contents and map states,
//! in paranoid mode ([`Kernel::set_paranoid`]): checked mode although it is
//! verified. Any run the checked interpreter stops (a memory access outside
//! the stack, the ctx and the map values, a misaligned atomic, a step
//! limit, ...) is a soundness bug: the test fails with the program's seed,
//! listing, the violation and the verifier log.
//!
//! Environment:
//! * `BPFEMU_SOUNDNESS_PROGRAMS` — programs to generate (default 200 000
//!   in release builds, 20 000 in debug builds);
//! * `BPFEMU_SOUNDNESS_SEED` — base seed (default 0x5eed); program `i`
//!   gets seed `base + i`;
//! * `BPFEMU_SOUNDNESS_REPRO` — run only the program of this seed and print
//!   its listing, verifier log and runs;
//! * `BPFEMU_SOUNDNESS_THREADS` — worker threads (default: the cores);
//! * `BPFEMU_SOUNDNESS_WHY` — load with a log and print, per rejection
//!   message, how many programs (with or without deliberate mistakes) it
//!   refused, and the loads slower than 50 ms (generator tuning).
//!
//! The long offline run is documented in docs/verifier.md.

#[path = "soundness/asm.rs"]
mod asm;
#[path = "soundness/generate.rs"]
mod generate;

use bpfemu_isa::Insn;
use bpfemu_isa::disasm::format_listing;
use bpfemu_kernel::bpf::BpfAttr;
use bpfemu_kernel::bpf::attr::{MapCreateAttr, ProgLoadAttr, TestRunAttr, TestRunOut};
use bpfemu_kernel::uapi::{MapType, ProgType};
use bpfemu_kernel::{Errno, Kernel, KernelConfig};
use generate::{CTX_SIZE, Dice, Generated, MapSpec, generate};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

/// Percent chance that a snippet makes its mistake.
const MISTAKE_PCT: u64 = 6;
/// Programs per run: 200 000 in release (CI; about 15 s on 2 cores),
/// 20 000 in a debug build (about 15 s too).
const DEFAULT_PROGRAMS: u64 = if cfg!(debug_assertions) { 20_000 } else { 200_000 };
/// Runs per accepted program.
const RUNS: usize = 3;
/// Failures described in full in the panic message.
const SHOWN_FAILURES: usize = 3;

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim().replace('_', "");
    Some(match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).expect("hex number"),
        None => v.parse().unwrap_or_else(|_| panic!("{name}={v}: not a number")),
    })
}

#[derive(Default)]
struct Tally {
    programs: u64,
    accepted: u64,
    /// Accepted but not marked verified (the verifier is not wired in).
    unverified: u64,
    clean: u64,
    clean_accepted: u64,
    runs: u64,
    run_errors: BTreeMap<String, u64>,
    /// Failed runs of programs without deliberate mistakes, with a seed.
    clean_run_errors: (u64, Option<u64>),
    rejected: BTreeMap<String, u64>,
    /// With `BPFEMU_SOUNDNESS_WHY`: the last log line of each rejection,
    /// counted separately for programs with and without mistakes.
    why: BTreeMap<(bool, String), (u64, u64)>,
    failures: Vec<String>,
}

impl Tally {
    fn merge(&mut self, o: Tally) {
        self.programs += o.programs;
        self.accepted += o.accepted;
        self.unverified += o.unverified;
        self.clean += o.clean;
        self.clean_accepted += o.clean_accepted;
        self.runs += o.runs;
        self.clean_run_errors.0 += o.clean_run_errors.0;
        self.clean_run_errors.1 = self.clean_run_errors.1.or(o.clean_run_errors.1);
        for (k, v) in o.run_errors {
            *self.run_errors.entry(k).or_default() += v;
        }
        for (k, v) in o.why {
            let e = self.why.entry(k).or_insert((0, v.1));
            e.0 += v.0;
        }
        for (k, v) in o.rejected {
            *self.rejected.entry(k).or_default() += v;
        }
        self.failures.extend(o.failures);
    }
}

fn create_map(k: &mut Kernel, m: &MapSpec) -> i32 {
    let attr = MapCreateAttr {
        map_type: if m.hash { MapType::Hash.raw() } else { MapType::Array.raw() },
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: m.max_entries,
        ..Default::default()
    };
    k.bpf(BpfAttr::MapCreate(attr)).expect("map create") as i32
}

fn key_bytes(m: &MapSpec, key: u64) -> Vec<u8> {
    key.to_le_bytes()[..m.key_size as usize].to_vec()
}

/// Fills the maps: every array element and a random subset of hash keys
/// get random values; other hash keys are deleted.
fn shuffle_maps(k: &mut Kernel, fds: &[i32; 2], maps: &[MapSpec; 2], d: &mut Dice) {
    for (fd, m) in fds.iter().zip(maps) {
        for key in 0..u64::from(m.max_entries) {
            let value: Vec<u8> = (0..m.value_size).map(|_| d.below(256) as u8).collect();
            let kb = key_bytes(m, key);
            if m.hash && d.pct(40) {
                let _ = k.bpf(BpfAttr::MapDeleteElem { map_fd: *fd, key: &kb, flags: 0 });
            } else {
                let _ = k.bpf(BpfAttr::MapUpdateElem { map_fd: *fd, key: &kb, value: &value, flags: 0 });
            }
        }
    }
}

/// Loads `insns` as a sleepable syscall program; one that loads a callback
/// gets the BTF func_info clang emits for static functions (the kernel
/// refuses a callback without it).
fn load(k: &mut Kernel, insns: &[Insn], log: Option<&mut String>) -> Result<i32, Errno> {
    let has_callback = bpfemu_isa::decode_program(insns).is_ok_and(|p| {
        p.iter().any(|(_, i)| {
            matches!(i, bpfemu_isa::Instruction::LdImm64 { src: bpfemu_isa::LdImm64::Func(_), .. })
        })
    });
    let (btf_fd, func_info) = if has_callback {
        use bpfemu_kernel::bpf::load::static_func_info::{encode_records, static_func_info};
        let (btf, recs) = static_func_info("fuzz", insns);
        let fd = k.bpf(BpfAttr::BtfLoad { btf: &btf, log: None, log_level: 0 })? as i32;
        (fd, encode_records(&recs))
    } else {
        (0, Vec::new())
    };
    let attr = ProgLoadAttr {
        prog_btf_fd: btf_fd,
        func_info_rec_size: if func_info.is_empty() { 0 } else { 8 },
        func_info: &func_info,
        prog_type: ProgType::Syscall.raw(),
        prog_flags: bpfemu_kernel::bpf::load::BPF_F_SLEEPABLE,
        insns,
        license: "GPL",
        log_level: if log.is_some() { 2 } else { 0 },
        log_size: if log.is_some() { 1 << 24 } else { 0 },
        log,
        ..Default::default()
    };
    let r = k.bpf(BpfAttr::ProgLoad(attr)).map(|fd| fd as i32);
    if btf_fd > 0 {
        let _ = k.close(btf_fd);
    }
    r
}

fn test_run(k: &mut Kernel, fd: i32, ctx: &[u8]) -> Result<u32, Errno> {
    let mut out = TestRunOut::default();
    let attr = TestRunAttr { prog_fd: fd, ctx_in: ctx, out: Some(&mut out), ..Default::default() };
    k.bpf(BpfAttr::ProgTestRun(attr))?;
    Ok(out.retval)
}

/// The verifier log of `insns` (level 2), for a report.
fn verifier_log(insns: &[Insn], maps: &[MapSpec; 2]) -> String {
    let mut k = Kernel::new(KernelConfig::default());
    for m in maps {
        create_map(&mut k, m);
    }
    let mut log = String::new();
    let r = load(&mut k, insns, Some(&mut log));
    format!("{log}(load: {r:?})")
}

fn describe(seed: u64, g: &Generated, what: &str) -> String {
    let listing = format_listing(&g.insns).unwrap_or_else(|e| format!("(undecodable: {e})"));
    let mut s = String::new();
    let _ = writeln!(s, "=== program seed {seed:#x}: {what}");
    let _ = writeln!(s, "maps: {:?}", g.maps);
    let _ = writeln!(s, "deliberate mistakes: {:?}", g.mistakes);
    let _ = writeln!(
        s,
        "reproduce: BPFEMU_SOUNDNESS_REPRO={seed:#x} cargo test -p bpfemu-kernel --test soundness"
    );
    let _ = writeln!(s, "--- listing\n{listing}--- verifier log\n{}", verifier_log(&g.insns, &g.maps));
    s
}

/// Generates, loads and runs the program of `seed`.
fn one(k: &mut Kernel, seed: u64, t: &mut Tally, verbose: bool) {
    let g = generate(seed, MISTAKE_PCT);
    let mut d = Dice::new(seed ^ 0x9e37_79b9_7f4a_7c15);
    t.programs += 1;
    let clean = g.mistakes.is_empty();
    t.clean += u64::from(clean);
    let fds = [create_map(k, &g.maps[0]), create_map(k, &g.maps[1])];
    shuffle_maps(k, &fds, &g.maps, &mut d);
    let mut log = String::new();
    let why = std::env::var_os("BPFEMU_SOUNDNESS_WHY").is_some();
    let t0 = Instant::now();
    let loaded = load(k, &g.insns, (verbose || why).then_some(&mut log));
    if why {
        let ms = t0.elapsed().as_millis();
        if ms > 50 {
            println!("slow: seed {seed:#x} took {ms} ms: {:?}", log.lines().last());
        }
        if loaded.is_err() {
            let line = log.lines().rev().find(|l| !l.starts_with("processed ")).unwrap_or("").to_string();
            let mut key: String = line.chars().filter(|c| !c.is_ascii_digit()).collect();
            key.truncate(70);
            t.why.entry((clean, key)).or_insert((0, seed)).0 += 1;
        }
    }
    if verbose {
        println!("{}", describe(seed, &g, "repro"));
    }
    match loaded {
        Err(e) => *t.rejected.entry(e.name().to_string()).or_default() += 1,
        Ok(fd) => {
            t.accepted += 1;
            t.clean_accepted += u64::from(clean);
            let verified = k.fd_obj(fd).and_then(|o| o.prog().map(|p| p.verified)).unwrap_or(false);
            t.unverified += u64::from(!verified);
            for run in 0..RUNS {
                let ctx: Vec<u8> = match run {
                    0 => vec![0; CTX_SIZE as usize],
                    1 => vec![0xff; CTX_SIZE as usize],
                    _ => (0..CTX_SIZE).map(|_| d.below(256) as u8).collect(),
                };
                if run > 0 {
                    shuffle_maps(k, &fds, &g.maps, &mut d);
                }
                t.runs += 1;
                let r = test_run(k, fd, &ctx);
                if verbose {
                    println!("run {run}: {r:?}");
                    if r.is_err() {
                        let prog = k.fd_obj(fd).expect("fd").prog().expect("prog").clone();
                        let mut c = ctx.clone();
                        let region = bpfemu_vm::MemRegion::from_mut_slice("ctx", &mut c);
                        println!("  again: {:?}", k.run_prog_vm(&prog, &[region.start()], &[region]));
                    }
                }
                if let Err(e) = r {
                    *t.run_errors.entry(e.name().to_string()).or_default() += 1;
                    if clean {
                        t.clean_run_errors.0 += 1;
                        t.clean_run_errors.1.get_or_insert(seed);
                    }
                }
                let v = k.take_soundness_violations();
                if !v.is_empty() {
                    let what = format!("verified, but run {run} failed: {}", v[0].error);
                    if t.failures.len() < SHOWN_FAILURES {
                        t.failures.push(describe(seed, &g, &what));
                    } else {
                        t.failures.push(format!("=== program seed {seed:#x}: {what}"));
                    }
                    break;
                }
            }
            k.close(fd).expect("close prog");
        }
    }
    k.trace_pipe.clear();
    for fd in fds {
        k.close(fd).expect("close map");
    }
}

fn kernel() -> Kernel {
    let mut k = Kernel::new(KernelConfig::default());
    k.set_paranoid(true);
    k
}

#[test]
fn verified_programs_never_fault_in_checked_mode() {
    if let Some(seed) = env_u64("BPFEMU_SOUNDNESS_REPRO") {
        let mut t = Tally::default();
        one(&mut kernel(), seed, &mut t, true);
        assert!(t.failures.is_empty(), "{}", t.failures.join("\n"));
        return;
    }
    let count = env_u64("BPFEMU_SOUNDNESS_PROGRAMS").unwrap_or(DEFAULT_PROGRAMS);
    let base = env_u64("BPFEMU_SOUNDNESS_SEED").unwrap_or(0x5eed);
    let threads = env_u64("BPFEMU_SOUNDNESS_THREADS")
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u64))
        .max(1);
    let start = Instant::now();
    let mut total = Tally::default();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|w| {
                s.spawn(move || {
                    let mut k = kernel();
                    let mut t = Tally::default();
                    let mut i = w;
                    while i < count {
                        one(&mut k, base.wrapping_add(i), &mut t, false);
                        i += threads;
                    }
                    t
                })
            })
            .collect();
        for w in workers {
            total.merge(w.join().expect("worker"));
        }
    });
    let secs = start.elapsed().as_secs_f64();
    let pct = |a: u64, b: u64| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
    println!(
        "soundness: {} programs in {secs:.1}s ({:.0}/s, {threads} threads); accepted {} ({:.1}%), \
         of which unverified {}; programs without deliberate mistakes: {} ({:.1}% accepted); \
         {} checked runs; run errors {:?} ({} of programs without mistakes, e.g. seed {:#x}); \
         rejections {:?}",
        total.programs,
        total.programs as f64 / secs,
        total.accepted,
        pct(total.accepted, total.programs),
        total.unverified,
        total.clean,
        pct(total.clean_accepted, total.clean),
        total.runs,
        total.run_errors,
        total.clean_run_errors.0,
        total.clean_run_errors.1.unwrap_or(0),
        total.rejected,
    );
    for ((clean, why), (n, seed)) in &total.why {
        println!("rejected{}: {n:6} e.g. {seed:#x}: {why}", if *clean { " (no mistake)" } else { "" });
    }
    assert!(
        total.failures.is_empty(),
        "{} soundness violation(s):\n{}",
        total.failures.len(),
        total.failures.join("\n")
    );
    assert_eq!(
        total.clean_run_errors.0,
        0,
        "a program without deliberate mistakes failed a run (generator bug?): BPFEMU_SOUNDNESS_REPRO={:#x}",
        total.clean_run_errors.1.unwrap_or(0)
    );
    assert_eq!(
        total.unverified, 0,
        "accepted programs must be verified (is the verifier wired into PROG_LOAD?)"
    );
    if total.programs >= 1000 {
        let ratio = pct(total.accepted, total.programs);
        assert!(
            (30.0..=95.0).contains(&ratio),
            "acceptance ratio {ratio:.1}% is outside 30..95%: the generator no longer makes a healthy mix"
        );
    }
}
