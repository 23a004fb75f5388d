//! What `avmd dev` knows at any moment — the current and last good build, their diagnostics, the
//! route map, recent console lines — shared between the build loop (writer) and the dashboard
//! (reader), plus the broadcast channel of live events (`build`, `console`, `reload`, `status`).
//! Every collection here is bounded.

use crate::history::{BuildRecord, BuildResult};
use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::history::History;
use avmd_engine::routes::Route;

/// Console lines kept for `/api/console` and late dashboard tabs.
pub const CONSOLE_KEEP: usize = 1000;
/// Longest console line kept (longer ones are cut, marked with `…`), so one runaway print cannot
/// hold megabytes.
pub const CONSOLE_LINE_MAX: usize = 4096;
/// Events buffered per subscriber before a slow subscriber starts losing the oldest.
pub const EVENT_BUFFER: usize = 256;

#[derive(Debug, Clone, Default, Serialize)]
pub struct ProjectView {
    pub root: String,
    pub app: String,
    pub start_module: String,
    pub profile: String,
}

impl ProjectView {
    pub fn of(p: &avmd_engine::project::Project) -> ProjectView {
        ProjectView {
            root: p.root.display().to_string(),
            app: p.app.clone(),
            start_module: p.start_module.clone(),
            profile: p.profile.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DiagnosticView {
    pub file: Option<String>,
    pub line: u32,
    pub column: u32,
    pub severity: String,
    pub source: String,
    pub message: String,
    /// `file:line:col: severity: message`.
    pub rendered: String,
}

impl DiagnosticView {
    /// An error that belongs to no file (the project file, the engine, the VM the app runs on).
    pub fn unplaced_error(source: &str, message: &str) -> DiagnosticView {
        DiagnosticView {
            file: None,
            line: 0,
            column: 0,
            severity: "error".into(),
            source: source.into(),
            rendered: format!("<{source}>:0:0: error: {message}"),
            message: message.to_string(),
        }
    }
}

/// A build as the dashboard shows it: the stored record plus what only the live session knows.
#[derive(Debug, Clone, Serialize)]
pub struct BuildView {
    #[serde(flatten)]
    pub record: BuildRecord,
    /// Calls to functions the device lacks that were made to fail with `undef` in the dev bundle.
    pub poisoned_calls: Vec<String>,
    /// Why the app could not be (re)started from the bundle, when it could not.
    pub load_error: Option<String>,
}

impl BuildView {
    /// A build that starts now, `failed` until it proves otherwise.
    pub fn starting(trigger: &str, started_at_ms: i64) -> BuildView {
        BuildView {
            record: BuildRecord {
                id: 0,
                started_at_ms,
                duration_ms: 0,
                result: BuildResult::Failed,
                bundle_sha256: None,
                bundle_size: None,
                n_errors: 0,
                n_warnings: 0,
                n_compiled: 0,
                n_modules: 0,
                trigger: trigger.to_string(),
            },
            poisoned_calls: Vec::new(),
            load_error: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsoleView {
    pub seq: u64,
    pub at_ms: i64,
    /// `stdout` or `crash` (and `avmd` for the daemon's own notes).
    pub stream: String,
    pub text: String,
}

/// What a live event is about: its `event:` name on `/api/events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevEventKind {
    /// A build finished (its `BuildView`).
    Build,
    /// A device console line.
    Console,
    /// A good build is serving: open pages reload.
    Reload,
    /// The loop's phase changed.
    Status,
    /// A push to a device ended (its outcome).
    Push,
}

impl DevEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DevEventKind::Build => "build",
            DevEventKind::Console => "console",
            DevEventKind::Reload => "reload",
            DevEventKind::Status => "status",
            DevEventKind::Push => "push",
        }
    }
}

/// One live event, sent on `/api/events` as `event: <kind>` with `data: <json>`.
#[derive(Debug, Clone)]
pub struct DevEvent {
    pub kind: DevEventKind,
    pub data: serde_json::Value,
}

/// Where the dev loop is (served as a lowercase JSON string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    #[default]
    Starting,
    Building,
    /// The last build serves (or did not change).
    Ok,
    /// The last build is broken; the last good one still serves.
    Failed,
    /// The environment failed.
    Error,
}

impl From<BuildResult> for Phase {
    fn from(r: BuildResult) -> Phase {
        match r {
            BuildResult::Ok | BuildResult::Unchanged => Phase::Ok,
            BuildResult::Failed => Phase::Failed,
            BuildResult::Error => Phase::Error,
        }
    }
}

#[derive(Debug, Default)]
pub struct DevState {
    /// The project as last read (the project file can change while `avmd dev` runs).
    pub project: ProjectView,
    pub phase: Phase,
    pub current: Option<BuildView>,
    pub last_good: Option<BuildView>,
    pub diagnostics: Vec<DiagnosticView>,
    pub routes: Vec<Route>,
    pub routes_file: Option<String>,
    pub console: VecDeque<ConsoleView>,
    pub console_seq: u64,
    pub app_port: Option<u16>,
    pub warnings: Vec<String>,
}

/// Everything the dashboard handlers need.
pub struct Shared {
    pub dashboard_port: u16,
    pub started_at_ms: i64,
    pub state: Mutex<DevState>,
    pub events: broadcast::Sender<DevEvent>,
    pub history: Mutex<History>,
    /// The last good build's device bundle (not the dev copy): what the Devices panel pushes.
    pub device_bundle: Mutex<Option<std::sync::Arc<[u8]>>>,
}

pub use crate::clock::now_ms;

/// Cuts `text` to at most `max` bytes on a char boundary, marking the cut.
pub fn bounded_line(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

impl Shared {
    pub fn new(project: ProjectView, dashboard_port: u16, history: History) -> Shared {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        Shared {
            dashboard_port,
            started_at_ms: now_ms(),
            state: Mutex::new(DevState {
                project,
                phase: Phase::Starting,
                ..DevState::default()
            }),
            events,
            history: Mutex::new(history),
            device_bundle: Mutex::new(None),
        }
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, DevState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends a live event; having no subscriber is fine.
    pub fn emit(&self, kind: DevEventKind, data: serde_json::Value) {
        let _ = self.events.send(DevEvent { kind, data });
    }

    /// Appends a console line (bounded), and streams it.
    pub fn console(&self, stream: &str, text: &str) {
        let line = {
            let mut st = self.lock();
            st.console_seq += 1;
            let line = ConsoleView {
                seq: st.console_seq,
                at_ms: now_ms(),
                stream: stream.to_string(),
                text: bounded_line(text, CONSOLE_LINE_MAX),
            };
            if st.console.len() >= CONSOLE_KEEP {
                st.console.pop_front();
            }
            st.console.push_back(line.clone());
            line
        };
        self.emit(
            DevEventKind::Console,
            serde_json::to_value(&line).unwrap_or_default(),
        );
    }

    /// Sets the phase and streams a `status` event.
    pub fn set_phase(&self, phase: Phase) {
        self.lock().phase = phase;
        self.emit(DevEventKind::Status, serde_json::json!({ "phase": phase }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_on_a_char_boundary() {
        assert_eq!(bounded_line("abc", 10), "abc");
        assert_eq!(bounded_line("abcdef", 3), "abc…");
        // 'é' is two bytes: cutting at 2 would split it.
        assert_eq!(bounded_line("aéb", 2), "a…");
    }
}
