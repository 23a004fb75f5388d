//! The one interface to every place a bundle runs: the host OTP harness ([`crate::host::HostRuntime`])
//! today, the real AtomVM and simulated devices beside it. A runner takes the bundle's bytes exactly as
//! the engine assembled them (what a device would be flashed with) and boots its start module; whatever
//! the place needs first (OTP-loadable literals, a file for a VM to map) the runner does itself.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsoleStream {
    /// What the app printed (io:format and friends), line by line.
    Stdout,
    /// Crash reports and other log events.
    Crash,
    /// The runner's own notes (a module it skipped, esp:restart/0, the VM's stderr).
    Harness,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleLine {
    pub text: String,
    pub stream: ConsoleStream,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot start the {vm}: {source}")]
    Spawn {
        vm: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("the VM exited")]
    Exited,
    #[error("the VM did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the VM sent a malformed frame: {0}")]
    Protocol(String),
    #[error("{0}")]
    Rejected(String),
    #[error("httpd_overrides must be an Erlang map term, got {0:?}")]
    BadOverrides(String),
}

/// A place that boots bundles.
pub trait Runner {
    /// Which VM this is, for messages ("host OTP", "AtomVM").
    fn name(&self) -> &'static str;
    /// (Re)boots the app from `bundle` (the `.avm` bytes): the old app stops first. Returns once its
    /// `start/0` runs; a crash in it arrives as a console line.
    fn boot(&mut self, bundle: &[u8]) -> Result<(), RunError>;
    /// Stops the app; the runner can boot another.
    fn stop_app(&mut self) -> Result<(), RunError>;
    /// The port handed to the app (fixed for the runner's life, even while no app listens).
    fn assigned_port(&self) -> u16;
    /// The state its threads keep: port, exit, console subscribers.
    fn run_state(&self) -> &SharedRunState;
    /// The port the app listens on, once seen.
    fn port(&self) -> Option<u16> {
        self.run_state().port()
    }
    /// Waits up to `timeout` for the app to listen; the port, or None.
    fn wait_for_port(&self, timeout: Duration) -> Option<u16> {
        self.run_state().wait_for_port(timeout)
    }
    /// A new receiver of console lines (each gets every line from now on).
    fn subscribe(&self) -> Receiver<ConsoleLine> {
        self.run_state().subscribe()
    }
    /// Whether the VM is still alive.
    fn is_running(&self) -> bool {
        self.run_state().is_running()
    }
}

/// What a runner's reader threads and its callers share: the app's port once it listens, whether the
/// VM exited, the console subscribers, and a generation (a new boot, a new bind) so a waiter can tell
/// a fresh port from an old one. One mutex, and a condvar for `wait_for_port`.
#[derive(Default)]
pub struct RunState {
    pub subscribers: Vec<Sender<ConsoleLine>>,
    pub port: Option<u16>,
    pub generation: u64,
    pub exited: bool,
}

/// A runner's [`RunState`], shared with its threads.
#[derive(Default, Clone)]
pub struct SharedRunState(pub Arc<(Mutex<RunState>, Condvar)>);

impl SharedRunState {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, RunState> {
        self.0 .0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes `wait_for_port` waiters after a change.
    pub fn notify(&self) {
        self.0 .1.notify_all();
    }

    pub fn port(&self) -> Option<u16> {
        self.lock().port
    }

    /// The port once the app listens, `None` when the VM exits first or `timeout` passes.
    pub fn wait_for_port(&self, timeout: Duration) -> Option<u16> {
        let (lock, cv) = &*self.0;
        let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = cv
            .wait_timeout_while(guard, timeout, |s| s.port.is_none() && !s.exited)
            .unwrap_or_else(|e| e.into_inner());
        guard.port
    }

    pub fn subscribe(&self) -> Receiver<ConsoleLine> {
        let (tx, rx) = mpsc::channel();
        self.lock().subscribers.push(tx);
        rx
    }

    pub fn is_running(&self) -> bool {
        !self.lock().exited
    }

    /// Sends a console line to every subscriber still listening.
    pub fn broadcast(&self, line: ConsoleLine) {
        self.lock()
            .subscribers
            .retain(|tx| tx.send(line.clone()).is_ok());
    }
}
