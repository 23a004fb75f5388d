//! The route map, read from source without running it: a plain scan of Erlang source for route tuples
//! `{<<"/path">>, handler_module, Opts}` (the form `httpd_server` takes) and atomvm_lib's handler entries
//! `{[<<"api">>], #{handler => Mod, handler_config => Config}}` (the form `httpd:start/2` takes, listed
//! as the pattern `/api/*` it becomes), and the conflicts among them
//! (the same pattern twice with overlapping methods: `httpd_router` takes the first match, so the second
//! is never reached for those methods). Shared by the dev dashboard and the language server. It is not
//! an Erlang parser: routes built at run time (computed paths, lists from other modules) are not seen,
//! and `docs/dev.md` says so. Pure: text in, routes out (`scan_project` only reads files).

use serde::Serialize;
use std::path::{Path, PathBuf};

/// One route tuple found in source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// The path pattern as written, e.g. `/api/items/:id`.
    pub path: String,
    /// The handler module of the tuple.
    pub handler: String,
    /// For the generic handlers (`httpd_api_handler`, `httpd_ws_handler`): the `handler => Mod` of Opts.
    pub target: Option<String>,
    /// The `methods => [...]` of Opts, empty when any method is allowed.
    pub methods: Vec<String>,
    /// 1-based line of the tuple.
    pub line: u32,
    /// 1-based column (in characters) of the tuple's `{`.
    pub column: u32,
    /// Characters of the tuple's head as written (`{<<"/path">>`, `{[<<"api">>]`).
    #[serde(skip)]
    pub head: u32,
}

impl Route {
    /// The characters of the tuple's head, which is what an editor underlines.
    pub fn head_span(&self) -> u32 {
        self.head
    }
}

/// Removes line comments starting at `marker` outside string literals, so commented-out routes are
/// not listed: `%` in Erlang (`$%` is a character literal), `#` in Elixir (`?#` is one).
fn strip_comments(src: &str, marker: char, char_prefix: char) -> String {
    let mut out = String::with_capacity(src.len());
    for line in src.lines() {
        let mut in_str = false;
        let mut prev = '\0';
        let mut cut = line.len();
        for (i, c) in line.char_indices() {
            if c == '"' && prev != '\\' && prev != char_prefix {
                in_str = !in_str;
            } else if c == marker && !in_str && prev != char_prefix {
                cut = i;
                break;
            }
            prev = c;
        }
        out.push_str(&line[..cut]);
        out.push('\n');
    }
    out
}

/// 1-based line and column (in characters) of byte offset `at` in `text`.
fn position(text: &str, at: usize) -> (u32, u32) {
    let line = text[..at].matches('\n').count() as u32 + 1;
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    (line, text[line_start..at].chars().count() as u32 + 1)
}

fn is_atom_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '@'
}

/// Reads an unquoted atom at the start of `s` (after whitespace); returns it and the rest.
fn take_atom(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    let first = s.chars().next()?;
    if !first.is_ascii_lowercase() {
        return None;
    }
    let end = s.find(|c: char| !is_atom_char(c)).unwrap_or(s.len());
    Some((&s[..end], &s[end..]))
}

/// The text of the balanced `{...}` or `#{...}` starting at the first byte of `s`, bounded so a
/// malformed file cannot make the scan quadratic.
fn balanced(s: &str) -> &str {
    let mut depth = 0i32;
    for (i, c) in s.char_indices().take(4096) {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth -= 1;
                if depth <= 0 {
                    return &s[..=i];
                }
            }
            _ => {}
        }
    }
    &s[..s.len().min(4096)]
}

fn binaries_in(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("<<\"") {
        let after = &rest[i + 3..];
        match after.find("\">>") {
            Some(j) => {
                out.push(after[..j].to_string());
                rest = &after[j + 3..];
            }
            None => break,
        }
    }
    out
}

