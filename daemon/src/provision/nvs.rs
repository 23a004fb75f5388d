//! ESP-IDF's NVS partition format (version 2, "multipage blobs"), written from key/value pairs: what
//! ESP-IDF's own `nvs_partition_gen` writes for the same entries, byte for byte (tests/devices checks it
//! against the PyPI package). A page is 4096 bytes: a 32-byte header, a 32-byte entry-state bitmap and
//! 126 entries of 32 bytes. AtomVM reads NVS values as blobs (`esp:nvs_get_binary/2`), so every value
//! here is one. Pure.

use std::collections::BTreeMap;

const PAGE: usize = 4096;
const ENTRY: usize = 32;
const ENTRIES: usize = 126;
const FIRST_ENTRY: usize = 64;
const ACTIVE: u32 = 0xFFFF_FFFE;
const FULL: u32 = 0xFFFF_FFFC;
const VERSION2: u8 = 0xFE;
const U8: u8 = 0x01;
const BLOB_DATA: u8 = 0x42;
const BLOB_IDX: u8 = 0x48;
const CHUNK_ANY: u8 = 0xFF;

/// Keys are at most 15 bytes (16 with the NUL).
pub const MAX_KEY: usize = 15;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NvsError {
    #[error("NVS key {0:?} is longer than {MAX_KEY} bytes")]
    KeyTooLong(String),
    #[error("the NVS entries need more than the {0}-byte partition")]
    TooBig(usize),
    #[error("an NVS partition is a multiple of 4096 bytes and at least 3 pages, not {0}")]
    BadSize(usize),
}

/// ESP-IDF's CRC-32 (zlib's, continued from 0xFFFFFFFF as `nvs_partition_gen` does).
fn crc(data: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new_with_initial(0xFFFF_FFFF);
    h.update(data);
    h.finalize()
}

struct Page {
    buf: Vec<u8>,
    used: usize,
}

impl Page {
    fn new(seq: u32) -> Page {
        let mut buf = vec![0xFF; PAGE];
        buf[0..4].copy_from_slice(&ACTIVE.to_le_bytes());
        buf[4..8].copy_from_slice(&seq.to_le_bytes());
        buf[8] = VERSION2;
        let c = crc(&buf[4..28]);
        buf[28..32].copy_from_slice(&c.to_le_bytes());
        Page { buf, used: 0 }
    }

    /// Writes `data` at the next free entries, marking `entries` of them written in the bitmap.
    fn put(&mut self, data: &[u8], entries: usize) {
        let at = FIRST_ENTRY + ENTRY * self.used;
        self.buf[at..at + data.len()].copy_from_slice(data);
        for _ in 0..entries {
            let bit = self.used * 2;
            self.buf[32 + bit / 8] &= !(1u8 << (bit & 7));
            self.used += 1;
        }
    }
}

/// An entry header: namespace, type, span, chunk index, key; CRC filled by `seal`.
fn header(ns: u8, kind: u8, span: u8, chunk: u8, key: &str) -> [u8; ENTRY] {
    let mut e = [0xFFu8; ENTRY];
    e[0] = ns;
    e[1] = kind;
    e[2] = span;
    e[3] = chunk;
    e[8..24].fill(0);
    e[8..8 + key.len()].copy_from_slice(key.as_bytes());
    e
}

fn seal(mut e: [u8; ENTRY]) -> [u8; ENTRY] {
    let mut d = Vec::with_capacity(28);
    d.extend_from_slice(&e[0..4]);
    d.extend_from_slice(&e[8..32]);
    let c = crc(&d);
    e[4..8].copy_from_slice(&c.to_le_bytes());
    e
}

struct Writer {
    pages: Vec<Page>,
    size: usize,
}

impl Writer {
    fn page(&mut self) -> &mut Page {
        self.pages.last_mut().expect("a page")
    }

    fn new_page(&mut self) -> Result<(), NvsError> {
        // the last page stays reserved (empty) for NVS's own garbage collection
        if (self.pages.len() + 2) * PAGE > self.size {
            return Err(NvsError::TooBig(self.size));
        }
        if let Some(p) = self.pages.last_mut() {
            p.buf[0..4].copy_from_slice(&FULL.to_le_bytes());
        }
        let seq = self.pages.len() as u32;
        self.pages.push(Page::new(seq));
        Ok(())
    }

    fn namespace(&mut self, name: &str, index: u8) -> Result<(), NvsError> {
        if self.page().used >= ENTRIES {
            self.new_page()?;
        }
        let mut e = header(0, U8, 1, CHUNK_ANY, name);
        e[24] = index;
        self.page().put(&seal(e), 1);
        Ok(())
    }

