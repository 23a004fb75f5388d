//! `avmd dev [PATH] [--port N] [--dashboard-port M] [--vm host|atomvm]`: the edit–save–see loop (see `dev`).

use std::path::PathBuf;

/// Watch a project, rebuild on save, serve it on host OTP with the device's limits, live reload and
/// a dashboard.
#[derive(clap::Args)]
pub struct Args {
    /// The project directory (with avmd.toml, rebar.config or mix.exs).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// The app's HTTP port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The dashboard's port on 127.0.0.1 [default: PORT + 1, or a free one when PORT is 0].
    #[arg(long)]
    pub dashboard_port: Option<u16>,
    /// Per-process heap limit in words standing for device RAM [default: from the profile; 0: none].
    #[arg(long)]
    pub max_heap_words: Option<u64>,
    /// Let calls to functions the device lacks run on the host instead of failing with undef.
    #[arg(long)]
    pub allow_host_only_calls: bool,
    /// Where the app runs: host OTP (fast, code reloaded in place, the default) or the real AtomVM
    /// (the interpreter a device runs; a new VM per build; built into ~/.cache/avmd on first use).
    #[arg(long, value_enum, default_value = "host")]
    pub vm: crate::vm::VmChoice,
    /// Push every good build to these devices as it lands (registry names or HOST:PORT; docs/ota.md).
    #[arg(long, value_name = "DEVICE")]
    pub push: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    lan_watch();
    crate::dev::run(crate::dev::DevOptions {
        path: args.path,
        port: args.port,
        dashboard_port: args.dashboard_port,
        max_heap_words: args.max_heap_words,
        poison: !args.allow_host_only_calls,
        vm: args.vm,
        push: args.push,
    })
}

/// Devices announcing themselves on the LAN go into the registry as they appear, so the dashboard's
/// Devices panel lists them live (off with `AVMD_NO_MDNS=1`).
fn lan_watch() {
    use crate::ota::{discover, registry::Registry};
    if !discover::enabled() {
        return;
    }
    std::thread::spawn(|| {
        let result = discover::watch(std::time::Duration::MAX, |change| {
            if let discover::Change::Up(f) = change {
                // opened per announcement: one failed open (the dashboard creating the registry at
                // the same moment) must not end the watch
                match Registry::open_default() {
                    Ok(reg) => {
                        discover::remember(&reg, &f);
                    }
                    Err(e) => eprintln!("avmd dev: device {} not recorded: {e:#}", f.instance),
                }
            }
        });
        if let Err(e) = result {
            eprintln!("avmd dev: not watching the LAN for devices: {e:#}");
        }
    });
}
