//! The dashboard API's replies as types: what each endpoint answers (docs/dev.md), so a field cannot
//! change shape by accident. The extension checks the same shapes (`vscode-extension/src/dashboard_types.ts`).

use serde::Serialize;

use crate::dev::state::{BuildView, ConsoleView, DiagnosticView, Phase, ProjectView};
use crate::history::{BuildRecord, BuildResult};
use avmd_engine::routes::Route;

/// `GET /api/status`.
#[derive(Serialize)]
pub struct Status {
    pub project: ProjectView,
    pub phase: Phase,
    pub app_port: Option<u16>,
    pub app_url: Option<String>,
    pub dashboard_port: u16,
    pub current_build: Option<BuildView>,
    pub last_good_build: Option<BuildView>,
    pub serving_sha256: Option<String>,
    pub n_diagnostics: usize,
    pub warnings: Vec<String>,
    pub uptime_ms: i64,
}

/// `GET /api/builds`.
#[derive(Serialize)]
pub struct Builds {
    pub builds: Vec<BuildRecord>,
}

/// `GET /api/diagnostics`.
#[derive(Serialize)]
pub struct Diagnostics {
    pub build_id: Option<i64>,
    pub result: Option<BuildResult>,
    pub diagnostics: Vec<DiagnosticView>,
}

/// `GET /api/routes`.
#[derive(Serialize)]
pub struct Routes {
    pub file: Option<String>,
    pub routes: Vec<Route>,
}

/// `GET /api/console`.
#[derive(Serialize)]
pub struct Console {
    pub lines: Vec<ConsoleView>,
}

/// Every error answer: `{"error": "..."}`.
#[derive(Serialize)]
pub struct Error {
    pub error: String,
}
