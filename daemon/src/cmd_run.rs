//! `avmd run [PATH] [--port N]`: builds the project, then boots the bundle on host OTP the way a device
//! boots it (modules from the .avm bytes, `start/0` called, device shims for atomvm/esp/network/gpio) and
//! serves it on 127.0.0.1. The app's output is printed as a device console; Ctrl-C stops everything.

use avmd_engine::build::Engine;
use avmd_engine::host::{ConsoleStream, HostConfig, HostRuntime};
use avmd_engine::project::Project;
use avmd_engine::runner::Runner;
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
    /// Per-process heap limit in words, to feel a device's memory limits.
    #[arg(long)]
    pub max_heap_words: Option<u64>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let project = match Project::discover(&args.path) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("avmd: error: {e}");
            return Ok(1);
        }
    };
    let profile = project.profile.clone();
    let app = project.app.clone();
    let mut engine = Engine::open(project)?;
    let outcome = engine.build()?;
    for d in &outcome.diagnostics {
        eprintln!("{}", d.render());
    }
    let Some(bundle) = outcome.bundle else {
        eprintln!("avmd: build failed; nothing to run");
        return Ok(1);
    };
    // The compile VM is not needed while serving.
    drop(engine);

    let mut host = HostRuntime::start(HostConfig {
        port: args.port,
        profile: Some(profile),
        max_heap_words: args.max_heap_words,
        state_dir: bundle.path.parent().map(Path::to_path_buf),
        ..Default::default()
    })?;
    let console = host.subscribe();
    host.boot(&bundle.bytes)?;
    println!(
        "booted {} ({} bytes, sha256 {})",
        bundle.path.display(),
        bundle.size,
        &bundle.sha256[..16]
    );
    let mut announced = false;
    let stdout = std::io::stdout();
    loop {
        match console.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let prefix = match line.stream {
                    ConsoleStream::Stdout => "|",
                    ConsoleStream::Crash => "!",
                    ConsoleStream::Harness => "#",
                };
                let mut out = stdout.lock();
                let _ = writeln!(out, "{prefix} {}", line.text);
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
            eprintln!("avmd: the host runtime exited");
            return Ok(1);
        }
    }
    Ok(0)
}
