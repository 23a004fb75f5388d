#!/usr/bin/env bash
# HTTP benchmark (on demand, not part of tests/run.sh). In one run, on 127.0.0.1:
#   (a) our server (httpd_server, one route answering GET / with "Hello, World!")
#   (b) Yaws 2.x serving the same 13 bytes as a static file (foreground, generated conf in a temp dir)
#   (c) OTP inets httpd serving the same file (nodelay, so it does not stall on delayed ACKs)
#   (d) bench/http/minimal_server.erl: one process per connection, fixed keep-alive reply
# each loaded with `wrk -t1 -c$CONNECTIONS -d$DURATION`, one server at a time, in $ROUNDS interleaved
# rounds; prints the median req/s and the ratios ours/yaws and ours/minimal; then (e) the memory of one
# idle keep-alive connection of our server and (f) the size of the runtime's device modules.
# Usage: bench/http/run.sh   env: DURATION (default 5s), CONNECTIONS (16), WARMUP (1s), ROUNDS (3)
# Needs wrk, yaws, erl, erlc, curl (Debian packages); installs nothing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
DURATION="${DURATION:-5s}"
CONNECTIONS="${CONNECTIONS:-16}"
WARMUP="${WARMUP:-1s}"
ROUNDS="${ROUNDS:-3}"

missing=()
for tool in wrk yaws erl erlc curl; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench/http: missing: ${missing[*]} (Debian packages: wrk yaws erlang curl)" >&2
  exit 2
fi

tmp="$(mktemp -d /tmp/avmd-bench-http.XXXXXX)"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  # let the VMs finish (yaws writes to its logdir while stopping); bounded, then SIGKILL
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

