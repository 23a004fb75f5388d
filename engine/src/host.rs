//! The host runtime: one `erl` running `avmd_host` (runtime/host) that boots a bundle the way a device
//! does — modules loaded from the bundle's sections, priv files registered, the start module's `start/0`
//! called — and reboots it on a new bundle without restarting the VM. The bundle is read here, once, and
//! its beams made OTP-loadable (`beam::for_otp`); the sections cross as one external-term frame
//! (`etf`). Other requests are {packet,4} frames of tab-separated fields; replies and events (console
//! lines, the port the app listens on) come back as {packet,4} frames of JSON, so nothing the app
//! prints can be taken for protocol.

use crate::etf::{self, Term};
pub use crate::runner::{ConsoleLine, ConsoleStream, RunError};
use crate::runner::{Runner, SharedRunState};
use crate::vm_link::{Incoming, VmLink};
use crate::{beam, host_shims, packbeam, runtime_lib};
use serde::Deserialize;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

/// How long a request (loading a bundle, stopping the app) may take before the harness is taken as hung.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Frames bigger than this are a broken harness.
const MAX_FRAME: usize = 16 * 1024 * 1024;
const VM: &str = "host runtime (`erl`)";

#[derive(Debug, Clone, Default)]
pub struct HostConfig {
    /// The port the app's `httpd_server` binds on 127.0.0.1; 0 = pick a free one (kept across reloads).
    pub port: u16,
    /// Device profile; `atomvm:platform/0` answers its platform. None = generic_unix.
    pub profile: Option<crate::profile::Profile>,
    /// Per-process heap cap in words (`max_heap_size`), to feel device memory limits.
    pub max_heap_words: Option<u64>,
    /// An Erlang map term (text) merged into `httpd_overrides` before port/address are set.
    pub httpd_overrides: Option<String>,
    /// Directories put on the VM's code path (behind the shims).
    pub extra_code_paths: Vec<PathBuf>,
    /// Where the device shims keep state across reboots (`nvs.term`, ...); None = beside the bundle
    /// file for `load_bundle`, the system temp dir for `boot`.
    pub state_dir: Option<PathBuf>,
    /// More environment for the VM (`AVMD_FLASH_DIR` for a simulated device).
    pub env: Vec<(String, String)>,
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

/// The runner's shared state; its generation is bumped on every `listening` event, so waiters can
/// tell a new bind from an old one.
type Shared = SharedRunState;

pub struct HostRuntime {
    link: VmLink,
    replies: Receiver<Reply>,
    shared: Shared,
    /// The port handed to the app through `httpd_overrides`.
    assigned_port: u16,
    state_dir: Option<PathBuf>,
}

impl HostRuntime {
    /// Boots the harness VM (about a second) and configures it; no app runs until `boot`.
    pub fn start(cfg: HostConfig) -> Result<HostRuntime, RunError> {
        let host_dir =
            runtime_lib::materialize("host", runtime_lib::host_modules()).map_err(spawn_err)?;
        let assigned_port = if cfg.port == 0 {
            free_port().map_err(spawn_err)?
        } else {
            cfg.port
        };
        let overrides = overrides_term(cfg.httpd_overrides.as_deref())?;
        let platform = cfg
            .profile
            .map_or("generic_unix", |p| p.platform().as_str());

        let mut cmd = Command::new("erl");
        cmd.args(["-noshell", "-noinput", "+Bd", "-pa"])
            .arg(&host_dir);
        for p in &cfg.extra_code_paths {
            cmd.arg("-pz").arg(p);
        }
        cmd.args(["-eval", "avmd_host:main()"]);
        cmd.envs(cfg.env.iter().map(|(k, v)| (k, v)));
        let shared = Shared::default();
        let (reply_tx, replies) = mpsc::channel();
        let on_frame = {
            let sh = shared.clone();
            move |i| match i {
                Incoming::Frame(bytes) => dispatch(&bytes, &sh, &reply_tx),
                Incoming::Closed(_) => {
                    sh.lock().exited = true;
                    sh.notify();
                }
            }
        };
        let on_stderr = {
            let sh = shared.clone();
            move |line| broadcast(&sh, line, ConsoleStream::Harness)
        };
        let link = VmLink::spawn(cmd, MAX_FRAME, on_frame, on_stderr).map_err(spawn_err)?;
        let mut host = HostRuntime {
            link,
            replies,
            shared,
            assigned_port,
            state_dir: cfg.state_dir.clone(),
        };
        host.request(&["ping"])?;
        let heap = cfg.max_heap_words.unwrap_or(0).to_string();
        let port = assigned_port.to_string();
        host.request(&["config", platform, &overrides, &port, &heap])?;
        Ok(host)
    }

    fn request(&mut self, fields: &[&str]) -> Result<(), RunError> {
        self.link
            .send_fields(fields)
            .map_err(|_| RunError::Exited)?;
        self.await_reply()
    }

