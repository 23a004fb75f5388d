//! Handler contract checks on the route map: each route's module must export the callbacks the
//! runtime will call (docs/handlers.md): `handle/2` for a plain handler, `handle_api/4`
//! for the `handler => Mod` of `httpd_api_handler`, `ws_init/2`, `ws_handle/2` and `ws_info/2` for
//! that of `httpd_ws_handler` — or atomvm_lib's contract for each (`init_handler/2` +
//! `handle_http_req/2`, `handle_api_request/4`, `handle_ws_init/3` + `handle_ws_message/2`). A miss compiles fine and fails on the first request, so it is worth a
//! warning at the route. Pure: routes and the compiled modules' exports in, findings out (compiled
//! exports, so `export_all` and generated functions count as the VM sees them).

use crate::routes::Route;

/// What a module lookup found.
pub enum Module<'a> {
    /// A module of the avmd runtime: its contract is the runtime's business.
    Runtime,
    /// A project module with these exported `name/arity` pairs.
    Exports(&'a [(String, u32)]),
    /// Nowhere in the project or the runtime.
    Missing,
}

/// A set of callbacks a module must export all of.
pub type Contract = &'static [(&'static str, u32)];

const HANDLER: &[Contract] = &[
    &[("handle", 2)],
    &[("init_handler", 2), ("handle_http_req", 2)],
];
const API: &[Contract] = &[&[("handle_api", 4)], &[("handle_api_request", 4)]];
const WS: &[Contract] = &[
    &[("ws_init", 2), ("ws_handle", 2), ("ws_info", 2)],
    &[("handle_ws_init", 3), ("handle_ws_message", 2)],
];

/// The module a route's requests reach and the contracts it may follow (avmd's own first, then
/// atomvm_lib's; the runtime picks by the exports, so one complete set is enough); `None` when the
/// scan could not see the `handler => Mod` of a generic handler (e.g. Opts held in a variable).
pub fn required(route: &Route) -> Option<(&str, &'static [Contract])> {
    match route.handler.as_str() {
        "httpd_api_handler" => Some((route.target.as_deref()?, API)),
        "httpd_ws_handler" => Some((route.target.as_deref()?, WS)),
        h => Some((h, HANDLER)),
    }
}

/// The callbacks of `contract` that `exported` lacks, as `name/arity`.
fn missing(contract: Contract, exported: &[(String, u32)]) -> Vec<String> {
    contract
        .iter()
        .filter(|(f, a)| !exported.iter().any(|(g, b)| g == f && b == a))
        .map(|(f, a)| format!("{f}/{a}"))
        .collect()
}

