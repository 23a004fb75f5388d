#!/usr/bin/env bash
# Compiles the runtime: device modules (src/), host-only modules (host/) and EUnit suites (test/)
# into runtime/_build/{ebin,host_ebin,test_ebin}. Usage: runtime/build.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
mkdir -p _build/ebin _build/host_ebin _build/test_ebin
compile() { # dir outdir extra-flags...
  local dir=$1 out=$2; shift 2
  shopt -s nullglob
  local files=("$dir"/*.erl)
  [ ${#files[@]} -eq 0 ] && return 0
  erlc -Werror +debug_info -I include -I src -pa _build/ebin -o "$out" "$@" "${files[@]}"
}
# Behaviours first, so modules that declare them compile without warnings.
# (httpd_handler first: the other behaviours build on it.)
for f in src/httpd_handler.erl $(grep -l '^-callback' src/*.erl 2>/dev/null || true); do
  [ -f "$f" ] && erlc +debug_info -I include -pa _build/ebin -o _build/ebin "$f"
done
compile src _build/ebin
compile host _build/host_ebin -pa _build/ebin
compile test _build/test_ebin -pa _build/ebin -pa _build/host_ebin
