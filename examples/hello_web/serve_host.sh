#!/usr/bin/env bash
# Serves the example on host OTP without avmd: compiles the runtime (runtime/src plus the host shim
# runtime/host/atomvm.erl) and the example into a build directory, then boots `hello_web:start()`.
# Usage: examples/hello_web/serve_host.sh [PORT]   (default 8080; 0 picks a free port)
# The bound port is printed as "hello_web listening on port N". Environment:
#   HELLO_WEB_BUILD_DIR  where to compile (default: a fresh temp dir)
#   HELLO_WEB_PROFILE    a profile to run with instead of the example's (esp32), e.g. host
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
port="${1:-8080}"
case "$port" in (*[!0-9]*|'') echo "usage: $0 [PORT]" >&2; exit 2;; esac
out="${HELLO_WEB_BUILD_DIR:-$(mktemp -d -t hello_web.XXXXXX)}"
mkdir -p "$out/ebin" "$out/hello_web/ebin"
# code:priv_dir(hello_web) finds hello_web/priv next to hello_web/ebin on the code path.
ln -sfn "$here/priv" "$out/hello_web/priv"
# Behaviour modules first, so the modules declaring them compile without warnings.
callbacks=$(grep -l '^-callback' "$root"/runtime/src/*.erl)
erlc -o "$out/ebin" "$root/runtime/src/httpd_handler.erl"
erlc -pa "$out/ebin" -o "$out/ebin" $callbacks
erlc -pa "$out/ebin" -o "$out/ebin" "$root"/runtime/src/*.erl "$root/runtime/host/atomvm.erl"
erlc -pa "$out/ebin" -o "$out/hello_web/ebin" "$here"/src/*.erl
overrides="#{port => $port}"
if [ -n "${HELLO_WEB_PROFILE:-}" ]; then overrides="#{port => $port, profile => ${HELLO_WEB_PROFILE}}"; fi
exec erl -noshell -pa "$out/ebin" "$out/hello_web/ebin" \
  -eval "application:set_env(avmd, httpd_overrides, $overrides), hello_web:start()."
