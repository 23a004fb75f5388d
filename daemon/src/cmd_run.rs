//! `avmd run [PATH] [--port N] [--vm host|atomvm]`: builds the project, then boots the bundle the way a
//! device boots it and serves it on 127.0.0.1. On host OTP (the default) modules are loaded from the
//! .avm bytes with device shims for atomvm/esp/network/gpio; with `--vm atomvm` the real AtomVM
//! (generic_unix, built once by scripts/atomvm.sh) runs the bundle itself. The app's output is printed
//! as a device console; Ctrl-C stops everything.

use crate::vm::{start_runner, VmChoice};
use avmd_engine::host::{ConsoleStream, HostConfig};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// The project directory (holding avmd.toml, rebar.config or mix.exs).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// The port on 127.0.0.1 the app's httpd_server binds (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Per-process heap limit in words, to feel a device's memory limits (host OTP only).
    #[arg(long)]
    pub max_heap_words: Option<u64>,
    /// Where the bundle runs: host OTP (fast, the default) or the real AtomVM (the interpreter a
    /// device runs; built into ~/.cache/avmd on first use).
    #[arg(long, value_enum, default_value = "host")]
    pub vm: VmChoice,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let Some((project, bundle)) = crate::build_once::build(&args.path, "nothing to run")? else {
        return Ok(1);
    };
    let (profile, app) = (project.profile, project.app);

    let mut host = start_runner(
        args.vm,
        HostConfig {
            port: args.port,
            profile: Some(profile),
            max_heap_words: args.max_heap_words,
            state_dir: bundle.path.parent().map(Path::to_path_buf),
            ..Default::default()
        },
        Vec::new(),
    )?;
    let console = host.subscribe();
    host.boot(&bundle.bytes)?;
    println!(
        "booted {} on {} ({} bytes, sha256 {})",
        bundle.path.display(),
        host.name(),
        bundle.size,
        &bundle.sha256[..16]
    );
    let mut announced = false;
    let stdout = std::io::stdout();
    loop {
        match console.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let mut out = stdout.lock();
                let _ = writeln!(out, "{} {}", prefix(line.stream), line.text);
                let _ = out.flush();
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if !announced {
            if let Some(port) = host.port() {
                println!("serving {app} on http://127.0.0.1:{port}/ (Ctrl-C to stop)");
                let _ = std::io::stdout().flush();
                announced = true;
            }
        }
        if !host.is_running() {
            // Drain what the VM printed last (its crash summary) before saying it ended.
            while let Ok(line) = console.recv_timeout(Duration::from_millis(100)) {
                println!("{} {}", prefix(line.stream), line.text);
            }
            eprintln!("avmd: the {} exited", host.name());
            return Ok(1);
        }
    }
    Ok(0)
}

/// The console column that tells the app's output from crashes and the runner's notes.
fn prefix(stream: ConsoleStream) -> &'static str {
    match stream {
        ConsoleStream::Stdout => "|",
        ConsoleStream::Crash => "!",
        ConsoleStream::Harness => "#",
    }
}
