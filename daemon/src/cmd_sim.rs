//! `avmd sim [PATH] --count N`: simulated ESP32s on 127.0.0.1, the device stand-in for pushes, tests
//! and demos. Each has its own flash directory (`partitions`, `main.avm`, `app2.avm`, `nvs/`; the
//! layout `device_flash` reads through `AVMD_FLASH_DIR`), first flashed with the project's bundle.
//! A device boots the partition NVS `atomvm/boot_path` names; a restart is its VM exiting, after
//! which it boots again from `boot_path`, as `esp32init` does on a real one. On the real AtomVM when
//! asked (`--vm atomvm`), else host OTP.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use avmd_engine::host::HostConfig;
use avmd_engine::runner::ConsoleStream;

use crate::ota::registry::Registry;
use crate::vm::{start_runner, VmChoice};

const BY_NAME: &str = "/dev/partition/by-name/";
/// Each device's console, beside its flash (the dashboard shows it); kept under CONSOLE_MAX bytes by
/// moving it to `console.log.1`.
pub const CONSOLE_LOG: &str = "console.log";
const CONSOLE_MAX: u64 = 256 * 1024;

#[derive(clap::Args)]
pub struct Args {
    /// The project whose bundle the devices are first flashed with.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// How many devices.
    #[arg(long, default_value_t = 3)]
    pub count: usize,
    /// Device i listens on base-port + i.
    #[arg(long, default_value_t = 9100)]
    pub base_port: u16,
    /// Where the devices' flash lives (default: the project's _build/avmd/sim).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Erase the devices' flash first (otherwise they keep what was pushed to them).
    #[arg(long)]
    pub fresh: bool,
    /// Where the devices run.
    #[arg(long, value_enum, default_value = "host")]
    pub vm: VmChoice,
    /// Milliseconds a newly pushed app has to be confirmed before the device goes back.
    #[arg(long, default_value_t = 20000)]
    pub trial_ms: u64,
    /// Name prefix: devices are PREFIX-0, PREFIX-1, ...
    #[arg(long, default_value = "sim")]
    pub name: String,
    /// Do not add the devices to the registry (`avmd devices`).
    #[arg(long)]
    pub no_register: bool,
    /// Announce each device over mDNS as a real one does (`_avmd._tcp`), so `avmd devices` finds it.
    /// This multicasts on the machine's network: use it on a LAN you mean to, or in a network
    /// namespace (docs/devices.md).
    #[arg(long)]
    pub mdns: bool,
}

struct SimDevice {
    name: String,
    dir: PathBuf,
    port: u16,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let Some((project, bundle)) =
        crate::build_once::build(&args.path, "nothing to flash the devices with")?
    else {
        return Ok(1);
    };
    let root = args
        .dir
        .clone()
        .unwrap_or_else(|| project.build_dir().join("sim"));
    let partition_size = project.partition_size;
    let profile = project.profile;

    let reg = if args.no_register {
        None
    } else {
        Some(Registry::open_default()?)
    };
    let mut devices = Vec::new();
    for i in 0..args.count {
        let name = format!("{}-{i}", args.name);
        let dir = root.join(&name);
        let port = args.base_port + i as u16;
        flash(&dir, &name, &bundle.bytes, partition_size, args.fresh)?;
        if let Some(reg) = &reg {
            reg.add(&name, &format!("127.0.0.1:{port}"))?;
            let console = dir.join(CONSOLE_LOG);
            reg.set_console(&name, Some(&console.display().to_string()))?;
        }
        devices.push(SimDevice { name, dir, port });
    }

    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = devices
        .into_iter()
        .map(|d| {
            let stop = stop.clone();
            let (vm, trial, mdns) = (args.vm, args.trial_ms, args.mdns);
            std::thread::spawn(move || device_loop(d, vm, profile, trial, mdns, &stop))
        })
        .collect();
    println!(
        "{} simulated device(s) on 127.0.0.1:{}..{} ({}), flash in {} (Ctrl-C to stop)",
        args.count,
        args.base_port,
        args.base_port + args.count.saturating_sub(1) as u16,
        match args.vm {
            VmChoice::Host => "host OTP",
            VmChoice::Atomvm => "AtomVM",
        },
        root.display()
    );
    let _ = std::io::stdout().flush();
    wait_for_signal();
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        let _ = t.join();
    }
    Ok(0)
}

