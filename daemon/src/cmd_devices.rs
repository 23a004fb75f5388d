//! `avmd devices [list|watch|add|remove|rename|info]`: the devices on the LAN (mDNS, `ota::discover`)
//! merged into the registry (SQLite), each asked for its `/_avm/info` when listed (online or not, what
//! it runs, whether that is the project's current build); `watch` follows announcements live.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::ota::discover::{self, Change};
use crate::ota::http;
use crate::ota::registry::Registry;
use crate::ota::status::{probe_all, Row};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
    /// Print JSON (for scripts and the editor).
    #[arg(long, global = true)]
    pub json: bool,
    /// The project whose built bundle decides "out of date".
    #[arg(long, global = true, default_value = ".")]
    pub project: PathBuf,
    /// Do not look for devices on the LAN (mDNS); list only the registry.
    #[arg(long, global = true)]
    pub no_mdns: bool,
    /// How long `list` listens for mDNS announcements and answers, in milliseconds.
    #[arg(long, global = true, default_value_t = 2000)]
    pub browse_ms: u64,
}

#[derive(clap::Subcommand)]
pub enum Action {
    /// List the devices (the default).
    List,
    /// Follow the devices on the LAN as they announce themselves and leave (one line each; JSON lines
    /// with --json), until interrupted.
    Watch,
    /// Add a device (or change its address): NAME HOST:PORT.
    Add { name: String, address: String },
    /// Remove a device.
    Remove { name: String },
    /// Rename a device (its push history follows).
    Rename { old: String, new: String },
    /// Print what a device reports at /_avm/info (NAME or HOST:PORT).
    Info { device: String },
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let reg = Registry::open_default()?;
    match args.action.unwrap_or(Action::List) {
        Action::Add { name, address } => {
            http::resolve(&address)?;
            reg.add(&name, &address)?;
            println!("added {name} at {address}");
        }
        Action::Remove { name } => {
            reg.remove(&name)?;
            println!("removed {name}");
        }
        Action::Rename { old, new } => {
            reg.rename(&old, &new)?;
            println!("renamed {old} to {new}");
        }
        Action::Info { device } => {
            let address = match reg.get(&device)? {
                Some(d) => d.address,
                None if device.contains(':') => device.clone(),
                None => anyhow::bail!("no device named {device:?} (avmd devices lists them)"),
            };
            let reply = http::request(&address, "GET", "/_avm/info", Duration::from_secs(5))?;
            if reply.status != 200 {
                eprintln!(
                    "avmd: {address} answered {} {} (is OTA mounted? docs/ota.md)",
                    reply.status,
                    reply.reason()
                );
                return Ok(1);
            }
            let info = reply.json()?;
            remember(&reg, &device, &info);
            println!("{}", serde_json::to_string_pretty(&info)?);
        }
        Action::Watch => {
            let current = current_sha(&args.project);
            discover::watch(Duration::MAX, |change| {
                if let Change::Up(f) = &change {
                    discover::remember(&reg, f);
                }
                if args.json {
                    if let Ok(line) = serde_json::to_string(&change) {
                        println!("{line}");
                    }
                } else {
                    match &change {
                        Change::Up(f) => println!(
                            "up    {:<14} {:<22} {} {} {}",
                            f.instance,
                            f.address,
                            f.txt.get("app").map_or("-", String::as_str),
                            f.txt.get("version").map_or("-", String::as_str),
                            match (f.txt.get("sha256"), current.as_deref()) {
                                (Some(s), Some(c)) if s == c => "current",
                                (Some(_), Some(_)) => "out of date",
                                _ => "-",
                            }
                        ),
                        Change::Gone { instance } => println!("gone  {instance}"),
                    }
                }
                use std::io::Write;
                let _ = std::io::stdout().flush();
            })?;
        }
        Action::List => {
            let current = current_sha(&args.project);
            let announced = if args.no_mdns || !discover::enabled() {
                Vec::new()
            } else {
                match discover::browse(Duration::from_millis(args.browse_ms)) {
                    Ok(found) => found,
                    Err(e) => {
                        eprintln!("avmd: not looking on the LAN: {e}");
                        Vec::new()
                    }
                }
            };
            let names: Vec<String> = announced
                .iter()
                .map(|f| discover::remember(&reg, f))
                .collect();
            let devices = reg.list()?;
            let mut rows: Vec<Row> = probe_all(devices, current.as_deref());
            for r in &mut rows {
                r.announced = names.contains(&r.device.name);
            }
            for r in &rows {
                if r.online {
                    remember_row(&reg, r);
                }
            }
            if args.json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if rows.is_empty() {
                println!("no devices: `avmd devices add NAME HOST:PORT`, or `avmd sim` registers simulated ones");
            } else {
                println!(
                    "{:<14} {:<22} {:<8} {:<14} {:<10} build",
                    "device", "address", "status", "running", "version"
                );
                for r in &rows {
                    println!(
                        "{:<14} {:<22} {:<8} {:<14} {:<10} {}",
                        r.device.name,
                        r.device.address,
                        if r.online { "online" } else { "offline" },
                        r.device
                            .sha256
                            .as_deref()
                            .map_or("-", |s| &s[..12.min(s.len())]),
                        r.device.version.as_deref().unwrap_or("-"),
                        match (r.outdated, r.trial) {
                            (_, Some(true)) => "trial boot",
                            (Some(true), _) => "out of date",
                            (Some(false), _) => "current",
                            (None, _) => "-",
                        }
                    );
                }
            }
        }
    }
    Ok(0)
}

fn remember(reg: &Registry, name: &str, info: &Value) {
    let s = |k: &str| info.get(k).and_then(Value::as_str);
    let _ = reg.seen(name, s("device"), s("key_id"), s("sha256"), s("version"));
}

fn remember_row(reg: &Registry, r: &Row) {
    let d = &r.device;
    let _ = reg.seen(
        &d.name,
        d.device_id.as_deref(),
        d.key_id.as_deref(),
        d.sha256.as_deref(),
        d.version.as_deref(),
    );
}

/// The SHA-256 of the project's last built bundle, when there is one.
pub fn current_sha(path: &std::path::Path) -> Option<String> {
    let project = avmd_engine::project::Project::discover(path).ok()?;
    let bytes = std::fs::read(project.bundle_path()).ok()?;
    Some(avmd_engine::packbeam::sha256_hex(&bytes))
}
