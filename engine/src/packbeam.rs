//! The AtomVM `.avm` (packbeam) format: writes bundles and reads them back, checking every rule the VM
//! relies on (FACTS.md, "The .avm (packbeam) format"). Pure: bytes in, bytes or a `PackError` out.

use std::fmt;

use crate::beam;

/// The section holds the start module: the VM runs the first section with this bit.
pub const FLAG_START: u32 = 1;
/// The section holds a BEAM module named `Module.beam`.
pub const FLAG_BEAM: u32 = 2;
/// The section holds a data file (`App/priv/Path`), stored with a u32 length prefix.
pub const FLAG_DATA: u32 = 4;

/// Every bundle starts with these 24 bytes.
pub const HEADER: &[u8; 24] = b"#!/usr/bin/env AtomVM\n\0\0";

/// A section's fixed header: u32 size, u32 flags, u32 reserved.
const SECTION_HEADER: usize = 12;

/// The end marker: size 0, flags 0, reserved 0, name `end`.
const END_MARKER: [u8; 16] = *b"\0\0\0\0\0\0\0\0\0\0\0\0end\0";

/// The longest section name the reader accepts (priv paths included); names are for humans and for
/// `atomvm:read_priv/2` lookups, so anything longer is a broken file.
pub const MAX_NAME: usize = 4096;

/// One section of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// `Module.beam` or `App/priv/Path`.
    pub name: String,
    pub flags: u32,
    /// For a BEAM section the module's bytes; for a data file the file's bytes (the writer adds the u32
    /// length prefix, the reader strips it).
    pub data: Vec<u8>,
}

impl Section {
    pub fn is_beam(&self) -> bool {
        self.flags & FLAG_BEAM != 0
    }
    pub fn is_start(&self) -> bool {
        self.flags & FLAG_START != 0
    }
    pub fn is_data(&self) -> bool {
        self.flags & FLAG_DATA != 0
    }
}

/// A section as it sits in a file: where it starts and how many bytes it takes (header and padding
/// included), for `avmd inspect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub offset: usize,
    pub size: usize,
    pub section: Section,
}

/// What is wrong with a bundle, and the byte offset where the reader found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackError {
    pub offset: usize,
    pub kind: PackErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackErrorKind {
    /// Fewer than 24 bytes.
    TruncatedHeader { len: usize },
    /// The first 24 bytes are not `#!/usr/bin/env AtomVM\n\0\0`.
    BadMagic,
    /// Fewer than 12 bytes left where a section header should start.
    TruncatedSectionHeader,
    /// `size` is non-zero but smaller than the 12-byte header.
    SizeTooSmall { size: u32 },
    /// `size` is not a multiple of 4.
    SizeNotAligned { size: u32 },
    /// `size` reaches past the end of the file.
    SizePastEof { size: u32, available: usize },
    /// A real section with flags 0: the VM would skip it silently.
    ZeroFlags,
    /// Flag bits other than 1, 2 and 4, or a combination that means nothing (data + BEAM, start without BEAM).
    BadFlags { flags: u32 },
    /// The name has no NUL inside the section, is empty, is too long or is not UTF-8.
    BadName { reason: String },
    /// The reserved word is not 0.
    NonZeroReserved { value: u32 },
    /// A size-0 section that is not exactly the `end` marker.
    BadEndMarker,
    /// The file ends without an `end` marker.
    NoEndMarker,
    /// A BEAM section whose module is broken.
    BadBeam {
        name: String,
        error: beam::BeamError,
    },
    /// A data section whose u32 length prefix disagrees with the section size.
    BadDataLength {
        name: String,
        declared: u32,
        room: usize,
    },
}

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.offset;
        match &self.kind {
            PackErrorKind::TruncatedHeader { len } => write!(
                f,
                "truncated header: the file has {len} bytes, an .avm starts with a 24-byte header"
            ),
            PackErrorKind::BadMagic => {
                write!(f, "not an .avm file: the first 24 bytes are not `#!/usr/bin/env AtomVM\\n\\0\\0`")
            }
            PackErrorKind::TruncatedSectionHeader => write!(
                f,
                "truncated section at byte {at}: fewer than 12 bytes left for a section header (no end marker?)"
            ),
            PackErrorKind::SizeTooSmall { size } => write!(
                f,
                "section at byte {at}: size {size} is smaller than the 12-byte section header"
            ),
            PackErrorKind::SizeNotAligned { size } => {
                write!(f, "section at byte {at}: size {size} is not a multiple of 4")
            }
            PackErrorKind::SizePastEof { size, available } => write!(
                f,
                "truncated section at byte {at}: size {size} runs past the end of the file ({available} bytes left)"
            ),
            PackErrorKind::ZeroFlags => write!(
                f,
                "section at byte {at}: flags are 0 (every real section needs start, BEAM or data flags)"
            ),
            PackErrorKind::BadFlags { flags } => {
                write!(f, "section at byte {at}: flags {flags:#x} are not a valid combination")
            }
            PackErrorKind::BadName { reason } => write!(f, "section at byte {at}: bad name: {reason}"),
            PackErrorKind::NonZeroReserved { value } => {
                write!(f, "section at byte {at}: reserved word is {value:#x}, must be 0")
            }
            PackErrorKind::BadEndMarker => write!(
                f,
                "section at byte {at}: size 0 but not an `end` marker (flags, reserved or name are wrong)"
            ),
            PackErrorKind::NoEndMarker => {
                write!(f, "no end marker: the file ends at byte {at} without the `end` section")
            }
            PackErrorKind::BadBeam { name, error } => {
                write!(f, "section {name:?} at byte {at}: {error}")
            }
            PackErrorKind::BadDataLength {
                name,
                declared,
                room,
            } => write!(
                f,
                "data section {name:?} at byte {at}: length prefix says {declared} bytes but the section holds {room}"
            ),
        }
    }
}

