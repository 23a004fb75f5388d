//! The host runtime: one `erl` running `avmd_host` (runtime/host) that boots a bundle the way a device
//! does — modules loaded from the `.avm` bytes, priv files registered, the start module's `start/0` called —
//! and reboots it on a new bundle without restarting the VM. Requests go to the harness as {packet,4}
//! frames of tab-separated fields; replies and events (console lines, the port the app listens on) come
//! back as {packet,4} frames of JSON, so nothing the app prints can be taken for protocol.

use crate::runtime_lib;
use serde::Deserialize;
use std::io::{BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How long a request (loading a bundle, stopping the app) may take before the harness is taken as hung.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Frames bigger than this are a broken harness.
const MAX_FRAME: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, Default)]
pub struct HostConfig {
    /// The port the app's `httpd_server` binds on 127.0.0.1; 0 = pick a free one (kept across reloads).
    pub port: u16,
    /// Device profile; `atomvm:platform/0` answers its platform. None = generic_unix.
    pub profile: Option<String>,
    /// Per-process heap cap in words (`max_heap_size`), to feel device memory limits.
    pub max_heap_words: Option<u64>,
    /// An Erlang map term (text) merged into `httpd_overrides` before port/address are set.
    pub httpd_overrides: Option<String>,
    /// Directories put on the VM's code path (behind the shims).
    pub extra_code_paths: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsoleStream {
    /// What the app printed (io:format and friends), line by line.
    Stdout,
    /// Crash reports and other log events.
    Crash,
    /// The harness's own notes (a module it skipped, esp:restart/0, the VM's stderr).
    Harness,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleLine {
    pub text: String,
    pub stream: ConsoleStream,
}

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("cannot start the host runtime (`erl`): {0}")]
    Spawn(std::io::Error),
    #[error("the host runtime exited")]
    Exited,
    #[error("the host runtime did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the host runtime sent a malformed frame: {0}")]
    Protocol(String),
    #[error("{0}")]
    Rejected(String),
    #[error("httpd_overrides must be an Erlang map term, got {0:?}")]
    BadOverrides(String),
}

#[derive(Deserialize, Debug)]
struct Frame {
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    reply: Option<String>,
    #[serde(default)]
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    stream: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    value: Option<String>,
}

/// What a reply frame says.
struct Reply {
    ok: bool,
    error: Option<String>,
}

#[derive(Default)]
struct Shared {
    subscribers: Vec<Sender<ConsoleLine>>,
    port: Option<u16>,
    /// Bumped on every `listening` event, so waiters can tell a new bind from an old one.
    listen_events: u64,
    exited: bool,
}

pub struct HostRuntime {
    child: Child,
    stdin: ChildStdin,
    replies: Receiver<Reply>,
    shared: Arc<(Mutex<Shared>, Condvar)>,
    /// The port handed to the app through `httpd_overrides`.
    assigned_port: u16,
}

