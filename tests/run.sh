#!/usr/bin/env bash
# Runs every test avmd has, in order: lint, runtime EUnit (on gen_tcp, then on the socket transport AtomVM
# uses), cargo tests, pytest end-to-end tests on host OTP, the HTTP and WebSocket suites again on the real
# AtomVM (scripts/atomvm.sh builds it), browser tests, the VS Code extension's tests, and the extension
# end to end in code-server.
# Prints each stage's own output, then one summary line "tests: N passed, M failed".
# Usage: bash tests/run.sh            (from anywhere; expects scripts/setup.sh to have run once)
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# No test looks for devices on the machine's network (mDNS); tests/devices multicasts only inside a
# network namespace of its own and turns it back on there (tests/conftest.py sets the same for pytest).
export AVMD_NO_MDNS=1
logdir="$(mktemp -d)"
total_pass=0; total_fail=0; failed_stages=()

stage() { # name, command...
  local name=$1; shift
  echo; echo "==================== $name ===================="
  local start=$SECONDS
  "$@" 2>&1 | tee "$logdir/$name.log"
  local rc=${PIPESTATUS[0]}
  echo "---- $name: exit $rc in $((SECONDS - start)) s"
  [ "$rc" -eq 0 ] || failed_stages+=("$name")
  return 0
}

count() { # add the pass/fail counts a stage's log reports
  total_pass=$((total_pass + ${1:-0})); total_fail=$((total_fail + ${2:-0}))
}

stage lint bash -c 'cargo fmt --all -- --check && cargo clippy --workspace --all-targets --quiet -- -D warnings'

eunit_counts() { # stage name: add the counts EUnit printed
  local log="$logdir/$1.log"
  if grep -q 'All [0-9]* tests passed' "$log"; then
    count "$(grep -o 'All [0-9]* tests passed' "$log" | grep -o '[0-9]*' | tail -1)" 0
  else
    local line
    line=$(grep -E 'Failed: [0-9]+\. +Skipped: [0-9]+\. +Passed: [0-9]+' "$log" | tail -1)
    count "$(echo "$line" | sed -E 's/.*Passed: ([0-9]+).*/\1/')" "$(echo "$line" | sed -E 's/.*Failed: ([0-9]+).*/\1/')"
  fi
}

stage eunit runtime/test.sh
eunit_counts eunit

# The suites that open sockets, again on tcp_transport's `socket' backend: the code path a device runs.
socket_suites=(conn_rfc9112_tests limits_tests server_cap_tests ws_conn_tests api_tests static_tests middleware_tests)
stage eunit-socket env AVMD_HTTPD_TRANSPORT=socket runtime/test.sh "${socket_suites[@]}"
eunit_counts eunit-socket

stage cargo cargo test --workspace --quiet
p=$(grep -oE 'test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' "$logdir/cargo.log" | awk '{s+=$4} END {print s+0}')
f=$(grep -oE 'test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' "$logdir/cargo.log" | awk '{s+=$6} END {print s+0}')
count "$p" "$f"

stage pytest python3 -m pytest -q tests --ignore=tests/vm
p=$(grep -oE '[0-9]+ passed' "$logdir/pytest.log" | tail -1 | grep -oE '[0-9]+')
f=$(grep -oE '[0-9]+ (failed|error)' "$logdir/pytest.log" | tail -2 | awk '{s+=$1} END {print s+0}')
count "${p:-0}" "${f:-0}"

# The same HTTP, WebSocket, OTA and atomvm_lib-compatibility suites with every server booted on the real AtomVM (tests/vm_support.py),
# plus the tests that only make sense there (tests/vm). A difference between the two VMs is a bug.
stage atomvm env AVMD_VM=atomvm python3 -m pytest -q tests/http tests/ws tests/vm tests/ota tests/legacy tests/devices
p=$(grep -oE '[0-9]+ passed' "$logdir/atomvm.log" | tail -1 | grep -oE '[0-9]+')
f=$(grep -oE '[0-9]+ (failed|error)' "$logdir/atomvm.log" | tail -2 | awk '{s+=$1} END {print s+0}')
count "${p:-0}" "${f:-0}"
n=$(python3 -m pytest -q --collect-only tests/http tests/ws 2>/dev/null | grep -oE '^[0-9]+ tests' | grep -oE '[0-9]+')
echo "tests/http + tests/ws: ${n:-?} cases, run on host OTP in the pytest stage and on AtomVM here (of the atomvm stage's ${p:-0} passed, ${f:-0} failed)"

if ls tests/browser/*.test.mjs >/dev/null 2>&1; then
  stage browser bash -c 'cd tests/browser && node --test'
  p=$(grep -E '^# pass [0-9]+' "$logdir/browser.log" | awk '{print $3}' | tail -1)
  f=$(grep -E '^# fail [0-9]+' "$logdir/browser.log" | awk '{print $3}' | tail -1)
  count "${p:-0}" "${f:-0}"
fi

stage extension bash -c 'cd vscode-extension && npm ci --no-audit --no-fund --silent && npm test'
p=$(grep -E '^# pass [0-9]+' "$logdir/extension.log" | awk '{print $3}' | tail -1)
f=$(grep -E '^# fail [0-9]+' "$logdir/extension.log" | awk '{print $3}' | tail -1)
count "${p:-0}" "${f:-0}"

# The extension in a real VS Code (code-server + playwright-core + chromium): installs it, opens a
# copy of the example, and goes from Problems to a push to simulated devices.
stage vscode bash -c 'cd vscode-extension/e2e && ./install.sh && npm test'
p=$(grep -E '^# pass [0-9]+' "$logdir/vscode.log" | awk '{print $3}' | tail -1)
f=$(grep -E '^# fail [0-9]+' "$logdir/vscode.log" | awk '{print $3}' | tail -1)
count "${p:-0}" "${f:-0}"

echo
if [ ${#failed_stages[@]} -gt 0 ]; then
  echo "failed stages: ${failed_stages[*]} (logs in $logdir)"
  # A stage that failed without reporting test counts (a build error) still counts as a failure.
  [ "$total_fail" -eq 0 ] && total_fail=${#failed_stages[@]}
  echo "tests: $total_pass passed, $total_fail failed"
  exit 1
fi
echo "tests: $total_pass passed, $total_fail failed"
