#!/usr/bin/env bash
# The demo (see README.md): builds bpfemu and shows its main job as it
# stands today: assemble, disassemble and run a BPF program, run a scenario
# (maps, a program, PROG_TEST_RUN, trace_printk, virtual time) through the
# simulated kernel, show the verifier accept and refuse programs, load a
# clang-built object, run the netns auto-detach and ring-buffer NMI
# scenarios, explore the interleavings of a racy counter, then the whole
# bpf_conformance suite on the reference interpreter.
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
echo "== the verifier on guest-progs/asm/value_scan.s (a bounded loop over a map value)"
"$bpfemu" verify guest-progs/asm/value_scan.s --type syscall --map array:4:64:1 | tail -4
echo "== ... and on a program missing its null check"
printf '*(u32 *)(r10 -4) = 0\nr2 = r10\nr2 += -4\nr1 = map[fd:3]\ncall bpf_map_lookup_elem#1\nr0 = *(u64 *)(r0 +0)\nexit\n' > target/no_null_check.s
"$bpfemu" verify target/no_null_check.s --type syscall --map array:4:8:1 || true
echo
echo "== scenario scenarios/core/progs/test_run.scn (docs/scenarios.md)"
"$bpfemu" run scenarios/core/progs/test_run.scn
echo
echo "== a clang-built object (guest-progs/src/maps.bpf.c) loaded the libbpf way"
"$bpfemu" load guest-progs/obj/maps.bpf.o
echo
echo "== scenario scenarios/netns/defunct.scn: links outliving their network namespace"
"$bpfemu" run scenarios/netns/defunct.scn | tail -25
echo
echo "== scenario scenarios/ringbuf/nmi_reserve.scn: an NMI on a CPU holding the ring's lock"
"$bpfemu" run scenarios/ringbuf/nmi_reserve.scn
echo
echo "== bpfemu explore scenarios/core/races/counter.scn: two CPUs bump a counter, plain vs atomic add"
"$bpfemu" explore scenarios/core/races/counter.scn --seeds 0..200 | grep -E '^(explored|outcome)|counter.scn:5[12]:'
echo
echo "== bpf_conformance suite, interpreter"
"$bpfemu" conformance ../shared/conformance --engine interp
