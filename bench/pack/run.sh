#!/usr/bin/env bash
# Packs 100 generated modules with avmd's engine and with an Erlang reference packer, in the same run,
# and prints times, throughput and the ratio. Usage: bench/pack/run.sh [N_MODULES] [ROUNDS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export CARGO_TARGET_DIR="$here/../../target/bench-pack"
cargo run --quiet --release --manifest-path "$here/Cargo.toml" -- "$@"