impl std::error::Error for PackError {}

fn err(offset: usize, kind: PackErrorKind) -> PackError {
    PackError { offset, kind }
}

fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

fn be32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// The section name of a priv file: `App/priv/Path`, the name `atomvm:read_priv(App, Path)` looks up.
pub fn priv_section_name(app: &str, path: &str) -> String {
    format!("{app}/priv/{}", path.trim_start_matches('/'))
}

/// Packs sections into a bundle: the header, each section (name NUL-terminated and padded to 4, data
/// padded to 4; data files get their u32 length prefix), then the `end` marker. The caller decides the
/// order and the flags; the output depends on nothing else.
pub fn write(sections: &[Section]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        HEADER.len()
            + END_MARKER.len()
            + sections
                .iter()
                .map(|s| SECTION_HEADER + pad4(s.name.len() + 1) + pad4(s.data.len() + 4))
                .sum::<usize>(),
    );
    out.extend_from_slice(HEADER);
    for s in sections {
        let start = out.len();
        out.extend_from_slice(&[0; SECTION_HEADER]);
        out.extend_from_slice(s.name.as_bytes());
        out.push(0);
        out.resize(pad4(out.len()), 0);
        if s.is_data() {
            out.extend_from_slice(&(s.data.len() as u32).to_be_bytes());
        }
        out.extend_from_slice(&s.data);
        out.resize(pad4(out.len()), 0);
        let size = (out.len() - start) as u32;
        out[start..start + 4].copy_from_slice(&size.to_be_bytes());
        out[start + 4..start + 8].copy_from_slice(&s.flags.to_be_bytes());
    }
    out.extend_from_slice(&END_MARKER);
    out
}

/// Reads a bundle back into its sections. Never panics: every way a file can be wrong is a `PackError`
/// with the byte offset of the section at fault.
pub fn read(bytes: &[u8]) -> Result<Vec<Section>, PackError> {
    Ok(read_entries(bytes)?
        .into_iter()
        .map(|e| e.section)
        .collect())
}

/// Like `read`, but keeps each section's offset and on-disk size.
pub fn read_entries(bytes: &[u8]) -> Result<Vec<Entry>, PackError> {
    if bytes.len() < HEADER.len() {
        return Err(err(0, PackErrorKind::TruncatedHeader { len: bytes.len() }));
    }
    if &bytes[..HEADER.len()] != HEADER {
        return Err(err(0, PackErrorKind::BadMagic));
    }
    let mut at = HEADER.len();
    let mut entries = Vec::new();
    loop {
        if at == bytes.len() {
            return Err(err(at, PackErrorKind::NoEndMarker));
        }
        if bytes.len() - at < SECTION_HEADER {
            return Err(err(at, PackErrorKind::TruncatedSectionHeader));
        }
        let size = be32(bytes, at);
        let flags = be32(bytes, at + 4);
        let reserved = be32(bytes, at + 8);
        if size == 0 {
            // The VM stops at the first size-0 section; anything after the marker is ignored, as it is there.
            if bytes.get(at..at + END_MARKER.len()) != Some(&END_MARKER[..]) {
                return Err(err(at, PackErrorKind::BadEndMarker));
            }
            return Ok(entries);
        }
        let section = read_section(bytes, at, size, flags, reserved)?;
        entries.push(Entry {
            offset: at,
            size: size as usize,
            section,
        });
        at += size as usize;
    }
}

