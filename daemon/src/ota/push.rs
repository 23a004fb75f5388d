//! Pushing one bundle to one device (docs/ota.md): ask for a nonce, sign, stream the image (from
//! where the device has it, after a cut), wait for the device to come back, check that it runs the
//! new SHA-256 and that its health route answers, then confirm — or report why not.

use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use serde::Serialize;
use serde_json::Value;

use super::http::{self, Cut};
use super::keys;

#[derive(Debug, Clone)]
pub struct PushOptions {
    /// Path the device's app must answer (status < 500) before the update is confirmed.
    pub health_path: String,
    /// Uploads restarted after a cut before giving up.
    pub retries: u32,
    /// How long the device may take to come back after switching (its trial timeout bounds this).
    pub reboot_timeout: Duration,
    /// Per-request socket timeout.
    pub io_timeout: Duration,
    /// Push even when the device already runs this bundle.
    pub force: bool,
    /// Test hook: stop sending after this many body bytes of the first attempt (a cut).
    pub cut_after: Option<u64>,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            health_path: "/".into(),
            retries: 3,
            reboot_timeout: Duration::from_secs(90),
            io_timeout: Duration::from_secs(20),
            force: false,
            cut_after: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PushResult {
    /// The device runs the new bundle and confirmed it.
    Updated,
    /// It ran this bundle already; nothing was sent.
    UpToDate,
    /// The device refused the upload (which check: in the detail); it still runs its app.
    Refused,
    Unreachable,
    TimedOut,
    /// It switched, then went back to the previous app (the new one failed its trial).
    RolledBack,
    Failed,
    /// Not attempted (the canary failed).
    Skipped,
}

impl PushResult {
    pub fn as_str(self) -> &'static str {
        match self {
            PushResult::Updated => "updated",
            PushResult::UpToDate => "up_to_date",
            PushResult::Refused => "refused",
            PushResult::Unreachable => "unreachable",
            PushResult::TimedOut => "timed_out",
            PushResult::RolledBack => "rolled_back",
            PushResult::Failed => "failed",
            PushResult::Skipped => "skipped",
        }
    }

