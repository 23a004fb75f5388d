#!/usr/bin/env bash
# OTA push benchmark (on demand): a 512 KB bundle to 20 simulated devices, concurrency 4, `avmd push`
# against `curl -T` of the same signed uploads in the same run (bench/ota/bench.py says how).
# Usage: bench/ota/run.sh   env: AVMD_VM (host | atomvm, default host), DEVICES (20), CONCURRENCY (4),
# SIZE (524288), ROUNDS (2). Needs curl and python3 with cryptography (tests/requirements.txt).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v curl >/dev/null || { echo "bench/ota: missing curl" >&2; exit 2; }
exec python3 "$here/bench.py"
