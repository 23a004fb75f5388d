//! `beam` on real OTP 25 beams compiled with `erlc`: chunk reading, imports/exports, and device
//! stripping (LitT inflated into LitU, debug chunks dropped, Line optional, deterministic output).

mod beam_support;

use avmd_engine::beam::{self, Mfa, StripOptions};
use beam_support::{erl_eval, erlc, Scratch, LIT_MODULE};

fn ids(b: &beam::Beam) -> Vec<String> {
    b.chunks.iter().map(|c| c.id_str()).collect()
}

#[test]
fn otp_beams_parse_with_module_name_imports_and_exports() {
    let dir = Scratch::new("parse");
    let bytes = erlc(&dir.path, "lit", LIT_MODULE);
    let b = beam::parse(&bytes).unwrap();
    assert_eq!(b.module, "lit");
    let imports = beam::imports(&b).unwrap();
    assert!(
        imports.contains(&Mfa::new("lists", "sum", 1)),
        "{imports:?}"
    );
    assert!(
        imports.contains(&Mfa::new("io", "format", 2)),
        "{imports:?}"
    );
    let exports = beam::exports(&b).unwrap();
    assert!(exports.contains(&Mfa::new("lit", "big", 0)));
    assert!(beam::exports_start0(&b));
}

#[test]
fn a_module_without_start0_is_not_a_start_module() {
    let dir = Scratch::new("nostart");
    let bytes = erlc(
        &dir.path,
        "nostart",
        "-module(nostart).\n-export([start/1]).\nstart(X) -> X.\n",
    );
    assert!(!beam::exports_start0(&beam::parse(&bytes).unwrap()));
}

#[test]
fn stripping_inflates_litt_into_litu_and_drops_debug_chunks() {
    let dir = Scratch::new("strip");
    let bytes = erlc(&dir.path, "lit", LIT_MODULE);
    let original = beam::parse(&bytes).unwrap();
    let litt = original
        .chunk(b"LitT")
        .expect("OTP 25 compresses literals into LitT");
    let inflated = beam::inflate_literals(&litt.data).unwrap();
    assert_eq!(
        inflated.len() as u32,
        u32::from_be_bytes(litt.data[..4].try_into().unwrap()),
        "LitT declares its uncompressed size"
    );

    let stripped = beam::strip_for_device(&bytes, &StripOptions::default()).unwrap();
    let s = beam::parse(&stripped).unwrap();
    assert_eq!(s.module, "lit");
    assert_eq!(s.chunk(b"LitU").unwrap().data, inflated);
    let kept = ids(&s);
    for dropped in ["LitT", "Meta", "Attr", "CInf", "Dbgi", "Docs"] {
        assert!(
            !kept.contains(&dropped.to_string()),
            "{dropped} survived: {kept:?}"
        );
    }
    for must in [
        "AtU8", "Code", "ImpT", "ExpT", "LocT", "StrT", "Line", "Type",
    ] {
        assert!(
            kept.contains(&must.to_string()),
            "{must} was dropped: {kept:?}"
        );
    }
    // Every chunk kept is byte-identical to the original's.
    for c in &s.chunks {
        if &c.id != b"LitU" {
            assert_eq!(
                original.chunk(&c.id).unwrap().data,
                c.data,
                "{}",
                c.id_str()
            );
        }
    }
    assert!(stripped.len() < bytes.len());
    assert_eq!(
        beam::imports(&s).unwrap(),
        beam::imports(&original).unwrap()
    );
}

#[test]
fn strip_lines_drops_the_line_chunk_only() {
    let dir = Scratch::new("lines");
    let bytes = erlc(&dir.path, "lit", LIT_MODULE);
    let with =
        beam::parse(&beam::strip_for_device(&bytes, &StripOptions::default()).unwrap()).unwrap();
    let without =
        beam::parse(&beam::strip_for_device(&bytes, &StripOptions { strip_lines: true }).unwrap())
            .unwrap();
    let mut expected = ids(&with);
    expected.retain(|id| id != "Line");
    assert_eq!(ids(&without), expected);
}

#[test]
fn stripping_is_deterministic_and_idempotent() {
    let dir = Scratch::new("determinism");
    let bytes = erlc(&dir.path, "lit", LIT_MODULE);
    let opts = StripOptions::default();
    let a = beam::strip_for_device(&bytes, &opts).unwrap();
    let b = beam::strip_for_device(&bytes, &opts).unwrap();
    assert_eq!(a, b);
    assert_eq!(beam::strip_for_device(&a, &opts).unwrap(), a);
}

#[test]
fn a_stripped_beam_without_literals_still_loads_and_runs_on_otp() {
    // OTP 25 does not know LitU, so only a module without literals can be loaded after stripping;
    // this proves the container and the kept chunks are what a BEAM loader accepts.
    let dir = Scratch::new("load");
    let bytes = erlc(
        &dir.path,
        "plain",
        "-module(plain).\n-export([add/2]).\nadd(A, B) -> A + B.\n",
    );
    let stripped = beam::strip_for_device(&bytes, &StripOptions { strip_lines: true }).unwrap();
    std::fs::write(dir.join("stripped.bin"), &stripped).unwrap();
    let (ok, out) = erl_eval(
        &dir.path,
        "{ok, B} = file:read_file(\"stripped.bin\"), \
         {module, plain} = code:load_binary(plain, \"plain.beam\", B), \
         io:format(\"sum=~p~n\", [plain:add(2, 3)]).",
    );
    assert!(ok && out.contains("sum=5"), "{out}");
}

#[test]
fn otp_rejects_litu_so_for_otp_turns_a_device_beam_back_into_a_loadable_one() {
    let dir = Scratch::new("for_otp");
    let bytes = erlc(&dir.path, "lit", LIT_MODULE);
    let device = beam::strip_for_device(&bytes, &StripOptions::default()).unwrap();
    let host = beam::for_otp(&device).unwrap();
    std::fs::write(dir.join("device.bin"), &device).unwrap();
    std::fs::write(dir.join("host.bin"), &host).unwrap();
    let (ok, out) = erl_eval(
        &dir.path,
        "{ok, D} = file:read_file(\"device.bin\"), \
         io:format(\"device=~p~n\", [code:load_binary(lit, \"lit.beam\", D)]), \
         {ok, H} = file:read_file(\"host.bin\"), \
         {module, lit} = code:load_binary(lit, \"lit.beam\", H), \
         io:format(\"big=~p~n\", [lit:big()]).",
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("device={error,badfile}"),
        "OTP 25 started accepting LitU? {out}"
    );
    assert!(
        out.contains("big=[{a,<<\"hello\">>,\"a string literal\",1.5,#{k => v}},[1,2,3]]"),
        "{out}"
    );
    // The literal table survives the round trip exactly.
    let back = beam::parse(&host).unwrap();
    let litt = &back.chunk(b"LitT").unwrap().data;
    assert_eq!(
        beam::inflate_literals(litt).unwrap(),
        beam::parse(&device).unwrap().chunk(b"LitU").unwrap().data
    );
}