/// One warning per route whose module follows none of its contracts or cannot be found. The
/// warning names what is missing from the contract the module comes closest to (avmd's on a tie).
pub fn check<'a>(
    routes: &[Route],
    mut lookup: impl FnMut(&str) -> Module<'a>,
) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, r) in routes.iter().enumerate() {
        let Some((module, contracts)) = required(r) else {
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
            Module::Exports(exported) => {
                let gaps: Vec<(Contract, Vec<String>)> =
                    contracts.iter().map(|c| (*c, missing(c, exported))).collect();
                if gaps.iter().any(|(_, m)| m.is_empty()) {
                    continue;
                }
                let closest = gaps
                    .iter()
                    .min_by_key(|(c, m)| std::cmp::Reverse(c.len() - m.len()))
                    .expect("every handler kind has a contract");
                // a plain handler is called by the server itself, a generic one's module by it
                let caller = if r.handler == module {
                    "the server"
                } else {
                    r.handler.as_str()
                };
                out.push((
                    i,
                    format!(
                        "{module} does not export {}, which {caller} calls for {}",
                        closest.1.join(", "),
                        r.path
                    ),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::scan;

    const ROUTES: &str = r#"[{<<"/">>, httpd_static, #{}},
 {<<"/api">>, httpd_api_handler, #{handler => api}},
 {<<"/ws">>, httpd_ws_handler, #{handler => ws}},
 {<<"/plain">>, plain, #{}},
 {<<"/gone">>, gone, #{}},
 {<<"/var">>, httpd_api_handler, Opts}]"#;

    fn ex(pairs: &[(&str, u32)]) -> Vec<(String, u32)> {
        pairs.iter().map(|(f, a)| (f.to_string(), *a)).collect()
    }

    #[test]
    fn missing_callbacks_and_modules_are_reported_at_their_routes() {
        let api = ex(&[("handle_api", 4), ("module_info", 0)]);
        let ws = ex(&[("ws_init", 2), ("ws_handle", 2)]);
        let plain = ex(&[("handle", 2), ("helper", 1)]);
        let routes = scan(ROUTES);
        let found = check(&routes, |m| match m {
            "httpd_static" | "httpd_api_handler" | "httpd_ws_handler" => Module::Runtime,
            "api" => Module::Exports(&api),
            "ws" => Module::Exports(&ws),
            "plain" => Module::Exports(&plain),
            _ => Module::Missing,
        });
        let at: Vec<usize> = found.iter().map(|(i, _)| *i).collect();
        assert_eq!(at, [2, 4], "{found:?}");
        assert!(found[0].1.contains("ws_info/2"), "{}", found[0].1);
        assert!(!found[0].1.contains("ws_init"), "{}", found[0].1);
        assert!(found[1].1.contains("gone"), "{}", found[1].1);
    }

    #[test]
    fn atomvm_lib_contracts_satisfy_the_same_routes() {
        let routes = scan(
            r#"[{[<<"api">>], #{handler => httpd_api_handler, handler_config => #{module => api}}},
 {[<<"ws">>], #{handler => httpd_ws_handler, handler_config => #{module => ws}}},
 {[<<"up">>], #{handler => up}},
 {[<<"half">>], #{handler => half}}]"#,
        );
        let api = ex(&[("handle_api_request", 4)]);
        let ws = ex(&[("handle_ws_init", 3), ("handle_ws_message", 2)]);
        let up = ex(&[("init_handler", 2), ("handle_http_req", 2)]);
        let half = ex(&[("init_handler", 2)]);
        let found = check(&routes, |m| match m {
            "httpd_api_handler" | "httpd_ws_handler" => Module::Runtime,
            "api" => Module::Exports(&api),
            "ws" => Module::Exports(&ws),
            "up" => Module::Exports(&up),
            "half" => Module::Exports(&half),
            _ => Module::Missing,
        });
        // only `half` is short, and of the contract it started on: atomvm_lib's
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, 3);
        assert!(found[0].1.contains("handle_http_req/2"), "{}", found[0].1);
        assert!(!found[0].1.contains("handle/2"), "{}", found[0].1);
    }
}

/// One callback a behaviour declares, with a body that compiles and answers sensibly, for the
/// "add missing callbacks" quick fix.
pub struct Stub {
    pub name: &'static str,
    pub arity: u32,
    pub code: &'static str,
}

/// The callbacks a module declaring `-behaviour(B)` is expected to define (the runtime's behaviours
/// and the OTP ones AtomVM supports), in the order a module usually lists them.
pub fn behaviour_callbacks(behaviour: &str) -> Option<&'static [Stub]> {
    Some(match behaviour {
        "httpd_handler" => &[Stub {
            name: "handle",
            arity: 2,
            code: "handle(_Req, _Opts) ->\n    {reply, 200, [{<<\"content-type\">>, <<\"text/plain\">>}], <<\"ok\\n\">>}.",
        }],
        "httpd_api_handler" => &[Stub {
            name: "handle_api",
            arity: 4,
            code: "handle_api(<<\"GET\">>, _Bindings, _Json, _Req) ->\n    {ok, #{<<\"ok\">> => true}};\nhandle_api(_Method, _Bindings, _Json, _Req) ->\n    {error, 405, <<\"method not allowed\">>}.",
        }],
        "httpd_ws_handler" => &[
            Stub {
                name: "ws_init",
                arity: 2,
                code: "ws_init(_Req, _Opts) ->\n    {ok, #{}}.",
            },
            Stub {
                name: "ws_handle",
                arity: 2,
                code: "ws_handle({text, Text}, State) ->\n    {reply, {text, Text}, State};\nws_handle({binary, _Bin}, State) ->\n    {ok, State}.",
            },
            Stub {
                name: "ws_info",
                arity: 2,
                code: "ws_info(_Msg, State) ->\n    {ok, State}.",
            },
        ],
        "httpd_middleware" => &[
            Stub {
                name: "request",
                arity: 2,
                code: "request(Req, _Opts) ->\n    {ok, Req}.",
            },
            Stub {
                name: "response",
                arity: 3,
                code: "response(_Req, Reply, _Opts) ->\n    Reply.",
            },
        ],
        "gen_server" => &[
            Stub {
                name: "init",
                arity: 1,
                code: "init(Args) ->\n    {ok, Args}.",
            },
            Stub {
                name: "handle_call",
                arity: 3,
                code: "handle_call(_Request, _From, State) ->\n    {reply, ok, State}.",
            },
            Stub {
                name: "handle_cast",
                arity: 2,
                code: "handle_cast(_Msg, State) ->\n    {noreply, State}.",
            },
            Stub {
                name: "handle_info",
                arity: 2,
                code: "handle_info(_Msg, State) ->\n    {noreply, State}.",
            },
        ],
        _ => return None,
    })
}

#[cfg(test)]
mod stubs {
    use super::*;
    use crate::syntax::{read, Lang};

    #[test]
    fn every_stub_parses_and_defines_its_callback() {
        for b in [
            "httpd_handler",
            "httpd_api_handler",
            "httpd_ws_handler",
            "httpd_middleware",
            "gen_server",
        ] {
            for s in behaviour_callbacks(b).unwrap() {
                let facts = read(Lang::Erlang, &format!("-module(m).\n{}\n", s.code));
                assert!(
                    facts.errors.is_empty(),
                    "{b} {}: {:?}",
                    s.name,
                    facts.errors
                );
                assert_eq!(
                    facts
                        .functions
                        .iter()
                        .map(|f| (f.name.as_str(), f.arity))
                        .collect::<Vec<_>>(),
                    [(s.name, s.arity)]
                );
            }
        }
        assert!(behaviour_callbacks("supervisor_bridge").is_none());
    }
}
