//! `avmd push [DEVICE…] [--all|--outdated]`: builds the project and pushes its bundle over the LAN
//! to devices (registry names or HOST:PORT), signed with the project's key (docs/ota.md). A fleet
//! goes canary first, then `--concurrency` at a time; every attempt lands in `avmd history`.
//! `avmd history [DEVICE]` prints those attempts.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use avmd_engine::project::Project;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::ota::fleet::{self, Observer, Target};
use crate::ota::push::{Image, PushOptions, PushOutcome};
use crate::ota::registry::{now_ms, PushRecord, Registry};

#[derive(clap::Args)]
pub struct Args {
    /// Devices: registry names (`avmd devices`) or HOST:PORT addresses.
    pub devices: Vec<String>,
    /// Every registered device (those already running this bundle are skipped).
    #[arg(long, conflicts_with = "outdated")]
    pub all: bool,
    /// Every registered device that answers and runs something else.
    #[arg(long)]
    pub outdated: bool,
    /// The project to build and push.
    #[arg(long, default_value = ".")]
    pub project: PathBuf,
    /// Push this .avm instead of building the project.
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// Uploads at once (after the canary).
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Push to all at once, without a canary first.
    #[arg(long)]
    pub no_canary: bool,
    /// The path of the app that must answer (status < 500) before an update is confirmed.
    #[arg(long, default_value = "/")]
    pub health: String,
    /// Push even to devices that run this bundle.
    #[arg(long)]
    pub force: bool,
    /// Seconds a device may take to come back after switching.
    #[arg(long, default_value_t = 90)]
    pub reboot_timeout: u64,
    /// Print one JSON document of outcomes.
    #[arg(long)]
    pub json: bool,
    /// Testing aid: cut the first upload after this many bytes, then resume.
    #[arg(long, hide = true)]
    pub cut_after: Option<u64>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let reg = Registry::open_default()?;
    let (bytes, label) = match &args.bundle {
        Some(path) => (std::fs::read(path)?, path.display().to_string()),
        None => match build(&args.project)? {
            Some(b) => b,
            None => return Ok(1),
        },
    };
    let image = Image {
        sha256: avmd_engine::packbeam::sha256_hex(&bytes),
        bytes: &bytes,
    };
    let targets = targets(&args, &reg, &image.sha256)?;
    if targets.is_empty() {
        if args.outdated {
            if args.json {
                // nothing to do is still a report, so scripts and the editor parse one shape
                let doc = serde_json::json!({"sha256": image.sha256, "size": bytes.len(), "outcomes": []});
                println!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                println!("every device runs {} already", &image.sha256[..12]);
            }
            return Ok(0);
        }
        bail!("no devices given: name them, or use --all (avmd devices lists them)");
    }
    if !args.json {
        println!(
            "pushing {label} ({} bytes, sha256 {}) to {} device(s)",
            bytes.len(),
            &image.sha256[..12],
            targets.len()
        );
    }
    let opts = PushOptions {
        health_path: args.health.clone(),
        reboot_timeout: Duration::from_secs(args.reboot_timeout),
        force: args.force,
        cut_after: args.cut_after,
        ..Default::default()
    };
    let started = now_ms();
    let bars = Bars::new(&targets, bytes.len() as u64, args.json);
    let outcomes = fleet::push_all(
        &targets,
        &image,
        &opts,
        args.concurrency,
        !args.no_canary,
        &bars,
    );
    bars.multi.clear().ok();
    for o in &outcomes {
        let _ = reg.record_push(&PushRecord::of(o, &image.sha256, started));
        if let Some(sha) = &o.running_sha256 {
            let _ = reg.set_running(&o.device, sha);
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "sha256": image.sha256, "size": bytes.len(), "outcomes": outcomes
            }))?
        );
    } else {
        print_summary(&outcomes);
    }
    Ok(if outcomes.iter().all(|o| o.result.is_success()) {
        0
    } else {
        1
    })
}

fn build(path: &std::path::Path) -> anyhow::Result<Option<(Vec<u8>, String)>> {
    // the key first: a bundle without one could not be checked by any device
    if let Ok(project) = Project::discover(path) {
        if avmd_engine::ota_pub::read(&project.root)
            .ok()
            .flatten()
            .is_none()
        {
            eprintln!(
                "avmd: error: {} has no OTA key (ota.pub): run `avmd key new` first (docs/ota.md)",
                project.root.display()
            );
            return Ok(None);
        }
    }
    Ok(crate::build_once::build(path, "nothing to push")?
        .map(|(_, b)| (b.bytes.to_vec(), b.path.display().to_string())))
}

