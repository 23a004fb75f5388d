//! Assembly: compiled modules, runtime modules, priv files and extra libraries in, bundle bytes and
//! diagnostics out. Pure: no files are read or written here (the build reads the inputs and writes the
//! one `.avm`). The steps, in order: one file per module name, a start module exporting `start/0`, the
//! runtime modules the app reaches, the AtomVM API check over everything that ships, sections in a fixed
//! order (start module first, flags 3; the project's modules; the runtime; priv files as
//! `App/priv/Path`; extra libraries), and the size against the partition. Equal inputs give equal bytes.

use crate::beam::{self, Mfa};
use crate::compat::{self, ApiTable, Platform};
use crate::compiler::RemoteCall;
use crate::diagnostic::{Diagnostic, DiagnosticSource};
use crate::packbeam::{self, Section, FLAG_BEAM, FLAG_DATA, FLAG_START};
use crate::reach;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How many of the biggest sections a size report names.
const LARGEST: usize = 5;
/// Warn when the bundle fills more than this share of its partition.
const SIZE_WARN_PERCENT: u64 = 90;

/// A module ready for the bundle.
#[derive(Debug, Clone)]
pub struct DeviceModule {
    pub name: String,
    /// Stripped for the device (AtomVM chunks only, LitU).
    pub beam: Vec<u8>,
    pub imports: Vec<Mfa>,
    pub calls: Vec<RemoteCall>,
    pub file: PathBuf,
}

/// A runtime library module with what it names (`reach`), read once when the engine opens.
#[derive(Debug, Clone)]
pub struct RuntimeModule {
    pub module: DeviceModule,
    pub names: reach::Names,
}

/// Everything a bundle is made from.
pub struct Inputs<'a> {
    pub app: &'a str,
    pub start_module: &'a str,
    pub platform: Platform,
    pub partition_size: u64,
    /// Where the bundle will be written (recorded in the `Bundle`, not touched).
    pub bundle_path: PathBuf,
    /// The project file, where diagnostics about no source file go.
    pub project_file: PathBuf,
    /// The project's modules, sorted by name.
    pub modules: Vec<DeviceModule>,
    /// The runtime library; empty when the project does not bundle it.
    pub runtime: &'a [RuntimeModule],
    /// Ship every runtime module, reached or not.
    pub all_runtime_modules: bool,
    /// Priv files: path relative to `priv/` (with `/`), bytes.
    pub priv_files: Vec<(String, Vec<u8>)>,
    /// Sections of extra `.avm` libraries, start flags cleared.
    pub extra_sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub path: PathBuf,
    /// The `.avm` bytes, what a device is flashed with.
    pub bytes: Arc<[u8]>,
    /// Lowercase hex SHA-256 of the bundle bytes.
    pub sha256: String,
    pub size: u64,
    /// The app partition the bundle must fit in.
    pub partition_size: u64,
    /// Module names in bundle order (start module first).
    pub modules: Vec<String>,
    /// The biggest sections (name, bytes), biggest first.
    pub largest: Vec<(String, u64)>,
    /// Runtime library modules left out because the app does not reach them (sorted).
    pub runtime_unused: Vec<String>,
}

/// Makes the bundle, or `None` with the reasons among the diagnostics.
pub fn assemble(inputs: Inputs) -> (Option<Bundle>, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let bundle = steps(inputs, &mut diagnostics);
    (bundle, diagnostics)
}

fn steps(inputs: Inputs, diagnostics: &mut Vec<Diagnostic>) -> Option<Bundle> {
    let project_error = |message: String| {
        Diagnostic::error(DiagnosticSource::Project, &inputs.project_file, message)
    };
    if let Some(d) = duplicate_module(&inputs.modules) {
        diagnostics.push(d);
        return None;
    }
    let start = match start_module(&inputs.modules, inputs.start_module) {
        Ok(start) => start,
        Err(StartProblem::Missing) => {
            diagnostics.push(project_error(format!(
                "the start module {} is not among the project's modules ({})",
                inputs.start_module,
                names(&inputs.modules).join(", ")
            )));
            return None;
        }
        Err(StartProblem::NoStart0(m)) => {
            diagnostics.push(Diagnostic::error(
                DiagnosticSource::Project,
                &m.file,
                format!(
                    "the start module {} does not export start/0, which the device calls",
                    m.name
                ),
            ));
            return None;
        }
    };
    let (runtime, runtime_unused) = select_runtime(
        &inputs.modules,
        inputs.runtime,
        &inputs.extra_sections,
        inputs.all_runtime_modules,
    );
    let (ok, compat) = check_compat(
        &inputs.modules,
        &runtime,
        &inputs.extra_sections,
        &runtime_unused,
        inputs.platform,
    );
    diagnostics.extend(compat);
    if !ok {
        return None;
    }
    let sections = ordered_sections(
        start,
        &inputs.modules,
        &runtime,
        inputs.app,
        inputs.priv_files,
        inputs.extra_sections,
    );
    let bytes = packbeam::write(&sections);
    let largest = largest_sections(&sections);
    if let Some(d) = size_check(
        bytes.len() as u64,
        inputs.partition_size,
        &largest,
        &inputs.project_file,
    ) {
        let fatal = d.severity == crate::diagnostic::Severity::Error;
        diagnostics.push(d);
        if fatal {
            return None;
        }
    }
    Some(Bundle {
        path: inputs.bundle_path,
        sha256: packbeam::sha256_hex(&bytes),
        size: bytes.len() as u64,
        bytes: bytes.into(),
        partition_size: inputs.partition_size,
        modules: sections
            .iter()
            .filter(|s| s.is_beam())
            .map(|s| s.name.trim_end_matches(".beam").to_string())
            .collect(),
        largest,
        runtime_unused,
    })
}

