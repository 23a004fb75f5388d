#!/usr/bin/env bash
# Builds the runtime and runs every EUnit suite in runtime/test/ on host OTP.
# Usage: runtime/test.sh [module ...]   (default: every *_tests module)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/build.sh"
cd "$here"
if [ $# -gt 0 ]; then mods=("$@"); else
  mods=(); for f in test/*_tests.erl; do b=$(basename "$f" .erl); mods+=("$b"); done
fi
list=$(IFS=,; echo "${mods[*]}")
AVMD_SHARED="${AVMD_SHARED:-$here/../../shared}" \
erl -noshell -pa _build/ebin _build/host_ebin _build/test_ebin -eval "
  R = eunit:test([$list], [verbose]),
  halt(case R of ok -> 0; _ -> 1 end)."
