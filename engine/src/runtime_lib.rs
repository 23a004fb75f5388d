//! The Erlang code this binary carries, compiled by `build.rs` when it was built: the runtime library's
//! device modules (bundled into every app unless it opts out), the host harness and device shims
//! (`runtime/host`, never packed) and the resident compile VM. `materialize` writes a group to a
//! content-addressed directory so an `erl` can put it on its code path.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// Modules the runtime library must hold; a binary without them was built from a broken runtime.
pub const CORE_MODULES: &[&str] = &[
    "gen_tcp_server",
    "httpd_conn",
    "httpd_handler",
    "httpd_parse",
    "httpd_reply",
    "httpd_router",
    "httpd_server",
];

/// The runtime library's device beams (name, bytes), sorted by name.
pub fn device_modules() -> &'static [(&'static str, &'static [u8])] {
    embedded::DEVICE_MODULES
}

/// The host harness and device shims (`avmd_host`, `atomvm`, `esp`, `network`, `gpio`, ...).
pub fn host_modules() -> &'static [(&'static str, &'static [u8])] {
    embedded::HOST_MODULES
}

/// The resident compile VM's modules.
pub fn vm_modules() -> &'static [(&'static str, &'static [u8])] {
    embedded::VM_MODULES
}

/// Runtime files that did not compile when this binary was built: (group, file, message).
pub fn skipped() -> &'static [(&'static str, &'static str, &'static str)] {
    embedded::SKIPPED
}

/// Writes `modules` as `.beam` files into a directory named after their content hash under the system temp
/// dir (or `$AVMD_CACHE_DIR`) and returns it. Idempotent and safe with concurrent callers: files are
/// written under a temporary name and renamed into place.
pub fn materialize(group: &str, modules: &[(&str, &[u8])]) -> std::io::Result<PathBuf> {
    let mut h = Sha256::new();
    for (name, bytes) in modules {
        h.update(name.as_bytes());
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    }
    let digest = h.finalize();
    let tag: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let base = std::env::var_os("AVMD_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("avmd-cache"));
    let dir = base.join(format!("{group}-{tag}"));
    std::fs::create_dir_all(&dir)?;
    for (name, bytes) in modules {
        let target = dir.join(format!("{name}.beam"));
        if file_matches(&target, bytes) {
            continue;
        }
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}.{seq}.tmp", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &target)?;
    }
    Ok(dir)
}

fn file_matches(path: &Path, bytes: &[u8]) -> bool {
    std::fs::read(path).is_ok_and(|b| b == bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harness_and_vm_are_embedded() {
        let host: Vec<&str> = host_modules().iter().map(|(n, _)| *n).collect();
        for m in ["avmd_host", "atomvm", "esp", "network", "gpio"] {
            assert!(host.contains(&m), "host module {m} missing: {host:?}");
        }
        assert!(vm_modules().iter().any(|(n, _)| *n == "avmd_compile_vm"));
    }

    #[test]
    fn materialize_is_idempotent() {
        let a = materialize("vm", vm_modules()).unwrap();
        let b = materialize("vm", vm_modules()).unwrap();
        assert_eq!(a, b);
        assert!(a.join("avmd_compile_vm.beam").is_file());
    }
}
