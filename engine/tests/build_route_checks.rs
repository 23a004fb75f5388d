//! The build's own route checks, on a real compile: a shadowed route and a handler module missing a
//! callback are warnings at their routes; fixing them clears them; the bundle is made either way.

mod build_support;

use avmd_engine::build::Engine;
use avmd_engine::diagnostic::DiagnosticSource;
use avmd_engine::project::Project;
use build_support::Scratch;

const ROUTES: &str = r#"-module(app).
-export([start/0, routes/0]).
start() -> ok.
routes() ->
    [{<<"/a">>, page, #{}},
     {<<"/a">>, page, #{}},
     {<<"/api">>, httpd_api_handler, #{handler => api}}].
"#;

#[test]
fn build_reports_route_conflicts_and_contract_misses_then_clears_them() {
    let s = Scratch::new("route-checks");
    s.write(
        "avmd.toml",
        "name = \"app\"\nstart = \"app\"\nprofile = \"esp32\"\n",
    );
    s.write("src/app.erl", ROUTES);
    s.write(
        "src/page.erl",
        "-module(page).\n-export([handle/2]).\nhandle(_, _) -> {200, <<>>}.\n",
    );
    s.write(
        "src/api.erl",
        "-module(api).\n-export([other/0]).\nother() -> ok.\n",
    );
    let mut engine = Engine::open(Project::discover(&s.0).unwrap()).unwrap();
    let out = engine.build().unwrap();
    assert!(out.bundle.is_some(), "{:?}", out.diagnostics);
    let of = |src| {
        out.diagnostics
            .iter()
            .filter(|d| d.source == src)
            .collect::<Vec<_>>()
    };
    let conflicts = of(DiagnosticSource::RouteConflict);
    assert_eq!(conflicts.len(), 1, "{:?}", out.diagnostics);
    assert_eq!((conflicts[0].line, conflicts[0].column), (6, 6));
    assert_eq!(conflicts[0].related.as_ref().unwrap().line, 5);
    let contracts = of(DiagnosticSource::HandlerContract);
    assert_eq!(contracts.len(), 1, "{:?}", out.diagnostics);
    assert!(
        contracts[0].message.contains("handle_api/4"),
        "{}",
        contracts[0].message
    );
    assert_eq!(contracts[0].line, 7);

    // export_all exports the callback as the VM sees it.
    s.write(
        "src/api.erl",
        "-module(api).\n-compile(export_all).\nhandle_api(_, _, _, _) -> ok.\n",
    );
    s.write(
        "src/app.erl",
        &ROUTES.replacen("\n     {<<\"/a\">>, page, #{}},", "", 1),
    );
    let out = engine.build().unwrap();
    assert!(
        !out.diagnostics.iter().any(|d| matches!(
            d.source,
            DiagnosticSource::RouteConflict | DiagnosticSource::HandlerContract
        )),
        "{:?}",
        out.diagnostics
    );
}
