//! `packbeam` end to end: real beams packed and read back, byte-exact determinism, the layout rules of
//! FACTS.md checked on the written bytes, and one malformed file of every kind `read` must reject.

mod beam_support;

use avmd_engine::beam::{self, StripOptions};
use avmd_engine::packbeam::{
    self, priv_section_name, PackErrorKind, Section, FLAG_BEAM, FLAG_DATA, FLAG_START,
};
use beam_support::{erlc, Scratch, LIT_MODULE};
use sha2::{Digest, Sha256};

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

/// A bundle like the engine builds: a start module, a library module, two priv files.
fn sample_sections(dir: &std::path::Path) -> Vec<Section> {
    let lit = erlc(dir, "lit", LIT_MODULE);
    let helper = erlc(
        dir,
        "helper",
        "-module(helper).\n-export([f/1]).\nf(X) -> {ok, X}.\n",
    );
    let opts = StripOptions::default();
    vec![
        Section {
            name: "lit.beam".into(),
            flags: FLAG_START | FLAG_BEAM,
            data: beam::strip_for_device(&lit, &opts).unwrap(),
        },
        Section {
            name: "helper.beam".into(),
            flags: FLAG_BEAM,
            data: beam::strip_for_device(&helper, &opts).unwrap(),
        },
        Section {
            name: priv_section_name("app", "www/index.html"),
            flags: FLAG_DATA,
            data: b"<h1>hi</h1>\n".to_vec(),
        },
        Section {
            name: priv_section_name("app", "empty.txt"),
            flags: FLAG_DATA,
            data: Vec::new(),
        },
    ]
}

#[test]
fn packing_then_reading_gives_back_the_same_sections() {
    let dir = Scratch::new("roundtrip");
    let sections = sample_sections(&dir.path);
    let bytes = packbeam::write(&sections);
    assert_eq!(packbeam::read(&bytes).unwrap(), sections);
}

#[test]
fn the_written_layout_follows_the_packbeam_format() {
    let dir = Scratch::new("layout");
    let sections = sample_sections(&dir.path);
    let bytes = packbeam::write(&sections);
    assert_eq!(&bytes[..24], b"#!/usr/bin/env AtomVM\n\0\0");
    assert_eq!(&bytes[bytes.len() - 16..], b"\0\0\0\0\0\0\0\0\0\0\0\0end\0");
    let mut at = 24;
    for s in &sections {
        let size = be32(&bytes, at) as usize;
        assert_eq!(size % 4, 0, "{}: size {size} not padded to 4", s.name);
        assert_eq!(be32(&bytes, at + 4), s.flags);
        assert_eq!(be32(&bytes, at + 8), 0, "reserved");
        let name_end = at + 12 + s.name.len();
        assert_eq!(&bytes[at + 12..name_end], s.name.as_bytes());
        assert_eq!(bytes[name_end], 0, "name NUL-terminated");
        let data_at = at + 12 + (s.name.len() + 1).div_ceil(4) * 4;
        if s.flags & FLAG_DATA != 0 {
            assert_eq!(
                be32(&bytes, data_at) as usize,
                s.data.len(),
                "u32 length prefix"
            );
        } else {
            assert_eq!(&bytes[data_at..data_at + 4], b"FOR1");
        }
        at += size;
    }
    assert_eq!(at, bytes.len() - 16);
    let entries = packbeam::read_entries(&bytes).unwrap();
    assert_eq!(entries[0].offset, 24);
    assert_eq!(entries[1].offset, 24 + entries[0].size);
}

#[test]
fn two_packs_of_the_same_inputs_are_byte_identical() {
    // Compile twice into separate directories: erlc output itself is deterministic, and so is the packer.
    let a = Scratch::new("det-a");
    let b = Scratch::new("det-b");
    let bytes_a = packbeam::write(&sample_sections(&a.path));
    let bytes_b = packbeam::write(&sample_sections(&b.path));
    assert_eq!(bytes_a, bytes_b);
    assert_eq!(Sha256::digest(&bytes_a), Sha256::digest(&bytes_b));
}

/// A valid one-beam bundle to corrupt, with the offset of its first section.
fn valid_bundle() -> Vec<u8> {
    let dir = Scratch::new("malformed");
    let helper = erlc(
        &dir.path,
        "helper",
        "-module(helper).\n-export([f/1]).\nf(X) -> {ok, X}.\n",
    );
    packbeam::write(&[
        Section {
            name: "helper.beam".into(),
            flags: FLAG_BEAM,
            data: beam::strip_for_device(&helper, &StripOptions::default()).unwrap(),
        },
        Section {
            name: "app/priv/a.txt".into(),
            flags: FLAG_DATA,
            data: b"abcdef".to_vec(),
        },
    ])
}

fn set32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

