//! The dashboard's JSON API and event streams. Read-only: every handler copies what it needs out of
//! the shared state under a short lock and serialises outside it.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt};

use super::replies;
use crate::dev::state::{now_ms, DevEventKind, Shared, CONSOLE_KEEP};

/// Upper bound of `?limit=` on the list endpoints.
const MAX_LIMIT: u32 = 1000;

#[derive(Deserialize)]
pub struct Limit {
    limit: Option<u32>,
}

impl Limit {
    fn get(&self, default: u32) -> u32 {
        self.limit.unwrap_or(default).clamp(1, MAX_LIMIT)
    }
}

/// `GET /api/status`: the project, the ports, the phase, the current and last good builds.
pub async fn status(State(s): State<Arc<Shared>>) -> Json<replies::Status> {
    let st = s.lock();
    Json(replies::Status {
        project: st.project.clone(),
        phase: st.phase,
        app_port: st.app_port,
        app_url: st.app_port.map(|p| format!("http://127.0.0.1:{p}/")),
        dashboard_port: s.dashboard_port,
        current_build: st.current.clone(),
        last_good_build: st.last_good.clone(),
        serving_sha256: st
            .last_good
            .as_ref()
            .and_then(|b| b.record.bundle_sha256.clone()),
        n_diagnostics: st.diagnostics.len(),
        warnings: st.warnings.clone(),
        uptime_ms: now_ms() - s.started_at_ms,
    })
}

/// `GET /api/builds?limit=N`: build history from SQLite, newest first (default 50).
pub async fn builds(State(s): State<Arc<Shared>>, Query(q): Query<Limit>) -> Response {
    let limit = q.get(50);
    let shared = Arc::clone(&s);
    let rows = tokio::task::spawn_blocking(move || {
        let h = shared.history.lock().unwrap_or_else(|e| e.into_inner());
        h.recent(limit)
    })
    .await;
    match rows {
        Ok(Ok(builds)) => Json(replies::Builds { builds }).into_response(),
        Ok(Err(err)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("build history: {err:#}"),
        ),
        Err(err) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("build history: {err}"),
        ),
    }
}

/// `GET /api/diagnostics`: the diagnostics of the latest build (good or broken).
pub async fn diagnostics(State(s): State<Arc<Shared>>) -> Json<replies::Diagnostics> {
    let st = s.lock();
    Json(replies::Diagnostics {
        build_id: st.current.as_ref().map(|b| b.record.id),
        result: st.current.as_ref().map(|b| b.record.result),
        diagnostics: st.diagnostics.clone(),
    })
}

/// `GET /api/routes`: the route map scanned from the start module's source.
pub async fn routes(State(s): State<Arc<Shared>>) -> Json<replies::Routes> {
    let st = s.lock();
    Json(replies::Routes {
        file: st.routes_file.clone(),
        routes: st.routes.clone(),
    })
}

/// `GET /api/console?limit=N`: the most recent device console lines, oldest first (default 200).
pub async fn console(
    State(s): State<Arc<Shared>>,
    Query(q): Query<Limit>,
) -> Json<replies::Console> {
    let limit = q.get(200).min(CONSOLE_KEEP as u32) as usize;
    let st = s.lock();
    let skip = st.console.len().saturating_sub(limit);
    let lines: Vec<_> = st.console.iter().skip(skip).cloned().collect();
    Json(replies::Console { lines })
}

fn error(status: StatusCode, message: &str) -> Response {
    let reply = replies::Error {
        error: message.to_string(),
    };
    (status, Json(reply)).into_response()
}

type BoxedEvents = std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>>;
type EventStream = Sse<axum::response::sse::KeepAliveStream<BoxedEvents>>;

fn stream(s: &Shared, only: Option<DevEventKind>) -> EventStream {
    let rx = s.events.subscribe();
    // The first event says the stream is live (and which phase we are in), so a client can tell a
    // connected-but-quiet stream from a dead one.
    let hello = Event::default()
        .event("hello")
        .data(json!({ "phase": s.lock().phase }).to_string());
    let live = BroadcastStream::new(rx).filter_map(move |item| match item {
        Ok(ev) if only.is_none() || only == Some(ev.kind) => Some(Ok(Event::default()
            .event(ev.kind.as_str())
            .data(ev.data.to_string()))),
        Ok(_) => None,
        // A slow client lost events; tell it so it can refetch the JSON API.
        Err(_) => Some(Ok(Event::default().event("lagged").data("{}"))),
    });
    let all: BoxedEvents = Box::pin(tokio_stream::once(Ok(hello)).chain(live));
    Sse::new(all).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// `GET /api/events`: SSE of `build`, `console`, `reload` and `status` events.
pub async fn events(State(s): State<Arc<Shared>>) -> EventStream {
    stream(&s, None)
}

/// `GET /api/livereload`: SSE of `reload` events only — what the script injected into pages uses.
pub async fn livereload(State(s): State<Arc<Shared>>) -> EventStream {
    stream(&s, Some(DevEventKind::Reload))
}
