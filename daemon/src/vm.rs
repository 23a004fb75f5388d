//! The VM a command boots bundles on (`--vm host|atomvm`) and the one place that turns that choice into
//! a `Runner`: `avmd run` and `avmd dev` both come here.

use avmd_engine::atomvm::{AtomVmConfig, AtomVmRuntime, VmInstall};
use avmd_engine::host::{HostConfig, HostRuntime};
use avmd_engine::runner::{RunError, Runner};

/// Where a bundle runs.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmChoice {
    /// Host OTP with device shims: fast, reloads code in place.
    Host,
    /// The real AtomVM (generic_unix, built into ~/.cache/avmd on first use): the interpreter a
    /// device runs; every boot is a new VM.
    Atomvm,
}

/// A runner for `choice`. The host harness takes `host` whole; AtomVM takes its port and state
/// directory, and `atomvm_env` as more environment (it has no application env to take overrides).
pub fn start_runner(
    choice: VmChoice,
    host: HostConfig,
    atomvm_env: Vec<(String, String)>,
) -> Result<Box<dyn Runner + Send>, RunError> {
    Ok(match choice {
        VmChoice::Host => Box::new(HostRuntime::start(host)?),
        VmChoice::Atomvm => Box::new(AtomVmRuntime::new(AtomVmConfig {
            vm: VmInstall::ensure()?,
            port: host.port,
            state_dir: host.state_dir,
            env: atomvm_env,
        })?),
    })
}