impl HostRuntime {
    /// Boots the harness VM (about a second) and configures it; no app runs until `load_bundle`.
    pub fn start(cfg: HostConfig) -> Result<HostRuntime, HostError> {
        let host_dir = runtime_lib::materialize("host", runtime_lib::host_modules())
            .map_err(HostError::Spawn)?;
        let assigned_port = if cfg.port == 0 {
            free_port().map_err(HostError::Spawn)?
        } else {
            cfg.port
        };
        let overrides = overrides_term(cfg.httpd_overrides.as_deref())?;
        let platform = cfg
            .profile
            .as_deref()
            .and_then(|p| p.parse::<crate::compat::Platform>().ok())
            .map_or("generic_unix", |p| p.as_str());

        let mut cmd = Command::new("erl");
        cmd.args(["-noshell", "-noinput", "+Bd", "-pa"])
            .arg(&host_dir);
        for p in &cfg.extra_code_paths {
            cmd.arg("-pz").arg(p);
        }
        cmd.args(["-eval", "avmd_host:main()"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(HostError::Spawn)?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let shared: Arc<(Mutex<Shared>, Condvar)> = Arc::default();
        let (reply_tx, replies) = mpsc::channel();

        let sh = shared.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            while let Ok(bytes) = read_frame(&mut r) {
                dispatch(&bytes, &sh, &reply_tx);
            }
            let (lock, cv) = &*sh;
            lock.lock().unwrap().exited = true;
            cv.notify_all();
        });
        let sh = shared.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stderr);
            let mut line = String::new();
            while std::io::BufRead::read_line(&mut r, &mut line).unwrap_or(0) > 0 {
                broadcast(&sh, line.trim_end().to_string(), ConsoleStream::Harness);
                line.clear();
            }
        });

        let mut host = HostRuntime {
            child,
            stdin,
            replies,
            shared,
            assigned_port,
        };
        host.request(&["ping"])?;
        let heap = cfg.max_heap_words.unwrap_or(0).to_string();
        let port = assigned_port.to_string();
        host.request(&["config", platform, &overrides, &port, &heap])?;
        Ok(host)
    }

    fn request(&mut self, fields: &[&str]) -> Result<(), HostError> {
        let payload = fields.join("\t");
        let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(payload.as_bytes());
        self.stdin
            .write_all(&frame)
            .and_then(|_| self.stdin.flush())
            .map_err(|_| HostError::Exited)?;
        match self.replies.recv_timeout(REQUEST_TIMEOUT) {
            Ok(r) if r.ok => Ok(()),
            Ok(r) => Err(HostError::Rejected(
                r.error.unwrap_or_else(|| "request failed".into()),
            )),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(HostError::Timeout(REQUEST_TIMEOUT)),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(HostError::Exited),
        }
    }

    /// (Re)boots the app from `avm`: stops the running app's processes, unloads its modules, loads the
    /// new bundle's modules from its bytes, registers its priv files and calls `start/0` in a new
    /// process. Returns once `start/0` is running; a crash in it arrives as a console line.
    pub fn load_bundle(&mut self, avm: &Path) -> Result<(), HostError> {
        let path = avm
            .canonicalize()
            .map_err(|e| HostError::Rejected(format!("{}: {e}", avm.display())))?;
        let text = path.display().to_string();
        if text.contains(['\t', '\n']) {
            return Err(HostError::Rejected(format!(
                "{text:?} holds a tab or newline"
            )));
        }
        {
            let mut s = self.shared.0.lock().unwrap();
            s.port = None;
        }
        self.request(&["load", &text])
    }

    /// Stops the app (its processes and modules); the VM keeps running.
    pub fn stop_app(&mut self) -> Result<(), HostError> {
        self.shared.0.lock().unwrap().port = None;
        self.request(&["stop"])
    }

    /// The port the app listens on, once the harness has seen its listening socket.
    pub fn port(&self) -> Option<u16> {
        self.shared.0.lock().unwrap().port
    }

    /// The port handed to the app's `httpd_server` through `httpd_overrides` (fixed for this runtime).
    pub fn assigned_port(&self) -> u16 {
        self.assigned_port
    }

    /// Waits up to `timeout` for the app to listen; the port, or None.
    pub fn wait_for_port(&self, timeout: Duration) -> Option<u16> {
        let (lock, cv) = &*self.shared;
        let guard = lock.lock().unwrap();
        let (guard, _) = cv
            .wait_timeout_while(guard, timeout, |s| s.port.is_none() && !s.exited)
            .unwrap();
        guard.port
    }

    /// A new receiver of console lines (each subscriber gets every line from now on).
    pub fn subscribe(&self) -> Receiver<ConsoleLine> {
        let (tx, rx) = mpsc::channel();
        self.shared.0.lock().unwrap().subscribers.push(tx);
        rx
    }

    /// Same as `subscribe`.
    pub fn console(&self) -> Receiver<ConsoleLine> {
        self.subscribe()
    }

    /// Whether the harness VM is still alive.
    pub fn is_running(&self) -> bool {
        !self.shared.0.lock().unwrap().exited
    }

    /// Stops the app and the VM.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        // Closing stdin makes the harness halt; kill in case it is stuck.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HostRuntime {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn dispatch(bytes: &[u8], shared: &Arc<(Mutex<Shared>, Condvar)>, replies: &Sender<Reply>) {
    let text = String::from_utf8_lossy(bytes);
    let frame: Frame = match serde_json::from_str(&text) {
        Ok(f) => f,
        Err(e) => {
            broadcast(
                shared,
                format!("malformed harness frame: {e}"),
                ConsoleStream::Harness,
            );
            return;
        }
    };
    if frame.reply.is_some() {
        let _ = replies.send(Reply {
            ok: frame.ok,
            error: frame.error,
        });
        return;
    }
    match frame.event.as_deref() {
        Some("console") => {
            let stream = match frame.stream.as_deref() {
                Some("stdout") => ConsoleStream::Stdout,
                Some("crash") => ConsoleStream::Crash,
                _ => ConsoleStream::Harness,
            };
            broadcast(shared, frame.text.unwrap_or_default(), stream);
        }
        Some("listening") => {
            let (lock, cv) = &**shared;
            let mut s = lock.lock().unwrap();
            s.port = frame.port;
            s.listen_events += 1;
            cv.notify_all();
        }
        Some("app_returned") => broadcast(
            shared,
            format!("start/0 returned {}", frame.value.unwrap_or_default()),
            ConsoleStream::Harness,
        ),
        Some("app_crashed") => broadcast(
            shared,
            format!("start/0 crashed: {}", frame.error.unwrap_or_default()),
            ConsoleStream::Crash,
        ),
        _ => {}
    }
}

