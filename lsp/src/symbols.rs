//! Symbols: a module's routes and functions (callbacks of its declared behaviours marked), and the
//! workspace's routes and handler modules for a symbol search. Pure: texts and routes in, symbols out.

use crate::to_proto;
use avmd_engine::contract;
use avmd_engine::routes::{self, Route};
use avmd_engine::syntax::Facts;
use std::path::Path;
use tower_lsp_server::lsp_types::{
    DocumentSymbol, Location, Range, SymbolInformation, SymbolKind, Uri,
};

/// One line of route detail: `handler → target (GET, PUT)`.
fn route_detail(r: &Route) -> String {
    let handler = match &r.target {
        Some(t) => format!("{} → {t}", r.handler),
        None => r.handler.clone(),
    };
    let methods = if r.methods.is_empty() {
        "any method".to_string()
    } else {
        r.methods.join(", ")
    };
    format!("{handler} ({methods})")
}

#[allow(deprecated)] // `deprecated` is a required field of both symbol structs
fn symbol(name: String, detail: Option<String>, kind: SymbolKind, range: Range) -> DocumentSymbol {
    DocumentSymbol {
        name,
        detail,
        kind,
        tags: None,
        deprecated: None,
        range,
        selection_range: range,
        children: None,
    }
}

/// A document symbol per route tuple in `text` (name: the path; detail: handler and methods).
pub fn routes(path: &Path, text: &str) -> Vec<DocumentSymbol> {
    let lines: Vec<&str> = text.lines().collect();
    routes::scan_file(path, text)
        .into_iter()
        .map(|r| {
            let range =
                to_proto::route_range(&r, lines.get((r.line as usize).wrapping_sub(1)).copied());
            symbol(
                r.path.clone(),
                Some(route_detail(&r)),
                SymbolKind::KEY,
                range,
            )
        })
        .collect()
}

/// The routes of `text`, then its functions, each marked when it is a callback of a declared behaviour
/// or exported.
pub fn document(path: &Path, text: &str, facts: &Facts) -> Vec<DocumentSymbol> {
    let mut out = routes(path, text);
    for f in &facts.functions {
        let callback_of = facts.behaviours.iter().find(|(b, _)| {
            contract::behaviour_callbacks(b)
                .is_some_and(|stubs| stubs.iter().any(|s| s.name == f.name && s.arity == f.arity))
        });
        let exported = facts.export_all
            || facts
                .exports
                .iter()
                .any(|(n, a)| *n == f.name && *a == f.arity);
        let detail = match (callback_of, exported) {
            (Some((b, _)), _) => Some(format!("callback of {b}")),
            (None, true) => Some("exported".to_string()),
            (None, false) => None,
        };
        out.push(symbol(
            format!("{}/{}", f.name, f.arity),
            detail,
            SymbolKind::FUNCTION,
            to_proto::span(text, f.span),
        ));
    }
    out
}

/// Whether `name` matches a workspace-symbol query: every query character in order, ignoring case
/// (what editors' fuzzy pickers expect; an empty query matches all).
pub fn matches(query: &str, name: &str) -> bool {
    let mut chars = name.chars().flat_map(char::to_lowercase);
    query
        .chars()
        .flat_map(char::to_lowercase)
        .all(|q| chars.any(|c| c == q))
}

/// A route as a workspace symbol: `GET /api/hello`, in its route table.
#[allow(deprecated)]
pub fn route_info(r: &Route, uri: &Uri, range: Range) -> SymbolInformation {
    let methods = if r.methods.is_empty() {
        "*".to_string()
    } else {
        r.methods.join("|")
    };
    SymbolInformation {
        name: format!("{methods} {}", r.path),
        kind: SymbolKind::KEY,
        tags: None,
        deprecated: None,
        location: Location::new(uri.clone(), range),
        container_name: Some(route_detail(r)),
    }
}

/// A handler module as a workspace symbol, at its `-module` line.
#[allow(deprecated)]
pub fn module_info(module: &str, uri: &Uri, range: Range, routes: usize) -> SymbolInformation {
    SymbolInformation {
        name: module.to_string(),
        kind: SymbolKind::MODULE,
        tags: None,
        deprecated: None,
        location: Location::new(uri.clone(), range),
        container_name: Some(format!(
            "handler of {routes} route{}",
            if routes == 1 { "" } else { "s" }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use avmd_engine::syntax::{read, Lang};
    use tower_lsp_server::lsp_types::Position;

    #[test]
    fn route_symbols_name_paths_and_describe_handlers() {
        let text = "r() ->\n  [{<<\"/ws\">>, httpd_ws_handler, #{handler => echo_ws}},\n   {<<\"/x\">>, x_h, #{methods => [<<\"GET\">>]}}].\n";
        let s = routes(Path::new("r.erl"), text);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "/ws");
        assert_eq!(
            s[0].detail.as_deref(),
            Some("httpd_ws_handler → echo_ws (any method)")
        );
        assert_eq!(s[0].range.start, Position::new(1, 3));
        assert_eq!(s[1].detail.as_deref(), Some("x_h (GET)"));
    }

    #[test]
    fn functions_are_symbols_with_their_role() {
        let text = "-module(a).\n-behaviour(httpd_api_handler).\n-export([handle_api/4, x/0]).\nhandle_api(_, _, _, _) -> {ok, 1}.\nx() -> y().\ny() -> 1.\n";
        let s = document(Path::new("a.erl"), text, &read(Lang::Erlang, text));
        let got: Vec<(&str, Option<&str>)> = s
            .iter()
            .map(|x| (x.name.as_str(), x.detail.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("handle_api/4", Some("callback of httpd_api_handler")),
                ("x/0", Some("exported")),
                ("y/0", None)
            ]
        );
        assert_eq!(s[0].range.start, Position::new(3, 0));
    }

    #[test]
    fn queries_match_fuzzily_and_ignore_case() {
        assert!(matches("", "GET /api/hello"));
        assert!(matches("apihel", "GET /api/hello"));
        assert!(matches("HELLO", "hello_web_api"));
        assert!(!matches("zz", "hello_web_api"));
    }
}
