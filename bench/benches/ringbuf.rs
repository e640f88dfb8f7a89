//! Criterion benchmarks of the ring buffer against the perf buffer (the
//! kernel's bench_ringbufs.c variants, see `bpfemu_bench::ringbuf`): each
//! iteration is one measurement window of 200 ms; criterion reports its
//! time, the throughput line (records/s) is printed per variant. The full
//! table is `bpfemu bench ringbuf` (docs/performance.md).

use bpfemu_bench::ringbuf::{Config, Variant, run};
use criterion::{Criterion, criterion_group, criterion_main};
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ringbuf");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(3));
    for v in Variant::ALL {
        for back2back in [false, true] {
            if back2back && v == Variant::Spsc {
                continue;
            }
            let cfg = Config {
                variant: v,
                producers: 1,
                back2back,
                sample: 0,
                output: false,
                duration: Duration::from_millis(200),
            };
            let name = format!("{}{}", v.name(), if back2back { "/b2b" } else { "/parallel" });
            g.bench_function(&name, |b| {
                b.iter(|| {
                    let r = run(&cfg).expect("benchmark setup");
                    std::hint::black_box(r.delivered)
                })
            });
            let r = run(&cfg).expect("benchmark setup");
            eprintln!("{name}: {:.2} M records/s, {} drops", r.mps(), r.drops);
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
