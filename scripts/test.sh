#!/usr/bin/env bash
# The one test command (see README.md): builds and runs every test of the
# workspace, then the bpf_conformance suite through the CLI, as a user would.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --release

shared_conformance=../shared/conformance
if [ -d "$shared_conformance" ]; then
  cargo run --release -q -p bpfemu-cli -- conformance "$shared_conformance" --engine interp
else
  echo "conformance run skipped: $shared_conformance not found (it sits beside the project root in CI)"
fi
