//! Makes host OTP behave like the device for calls the device lacks: in the **dev** bundle only (never
//! in `avmd build` output), every import of a function AtomVM does not have on the project's platform
//! is redirected to a function that does not exist on the host either, `lists:'sum$not_on_atomvm_esp32'/1`,
//! so the call fails with `undef` at run time — as it would on the device (FACTS.md: "A missing function
//! is not detected at load time: it fails with `undef` when it is called") — and the error names why.
//!
//! How: a new atom is appended to `AtU8` and the import's function-atom index in `ImpT` points at it.
//! The code refers to imports by their index in `ImpT`, so nothing else changes. Pure: bytes in, bytes out.

use std::collections::HashMap;
use std::fmt;

use crate::beam::{self, Beam, BeamError, Chunk, Mfa};
use crate::compat::{self, Miss, Platform};
use crate::packbeam::{self, PackError};

/// The function name a missing call is redirected to: `sum$not_on_atomvm_esp32`.
pub fn poisoned_name(function: &str, platform: Platform) -> String {
    format!("{function}$not_on_atomvm_{platform}")
}

#[derive(Debug)]
pub enum PoisonError {
    Beam {
        module: String,
        error: BeamError,
    },
    Pack(PackError),
    /// A poisoned atom would not fit AtomVM/OTP's 255-character atom limit.
    AtomTooLong(String),
}

impl fmt::Display for PoisonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoisonError::Beam { module, error } => write!(f, "module {module}: {error}"),
            PoisonError::Pack(e) => write!(f, "bundle: {e}"),
            PoisonError::AtomTooLong(a) => write!(f, "atom {a:?} would exceed 255 characters"),
        }
    }
}

impl std::error::Error for PoisonError {}

/// Rewrites one BEAM so that each call in `missing` fails with `undef` naming
/// [`poisoned_name`]. Imports not listed are untouched; a beam with none of them comes back unchanged.
pub fn poison_beam(
    bytes: &[u8],
    missing: &[Mfa],
    platform: Platform,
) -> Result<Vec<u8>, PoisonError> {
    redirect_imports(bytes, |call| {
        missing
            .contains(call)
            .then(|| (call.module.clone(), poisoned_name(&call.function, platform)))
    })
}

/// Rewrites one BEAM so that each import `to` maps to `Some((module, function))` calls that instead
/// (same arity); the others are untouched, and a beam with none comes back unchanged. New atoms are
/// appended to `AtU8`; the code refers to imports by their `ImpT` index, so nothing else changes.
pub fn redirect_imports(
    bytes: &[u8],
    to: impl Fn(&Mfa) -> Option<(String, String)>,
) -> Result<Vec<u8>, PoisonError> {
    let wrap = |error: BeamError, module: &str| PoisonError::Beam {
        module: module.to_string(),
        error,
    };
    let beam = beam::parse(bytes).map_err(|e| wrap(e, "?"))?;
    let imports = beam::imports(&beam).map_err(|e| wrap(e, &beam.module))?;
    let targets: Vec<Option<(String, String)>> = imports.iter().map(&to).collect();
    if targets.iter().all(Option::is_none) {
        return Ok(bytes.to_vec());
    }
    let mut atoms = beam.atoms.clone();
    let mut index: HashMap<String, u32> = atoms
        .iter()
        .enumerate()
        .map(|(i, a)| (a.clone(), i as u32 + 1))
        .collect();
    let mut atom_of = |name: String| -> Result<u32, PoisonError> {
        if name.chars().count() > 255 {
            return Err(PoisonError::AtomTooLong(name));
        }
        Ok(*index.entry(name.clone()).or_insert_with(|| {
            atoms.push(name);
            atoms.len() as u32
        }))
    };
    let impt = beam.chunk(b"ImpT").expect("imports were read from ImpT");
    let mut new_impt = impt.data.clone();
    for (i, target) in targets.into_iter().enumerate() {
        let Some((module, function)) = target else {
            continue;
        };
        // ImpT entry i: u32 count header, then (module, function, arity) u32 triples.
        let at = 4 + 12 * i;
        let m = atom_of(module)?;
        let f = atom_of(function)?;
        new_impt[at..at + 4].copy_from_slice(&m.to_be_bytes());
        new_impt[at + 4..at + 8].copy_from_slice(&f.to_be_bytes());
    }
    let compact = is_compact_atom_table(&beam);
    let chunks: Vec<Chunk> = beam
        .chunks
        .iter()
        .map(|c| match &c.id {
            b"AtU8" => Chunk {
                id: *b"AtU8",
                data: encode_atoms(&atoms, compact),
            },
            b"ImpT" => Chunk {
                id: *b"ImpT",
                data: new_impt.clone(),
            },
            _ => c.clone(),
        })
        .collect();
    Ok(beam::encode(&chunks))
}

