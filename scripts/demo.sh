#!/usr/bin/env bash
# The demo (see README.md): builds bpfemu and shows its main job as it
# stands today: assemble, disassemble and run a BPF program, run a scenario
# (maps, a program, PROG_TEST_RUN, trace_printk, virtual time) through the
# simulated kernel, then the whole bpf_conformance suite on the reference
# interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -q -p bpfemu-cli
bpfemu=target/release/bpfemu

echo "== disassembly of bench/programs/primes.s (kernel syntax)"
"$bpfemu" asm bench/programs/primes.s -o target/primes.bin
"$bpfemu" disasm target/primes.bin
echo
echo "== running it"
"$bpfemu" exec bench/programs/primes.s
echo
echo "== scenario scenarios/core/progs/test_run.scn (docs/scenarios.md)"
"$bpfemu" run scenarios/core/progs/test_run.scn
echo
echo "== bpf_conformance suite, interpreter"
"$bpfemu" conformance ../shared/conformance --engine interp
