//! `bpfemu bench ringbuf` as a user runs it: every variant and mode for a
//! short window (a smoke test of the harness, not a measurement).

use std::process::Command;

#[test]
fn bench_ringbuf_prints_a_row_per_variant_and_mode() {
    let out = Command::new(env!("CARGO_BIN_EXE_bpfemu"))
        .args(["bench", "ringbuf", "--duration-ms", "30"])
        .output()
        .expect("bpfemu runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    for row in [
        "rb-libbpf  parallel",
        "rb-libbpf  b2b",
        "rb-custom  parallel",
        "rb-custom  b2b",
        "pb-libbpf  parallel",
        "pb-custom  b2b",
        "spsc       parallel",
    ] {
        assert!(text.contains(row), "missing `{row}` in:\n{text}");
    }
    assert!(text.contains("b2b: rb-libbpf / pb-libbpf = "), "{text}");
    let bad = Command::new(env!("CARGO_BIN_EXE_bpfemu"))
        .args(["bench", "ringbuf", "--variants", "rb-nope"])
        .output()
        .expect("bpfemu runs");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown variant `rb-nope`"));
}
