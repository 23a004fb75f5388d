#!/usr/bin/env bash
# WebSocket benchmark (on demand; not part of the test suite). Compiles the runtime, the example's
# echo_ws and bench/ws/ws_bench.erl into a temp dir, starts the echo server in one erl, drives it from
# another (Erlang client processes, one message in flight per connection), then measures the memory of
# idle WebSocket connections in a third. Prints messages/s for 16 B and 4 KB over 1 and 50 connections,
# next to a minimal raw gen_tcp echo server measured the same way in the same run (the ratio column).
# Usage: bench/ws/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$(mktemp -d -t ws_bench.XXXXXX)"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$out"; }
trap cleanup EXIT
erlc -o "$out" "$root/runtime/src/httpd_handler.erl"
erlc -pa "$out" -o "$out" $(grep -l '^-callback' "$root"/runtime/src/*.erl)
erlc -pa "$out" -o "$out" "$root"/runtime/src/*.erl "$root/runtime/host/atomvm.erl" \
  "$root/examples/hello_web/src/echo_ws.erl" "$here/ws_bench.erl"

erl -noshell -pa "$out" -eval 'ws_bench:server().' > "$out/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do grep -q '^PORTS' "$out/server.log" 2>/dev/null && break; sleep 0.1; done
read -r _ ws_port raw_port < <(grep '^PORTS' "$out/server.log")
echo "WebSocket echo benchmark on $(erl -noshell -eval 'io:format("OTP ~s", [erlang:system_info(otp_release)]), halt().'), $(nproc) cores, 127.0.0.1"
erl -noshell -pa "$out" -run ws_bench client "$ws_port" "$raw_port"
kill "$server_pid"; server_pid=""
erl -noshell -pa "$out" -run ws_bench memory