/// Scans Erlang source for route tuples. Paths must start with `/`; the handler must be an atom.
pub fn scan(source: &str) -> Vec<Route> {
    let text = strip_comments(source, '%', '$');
    let mut routes = Vec::new();
    let mut from = 0;
    while let Some(rel) = text[from..].find("{<<\"/") {
        let start = from + rel;
        from = start + 1;
        let after = &text[start + 4..];
        let Some(end) = after.find("\">>") else { break };
        let path = &after[..end];
        if path.contains(['\n', '"']) {
            continue;
        }
        let rest = after[end + 3..].trim_start();
        let Some(rest) = rest.strip_prefix(',') else {
            continue;
        };
        let Some((handler, rest)) = take_atom(rest) else {
            continue;
        };
        let rest = rest.trim_start();
        let (mut target, mut methods) = (None, Vec::new());
        if let Some(opts) = rest.strip_prefix(',') {
            // `Opts` may update a map held in a variable: `Static#{methods => [...]}`.
            let opts = opts.trim_start();
            let opts = match opts.chars().next() {
                Some(c) if c.is_ascii_uppercase() || c == '_' => {
                    opts.trim_start_matches(is_atom_char).trim_start()
                }
                _ => opts,
            };
            if opts.starts_with("#{") {
                let body = balanced(&opts[1..]);
                if let Some(i) = body.find("handler") {
                    if let Some(arrow) = body[i + 7..].trim_start().strip_prefix("=>") {
                        target = take_atom(arrow).map(|(a, _)| a.to_string());
                    }
                }
                if let Some(i) = body.find("methods") {
                    if let Some(arrow) = body[i + 7..].trim_start().strip_prefix("=>") {
                        let arrow = arrow.trim_start();
                        if arrow.starts_with('[') {
                            methods = binaries_in(balanced(arrow));
                        }
                    }
                }
            }
        } else if !rest.starts_with('}') {
            continue;
        }
        let (line, column) = position(&text, start);
        routes.push(Route {
            path: path.to_string(),
            handler: handler.to_string(),
            target,
            methods,
            line,
            column,
            head: (path.chars().count() + "{<<\"\">>".len()) as u32,
        });
    }
    routes.extend(scan_atomvm_lib(&text));
    routes.sort_by_key(|r| (r.line, r.column));
    routes
}

/// The value atom of the first `key => atom` in `body` (a key that only starts with `key`, such as
/// `handler_config` for `handler`, is skipped).
fn map_atom<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    let mut rest = body;
    while let Some(i) = rest.find(key) {
        let before = rest[..i].chars().next_back();
        let after = &rest[i + key.len()..];
        if !before.is_some_and(is_atom_char) {
            if let Some(arrow) = after.trim_start().strip_prefix("=>") {
                return take_atom(arrow).map(|(a, _)| a);
            }
        }
        rest = after;
    }
    None
}

/// Whether `body` holds `handler => ?MODULE`.
fn map_macro_module(body: &str) -> Option<()> {
    let i = body.find("handler")?;
    let arrow = body[i + 7..].trim_start().strip_prefix("=>")?;
    arrow.trim_start().starts_with("?MODULE").then_some(())
}

/// The segments of a prefix list `[<<"api">>, "v1"]` at the start of `s` and the characters it takes,
/// or `None` when it is anything else.
fn prefix_list(s: &str) -> Option<(Vec<String>, usize)> {
    let mut rest = s.strip_prefix('[')?;
    let mut segs = Vec::new();
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix(']') {
            return Some((segs, s.len() - r.len()));
        }
        if !segs.is_empty() {
            rest = rest.strip_prefix(',')?.trim_start();
        }
        let (open, close) = if rest.starts_with("<<\"") {
            ("<<\"", "\">>")
        } else {
            ("\"", "\"")
        };
        let after = rest.strip_prefix(open)?;
        let end = after.find(close)?;
        let seg = &after[..end];
        if seg.is_empty() || seg.contains(['\n', '"', '/']) {
            return None;
        }
        segs.push(seg.to_string());
        rest = &after[end + close.len()..];
    }
}