/// OTP 28 writes a negative atom count when lengths use the compact encoding; keep the input's form.
fn is_compact_atom_table(beam: &Beam) -> bool {
    beam.chunk(b"AtU8")
        .and_then(|c| c.data.get(0..4))
        .map(|b| (i32::from_be_bytes([b[0], b[1], b[2], b[3]])) < 0)
        .unwrap_or(false)
}

/// Encodes an `AtU8` chunk: a u32 count (negated in the compact form) and each atom's length and
/// UTF-8 bytes; the length is one byte, or in the compact form a compact-term `u` integer
/// (`beam_asm:encode/2`: < 16 in one byte, < 2048 in two).
fn encode_atoms(atoms: &[String], compact: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let n = atoms.len() as i32;
    out.extend_from_slice(&(if compact { -n } else { n }).to_be_bytes());
    for a in atoms {
        let len = a.len();
        if !compact {
            out.push(len as u8);
        } else if len < 16 {
            out.push((len << 4) as u8);
        } else {
            out.push((((len >> 3) & 0xE0) | 0x08) as u8);
            out.push((len & 0xFF) as u8);
        }
        out.extend_from_slice(a.as_bytes());
    }
    out
}

/// The dev bundle and what was done to it.
#[derive(Debug)]
pub struct Poisoned {
    /// The rewritten bundle (byte-identical to the input when nothing was missing).
    pub bundle: Vec<u8>,
    /// The calls that now fail with `undef`.
    pub misses: Vec<Miss>,
}

