//! The project's OTA public key (`ota.pub` at the project root, written by `avmd key new`) and the
//! priv files a build packs for an OTA-enabled device: `avmd/ota.pub` (the 65-byte uncompressed
//! P-256 point `ota_trust:public_key/1` reads) and `avmd/meta` (`name=` and `version=` lines for
//! `/_avm/info`). Pure apart from reading the one file.

use std::path::Path;

/// The file name at the project root.
pub const FILE: &str = "ota.pub";

/// A P-256 public key, uncompressed (`04 || X || Y`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey(pub [u8; 65]);

impl PublicKey {
    /// The key's short name: hex of the first 8 bytes of its SHA-256 (the device reports the same).
    pub fn id(&self) -> String {
        use sha2::Digest;
        hex(&sha2::Sha256::digest(self.0)[..8])
    }

    /// The text of an `ota.pub` file.
    pub fn to_file_text(&self, private_key_hint: &str) -> String {
        format!(
            "# avmd OTA public key {} (its private key: {private_key_hint}; docs/ota.md)\n{}\n",
            self.id(),
            hex(&self.0)
        )
    }
}

/// Parses an `ota.pub` text: `#` comment lines and one line of 130 hex digits starting `04`.
/// The error names the line.
pub fn parse(text: &str) -> Result<PublicKey, (usize, String)> {
    let mut found = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if found.is_some() {
            return Err((i + 1, "more than one key line".into()));
        }
        let bytes = unhex(line).ok_or((i + 1, "not hex".to_string()))?;
        let key: [u8; 65] = bytes.try_into().map_err(|b: Vec<u8>| {
            (
                i + 1,
                format!("{} bytes; an uncompressed P-256 key has 65", b.len()),
            )
        })?;
        if key[0] != 4 {
            return Err((i + 1, "an uncompressed P-256 key starts with 04".into()));
        }
        found = Some(PublicKey(key));
    }
    found.ok_or((1, "no key line".into()))
}

/// Reads `root/ota.pub`: `Ok(None)` when the project has none (OTA is off).
pub fn read(root: &Path) -> Result<Option<PublicKey>, (usize, String)> {
    match std::fs::read_to_string(root.join(FILE)) {
        Ok(text) => parse(&text).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err((1, e.to_string())),
    }
}

/// The priv files (path under `priv/`, bytes) a build adds for OTA.
pub fn priv_files(key: &PublicKey, app: &str, version: Option<&str>) -> Vec<(String, Vec<u8>)> {
    let meta = format!("name={app}\nversion={}\n", version.unwrap_or("0.0.0"));
    vec![
        ("avmd/meta".into(), meta.into_bytes()),
        ("avmd/ota.pub".into(), key.0.to_vec()),
    ]
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PublicKey {
        let mut k = [7u8; 65];
        k[0] = 4;
        PublicKey(k)
    }

    #[test]
    fn file_text_round_trips() {
        let k = key();
        assert_eq!(parse(&k.to_file_text("~/x.pem")), Ok(k.clone()));
        assert_eq!(k.id().len(), 16);
    }

    #[test]
    fn errors_name_their_line() {
        assert_eq!(parse("# c\n\nzz\n").unwrap_err().0, 3);
        assert!(parse("# only a comment\n")
            .unwrap_err()
            .1
            .contains("no key"));
        assert!(parse("0401\n").unwrap_err().1.contains("65"));
        let mut bad = key().0;
        bad[0] = 2;
        assert!(parse(&hex(&bad)).unwrap_err().1.contains("04"));
    }

    #[test]
    fn priv_files_carry_key_and_meta() {
        let files = priv_files(&key(), "app", Some("1.2.0"));
        assert_eq!(
            files[0],
            ("avmd/meta".into(), b"name=app\nversion=1.2.0\n".to_vec())
        );
        assert_eq!(files[1].1.len(), 65);
    }
}
