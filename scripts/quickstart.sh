#!/usr/bin/env bash
# One command from a fresh Debian machine to a running dev server on the bundled example:
# installs what is missing, builds avmd, then runs `avmd dev examples/hello_web`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
exec "$root/target/release/avmd" dev "$root/examples/hello_web" "$@"