/// atomvm_lib's handler entries `{[<<"api">>], #{handler => Mod, handler_config => #{module => M}}}`:
/// each becomes the route `/api/*` (`/*` for `[]`) on `Mod`; for the generic handlers the target is
/// the `module => M` of the handler config.
fn scan_atomvm_lib(text: &str) -> Vec<Route> {
    let module = text
        .find("-module(")
        .and_then(|i| take_atom(&text[i + 8..]).map(|(m, _)| m.to_string()));
    let mut routes = Vec::new();
    let mut from = 0;
    while let Some(rel) = text[from..].find("{[") {
        let start = from + rel;
        from = start + 1;
        let Some((segs, len)) = prefix_list(&text[start + 1..]) else {
            continue;
        };
        let Some(rest) = text[start + 1 + len..].trim_start().strip_prefix(',') else {
            continue;
        };
        let rest = rest.trim_start();
        if !rest.starts_with("#{") {
            continue;
        }
        let body = balanced(&rest[1..]);
        let Some(handler) = map_atom(body, "handler").or_else(|| {
            // `handler => ?MODULE`, as atomvm_lib's own example writes it
            map_macro_module(body).and(module.as_deref())
        }) else {
            continue;
        };
        let target = match body.find("handler_config") {
            Some(i) if matches!(handler, "httpd_api_handler" | "httpd_ws_handler") => {
                map_atom(&body[i..], "module").map(str::to_string)
            }
            _ => None,
        };
        let path = segs.iter().fold(String::new(), |p, s| p + "/" + s) + "/*";
        let (line, column) = position(text, start);
        routes.push(Route {
            path,
            handler: handler.to_string(),
            target,
            methods: Vec::new(),
            line,
            column,
            head: text[start..start + 1 + len].chars().count() as u32,
        });
    }
    routes
}

/// Reads an Elixir module name at the start of `s` (after whitespace): `:atom` (an Erlang module)
/// or an alias `Foo.Bar` (the module `Elixir.Foo.Bar`); returns it and the rest.
fn take_elixir_module(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    if let Some(atom) = s.strip_prefix(':') {
        return take_atom(atom).map(|(a, rest)| (a.to_string(), rest));
    }
    if !s.starts_with(|c: char| c.is_ascii_uppercase()) {
        return None;
    }
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(s.len());
    let alias = s[..end].trim_end_matches('.');
    Some((format!("Elixir.{alias}"), &s[alias.len()..]))
}

/// The strings of an Elixir list literal `["GET", "POST"]`.
fn strings_in(s: &str) -> Vec<String> {
    s.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// Scans Elixir source for route tuples `{"/path", :handler_or_Alias, opts}`, the form
/// `:httpd_server.start/1` takes from Elixir; `opts` may be a map literal `%{handler: Mod, methods:
/// [...]}` or an update of a map held in a variable (`%{static | methods: [...]}`).
pub fn scan_elixir(source: &str) -> Vec<Route> {
    let text = strip_comments(source, '#', '?');
    let mut routes = Vec::new();
    let mut from = 0;
    while let Some(rel) = text[from..].find("{\"/") {
        let start = from + rel;
        from = start + 1;
        let after = &text[start + 2..];
        let Some(end) = after.find('"') else { break };
        let path = &after[..end];
        if path.contains(['\n', '#']) {
            continue;
        }
        let Some(rest) = after[end + 1..].trim_start().strip_prefix(',') else {
            continue;
        };
        let Some((handler, rest)) = take_elixir_module(rest) else {
            continue;
        };
        let rest = rest.trim_start();
        let (mut target, mut methods) = (None, Vec::new());
        if let Some(opts) = rest.strip_prefix(',') {
            let opts = opts.trim_start();
            if opts.starts_with("%{") {
                let body = balanced(&opts[1..]);
                if let Some(i) = body.find("handler:") {
                    target = take_elixir_module(&body[i + 8..]).map(|(m, _)| m);
                }
                if let Some(i) = body.find("methods:") {
                    let list = body[i + 8..].trim_start();
                    if list.starts_with('[') {
                        methods = strings_in(balanced(list));
                    }
                }
            }
        } else if !rest.starts_with('}') {
            continue;
        }
        let (line, column) = position(&text, start);
        routes.push(Route {
            path: path.to_string(),
            handler,
            target,
            methods,
            line,
            column,
            head: (path.chars().count() + "{\"\"".len()) as u32,
        });
    }
    routes
}

/// Scans a source file by its kind: Elixir for `.ex`/`.exs`, Erlang otherwise.
pub fn scan_file(path: &Path, source: &str) -> Vec<Route> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("ex" | "exs") => scan_elixir(source),
        _ => scan(source),
    }
}

