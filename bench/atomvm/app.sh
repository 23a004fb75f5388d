# Sourced by bench/atomvm/run.sh and count.sh (with $here, $repo and $tmp set): finds the built avmd
# and the cached AtomVM, and packs the bench app (bench_avm.erl beside examples/hello_web's modules)
# into $tmp/app; sets $avmd, $vm and $bundle.
avmd=""
for b in "$repo/target/release/avmd" "$repo/target/debug/avmd"; do [ -x "$b" ] && { avmd="$b"; break; }; done
[ -n "$avmd" ] || { echo "bench/atomvm: build avmd first (cargo build --release -p avmd)" >&2; exit 2; }
vm="$("$repo/scripts/atomvm.sh" | tail -1)"
mkdir -p "$tmp/app/src"
cp "$here/bench_avm.erl" "$repo"/examples/hello_web/src/*.erl "$tmp/app/src/"
printf 'name = "bench_avm"\nstart = "bench_avm"\n' >"$tmp/app/avmd.toml"
"$avmd" build "$tmp/app" >"$tmp/build.out" || { cat "$tmp/build.out" >&2; exit 1; }
bundle="$tmp/app/_build/avmd/bench_avm.avm"
