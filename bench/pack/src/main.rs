//! Packing benchmark: 100 generated modules (real `erlc` beams) are stripped for the device and packed
//! into one `.avm` by avmd's engine, and by a reference packer written in Erlang doing the same work
//! (the approach of atomvm_packbeam: `beam_lib:all_chunks/1`, keep the device chunks, `zlib:uncompress/1`
//! LitT into LitU, write the sections), measured in the same run. Both bundles must be byte-identical,
//! which cross-checks the format. Prints per-pack times (median of ROUNDS), input MB/s and the ratio.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use avmd_engine::beam::{self, StripOptions};
use avmd_engine::packbeam::{self, Section, FLAG_BEAM, FLAG_START};

/// The Erlang reference packer: `pack(Dir, Out, Rounds)` packs every `Dir/*.beam` (sorted) `Rounds`
/// times and prints the median microseconds of one pack done inside the VM.
const REFERENCE_PACKER: &str = r##"
Keep = ["AtU8", "Code", "StrT", "ImpT", "ExpT", "LocT", "LitU", "FunT", "Line", "avmN", "Type"],
Pad = fun(B) -> case byte_size(B) rem 4 of 0 -> B; R -> <<B/binary, 0:((4 - R) * 8)>> end end,
Strip = fun(File) ->
    {ok, _, Chunks0} = beam_lib:all_chunks(File),
    Chunks = [case Id of
                  "LitT" -> <<_:32, Z/binary>> = Data, {"LitU", zlib:uncompress(Z)};
                  _ -> {Id, Data}
              end || {Id, Data} <- Chunks0],
    Body = << <<(list_to_binary(Id))/binary, (byte_size(D)):32, (Pad(D))/binary>>
             || Id <- Keep, {I2, D} <- Chunks, I2 =:= Id >>,
    <<"FOR1", (byte_size(Body) + 4):32, "BEAM", Body/binary>>
end,
Section = fun(Name, Flags, Data) ->
    N = Pad(<<(list_to_binary(Name))/binary, 0>>),
    D = Pad(Data),
    <<(12 + byte_size(N) + byte_size(D)):32, Flags:32, 0:32, N/binary, D/binary>>
end,
Pack = fun(Files, Start) ->
    Secs = [begin
                Mod = filename:basename(F, ".beam"),
                Flags = case Mod of Start -> 3; _ -> 2 end,
                Section(Mod ++ ".beam", Flags, Strip(F))
            end || F <- Files],
    iolist_to_binary([<<"#!/usr/bin/env AtomVM\n", 0, 0>>, Secs, <<0:32, 0:32, 0:32, "end", 0>>])
end,
[Dir, Out, RoundsS, Start] = init:get_plain_arguments(),
Files = lists:sort(filelib:wildcard(filename:join(Dir, "*.beam"))),
Rounds = list_to_integer(RoundsS),
Times = [begin {T, Bin} = timer:tc(fun() -> Pack(Files, Start) end), {T, Bin} end || _ <- lists:seq(1, Rounds)],
{_, Bin} = hd(Times),
ok = file:write_file(Out, Bin),
Sorted = lists:sort([T || {T, _} <- Times]),
io:format("~p~n", [lists:nth((Rounds + 1) div 2, Sorted)]),
halt().
"##;