    /// A blob as version 2 stores it: data chunks (each fitting the page it is on), then an index.
    fn blob(&mut self, ns: u8, key: &str, data: &[u8]) -> Result<(), NvsError> {
        let mut offset = 0;
        let mut chunks = 0u8;
        loop {
            let tailroom = (ENTRIES - self.page().used - 1) * ENTRY;
            let size = tailroom.min(data.len() - offset);
            let chunk = &data[offset..offset + size];
            let entries = size.div_ceil(ENTRY);
            let mut e = header(ns, BLOB_DATA, (entries + 1) as u8, chunks, key);
            e[24..26].copy_from_slice(&(size as u16).to_le_bytes());
            e[28..32].copy_from_slice(&crc(chunk).to_le_bytes());
            let page = self.page();
            page.put(&seal(e), 1);
            page.put(chunk, entries);
            chunks += 1;
            offset += size;
            let remaining = data.len() - offset;
            if remaining > 0 || tailroom - size < ENTRY {
                self.new_page()?;
            }
            if remaining == 0 {
                let mut e = header(ns, BLOB_IDX, 1, CHUNK_ANY, key);
                e[24..28].copy_from_slice(&(data.len() as u32).to_le_bytes());
                e[28] = chunks;
                e[29] = 0;
                self.page().put(&seal(e), 1);
                return Ok(());
            }
        }
    }
}

/// The partition image of `size` bytes holding `entries`: namespace → key → blob value, in order
/// (namespaces and keys sorted, so the same input always gives the same bytes).
pub fn image(
    entries: &BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    size: usize,
) -> Result<Vec<u8>, NvsError> {
    if !size.is_multiple_of(PAGE) || size < 3 * PAGE {
        return Err(NvsError::BadSize(size));
    }
    let mut w = Writer {
        pages: vec![Page::new(0)],
        size,
    };
    for (i, (ns, keys)) in entries.iter().enumerate() {
        if ns.len() > MAX_KEY {
            return Err(NvsError::KeyTooLong(ns.clone()));
        }
        let index = (i + 1) as u8;
        w.namespace(ns, index)?;
        for (key, value) in keys {
            if key.len() > MAX_KEY {
                return Err(NvsError::KeyTooLong(key.clone()));
            }
            w.blob(index, key, value)?;
        }
    }
    let mut out: Vec<u8> = w.pages.into_iter().flat_map(|p| p.buf).collect();
    out.resize(size, 0xFF);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(ns: &str, key: &str, value: &[u8]) -> BTreeMap<String, BTreeMap<String, Vec<u8>>> {
        let mut keys = BTreeMap::new();
        keys.insert(key.to_string(), value.to_vec());
        let mut m = BTreeMap::new();
        m.insert(ns.to_string(), keys);
        m
    }

    #[test]
    fn a_page_has_its_header_crc_and_entries_marked_written() {
        let img = image(&one("avmd", "device_id", b"kitchen"), 0x6000).unwrap();
        assert_eq!(img.len(), 0x6000);
        assert_eq!(&img[0..4], &ACTIVE.to_le_bytes());
        assert_eq!(img[8], VERSION2);
        assert_eq!(
            u32::from_le_bytes(img[28..32].try_into().unwrap()),
            crc(&img[4..28])
        );
        // namespace entry, blob data header + 1 data entry, blob index: 4 entries written (bits 10)
        assert_eq!(&img[32..33], &[0b1010_1010]);
        assert_eq!(img[33], 0xFF);
        assert_eq!(&img[64 + 8..64 + 12], b"avmd");
        assert_eq!(img[64 + 32 + 1], BLOB_DATA);
        assert_eq!(&img[64 + 64..64 + 71], b"kitchen");
        assert_eq!(img[64 + 96 + 1], BLOB_IDX);
        assert!(img[PAGE..].iter().all(|b| *b == 0xFF));
    }

    #[test]
    fn a_blob_bigger_than_a_page_spans_pages() {
        let big = vec![7u8; 5000];
        let img = image(&one("avmd", "big", &big), 0x6000).unwrap();
        assert_eq!(&img[0..4], &FULL.to_le_bytes());
        assert_eq!(&img[PAGE..PAGE + 4], &ACTIVE.to_le_bytes());
    }

    #[test]
    fn bad_input_is_an_error() {
        assert_eq!(
            image(&one("avmd", "a_key_that_is_too_long", b"x"), 0x6000),
            Err(NvsError::KeyTooLong("a_key_that_is_too_long".into()))
        );
        assert_eq!(
            image(&one("avmd", "k", &vec![0; 20000]), 0x3000),
            Err(NvsError::TooBig(0x3000))
        );
        assert_eq!(image(&BTreeMap::new(), 1000), Err(NvsError::BadSize(1000)));
    }
}
