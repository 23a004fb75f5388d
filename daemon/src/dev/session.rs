//! One `avmd dev` session's build loop: owns the engine and the runner (host OTP, or the real AtomVM
//! with `--vm atomvm`), turns every batch of file changes into an incremental build, and (only when
//! the build made a bundle) a dev copy of the bundle made in memory — missing device functions
//! poisoned, and on AtomVM the live-reload middleware added — which the runner boots in place of the
//! old app.
//! A broken build, or a bundle whose app fails to start, never replaces the last good bundle: it keeps
//! serving and the error goes to the terminal, the dashboard and the API. Every build is stored in
//! the history database.

use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use avmd_engine::build::{BuildOutcome, Engine};
use avmd_engine::diagnostic::{Diagnostic, Severity};
use avmd_engine::host::{ConsoleStream, HostConfig};
use avmd_engine::project::Project;
use avmd_engine::runner::Runner;
use avmd_engine::{dev_modules, devpoison};

use super::profile;
use super::state::{now_ms, BuildView, DevEventKind, DiagnosticView, Phase, Shared};
use super::term;
use super::watch::WatchEvent;
use crate::history::BuildResult;
use crate::vm::{start_runner, VmChoice};
use avmd_engine::profile::Profile;

/// How long a build waits for the restarted app to listen before calling it done.
const LISTEN_WAIT: Duration = Duration::from_secs(5);

/// Settings of a session that the command line decides.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub port: u16,
    pub dashboard_port: u16,
    pub max_heap_words: Option<u64>,
    /// Make calls to functions the device lacks fail with `undef` (on by default).
    pub poison: bool,
    /// Where the app runs.
    pub vm: VmChoice,
    /// Devices every good build is pushed to (`--push`).
    pub push: Vec<String>,
}

/// What the loop needs between builds.
struct Session {
    engine: Engine,
    host: Box<dyn Runner + Send>,
    host_cfg: HostConfig,
    shared: Arc<Shared>,
    cfg: SessionConfig,
    /// The dev bundle now serving (its bytes: a failed boot puts it back).
    serving: Option<Arc<[u8]>>,
    /// The engine's SHA-256 of the bundle now serving.
    serving_sha: Option<String>,
    pusher: Option<super::push::DevPusher>,
}

/// Boots the engine and the host runtime, builds once, then rebuilds on every change until `Stop`.
/// Returns `Err` only when the environment is broken (no `erl`, the compile VM cannot start, ...).
pub fn run(
    project: Project,
    shared: Arc<Shared>,
    cfg: SessionConfig,
    rx: Receiver<WatchEvent>,
) -> anyhow::Result<()> {
    let host_cfg = host_config(&project, &cfg);
    // Leftovers of an earlier session (killed before it could clean up) are not needed.
    let _ = std::fs::remove_dir_all(project.build_dir().join("dev"));
    let engine = Engine::open(project)?;
    let host = start_runner(cfg.vm, host_cfg.clone(), atomvm_env(&host_cfg, &cfg))?;
    forward_console(host.as_ref(), Arc::clone(&shared));
    let mut s = Session {
        engine,
        host,
        host_cfg,
        shared,
        cfg,
        serving: None,
        serving_sha: None,
        pusher: None,
    };
    if !s.cfg.push.is_empty() {
        s.pusher = Some(super::push::DevPusher::start(
            s.cfg.push.clone(),
            Arc::clone(&s.shared),
        ));
    }
    s.build_and_load("start");
    while let Ok(event) = rx.recv() {
        match event {
            WatchEvent::Stop => break,
            WatchEvent::Warning(w) => s.warn(&w),
            WatchEvent::Changed(paths) => {
                // Coalesce what piled up while the last build ran: one build covers them all.
                let mut paths = paths;
                let mut stop = false;
                while let Ok(more) = rx.try_recv() {
                    match more {
                        WatchEvent::Changed(p) => paths.extend(p),
                        WatchEvent::Warning(w) => s.warn(&w),
                        WatchEvent::Stop => stop = true,
                    }
                }
                if stop {
                    break;
                }
                let trigger = trigger_text(&s.engine.project().root, &paths);
                if touches_project_file(&s.engine.project().root, &paths) && !s.reopen(&trigger) {
                    continue;
                }
                s.build_and_load(&trigger);
            }
        }
    }
    let _ = s.host.stop_app();
    Ok(())
}

/// What AtomVM gets through its environment, having no application env for `httpd_overrides`: the
/// project's device profile and the live-reload script's address.
fn atomvm_env(host_cfg: &HostConfig, cfg: &SessionConfig) -> Vec<(String, String)> {
    let profile = host_cfg.profile.unwrap_or(Profile::GenericUnix);
    vec![
        ("AVMD_HTTPD_PROFILE".into(), profile.httpd_profile().into()),
        (
            "AVMD_HTTPD_RELOAD_URL".into(),
            format!("http://127.0.0.1:{}/livereload.js", cfg.dashboard_port),
        ),
    ]
}

