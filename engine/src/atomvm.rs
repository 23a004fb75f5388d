//! The real AtomVM as a runner: the generic_unix build of the pinned commit (scripts/atomvm.sh),
//! started as `AtomVM app.avm atomvmlib.avm` the way a device boots its app partition. AtomVM cannot
//! reload code, so every boot starts a new VM process; the VM exits when the start module's
//! `start/0` returns. The port and address reach `httpd_server` through the environment
//! (`AVMD_HTTPD_PORT`, `AVMD_HTTPD_ADDRESS`), since AtomVM's `application:get_env/3` always answers
//! its default.

use crate::crash_dump::CrashDumpReader;
use crate::runner::{ConsoleLine, ConsoleStream, RunError, Runner, SharedRunState};
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The AtomVM commit the project tests against (../shared/atomvm/FACTS.md).
pub const ATOMVM_COMMIT: &str = "7b2821593d9e";
/// The build scripts/atomvm.sh makes (its `flavour`): part of the cache directory's name.
pub const ATOMVM_FLAVOUR: &str = "release";
/// How long a booted app may take to listen before `wait_for_port` gives up on it.
const LISTEN_POLL: Duration = Duration::from_millis(25);
const VM: &str = "AtomVM";
/// The build script, embedded so that `avmd` can build the VM wherever it runs.
const BUILD_SCRIPT: &str = include_str!("../../scripts/atomvm.sh");

/// Where a built AtomVM lives: the VM binary and its standard library pack.
#[derive(Debug, Clone)]
pub struct VmInstall {
    pub binary: PathBuf,
    pub stdlib: PathBuf,
}

impl VmInstall {
    /// The cache directory scripts/atomvm.sh builds into (`AVMD_ATOMVM_DIR` overrides it).
    pub fn default_dir() -> PathBuf {
        if let Some(dir) = std::env::var_os("AVMD_ATOMVM_DIR") {
            return PathBuf::from(dir);
        }
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        cache
            .join("avmd")
            .join(format!("atomvm-{ATOMVM_COMMIT}-{ATOMVM_FLAVOUR}"))
    }

    /// The VM in `dir`, if it is built there.
    pub fn in_dir(dir: &Path) -> Option<VmInstall> {
        let v = VmInstall {
            binary: dir.join("AtomVM"),
            stdlib: dir.join("atomvmlib.avm"),
        };
        (v.binary.is_file() && v.stdlib.is_file()).then_some(v)
    }

    /// The built VM, building it first (about a minute, once) when the cache has none. The script's
    /// progress goes to this process's stderr.
    pub fn ensure() -> Result<VmInstall, RunError> {
        let dir = Self::default_dir();
        if let Some(v) = Self::in_dir(&dir) {
            return Ok(v);
        }
        let script = std::env::temp_dir().join(format!("avmd-atomvm-{}.sh", std::process::id()));
        std::fs::write(&script, BUILD_SCRIPT).map_err(spawn_err)?;
        let mut cmd = Command::new("bash");
        cmd.arg(&script)
            .env("AVMD_ATOMVM_CACHE", &dir)
            .stdout(Stdio::null());
        // From a checkout, the pinned sources beside it (../shared/atomvm) build the VM offline.
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
        if shared.is_dir() {
            cmd.env("AVMD_SHARED", shared);
        }
        let status = cmd.status().map_err(spawn_err);
        let _ = std::fs::remove_file(&script);
        if !status?.success() {
            return Err(RunError::Rejected(
                "could not build AtomVM (see the messages above; scripts/atomvm.sh builds it by hand)"
                    .into(),
            ));
        }
        Self::in_dir(&dir).ok_or_else(|| {
            RunError::Rejected(format!("AtomVM build left nothing in {}", dir.display()))
        })
    }
}

#[derive(Debug, Clone)]
pub struct AtomVmConfig {
    pub vm: VmInstall,
    /// The port the app's `httpd_server` binds on 127.0.0.1; 0 = pick a free one (kept across boots).
    pub port: u16,
    /// Where the bundle file the VM maps is written; None = a temp dir of this runner's own.
    pub state_dir: Option<PathBuf>,
    /// More environment for the VM (`AVMD_HTTPD_PROFILE`, `AVMD_HTTPD_RELOAD_URL` in `avmd dev`).
    pub env: Vec<(String, String)>,
}

/// The runner's shared state; its generation is bumped on every boot, so a poller of an old VM cannot
/// report its port as the new one's.
type SharedState = SharedRunState;

pub struct AtomVmRuntime {
    cfg: AtomVmConfig,
    assigned_port: u16,
    bundle_file: PathBuf,
    child: Arc<Mutex<Option<Child>>>,
    shared: SharedState,
}

impl AtomVmRuntime {
    pub fn new(cfg: AtomVmConfig) -> Result<AtomVmRuntime, RunError> {
        let assigned_port = if cfg.port == 0 {
            free_port().map_err(spawn_err)?
        } else {
            cfg.port
        };
        let dir = cfg.state_dir.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("avmd-vm-{}", std::process::id()))
        });
        std::fs::create_dir_all(&dir).map_err(spawn_err)?;
        let shared = SharedState::default();
        shared.lock().exited = true;
        Ok(AtomVmRuntime {
            bundle_file: dir.join("app.avm"),
            cfg,
            assigned_port,
            child: Arc::default(),
            shared,
        })
    }

    fn kill_vm(&mut self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let mut s = self.shared.lock();
        s.port = None;
        s.exited = true;
        drop(s);
        self.shared.notify();
    }
}

