//! Calls whose host-OTP answer differs from AtomVM's, pointed at the host shim that answers as the
//! device does, in every beam the host runner loads (never in a built bundle). `erlang:system_info/1`:
//! AtomVM answers `undefined` for a key it does not know (`esp32_free_heap_size` off an ESP32) and
//! has keys OTP lacks (`atomvm_version`); OTP raises `badarg` for both, so an app that runs on the
//! device crashed on the host. The shim is `atomvm:system_info/1` (runtime/host/atomvm.erl). Pure.

use crate::beam::Mfa;
use crate::devpoison::{self, PoisonError};

/// A call as the device has it, `(module, function, arity)`.
type DeviceCall = (&'static str, &'static str, u32);

/// Device call → `(module, function)` of its host shim, same arity.
pub const REDIRECTS: &[(DeviceCall, (&str, &str))] =
    &[(("erlang", "system_info", 1), ("atomvm", "system_info"))];

fn shim(call: &Mfa) -> Option<(String, String)> {
    REDIRECTS
        .iter()
        .find(|((m, f, a), _)| call.module == *m && call.function == *f && call.arity == *a)
        .map(|(_, (m, f))| (m.to_string(), f.to_string()))
}

/// `beam` with its calls in [`REDIRECTS`] pointed at their host shims (unchanged when it has none).
pub fn for_host(beam: &[u8]) -> Result<Vec<u8>, PoisonError> {
    devpoison::redirect_imports(beam, shim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::beam;

    #[test]
    fn system_info_calls_go_to_the_shim_and_nothing_else_moves() {
        // A runtime module that calls erlang:system_info/1 (httpd_ota's /_avm/info does).
        let (_, bytes) = crate::runtime_lib::device_modules()
            .iter()
            .find(|(n, _)| *n == "ota_agent")
            .expect("ota_agent is a runtime module");
        let before = beam::imports(&beam::parse(bytes).unwrap()).unwrap();
        let sys = Mfa {
            module: "erlang".into(),
            function: "system_info".into(),
            arity: 1,
        };
        assert!(before.contains(&sys), "{before:?}");
        let after = beam::imports(&beam::parse(&for_host(bytes).unwrap()).unwrap()).unwrap();
        assert_eq!(before.len(), after.len());
        for (b, a) in before.iter().zip(&after) {
            if *b == sys {
                assert_eq!(
                    (a.module.as_str(), a.function.as_str(), a.arity),
                    ("atomvm", "system_info", 1)
                );
            } else {
                assert_eq!(a, b);
            }
        }
    }
}