/// The host runtime's settings for a project: its port, the profile's limits, live reload.
fn host_config(project: &Project, cfg: &SessionConfig) -> HostConfig {
    HostConfig {
        port: cfg.port,
        profile: Some(project.profile),
        max_heap_words: cfg.max_heap_words,
        httpd_overrides: Some(profile::httpd_overrides(
            project.profile,
            cfg.dashboard_port,
        )),
        extra_code_paths: Vec::new(),
        state_dir: Some(project.build_dir().join("dev")),
        env: Vec::new(),
    }
}

/// Whether a batch changes the project file itself (avmd.toml, rebar.config, mix.exs).
pub fn touches_project_file(root: &Path, paths: &[PathBuf]) -> bool {
    paths.iter().any(|p| {
        p.parent() == Some(root)
            && p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| super::watch::PROJECT_FILES.contains(&n))
    })
}

/// The changed paths, relative to the root, for the terminal and the history (bounded).
pub fn trigger_text(root: &Path, paths: &[PathBuf]) -> String {
    let mut names: Vec<String> = paths
        .iter()
        .map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string())
        .collect();
    names.sort();
    names.dedup();
    let n = names.len();
    let mut text = names.into_iter().take(3).collect::<Vec<_>>().join(", ");
    if n > 3 {
        text.push_str(&format!(" (+{} more)", n - 3));
    }
    text
}

fn forward_console(host: &dyn Runner, shared: Arc<Shared>) {
    let rx = host.subscribe();
    let _ = std::thread::Builder::new()
        .name("avmd-console".into())
        .spawn(move || {
            for line in rx.iter() {
                let stream = match line.stream {
                    ConsoleStream::Stdout => "stdout",
                    ConsoleStream::Crash => "crash",
                    ConsoleStream::Harness => "harness",
                };
                term::console(stream, &line.text);
                shared.console(stream, &line.text);
            }
        });
}

fn diagnostic_view(d: &Diagnostic) -> DiagnosticView {
    DiagnosticView {
        file: d.file.as_ref().map(|f| f.display().to_string()),
        line: d.line,
        column: d.column,
        severity: d.severity.as_str().to_string(),
        source: d.source.as_str().to_string(),
        message: d.message.clone(),
        rendered: d.render(),
    }
}

fn count(ds: &[Diagnostic], sev: Severity) -> u32 {
    ds.iter().filter(|d| d.severity == sev).count() as u32
}

impl Session {
    /// The project file changed: read it again and start a fresh engine (and, when the profile's
    /// limits changed, a fresh host runtime). A project file that does not parse is a failed build;
    /// the old engine and the last good bundle stay. Returns whether to go on with the build.
    fn reopen(&mut self, trigger: &str) -> bool {
        let root = self.engine.project().root.clone();
        let project = match Project::discover(&root) {
            Ok(p) => p,
            Err(err) => {
                self.record_failure(trigger, "project", &format!("{err}"));
                return false;
            }
        };
        let new_host_cfg = host_config(&project, &self.cfg);
        {
            let mut st = self.shared.lock();
            st.project = super::state::ProjectView::of(&project);
        }
        match Engine::open(project) {
            Ok(engine) => self.engine = engine,
            Err(err) => {
                self.record_failure(trigger, "engine", &format!("{err:#}"));
                return false;
            }
        }
        if new_host_cfg.profile != self.host_cfg.profile
            || new_host_cfg.max_heap_words != self.host_cfg.max_heap_words
            || !self.host.is_running()
        {
            self.restart_host(new_host_cfg);
        }
        // Same bytes under a new profile still need a restart: forget what is serving.
        self.serving_sha = None;
        true
    }

    /// Replaces the runner (its VM died, or its settings changed).
    fn restart_host(&mut self, cfg: HostConfig) {
        let env = atomvm_env(&cfg, &self.cfg);
        match start_runner(self.cfg.vm, cfg.clone(), env) {
            Ok(host) => {
                forward_console(host.as_ref(), Arc::clone(&self.shared));
                let mut old = std::mem::replace(&mut self.host, host);
                let _ = old.stop_app();
                self.host_cfg = cfg;
                self.serving = None;
                self.serving_sha = None;
            }
            Err(err) => self.warn(&format!("could not start the host runtime: {err}")),
        }
    }

    /// Records a build that could not even start (bad project file, engine down).
    fn record_failure(&mut self, trigger: &str, source: &str, message: &str) {
        let mut view = BuildView::starting(trigger, now_ms());
        view.record.n_errors = 1;
        let diag = DiagnosticView::unplaced_error(source, message);
        self.finish(view, vec![diag]);
    }

