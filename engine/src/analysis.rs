//! The checks a build runs over the project beyond compiling it, as diagnostics every client shows
//! (`avmd build`, the dashboard, the language server): route conflicts in every source file that lists
//! routes, and handler contracts of the route map against the compiled modules' exports. They are
//! warnings: such an app builds and boots, then fails or misroutes on a request.

use crate::contract::{self, Module};
use crate::diagnostic::{Diagnostic, DiagnosticSource, Related};
use crate::files;
use crate::project::Project;
use crate::routes::{self, Route};
use std::collections::HashMap;
use std::path::Path;

/// Source files bigger than this are not scanned for routes (a generated file should not stall a build).
const MAX_SOURCE_BYTES: u64 = 4 * 1024 * 1024;

/// What the analyses need to know of the compiled project.
pub struct Compiled<'a> {
    /// Each project module's exported `name/arity` pairs; `None` when some module did not compile
    /// (then no contract is judged).
    pub exports: Option<&'a HashMap<String, Vec<(String, u32)>>>,
    /// The runtime library's module names.
    pub runtime: &'a [&'a str],
}

/// Route conflicts and handler-contract misses for `project`.
pub fn run(project: &Project, compiled: &Compiled) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let sources = files::erl_sources(&project.root)
        .into_iter()
        .chain(files::ex_sources(&project.root));
    for file in sources {
        if let Some(text) = read_bounded(&file) {
            out.extend(route_conflicts(&file, &routes::scan_file(&file, &text)));
        }
    }
    if let (Some(exports), Some((file, found))) = (
        compiled.exports,
        routes::scan_project(&project.root, &project.start_module),
    ) {
        // Modules of extra .avm libraries are not known by name here, so nothing is "missing" then.
        let elsewhere = !project.extra_avms.is_empty();
        out.extend(handler_contracts(&file, &found, |m| {
            if let Some(e) = exports.get(m) {
                Module::Exports(e)
            } else if elsewhere || m.starts_with("Elixir.") || compiled.runtime.contains(&m) {
                // Elixir modules are not looked up by the route scan's names: never called missing.
                Module::Runtime
            } else {
                Module::Missing
            }
        }));
    }
    out
}

fn read_bounded(file: &Path) -> Option<String> {
    let meta = std::fs::metadata(file).ok()?;
    if meta.len() > MAX_SOURCE_BYTES {
        return None;
    }
    std::fs::read_to_string(file).ok()
}

/// One warning per shadowed route in `file`, pointing back at the route that wins. Pure.
pub fn route_conflicts(file: &Path, found: &[Route]) -> Vec<Diagnostic> {
    routes::conflicts(found)
        .into_iter()
        .map(|c| {
            let (r, first) = (&found[c.index], &found[c.first]);
            Diagnostic::warning(DiagnosticSource::RouteConflict, file, c.message(found))
                .at(r.line, r.column)
                .spanning(r.head_span())
                .with_related(Related {
                    file: file.to_path_buf(),
                    line: first.line,
                    column: first.column,
                    span: first.head_span(),
                    message: format!("{} is declared here first", first.path),
                })
        })
        .collect()
}

/// One warning per route of the map in `file` whose module misses a callback. Pure.
pub fn handler_contracts<'a>(
    file: &Path,
    found: &[Route],
    lookup: impl FnMut(&str) -> Module<'a>,
) -> Vec<Diagnostic> {
    contract::check(found, lookup)
        .into_iter()
        .map(|(i, message)| {
            Diagnostic::warning(DiagnosticSource::HandlerContract, file, message)
                .at(found[i].line, found[i].column)
                .spanning(found[i].head_span())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_route_is_flagged_at_the_second_with_the_first_as_related() {
        let text = "routes() ->\n    [{<<\"/a\">>, h, #{methods => [<<\"GET\">>]}},\n     {<<\"/a\">>, g, #{methods => [<<\"HEAD\">>]}}].\n";
        let d = route_conflicts(Path::new("r.erl"), &routes::scan(text));
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].line, d[0].column, d[0].span), (3, 6, 9));
        let rel = d[0].related.as_ref().expect("related");
        assert_eq!((rel.line, rel.column), (2, 6));
        assert!(d[0].message.contains("HEAD"), "{}", d[0].message);
    }

    #[test]
    fn distinct_routes_give_nothing() {
        let text = "[{<<\"/a\">>, h, []}, {<<\"/b\">>, h, []}]";
        assert!(route_conflicts(Path::new("x.erl"), &routes::scan(text)).is_empty());
    }
}
