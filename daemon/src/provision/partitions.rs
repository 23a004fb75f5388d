//! ESP-IDF's binary partition table (what `gen_esp32part.py` writes from a partitions.csv): 32-byte
//! entries (magic `AA 50`, type, subtype, offset, size, name, flags), an MD5 entry (`EB EB`, 14 × FF,
//! the MD5 of the entries), then FF up to 0xC00 bytes. Flashed at 0x8000. Pure.

use md5::{Digest, Md5};

/// Where ESP-IDF's bootloader reads the table.
pub const TABLE_OFFSET: u32 = 0x8000;
const TABLE_SIZE: usize = 0xC00;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub name: &'static str,
    pub kind: Kind,
    pub offset: u32,
    pub size: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `app, factory`: the AtomVM firmware.
    Factory,
    /// `data, nvs`.
    Nvs,
    /// `data, phy`: phy_init, and what AtomVM uses for its `.avm` partitions.
    Phy,
}

impl Kind {
    fn type_subtype(self) -> (u8, u8) {
        match self {
            Kind::Factory => (0x00, 0x00),
            Kind::Nvs => (0x01, 0x02),
            Kind::Phy => (0x01, 0x01),
        }
    }
}

/// AtomVM's ESP32 layout for a 4 MB flash with two 768 KB app slots for A/B updates (docs/ota.md).
pub fn two_slot_4mb() -> Vec<Partition> {
    vec![
        p("nvs", Kind::Nvs, 0x9000, 0x6000),
        p("phy_init", Kind::Phy, 0xF000, 0x1000),
        p("factory", Kind::Factory, 0x10000, 0x1C_0000),
        p("boot.avm", Kind::Phy, 0x1D_0000, 0x8_0000),
        p("main.avm", Kind::Phy, 0x25_0000, 0xC_0000),
        p("app2.avm", Kind::Phy, 0x31_0000, 0xC_0000),
    ]
}

fn p(name: &'static str, kind: Kind, offset: u32, size: u32) -> Partition {
    Partition {
        name,
        kind,
        offset,
        size,
    }
}

/// The named partition of a layout.
pub fn find<'a>(layout: &'a [Partition], name: &str) -> Option<&'a Partition> {
    layout.iter().find(|p| p.name == name)
}

/// The table's bytes.
pub fn table(layout: &[Partition]) -> Vec<u8> {
    let mut out = Vec::with_capacity(TABLE_SIZE);
    for part in layout {
        let (t, s) = part.kind.type_subtype();
        out.extend_from_slice(&[0xAA, 0x50, t, s]);
        out.extend_from_slice(&part.offset.to_le_bytes());
        out.extend_from_slice(&part.size.to_le_bytes());
        let mut name = [0u8; 16];
        name[..part.name.len()].copy_from_slice(part.name.as_bytes());
        out.extend_from_slice(&name);
        out.extend_from_slice(&0u32.to_le_bytes());
    }
    let md5 = Md5::digest(&out);
    out.extend_from_slice(&[0xEB, 0xEB]);
    out.extend_from_slice(&[0xFF; 14]);
    out.extend_from_slice(&md5);
    out.resize(TABLE_SIZE, 0xFF);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_then_md5_then_padding() {
        let layout = two_slot_4mb();
        let t = table(&layout);
        assert_eq!(t.len(), 0xC00);
        assert_eq!(&t[0..4], &[0xAA, 0x50, 0x01, 0x02]);
        assert_eq!(u32::from_le_bytes(t[4..8].try_into().unwrap()), 0x9000);
        assert_eq!(&t[12..15], b"nvs");
        let n = layout.len() * 32;
        assert_eq!(&t[n..n + 2], &[0xEB, 0xEB]);
        assert_eq!(&t[n + 16..n + 32], Md5::digest(&t[..n]).as_slice());
        assert!(t[n + 32..].iter().all(|b| *b == 0xFF));
        // the slots do not overlap and stay inside 4 MB
        let mut end = 0;
        for p in &layout {
            assert!(p.offset >= end, "{p:?}");
            end = p.offset + p.size;
        }
        assert!(end <= 0x40_0000);
    }
}