    fn warn(&self, message: &str) {
        term::warning(message);
        let mut st = self.shared.lock();
        if !st.warnings.iter().any(|w| w == message) {
            st.warnings.push(message.to_string());
            // Bounded: the oldest warnings go first.
            if st.warnings.len() > 20 {
                st.warnings.remove(0);
            }
        }
        drop(st);
        self.shared.console("avmd", &format!("warning: {message}"));
    }

    fn build_and_load(&mut self, trigger: &str) {
        self.shared.set_phase(Phase::Building);
        let started_at_ms = now_ms();
        let t0 = Instant::now();
        let outcome = self.engine.build();
        let mut view = BuildView::starting(trigger, started_at_ms);
        let mut diagnostics: Vec<DiagnosticView> = Vec::new();
        match outcome {
            Err(err) => {
                view.record.result = BuildResult::Error;
                view.record.n_errors = 1;
                let message = format!("the build could not run: {err:#}");
                diagnostics.push(DiagnosticView::unplaced_error("engine", &message));
            }
            Ok(out) => {
                self.apply(&out, &mut view, &mut diagnostics);
            }
        }
        view.record.duration_ms = t0.elapsed().as_millis() as u64;
        self.finish(view, diagnostics);
    }

    /// Stores a build in the history, prints it, publishes it to the dashboard and, when it is a
    /// new good bundle, tells open tabs to reload.
    fn finish(&mut self, mut view: BuildView, diagnostics: Vec<DiagnosticView>) {
        self.scan_routes();
        let stored = {
            let h = self
                .shared
                .history
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            h.record(&view.record)
        };
        match stored {
            Ok(id) => view.record.id = id,
            Err(err) => term::warning(&format!(
                "could not store the build in the history: {err:#}"
            )),
        }
        let serving = self.serving.is_some();
        term::build(&view, &diagnostics, serving);
        let ok = view.record.result == BuildResult::Ok;
        {
            let mut st = self.shared.lock();
            st.diagnostics = diagnostics;
            st.current = Some(view.clone());
            if ok {
                st.last_good = Some(view.clone());
            }

            st.app_port = Some(self.host.port().unwrap_or(self.host.assigned_port()));
            st.phase = view.record.result.into();
        }
        let phase = self.shared.lock().phase;
        self.shared
            .emit(DevEventKind::Status, serde_json::json!({ "phase": phase }));
        self.shared.emit(
            DevEventKind::Build,
            serde_json::to_value(&view).unwrap_or_default(),
        );
        if ok {
            self.shared.emit(
                DevEventKind::Reload,
                serde_json::json!({ "build_id": view.record.id, "sha256": view.record.bundle_sha256 }),
            );
        }
    }

    /// Fills `view` from a build outcome and, when there is a bundle, boots it.
    fn apply(
        &mut self,
        out: &BuildOutcome,
        view: &mut BuildView,
        diagnostics: &mut Vec<DiagnosticView>,
    ) {
        diagnostics.extend(out.diagnostics.iter().map(diagnostic_view));
        view.record.n_errors = count(&out.diagnostics, Severity::Error);
        view.record.n_warnings = count(&out.diagnostics, Severity::Warning);
        view.record.n_compiled = out.n_compiled as u32;
        view.record.n_modules = out.n_modules as u32;
        let Some(bundle) = &out.bundle else {
            view.record.result = BuildResult::Failed;
            view.record.n_errors = view.record.n_errors.max(1);
            return;
        };
        view.record.bundle_sha256 = Some(bundle.sha256.clone());
        view.record.bundle_size = Some(bundle.size);
        if self.serving_sha.as_deref() == Some(bundle.sha256.as_str()) && self.host.is_running() {
            // Same bytes as the bundle already serving (a save that changed nothing the device
            // sees, e.g. a comment): no restart, no reload.
            view.record.result = BuildResult::Unchanged;
            return;
        }
        // On AtomVM the VM is the app: it has ended when the app did, and every boot starts a new one.
        if !self.host.is_running() && self.cfg.vm == VmChoice::Host {
            self.warn("the host runtime's VM had exited; starting a new one");
            self.restart_host(self.host_cfg.clone());
        }
        let dev = match self.dev_bundle(&bundle.bytes, view) {
            Ok(dev) => dev,
            Err(err) => {
                view.record.result = BuildResult::Error;
                view.load_error = Some(format!("{err:#}"));
                return;
            }
        };
        match self.host.boot(&dev) {
            Ok(()) if self.host.wait_for_port(LISTEN_WAIT).is_none() && !self.host.is_running() => {
                // On AtomVM boot returns at once and a start/0 that crashes ends the VM: the
                // same failure the host harness reports from boot.
                self.boot_failed(
                    "the app did not start from the new bundle: the VM exited before it listened",
                    view,
                    diagnostics,
                );
            }
            Ok(()) => {
                // start/0 has returned and (above) the app listens, or never opened a listener
                // within the wait: "ok" and the reload event mean "serving" (a tab reloaded
                // earlier would get connection refused). An app that never listens just costs it.
                if self.host.port().is_none() {
                    self.shared.console(
                        "avmd",
                        &format!("the app opened no listening socket within {LISTEN_WAIT:?}"),
                    );
                }
                view.record.result = BuildResult::Ok;
                self.serving_sha = Some(bundle.sha256.clone());
                self.serving = Some(dev);
                *self
                    .shared
                    .device_bundle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = Some(bundle.bytes.clone());
                if let Some(p) = &self.pusher {
                    // the device build, not the dev copy
                    p.offer(bundle.bytes.clone());
                }
            }
            Err(err) => {
                let message = format!("the app did not start from the new bundle: {err:#}");
                self.boot_failed(&message, view, diagnostics);
            }
        }
    }