impl Drop for AtomVmRuntime {
    fn drop(&mut self) {
        self.kill_vm();
    }
}

impl Runner for AtomVmRuntime {
    fn name(&self) -> &'static str {
        VM
    }

    /// Stops the running VM, writes the bundle where the new VM maps it, and starts the VM on it.
    /// A bundle that is not an .avm is refused before the running app is touched.
    fn boot(&mut self, bundle: &[u8]) -> Result<(), RunError> {
        crate::packbeam::read(bundle)
            .map_err(|e| RunError::Rejected(format!("not an AtomVM bundle: {e}")))?;
        self.kill_vm();
        let tmp = self.bundle_file.with_extension("avm.tmp");
        std::fs::write(&tmp, bundle)
            .and_then(|_| std::fs::rename(&tmp, &self.bundle_file))
            .map_err(spawn_err)?;

        // stdbuf: AtomVM writes stdout with stdio, block-buffered into a pipe; line-buffer it so the
        // console shows each line as the app prints it.
        let mut cmd = if Path::new("/usr/bin/stdbuf").exists() {
            let mut c = Command::new("/usr/bin/stdbuf");
            c.args(["-oL", "-eL"]).arg(&self.cfg.vm.binary);
            c
        } else {
            Command::new(&self.cfg.vm.binary)
        };
        cmd.arg(&self.bundle_file)
            .arg(&self.cfg.vm.stdlib)
            .env("AVMD_HTTPD_PORT", self.assigned_port.to_string())
            .env("AVMD_HTTPD_ADDRESS", "127.0.0.1")
            .envs(self.cfg.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        die_with_parent(&mut cmd);
        let mut child = cmd.spawn().map_err(spawn_err)?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();

        let boot = {
            let mut s = self.shared.lock();
            s.generation += 1;
            s.exited = false;
            s.port = None;
            s.generation
        };
        *self.child.lock().unwrap() = Some(child);

        if let Some(out) = stdout {
            let sh = self.shared.clone();
            std::thread::spawn(move || {
                for line in lines(out) {
                    broadcast(
                        &sh,
                        ConsoleLine {
                            text: line,
                            stream: ConsoleStream::Stdout,
                        },
                    );
                }
            });
        }
        if let Some(err) = stderr {
            let sh = self.shared.clone();
            let child = self.child.clone();
            std::thread::spawn(move || {
                let mut reader = CrashDumpReader::default();
                for line in lines(err) {
                    if let Some(l) = reader.line(&line) {
                        broadcast(&sh, l);
                    }
                }
                if let Some(l) = reader.finish() {
                    broadcast(&sh, l);
                }
                // stderr closes when the VM exits: reap it and say so.
                let status = child.lock().unwrap().as_mut().and_then(|c| c.wait().ok());
                let mut s = sh.lock();
                if s.generation == boot {
                    s.exited = true;
                    s.port = None;
                    drop(s);
                    sh.notify();
                    if let Some(status) = status {
                        broadcast(
                            &sh,
                            ConsoleLine {
                                text: format!("AtomVM exited ({status})"),
                                stream: ConsoleStream::Harness,
                            },
                        );
                    }
                }
            });
        }
        let sh = self.shared.clone();
        let port = self.assigned_port;
        std::thread::spawn(move || poll_listen(&sh, boot, port));
        Ok(())
    }

    fn stop_app(&mut self) -> Result<(), RunError> {
        self.kill_vm();
        Ok(())
    }

    fn assigned_port(&self) -> u16 {
        self.assigned_port
    }

    fn run_state(&self) -> &SharedRunState {
        &self.shared
    }
}

/// Connects to the app's port until it accepts (the app listens) or this boot's VM is gone. AtomVM
/// prints nothing of its own when a socket listens, and the app's own line is its business.
fn poll_listen(shared: &SharedState, boot: u64, port: u16) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    loop {
        {
            let s = shared.lock();
            if s.generation != boot || s.exited {
                return;
            }
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            let mut s = shared.lock();
            if s.generation == boot && !s.exited {
                s.port = Some(port);
                drop(s);
                shared.notify();
            }
            return;
        }
        // Backs off to one try every 500 ms for an app that takes long to listen (or never does).
        let pause = if start.elapsed() < Duration::from_secs(5) {
            LISTEN_POLL
        } else {
            Duration::from_millis(500)
        };
        std::thread::sleep(pause);
    }
}

/// A pipe's lines, lossily decoded (an app may print any bytes).
fn lines(r: impl Read) -> impl Iterator<Item = String> {
    BufReader::new(r)
        .split(b'\n')
        .map_while(Result::ok)
        .map(|l| {
            String::from_utf8_lossy(&l)
                .trim_end_matches('\r')
                .to_string()
        })
}

fn broadcast(shared: &SharedState, line: ConsoleLine) {
    shared.broadcast(line);
}

/// A VM left behind by a killed avmd would hold the port and serve a stale app: on Linux the kernel
/// kills it when the thread that started it ends (the host harness's erl ends when its stdin closes).
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches only the child being set up.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

fn spawn_err(source: std::io::Error) -> RunError {
    RunError::Spawn { vm: VM, source }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
