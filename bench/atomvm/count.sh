#!/usr/bin/env bash
# bench/atomvm/count.sh WHAT [SERVER] [PATH]: what one request costs on the real AtomVM, by source line.
#   WHAT    literals (literal loads), gc (collections and the live words each copies) or atoms
#           (atoms compared by name: failed atom tests and map-key scans, ~800 instructions each)
#   SERVER  a bench_avm server (default example); PATH the request target (default /api/hello?name=x)
# Runs the bench app under gdb (Debian package gdb), makes 3 warm-up requests, then counts over 20 and
# prints count, location and what, with the total per request. Slow (gdb stops at every event); the
# figures are counts, not times. docs/benchmarks.md says what they showed.
set -euo pipefail
what=${1:?usage: count.sh literals|gc|atoms [SERVER] [PATH]}
server=${2:-example}
path=${3:-/api/hello?name=x}
case $what in literals) mode=1 ;; gc) mode=2 ;; atoms) mode=3 ;; *) echo "count.sh: WHAT is literals, gc or atoms" >&2; exit 2 ;; esac
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
command -v gdb >/dev/null || { echo "count.sh: missing gdb (Debian package gdb)" >&2; exit 2; }
tmp="$(mktemp -d /tmp/avmd-count.XXXXXX)"
gdbpid=""
cleanup() { [ -n "$gdbpid" ] && kill -9 -- "-$gdbpid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
. "$here/app.sh"

AVMD_BENCH_SERVER=$server setsid gdb -q -batch -ex "set pagination off" -ex "set \$mode = $mode" \
  -ex "handle SIGUSR1 stop print nopass" -ex "handle SIGPIPE nostop noprint" -ex "source $here/gdb_counts.py" \
  -ex run -ex "countdump $tmp/warm" -ex continue -ex "countdump $tmp/counted" -ex kill \
  --args "$vm/AtomVM" "$bundle" "$vm/atomvmlib.avm" >"$tmp/gdb.out" 2>&1 &
gdbpid=$!
port=""
for _ in $(seq 1 1500); do
  port="$(sed -n 's/^.*PORT \([0-9]*\)$/\1/p' "$tmp/gdb.out" | tail -1)"
  [ -n "$port" ] && break
  sleep 0.2
done
[ -n "$port" ] || { echo "count.sh: the server did not start:" >&2; cat "$tmp/gdb.out" >&2; exit 1; }
vmpid() { pgrep -n -f "^$vm/AtomVM"; }
python3 "$here/keepalive_client.py" "$port" 3 "$path" >/dev/null
kill -USR1 "$(vmpid)"
until [ -f "$tmp/warm" ]; do sleep 0.1; done
python3 "$here/keepalive_client.py" "$port" 20 "$path" >/dev/null
kill -USR1 "$(vmpid)"
until [ -f "$tmp/counted" ]; do sleep 0.1; done
sort -rn "$tmp/counted"
awk -F'\t' '{ if ($3 ~ /^gc/ || $3 ~ /^literal/ || $3 ~ /\//) n += $1 } END { printf "total %.1f per request (%s, 20 requests of %s)\n", n / 20, "'"$what"'", "'"$path"'" }' "$tmp/counted"
