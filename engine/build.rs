//! Cargo build script: compiles the runtime library (`runtime/src`, shipped to devices), the host harness
//! (`runtime/host`) and the compile VM (`engine/erl`) with one `erl` run into OUT_DIR and writes
//! `embedded.rs`, which `include_bytes!`s every beam so the `avmd` binary carries the runtime it was built with.
//!
//! Each file is compiled on its own: a module that fails (others edit the runtime all the time) is skipped
//! with a `cargo:warning`, never a failed build. `runtime_lib`'s tests assert that the core modules are
//! there, so a real break still fails CI.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Compiles each file given after `-extra` as `Group OutDir Include File`, one result line per file:
/// `ok Group Module` or `fail Group File Message` (the message on one line).
const COMPILE_SCRIPT: &str = r#"
Args = init:get_plain_arguments(),
Lines = fun Loop([G, Out, Inc, F | Rest]) ->
    code:add_patha(Out),
    Opts = [binary, deterministic, return_errors, return_warnings, {i, Inc}, {i, filename:dirname(F)}],
    R = try compile:file(F, Opts) catch C:E -> {error, [{F, [{none, erlang, {C, E}}]}], []} end,
    case R of
        {ok, Mod, Bin, _} ->
            ok = file:write_file(filename:join(Out, atom_to_list(Mod) ++ ".beam"), Bin),
            {module, _} = code:load_binary(Mod, F, Bin),
            io:format("ok ~s ~s~n", [G, Mod]);
        {error, Es, _} ->
            Msg = [io_lib:format("~s:~p: ~ts; ", [Fl, element(1, case Loc of {L, _} -> {L}; L -> {L} end),
                      try M:format_error(D) catch _:_ -> io_lib:format("~tp", [D]) end])
                   || {Fl, Items} <- Es, {Loc, M, D} <- Items],
            io:format("fail ~s ~s ~ts~n", [G, F, re:replace(lists:flatten(Msg), "\n", " ", [global, {return, list}])])
    end,
    Loop(Rest);
  Loop([]) -> ok
end,
Lines(Args),
halt(0).
"#;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let repo = manifest.join("..");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let runtime_src = repo.join("runtime/src");
    let runtime_host = repo.join("runtime/host");
    let vm_src = manifest.join("erl");
    for dir in [&runtime_src, &runtime_host, &vm_src] {
        println!("cargo:rerun-if-changed={}", dir.display());
    }

    if Command::new("erl").arg("-version").output().is_err() {
        panic!(
            "avmd-engine needs Erlang/OTP (erl, erlc) on PATH to compile the runtime library it embeds; \
             install it (Debian: apt-get install erlang) and build again"
        );
    }

    let groups = [
        ("device", runtime_src.clone(), repo.join("runtime/include")),
        ("host", runtime_host, runtime_src.clone()),
        ("vm", vm_src, manifest.join("erl")),
    ];
    let mut args: Vec<String> = Vec::new();
    for (group, dir, include) in &groups {
        let group_out = out.join(group);
        let _ = std::fs::remove_dir_all(&group_out);
        std::fs::create_dir_all(&group_out).unwrap();
        for file in ordered_sources(dir) {
            args.push(group.to_string());
            args.push(group_out.display().to_string());
            args.push(include.display().to_string());
            args.push(file.display().to_string());
        }
    }

    let output = Command::new("erl")
        .args(["-noshell", "-eval", COMPILE_SCRIPT, "-extra"])
        .args(&args)
        .output()
        .expect("running erl");
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        println!(
            "cargo:warning=erl failed compiling the runtime: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }

    let mut code = String::new();
    for (group, _, _) in &groups {
        let mut mods: Vec<&str> = stdout
            .lines()
            .filter_map(|l| l.strip_prefix("ok "))
            .filter_map(|l| l.strip_prefix(group).and_then(|r| r.strip_prefix(' ')))
            .collect();
        mods.sort();
        mods.dedup();
        writeln!(
            code,
            "/// `{group}` modules: (name, beam bytes), sorted by name.\npub static {}_MODULES: &[(&str, &[u8])] = &[",
            group.to_uppercase()
        )
        .unwrap();
        for m in mods {
            let beam = out.join(group).join(format!("{m}.beam"));
            writeln!(
                code,
                "    ({m:?}, include_bytes!({:?})),",
                beam.display().to_string()
            )
            .unwrap();
        }
        code.push_str("];\n");
    }
    code.push_str(
        "/// Files that failed to compile when this binary was built: (group, file, message).\n",
    );
    code.push_str("pub static SKIPPED: &[(&str, &str, &str)] = &[\n");
    for line in stdout.lines().filter_map(|l| l.strip_prefix("fail ")) {
        let mut parts = line.splitn(3, ' ');
        let (g, f, msg) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        println!("cargo:warning=skipped {g} module {f}: {msg}");
        writeln!(code, "    ({g:?}, {f:?}, {msg:?}),").unwrap();
    }
    code.push_str("];\n");
    std::fs::write(out.join("embedded.rs"), code).unwrap();
}

/// `*.erl` in `dir`, behaviour modules (those declaring `-callback`) first so their users find them.
fn ordered_sources(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "erl"))
        .collect();
    files.sort_by_key(|p| {
        let text = std::fs::read_to_string(p).unwrap_or_default();
        let behaviour = text.lines().any(|l| l.starts_with("-callback"));
        (!behaviour, p.clone())
    });
    files
}
