//! `avmd dev --push DEVICE…`: every good build goes to the devices as it lands. One worker thread
//! takes the newest bundle (builds that land during a push are coalesced into the next one), pushes
//! it with the fleet code, and reports each device's outcome on the terminal, the dashboard's
//! console and its SSE channel (`push` events).

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;

use crate::dev::state::Shared;
use crate::dev::term;
use crate::ota::fleet::{self, Observer, Target};
use crate::ota::push::{Image, PushOptions, PushOutcome};
use crate::ota::registry::{now_ms, PushRecord, Registry};

pub struct DevPusher {
    tx: Sender<Arc<[u8]>>,
}

impl DevPusher {
    /// Starts the worker for `devices` (registry names or HOST:PORT).
    pub fn start(devices: Vec<String>, shared: Arc<Shared>) -> DevPusher {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || worker(devices, rx, shared));
        DevPusher { tx }
    }

    /// Hands over a good bundle (the device build, not the dev copy).
    pub fn offer(&self, bundle: Arc<[u8]>) {
        let _ = self.tx.send(bundle);
    }
}

struct Quiet;

impl Observer for Quiet {
    fn progress(&self, _: &str, _: u64, _: u64) {}
    fn done(&self, _: &PushOutcome) {}
}

fn worker(devices: Vec<String>, rx: Receiver<Arc<[u8]>>, shared: Arc<Shared>) {
    while let Ok(mut bundle) = rx.recv() {
        while let Ok(newer) = rx.try_recv() {
            bundle = newer;
        }
        let reg = Registry::open_default().ok();
        let targets: Vec<Target> = devices
            .iter()
            .filter_map(
                |d| match reg.as_ref().and_then(|r| r.get(d).ok().flatten()) {
                    Some(dev) => Some(Target {
                        name: dev.name,
                        address: dev.address,
                    }),
                    None if d.contains(':') => Some(Target {
                        name: d.clone(),
                        address: d.clone(),
                    }),
                    None => {
                        term::warning(&format!(
                            "--push {d}: no such device (avmd devices lists them)"
                        ));
                        None
                    }
                },
            )
            .collect();
        let image = Image {
            sha256: avmd_engine::packbeam::sha256_hex(&bundle),
            bytes: &bundle,
        };
        let started = now_ms();
        let outcomes = fleet::push_all(&targets, &image, &PushOptions::default(), 4, false, &Quiet);
        for o in outcomes {
            let line = format!(
                "push {} {}: {} in {:.1} s ({})",
                &image.sha256[..12],
                o.device,
                o.result.as_str(),
                o.duration_ms as f64 / 1000.0,
                o.detail
            );
            term::info(&line);
            shared.console("push", &line);
            shared.emit(
                crate::dev::state::DevEventKind::Push,
                serde_json::to_value(&o).unwrap_or_default(),
            );
            if let Some(reg) = &reg {
                let _ = reg.record_push(&PushRecord::of(&o, &image.sha256, started));
            }
        }
    }
}
