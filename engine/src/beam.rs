//! Reads BEAM files (the IFF `FOR1`/`BEAM` container and the chunks AtomVM cares about) and rewrites them
//! for a device: only the chunks the VM reads, compressed literals inflated, line tables optionally dropped.
//! Pure: no I/O, no global state; every malformed input is a `BeamError`, never a panic.

use std::fmt;
use std::io::Read;

/// Chunks AtomVM reads (FACTS.md, "BEAM chunks the VM reads"), in the order a stripped beam lists them
/// when present. `LitT` never survives stripping: it is inflated into `LitU` because ESP32, RP2 and STM32
/// builds have no zlib ("zlib required to uncompress literals").
pub const DEVICE_CHUNKS: [&[u8; 4]; 11] = [
    b"AtU8", b"Code", b"StrT", b"ImpT", b"ExpT", b"LocT", b"LitU", b"FunT", b"Line", b"avmN",
    b"Type",
];

/// The largest literal table we agree to inflate. The biggest modules in OTP itself have literal tables of
/// a few hundred KB; a device partition is 1 MB, so anything beyond this is a broken or hostile file.
pub const MAX_INFLATED_LITERALS: usize = 16 * 1024 * 1024;

/// The largest atom count we accept before allocating (an atom needs at least one byte in the table).
const MAX_ATOMS: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub id: [u8; 4],
    pub data: Vec<u8>,
}

impl Chunk {
    /// The chunk id as text (`"AtU8"`), with non-ASCII bytes escaped.
    pub fn id_str(&self) -> String {
        id_text(&self.id)
    }
}

/// A parsed BEAM file: its chunks in file order and the decoded atom table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beam {
    /// The module name: atom 1 of the atom table.
    pub module: String,
    pub chunks: Vec<Chunk>,
    /// The atom table, index 0 = atom 1 (BEAM atom indices are 1-based).
    pub atoms: Vec<String>,
}

impl Beam {
    /// The first chunk with this id.
    pub fn chunk(&self, id: &[u8; 4]) -> Option<&Chunk> {
        self.chunks.iter().find(|c| &c.id == id)
    }

    /// Atom number `index` (1-based, as stored in ImpT/ExpT).
    pub fn atom(&self, index: u32) -> Result<&str, BeamError> {
        let i = index as usize;
        if i == 0 || i > self.atoms.len() {
            return Err(BeamError::BadAtomIndex {
                index,
                n_atoms: self.atoms.len(),
            });
        }
        Ok(&self.atoms[i - 1])
    }
}

/// A remote function: `module:function/arity`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mfa {
    pub module: String,
    pub function: String,
    pub arity: u32,
}

impl Mfa {
    pub fn new(module: &str, function: &str, arity: u32) -> Mfa {
        Mfa {
            module: module.to_string(),
            function: function.to_string(),
            arity,
        }
    }
}

impl fmt::Display for Mfa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}/{}", self.module, self.function, self.arity)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeamError {
    /// Fewer bytes than the 12-byte `FOR1 <len> BEAM` header.
    TooShort { len: usize },
    /// The file does not start with `FOR1` ... `BEAM`.
    NotBeam,
    /// The IFF length field claims more bytes than the file has.
    FormLengthPastEnd { claimed: usize, available: usize },
    /// A chunk header or body runs past the end of the form.
    TruncatedChunk { offset: usize, id: String },
    /// A chunk whose content is not what its id says.
    BadChunk { id: String, reason: String },
    /// A required chunk is missing.
    MissingChunk { id: &'static str },
    /// The module uses the pre-OTP 20 `Atom` (Latin-1) atom table, which AtomVM does not read.
    OldAtomChunk,
    /// An ImpT/ExpT entry names an atom that is not in the table.
    BadAtomIndex { index: u32, n_atoms: usize },
    /// `LitT` could not be inflated to its declared size.
    BadLiterals { reason: String },
}

