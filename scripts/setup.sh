#!/usr/bin/env bash
# Installs everything avmd needs on a fresh Debian machine and builds the `avmd` binary.
# Idempotent: safe to run again. Needs root (or sudo) for apt-get.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# The second line builds the real AtomVM (scripts/atomvm.sh), which the tests run bundles on too;
# neovim is the editor the language server is tested in (tests/lsp); ripgrep and libkrb5-dev are what
# code-server (the VS Code the extension's end-to-end test runs in) needs to install; gdb counts the
# literals a request loads on AtomVM (tests/vm/test_literals.py).
apt_pkgs=(erlang-nox erlang-dev elixir curl wrk chromium python3-pip iproute2 neovim ripgrep libkrb5-dev
  build-essential cmake ninja-build gperf zlib1g-dev libmbedtls-dev rebar3 gdb)
missing=()
for p in "${apt_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> apt-get install ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "avmd needs a Rust toolchain (cargo). Install it with rustup, then run this again." >&2
  exit 1
fi

echo "==> Python test clients (pytest, h11, websockets, wsproto, pytest-lsp)"
python3 -m pip install -q --disable-pip-version-check -r tests/requirements.txt 2>/dev/null \
  || python3 -m pip install -q --disable-pip-version-check --break-system-packages -r tests/requirements.txt

if command -v npm >/dev/null 2>&1; then
  echo "==> playwright-core for the browser tests"
  (cd tests/browser && npm install --no-audit --no-fund --silent)
fi

echo "==> the real AtomVM (generic_unix, pinned commit; cached after the first build)"
scripts/atomvm.sh >/dev/null

echo "==> building the runtime and avmd"
runtime/build.sh
if [ -n "${CI:-}" ]; then
  # CI runs the test suite, which builds the debug binary itself: skip the second (release) build.
  cargo build -p avmd
else
  cargo build --release -p avmd
  echo "==> avmd is at target/release/avmd"
fi
