//! The project's OTA signing keys. A private key lives outside every repository, in the key
//! directory (`$AVMD_KEY_DIR`, else `~/.config/avmd/keys`), as `<key id>.pem` (PKCS#8, mode 0600);
//! its public half is the project's `ota.pub`, which is committed and packed into every build. A
//! push signs with the key the *device* names (its `key_id`), so a rotated project still reaches
//! devices running a build from before the rotation.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use avmd_engine::ota_pub::{self, PublicKey};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};

/// Where private keys are kept.
pub fn key_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("AVMD_KEY_DIR") {
        return PathBuf::from(dir);
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(std::env::temp_dir);
    config.join("avmd").join("keys")
}

pub fn private_key_path(id: &str) -> PathBuf {
    key_dir().join(format!("{id}.pem"))
}

pub fn public_key(key: &SigningKey) -> PublicKey {
    let point = key.verifying_key().to_encoded_point(false);
    let mut out = [0u8; 65];
    out.copy_from_slice(point.as_bytes());
    PublicKey(out)
}

/// Makes a new key pair: the private key into the key directory, `ota.pub` into `project_root`
/// (an existing `ota.pub` is replaced only with `replace`, which is how a key is rotated).
pub fn create(project_root: &Path, replace: bool) -> anyhow::Result<(PublicKey, PathBuf)> {
    let pub_path = project_root.join(ota_pub::FILE);
    if pub_path.exists() && !replace {
        bail!(
            "{} already exists (use `avmd key rotate` to replace it)",
            pub_path.display()
        );
    }
    let key = SigningKey::random(&mut rand_core::OsRng);
    let public = public_key(&key);
    let path = private_key_path(&public.id());
    std::fs::create_dir_all(key_dir())
        .with_context(|| format!("creating {}", key_dir().display()))?;
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .context("encoding the private key")?;
    write_private(&path, pem.as_bytes())?;
    std::fs::write(&pub_path, public.to_file_text(&path.display().to_string()))
        .with_context(|| format!("writing {}", pub_path.display()))?;
    Ok((public, path))
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

/// The private key whose public half has id `id`.
pub fn load(id: &str) -> anyhow::Result<SigningKey> {
    if !id.chars().all(|c| c.is_ascii_hexdigit()) || id.len() != 16 {
        bail!("{id:?} is not a key id");
    }
    let path = private_key_path(id);
    let pem = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "the device trusts key {id}, and its private key {} is not here (restore it from your backup: docs/ota.md)",
            path.display()
        )
    })?;
    SigningKey::from_pkcs8_pem(&pem).with_context(|| format!("reading {}", path.display()))
}

/// An ASN.1 DER ECDSA-SHA256 signature of `message`.
pub fn sign(key: &SigningKey, message: &[u8]) -> Vec<u8> {
    let sig: DerSignature = key.sign(message);
    sig.as_bytes().to_vec()
}

/// The text the device checks (the same bytes as `ota_trust:message/4`).
pub fn message(device: &str, nonce: &str, sha: &str, size: u64) -> String {
    format!("avmd-ota-v1\ndevice={device}\nnonce={nonce}\nsha256={sha}\nsize={size}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::VerifyingKey;

    #[test]
    fn signature_verifies_with_the_packed_public_key() {
        let key = SigningKey::random(&mut rand_core::OsRng);
        let public = public_key(&key);
        let msg = message("sim-0", "ab", "cd", 3);
        let sig = sign(&key, msg.as_bytes());
        let vk = VerifyingKey::from_sec1_bytes(&public.0).unwrap();
        let der = DerSignature::try_from(sig.as_slice()).unwrap();
        assert!(vk.verify(msg.as_bytes(), &der).is_ok());
        assert!(vk.verify(b"other", &der).is_err());
    }
}
