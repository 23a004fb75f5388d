//! One diagnostic type for every check the engine runs: compiler errors and warnings, AtomVM
//! compatibility misses, size warnings. Plain data; the CLI, dashboard and LSP convert it to their wire types.

use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// Which check produced a diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiagnosticSource {
    /// `compile:file/2` or `Code.compile_file` in the resident compile VM.
    Compiler,
    /// The AtomVM API check over the compiled beams' imports.
    Compat,
    /// The bundle against the app partition.
    Size,
    /// The project model (avmd.toml, rebar.config, mix.exs).
    Project,
}

impl DiagnosticSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosticSource::Compiler => "compiler",
            DiagnosticSource::Compat => "atomvm-compat",
            DiagnosticSource::Size => "size",
            DiagnosticSource::Project => "project",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file the diagnostic is about, when there is one.
    pub file: Option<PathBuf>,
    /// 1-based line; 0 when unknown.
    pub line: u32,
    /// 1-based column; 0 when unknown.
    pub column: u32,
    pub severity: Severity,
    pub source: DiagnosticSource,
    pub message: String,
}

impl Diagnostic {
    /// `file:line:col: severity: message`, the form editors and terminals link.
    pub fn render(&self) -> String {
        let file = self
            .file
            .as_ref()
            .map(|f| f.display().to_string())
            .unwrap_or_else(|| "<project>".to_string());
        format!(
            "{}:{}:{}: {}: {}",
            file,
            self.line,
            self.column,
            self.severity.as_str(),
            self.message
        )
    }
}