    fn await_reply(&mut self) -> Result<(), RunError> {
        match self.replies.recv_timeout(REQUEST_TIMEOUT) {
            Ok(r) if r.ok => Ok(()),
            Ok(r) => Err(RunError::Rejected(
                r.error.unwrap_or_else(|| "request failed".into()),
            )),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(RunError::Timeout(REQUEST_TIMEOUT)),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(RunError::Exited),
        }
    }

    /// Reads the bundle file at `avm` and boots it (see [`Runner::boot`]).
    pub fn load_bundle(&mut self, avm: &Path) -> Result<(), RunError> {
        let bytes = std::fs::read(avm)
            .map_err(|e| RunError::Rejected(format!("{}: {e}", avm.display())))?;
        let beside = avm.parent().map(Path::to_path_buf);
        self.boot_in(&bytes, self.state_dir.clone().or(beside))
    }

    fn boot_in(&mut self, bundle: &[u8], state_dir: Option<PathBuf>) -> Result<(), RunError> {
        let dir = state_dir.unwrap_or_else(std::env::temp_dir);
        let frame = load_request(bundle, &dir)?;
        self.shared.lock().port = None;
        self.link.send(&frame).map_err(|_| RunError::Exited)?;
        self.await_reply()
    }

    /// Stops the app and the VM.
    pub fn stop(mut self) {
        self.link.kill();
    }
}

impl Runner for HostRuntime {
    fn name(&self) -> &'static str {
        "host OTP"
    }

    /// Stops the running app's processes, unloads its modules, loads the new bundle's modules,
    /// registers its priv files and calls `start/0` in a new process.
    fn boot(&mut self, bundle: &[u8]) -> Result<(), RunError> {
        self.boot_in(bundle, self.state_dir.clone())
    }

    /// Stops the app (its processes and modules); the VM keeps running.
    fn stop_app(&mut self) -> Result<(), RunError> {
        self.shared.lock().port = None;
        self.request(&["stop"])
    }

    /// Handed to the app's `httpd_server` through `httpd_overrides`.
    fn assigned_port(&self) -> u16 {
        self.assigned_port
    }

    fn run_state(&self) -> &SharedRunState {
        &self.shared
    }
}

fn spawn_err(source: std::io::Error) -> RunError {
    RunError::Spawn { vm: VM, source }
}

/// The load request: `{load, StateDir, Bundle, [{Name, Flags, Data}]}` with every beam made
/// OTP-loadable (`Bundle`, the device bytes, backs the `main.avm` partition shim). A
/// bundle that cannot be read is refused here, before the running app is touched.
fn load_request(bundle: &[u8], state_dir: &Path) -> Result<Vec<u8>, RunError> {
    let sections = packbeam::read(bundle)
        .map_err(|e| RunError::Rejected(format!("not an AtomVM bundle: {e}")))?;
    let mut items = Vec::with_capacity(sections.len());
    for s in sections {
        let data = if s.is_beam() {
            beam::for_otp(&s.data)
                .map_err(|e| e.to_string())
                .and_then(|b| host_shims::for_host(&b).map_err(|e| e.to_string()))
                .map_err(|e| RunError::Rejected(format!("cannot load {}: {e}", s.name)))?
        } else {
            s.data
        };
        items.push(Term::Tuple(vec![
            Term::bin(s.name.into_bytes()),
            Term::Int(i64::from(s.flags)),
            Term::bin(data),
        ]));
    }
    Ok(etf::encode(&Term::Tuple(vec![
        Term::atom("load"),
        Term::bin(state_dir.display().to_string().into_bytes()),
        Term::bin(bundle.to_vec()),
        Term::List(items),
    ])))
}

fn dispatch(bytes: &[u8], shared: &Shared, replies: &Sender<Reply>) {
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
            let mut s = shared.lock();
            s.port = frame.port;
            s.generation += 1;
            drop(s);
            shared.notify();
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

fn broadcast(shared: &Shared, text: String, stream: ConsoleStream) {
    shared.broadcast(ConsoleLine { text, stream });
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The user's `httpd_overrides` map text (checked to look like a map; the harness parses it), or `#{}`.
fn overrides_term(user: Option<&str>) -> Result<String, RunError> {
    match user.map(str::trim).filter(|u| !u.is_empty()) {
        None => Ok("#{}".to_string()),
        Some(u) => {
            let u = u.trim_end_matches('.');
            if !(u.starts_with("#{") && u.ends_with('}')) || u.contains(['\t', '\n']) {
                return Err(RunError::BadOverrides(u.to_string()));
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
        let shared = Shared::default();
        let (tx, rx) = mpsc::channel();
        let (ctx, crx) = mpsc::channel();
        shared.lock().subscribers.push(ctx);
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
        assert_eq!(shared.lock().port, Some(4242));
    }
}
