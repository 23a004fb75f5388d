//! `compat` on real beams: imports read from `erlc` output and checked against the embedded AtomVM
//! tables, and the runtime library's own device modules (runtime/_build/ebin) checked for esp32.

mod beam_support;

use avmd_engine::beam::{self, Mfa};
use avmd_engine::compat::{self, ApiTable, Platform};
use beam_support::{erlc, Scratch};

fn imports_of(dir: &std::path::Path, module: &str, src: &str) -> (String, Vec<Mfa>) {
    let b = beam::parse(&erlc(dir, module, src)).unwrap();
    (b.module.clone(), beam::imports(&b).unwrap())
}

#[test]
fn a_planted_lists_sum_call_is_a_miss_on_esp32_and_common_calls_are_not() {
    let dir = Scratch::new("compat");
    let m = imports_of(
        &dir.path,
        "planted",
        "-module(planted).\n-export([go/1]).\n\
         go(L) -> io:format(\"~p~n\", [lists:map(fun(X) -> X * 2 end, L)]),\n\
         Bin = iolist_to_binary([<<\"a\">>, integer_to_binary(length(L))]),\n\
         {lists:sum(L), maps:get(k, #{k => Bin}), erlang:system_time(millisecond)}.\n",
    );
    let misses = compat::check(&[m], Platform::Esp32);
    let calls: Vec<String> = misses.iter().map(|m| m.call.to_string()).collect();
    assert_eq!(calls, vec!["lists:sum/1"], "{misses:?}");
    assert_eq!(misses[0].module, "planted");
    assert_eq!(misses[0].platform, Platform::Esp32);
    assert!(misses[0]
        .message()
        .contains("lists:sum/1 is not available on AtomVM (esp32)"));
}

#[test]
fn calls_into_absent_modules_are_misses_naming_the_module() {
    let dir = Scratch::new("compat-absent");
    let m = imports_of(
        &dir.path,
        "absent",
        "-module(absent).\n-export([go/1]).\ngo(S) -> {re:run(S, \"a\"), rand:uniform(), dict:new()}.\n",
    );
    let misses = compat::check(&[m], Platform::Rp2);
    let mut calls: Vec<String> = misses.iter().map(|m| m.call.to_string()).collect();
    calls.sort();
    assert_eq!(calls, vec!["dict:new/0", "rand:uniform/0", "re:run/2"]);
    assert!(misses.iter().all(|m| m.module_absent));
}

#[test]
fn platform_specific_calls_depend_on_the_platform() {
    let dir = Scratch::new("compat-platform");
    let m = imports_of(
        &dir.path,
        "nvs",
        "-module(nvs).\n-export([go/0]).\ngo() -> esp:nvs_get_binary(k).\n",
    );
    assert!(compat::check(std::slice::from_ref(&m), Platform::Esp32).is_empty());
    assert_eq!(compat::check(&[m], Platform::Stm32).len(), 1);
}

#[test]
fn every_row_of_the_tables_is_present_for_its_platform() {
    // A guard on the parsing of the embedded TSVs: each exact bifs_nifs row is found by `has`, but
    // the rows the real VM showed absent (compat::BROKEN, generic_unix's mbedTLS 3.6 NIFs).
    let table = ApiTable::atomvm();
    let tsv = include_str!("../data/bifs_nifs.tsv");
    let mut n = 0;
    for line in tsv.lines().skip(1) {
        let c: Vec<&str> = line.split('\t').collect();
        let platforms: Vec<Platform> = match c[3] {
            "core" => Platform::ALL.to_vec(),
            p => p
                .parse()
                .ok()
                .filter(|q: &Platform| q.as_str() == p)
                .into_iter()
                .collect(),
        };
        let broken = compat::BROKEN
            .iter()
            .any(|(m, f, a)| c[0] == *m && c[1] == *f && c[2] == a.to_string());
        if broken
            || (c[3] == "generic_unix" && c.get(5).is_some_and(|x| compat::needs_mbedtls_3_6(x)))
        {
            continue;
        }
        for p in platforms {
            let mfa = Mfa::new(c[0], c[1], c[2].parse().unwrap());
            assert!(table.has(p, &mfa), "{mfa} on {p}");
            n += 1;
        }
    }
    assert!(n > 1000, "only {n} rows checked");
}

#[test]
fn the_runtime_librarys_device_modules_have_no_misses_on_esp32() {
    let ebin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime/_build/ebin");
    let mut modules = Vec::new();
    for entry in std::fs::read_dir(&ebin).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) == Some("beam") {
            let b = beam::parse(&std::fs::read(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            modules.push((b.module.clone(), beam::imports(&b).unwrap()));
        }
    }
    if modules.is_empty() {
        println!(
            "note: {} holds no beams; run runtime/build.sh to check the runtime",
            ebin.display()
        );
        return;
    }
    // A module whose source is in runtime/src but whose beam is missing or stale (being edited) is still
    // part of the runtime: calls into it are not AtomVM misses; its own compile errors are reported elsewhere.
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime/src");
    let sources: Vec<String> = std::fs::read_dir(&src)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            (p.extension()? == "erl").then(|| p.file_stem()?.to_str().map(str::to_string))?
        })
        .collect();
    let misses = compat::check_with(ApiTable::atomvm(), &modules, &sources, Platform::Esp32);
    let text: Vec<String> = misses
        .iter()
        .map(|m| format!("{}: {}", m.module, m.message()))
        .collect();
    assert!(
        misses.is_empty(),
        "{} modules checked:\n{}",
        modules.len(),
        text.join("\n")
    );
}
