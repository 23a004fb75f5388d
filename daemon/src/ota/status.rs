//! What a registered device says about itself now: one `/_avm/info` with a short timeout, merged
//! with the registry's row (used by `avmd devices` and the dashboard's Devices panel).

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::http;
use super::registry::Device;

/// A device as listed: the registry's row updated from `/_avm/info` when it answered.
#[derive(Serialize)]
pub struct Row {
    #[serde(flatten)]
    pub device: Device,
    pub online: bool,
    pub outdated: Option<bool>,
    pub partition: Option<String>,
    pub trial: Option<bool>,
    /// Whether it announced itself over mDNS during this listing (`avmd devices` browses first).
    pub announced: bool,
}

/// Asks every device at once (each answers or times out on its own).
pub fn probe_all(devices: Vec<Device>, current: Option<&str>) -> Vec<Row> {
    std::thread::scope(|s| {
        let handles: Vec<_> = devices
            .into_iter()
            .map(|d| s.spawn(move || probe(d, current)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Asks the device; `current` is the SHA-256 of the build it should run (for `outdated`).
pub fn probe(mut device: Device, current: Option<&str>) -> Row {
    let info = http::request(
        &device.address,
        "GET",
        "/_avm/info",
        Duration::from_millis(1500),
    )
    .ok()
    .filter(|r| r.status == 200)
    .and_then(|r| r.json().ok());
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    match info {
        Some(info) => {
            device.device_id = s(&info, "device");
            device.key_id = s(&info, "key_id");
            device.sha256 = s(&info, "sha256");
            device.version = s(&info, "version");
            Row {
                outdated: current.map(|c| device.sha256.as_deref() != Some(c)),
                partition: s(&info, "partition"),
                trial: info.get("trial").and_then(Value::as_bool),
                device,
                online: true,
                announced: false,
            }
        }
        None => Row {
            outdated: current.map(|c| device.sha256.as_deref() != Some(c)),
            device,
            online: false,
            partition: None,
            trial: None,
            announced: false,
        },
    }
}
