//! Devices on the LAN, found by DNS-SD (`mdns-sd`): every `_avmd._tcp.local.` service, which is what
//! `runtime/src/mdns_responder.erl` announces, with the OTA facts of its TXT record. `browse` collects
//! for a while (for `avmd devices`); `watch` streams appearances and goodbyes (for `avmd devices
//! watch` and the dashboard).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mdns_sd::{ServiceDaemon, ServiceEvent};
use serde::Serialize;

/// Whether to look on the LAN at all: `AVMD_NO_MDNS=1` turns it off (the test suite sets it, so that
/// only tests inside their own network namespace multicast).
pub fn enabled() -> bool {
    std::env::var("AVMD_NO_MDNS").map_or(true, |v| v != "1")
}

/// Puts a device found on the LAN into the registry and returns its name there: the registered device
/// with the same device id (its address updated: DHCP moves devices), else the one named like the
/// instance, else a new entry named after the instance.
pub fn remember(reg: &super::registry::Registry, f: &Found) -> String {
    let known = reg.list().unwrap_or_default();
    let id = f.txt.get("device");
    let name = known
        .iter()
        .find(|d| id.is_some() && d.device_id.as_ref() == id)
        .or_else(|| known.iter().find(|d| d.name == f.instance))
        .map_or_else(|| f.instance.clone(), |d| d.name.clone());
    let _ = reg.add(&name, &f.address);
    name
}

/// The service type devices announce.
pub const SERVICE: &str = "_avmd._tcp.local.";

/// A device as its announcement describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    /// The instance name (the device id unless the app chose one).
    pub instance: String,
    /// `ip:port` of its HTTP server.
    pub address: String,
    /// TXT `device`, `app`, `version`, `sha256`, `platform`, `key_id` (those it sent).
    pub txt: BTreeMap<String, String>,
}

/// What `watch` reports.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Change {
    /// Announced or re-announced (its TXT may have changed: a new build after a push).
    Up(Found),
    /// Said goodbye, or its records expired.
    Gone { instance: String },
}

/// The instance label of a full name `sim-0._avmd._tcp.local.`.
fn instance_of(fullname: &str) -> String {
    fullname
        .strip_suffix(SERVICE)
        .map(|s| s.trim_end_matches('.'))
        .unwrap_or(fullname)
        .to_string()
}

fn found(r: &mdns_sd::ResolvedService) -> Option<Found> {
    let ip = r.get_addresses_v4().into_iter().min()?;
    let txt = r
        .get_properties()
        .iter()
        .map(|p| (p.key().to_string(), p.val_str().to_string()))
        .collect();
    Some(Found {
        instance: instance_of(r.get_fullname()),
        address: format!("{ip}:{}", r.get_port()),
        txt,
    })
}

fn daemon() -> anyhow::Result<ServiceDaemon> {
    ServiceDaemon::new().map_err(|e| anyhow::anyhow!("mDNS: {e}"))
}

/// Every device that announces itself within `wait`, by instance name.
pub fn browse(wait: Duration) -> anyhow::Result<Vec<Found>> {
    let mut out = BTreeMap::new();
    watch(wait, |c| match c {
        Change::Up(f) => {
            out.insert(f.instance.clone(), f);
        }
        Change::Gone { instance } => {
            out.remove(&instance);
        }
    })?;
    Ok(out.into_values().collect())
}

/// Calls `on` for every change until `wait` has passed (`Duration::MAX`: until the process ends).
pub fn watch(wait: Duration, mut on: impl FnMut(Change)) -> anyhow::Result<()> {
    let mdns = daemon()?;
    let events = mdns
        .browse(SERVICE)
        .map_err(|e| anyhow::anyhow!("mDNS browse: {e}"))?;
    let deadline = Instant::now().checked_add(wait);
    loop {
        let left = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(l) if !l.is_zero() => l,
                _ => break,
            },
            None => Duration::from_secs(3600),
        };
        match events.recv_timeout(left) {
            Ok(ServiceEvent::ServiceResolved(r)) => {
                if let Some(f) = found(&r) {
                    on(Change::Up(f));
                }
            }
            Ok(ServiceEvent::ServiceRemoved(_, fullname)) => on(Change::Gone {
                instance: instance_of(&fullname),
            }),
            Ok(_) => {}
            Err(_) if deadline.is_some_and(|d| Instant::now() >= d) => break,
            Err(_) => {}
        }
    }
    let _ = mdns.shutdown();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_come_off_the_service_type() {
        assert_eq!(instance_of("sim-0._avmd._tcp.local."), "sim-0");
        assert_eq!(instance_of("a.b._avmd._tcp.local."), "a.b");
        assert_eq!(instance_of("odd"), "odd");
    }
}