/// First flash: the partition table, the bundle in main.avm, the device's id in NVS. Kept as it is
/// on later runs (the devices keep what was pushed) unless `fresh`.
fn flash(
    dir: &Path,
    name: &str,
    bundle: &[u8],
    partition_size: u64,
    fresh: bool,
) -> anyhow::Result<()> {
    if fresh && dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir.join("nvs"))?;
    let table = dir.join("partitions");
    if !table.exists() {
        std::fs::write(
            &table,
            format!("main.avm {partition_size}\napp2.avm {partition_size}\n"),
        )?;
        std::fs::write(dir.join("main.avm"), bundle)?;
        std::fs::write(dir.join("nvs/avmd.device_id"), name)?;
    }
    Ok(())
}

/// The partition file `atomvm/boot_path` names (main.avm when unset).
fn boot_partition(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("nvs/atomvm.boot_path"))
        .ok()
        .and_then(|p| p.strip_prefix(BY_NAME).map(str::to_string))
        .filter(|p| !p.contains('/') && !p.is_empty())
        .unwrap_or_else(|| "main.avm".into())
}

fn device_loop(
    d: SimDevice,
    vm: VmChoice,
    profile: avmd_engine::profile::Profile,
    trial_ms: u64,
    mdns: bool,
    stop: &AtomicBool,
) {
    let log_path = d.dir.join(CONSOLE_LOG);
    let say = |msg: &str| {
        println!("[{}] {msg}", d.name);
        let _ = std::io::stdout().flush();
        append_console(&log_path, msg);
    };
    let mut boots = 0u32;
    while !stop.load(Ordering::SeqCst) {
        let part = boot_partition(&d.dir);
        let bytes = match std::fs::read(d.dir.join(&part)) {
            Ok(b) => b,
            Err(e) => {
                say(&format!("cannot read partition {part}: {e}; halted"));
                return;
            }
        };
        let mut env = vec![
            ("AVMD_FLASH_DIR".to_string(), d.dir.display().to_string()),
            ("AVMD_OTA_TRIAL_MS".to_string(), trial_ms.to_string()),
        ];
        if mdns {
            // httpd_server's `mdns => #{}` announces only on a board, or when asked to
            env.push(("AVMD_MDNS".to_string(), "1".to_string()));
        }
        let cfg = HostConfig {
            port: d.port,
            profile: Some(profile),
            state_dir: Some(d.dir.join("vm")),
            env: env.clone(),
            ..Default::default()
        };
        let _ = std::fs::create_dir_all(d.dir.join("vm"));
        let mut runner = match start_runner(vm, cfg, env) {
            Ok(r) => r,
            Err(e) => {
                say(&format!("cannot start the VM: {e}"));
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        let console = runner.subscribe();
        boots += 1;
        say(&format!(
            "boot {boots} from {part} on port {} ({} bytes)",
            d.port,
            bytes.len()
        ));
        if let Err(e) = runner.boot(&bytes) {
            say(&format!("boot failed: {e}"));
        }
        while runner.is_running() && !stop.load(Ordering::SeqCst) {
            if let Ok(line) = console.recv_timeout(Duration::from_millis(100)) {
                let mark = match line.stream {
                    ConsoleStream::Stdout => "|",
                    ConsoleStream::Crash => "!",
                    ConsoleStream::Harness => "#",
                };
                say(&format!("{mark} {}", line.text));
            }
        }
        while let Ok(line) = console.try_recv() {
            say(&format!("| {}", line.text));
        }
        drop(runner);
        if !stop.load(Ordering::SeqCst) {
            say("restarted");
        }
    }
}

fn append_console(path: &Path, line: &str) {
    if std::fs::metadata(path).is_ok_and(|m| m.len() > CONSOLE_MAX) {
        let _ = std::fs::rename(path, path.with_extension("log.1"));
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{line}");
    }
}

fn wait_for_signal() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a signal runtime");
    rt.block_on(async {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    });
}
