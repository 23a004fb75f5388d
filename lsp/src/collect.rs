//! One build's findings, grouped per file the way `textDocument/publishDiagnostics` sends them. Every
//! finding is the engine's (compiler, AtomVM compatibility, size, project, route conflicts, handler
//! contracts); this only places them. Reads source files (to convert columns); starts nothing.

use crate::to_proto;
use avmd_engine::diagnostic::Diagnostic;
use avmd_engine::project::Project;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use tower_lsp_server::lsp_types as lsp;

/// Source files bigger than this are not read for column placement or routes (a generated file
/// should not stall the editor).
const MAX_SOURCE_BYTES: u64 = 4 * 1024 * 1024;

/// Reads source text once per file, bounded by `MAX_SOURCE_BYTES`.
#[derive(Default)]
pub struct Sources(HashMap<PathBuf, Option<String>>);

impl Sources {
    pub fn text(&mut self, path: &Path) -> Option<&str> {
        self.0
            .entry(path.to_path_buf())
            .or_insert_with(|| {
                let meta = std::fs::metadata(path).ok()?;
                if meta.len() > MAX_SOURCE_BYTES {
                    return None;
                }
                std::fs::read_to_string(path).ok()
            })
            .as_deref()
    }

    /// The text of 1-based `line` of `path`.
    pub fn line(&mut self, path: &Path, line: u32) -> Option<&str> {
        let n = (line as usize).checked_sub(1)?;
        self.text(path)?.lines().nth(n)
    }
}

/// Every file with something to report after a build, with its LSP diagnostics (engine order).
/// Relative engine paths are taken from the project root.
pub fn by_file(
    project: &Project,
    diagnostics: &[Diagnostic],
) -> BTreeMap<PathBuf, Vec<lsp::Diagnostic>> {
    let mut sources = Sources::default();
    let mut out: BTreeMap<PathBuf, Vec<lsp::Diagnostic>> = BTreeMap::new();
    for d in diagnostics {
        let file = match &d.file {
            Some(f) if f.is_absolute() => f.clone(),
            Some(f) => project.root.join(f),
            None => project.project_file(),
        };
        let line = sources.line(&file, d.line).map(str::to_string);
        let mut lsp_d = to_proto::diagnostic(d, line.as_deref());
        if let Some(r) = &d.related {
            let text = sources.line(&r.file, r.line).map(str::to_string);
            lsp_d.related_information = to_proto::related(r, text.as_deref()).map(|x| vec![x]);
        }
        out.entry(file).or_default().push(lsp_d);
    }
    out
}
