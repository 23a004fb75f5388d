//! The one interface to every place a bundle runs: the host OTP harness ([`crate::host::HostRuntime`])
//! today, the real AtomVM and simulated devices beside it. A runner takes the bundle's bytes exactly as
//! the engine assembled them (what a device would be flashed with) and boots its start module; whatever
//! the place needs first (OTP-loadable literals, a file for a VM to map) the runner does itself.

use std::sync::mpsc::Receiver;
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
    /// The port the app listens on, once seen.
    fn port(&self) -> Option<u16>;
    /// Waits up to `timeout` for the app to listen; the port, or None.
    fn wait_for_port(&self, timeout: Duration) -> Option<u16>;
    /// A new receiver of console lines (each gets every line from now on).
    fn subscribe(&self) -> Receiver<ConsoleLine>;
    /// Whether the VM is still alive.
    fn is_running(&self) -> bool;
}