/// A route that repeats the pattern of an earlier one with overlapping methods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Index (into the scanned routes) of the later, shadowed route.
    pub index: usize,
    /// Index of the earlier route that wins.
    pub first: usize,
    /// The methods both routes accept; empty when both accept any method.
    pub methods: Vec<String>,
}

impl Conflict {
    /// The one-line explanation an editor shows at the shadowed route.
    pub fn message(&self, routes: &[Route]) -> String {
        let (r, f) = (&routes[self.index], &routes[self.first]);
        let which = if self.methods.is_empty() {
            "any method".to_string()
        } else {
            self.methods.join(", ")
        };
        let same = if r.path == f.path {
            "the same route".to_string()
        } else {
            format!("{}, the same pattern,", f.path)
        };
        format!(
            "route {} is never reached for {which}: {same} on line {} comes first and the router takes the first match",
            r.path, f.line
        )
    }
}

/// The pattern as `httpd_router` compiles it: empty segments dropped, binding names erased
/// (`/a/:id` and `/a//:x/` match the same paths).
fn pattern_key(path: &str) -> Vec<&str> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| if s.starts_with(':') { ":" } else { s })
        .collect()
}

/// The methods a route accepts, `None` for any. Like `httpd_router`, GET brings HEAD along
/// (RFC 9110 section 9.3.2). Methods are case-sensitive (RFC 9110 section 9.1).
fn accepted(route: &Route) -> Option<Vec<&str>> {
    if route.methods.is_empty() {
        return None;
    }
    let mut ms: Vec<&str> = route.methods.iter().map(String::as_str).collect();
    if ms.contains(&"GET") && !ms.contains(&"HEAD") {
        ms.push("HEAD");
    }
    Some(ms)
}

/// Every route whose pattern equals an earlier route's and whose methods overlap with it; reported
/// once per shadowed route, against the first earlier route it overlaps.
pub fn conflicts(routes: &[Route]) -> Vec<Conflict> {
    let keys: Vec<Vec<&str>> = routes.iter().map(|r| pattern_key(&r.path)).collect();
    let methods: Vec<Option<Vec<&str>>> = routes.iter().map(accepted).collect();
    let mut out = Vec::new();
    for i in 0..routes.len() {
        for j in 0..i {
            if keys[i] != keys[j] {
                continue;
            }
            let both = match (&methods[j], &methods[i]) {
                (None, None) => Some(Vec::new()),
                (None, Some(m)) | (Some(m), None) => Some(m.clone()),
                (Some(a), Some(b)) => {
                    let common: Vec<&str> = b.iter().copied().filter(|m| a.contains(m)).collect();
                    (!common.is_empty()).then_some(common)
                }
            };
            if let Some(both) = both {
                out.push(Conflict {
                    index: i,
                    first: j,
                    methods: both.into_iter().map(str::to_string).collect(),
                });
                break;
            }
        }
    }
    out
}

/// The project's route map: the start module's routes or, when it lists none, those of the first
/// `src/*.erl` (by name) that has any, then of the first `lib/**/*.ex` (by path). `None` when no
/// source file lists a route.
pub fn scan_project(root: &Path, start_module: &str) -> Option<(PathBuf, Vec<Route>)> {
    let src = root.join("src");
    let start = src.join(format!("{start_module}.erl"));
    let mut candidates = vec![start.clone()];
    let mut others = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&src) {
        others.extend(
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "erl") && *p != start),
        );
    }
    others.sort();
    candidates.extend(others);
    candidates.extend(elixir_sources(root));
    candidates.into_iter().find_map(|file| {
        let text = std::fs::read_to_string(&file).ok()?;
        let found = scan_file(&file, &text);
        (!found.is_empty()).then_some((file, found))
    })
}

