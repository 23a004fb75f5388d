//! The reader never panics: 10,000 deterministic mutations of a real bundle (bit flips, overwritten
//! size/flag words, truncations, splices) and plain random bytes go through `packbeam::read` and
//! `beam::parse`. Each case must give `Ok` or `Err`; a panic fails the test. The same inputs feed the
//! cargo-fuzz target in daemon/fuzz, which needs nightly.

mod beam_support;

use avmd_engine::beam::{self, StripOptions};
use avmd_engine::packbeam::{self, Section, FLAG_BEAM, FLAG_DATA, FLAG_START};
use beam_support::{erlc, Scratch, LIT_MODULE};

/// xorshift64*: a fixed seed makes every run try the same inputs, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut b = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(6) {
            0 => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 => {
                // Overwrite an aligned word with an interesting value: sizes and flags live in words.
                let i = rng.below(b.len() / 4) * 4;
                let v: u32 = [
                    0,
                    1,
                    2,
                    3,
                    4,
                    7,
                    11,
                    12,
                    13,
                    16,
                    0x7fff_ffff,
                    0xffff_ffff,
                    0x8000_0000,
                ][rng.below(13)];
                if i + 4 <= b.len() {
                    b[i..i + 4].copy_from_slice(&v.to_be_bytes());
                }
            }
            2 => b.truncate(rng.below(b.len() + 1)),
            3 => {
                let i = rng.below(b.len());
                let n = rng.below(64);
                let chunk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                b.splice(i..i, chunk);
            }
            4 => {
                // Duplicate a slice of the file somewhere else (sections inside sections).
                let i = rng.below(b.len());
                let j = (i + rng.below(256)).min(b.len());
                let copy = b[i..j].to_vec();
                let at = rng.below(b.len());
                b.splice(at..at, copy);
            }
            _ => {
                let i = rng.below(b.len());
                let j = (i + rng.below(32)).min(b.len());
                b.drain(i..j);
            }
        }
        if b.is_empty() {
            break;
        }
    }
    b
}

#[test]
fn ten_thousand_mutated_bundles_never_panic_the_reader() {
    let dir = Scratch::new("robust");
    let lit = beam::strip_for_device(
        &erlc(&dir.path, "lit", LIT_MODULE),
        &StripOptions::default(),
    )
    .unwrap();
    let bundle = packbeam::write(&[
        Section {
            name: "lit.beam".into(),
            flags: FLAG_START | FLAG_BEAM,
            data: lit.clone(),
        },
        Section {
            name: "app/priv/x.txt".into(),
            flags: FLAG_DATA,
            data: b"hello".to_vec(),
        },
    ]);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut n_ok, mut n_err) = (0usize, 0usize);
    for _ in 0..10_000 {
        let bytes = mutate(&mut rng, &bundle);
        match packbeam::read(&bytes) {
            Ok(sections) => {
                n_ok += 1;
                // Whatever the reader accepts, the writer must reproduce section for section.
                assert_eq!(
                    packbeam::read(&packbeam::write(&sections)).unwrap(),
                    sections
                );
            }
            Err(e) => {
                n_err += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    // Both outcomes must occur, or the mutations are not exercising the reader.
    assert!(n_ok > 0 && n_err > 0, "ok={n_ok} err={n_err}");
}

#[test]
fn ten_thousand_mutated_beams_never_panic_parse_or_strip() {
    let dir = Scratch::new("robust-beam");
    let raw = erlc(&dir.path, "lit", LIT_MODULE);
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut n_ok = 0usize;
    for _ in 0..10_000 {
        let bytes = mutate(&mut rng, &raw);
        if let Ok(b) = beam::parse(&bytes) {
            n_ok += 1;
            let _ = beam::imports(&b);
            let _ = beam::exports_start0(&b);
        }
        let _ = beam::strip_for_device(&bytes, &StripOptions { strip_lines: true });
    }
    assert!(n_ok > 0);
}

#[test]
fn random_bytes_never_panic_either() {
    let mut rng = Rng(42);
    for _ in 0..2_000 {
        let n = rng.below(512);
        let mut bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        // Half the time give it a valid header so the section reader is reached.
        if rng.below(2) == 0 {
            let head = packbeam::HEADER;
            bytes.splice(0..0, head.iter().copied());
        }
        assert!(packbeam::read(&bytes).is_err() || bytes.len() >= 40);
        let _ = beam::parse(&bytes);
    }
}