fn read_section(
    bytes: &[u8],
    at: usize,
    size: u32,
    flags: u32,
    reserved: u32,
) -> Result<Section, PackError> {
    let usize_size = size as usize;
    if usize_size < SECTION_HEADER {
        return Err(err(at, PackErrorKind::SizeTooSmall { size }));
    }
    if size & 3 != 0 {
        return Err(err(at, PackErrorKind::SizeNotAligned { size }));
    }
    let available = bytes.len() - at;
    if usize_size > available {
        return Err(err(at, PackErrorKind::SizePastEof { size, available }));
    }
    if flags == 0 {
        return Err(err(at, PackErrorKind::ZeroFlags));
    }
    let known = FLAG_START | FLAG_BEAM | FLAG_DATA;
    let beam_and_data = flags & FLAG_BEAM != 0 && flags & FLAG_DATA != 0;
    let start_without_beam = flags & FLAG_START != 0 && flags & FLAG_BEAM == 0;
    if flags & !known != 0 || beam_and_data || start_without_beam {
        return Err(err(at, PackErrorKind::BadFlags { flags }));
    }
    if reserved != 0 {
        return Err(err(at, PackErrorKind::NonZeroReserved { value: reserved }));
    }
    let body = &bytes[at + SECTION_HEADER..at + usize_size];
    let bad_name = |reason: &str| {
        err(
            at,
            PackErrorKind::BadName {
                reason: reason.to_string(),
            },
        )
    };
    let nul = body
        .iter()
        .take(MAX_NAME + 1)
        .position(|&b| b == 0)
        .ok_or_else(|| bad_name("no NUL terminator within the section or name too long"))?;
    if nul == 0 {
        return Err(bad_name("empty"));
    }
    let name = std::str::from_utf8(&body[..nul])
        .map_err(|_| bad_name("not UTF-8"))?
        .to_string();
    let data_start = pad4(nul + 1);
    if data_start > body.len() {
        return Err(bad_name("its padding runs past the section"));
    }
    let payload = &body[data_start..];
    let data = if flags & FLAG_DATA != 0 {
        let room = payload.len().saturating_sub(4);
        if payload.len() < 4 {
            return Err(err(
                at,
                PackErrorKind::BadDataLength {
                    name,
                    declared: 0,
                    room: 0,
                },
            ));
        }
        let declared = be32(payload, 0);
        // The writer pads data to 4 bytes, so the prefix must account for all but at most 3 bytes.
        if declared as usize > room || room - declared as usize > 3 {
            return Err(err(
                at,
                PackErrorKind::BadDataLength {
                    name,
                    declared,
                    room,
                },
            ));
        }
        payload[4..4 + declared as usize].to_vec()
    } else {
        // A BEAM module: its IFF length tells where the module ends and the padding begins.
        let parsed = beam::parse(payload).map_err(|error| {
            err(
                at,
                PackErrorKind::BadBeam {
                    name: name.clone(),
                    error,
                },
            )
        })?;
        drop(parsed);
        let form_len = 8 + be32(payload, 4) as usize;
        payload[..form_len].to_vec()
    };
    Ok(Section { name, flags, data })
}

/// The SHA-256 of a bundle as lowercase hex, the form `avmd build` and `avmd inspect` print.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Splits a data section name `App/priv/Path` into `(App, Path)`; `None` for other names.
pub fn split_priv_name(name: &str) -> Option<(&str, &str)> {
    let (app, rest) = name.split_once('/')?;
    let path = rest.strip_prefix("priv/")?;
    (!app.is_empty() && !path.is_empty()).then_some((app, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_bundle_is_header_plus_end_marker() {
        let b = write(&[]);
        assert_eq!(b.len(), 40);
        assert_eq!(read(&b).unwrap(), vec![]);
    }

    #[test]
    fn data_sections_round_trip_with_odd_lengths() {
        let secs: Vec<Section> = (0..9)
            .map(|n| Section {
                name: priv_section_name("app", &format!("www/f{n}.txt")),
                flags: FLAG_DATA,
                data: vec![b'x'; n],
            })
            .collect();
        let b = write(&secs);
        assert_eq!(b.len() % 4, 0);
        assert_eq!(read(&b).unwrap(), secs);
    }

    #[test]
    fn priv_names_split_back() {
        assert_eq!(
            split_priv_name("hello_web/priv/www/a.css"),
            Some(("hello_web", "www/a.css"))
        );
        assert_eq!(split_priv_name("lit.beam"), None);
        assert_eq!(split_priv_name("a/data/x"), None);
    }

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn priv_names_follow_app_priv_path() {
        assert_eq!(
            priv_section_name("hello_web", "www/index.html"),
            "hello_web/priv/www/index.html"
        );
        assert_eq!(priv_section_name("a", "/x"), "a/priv/x");
    }
}