fn broadcast(shared: &Arc<(Mutex<Shared>, Condvar)>, text: String, stream: ConsoleStream) {
    let mut s = shared.0.lock().unwrap();
    let line = ConsoleLine { text, stream };
    s.subscribers.retain(|tx| tx.send(line.clone()).is_ok());
}

fn read_frame(r: &mut impl Read) -> Result<Vec<u8>, HostError> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).map_err(|_| HostError::Exited)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(HostError::Protocol(format!("frame of {len} bytes")));
    }
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf).map_err(|_| HostError::Exited)?;
    Ok(buf)
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The user's `httpd_overrides` map text (checked to look like a map; the harness parses it), or `#{}`.
fn overrides_term(user: Option<&str>) -> Result<String, HostError> {
    match user.map(str::trim).filter(|u| !u.is_empty()) {
        None => Ok("#{}".to_string()),
        Some(u) => {
            let u = u.trim_end_matches('.');
            if !(u.starts_with("#{") && u.ends_with('}')) || u.contains(['\t', '\n']) {
                return Err(HostError::BadOverrides(u.to_string()));
            }
            Ok(u.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_must_look_like_a_map() {
        assert_eq!(overrides_term(None).unwrap(), "#{}");
        assert_eq!(overrides_term(Some("  ")).unwrap(), "#{}");
        assert_eq!(
            overrides_term(Some("#{max_body => 10}.")).unwrap(),
            "#{max_body => 10}"
        );
        assert!(overrides_term(Some("[1,2]")).is_err());
        assert!(overrides_term(Some("#{a => 1}\n#{}")).is_err());
    }

    #[test]
    fn frames_route_replies_events_and_console_lines() {
        let shared: Arc<(Mutex<Shared>, Condvar)> = Arc::default();
        let (tx, rx) = mpsc::channel();
        let (ctx, crx) = mpsc::channel();
        shared.0.lock().unwrap().subscribers.push(ctx);
        dispatch(
            br#"{"reply":"load","ok":false,"error":"bad"}"#,
            &shared,
            &tx,
        );
        dispatch(
            br#"{"event":"console","stream":"crash","text":"boom"}"#,
            &shared,
            &tx,
        );
        dispatch(br#"{"event":"listening","port":4242}"#, &shared, &tx);
        dispatch(b"not json", &shared, &tx);
        let r = rx.try_recv().unwrap();
        assert!(!r.ok && r.error.as_deref() == Some("bad"));
        assert_eq!(
            crx.try_recv().unwrap(),
            ConsoleLine {
                text: "boom".into(),
                stream: ConsoleStream::Crash
            }
        );
        assert_eq!(crx.try_recv().unwrap().stream, ConsoleStream::Harness);
        assert_eq!(shared.0.lock().unwrap().port, Some(4242));
    }
}
