//! `avmd`: the command-line entry point. Parses flags and hands each subcommand to its own module.

use clap::{Parser, Subcommand};

mod build_once;
mod clock;
mod cmd_build;
mod cmd_dev;
mod cmd_devices;
mod cmd_inspect;
mod cmd_key;
mod cmd_lsp;
mod cmd_new;
mod cmd_provision;
mod cmd_push;
mod cmd_run;
mod cmd_sim;
mod dashboard;
mod dev;
mod history;
mod logging;
mod ota;
mod provision;
mod vm;

#[derive(Parser)]
#[command(
    name = "avmd",
    version,
    about = "Build, run and develop AtomVM web apps"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// How log lines are written.
    #[arg(long, value_enum, default_value = "text", global = true)]
    log_format: logging::LogFormat,
}

#[derive(Subcommand)]
enum Command {
    /// Compile a handler project and pack its .avm bundle.
    Build(cmd_build::Args),
    /// Boot a project's bundle on host OTP the way a device would, and serve it on 127.0.0.1.
    Run(cmd_run::Args),
    /// Watch a project, rebuild on save, serve it with live reload and a dashboard.
    Dev(cmd_dev::Args),
    /// List the sections, modules and priv files of an .avm bundle.
    Inspect(cmd_inspect::Args),
    /// Run the language server over stdio (for editors).
    Lsp(cmd_lsp::Args),
    /// Scaffold a new handler project.
    New(cmd_new::Args),
    /// The project's OTA signing key: new, show, rotate.
    Key(cmd_key::Args),
    /// Push the project's bundle over the network to devices (signed, resumable, fleet-wide).
    Push(cmd_push::Args),
    /// The devices on the LAN and in the registry: list (with what they run), watch, add, remove, rename, info.
    Devices(cmd_devices::Args),
    /// Every push attempt, newest first.
    History(cmd_push::HistoryArgs),
    /// Simulated ESP32 devices on 127.0.0.1 that take pushes like real ones.
    Sim(cmd_sim::Args),
    /// First install of a device over serial: partition table, NVS (name, Wi-Fi, OTA key), the app.
    Provision(cmd_provision::Args),
}

fn main() {
    let cli = Cli::parse();
    logging::init(cli.verbose, cli.log_format);
    let result = match cli.command {
        Command::Build(args) => cmd_build::run(args),
        Command::Run(args) => cmd_run::run(args),
        Command::Dev(args) => cmd_dev::run(args),
        Command::Inspect(args) => cmd_inspect::run(args),
        Command::Lsp(args) => cmd_lsp::run(args),
        Command::New(args) => cmd_new::run(args),
        Command::Key(args) => cmd_key::run(args),
        Command::Push(args) => cmd_push::run(args),
        Command::Devices(args) => cmd_devices::run(args),
        Command::History(args) => cmd_push::history(args),
        Command::Sim(args) => cmd_sim::run(args),
        Command::Provision(args) => cmd_provision::run(args),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            eprintln!("avmd: error: {err:#}");
            std::process::exit(2);
        }
    }
}
