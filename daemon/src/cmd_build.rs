//! `avmd build [PATH] [--json]`: compiles the project at PATH in the resident compile VM, checks it against
//! AtomVM's API and writes `PATH/_build/avmd/<app>.avm`. Prints diagnostics as `file:line:col: severity:
//! message`, then the bundle's size against its partition, the largest modules and the SHA-256; `--json`
//! prints one object instead. Exit 1 when the build has errors.

use avmd_engine::build::{BuildOutcome, Engine};
use avmd_engine::diagnostic::Diagnostic;
use avmd_engine::project::Project;
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The project directory (holding avmd.toml, rebar.config or mix.exs).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Print one JSON object: {bundle, sha256, size, diagnostics, ...}.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let project = match Project::discover(&args.path) {
        Ok(p) => p,
        Err(e) => {
            if args.json {
                println!(
                    "{}",
                    json!({"bundle": null, "sha256": null, "size": null,
                    "diagnostics": [{"file": null, "line": 0, "column": 0, "severity": "error",
                                     "source": "project", "message": e.to_string()}]})
                );
            } else {
                eprintln!("avmd: error: {e}");
            }
            return Ok(1);
        }
    };
    let mut engine = Engine::open(project)?;
    let outcome = engine.build()?;
    if args.json {
        println!("{}", outcome_json(&outcome));
    } else {
        print!("{}", outcome_text(&outcome));
    }
    Ok(if outcome.bundle.is_some() && !outcome.has_errors() {
        0
    } else {
        1
    })
}

/// A diagnostic as the JSON outputs (`build --json`, the dashboard) carry it.
pub fn diagnostic_json(d: &Diagnostic) -> Value {
    json!({
        "file": d.file.as_ref().map(|f| f.display().to_string()),
        "line": d.line,
        "column": d.column,
        "severity": d.severity.as_str(),
        "source": d.source.as_str(),
        "message": d.message,
    })
}

pub fn outcome_json(o: &BuildOutcome) -> Value {
    let b = o.bundle.as_ref();
    json!({
        "bundle": b.map(|b| b.path.display().to_string()),
        "sha256": b.map(|b| b.sha256.clone()),
        "size": b.map(|b| b.size),
        "partition_size": b.map(|b| b.partition_size),
        "modules": b.map(|b| b.modules.clone()),
        "largest": b.map(|b| b.largest.iter().map(|(n, s)| json!({"name": n, "size": s})).collect::<Vec<_>>()),
        "runtime_unused": b.map(|b| b.runtime_unused.clone()),
        "diagnostics": o.diagnostics.iter().map(diagnostic_json).collect::<Vec<_>>(),
        "n_compiled": o.n_compiled,
        "n_modules": o.n_modules,
        "duration_ms": o.duration.as_millis() as u64,
    })
}

pub fn outcome_text(o: &BuildOutcome) -> String {
    let mut out = String::new();
    for d in &o.diagnostics {
        out.push_str(&d.render());
        out.push('\n');
    }
    match &o.bundle {
        Some(b) => {
            out.push_str(&format!(
                "built {} ({} modules, {} compiled in {} ms)\n",
                b.path.display(),
                b.modules.len(),
                o.n_compiled,
                o.duration.as_millis()
            ));
            out.push_str(&format!(
                "size   {} bytes = {:.1}% of the {} byte app partition\n",
                b.size,
                b.size as f64 * 100.0 / b.partition_size as f64,
                b.partition_size
            ));
            let largest: Vec<String> = b.largest.iter().map(|(n, s)| format!("{n} {s}")).collect();
            out.push_str(&format!("largest {}\n", largest.join(", ")));
            if !b.runtime_unused.is_empty() {
                out.push_str(&format!(
                    "left out (runtime modules the app does not use) {}\n",
                    b.runtime_unused.join(", ")
                ));
            }
            out.push_str(&format!("sha256 {}\n", b.sha256));
        }
        None => {
            let errors = o
                .diagnostics
                .iter()
                .filter(|d| d.severity == avmd_engine::diagnostic::Severity::Error)
                .count();
            out.push_str(&format!(
                "build failed: {errors} error(s); no bundle written\n"
            ));
        }
    }
    out
}
