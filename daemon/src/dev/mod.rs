//! `avmd dev`: watch a project, rebuild on save, boot each good bundle on host OTP with the device's
//! limits (or on the real AtomVM with `--vm atomvm`), inject live reload into its pages, and show it
//! all on a dashboard.
//!
//! Threads: the main thread runs a small Tokio runtime for the dashboard (axum) and waits for Ctrl-C;
//! the watcher thread turns file events into batches; the session thread (`session`) owns the engine and
//! the host runtime (both blocking) and builds one batch at a time; a console thread streams the
//! app's output. Nothing polls: every thread blocks on a channel or a socket.

pub mod profile;
mod push;
pub mod session;
pub mod state;
pub mod term;
pub mod watch;

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;

use avmd_engine::project::Project;

use crate::history::History;
use state::{ProjectView, Shared};
use watch::{ProjectWatcher, WatchEvent};

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct DevOptions {
    pub path: PathBuf,
    /// The app's HTTP port (0 picks a free one).
    pub port: u16,
    /// The dashboard's port; `None` means `port + 1` (or a free one when `port` is 0).
    pub dashboard_port: Option<u16>,
    /// `None`: from the profile; `Some(0)`: no limit.
    pub max_heap_words: Option<u64>,
    pub poison: bool,
    pub vm: crate::vm::VmChoice,
    /// Devices every good build is pushed to.
    pub push: Vec<String>,
}

/// The history database of a project.
pub fn history_path(project: &Project) -> PathBuf {
    project.build_dir().join("history.sqlite3")
}

/// Runs a dev session until Ctrl-C (exit code 0) or until the environment breaks (`Err`).
pub fn run(opts: DevOptions) -> anyhow::Result<i32> {
    let project = Project::discover(&opts.path)?;
    let history = History::open(&history_path(&project))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let dashboard_port = opts.dashboard_port.unwrap_or(if opts.port == 0 {
        0
    } else {
        opts.port.saturating_add(1)
    });
    let listener = rt.block_on(crate::dashboard::bind(dashboard_port))?;
    let dashboard_port = listener.local_addr()?.port();
    let shared = Arc::new(Shared::new(
        ProjectView::of(&project),
        dashboard_port,
        history,
    ));
    rt.spawn({
        let shared = Arc::clone(&shared);
        async move {
            if let Err(err) = crate::dashboard::serve(listener, shared).await {
                term::warning(&format!("the dashboard stopped: {err:#}"));
            }
        }
    });

    let (tx, rx) = mpsc::channel();
    let _watcher = ProjectWatcher::start(&project.root, &project.source_dirs(), tx.clone())?;
    let max_heap_words = match opts.max_heap_words {
        Some(0) => None,
        Some(n) => Some(n),
        None => project.profile.max_heap_words(),
    };
    let cfg = session::SessionConfig {
        port: opts.port,
        dashboard_port,
        max_heap_words,
        poison: opts.poison,
        vm: opts.vm,
        push: opts.push,
    };
    let on = match opts.vm {
        crate::vm::VmChoice::Host => String::new(),
        crate::vm::VmChoice::Atomvm => " on the real AtomVM".into(),
    };
    term::info(&format!(
        "avmd dev: {} ({} profile{}){on} — dashboard http://127.0.0.1:{dashboard_port}/",
        project.app,
        project.profile,
        max_heap_words
            .filter(|_| opts.vm == crate::vm::VmChoice::Host)
            .map(|w| format!(", max heap {w} words per process"))
            .unwrap_or_default()
    ));
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let loop_shared = Arc::clone(&shared);
    let session = std::thread::Builder::new()
        .name("avmd-session".into())
        .spawn(move || {
            let r = session::run(project, loop_shared, cfg, rx);
            let _ = done_tx.send(());
            r
        })?;
    rt.block_on(async {
        tokio::select! {
            _ = shutdown_signal() => {}
            _ = done_rx => {}
        }
    });
    let _ = tx.send(WatchEvent::Stop);
    let result = session
        .join()
        .map_err(|_| anyhow::anyhow!("the build loop panicked"))?;
    result.map(|()| 0)
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
