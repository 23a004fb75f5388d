//! The daemon's side of OTA (docs/ota.md): signing keys, the device registry, devices found on the LAN
//! (mDNS, docs/devices.md), the HTTP client of the device endpoints, one push, a fleet push. The device side is `runtime/src/httpd_ota.erl`.

pub mod discover;
pub mod fleet;
pub mod http;
pub mod keys;
pub mod push;
pub mod registry;
pub mod status;
