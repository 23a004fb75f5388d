//! Logging for the `avmd` binary: one `tracing-subscriber` set up from `-v` (repeatable),
//! `RUST_LOG` (wins when set) and `--log-format text|json`. Logs go to stderr so that a command's
//! own output on stdout (`--json`, build reports) stays clean for scripts.

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (for log collectors).
    Json,
}

/// The filter used when `RUST_LOG` is not set: warnings by default, more with each `-v`.
pub fn default_filter(verbosity: u8) -> &'static str {
    match verbosity {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    }
}

/// Installs the global subscriber. Safe to call once per process; a second call is ignored
/// (tests in one process may race to set it).
pub fn init(verbosity: u8, format: LogFormat) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => {
            EnvFilter::try_new(spec.trim()).unwrap_or_else(|err| {
                eprintln!("avmd: warning: RUST_LOG is not a valid filter ({err}); using defaults");
                EnvFilter::new(default_filter(verbosity))
            })
        }
        _ => EnvFilter::new(default_filter(verbosity)),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_raises_the_level() {
        assert_eq!(default_filter(0), "warn");
        assert_eq!(default_filter(1), "info");
        assert_eq!(default_filter(2), "debug");
        assert_eq!(default_filter(9), "trace");
    }

    /// The global `-v`/`--log-format` must not clash with any subcommand's own flags (clap checks
    /// this only when the command is built, so a clash would otherwise surface as a panic at run time).
    #[test]
    fn global_flags_do_not_clash_with_subcommands() {
        use clap::CommandFactory;
        crate::Cli::command().debug_assert();
    }
}
