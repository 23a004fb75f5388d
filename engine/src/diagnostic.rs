//! One diagnostic type for every check the engine runs: compiler errors and warnings, AtomVM
//! compatibility misses, size warnings. Plain data; the CLI, dashboard and LSP convert it to their wire types.

use std::path::{Path, PathBuf};

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
    /// The tree-sitter parse of unsaved text (`syntax`, `live`): shown while typing.
    Syntax,
    /// The AtomVM API check over the compiled beams' imports.
    Compat,
    /// The bundle against the app partition.
    Size,
    /// The project model (avmd.toml, rebar.config, mix.exs).
    Project,
    /// Two routes with the same pattern and overlapping methods (`analysis`).
    RouteConflict,
    /// A route whose module lacks a callback the runtime calls (`analysis`).
    HandlerContract,
}

impl DiagnosticSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosticSource::Compiler => "compiler",
            DiagnosticSource::Syntax => "syntax",
            DiagnosticSource::Compat => "atomvm-compat",
            DiagnosticSource::Size => "size",
            DiagnosticSource::Project => "project",
            DiagnosticSource::RouteConflict => "route-conflict",
            DiagnosticSource::HandlerContract => "handler-contract",
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
    /// How many characters from `column` to underline; 0 = the token there.
    pub span: u32,
    /// Another place the diagnostic points at (the route that wins a conflict).
    pub related: Option<Box<Related>>,
}

/// A second location of a diagnostic, with what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    pub file: PathBuf,
    pub line: u32,
    pub column: u32,
    pub span: u32,
    pub message: String,
}

impl Diagnostic {
    fn new(
        severity: Severity,
        source: DiagnosticSource,
        file: Option<PathBuf>,
        message: String,
    ) -> Self {
        Diagnostic {
            file,
            line: 0,
            column: 0,
            severity,
            source,
            message,
            span: 0,
            related: None,
        }
    }

    /// An error about `file` (no position yet: see [`Diagnostic::at`]).
    pub fn error(source: DiagnosticSource, file: &Path, message: impl Into<String>) -> Self {
        Self::new(
            Severity::Error,
            source,
            Some(file.to_path_buf()),
            message.into(),
        )
    }

    /// A warning about `file`.
    pub fn warning(source: DiagnosticSource, file: &Path, message: impl Into<String>) -> Self {
        Self::new(
            Severity::Warning,
            source,
            Some(file.to_path_buf()),
            message.into(),
        )
    }

    /// A warning about no file in particular.
    pub fn warning_nowhere(source: DiagnosticSource, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, source, None, message.into())
    }

    /// The same diagnostic underlining `span` characters from its column.
    pub fn spanning(self, span: u32) -> Self {
        Diagnostic { span, ..self }
    }

    /// The same diagnostic pointing also at `related`.
    pub fn with_related(self, related: Related) -> Self {
        Diagnostic {
            related: Some(Box::new(related)),
            ..self
        }
    }

    /// The same diagnostic at 1-based `line` and `column` (0 = unknown).
    pub fn at(self, line: u32, column: u32) -> Self {
        Diagnostic {
            line,
            column,
            ..self
        }
    }

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