    /// The app did not come up from a new bundle: report it and put the last good one back.
    fn boot_failed(
        &mut self,
        message: &str,
        view: &mut BuildView,
        diagnostics: &mut Vec<DiagnosticView>,
    ) {
        view.record.result = BuildResult::Failed;
        view.record.n_errors += 1;
        let source = match self.cfg.vm {
            VmChoice::Host => "host",
            VmChoice::Atomvm => "atomvm",
        };
        diagnostics.push(DiagnosticView::unplaced_error(source, message));
        view.load_error = Some(message.to_string());
        if let Some(good) = self.serving.clone() {
            if let Err(err) = self.host.boot(&good) {
                term::warning(&format!("could not restart the last good bundle: {err:#}"));
                self.serving = None;
                self.serving_sha = None;
            }
        }
    }

    /// The dev copy of a bundle, in memory: the calls the device lacks poisoned (see `devpoison`),
    /// so they fail with `undef` on host as on the device, and on AtomVM the live-reload middleware
    /// added (see `dev_modules`). The engine's own output stays untouched.
    fn dev_bundle(&self, bundle: &Arc<[u8]>, view: &mut BuildView) -> anyhow::Result<Arc<[u8]>> {
        let poisoned = self.poisoned(bundle, view)?;
        match self.cfg.vm {
            VmChoice::Host => Ok(poisoned),
            VmChoice::Atomvm => Ok(dev_modules::with_dev_modules(&poisoned)
                .map_err(|e| anyhow::anyhow!("preparing the dev bundle: {e}"))?
                .into()),
        }
    }

    fn poisoned(&self, bundle: &Arc<[u8]>, view: &mut BuildView) -> anyhow::Result<Arc<[u8]>> {
        let platform = self.engine.project().profile.platform();
        match self.cfg.poison {
            true => {
                let p = devpoison::poison_bundle(bundle, platform, &[])
                    .map_err(|e| anyhow::anyhow!("preparing the dev bundle: {e}"))?;
                view.poisoned_calls = p
                    .misses
                    .iter()
                    .map(|m| format!("{} (in {})", m.call, m.module))
                    .collect();
                Ok(if p.misses.is_empty() {
                    Arc::clone(bundle)
                } else {
                    p.bundle.into()
                })
            }
            false => Ok(Arc::clone(bundle)),
        }
    }

    /// Rescans the route map from the start module's source (or, when it lists none, the first
    /// source file that does).
    fn scan_routes(&self) {
        let project = self.engine.project();
        let found = avmd_engine::routes::scan_project(&project.root, &project.start_module);
        let mut st = self.shared.lock();
        match found {
            Some((file, found)) => {
                st.routes = found;
                st.routes_file = Some(
                    file.strip_prefix(&project.root)
                        .unwrap_or(&file)
                        .display()
                        .to_string(),
                );
            }
            None => {
                st.routes.clear();
                st.routes_file = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_file_changes_are_told_apart() {
        let root = Path::new("/p");
        assert!(touches_project_file(
            root,
            &[PathBuf::from("/p/src/a.erl"), PathBuf::from("/p/avmd.toml")]
        ));
        assert!(!touches_project_file(
            root,
            &[PathBuf::from("/p/src/avmd.toml")]
        ));
        assert!(!touches_project_file(
            root,
            &[PathBuf::from("/p/src/a.erl")]
        ));
    }

    #[test]
    fn triggers_are_relative_and_bounded() {
        let root = Path::new("/p");
        let paths: Vec<PathBuf> = [
            "/p/src/b.erl",
            "/p/src/a.erl",
            "/p/src/a.erl",
            "/p/src/c.erl",
            "/p/src/d.erl",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(
            trigger_text(root, &paths),
            "src/a.erl, src/b.erl, src/c.erl (+1 more)"
        );
        assert_eq!(trigger_text(root, &paths[..1]), "src/b.erl");
    }
}
