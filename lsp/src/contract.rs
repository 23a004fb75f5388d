//! Handler contract checks on the route map: each route's module must export the callbacks the
//! runtime will call (ARCHITECTURE.md "Handlers"): `handle/2` for a plain handler, `handle_api/4`
//! for the `handler => Mod` of `httpd_api_handler`, `ws_init/2`, `ws_handle/2` and `ws_info/2` for
//! that of `httpd_ws_handler`. A miss compiles fine and fails on the first request, so it is worth a
//! warning at the route. Pure: routes and source text in, findings out; exports are read from the
//! `-export` attributes in the source text.

use avmd_engine::routes::Route;

/// What a module lookup found.
pub enum Module<'a> {
    /// A module of the avmd runtime: its contract is the runtime's business.
    Runtime,
    /// A project module with this source text.
    Source(&'a str),
    /// Nowhere in the project or the runtime.
    Missing,
}

/// The module a route's requests reach and the callbacks it must export; `None` when the scan
/// could not see the `handler => Mod` of a generic handler (e.g. Opts held in a variable).
pub fn required(route: &Route) -> Option<(&str, &'static [(&'static str, u32)])> {
    match route.handler.as_str() {
        "httpd_api_handler" => Some((route.target.as_deref()?, &[("handle_api", 4)])),
        "httpd_ws_handler" => Some((
            route.target.as_deref()?,
            &[("ws_init", 2), ("ws_handle", 2), ("ws_info", 2)],
        )),
        h => Some((h, &[("handle", 2)])),
    }
}

/// Removes `%` comments, keeping line structure (strings with `%` in attributes are not a concern).
fn uncommented(text: &str) -> String {
    text.lines()
        .map(|l| l.split('%').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `name/arity` pairs of every `-export([...])` in `text`; `None` under `export_all`.
pub fn exports(text: &str) -> Option<Vec<(String, u32)>> {
    let text = uncommented(text);
    if text.contains("export_all") {
        return None;
    }
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("-export(") {
        let after = &rest[i + "-export(".len()..];
        let end = after.find(')').unwrap_or(after.len());
        for item in after[..end].split([',', '[', ']']) {
            if let Some((name, arity)) = item.trim().split_once('/') {
                let name = name.trim().trim_matches('\'');
                if let (false, Ok(a)) = (name.is_empty(), arity.trim().parse::<u32>()) {
                    out.push((name.to_string(), a));
                }
            }
        }
        rest = &after[end..];
    }
    Some(out)
}

/// One warning per route whose module lacks a required callback or cannot be found.
pub fn check<'a>(
    routes: &[Route],
    mut lookup: impl FnMut(&str) -> Module<'a>,
) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, r) in routes.iter().enumerate() {
        let Some((module, callbacks)) = required(r) else {
            continue;
        };
        match lookup(module) {
            Module::Runtime => {}
            Module::Missing => out.push((
                i,
                format!(
                    "module {module} is neither in this project nor in the avmd runtime: requests to {} will fail with undef",
                    r.path
                ),
            )),
            Module::Source(text) => {
                let Some(exported) = exports(text) else {
                    continue;
                };
                let missing: Vec<String> = callbacks
                    .iter()
                    .filter(|(f, a)| !exported.iter().any(|(g, b)| g == f && b == a))
                    .map(|(f, a)| format!("{f}/{a}"))
                    .collect();
                if !missing.is_empty() {
                    out.push((
                        i,
                        format!(
                            "{module} does not export {}, which {} calls for {}",
                            missing.join(", "),
                            r.handler,
                            r.path
                        ),
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use avmd_engine::routes::scan;

    const ROUTES: &str = r#"[{<<"/">>, httpd_static, #{}},
 {<<"/api">>, httpd_api_handler, #{handler => api}},
 {<<"/ws">>, httpd_ws_handler, #{handler => ws}},
 {<<"/plain">>, plain, #{}},
 {<<"/gone">>, gone, #{}},
 {<<"/var">>, httpd_api_handler, Opts}]"#;

    fn lookup(m: &str) -> Module<'static> {
        match m {
            "httpd_static" | "httpd_api_handler" | "httpd_ws_handler" => Module::Runtime,
            "api" => Module::Source("-module(api).\n-export([handle_api/4]).\n"),
            "ws" => {
                Module::Source("-module(ws).\n-export([ws_init/2,\n  ws_handle/2]). % ws_info/2\n")
            }
            "plain" => Module::Source("-module(plain).\n-compile(export_all).\n"),
            _ => Module::Missing,
        }
    }

    #[test]
    fn missing_callbacks_and_modules_are_reported_at_their_routes() {
        let routes = scan(ROUTES);
        let found = check(&routes, lookup);
        let at: Vec<usize> = found.iter().map(|(i, _)| *i).collect();
        assert_eq!(at, [2, 4], "{found:?}");
        assert!(found[0].1.contains("ws_info/2"), "{}", found[0].1);
        assert!(!found[0].1.contains("ws_init"), "{}", found[0].1);
        assert!(found[1].1.contains("gone"), "{}", found[1].1);
    }

    #[test]
    fn exports_reads_every_attribute_and_skips_comments() {
        let text = "-export([a/0, 'b c'/2]).\n%% -export([hidden/1]).\n-export([\n  d/3\n]).\n";
        assert_eq!(
            exports(text).unwrap(),
            [("a".into(), 0), ("b c".into(), 2), ("d".into(), 3)]
        );
        assert_eq!(exports("-compile([export_all])."), None);
        assert_eq!(exports("-export([broken/x, /1, y/]).").unwrap(), []);
    }
}
