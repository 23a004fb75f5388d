#!/usr/bin/env bash
# Builds the real AtomVM (generic_unix) and its standard library at the pinned commit, into a cache outside
# the repository, and prints the directory that holds `AtomVM` and `atomvmlib.avm`.
# Sources: ../shared/atomvm/*.tar.xz when they are there (offline), else a clone of the same commits.
# Idempotent: a finished build is reused (the second run takes milliseconds).
# Usage: scripts/atomvm.sh [--print-dir]     (progress on stderr, the directory on stdout)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

atomvm_commit=7b2821593d9e
packbeam_commit=ee5527b
# The build flavour is part of the cache name: a cache from an older flavour is never reused.
# Release (-O3): AtomVM's CMakeLists sets no build type, which means -O0, an interpreter several times
# slower than the -Os/-O2 builds devices run; its timings would mislead every benchmark.
flavour=release
cache="${AVMD_ATOMVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/avmd/atomvm-$atomvm_commit-$flavour}"
shared="${AVMD_SHARED:-$root/../shared}/atomvm"

say() { echo "atomvm.sh: $*" >&2; }

if [ -x "$cache/AtomVM" ] && [ -f "$cache/atomvmlib.avm" ]; then
  echo "$cache"; exit 0
fi

need=(cmake ninja-build gperf zlib1g-dev libmbedtls-dev rebar3 erlang-nox erlang-dev)
missing=()
for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "building AtomVM needs these Debian packages: ${missing[*]}"
  say "install them with: sudo apt-get install -y ${missing[*]}   (scripts/setup.sh does it)"
  exit 1
fi

mkdir -p "$cache"
work="$cache/src"
rm -rf "$work"; mkdir -p "$work"

fetch() { # name, tarball, git url, commit -> directory
  local name=$1 tarball=$2 url=$3 commit=$4 dir="$work/$1"
  if [ -f "$tarball" ]; then
    say "unpacking $(basename "$tarball")"
    mkdir -p "$dir"; tar -xJf "$tarball" -C "$dir" --strip-components=1
  else
    say "no $(basename "$tarball"); cloning $url at $commit"
    git clone -q "$url" "$dir" && git -C "$dir" checkout -q "$commit"
  fi
  echo "$dir"
}

vm_src=$(fetch AtomVM "$shared/AtomVM-7b282159.tar.xz" https://github.com/atomvm/AtomVM "$atomvm_commit")
pb_src=$(fetch atomvm_packbeam "$shared/atomvm_packbeam-ee5527b.tar.xz" \
  https://github.com/atomvm/atomvm_packbeam "$packbeam_commit")
# A tarball may unpack with or without its top directory; find the CMake root either way.
[ -f "$vm_src/CMakeLists.txt" ] || vm_src=$(dirname "$(find "$work/AtomVM" -maxdepth 2 -name CMakeLists.txt | head -1)")
[ -f "$pb_src/rebar.config" ] || pb_src=$(dirname "$(find "$work/atomvm_packbeam" -maxdepth 2 -name rebar.config | head -1)")

build="$work/build"
say "configuring (cmake, ninja)"
cmake -S "$vm_src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPACKBEAM_PATH="$pb_src" >"$work/cmake.log" 2>&1 \
  || { say "cmake failed; see $work/cmake.log"; tail -20 "$work/cmake.log" >&2; exit 1; }
# rebar3 must find atomvm_packbeam as a checkout, or it asks the hex registry.
mkdir -p "$build/tools/packbeam/_checkouts"
ln -sfn "$pb_src" "$build/tools/packbeam/_checkouts/atomvm_packbeam"
say "building AtomVM and atomvmlib.avm (about a minute on 2 cores)"
ninja -C "$build" AtomVM PackBEAM atomvmlib >"$work/ninja.log" 2>&1 \
  || { say "ninja failed; see $work/ninja.log"; tail -30 "$work/ninja.log" >&2; exit 1; }

cp "$build/src/AtomVM" "$cache/AtomVM.tmp" && mv "$cache/AtomVM.tmp" "$cache/AtomVM"
cp "$build/libs/atomvmlib.avm" "$cache/atomvmlib.avm.tmp" && mv "$cache/atomvmlib.avm.tmp" "$cache/atomvmlib.avm"
echo "$atomvm_commit" >"$cache/COMMIT"
rm -rf "$work"
say "AtomVM $atomvm_commit is in $cache"
echo "$cache"
