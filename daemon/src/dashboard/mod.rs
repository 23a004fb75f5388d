//! The `avmd dev` dashboard: an axum server on 127.0.0.1 serving the page (assets embedded with
//! `include_str!`), the JSON API (`/api/status`, `/api/builds`, `/api/diagnostics`, `/api/routes`,
//! `/api/console`), the live event stream `/api/events` (SSE) and the live-reload channel
//! (`/livereload.js` + `/api/livereload`, SSE) that HTML pages served in dev mode subscribe to.
//! API and live-reload responses allow any origin (CORS `*`): the app's pages, editors and the
//! language server call them from other origins; the server only listens on loopback.

mod api;
mod devices;
mod replies;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::dev::state::Shared;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");
const LIVERELOAD_JS: &str = include_str!("assets/livereload.js");

/// The dashboard's routes over the shared dev state.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }),
        )
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/livereload.js", get(livereload_js))
        .route("/api/status", get(api::status))
        .route("/api/builds", get(api::builds))
        .route("/api/diagnostics", get(api::diagnostics))
        .route("/api/routes", get(api::routes))
        .route("/api/console", get(api::console))
        .route("/api/events", get(api::events))
        .route("/api/livereload", get(api::livereload))
        .route("/api/devices", get(devices::list))
        .route(
            "/api/devices/{name}/push",
            axum::routing::post(devices::push),
        )
        .route("/api/devices/{name}/console", get(devices::console))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .layer(axum::middleware::map_response(cors))
        .with_state(shared)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The live-reload client, with this dashboard's address filled in.
async fn livereload_js(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
) -> Response {
    let body = LIVERELOAD_JS.replace(
        "__AVMD_EVENTS_URL__",
        &format!("http://127.0.0.1:{}/api/livereload", shared.dashboard_port),
    );
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn cors(mut res: Response) -> Response {
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

/// Binds the dashboard's listener on 127.0.0.1 (port 0 picks a free one).
pub async fn bind(port: u16) -> anyhow::Result<tokio::net::TcpListener> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!("cannot listen on {addr} for the dashboard: {e} (try --dashboard-port)")
    })
}

/// Serves forever; the caller drops the task at shutdown (open SSE streams would keep a graceful
/// shutdown waiting).
pub async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) -> anyhow::Result<()> {
    axum::serve(listener, router(shared)).await?;
    Ok(())
}