fn names(modules: &[DeviceModule]) -> Vec<&str> {
    modules.iter().map(|m| m.name.as_str()).collect()
}

/// One module name, one file.
fn duplicate_module(modules: &[DeviceModule]) -> Option<Diagnostic> {
    let mut seen: BTreeMap<&str, &Path> = BTreeMap::new();
    modules.iter().find_map(|m| {
        let first = seen.insert(&m.name, &m.file)?;
        Some(Diagnostic::error(
            DiagnosticSource::Compiler,
            &m.file,
            format!("module {} is also defined in {}", m.name, first.display()),
        ))
    })
}

enum StartProblem<'a> {
    Missing,
    NoStart0(&'a DeviceModule),
}

fn start_module<'a>(
    modules: &'a [DeviceModule],
    name: &str,
) -> Result<&'a DeviceModule, StartProblem<'a>> {
    let start = modules
        .iter()
        .find(|m| m.name == name)
        .ok_or(StartProblem::Missing)?;
    if beam::parse(&start.beam).is_ok_and(|b| beam::exports_start0(&b)) {
        Ok(start)
    } else {
        Err(StartProblem::NoStart0(start))
    }
}

/// The runtime modules that ship (those the app or an extra library reaches, see `reach`, unless all
/// are wanted) and the names of those left out, sorted. A project module shadows a runtime one.
fn select_runtime<'a>(
    modules: &[DeviceModule],
    runtime: &'a [RuntimeModule],
    extra_sections: &[Section],
    all: bool,
) -> (Vec<&'a DeviceModule>, Vec<String>) {
    let own: HashSet<&str> = names(modules).into_iter().collect();
    let candidates: Vec<&RuntimeModule> = runtime
        .iter()
        .filter(|r| !own.contains(r.module.name.as_str()))
        .collect();
    if all {
        return (candidates.iter().map(|r| &r.module).collect(), Vec::new());
    }
    let all_names: Vec<&str> = runtime.iter().map(|r| r.module.name.as_str()).collect();
    let roots: Vec<reach::Names> = modules
        .iter()
        .map(|m| m.beam.as_slice())
        .chain(
            extra_sections
                .iter()
                .filter(|s| s.is_beam())
                .map(|s| s.data.as_slice()),
        )
        .filter_map(|b| beam::parse(b).ok())
        .map(|b| reach::Names::of(&b, &all_names))
        .collect();
    let graph: Vec<(&str, &reach::Names)> = runtime
        .iter()
        .map(|r| (r.module.name.as_str(), &r.names))
        .collect();
    let used = reach::reachable(&roots, &graph);
    let (kept, left): (Vec<&RuntimeModule>, Vec<&RuntimeModule>) = candidates
        .into_iter()
        .partition(|r| used.contains(&r.module.name));
    let mut left: Vec<String> = left.into_iter().map(|r| r.module.name.clone()).collect();
    left.sort();
    (kept.into_iter().map(|r| &r.module).collect(), left)
}

/// The AtomVM API check over everything that ships: misses in the project's modules are errors at
/// the call; misses in the runtime or an extra library are warnings (not the user's to fix). Returns
/// whether the bundle may be made.
fn check_compat(
    modules: &[DeviceModule],
    runtime: &[&DeviceModule],
    extra_sections: &[Section],
    runtime_unused: &[String],
    platform: Platform,
) -> (bool, Vec<Diagnostic>) {
    let mut checked: Vec<(String, Vec<Mfa>)> = modules
        .iter()
        .chain(runtime.iter().copied())
        .map(|m| (m.name.clone(), m.imports.clone()))
        .collect();
    let mut present = Vec::new();
    for s in extra_sections.iter().filter(|s| s.is_beam()) {
        if let Ok(b) = beam::parse(&s.data) {
            present.push(b.module.clone());
            if let Ok(imports) = beam::imports(&b) {
                checked.push((b.module.clone(), imports));
            }
        }
    }
    // A left-out runtime module is named only on paths the app never takes (`reach`'s soft edges):
    // not a missing function.
    present.extend(runtime_unused.iter().cloned());
    let mut ok = true;
    let mut out = Vec::new();
    for miss in compat::check_with(ApiTable::atomvm(), &checked, &present, platform) {
        match modules.iter().find(|m| m.name == miss.module) {
            Some(m) => {
                ok = false;
                let call = m.calls.iter().find(|c| {
                    c.module == miss.call.module
                        && c.function == miss.call.function
                        && c.arity == miss.call.arity
                });
                out.push(match call {
                    Some(c) => Diagnostic::error(DiagnosticSource::Compat, &c.file, miss.message())
                        .at(c.line, c.column),
                    None => Diagnostic::error(DiagnosticSource::Compat, &m.file, miss.message()),
                });
            }
            None => out.push(Diagnostic::warning_nowhere(
                DiagnosticSource::Compat,
                format!("in library module {}: {}", miss.module, miss.message()),
            )),
        }
    }
    (ok, out)
}