fn targets(args: &Args, reg: &Registry, sha: &str) -> anyhow::Result<Vec<Target>> {
    let mut out = Vec::new();
    if args.all || args.outdated {
        for d in reg.list()? {
            out.push(Target {
                name: d.name,
                address: d.address,
            });
        }
        if args.outdated {
            out = std::thread::scope(|s| {
                let hs: Vec<_> = out
                    .into_iter()
                    .map(|t| s.spawn(move || (running(&t.address).is_some_and(|r| r != sha), t)))
                    .collect();
                hs.into_iter()
                    .map(|h| h.join().unwrap())
                    .filter(|(keep, _)| *keep)
                    .map(|(_, t)| t)
                    .collect()
            });
        }
    }
    for d in &args.devices {
        match reg.get(d)? {
            Some(dev) => out.push(Target {
                name: dev.name,
                address: dev.address,
            }),
            None if d.contains(':') => out.push(Target {
                name: d.clone(),
                address: d.clone(),
            }),
            None => bail!("no device named {d:?} (avmd devices lists them; HOST:PORT works too)"),
        }
    }
    // a device named twice (or named and in --all) is pushed once
    let mut seen = std::collections::HashSet::new();
    out.retain(|t| seen.insert(t.address.clone()));
    Ok(out)
}

fn running(address: &str) -> Option<String> {
    let r = crate::ota::http::request(address, "GET", "/_avm/info", Duration::from_secs(2)).ok()?;
    let v = r.json().ok()?;
    v.get("sha256")?.as_str().map(str::to_string)
}

/// The progress of each upload: indicatif bars on a terminal; with `--json`, one JSON line per
/// 16 KB sent (and at the end) on stderr, `{"event":"progress","device","sent","total"}`, which the
/// VS Code extension turns into its progress notification.
struct Bars {
    multi: MultiProgress,
    bars: Vec<(String, ProgressBar)>,
    json: bool,
    /// Per device, the byte count of the last progress line written.
    reported: std::sync::Mutex<std::collections::HashMap<String, u64>>,
}

/// Bytes between two progress lines of `--json`.
const JSON_PROGRESS_STEP: u64 = 16 * 1024;

impl Bars {
    fn new(targets: &[Target], total: u64, hidden: bool) -> Bars {
        let multi = if hidden {
            MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden())
        } else {
            MultiProgress::new()
        };
        let style = ProgressStyle::with_template(
            "{prefix:<14} [{bar:30}] {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let bars = targets
            .iter()
            .map(|t| {
                let b = multi.add(ProgressBar::new(total));
                b.set_style(style.clone());
                b.set_prefix(t.name.clone());
                (t.name.clone(), b)
            })
            .collect();
        Bars {
            multi,
            bars,
            json: hidden,
            reported: Default::default(),
        }
    }

    fn bar(&self, device: &str) -> Option<&ProgressBar> {
        self.bars.iter().find(|(n, _)| n == device).map(|(_, b)| b)
    }
}

impl Observer for Bars {
    fn progress(&self, device: &str, sent: u64, total: u64) {
        if let Some(b) = self.bar(device) {
            b.set_position(sent);
        }
        if self.json {
            let mut reported = self.reported.lock().unwrap_or_else(|p| p.into_inner());
            let last = reported.entry(device.to_string()).or_insert(u64::MAX);
            // a resume restarts below the last count: report it too
            let due = *last == u64::MAX
                || sent >= *last + JSON_PROGRESS_STEP
                || sent < *last
                || sent == total;
            if due && sent != *last {
                *last = sent;
                let line = serde_json::json!({"event": "progress", "device": device, "sent": sent, "total": total});
                eprintln!("{line}");
            }
        }
    }

    fn done(&self, o: &PushOutcome) {
        if let Some(b) = self.bar(&o.device) {
            b.finish_with_message(o.result.as_str().to_string());
        }
    }
}

fn print_summary(outcomes: &[PushOutcome]) {
    println!(
        "{:<14} {:<12} {:>10} {:>8}  detail",
        "device", "result", "sent", "time"
    );
    for o in outcomes {
        println!(
            "{:<14} {:<12} {:>10} {:>7.1}s  {}{}",
            o.device,
            o.result.as_str(),
            o.bytes_sent,
            o.duration_ms as f64 / 1000.0,
            o.detail,
            o.resumed_from
                .map(|r| format!(" (resumed at byte {r})"))
                .unwrap_or_default()
        );
    }
    let ok = outcomes.iter().filter(|o| o.result.is_success()).count();
    println!("{ok} of {} device(s) run the new bundle", outcomes.len());
}

#[derive(clap::Args)]
pub struct HistoryArgs {
    /// Only this device's pushes.
    pub device: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    #[arg(long)]
    pub json: bool,
}

pub fn history(args: HistoryArgs) -> anyhow::Result<i32> {
    let reg = Registry::open_default()?;
    let rows = reg.history(args.device.as_deref(), args.limit)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(0);
    }
    if rows.is_empty() {
        println!("no pushes yet");
    }
    for r in rows {
        println!(
            "#{:<5} {:<14} {:<12} {} {:>9} B {:>6.1}s  {}",
            r.id,
            r.device,
            r.result,
            &r.sha256[..12.min(r.sha256.len())],
            r.bytes_sent,
            r.duration_ms as f64 / 1000.0,
            r.detail
        );
    }
    Ok(0)
}
