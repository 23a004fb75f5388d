#!/usr/bin/env bash
# Benchmark of `avmd dev`: save-to-served latency over 30 edits (p50/p95) against one cold `erlc` of
# the same module measured in the same run, plus the daemon's idle RSS and CPU.
# Usage: bench/dev/run.sh [EDITS]       (builds avmd in release mode first; AVMD_BIN=path skips that)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
if [ -z "${AVMD_BIN:-}" ]; then
  (cd "$root" && cargo build -q --release -p avmd)
  AVMD_BIN="$root/target/release/avmd"
fi
exec python3 "$root/bench/dev/bench.py" "$AVMD_BIN" "${1:-30}"
