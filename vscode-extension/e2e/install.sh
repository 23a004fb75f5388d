#!/usr/bin/env bash
# Installs the end-to-end test's tools: code-server (a real VS Code, from the npm registry) and
# playwright-core. Idempotent. What it takes on a machine without GitHub access
# (../shared/FIELD-NOTES.md): Debian's ripgrep stands in for the rg that @vscode/ripgrep would
# download, and node-pty builds against Debian's Node headers.
set -euo pipefail
cd "$(dirname "$0")"
tmp="${TMPDIR:-/tmp}"
cache="$tmp/vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -f "$cache" ]; then
  rg="$(command -v rg || true)"
  [ -n "$rg" ] || { echo "install.sh: needs ripgrep (apt-get install ripgrep)" >&2; exit 1; }
  d="$(mktemp -d)"; cp "$rg" "$d/rg"
  mkdir -p "$(dirname "$cache")"
  tar -czf "$cache" -C "$d" rg
  rm -rf "$d"
fi
if [ ! -x node_modules/.bin/code-server ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm_config_unsafe_perm=true npm_config_yes=true npm_config_nodedir=/usr \
    npm ci --no-audit --no-fund --silent
fi