impl fmt::Display for BeamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BeamError::TooShort { len } => {
                write!(f, "not a BEAM file: {len} bytes, need at least 12")
            }
            BeamError::NotBeam => write!(f, "not a BEAM file: no FOR1/BEAM header"),
            BeamError::FormLengthPastEnd { claimed, available } => write!(
                f,
                "BEAM form length {claimed} runs past the end of the data ({available} bytes after the length field)"
            ),
            BeamError::TruncatedChunk { offset, id } => {
                write!(f, "BEAM chunk {id:?} at byte {offset} is truncated")
            }
            BeamError::BadChunk { id, reason } => write!(f, "BEAM chunk {id:?} is malformed: {reason}"),
            BeamError::MissingChunk { id } => write!(f, "BEAM file has no {id:?} chunk"),
            BeamError::OldAtomChunk => write!(
                f,
                "BEAM file has an old `Atom` chunk (compiled by OTP < 20?); AtomVM reads only `AtU8`: recompile with OTP 21 or newer"
            ),
            BeamError::BadAtomIndex { index, n_atoms } => {
                write!(f, "atom index {index} outside the atom table (1..={n_atoms})")
            }
            BeamError::BadLiterals { reason } => write!(f, "LitT chunk: {reason}"),
        }
    }
}

impl std::error::Error for BeamError {}

fn id_text(id: &[u8; 4]) -> String {
    id.iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                (b as char).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

/// Splits the IFF container into chunks without interpreting them.
fn split_chunks(bytes: &[u8]) -> Result<Vec<Chunk>, BeamError> {
    if bytes.len() < 12 {
        return Err(BeamError::TooShort { len: bytes.len() });
    }
    if &bytes[0..4] != b"FOR1" || &bytes[8..12] != b"BEAM" {
        return Err(BeamError::NotBeam);
    }
    let form_len = be32(bytes, 4).unwrap_or(0) as usize;
    if form_len > bytes.len() - 8 {
        return Err(BeamError::FormLengthPastEnd {
            claimed: form_len,
            available: bytes.len() - 8,
        });
    }
    if form_len < 4 {
        return Err(BeamError::NotBeam);
    }
    let end = 8 + form_len;
    let mut at = 12;
    let mut chunks = Vec::new();
    while at < end {
        let id_bytes = bytes.get(at..at + 4).filter(|_| at + 8 <= end);
        let Some(id_bytes) = id_bytes else {
            return Err(BeamError::TruncatedChunk {
                offset: at,
                id: id_text(&padded_id(&bytes[at..end])),
            });
        };
        let id = [id_bytes[0], id_bytes[1], id_bytes[2], id_bytes[3]];
        let size = be32(bytes, at + 4).unwrap_or(0) as usize;
        let data_start = at + 8;
        if size > end - data_start {
            return Err(BeamError::TruncatedChunk {
                offset: at,
                id: id_text(&id),
            });
        }
        chunks.push(Chunk {
            id,
            data: bytes[data_start..data_start + size].to_vec(),
        });
        // The last chunk's padding may be cut off by the form length: the compiler always pads, but
        // `min` keeps us from reading past `end` if someone did not.
        at = (data_start + pad4(size)).min(end);
    }
    Ok(chunks)
}

fn padded_id(rest: &[u8]) -> [u8; 4] {
    let mut id = [b'?'; 4];
    for (i, b) in rest.iter().take(4).enumerate() {
        id[i] = *b;
    }
    id
}

/// Decodes a compact-term `u` (or any tag) integer as used by OTP 28+ for long atom lengths
/// (`beam_asm:encode/2`). Returns the value and the bytes consumed.
fn compact_uint(bytes: &[u8]) -> Option<(usize, usize)> {
    let b = *bytes.first()? as usize;
    if b & 0x08 == 0 {
        return Some((b >> 4, 1));
    }
    if b & 0x10 == 0 {
        let next = *bytes.get(1)? as usize;
        return Some((((b >> 5) << 8) | next, 2));
    }
    let n = b >> 5;
    if n == 7 {
        // A nested length: far beyond any atom length we would accept.
        return None;
    }
    let n = n + 2;
    if n > 4 {
        return None;
    }
    let mut v = 0usize;
    for i in 0..n {
        v = (v << 8) | *bytes.get(1 + i)? as usize;
    }
    Some((v, 1 + n))
}

fn parse_atoms(data: &[u8]) -> Result<Vec<String>, BeamError> {
    let bad = |reason: String| BeamError::BadChunk {
        id: "AtU8".into(),
        reason,
    };
    let raw = be32(data, 0).ok_or_else(|| bad("shorter than its 4-byte count".into()))?;
    // OTP 28 writes a negative count when atom lengths use the compact encoding (atoms > 255 bytes).
    let (count, compact) = if (raw as i32) < 0 {
        ((raw as i32).unsigned_abs() as usize, true)
    } else {
        (raw as usize, false)
    };
    if count > MAX_ATOMS || count > data.len() {
        return Err(bad(format!("atom count {count} exceeds the chunk size")));
    }
    let mut atoms = Vec::with_capacity(count);
    let mut at = 4;
    for i in 0..count {
        let (len, used) = if compact {
            compact_uint(&data[at.min(data.len())..])
                .ok_or_else(|| bad(format!("atom {} has a bad length", i + 1)))?
        } else {
            (
                *data
                    .get(at)
                    .ok_or_else(|| bad(format!("atom {} runs past the end", i + 1)))?
                    as usize,
                1,
            )
        };
        at += used;
        let text = data
            .get(at..at + len)
            .ok_or_else(|| bad(format!("atom {} runs past the end", i + 1)))?;
        let text =
            std::str::from_utf8(text).map_err(|_| bad(format!("atom {} is not UTF-8", i + 1)))?;
        atoms.push(text.to_string());
        at += len;
    }
    if atoms.is_empty() {
        return Err(bad("the atom table is empty (no module name)".into()));
    }
    Ok(atoms)
}

/// Parses a BEAM file: its chunks and atom table. Checks the container, the atom table, and that the
/// tables `imports`/`exports` read have whole entries; leaves the bytecode alone.
pub fn parse(bytes: &[u8]) -> Result<Beam, BeamError> {
    let chunks = split_chunks(bytes)?;
    let atoms = match chunks.iter().find(|c| &c.id == b"AtU8") {
        Some(c) => parse_atoms(&c.data)?,
        None if chunks.iter().any(|c| &c.id == b"Atom") => return Err(BeamError::OldAtomChunk),
        None => return Err(BeamError::MissingChunk { id: "AtU8" }),
    };
    if !chunks.iter().any(|c| &c.id == b"Code") {
        return Err(BeamError::MissingChunk { id: "Code" });
    }
    let beam = Beam {
        module: atoms[0].clone(),
        chunks,
        atoms,
    };
    // Validate the function tables now so that a reader reports a broken module where it finds it.
    imports(&beam)?;
    exports(&beam)?;
    Ok(beam)
}

/// Reads a table of `count` entries of `width` u32 words (ImpT: module, function, arity;
/// ExpT/LocT: function, arity, label).
fn table<'a>(beam: &'a Beam, id: &[u8; 4], width: usize) -> Result<Vec<&'a [u8]>, BeamError> {
    let Some(chunk) = beam.chunk(id) else {
        return Ok(Vec::new());
    };
    let bad = |reason: String| BeamError::BadChunk {
        id: id_text(id),
        reason,
    };
    let count =
        be32(&chunk.data, 0).ok_or_else(|| bad("shorter than its 4-byte count".into()))? as usize;
    let entry = 4 * width;
    let need = count
        .checked_mul(entry)
        .and_then(|n| n.checked_add(4))
        .filter(|&n| n <= chunk.data.len())
        .ok_or_else(|| {
            bad(format!(
                "{count} entries do not fit in {} bytes",
                chunk.data.len()
            ))
        })?;
    Ok(chunk.data[4..need].chunks_exact(entry).collect())
}