/// The project's `lib/**/*.ex` files, sorted by path.
pub fn elixir_sources(root: &Path) -> Vec<PathBuf> {
    crate::files::ex_sources(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elixir_route_tuples_are_scanned_with_handlers_targets_and_methods() {
        let src = r#"defmodule Web do
  # {"/commented", :httpd_static, %{}} is not a route
  def routes do
    static = %{app: :web, dir: "www", methods: ["GET"]}
    [
      {"/", :httpd_static, static},
      {"/api/hello", :httpd_api_handler, %{handler: Web.Api, methods: ["GET", "POST"]}},
      {"/ws", :httpd_ws_handler, %{handler: :echo_ws}},
      {"/raw", Web.Raw},
      {"/s/*", :httpd_static, %{static | methods: ["GET"]}}
    ]
  end
end
"#;
        let r = scan_elixir(src);
        let paths: Vec<&str> = r.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["/", "/api/hello", "/ws", "/raw", "/s/*"]);
        assert_eq!(
            (r[0].handler.as_str(), r[0].line, r[0].column),
            ("httpd_static", 6, 7)
        );
        assert_eq!(r[1].target.as_deref(), Some("Elixir.Web.Api"));
        assert_eq!(r[1].methods, ["GET", "POST"]);
        assert_eq!(r[2].target.as_deref(), Some("echo_ws"));
        assert_eq!(r[3].handler, "Elixir.Web.Raw");
        assert_eq!(r[4].methods, ["GET"]);
        assert_eq!(
            scan_file(Path::new("lib/web.ex"), src).len(),
            5,
            "scan_file picks the Elixir scanner by extension"
        );
        assert!(scan_file(Path::new("src/web.erl"), src).is_empty());
    }

    fn route(path: &str, methods: &[&str], line: u32) -> Route {
        Route {
            path: path.into(),
            handler: "h".into(),
            target: None,
            methods: methods.iter().map(|m| m.to_string()).collect(),
            line,
            column: 1,
            head: 0,
        }
    }

    #[test]
    fn columns_count_characters_from_the_line_start() {
        let r = scan("x() ->\n  [{<<\"/a\">>, h, #{}},\n   {<<\"/é\">>, h}, {<<\"/b\">>, h}].\n");
        let at: Vec<(u32, u32)> = r.iter().map(|r| (r.line, r.column)).collect();
        assert_eq!(at, [(2, 4), (3, 4), (3, 19)]);
    }

    #[test]
    fn same_pattern_with_overlapping_methods_conflicts_at_the_second() {
        let rs = [
            route("/api/items/:id", &["GET"], 1),
            route("/api/items/:key/", &["HEAD", "PUT"], 2),
            route("/api/items/:id", &["POST"], 3),
            route("/other", &[], 4),
            route("/other", &["DELETE"], 5),
        ];
        let c = conflicts(&rs);
        assert_eq!(
            c,
            [
                Conflict {
                    index: 1,
                    first: 0,
                    methods: vec!["HEAD".into()]
                },
                Conflict {
                    index: 4,
                    first: 3,
                    methods: vec!["DELETE".into()]
                },
            ]
        );
        assert!(c[0].message(&rs).contains("line 1"));
    }

    #[test]
    fn different_patterns_or_disjoint_methods_do_not_conflict() {
        let rs = [
            route("/a", &["GET"], 1),
            route("/a", &["POST"], 2),
            route("/a/*", &[], 3),
            route("/a/:id", &[], 4),
            route("/a/b", &[], 5),
            route("/a", &["get"], 6),
        ];
        assert_eq!(conflicts(&rs), []);
    }

    #[test]
    fn two_catch_alls_conflict_for_any_method() {
        let rs = [route("/*", &[], 1), route("/*", &[], 9)];
        let c = conflicts(&rs);
        assert_eq!(c.len(), 1);
        assert!(c[0].methods.is_empty());
        assert!(c[0].message(&rs).contains("any method"));
    }

    const SRC: &str = r#"-module(hello_web).
-export([start/0, routes/0]).

routes() ->
    [{<<"/">>, httpd_static, #{app => hello_web, dir => <<"www">>}},
     {<<"/api/hello">>, hello_handler, #{methods => [<<"GET">>, <<"HEAD">>]}},
     %% {<<"/old">>, old_handler, []},
     {<<"/api/items/:id">>, httpd_api_handler, #{handler => items_api}},
     {<<"/ws">>,
        httpd_ws_handler,
        #{handler => echo_ws}},
     {<<"/static/*">>, httpd_static, Static#{methods => [<<"GET">>]}},
     {<<"/bare">>, bare_handler}].
"#;

    #[test]
    fn finds_every_route_tuple_with_its_line() {
        let r = scan(SRC);
        let paths: Vec<&str> = r.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/",
                "/api/hello",
                "/api/items/:id",
                "/ws",
                "/static/*",
                "/bare"
            ]
        );
        assert_eq!(r[0].line, 5);
        assert_eq!(r[1].handler, "hello_handler");
        assert_eq!(r[1].methods, ["GET", "HEAD"]);
        assert_eq!(r[2].target.as_deref(), Some("items_api"));
        assert_eq!(r[3].target.as_deref(), Some("echo_ws"));
        assert_eq!(r[3].line, 9);
        assert_eq!(r[4].methods, ["GET"]);
        assert_eq!(r[5].handler, "bare_handler");
    }

    #[test]
    fn atomvm_lib_handler_entries_are_routes_on_their_prefix() {
        let src = r#"-module(web).
start() ->
    Config = [
        {[<<"api">>, "v1"], #{
            handler => httpd_api_handler,
            handler_config => #{module => my_api}
        }},
        {[<<"ws">>], #{handler_config => #{module => my_ws}, handler => httpd_ws_handler}},
        {[<<"ota">>], #{handler => ?MODULE}},
        {[<<"up">>], #{handler => uploader}},
        % {[<<"old">>], #{handler => gone}},
        {[], #{handler => httpd_file_handler, handler_config => #{app => my_app}}}
    ],
    httpd:start(8080, Config),
    X = {[1, 2], #{handler => not_a_route}}.
"#;
        let r = scan(src);
        let got: Vec<(&str, &str, Option<&str>, u32, u32)> = r
            .iter()
            .map(|r| {
                (
                    r.path.as_str(),
                    r.handler.as_str(),
                    r.target.as_deref(),
                    r.line,
                    r.head,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("/api/v1/*", "httpd_api_handler", Some("my_api"), 4, 18),
                ("/ws/*", "httpd_ws_handler", Some("my_ws"), 8, 11),
                ("/ota/*", "web", None, 9, 12),
                ("/up/*", "uploader", None, 10, 11),
                ("/*", "httpd_file_handler", None, 12, 3),
            ]
        );
        // the two catch-alls of either kind conflict like any others
        let both = scan("[{[], #{handler => a}}, {<<\"/*\">>, b}]");
        assert_eq!(conflicts(&both).len(), 1);
    }

    #[test]
    fn garbage_gives_no_routes_and_no_panic() {
        for s in [
            "",
            "{<<\"/",
            "{<<\"/x\">>",
            "{<<\"/x\">>, ",
            "{<<\"/x\">>, Var, []}",
            "{<<\"/x\">>, m, #{",
            "%{<<\"/x\">>, m}",
            "{[",
            "{[<<\"a",
            "{[<<\"a\">>",
            "{[<<\"a\">>], #{handler",
            "{[<<\"a\">>], #{handler =>",
            "{[\"a\" \"b\"], #{handler => x}}",
        ] {
            let _ = scan(s);
        }
        assert!(scan("{<<\"/x\">>, Var, []}").is_empty());
        assert!(scan("{<<\"notapath\">>, m, []}").is_empty());
    }
}
