//! `avmd inspect` as a user runs it: the built binary on a real bundle (text and --json) and on
//! malformed files, which must each give one `avmd: error:` line and exit status 1, never a panic.

#[path = "../../engine/tests/beam_support/mod.rs"]
mod beam_support;

use std::path::Path;
use std::process::{Command, Output};

use avmd_engine::beam::{self, StripOptions};
use avmd_engine::packbeam::{self, priv_section_name, Section, FLAG_BEAM, FLAG_DATA, FLAG_START};
use beam_support::{erlc, Scratch, LIT_MODULE};

fn avmd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_avmd"))
        .args(args)
        .output()
        .expect("run avmd")
}

fn bundle(dir: &Path) -> Vec<u8> {
    let opts = StripOptions::default();
    let lit = beam::strip_for_device(&erlc(dir, "lit", LIT_MODULE), &opts).unwrap();
    let helper = beam::strip_for_device(
        &erlc(
            dir,
            "helper",
            "-module(helper).\n-export([f/1]).\nf(X) -> {ok, X}.\n",
        ),
        &opts,
    )
    .unwrap();
    packbeam::write(&[
        Section {
            name: "lit.beam".into(),
            flags: FLAG_START | FLAG_BEAM,
            data: lit,
        },
        Section {
            name: "helper.beam".into(),
            flags: FLAG_BEAM,
            data: helper,
        },
        Section {
            name: priv_section_name("app", "www/index.html"),
            flags: FLAG_DATA,
            data: b"<h1>hi</h1>\n".to_vec(),
        },
    ])
}

#[test]
fn inspect_lists_sections_modules_priv_files_size_and_sha() {
    let dir = Scratch::new("inspect-text");
    let bytes = bundle(&dir.path);
    let file = dir.join("app.avm");
    std::fs::write(&file, &bytes).unwrap();
    let out = avmd(&["inspect", file.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(&packbeam::sha256_hex(&bytes)), "{text}");
    assert!(text.contains(&format!("{} bytes", bytes.len())), "{text}");
    assert!(text.contains("sections (3):"), "{text}");
    assert!(text.contains("3 (start+beam)"), "{text}");
    assert!(text.contains("4 (data)"), "{text}");
    let lit_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("lit "))
        .expect(&text);
    assert!(lit_line.ends_with("[start]"), "{lit_line}");
    assert!(
        lit_line.contains("LitU") && !lit_line.contains("LitT"),
        "{lit_line}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.contains("helper ") && l.contains("[start]")),
        "{text}"
    );
    assert!(
        text.contains("priv files (1):") && text.contains("app/priv/www/index.html"),
        "{text}"
    );
    assert!(!text.contains("warnings"), "{text}");
}

#[test]
fn inspect_json_is_one_object_with_the_same_facts() {
    let dir = Scratch::new("inspect-json");
    let bytes = bundle(&dir.path);
    let file = dir.join("app.avm");
    std::fs::write(&file, &bytes).unwrap();
    let out = avmd(&["inspect", file.to_str().unwrap(), "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["size"], bytes.len());
    assert_eq!(v["sha256"], packbeam::sha256_hex(&bytes));
    assert_eq!(v["start_module"], "lit");
    assert_eq!(v["sections"].as_array().unwrap().len(), 3);
    assert_eq!(v["sections"][0]["offset"], 24);
    assert_eq!(
        v["sections"][0]["flag_names"],
        serde_json::json!(["start", "beam"])
    );
    assert_eq!(v["modules"][1]["name"], "helper");
    assert_eq!(v["modules"][1]["start"], false);
    assert_eq!(v["priv"][0]["app"], "app");
    assert_eq!(v["priv"][0]["path"], "www/index.html");
    assert_eq!(v["priv"][0]["size"], 12);
}

#[test]
fn inspect_warns_about_litt_and_a_missing_start_flag() {
    let dir = Scratch::new("inspect-warn");
    let raw = erlc(&dir.path, "lit", LIT_MODULE);
    let bytes = packbeam::write(&[Section {
        name: "lit.beam".into(),
        flags: FLAG_BEAM,
        data: raw,
    }]);
    let file = dir.join("raw.avm");
    std::fs::write(&file, bytes).unwrap();
    let out = avmd(&["inspect", file.to_str().unwrap(), "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings = v["warnings"].to_string();
    assert!(warnings.contains("LitT"), "{warnings}");
    assert!(
        warnings.contains("no section has the start flag"),
        "{warnings}"
    );
    assert_eq!(v["start_module"], serde_json::Value::Null);
}

#[test]
fn malformed_files_give_one_error_line_and_exit_1() {
    let dir = Scratch::new("inspect-bad");
    let good = bundle(&dir.path);
    let first = u32::from_be_bytes(good[24..28].try_into().unwrap()) as usize;
    let priv_at =
        24 + first + u32::from_be_bytes(good[24 + first..28 + first].try_into().unwrap()) as usize;
    let mut cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("tiny", good[..10].to_vec(), "truncated header"),
        (
            "magic",
            b"#!/usr/bin/env AtomVX\n\0\0".to_vec(),
            "not an .avm file",
        ),
        (
            "truncated",
            good[..good.len() / 2].to_vec(),
            "runs past the end",
        ),
        ("no-end", good[..good.len() - 16].to_vec(), "no end marker"),
    ];
    let mut small = good.clone();
    small[24..28].copy_from_slice(&8u32.to_be_bytes());
    cases.push(("small", small, "smaller than the 12-byte"));
    let mut odd = good.clone();
    odd[24..28].copy_from_slice(&(first as u32 + 1).to_be_bytes());
    cases.push(("odd", odd, "not a multiple of 4"));
    let mut zero = good.clone();
    zero[28..32].copy_from_slice(&0u32.to_be_bytes());
    cases.push(("zero-flags", zero, "flags are 0"));
    let mut broken = good.clone();
    broken[36 + 12] = b'X'; // "lit.beam\0" pads to 12 bytes: the FOR1 tag starts at 24 + 12 + 12
    cases.push(("broken-beam", broken, "\"lit.beam\""));
    let mut prefix = good.clone();
    let prefix_at = priv_at + 12 + "app/priv/www/index.html".len().div_ceil(4) * 4 + 4 - 4;
    prefix[prefix_at..prefix_at + 4].copy_from_slice(&4000u32.to_be_bytes());
    cases.push(("priv-prefix", prefix, "length prefix says 4000"));
    for (name, bytes, expect) in cases {
        let file = dir.join(&format!("{name}.avm"));
        std::fs::write(&file, bytes).unwrap();
        let out = avmd(&["inspect", file.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(out.stdout.is_empty(), "{name}: printed a report");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(
            err.starts_with("avmd: error: ") && err.contains(expect),
            "{name}: {err}"
        );
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
}

#[test]
fn a_missing_file_is_an_error_not_a_panic() {
    let out = avmd(&["inspect", "/nonexistent/avmd/x.avm"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot read /nonexistent/avmd/x.avm"), "{err}");
}