    pub fn is_success(self) -> bool {
        matches!(self, PushResult::Updated | PushResult::UpToDate)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PushOutcome {
    pub device: String,
    pub result: PushResult,
    pub detail: String,
    pub bytes_sent: u64,
    pub resumed_from: Option<u64>,
    pub attempts: u32,
    pub duration_ms: u64,
    /// Of which the upload itself (nonce to the device's 200), 0 when nothing was sent.
    pub upload_ms: u64,
    /// What the device reported after the push.
    pub running_sha256: Option<String>,
}

impl PushOutcome {
    /// Nothing done yet (`failed` until a result is set).
    pub fn new(device: &str) -> PushOutcome {
        PushOutcome {
            device: device.to_string(),
            result: PushResult::Failed,
            detail: String::new(),
            bytes_sent: 0,
            resumed_from: None,
            attempts: 0,
            duration_ms: 0,
            upload_ms: 0,
            running_sha256: None,
        }
    }
}

/// A bundle to push.
pub struct Image<'a> {
    pub bytes: &'a [u8],
    pub sha256: String,
}

/// Pushes `image` to the device at `address`. `progress(sent, total)` follows the upload.
pub fn push(
    name: &str,
    address: &str,
    image: &Image,
    opts: &PushOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> PushOutcome {
    match upload(name, address, image, opts, progress) {
        Uploaded::Done(o) => o,
        Uploaded::Switching(p) => settle(p, image, opts),
    }
}

/// Where a push stands after its upload.
pub enum Uploaded {
    /// Finished already: up to date, refused, unreachable...
    Done(PushOutcome),
    /// The device took the image and is restarting into it: [`settle`] follows it.
    Switching(Switching),
}

pub struct Switching {
    address: String,
    started: Instant,
    out: PushOutcome,
}

/// The upload half of a push: nonce, sign, stream (resuming after cuts). Bounded by the fleet's
/// concurrency; the wait for the reboot is not.
pub fn upload(
    name: &str,
    address: &str,
    image: &Image,
    opts: &PushOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Uploaded {
    let started = Instant::now();
    let mut out = PushOutcome::new(name);
    let step = run(address, image, opts, progress, &mut out);
    match step {
        Ok(Step::Switching) => {
            out.upload_ms = started.elapsed().as_millis() as u64;
            Uploaded::Switching(Switching {
                address: address.to_string(),
                started,
                out,
            })
        }
        Ok(Step::Done(result, detail)) => Uploaded::Done(finish(out, result, detail, started)),
        Err(e) => {
            let (result, detail) = classify(&e);
            Uploaded::Done(finish(out, result, detail, started))
        }
    }
}

/// The second half: wait for the device to run the new SHA-256, check its health, confirm.
pub fn settle(p: Switching, image: &Image, opts: &PushOptions) -> PushOutcome {
    let mut out = p.out;
    let (result, detail) =
        wait_and_confirm(&p.address, image, opts, &mut out).unwrap_or_else(|e| classify(&e));
    finish(out, result, detail, p.started)
}

fn finish(
    mut out: PushOutcome,
    result: PushResult,
    detail: String,
    started: Instant,
) -> PushOutcome {
    out.result = result;
    out.detail = detail;
    out.duration_ms = started.elapsed().as_millis() as u64;
    out
}

enum Step {
    Done(PushResult, String),
    Switching,
}

fn classify(e: &anyhow::Error) -> (PushResult, String) {
    let text = format!("{e:#}");
    if text.contains("unreachable") || text.contains("Connection refused") {
        (PushResult::Unreachable, text)
    } else if text.contains("timed out") || text.contains("WouldBlock") {
        (PushResult::TimedOut, text)
    } else {
        (PushResult::Failed, text)
    }
}

fn run(
    address: &str,
    image: &Image,
    opts: &PushOptions,
    progress: &mut dyn FnMut(u64, u64),
    out: &mut PushOutcome,
) -> anyhow::Result<Step> {
    let total = image.bytes.len() as u64;
    let mut cut_after = opts.cut_after;
    loop {
        out.attempts += 1;
        let reply = http::request(address, "GET", "/_avm/ota/nonce", opts.io_timeout)?;
        if reply.status != 200 {
            return Ok(Step::Done(
                PushResult::Refused,
                format!("{} {}", reply.status, reply.reason()),
            ));
        }
        let n = reply.json()?;
        let field = |k: &str| n.get(k).and_then(Value::as_str).map(str::to_string);
        let running = field("sha256");
        if running.as_deref() == Some(image.sha256.as_str()) && !opts.force {
            out.running_sha256 = running;
            return Ok(Step::Done(
                PushResult::UpToDate,
                "already running this bundle".into(),
            ));
        }
        let device = field("device").ok_or_else(|| anyhow!("nonce reply without device"))?;
        let nonce = field("nonce").ok_or_else(|| anyhow!("nonce reply without nonce"))?;
        let key_id = field("key_id").ok_or_else(|| anyhow!("nonce reply without key_id"))?;
        let max = n
            .get("max_size")
            .and_then(Value::as_u64)
            .unwrap_or(u64::MAX);
        if total > max {
            return Ok(Step::Done(
                PushResult::Refused,
                format!(
                    "the bundle is {total} bytes and the device's free app partition {} holds {max}",
                    field("target").unwrap_or_default()
                ),
            ));
        }
        // Resume where the device has this image up to.
        let offset = match n.get("upload") {
            Some(u)
                if u.get("sha256").and_then(Value::as_str) == Some(&image.sha256)
                    && u.get("size").and_then(Value::as_u64) == Some(total) =>
            {
                u.get("written")
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
                    .min(total)
            }
            _ => 0,
        };
        if offset > 0 {
            out.resumed_from = Some(offset);
        }
        let key = keys::load(&key_id)?;
        let msg = keys::message(&device, &nonce, &image.sha256, total);
        let sig = avmd_engine::ota_pub::hex(&keys::sign(&key, msg.as_bytes()));
        let headers = vec![
            ("x-avm-sha256".to_string(), image.sha256.clone()),
            ("x-avm-size".to_string(), total.to_string()),
            ("x-avm-nonce".to_string(), nonce),
            ("x-avm-signature".to_string(), sig),
            ("x-avm-offset".to_string(), offset.to_string()),
            ("x-avm-device".to_string(), device),
        ];
        let body = match cut_after.take() {
            Some(cut) if cut > offset => &image.bytes[offset as usize..cut.min(total) as usize],
            _ => &image.bytes[offset as usize..],
        };
        let cutting = body.len() as u64 + offset < total;
        let mut report = |sent: u64| progress(offset + sent, total);
        let sent_before = out.bytes_sent;
        let result = if cutting {
            // the test hook: declare the whole body, send a part, drop the connection
            upload_cut(address, &headers, body, total - offset, opts.io_timeout)
        } else {
            http::upload(
                address,
                "/_avm/ota",
                &headers,
                body,
                opts.io_timeout,
                &mut report,
            )
        };
        match result {
            Ok(r) if r.status == 200 => {
                out.bytes_sent = sent_before + body.len() as u64;
                return Ok(Step::Switching);
            }
            // after a cut the device may not have noticed the old connection is gone yet
            Ok(r)
                if r.status == 409
                    && out.attempts <= opts.retries + 5
                    && r.reason().contains("another upload") =>
            {
                std::thread::sleep(Duration::from_secs(1));
            }
            Ok(r) => {
                return Ok(Step::Done(
                    PushResult::Refused,
                    format!("{} {}", r.status, r.reason()),
                ))
            }
            Err(e) if e.downcast_ref::<Cut>().is_some() && out.attempts <= opts.retries => {
                let cut = e.downcast_ref::<Cut>().map_or(0, |c| c.sent);
                out.bytes_sent = sent_before + cut;
                tracing::info!("upload to {address} cut ({e:#}); resuming");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Sends `body` of a declared `declared` bytes and closes: a connection cut at a known point.
fn upload_cut(
    address: &str,
    headers: &[(String, String)],
    body: &[u8],
    declared: u64,
    timeout: Duration,
) -> anyhow::Result<http::Reply> {
    use std::io::Write;
    let addr = http::resolve(address)?;
    let mut s = std::net::TcpStream::connect_timeout(&addr, timeout)?;
    let mut head =
        format!("PUT /_avm/ota HTTP/1.1\r\nhost: {address}\r\ncontent-length: {declared}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    s.flush()?;
    // A half close, then read until the device closes: it has then read every byte sent and
    // recorded how far the upload got, so the retry's nonce shows it (a fixed pause raced a slow
    // device still writing buffered bytes).
    s.shutdown(std::net::Shutdown::Write)?;
    s.set_read_timeout(Some(timeout))?;
    let mut sink = Vec::new();
    let _ = std::io::Read::read_to_end(&mut s, &mut sink);
    drop(s);
    Err(Cut {
        sent: body.len() as u64,
        error: std::io::Error::other("cut on purpose (--cut-after)"),
    }
    .into())
}

/// After the device accepted the image: it restarts into it; wait until it answers with the new
/// SHA-256, check its health route, confirm.
fn wait_and_confirm(
    address: &str,
    image: &Image,
    opts: &PushOptions,
    out: &mut PushOutcome,
) -> anyhow::Result<(PushResult, String)> {
    let deadline = Instant::now() + opts.reboot_timeout;
    let short = Duration::from_secs(3);
    // The old app may answer a moment longer: its SHA-256 is not the new one, so it is not mistaken.
    let mut last_error = String::from("no answer");
    while Instant::now() < deadline {
        match http::request(address, "GET", "/_avm/info", short).and_then(|r| {
            if r.status == 200 {
                r.json()
            } else {
                Err(anyhow!("/_avm/info answered {}", r.status))
            }
        }) {
            Ok(info) => {
                let sha = info
                    .get("sha256")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                out.running_sha256 = sha.clone();
                let last = info.get("last_update");
                let rolled_back = last.and_then(|l| l.get("result")).and_then(Value::as_str)
                    == Some("rolled_back")
                    && last.and_then(|l| l.get("sha256")).and_then(Value::as_str)
                        == Some(image.sha256.as_str());
                if sha.as_deref() == Some(image.sha256.as_str()) {
                    return confirm(address, opts, &info);
                }
                if rolled_back {
                    return Ok((
                        PushResult::RolledBack,
                        format!(
                            "the new app was not confirmed; the device went back to {}",
                            sha.as_deref()
                                .map_or("its previous app", |s| &s[..12.min(s.len())])
                        ),
                    ));
                }
            }
            Err(e) => last_error = format!("{e:#}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok((
        PushResult::TimedOut,
        format!(
            "the device did not come back running the new bundle within {:?} ({last_error})",
            opts.reboot_timeout
        ),
    ))
}

fn confirm(
    address: &str,
    opts: &PushOptions,
    info: &Value,
) -> anyhow::Result<(PushResult, String)> {
    let short = Duration::from_secs(5);
    if info.get("trial").and_then(Value::as_bool) != Some(true) {
        return Ok((PushResult::Updated, "running the new bundle".into()));
    }
    let health = http::request(address, "GET", &opts.health_path, short)
        .with_context(|| format!("health check GET {}", opts.health_path))?;
    if health.status >= 500 {
        // Not confirmed: the device's trial timer takes it back to the previous app.
        let (result, _) = wait_rollback(address, opts);
        return Ok((
            result,
            format!(
                "health check GET {} answered {}; not confirmed{}",
                opts.health_path,
                health.status,
                if result == PushResult::RolledBack {
                    ", the device went back to its previous app"
                } else {
                    ""
                }
            ),
        ));
    }
    let r = http::request(address, "POST", "/_avm/ota/confirm", short)?;
    if r.status != 200 {
        return Ok((
            PushResult::Failed,
            format!("confirm answered {} {}", r.status, r.reason()),
        ));
    }
    Ok((
        PushResult::Updated,
        "running the new bundle, confirmed".into(),
    ))
}

fn wait_rollback(address: &str, opts: &PushOptions) -> (PushResult, String) {
    let deadline = Instant::now() + opts.reboot_timeout;
    while Instant::now() < deadline {
        if let Ok(info) = http::request(address, "GET", "/_avm/info", Duration::from_secs(2))
            .and_then(|r| r.json())
        {
            if info.get("trial").and_then(Value::as_bool) == Some(false) {
                return (PushResult::RolledBack, String::new());
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    (PushResult::TimedOut, String::new())
}