fn module_source(i: usize) -> String {
    // Each module has literals (so OTP writes LitT), local and remote calls, and a few dozen functions,
    // roughly the size of a handler module.
    let mut s = format!(
        "-module(m{i:03}).\n-export([start/0, route/1, table/0{}]).\n",
        (0..20).map(|f| format!(", f{f}/1")).collect::<String>()
    );
    s.push_str("start() -> io:format(\"~p~n\", [table()]).\n");
    s.push_str(&format!(
        "route(<<\"/api/{i}/\", Rest/binary>>) -> {{ok, Rest}};\nroute(_) -> {{error, <<\"not found {i}\">>}}.\n"
    ));
    s.push_str(&format!(
        "table() -> [{}].\n",
        (0..40)
            .map(|k| format!("{{k{k}, <<\"value {i} {k} with some text\">>, {k}, \"str{k}\"}}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for f in 0..20 {
        s.push_str(&format!(
            "f{f}(X) when is_integer(X) -> lists:map(fun(Y) -> Y * {f} + X end, lists:seq(1, X));\n\
             f{f}(X) -> maps:get(X, #{{a => {f}, b => <<\"b{f}\">>}}, undefined).\n"
        ));
    }
    s
}

fn generate(dir: &Path, n: usize) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).expect("create bench dir");
    let sources: Vec<PathBuf> = (0..n)
        .map(|i| {
            let p = dir.join(format!("m{i:03}.erl"));
            std::fs::write(&p, module_source(i)).expect("write .erl");
            p
        })
        .collect();
    let status = Command::new("erlc")
        .arg("+deterministic")
        .arg("-o")
        .arg(dir)
        .args(&sources)
        .status()
        .expect("erlc must be installed");
    assert!(status.success(), "erlc failed");
    let mut beams: Vec<PathBuf> = (0..n).map(|i| dir.join(format!("m{i:03}.beam"))).collect();
    beams.sort();
    beams
}

/// One pack as the engine does it: read each beam, strip it, write the bundle.
fn avmd_pack(beams: &[PathBuf]) -> Vec<u8> {
    let opts = StripOptions::default();
    let sections: Vec<Section> = beams
        .iter()
        .map(|p| {
            let raw = std::fs::read(p).expect("read beam");
            let module = p.file_stem().unwrap().to_str().unwrap().to_string();
            let flags = if module == "m000" {
                FLAG_START | FLAG_BEAM
            } else {
                FLAG_BEAM
            };
            Section {
                name: format!("{module}.beam"),
                flags,
                data: beam::strip_for_device(&raw, &opts).expect("strip"),
            }
        })
        .collect();
    packbeam::write(&sections)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100);
    let rounds: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(21);
    let dir = std::env::temp_dir().join(format!("avmd-bench-pack-{}", std::process::id()));
    let beams = generate(&dir, n);
    let input_bytes: u64 = beams
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();

    // avmd: warm the page cache once, then time whole packs (file reads included).
    let ours = avmd_pack(&beams);
    let times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            let b = avmd_pack(&beams);
            let e = t.elapsed();
            assert_eq!(b.len(), ours.len());
            e
        })
        .collect();
    let avmd_median = median(times);

    // The Erlang reference packer: in-VM time per pack, and wall time of one cold `erl` run that packs once.
    let out = dir.join("reference.avm");
    let run_erl = |rounds: usize| -> (Duration, Duration) {
        let t = Instant::now();
        let output = Command::new("erl")
            .args(["-noshell", "-eval", REFERENCE_PACKER, "-extra"])
            .arg(&dir)
            .arg(&out)
            .arg(rounds.to_string())
            .arg("m000")
            .output()
            .expect("erl must be installed");
        let wall = t.elapsed();
        let text = String::from_utf8_lossy(&output.stdout);
        let micros: u64 = text.trim().parse().unwrap_or_else(|_| {
            panic!(
                "reference packer failed: {text}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (Duration::from_micros(micros), wall)
    };
    let (erl_median, _) = run_erl(rounds);
    let (_, erl_cold_wall) = run_erl(1);
    let theirs = std::fs::read(&out).expect("reference output");
    let identical = theirs == ours;

    let mb = input_bytes as f64 / 1e6;
    println!(
        "packing {n} modules ({:.2} MB of .beam in, {:.2} MB .avm out), median of {rounds} rounds",
        mb,
        ours.len() as f64 / 1e6
    );
    println!(
        "  avmd engine (read + strip + LitT inflate + pack, in-process): {:>9.2} ms  {:>7.1} MB/s",
        avmd_median.as_secs_f64() * 1e3,
        mb / avmd_median.as_secs_f64()
    );
    println!(
        "  baseline: Erlang reference packer, in a warm VM:              {:>9.2} ms  {:>7.1} MB/s",
        erl_median.as_secs_f64() * 1e3,
        mb / erl_median.as_secs_f64()
    );
    println!(
        "  baseline: Erlang reference packer, one cold `erl` run:         {:>9.2} ms",
        erl_cold_wall.as_secs_f64() * 1e3
    );
    println!(
        "  ratio avmd / warm Erlang: {:.3}x   avmd / cold erl: {:.4}x",
        avmd_median.as_secs_f64() / erl_median.as_secs_f64(),
        avmd_median.as_secs_f64() / erl_cold_wall.as_secs_f64()
    );
    println!(
        "  bundles byte-identical: {} (sha256 {})",
        if identical { "yes" } else { "NO" },
        packbeam::sha256_hex(&ours)
    );
    let _ = std::fs::remove_dir_all(&dir);
    if !identical {
        std::process::exit(1);
    }
}