/// Every remote function the module calls (the import table), in table order.
pub fn imports(beam: &Beam) -> Result<Vec<Mfa>, BeamError> {
    table(beam, b"ImpT", 3)?
        .into_iter()
        .map(|e| {
            Ok(Mfa {
                module: beam.atom(be32(e, 0).unwrap_or(0))?.to_string(),
                function: beam.atom(be32(e, 4).unwrap_or(0))?.to_string(),
                arity: be32(e, 8).unwrap_or(0),
            })
        })
        .collect()
}

/// Every function the module exports (the export table), in table order.
pub fn exports(beam: &Beam) -> Result<Vec<Mfa>, BeamError> {
    table(beam, b"ExpT", 3)?
        .into_iter()
        .map(|e| {
            Ok(Mfa {
                module: beam.module.clone(),
                function: beam.atom(be32(e, 0).unwrap_or(0))?.to_string(),
                arity: be32(e, 4).unwrap_or(0),
            })
        })
        .collect()
}

/// Whether the module exports `start/0`, which makes it a candidate start module (packbeam flag 1).
pub fn exports_start0(beam: &Beam) -> bool {
    exports(beam)
        .map(|es| es.iter().any(|m| m.function == "start" && m.arity == 0))
        .unwrap_or(false)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StripOptions {
    /// Drop the `Line` chunk and the `line` instructions in `Code`: smaller bundles, but stack traces
    /// on the device lose line numbers.
    pub strip_lines: bool,
}

/// Inflates a `LitT` chunk's data into the bytes of an equivalent `LitU` chunk.
/// `LitT` is a u32 uncompressed size followed by zlib data; a size of 0 means the rest is stored raw
/// (AtomVM's module loader reads it that way).
pub fn inflate_literals(litt: &[u8]) -> Result<Vec<u8>, BeamError> {
    let declared = be32(litt, 0).ok_or_else(|| BeamError::BadLiterals {
        reason: "shorter than its 4-byte size".into(),
    })? as usize;
    let body = &litt[4..];
    if declared == 0 {
        return Ok(body.to_vec());
    }
    if declared > MAX_INFLATED_LITERALS {
        return Err(BeamError::BadLiterals {
            reason: format!(
                "declares {declared} uncompressed bytes, more than the {MAX_INFLATED_LITERALS} allowed"
            ),
        });
    }
    let mut out = Vec::with_capacity(declared);
    let decoder = flate2::read::ZlibDecoder::new(body);
    // Read one byte more than declared so that an overlong stream is caught without inflating it all.
    decoder
        .take(declared as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| BeamError::BadLiterals {
            reason: format!("zlib data is corrupt: {e}"),
        })?;
    if out.len() != declared {
        return Err(BeamError::BadLiterals {
            reason: format!(
                "declares {declared} uncompressed bytes but inflates to {}{}",
                out.len().min(declared),
                if out.len() > declared { "+" } else { "" }
            ),
        });
    }
    Ok(out)
}

/// Serializes chunks into a BEAM IFF container, each chunk padded with zeros to 4 bytes.
pub fn encode(chunks: &[Chunk]) -> Vec<u8> {
    let body: usize = chunks.iter().map(|c| 8 + pad4(c.data.len())).sum();
    let mut out = Vec::with_capacity(12 + body);
    out.extend_from_slice(b"FOR1");
    out.extend_from_slice(&((4 + body) as u32).to_be_bytes());
    out.extend_from_slice(b"BEAM");
    for c in chunks {
        out.extend_from_slice(&c.id);
        out.extend_from_slice(&(c.data.len() as u32).to_be_bytes());
        out.extend_from_slice(&c.data);
        out.resize(pad4(out.len()), 0);
    }
    out
}

/// Rewrites a BEAM file for a device: keeps only the chunks AtomVM reads (`DEVICE_CHUNKS`, in that
/// order), inflates `LitT` into `LitU`, drops `Line` (and the `line` instructions) when asked. The output depends only on the input
/// bytes and the options, so two builds of the same sources give the same bundle.
pub fn strip_for_device(bytes: &[u8], opts: &StripOptions) -> Result<Vec<u8>, BeamError> {
    let beam = parse(bytes)?;
    let mut kept = Vec::new();
    for id in DEVICE_CHUNKS {
        if opts.strip_lines && id == b"Line" {
            continue;
        }
        if id == b"LitU" {
            if let Some(c) = beam.chunk(b"LitU") {
                kept.push(c.clone());
            } else if let Some(c) = beam.chunk(b"LitT") {
                kept.push(Chunk {
                    id: *b"LitU",
                    data: inflate_literals(&c.data)?,
                });
            }
            continue;
        }
        if let Some(c) = beam.chunk(id) {
            kept.push(c.clone());
        }
    }
    if opts.strip_lines {
        // Without the table the `line` instructions are dead weight. A Code chunk the walker
        // cannot read (a newer compiler) is kept whole: still correct, only less small.
        if let Some(code) = kept.iter_mut().find(|c| &c.id == b"Code") {
            if let Ok((stripped, _)) = crate::code::strip_line_instructions(&code.data) {
                code.data = stripped;
            }
        }
    }
    Ok(encode(&kept))
}

/// Makes a device beam loadable by host OTP again: OTP (25 at least) rejects `LitU` as a bad file, so
/// the literal table is compressed back into a `LitT` (u32 uncompressed size + zlib data). Every other
/// chunk is kept as is. For the host runtime, which boots a bundle's own bytes on OTP.
pub fn for_otp(bytes: &[u8]) -> Result<Vec<u8>, BeamError> {
    use std::io::Write;
    let beam = parse(bytes)?;
    if beam.chunk(b"LitU").is_none() {
        return Ok(bytes.to_vec());
    }
    let chunks = beam
        .chunks
        .into_iter()
        .map(|c| {
            if &c.id != b"LitU" {
                return c;
            }
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            // Writing into a Vec cannot fail.
            let _ = z.write_all(&c.data);
            let compressed = z.finish().unwrap_or_default();
            let mut data = (c.data.len() as u32).to_be_bytes().to_vec();
            data.extend_from_slice(&compressed);
            Chunk { id: *b"LitT", data }
        })
        .collect::<Vec<_>>();
    Ok(encode(&chunks))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
        encode(
            &chunks
                .iter()
                .map(|(id, d)| Chunk {
                    id: **id,
                    data: d.clone(),
                })
                .collect::<Vec<_>>(),
        )
    }

    fn atu8(names: &[&str]) -> Vec<u8> {
        let mut d = (names.len() as u32).to_be_bytes().to_vec();
        for n in names {
            d.push(n.len() as u8);
            d.extend_from_slice(n.as_bytes());
        }
        d
    }

    #[test]
    fn parses_a_hand_built_module_with_imports_and_exports() {
        let mut impt = 1u32.to_be_bytes().to_vec();
        for w in [2u32, 3, 1] {
            impt.extend_from_slice(&w.to_be_bytes());
        }
        let mut expt = 1u32.to_be_bytes().to_vec();
        for w in [4u32, 0, 2] {
            expt.extend_from_slice(&w.to_be_bytes());
        }
        let bytes = tiny(&[
            (b"AtU8", atu8(&["m", "lists", "sum", "start"])),
            (b"Code", vec![0; 4]),
            (b"ImpT", impt),
            (b"ExpT", expt),
        ]);
        let beam = parse(&bytes).unwrap();
        assert_eq!(beam.module, "m");
        assert_eq!(imports(&beam).unwrap(), vec![Mfa::new("lists", "sum", 1)]);
        assert!(exports_start0(&beam));
    }

    #[test]
    fn an_old_atom_chunk_is_rejected_by_name() {
        let bytes = tiny(&[(b"Atom", atu8(&["m"])), (b"Code", vec![0; 4])]);
        assert_eq!(parse(&bytes), Err(BeamError::OldAtomChunk));
        assert!(strip_for_device(&bytes, &StripOptions::default())
            .unwrap_err()
            .to_string()
            .contains("AtU8"));
    }

    #[test]
    fn an_import_naming_a_missing_atom_is_an_error() {
        let mut impt = 1u32.to_be_bytes().to_vec();
        for w in [9u32, 1, 0] {
            impt.extend_from_slice(&w.to_be_bytes());
        }
        let bytes = tiny(&[(b"AtU8", atu8(&["m"])), (b"Code", vec![]), (b"ImpT", impt)]);
        assert_eq!(
            parse(&bytes),
            Err(BeamError::BadAtomIndex {
                index: 9,
                n_atoms: 1
            })
        );
    }

    #[test]
    fn raw_litt_with_zero_size_is_taken_as_is() {
        let mut litt = 0u32.to_be_bytes().to_vec();
        litt.extend_from_slice(b"abcd");
        assert_eq!(inflate_literals(&litt).unwrap(), b"abcd");
    }

    #[test]
    fn litt_that_inflates_to_a_different_size_is_rejected() {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"hello world").unwrap();
        let mut litt = 5u32.to_be_bytes().to_vec();
        litt.extend_from_slice(&z.finish().unwrap());
        assert!(matches!(
            inflate_literals(&litt),
            Err(BeamError::BadLiterals { .. })
        ));
    }

    #[test]
    fn compact_lengths_decode() {
        assert_eq!(compact_uint(&[0x50]), Some((5, 1)));
        assert_eq!(compact_uint(&[0x28, 0x2c]), Some((300, 2)));
    }
}
