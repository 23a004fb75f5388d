#!/usr/bin/env bash
# HTTP throughput on the real AtomVM (on demand, not part of tests/run.sh). One bundle, packed by
# `avmd build` from bench/atomvm/bench_avm.erl, booted once per server on AtomVM (generic_unix, built by
# scripts/atomvm.sh) and on host OTP through `avmd run`, all on 127.0.0.1:
#   ours             httpd_server, one route answering GET / with "Hello, World!"
#   example          examples/hello_web without its request log: GET /api/hello?name=x (the goal's route)
#   minimal_socket   the smallest keep-alive server on AtomVM's `socket' module: the baseline
#   minimal_gen_tcp  the same loop on gen_tcp (the VM's default backend, what most examples use)
# each loaded with `wrk -t1 -c$CONNECTIONS -d$DURATION`, one at a time, in $ROUNDS interleaved rounds;
# prints the median req/s, non-2xx and socket-error counts, and the ratios ours/minimal_socket (on
# AtomVM) and AtomVM/host for ours; then the memory of an idle keep-alive connection and of an idle
# WebSocket on both VMs (idle_memory.py, from the VM's own process_info), and the AtomVM process's RSS
# after 1,000 requests (a fresh VM); and each stage of the request path timed alone on both VMs
# (bench_avm:stages/0). Usage: bench/atomvm/run.sh   env: DURATION (5s), CONNECTIONS (4),
# WARMUP (1s), ROUNDS (3). Needs wrk, curl, erl and a built avmd (cargo build --release).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
DURATION="${DURATION:-5s}"
CONNECTIONS="${CONNECTIONS:-4}"
WARMUP="${WARMUP:-1s}"
ROUNDS="${ROUNDS:-3}"

for tool in wrk curl erl; do
  command -v "$tool" >/dev/null || { echo "bench/atomvm: missing $tool (Debian packages: wrk curl erlang)" >&2; exit 2; }
done
tmp="$(mktemp -d /tmp/avmd-bench-atomvm.XXXXXX)"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -9 -- "-$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

. "$here/app.sh"

# Boots one server in its own process group; sets $port once it printed its port.
start_server() { # name command...   (a host_ prefix is dropped from the server's name)
  local name=$1 out="$tmp/$1.out"; shift
  AVMD_BENCH_SERVER="${name#host_}" setsid "$@" >"$out" 2>&1 &
  disown "$!" 2>/dev/null || true
  pids+=("$!")
  port=""
  for _ in $(seq 1 200); do
    # (AtomVM's inet driver may print the bound address before our line)
    port="$(sed -n 's/^.*PORT \([0-9]*\)$/\1/p; s/^serving .* on http:\/\/127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' "$out" | tail -1)"
    [ -n "$port" ] && return 0
    sleep 0.1
  done
  echo "bench/atomvm: $name did not start:" >&2; cat "$out" >&2; return 1
}

measure() { # name url round
  local name=$1 url=$2 round=$3 out body want='Hello, World!'
  out="$tmp/$name.$round.wrk"
  body="$(curl -fs "$url")"
  case "$name" in *example) want='{"hello":"x"}' ;; esac
  [ "$body" = "$want" ] || { echo "bench/atomvm: $name answered '$body'" >&2; return 1; }
  wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" "$url" >/dev/null
  wrk -t1 -c"$CONNECTIONS" -d"$DURATION" "$url" >"$out"
  awk '/^Requests\/sec:/ {print $2}' "$out"
}

declare -A url
example_path="api/hello?name=x"
servers=(ours example minimal_socket minimal_gen_tcp)
for s in "${servers[@]}"; do
  start_server "$s" stdbuf -oL "$vm/AtomVM" "$bundle" "$vm/atomvmlib.avm"
  url[$s]="http://127.0.0.1:$port/"
done
url[example]+="$example_path"
# the same bundle on host OTP through `avmd run' (AVMD_BENCH_SERVER picks the server there too)
for s in ours example minimal_gen_tcp; do
  start_server "host_$s" "$avmd" run "$tmp/app" --port 0
  url[host_$s]="http://127.0.0.1:$port/"
  servers+=("host_$s")
done
url[host_example]+="$example_path"

echo "bench/atomvm: wrk -t1 -c$CONNECTIONS -d$DURATION (warm-up $WARMUP), $ROUNDS rounds, 127.0.0.1;" \
  "AtomVM $(cat "$vm/COMMIT" 2>/dev/null || basename "$vm"); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A all