#[test]
fn malformed_bundles_are_rejected_with_the_right_error_and_offset() {
    let good = valid_bundle();
    let first_size = be32(&good, 24) as usize;
    let second = 24 + first_size;
    let second_size = be32(&good, second) as usize;
    let end = good.len() - 16;

    type Case = (
        &'static str,
        Box<dyn Fn(&mut Vec<u8>)>,
        usize,
        fn(&PackErrorKind) -> bool,
    );
    let cases: Vec<Case> = vec![
        ("empty file", Box::new(|b| b.clear()), 0, |k| {
            matches!(k, PackErrorKind::TruncatedHeader { len: 0 })
        }),
        ("truncated header", Box::new(|b| b.truncate(10)), 0, |k| {
            matches!(k, PackErrorKind::TruncatedHeader { len: 10 })
        }),
        ("bad magic", Box::new(|b| b[2] = b'X'), 0, |k| {
            matches!(k, PackErrorKind::BadMagic)
        }),
        ("header only", Box::new(|b| b.truncate(24)), 24, |k| {
            matches!(k, PackErrorKind::NoEndMarker)
        }),
        (
            "truncated section header",
            Box::new(|b| b.truncate(30)),
            24,
            |k| matches!(k, PackErrorKind::TruncatedSectionHeader),
        ),
        (
            "truncated section body",
            Box::new(|b| b.truncate(100)),
            24,
            |k| matches!(k, PackErrorKind::SizePastEof { .. }),
        ),
        ("size below 12", Box::new(|b| set32(b, 24, 8)), 24, |k| {
            matches!(k, PackErrorKind::SizeTooSmall { size: 8 })
        }),
        (
            "size not multiple of 4",
            Box::new(move |b| set32(b, 24, first_size as u32 + 2)),
            24,
            |k| matches!(k, PackErrorKind::SizeNotAligned { .. }),
        ),
        (
            "size past EOF",
            Box::new(|b| set32(b, 24, 0x0100_0000)),
            24,
            |k| matches!(k, PackErrorKind::SizePastEof { .. }),
        ),
        ("zero flags", Box::new(|b| set32(b, 28, 0)), 24, |k| {
            matches!(k, PackErrorKind::ZeroFlags)
        }),
        (
            "unknown flag bits",
            Box::new(|b| set32(b, 28, 0x12)),
            24,
            |k| matches!(k, PackErrorKind::BadFlags { flags: 0x12 }),
        ),
        (
            "start flag on a data file",
            Box::new(move |b| set32(b, second + 4, FLAG_START | FLAG_DATA)),
            second,
            |k| matches!(k, PackErrorKind::BadFlags { .. }),
        ),
        (
            "non-zero reserved",
            Box::new(|b| set32(b, 32, 7)),
            24,
            |k| matches!(k, PackErrorKind::NonZeroReserved { value: 7 }),
        ),
        (
            "no end marker",
            Box::new(move |b| b.truncate(end)),
            end,
            |k| matches!(k, PackErrorKind::NoEndMarker),
        ),
        (
            "corrupt end marker",
            Box::new(move |b| b[end + 12] = b'E'),
            end,
            |k| matches!(k, PackErrorKind::BadEndMarker),
        ),
        (
            "name without NUL",
            Box::new(move |b| b[36..24 + first_size].fill(b'a')),
            24,
            |k| matches!(k, PackErrorKind::BadName { .. }),
        ),
        ("empty name", Box::new(|b| b[36] = 0), 24, |k| {
            matches!(k, PackErrorKind::BadName { .. })
        }),
        // "helper.beam\0" is 12 bytes, so the beam starts at 24 + 12 + 12 = 48.
        (
            "broken BEAM container",
            Box::new(|b| b[48] = b'X'),
            24,
            |k| matches!(k, PackErrorKind::BadBeam { .. }),
        ),
        (
            "BEAM chunk size past its form",
            Box::new(|b| set32(b, 48 + 16, 0x00ff_ffff)),
            24,
            |k| matches!(k, PackErrorKind::BadBeam { .. }),
        ),
        (
            "data length prefix too big",
            Box::new(move |b| set32(b, second + 12 + 16, 1000)),
            second,
            |k| matches!(k, PackErrorKind::BadDataLength { declared: 1000, .. }),
        ),
        (
            "data length prefix too small",
            Box::new(move |b| set32(b, second + 12 + 16, 1)),
            second,
            |k| matches!(k, PackErrorKind::BadDataLength { declared: 1, .. }),
        ),
    ];
    assert!(second_size > 16);
    for (what, corrupt, offset, kind_ok) in cases {
        let mut bytes = good.clone();
        corrupt(&mut bytes);
        match packbeam::read(&bytes) {
            Ok(_) => panic!("{what}: accepted"),
            Err(e) => {
                assert!(kind_ok(&e.kind), "{what}: wrong error {:?}", e.kind);
                assert_eq!(e.offset, offset, "{what}: offset in {e}");
                let msg = e.to_string();
                assert!(!msg.contains('\n') && !msg.is_empty(), "{what}: {msg:?}");
            }
        }
    }
}

#[test]
fn bytes_after_the_end_marker_are_ignored_like_the_vm_does() {
    let mut bytes = valid_bundle();
    let n = packbeam::read(&bytes).unwrap().len();
    bytes.extend_from_slice(b"trailing junk");
    assert_eq!(packbeam::read(&bytes).unwrap().len(), n);
}
