//! What a dev bundle for the real AtomVM carries beyond the app: the live-reload middleware
//! (`runtime/host/avmd_dev_reload.erl`), which on host OTP comes from the harness's code path but on
//! AtomVM must be in the bundle the VM maps. Only the in-memory dev copy gets it; the engine's bundle
//! (what a device is flashed with) never does. Pure.

use crate::beam::{self, StripOptions};
use crate::packbeam::{self, Section, FLAG_BEAM};

/// The host modules `avmd dev --vm atomvm` adds to the dev bundle.
pub const ATOMVM_DEV_MODULES: &[&str] = &["avmd_dev_reload"];

#[derive(Debug, thiserror::Error)]
pub enum DevModuleError {
    #[error("the dev bundle does not read back: {0}")]
    Bundle(#[from] packbeam::PackError),
    #[error("this avmd was built without {0} (runtime/host did not compile)")]
    Missing(&'static str),
    #[error("{module} cannot be prepared for AtomVM: {source}")]
    Beam {
        module: &'static str,
        #[source]
        source: beam::BeamError,
    },
}

/// `bundle` with the dev modules added (a section of the same name is replaced), stripped for the
/// device like every runtime module.
pub fn with_dev_modules(bundle: &[u8]) -> Result<Vec<u8>, DevModuleError> {
    let host = crate::runtime_lib::host_modules();
    let mut sections = packbeam::read(bundle)?;
    for &module in ATOMVM_DEV_MODULES {
        let bytes = host
            .iter()
            .find(|(name, _)| *name == module)
            .map(|(_, b)| *b)
            .ok_or(DevModuleError::Missing(module))?;
        let data = beam::strip_for_device(bytes, &StripOptions::default())
            .map_err(|source| DevModuleError::Beam { module, source })?;
        let name = format!("{module}.beam");
        sections.retain(|s| s.name != name);
        sections.push(Section {
            name,
            flags: FLAG_BEAM,
            data,
        });
    }
    Ok(packbeam::write(&sections))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_bundle() -> Vec<u8> {
        let (_, start) = crate::runtime_lib::device_modules()[0];
        packbeam::write(&[Section {
            name: "app.beam".into(),
            flags: packbeam::FLAG_START | FLAG_BEAM,
            data: start.to_vec(),
        }])
    }

    #[test]
    fn the_reload_middleware_is_added_once_and_the_rest_kept() {
        let once = with_dev_modules(&tiny_bundle()).unwrap();
        let twice = with_dev_modules(&once).unwrap();
        assert_eq!(once, twice, "adding again replaces, never duplicates");
        let sections = packbeam::read(&once).unwrap();
        let names: Vec<&str> = sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["app.beam", "avmd_dev_reload.beam"]);
        assert!(sections[0].is_start());
        // stripped for the device: AtomVM reads LitU, never LitT
        let reload = beam::parse(&sections[1].data).unwrap();
        assert!(reload.chunk(b"LitT").is_none());
        assert!(reload.chunk(b"Code").is_some());
    }

    #[test]
    fn a_broken_bundle_is_an_error_not_a_panic() {
        assert!(matches!(
            with_dev_modules(b"not a bundle"),
            Err(DevModuleError::Bundle(_))
        ));
    }
}