/// Sections in the fixed order; an extra library's section never replaces one of ours.
fn ordered_sections(
    start: &DeviceModule,
    modules: &[DeviceModule],
    runtime: &[&DeviceModule],
    app: &str,
    priv_files: Vec<(String, Vec<u8>)>,
    extra_sections: Vec<Section>,
) -> Vec<Section> {
    let section = |m: &DeviceModule, flags: u32| Section {
        name: format!("{}.beam", m.name),
        flags,
        data: m.beam.clone(),
    };
    let mut sections = vec![section(start, FLAG_START | FLAG_BEAM)];
    sections.extend(
        modules
            .iter()
            .filter(|m| m.name != start.name)
            .map(|m| section(m, FLAG_BEAM)),
    );
    sections.extend(runtime.iter().map(|m| section(m, FLAG_BEAM)));
    sections.extend(priv_files.into_iter().map(|(rel, data)| Section {
        name: packbeam::priv_section_name(app, &rel),
        flags: FLAG_DATA,
        data,
    }));
    let taken: HashSet<String> = sections.iter().map(|s| s.name.clone()).collect();
    sections.extend(
        extra_sections
            .into_iter()
            .filter(|s| !taken.contains(&s.name)),
    );
    sections
}

fn largest_sections(sections: &[Section]) -> Vec<(String, u64)> {
    let mut largest: Vec<(String, u64)> = sections
        .iter()
        .map(|s| (s.name.clone(), s.data.len() as u64))
        .collect();
    largest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    largest.truncate(LARGEST);
    largest
}

/// An error when the bundle does not fit its partition, a warning when it nearly fills it.
fn size_check(
    size: u64,
    partition: u64,
    largest: &[(String, u64)],
    project_file: &Path,
) -> Option<Diagnostic> {
    let line = format!(
        "bundle is {size} bytes, {}% of the {partition} byte app partition; largest: {}",
        size * 100 / partition.max(1),
        largest
            .iter()
            .map(|(n, s)| format!("{n} {s}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if size > partition {
        Some(Diagnostic::error(
            DiagnosticSource::Size,
            project_file,
            format!("{line}: it does not fit"),
        ))
    } else if size * 100 > partition * SIZE_WARN_PERCENT {
        Some(Diagnostic::warning(
            DiagnosticSource::Size,
            project_file,
            line,
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_check_errs_past_the_partition_and_warns_near_it() {
        let f = Path::new("avmd.toml");
        assert!(size_check(50, 100, &[], f).is_none());
        let near = size_check(95, 100, &[("a.beam".into(), 90)], f).unwrap();
        assert_eq!(near.severity, crate::diagnostic::Severity::Warning);
        assert!(near.message.contains("95%") && near.message.contains("a.beam 90"));
        let over = size_check(101, 100, &[], f).unwrap();
        assert!(over.message.ends_with("it does not fit"));
    }

    #[test]
    fn a_module_defined_twice_names_both_files() {
        let m = |file: &str| DeviceModule {
            name: "m".into(),
            beam: Vec::new(),
            imports: Vec::new(),
            calls: Vec::new(),
            file: PathBuf::from(file),
        };
        let d = duplicate_module(&[m("src/a/m.erl"), m("src/b/m.erl")]).unwrap();
        assert_eq!(d.file.as_deref(), Some(Path::new("src/b/m.erl")));
        assert!(d.message.contains("src/a/m.erl"));
        assert!(duplicate_module(&[m("src/m.erl")]).is_none());
    }

    #[test]
    fn an_empty_project_has_no_start_module() {
        let (bundle, diags) = assemble(Inputs {
            app: "a",
            start_module: "a",
            platform: Platform::Esp32,
            partition_size: 1 << 20,
            bundle_path: PathBuf::from("a.avm"),
            project_file: PathBuf::from("avmd.toml"),
            modules: Vec::new(),
            runtime: &[],
            all_runtime_modules: false,
            priv_files: Vec::new(),
            extra_sections: Vec::new(),
        });
        assert!(bundle.is_none());
        assert!(diags[0].message.contains("start module a is not among"));
    }
}