/// Rewrites every module of a bundle for `platform`: the calls `compat::check` reports as missing
/// (the bundle's own modules, avmd's runtime modules and `also_present` count as present) fail with `undef`. Data sections,
/// flags and order are kept.
pub fn poison_bundle(
    avm: &[u8],
    platform: Platform,
    also_present: &[String],
) -> Result<Poisoned, PoisonError> {
    let sections = packbeam::read(avm).map_err(PoisonError::Pack)?;
    let mut modules = Vec::new();
    for s in sections.iter().filter(|s| s.is_beam()) {
        let b = beam::parse(&s.data).map_err(|error| PoisonError::Beam {
            module: s.name.clone(),
            error,
        })?;
        let imports = beam::imports(&b).map_err(|error| PoisonError::Beam {
            module: s.name.clone(),
            error,
        })?;
        modules.push((b.module, imports));
    }
    // A runtime module the bundle left out is named only on paths the app never takes (`reach`'s
    // soft edges), as `assemble`'s check also holds: not a missing function.
    let mut present: Vec<String> = also_present.to_vec();
    present.extend(
        crate::runtime_lib::device_modules()
            .iter()
            .map(|(n, _)| n.to_string()),
    );
    let misses = compat::check_with(compat::ApiTable::atomvm(), &modules, &present, platform);
    if misses.is_empty() {
        return Ok(Poisoned {
            bundle: avm.to_vec(),
            misses,
        });
    }
    let mut out = Vec::with_capacity(sections.len());
    let mut beams = modules.iter();
    for mut s in sections {
        if s.is_beam() {
            let (module, _) = beams.next().expect("one module per beam section");
            let calls: Vec<Mfa> = misses
                .iter()
                .filter(|m| &m.module == module)
                .map(|m| m.call.clone())
                .collect();
            if !calls.is_empty() {
                s.data = poison_beam(&s.data, &calls, platform)?;
            }
        }
        out.push(s);
    }
    Ok(Poisoned {
        bundle: packbeam::write(&out),
        misses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::process::Command;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("avmd-devpoison-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Compiles `src` with the real `erlc` and returns the beam bytes.
    fn erlc(dir: &std::path::Path, module: &str, src: &str) -> Vec<u8> {
        let file = dir.join(format!("{module}.erl"));
        std::fs::write(&file, src).unwrap();
        let st = Command::new("erlc")
            .arg("-o")
            .arg(dir)
            .arg(&file)
            .status()
            .expect("erlc runs");
        assert!(st.success(), "erlc failed on {module}");
        std::fs::read(dir.join(format!("{module}.beam"))).unwrap()
    }

    const SRC: &str = "-module(pz).\n-export([total/1, doubled/1, also_sum/1]).\n\
        total(L) -> lists:sum(L).\n\
        also_sum(L) -> {lists:sum(L), lists:max(L)}.\n\
        doubled(L) -> lists:map(fun(X) -> 2 * X end, L).\n";

    #[test]
    fn names_say_what_and_where() {
        assert_eq!(
            poisoned_name("sum", Platform::Esp32),
            "sum$not_on_atomvm_esp32"
        );
    }

    #[test]
    fn the_atom_table_round_trips_in_both_encodings() {
        let atoms: Vec<String> = vec!["m".into(), "x".repeat(15), "y".repeat(16), "z".repeat(255)];
        for compact in [false, true] {
            let data = encode_atoms(&atoms[..if compact { 4 } else { 3 }], compact);
            let beam = beam::encode(&[
                Chunk { id: *b"AtU8", data },
                Chunk {
                    id: *b"Code",
                    data: vec![0; 4],
                },
            ]);
            let parsed = beam::parse(&beam).unwrap();
            assert_eq!(parsed.atoms, atoms[..if compact { 4 } else { 3 }]);
        }
    }

    #[test]
    fn untouched_when_nothing_is_missing() {
        let dir = temp_dir("clean");
        let bytes = erlc(&dir, "pz", SRC);
        let out = poison_beam(&bytes, &[Mfa::new("lists", "nope", 9)], Platform::Esp32).unwrap();
        assert_eq!(out, bytes);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(poison_beam(b"not a beam", &[], Platform::Esp32).is_err());
        assert!(poison_bundle(b"not a bundle", Platform::Esp32, &[]).is_err());
    }

    /// The real thing: erlc a module calling lists:sum/1, poison it, load it into a real OTP and
    /// check that lists:sum fails with undef naming the poisoned function while lists:map still works.
    #[test]
    fn a_poisoned_call_raises_undef_on_real_otp() {
        let dir = temp_dir("otp");
        let bytes = erlc(&dir, "pz", SRC);
        // Via the bundle path, as `avmd dev` does it: compat::check finds lists:sum/1 missing on esp32.
        let avm = packbeam::write(&[packbeam::Section {
            name: "pz.beam".into(),
            flags: packbeam::FLAG_BEAM,
            data: bytes.clone(),
        }]);
        let poisoned = poison_bundle(&avm, Platform::Esp32, &[]).unwrap();
        let calls: Vec<String> = poisoned.misses.iter().map(|m| m.call.to_string()).collect();
        assert_eq!(
            calls,
            ["lists:sum/1"],
            "lists:max/1 and lists:map/2 exist on AtomVM"
        );
        let sections = packbeam::read(&poisoned.bundle).unwrap();
        let out = &sections[0].data;
        let parsed = beam::parse(out).unwrap();
        assert!(beam::imports(&parsed).unwrap().contains(&Mfa::new(
            "lists",
            "sum$not_on_atomvm_esp32",
            1
        )));
        std::fs::write(dir.join("pz.beam"), out).unwrap();
        let script = "{module, pz} = code:load_abs(\"pz\"), \
            R1 = try pz:total([1,2]) catch error:undef:St -> {undef, hd(St)} end, \
            R2 = try pz:also_sum([1,2]) catch error:undef:St2 -> {undef, element(2, hd(St2))} end, \
            io:format(\"~p~n~p~n~p~n\", [R1, R2, pz:doubled([1,2])]), halt().";
        let out = Command::new("erl")
            .current_dir(&dir)
            .args(["-noshell", "-eval", script])
            .output()
            .expect("erl runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("{undef,{lists,'sum$not_on_atomvm_esp32',[[1,2]],[]}}"),
            "stdout: {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("{undef,'sum$not_on_atomvm_esp32'}"), "{text}");
        assert!(text.contains("[2,4]"), "{text}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
