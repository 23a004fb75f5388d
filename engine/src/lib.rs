//! avmd's engine: turns a handler project into an exact AtomVM `.avm` bundle and runs it on host OTP or the real AtomVM.
//! It neither prints nor exits; callers (the `avmd` binary, the language server) decide what to show.

pub mod alternatives;
pub mod analysis;
pub mod assemble;
pub mod atomvm;
pub mod beam;
pub mod build;
pub mod code;
pub mod compat;
pub mod compiler;
pub mod config_keys;
pub mod contract;
pub mod crash_dump;
pub mod dev_modules;
pub mod devpoison;
pub mod diagnostic;
pub mod etf;
pub mod files;
pub mod host;
pub mod host_shims;
pub mod live;
pub mod ota_pub;
pub mod packbeam;
pub mod profile;
pub mod project;
pub mod reach;
pub mod routes;
pub mod runner;
pub mod runtime_lib;
pub mod sites;
pub mod syntax;
pub mod vm_link;
