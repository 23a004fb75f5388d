//! The Devices panel's API: the registry's devices as they answer now, and a push of the last good
//! build to one of them (docs/ota.md). A push needs the header `x-avmd-action: push`, which no page
//! of another origin can send without a preflight this server never grants.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::dev::state::Shared;
use crate::ota::push::{self, Image, PushOptions};
use crate::ota::registry::{now_ms, PushRecord, Registry};
use crate::ota::status::probe_all;

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// `GET /api/devices`: each registered device (online, running SHA-256 and version, out of date
/// against the last good build) and its last push.
pub async fn list(State(s): State<Arc<Shared>>) -> Response {
    let current = s
        .lock()
        .last_good
        .as_ref()
        .and_then(|b| b.record.bundle_sha256.clone());
    let r = tokio::task::spawn_blocking(move || -> anyhow::Result<serde_json::Value> {
        let reg = Registry::open_default()?;
        let devices = reg.list()?;
        let history = reg.history(None, 500)?;
        let rows = probe_all(devices, current.as_deref());
        let out: Vec<_> = rows
            .into_iter()
            .map(|r| {
                let last = history.iter().find(|h| h.device == r.device.name);
                json!({ "device": r, "last_push": last })
            })
            .collect();
        Ok(json!({ "devices": out }))
    })
    .await;
    match r {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `POST /api/devices/{name}/push`: pushes the last good build; answers the outcome.
pub async fn push(
    State(s): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    if headers.get("x-avmd-action").and_then(|v| v.to_str().ok()) != Some("push") {
        return error(
            StatusCode::FORBIDDEN,
            "a push needs the header x-avmd-action: push",
        );
    }
    let Some(bundle) = s
        .device_bundle
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
    else {
        return error(StatusCode::CONFLICT, "no good build yet");
    };
    let shared = Arc::clone(&s);
    let r = tokio::task::spawn_blocking(move || -> anyhow::Result<Option<push::PushOutcome>> {
        let reg = Registry::open_default()?;
        let Some(dev) = reg.get(&name)? else {
            return Ok(None);
        };
        let image = Image {
            sha256: avmd_engine::packbeam::sha256_hex(&bundle),
            bytes: &bundle,
        };
        let started = now_ms();
        let o = push::push(
            &dev.name,
            &dev.address,
            &image,
            &PushOptions::default(),
            &mut |_, _| {},
        );
        let _ = reg.record_push(&PushRecord::of(&o, &image.sha256, started));
        shared.console(
            "push",
            &format!(
                "push {} {}: {} ({})",
                &image.sha256[..12],
                o.device,
                o.result.as_str(),
                o.detail
            ),
        );
        shared.emit(
            crate::dev::state::DevEventKind::Push,
            serde_json::to_value(&o).unwrap_or_default(),
        );
        Ok(Some(o))
    })
    .await;
    match r {
        Ok(Ok(Some(o))) => Json(o).into_response(),
        Ok(Ok(None)) => error(
            StatusCode::NOT_FOUND,
            "no such device (avmd devices lists them)",
        ),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The most recent bytes of a console log read: the tail a panel shows.
const CONSOLE_TAIL: u64 = 64 * 1024;

#[derive(serde::Deserialize)]
pub struct Lines {
    limit: Option<usize>,
}

/// `GET /api/devices/{name}/console?limit=N`: the last lines (default 200) of a simulated device's
/// console; 404 for a device with no console log (a real one: use its serial port).
pub async fn console(
    Path(name): Path<String>,
    axum::extract::Query(q): axum::extract::Query<Lines>,
) -> Response {
    let limit = q.limit.unwrap_or(200).clamp(1, 2000);
    let r = tokio::task::spawn_blocking(move || -> anyhow::Result<Option<Vec<String>>> {
        let reg = Registry::open_default()?;
        let Some(path) = reg.get(&name)?.and_then(|d| d.console_path) else {
            return Ok(None);
        };
        Ok(Some(tail(std::path::Path::new(&path), limit)))
    })
    .await;
    match r {
        Ok(Ok(Some(lines))) => Json(json!({ "lines": lines })).into_response(),
        Ok(Ok(None)) => error(
            StatusCode::NOT_FOUND,
            "no console for this device (only simulated devices have one here)",
        ),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The last `limit` lines of the file's last CONSOLE_TAIL bytes (none when it does not exist yet).
fn tail(path: &std::path::Path, limit: usize) -> Vec<String> {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(CONSOLE_TAIL)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let mut lines: Vec<&str> = text.lines().collect();
    if len > CONSOLE_TAIL && !lines.is_empty() {
        lines.remove(0); // cut mid-line
    }
    let start = lines.len().saturating_sub(limit);
    lines[start..].iter().map(|l| l.to_string()).collect()
}
