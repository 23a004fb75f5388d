#!/usr/bin/env bash
# Benchmark of `avmd lsp` on a generated 50-module, 200-route project: didChange → live and syntax
# diagnostics, didSave → build diagnostics, hover, completion, avmd/routes (p50/p95), each against the
# round trip of a request the server refuses at once (the transport floor), plus the server's and its
# compile VM's RSS.
# Usage: bench/lsp/run.sh [ROUNDS]       (builds avmd in release mode first; AVMD_BIN=path skips that)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
if [ -z "${AVMD_BIN:-}" ]; then
  (cd "$root" && cargo build -q --release -p avmd)
  AVMD_BIN="$root/target/release/avmd"
fi
exec python3 "$root/bench/lsp/bench.py" "$AVMD_BIN" "${1:-30}"
