//! `bpfemu bench ringbuf`: the ring buffer against the perf buffer, after
//! the kernel's bench_ringbufs.c (workloads in `bpfemu_bench::ringbuf`):
//! prints one table row per variant and mode, then the rb/pb ratios and the
//! ratio to the plain SPSC ring. Results and the machine they were taken on
//! go to docs/performance.md.

use anyhow::{Result, anyhow, bail};
use bpfemu_bench::ringbuf::{Config, Report, Variant, run};
use clap::{Args, Subcommand};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Ring buffer vs perf buffer throughput (M records/s, drops).
    Ringbuf(RingbufArgs),
}

#[derive(Debug, Args)]
pub struct RingbufArgs {
    /// Variants, comma-separated: rb-libbpf, rb-custom, pb-libbpf, pb-custom, spsc.
    #[arg(long, default_value = "rb-libbpf,rb-custom,pb-libbpf,pb-custom,spsc")]
    pub variants: String,
    /// Producer threads (parallel mode).
    #[arg(long, default_value_t = 1)]
    pub producers: u32,
    /// Measurement window per row, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub duration_ms: u64,
    /// One record in N wakes the consumer (0: self-pacing / every sample).
    #[arg(long, default_value_t = 0)]
    pub sample: u32,
    /// bpf_ringbuf_output instead of reserve + submit.
    #[arg(long)]
    pub output: bool,
    /// Only the parallel mode (default: parallel and back-to-back).
    #[arg(long)]
    pub parallel_only: bool,
}

pub fn bench(c: BenchCommand) -> Result<ExitCode> {
    let BenchCommand::Ringbuf(a) = c;
    let variants: Vec<Variant> = a
        .variants
        .split(',')
        .map(|s| Variant::from_name(s.trim()).ok_or_else(|| anyhow!("unknown variant `{s}`")))
        .collect::<Result<_>>()?;
    if a.producers == 0 {
        bail!("--producers must be at least 1");
    }
    println!(
        "ringbuf bench: batch {} records of 8 bytes per producer run, {} producer(s), {} ms per row, sample {}, {}",
        bpfemu_bench::ringbuf::BATCH,
        a.producers,
        a.duration_ms,
        if a.sample == 0 { "off".to_string() } else { format!("1/{}", a.sample) },
        if a.output { "bpf_ringbuf_output" } else { "reserve+submit" }
    );
    println!("{:<10} {:<9} {:>10} {:>12} {:>10}", "variant", "mode", "M rec/s", "drops", "wakeups");
    let mut results: Vec<(Variant, bool, Report)> = Vec::new();
    for &v in &variants {
        for b2b in [false, true] {
            if b2b && (a.parallel_only || v == Variant::Spsc) {
                continue;
            }
            let cfg = Config {
                variant: v,
                producers: if b2b { 1 } else { a.producers },
                back2back: b2b,
                sample: a.sample,
                output: a.output,
                duration: Duration::from_millis(a.duration_ms),
            };
            let r = run(&cfg).map_err(|e| anyhow!("{}: {e}", v.name()))?;
            println!(
                "{:<10} {:<9} {:>10.2} {:>12} {:>10}",
                v.name(),
                if b2b { "b2b" } else { "parallel" },
                r.mps(),
                r.drops,
                r.wakeups
            );
            results.push((v, b2b, r));
        }
    }
    let get = |v: Variant, b2b: bool| results.iter().find(|r| r.0 == v && r.1 == b2b).map(|r| r.2.mps());
    for b2b in [false, true] {
        let mode = if b2b { "b2b" } else { "parallel" };
        for (rb, pb) in [(Variant::RbLibbpf, Variant::PbLibbpf), (Variant::RbCustom, Variant::PbCustom)] {
            if let (Some(x), Some(y)) = (get(rb, b2b), get(pb, b2b)) {
                println!("{mode}: {} / {} = {:.1}x", rb.name(), pb.name(), x / y);
            }
        }
        if let Some(ceil) = get(Variant::Spsc, false) {
            for rb in [Variant::RbLibbpf, Variant::RbCustom] {
                if let Some(x) = get(rb, b2b) {
                    println!("{mode}: {} / spsc = {:.2}", rb.name(), x / ceil);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
