//! `avmd inspect FILE [--json]`: what is inside an `.avm` bundle — sections with decoded flags, sizes and
//! offsets, the modules and which one the VM starts, priv files, total size and SHA-256. A malformed file
//! gets one clear line and exit status 1.

use std::path::PathBuf;

use anyhow::Context;
use avmd_engine::beam;
use avmd_engine::packbeam::{self, Entry, FLAG_BEAM, FLAG_DATA, FLAG_START};
use serde_json::json;

#[derive(clap::Args)]
pub struct Args {
    /// The .avm bundle to read.
    pub file: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// What `inspect` found, in the terms both outputs use.
struct Report {
    path: String,
    size: usize,
    sha256: String,
    entries: Vec<Entry>,
    /// Index into `entries` of the section the VM starts: the first with the start flag.
    start: Option<usize>,
    /// Per BEAM section: (module name, chunk ids).
    modules: Vec<(usize, String, Vec<String>)>,
    warnings: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let path = args.file.display().to_string();
    let entries = match packbeam::read_entries(&bytes) {
        Ok(entries) => entries,
        Err(e) => {
            eprintln!("avmd: error: {path}: {e}");
            return Ok(1);
        }
    };
    let report = analyse(path, &bytes, entries);
    if args.json {
        println!("{}", to_json(&report));
    } else {
        print!("{}", to_text(&report));
    }
    Ok(0)
}

fn analyse(path: String, bytes: &[u8], entries: Vec<Entry>) -> Report {
    let start = entries.iter().position(|e| e.section.is_start());
    let mut modules = Vec::new();
    let mut warnings = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if !e.section.is_beam() {
            continue;
        }
        // `read_entries` has already parsed every BEAM section, so this cannot fail; stay graceful anyway.
        let Ok(b) = beam::parse(&e.section.data) else {
            continue;
        };
        let ids: Vec<String> = b.chunks.iter().map(|c| c.id_str()).collect();
        if b.chunk(b"LitT").is_some() {
            warnings.push(format!(
                "{}: compressed literals (LitT); esp32, rp2 and stm32 cannot load it",
                e.section.name
            ));
        }
        if e.section.name != format!("{}.beam", b.module) {
            warnings.push(format!(
                "{}: holds module {}; the VM finds modules by section name",
                e.section.name, b.module
            ));
        }
        if e.section.is_start() && !beam::exports_start0(&b) {
            warnings.push(format!(
                "{}: has the start flag but does not export start/0",
                e.section.name
            ));
        }
        modules.push((i, b.module, ids));
    }
    if start.is_none() && !modules.is_empty() {
        warnings.push("no section has the start flag: the VM has nothing to run".to_string());
    }
    let n_start = entries.iter().filter(|e| e.section.is_start()).count();
    if n_start > 1 {
        warnings.push(format!(
            "{n_start} sections have the start flag; the VM runs the first"
        ));
    }
    Report {
        path,
        size: bytes.len(),
        sha256: packbeam::sha256_hex(bytes),
        entries,
        start,
        modules,
        warnings,
    }
}

fn flag_names(flags: u32) -> Vec<&'static str> {
    let mut names = Vec::new();
    if flags & FLAG_START != 0 {
        names.push("start");
    }
    if flags & FLAG_BEAM != 0 {
        names.push("beam");
    }
    if flags & FLAG_DATA != 0 {
        names.push("data");
    }
    names
}

fn to_text(r: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!("{}\n", r.path));
    out.push_str(&format!("  size    {} bytes\n", r.size));
    out.push_str(&format!("  sha256  {}\n", r.sha256));
    out.push_str(&format!("\nsections ({}):\n", r.entries.len()));
    out.push_str(&format!(
        "  {:>8}  {:>8}  {:<14}  name\n",
        "offset", "size", "flags"
    ));
    for e in &r.entries {
        out.push_str(&format!(
            "  {:>8}  {:>8}  {:<14}  {}\n",
            e.offset,
            e.size,
            format!(
                "{} ({})",
                e.section.flags,
                flag_names(e.section.flags).join("+")
            ),
            e.section.name
        ));
    }
    out.push_str(&format!("\nmodules ({}):\n", r.modules.len()));
    for (i, module, chunks) in &r.modules {
        let mark = if Some(*i) == r.start { "  [start]" } else { "" };
        out.push_str(&format!(
            "  {:<24} {:>8} bytes  {}{}\n",
            module,
            r.entries[*i].section.data.len(),
            chunks.join(" "),
            mark
        ));
    }
    let privs: Vec<&Entry> = r.entries.iter().filter(|e| e.section.is_data()).collect();
    out.push_str(&format!("\npriv files ({}):\n", privs.len()));
    for e in privs {
        out.push_str(&format!(
            "  {:<40} {:>8} bytes\n",
            e.section.name,
            e.section.data.len()
        ));
    }
    if !r.warnings.is_empty() {
        out.push_str(&format!("\nwarnings ({}):\n", r.warnings.len()));
        for w in &r.warnings {
            out.push_str(&format!("  {w}\n"));
        }
    }
    out
}

fn to_json(r: &Report) -> serde_json::Value {
    let sections: Vec<_> = r
        .entries
        .iter()
        .map(|e| {
            json!({
                "name": e.section.name,
                "flags": e.section.flags,
                "flag_names": flag_names(e.section.flags),
                "offset": e.offset,
                "size": e.size,
                "data_size": e.section.data.len(),
            })
        })
        .collect();
    let modules: Vec<_> = r
        .modules
        .iter()
        .map(|(i, module, chunks)| {
            json!({
                "name": module,
                "section": r.entries[*i].section.name,
                "start": Some(*i) == r.start,
                "size": r.entries[*i].section.data.len(),
                "chunks": chunks,
            })
        })
        .collect();
    let privs: Vec<_> = r
        .entries
        .iter()
        .filter(|e| e.section.is_data())
        .map(|e| {
            let (app, path) = packbeam::split_priv_name(&e.section.name).unwrap_or(("", ""));
            json!({
                "name": e.section.name,
                "app": app,
                "path": path,
                "size": e.section.data.len(),
            })
        })
        .collect();
    json!({
        "path": r.path,
        "size": r.size,
        "sha256": r.sha256,
        "start_module": r.start.and_then(|i| r.modules.iter().find(|m| m.0 == i)).map(|m| m.1.clone()),
        "sections": sections,
        "modules": modules,
        "priv": privs,
        "warnings": r.warnings,
    })
}
