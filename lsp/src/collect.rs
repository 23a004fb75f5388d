//! One build's findings, grouped per file the way `textDocument/publishDiagnostics` sends them: the
//! engine's diagnostics (compiler, AtomVM compatibility, size, project) plus route conflicts found by
//! scanning each `src/**/*.erl` and handler contract misses on the project's route map. Reads source files (to place columns and find routes); starts nothing.

use crate::contract;
use crate::to_proto;
use avmd_engine::diagnostic::Diagnostic;
use avmd_engine::project::Project;
use avmd_engine::routes;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use tower_lsp_server::lsp_types::{self as lsp, NumberOrString};
use tower_lsp_server::UriExt;

/// Source files bigger than this are not read for column placement or routes (a generated file
/// should not stall the editor).
const MAX_SOURCE_BYTES: u64 = 4 * 1024 * 1024;

/// The file that holds the project's settings; diagnostics about no file in particular go there.
pub fn project_file(project: &Project) -> PathBuf {
    project.project_file()
}

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

/// The `.erl` files under `dir`, recursively, sorted (skips `_build` and hidden directories).
pub fn erl_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name();
            let name = name.to_string_lossy();
            if p.is_dir() {
                if !name.starts_with('.') && name != "_build" {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "erl") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Route-conflict warnings for one source file (LSP positions), each pointing back at the route
/// that wins.
pub fn route_conflicts(path: &Path, text: &str) -> Vec<lsp::Diagnostic> {
    let found = routes::scan_file(path, text);
    let lines: Vec<&str> = text.lines().collect();
    let line_of = |r: &routes::Route| lines.get((r.line as usize).wrapping_sub(1)).copied();
    let uri = lsp::Uri::from_file_path(path);
    routes::conflicts(&found)
        .into_iter()
        .map(|c| {
            let (r, first) = (&found[c.index], &found[c.first]);
            lsp::Diagnostic {
                range: to_proto::route_range(r, line_of(r)),
                severity: Some(lsp::DiagnosticSeverity::WARNING),
                code: Some(NumberOrString::String("route-conflict".into())),
                source: Some("avmd".into()),
                message: c.message(&found),
                related_information: uri.clone().map(|uri| {
                    vec![lsp::DiagnosticRelatedInformation {
                        location: lsp::Location::new(
                            uri,
                            to_proto::route_range(first, line_of(first)),
                        ),
                        message: format!("{} is declared here first", first.path),
                    }]
                }),
                ..Default::default()
            }
        })
        .collect()
}

/// Every file with something to report after a build, with its LSP diagnostics (engine order, then
/// route conflicts). Relative engine paths are taken from the project root.
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
            None => project_file(project),
        };
        let line = sources.line(&file, d.line).map(str::to_string);
        out.entry(file)
            .or_default()
            .push(to_proto::diagnostic(d, line.as_deref()));
    }
    let files = erl_files(&project.root.join("src"));
    for file in files.iter().chain(&routes::elixir_sources(&project.root)) {
        let Some(text) = sources.text(file) else {
            continue;
        };
        let found = route_conflicts(file, text);
        if !found.is_empty() {
            out.entry(file.clone()).or_default().extend(found);
        }
    }
    if let Some((file, found)) = routes::scan_project(&project.root, &project.start_module) {
        let found = handler_contracts(project, &files, &file, &found, &mut sources);
        if !found.is_empty() {
            out.entry(file).or_default().extend(found);
        }
    }
    out
}

/// Handler contract warnings for the route map read from `file` (see `contract`).
fn handler_contracts(
    project: &Project,
    files: &[PathBuf],
    file: &Path,
    found: &[routes::Route],
    sources: &mut Sources,
) -> Vec<lsp::Diagnostic> {
    let runtime = avmd_engine::runtime_lib::device_modules();
    // Modules of extra .avm libraries are not known by name here, so nothing is "missing" then.
    let may_be_elsewhere = !project.extra_avms.is_empty();
    let mut texts: HashMap<String, String> = HashMap::new();
    let mut wanted: Vec<&str> = found
        .iter()
        .filter_map(|r| contract::required(r).map(|(m, _)| m))
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    for m in wanted {
        let path = files.iter().find(|f| f.file_stem().is_some_and(|s| s == m));
        if let Some(text) = path.and_then(|p| sources.text(p)) {
            texts.insert(m.to_string(), text.to_string());
        }
    }
    let findings = contract::check(found, |m| {
        if let Some(t) = texts.get(m) {
            contract::Module::Source(t)
        } else if may_be_elsewhere
            || m.starts_with("Elixir.")
            || runtime.iter().any(|(name, _)| *name == m)
        {
            // Elixir modules are not looked up by file name here: never called missing.
            contract::Module::Runtime
        } else {
            contract::Module::Missing
        }
    });
    findings
        .into_iter()
        .map(|(i, message)| lsp::Diagnostic {
            range: to_proto::route_range(&found[i], sources.line(file, found[i].line)),
            severity: Some(lsp::DiagnosticSeverity::WARNING),
            code: Some(NumberOrString::String("handler-contract".into())),
            source: Some("avmd".into()),
            message,
            ..Default::default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_route_is_flagged_at_the_second_with_the_first_as_related() {
        let dir = std::env::temp_dir().join(format!("avmd-lsp-collect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("r.erl");
        let text = "routes() ->\n    [{<<\"/a\">>, h, #{methods => [<<\"GET\">>]}},\n     {<<\"/a\">>, g, #{methods => [<<\"HEAD\">>]}}].\n";
        std::fs::write(&file, text).unwrap();
        let d = route_conflicts(&file, text);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].range.start, lsp::Position::new(2, 5));
        assert_eq!(d[0].severity, Some(lsp::DiagnosticSeverity::WARNING));
        let rel = d[0].related_information.as_ref().expect("related info");
        assert_eq!(rel[0].location.range.start, lsp::Position::new(1, 5));
        assert!(d[0].message.contains("HEAD"), "{}", d[0].message);
    }

    #[test]
    fn distinct_routes_give_nothing() {
        let text = "[{<<\"/a\">>, h, []}, {<<\"/b\">>, h, []}]";
        assert!(route_conflicts(Path::new("/nonexistent/x.erl"), text).is_empty());
    }
}