# Build: the runtime's device modules as runtime/build.sh does (debug info on), and the bench modules.
mkdir -p "$tmp/ebin" "$tmp/bench" "$tmp/www" "$tmp/logs"
srcs=("$repo"/runtime/src/*.erl)
[ -e "${srcs[0]}" ] || { echo "bench/http: no runtime/src/*.erl" >&2; exit 1; }
# behaviours first so their users compile cleanly
for f in "$repo"/runtime/src/httpd_handler.erl $(grep -l '^-callback' "${srcs[@]}" || true); do
  if [ -f "$f" ]; then erlc +debug_info -pa "$tmp/ebin" -o "$tmp/ebin" "$f"; fi
done
erlc +debug_info -pa "$tmp/ebin" -o "$tmp/ebin" "${srcs[@]}"
erlc -pa "$tmp/ebin" -o "$tmp/bench" "$here/minimal_server.erl" "$here/bench_node.erl"
printf 'Hello, World!' >"$tmp/www/index.html"

have_ours=1
[ -f "$repo/runtime/src/httpd_server.erl" ] || have_ours=0

# Starts `bench_node:main(Job)` in its own VM; sets $port once it printed "PORT n".
start_erl() { # job
  local job=$1 out="$tmp/$1.out" pid
  BENCH_TMP="$tmp" erl -noshell -pa "$tmp/ebin" "$tmp/bench" -eval "bench_node:main($job)" >"$out" 2>&1 &
  pid=$!
  pids+=("$pid")
  port=""
  for _ in $(seq 1 100); do
    port="$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$out")"
    [ -n "$port" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench/http: $job did not start:" >&2
  cat "$out" >&2
  return 1
}

start_yaws() {
  local pid
  # a free port: ask the kernel for one through a throwaway Erlang listen
  port="$(erl -noshell -eval '{ok,L}=gen_tcp:listen(0,[{ip,{127,0,0,1}}]),{ok,P}=inet:port(L),io:format("~b",[P]),halt().')"
  {
    echo "logdir = $tmp/logs"
    echo "max_connections = nolimit"
    echo "keepalive_timeout = 30000"
    echo "<server localhost>"
    echo "        port = $port"
    echo "        listen = 127.0.0.1"
    echo "        docroot = $tmp/www"
    echo "        access_log = false"
    echo "</server>"
  } >"$tmp/yaws.conf"
  HOME="$tmp" yaws -i --nodebug --conf "$tmp/yaws.conf" --id "avmdbench$$" --erlarg -noinput \
    >"$tmp/yaws.out" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/index.html" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench/http: yaws did not start:" >&2
  cat "$tmp/yaws.out" >&2
  return 1
}

# Checks the reply is the 13-byte body, warms up, then measures; prints req/s.
measure() { # name url round
  local name=$1 url=$2 round=$3 body out
  out="$tmp/$name.$round.wrk"
  body="$(curl -fs "$url")"
  [ "$body" = "Hello, World!" ] || { echo "bench/http: $name answered '$body'" >&2; return 1; }
  wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" "$url" >/dev/null
  wrk -t1 -c"$CONNECTIONS" -d"$DURATION" "$url" >"$out"
  if grep -q 'Non-2xx\|Socket errors' "$out"; then
    echo "bench/http: $name: $(grep 'Non-2xx\|Socket errors' "$out")" >&2
  fi
  awk '/^Requests\/sec:/ {print $2}' "$out"
}

median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

# All servers run side by side (idle ones cost nothing); each round loads them one after the other,
# so a change in machine load hits every server alike. The median of the rounds is reported.
declare -A url
servers=()
if [ $have_ours = 1 ]; then
  start_erl ours
  url[ours]="http://127.0.0.1:$port/"
  servers+=(ours)
else
  echo "bench/http: runtime/src/httpd_server.erl does not exist yet; baselines only"
fi
start_yaws
url[yaws]="http://127.0.0.1:$port/index.html"
servers+=(yaws)
start_erl inets
url[inets]="http://127.0.0.1:$port/index.html"
servers+=(inets)
start_erl minimal
url[minimal]="http://127.0.0.1:$port/"
servers+=(minimal)

echo "bench/http: wrk -t1 -c$CONNECTIONS -d$DURATION (warm-up $WARMUP), $ROUNDS rounds, 127.0.0.1;" \
  "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A rps all
for round in $(seq 1 "$ROUNDS"); do
  for s in "${servers[@]}"; do
    r="$(measure "$s" "${url[$s]}" "$round")"
    all[$s]="${all[$s]:-} $r"
  done
done
printf '%-10s %15s   %s\n' server "req/s (median)" rounds
for s in "${servers[@]}"; do
  rps[$s]="$(echo "${all[$s]}" | tr ' ' '\n' | grep . | median)"
  printf '%-10s %15.0f  %s\n' "$s" "${rps[$s]}" "${all[$s]}"
done

if [ $have_ours = 1 ]; then
  awk -v o="${rps[ours]}" -v y="${rps[yaws]}" -v i="${rps[inets]}" -v m="${rps[minimal]}" 'BEGIN {
    printf "ratio ours/yaws    %.2f  (goal >= 1.3)\n", o / y
    printf "ratio ours/minimal %.2f  (goal >= 0.8)\n", o / m
    printf "ratio ours/inets   %.2f\n", o / i
  }'
  # (e) idle keep-alive connection memory, in a fresh VM
  erl -noshell -pa "$tmp/ebin" "$tmp/bench" -eval 'bench_node:main(memory), halt().' >"$tmp/mem.out" 2>&1 ||
    { cat "$tmp/mem.out" >&2; exit 1; }
  mem="$(sed -n 's/^IDLE_CONN_MEMORY //p' "$tmp/mem.out")"
  echo "idle keep-alive connection: $mem bytes  (goal <= 3072)  $(sed -n 's/^IDLE_CONN_DETAIL //p' "$tmp/mem.out")"
fi

# (f) size of the device modules. "Line tables stripped" means the Line chunk and the `line`
# instructions in the code (what `strip_lines = true` ships), so the no-line figure comes from a
# +no_line_info build of the same sources.
mkdir -p "$tmp/ebin_nl"
for f in "$repo"/runtime/src/httpd_handler.erl $(grep -l '^-callback' "${srcs[@]}" || true); do
  if [ -f "$f" ]; then erlc +no_line_info -pa "$tmp/ebin_nl" -o "$tmp/ebin_nl" "$f"; fi
done
erlc +no_line_info -pa "$tmp/ebin_nl" -o "$tmp/ebin_nl" "${srcs[@]}"
erl -noshell -pa "$tmp/bench" -eval "bench_node:main({size, \"$tmp/ebin\"}), halt()." >"$tmp/size.out"
erl -noshell -pa "$tmp/bench" -eval "bench_node:main({size, \"$tmp/ebin_nl\"}), halt()." >"$tmp/size_nl.out"
l="$(sed -n 's/^SIZE_STRIPPED_NOLINE //p' "$tmp/size_nl.out")"
awk -v l="$l" '/^MODULES/ {n=$2} /^SIZE_RAW/ {r=$2} /^SIZE_STRIPPED / {s=$2}
  END { printf "device modules: %d beams, %d bytes as built, %d without debug info, %d without debug info and line tables  (goal <= 65536)\n", n, r, s, l }' "$tmp/size.out"
sed -n 's/^SIZE_MODULE //p' "$tmp/size_nl.out" | awk '$1 ~ /^httpd_ws_/ {w+=$2; next} {h+=$2}
  END { printf "  of which HTTP core %d bytes, WebSocket (httpd_ws_*) %d bytes\n", h, w }'
echo "largest device modules (bytes without debug info and line tables):"
sed -n 's/^SIZE_MODULE //p' "$tmp/size_nl.out" | sort -k2 -rn | head -8 | awk '{printf "  %-22s %6d\n", $1, $2}'

# (g) the same modules as avmd ships them in a bundle (only the chunks AtomVM reads, literals inflated
# for devices without zlib), with line info and with strip_lines = true; needs a built avmd.
avmd=""
for b in "$repo/target/release/avmd" "$repo/target/debug/avmd"; do [ -x "$b" ] && { avmd="$b"; break; }; done
if [ -n "$avmd" ] && command -v python3 >/dev/null; then
  cp -r "$repo/examples/hello_web" "$tmp/app" && rm -rf "$tmp/app/_build"
  shipped() {
    "$avmd" build "$tmp/app" >/dev/null
    "$avmd" inspect "$tmp/app/_build/avmd/hello_web.avm" --json | python3 -c '
import json, sys
mods = [m for m in json.load(sys.stdin)["modules"] if m["name"].startswith(("httpd_", "gen_tcp_server"))]
print(len(mods), sum(m["size"] for m in mods))'
  }
  read -r n with <<<"$(shipped)"
  printf '\nstrip_lines = true\n' >>"$tmp/app/avmd.toml"
  read -r _ without <<<"$(shipped)"
  echo "as shipped in a bundle by avmd ($n runtime modules): $with bytes, $without with strip_lines = true"
else
  echo "as shipped in a bundle: skipped (build avmd first: cargo build --release)"
fi
