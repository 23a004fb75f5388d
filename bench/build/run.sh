#!/usr/bin/env bash
# Build benchmark: a warm engine's one-module rebuild vs one cold erlc, and a fresh engine's full build of
# a generated 50-module project vs cold erlc of the same files. Baselines are measured in the same run.
# Usage: bench/build/run.sh   (needs erl/erlc; builds the example in release mode)
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo run --quiet --release -p avmd-engine --example bench_build