for round in $(seq 1 "$ROUNDS"); do
  for s in "${servers[@]}"; do
    all[$s]="${all[$s]:-} $(measure "$s" "${url[$s]}" "$round")"
  done
done

median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
declare -A rps
printf '%-16s %-8s %14s  %-10s %-13s  %s\n' server vm "req/s (median)" non-2xx socket-errors rounds
for s in "${servers[@]}"; do
  rps[$s]="$(echo "${all[$s]}" | tr ' ' '\n' | grep . | median)"
  non2xx="$(cat "$tmp/$s".*.wrk | awk '/Non-2xx/ {n+=$NF} END {print n+0}')"
  errs="$(cat "$tmp/$s".*.wrk | awk '/Socket errors/ {gsub(",", ""); n+=$4+$6+$8+$10} END {print n+0}')"
  where=AtomVM; case "$s" in host_*) where="host OTP" ;; esac
  printf '%-16s %-8s %14.0f  %-10s %-13s %s\n' "${s#host_}" "$where" "${rps[$s]}" "$non2xx" "$errs" "${all[$s]}"
done
awk -v o="${rps[ours]}" -v e="${rps[example]}" -v s="${rps[minimal_socket]}" -v g="${rps[minimal_gen_tcp]}" \
  -v h="${rps[host_ours]}" -v he="${rps[host_example]}" -v hg="${rps[host_minimal_gen_tcp]}" 'BEGIN {
  printf "ratio example/minimal_socket  %.2f  (on AtomVM; goal >= 0.5, compass 0.8)\n", e / s
  printf "ratio ours/minimal_socket     %.2f  (on AtomVM)\n", o / s
  printf "ratio ours/minimal_gen_tcp    %.2f  (on AtomVM)\n", o / g
  printf "ratio example/minimal_gen_tcp %.2f  (on host OTP; goal >= 0.8)\n", he / hg
  printf "ratio ours/minimal_gen_tcp    %.2f  (on host OTP)\n", h / hg
  printf "ratio AtomVM/host for ours    %.3f\n", o / h
}'

# Each stage of the request path alone (bench_avm:stages/0), µs per operation on both VMs.
stages() { # name command...
  local out="$tmp/stages.$1"; shift
  AVMD_BENCH_SERVER=stages setsid "$@" >"$out" 2>&1 &
  local pid=$!
  disown "$pid" 2>/dev/null || true
  # (`avmd run' prefixes the app's lines with "| ")
  for _ in $(seq 1 300); do grep -q "STAGES done" "$out" && break; sleep 0.1; done
  kill -9 -- "-$pid" 2>/dev/null || true
  sed -n 's/^\(| \)\{0,1\}STAGE \(.*\) \([0-9.]*\)$/\2\t\3/p' "$out"
}
stages atomvm stdbuf -oL "$vm/AtomVM" "$bundle" "$vm/atomvmlib.avm" >"$tmp/stages.atomvm.tsv"
stages host "$avmd" run "$tmp/app" --port 0 >"$tmp/stages.host.tsv"
printf '%-48s %12s %12s\n' "stage (alone, in a loop)" "AtomVM µs" "host µs"
# (the same stages in the same order on both)
paste "$tmp/stages.atomvm.tsv" "$tmp/stages.host.tsv" | awk -F'\t' '{printf "%-48s %12s %12s\n", $1, $2, $4}'

for s in ours host_ours; do
  where=AtomVM; [ "$s" = host_ours ] && where="host OTP"
  p="${url[$s]#http://127.0.0.1:}"
  python3 "$here/idle_memory.py" "${p%/}" | sed "s/^/$where: /"
done
start_server rss stdbuf -oL "$vm/AtomVM" "$bundle" "$vm/atomvmlib.avm"
vmpid="$(pgrep -n -f "AtomVM $bundle")"
before="$(awk '/VmRSS/ {print $2}' "/proc/$vmpid/status")"
AVMD_BENCH_REQUESTS=1000 python3 "$here/idle_memory.py" "$port" >/dev/null
after="$(awk '/VmRSS/ {print $2}' "/proc/$vmpid/status")"
echo "AtomVM RSS: ${before} kB booted, ${after} kB after 1,000 requests (and the idle-memory runs)"
