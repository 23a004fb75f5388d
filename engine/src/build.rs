//! The incremental build: scans a project, recompiles only what changed (a source whose content hash moved,
//! or whose included `.hrl` files did) in the resident compile VM, checks every module against AtomVM's API,
//! and packs the bundle: start module first (flags 3), the project's modules, the runtime library, priv
//! files as `App/priv/Path`, extra `.avm` libraries — in a fixed order, so equal trees give equal bytes.
//! A broken build is data (`bundle: None` + diagnostics); `Err` only when the environment is broken.

use crate::analysis;
pub use crate::assemble::Bundle;
use crate::assemble::{self, DeviceModule, RuntimeModule};
use crate::beam::{self, StripOptions};
use crate::compat::Platform;
use crate::compiler::{CompileResult, Compiler, CompilerError};
use crate::diagnostic::{Diagnostic, DiagnosticSource, Severity};
use crate::files;
use crate::live;
use crate::packbeam::{self, Section, FLAG_START};
use crate::project::Project;
use crate::reach;
use crate::runtime_lib;
use crate::syntax;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Compiler(#[from] CompilerError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EngineError + '_ {
    move |source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone)]
pub struct BuildOutcome {
    pub bundle: Option<Bundle>,
    pub diagnostics: Vec<Diagnostic>,
    /// Source files compiled by this build (0 when nothing changed).
    pub n_compiled: usize,
    /// Modules in the bundle, or the project's modules when no bundle was made.
    pub n_modules: usize,
    pub duration: Duration,
}

impl BuildOutcome {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// What the last compile of one source file gave.
#[derive(Debug, Clone)]
struct CacheEntry {
    hash: [u8; 32],
    /// Included files with the hash they had when this entry was compiled.
    deps: Vec<(PathBuf, [u8; 32])>,
    ok: bool,
    diagnostics: Vec<Diagnostic>,
    modules: Vec<DeviceModule>,
    /// For .ex entries: the compile VM generation that holds these modules in memory.
    generation: u32,
    /// Whether its beams are already in the on-disk cache.
    persisted: bool,
}

pub struct Engine {
    project: Project,
    compiler: Compiler,
    cache: HashMap<PathBuf, CacheEntry>,
    platform: Platform,
    /// The runtime library, stripped and its names read once.
    runtime: Vec<RuntimeModule>,
    /// Entries in the on-disk cache as last saved or loaded.
    saved_entries: usize,
}

impl Engine {
    /// Prepares the engine for `project`; the compile VM boots on the first build (or `warm_up`).
    pub fn open(project: Project) -> Result<Engine, EngineError> {
        let platform = project.profile.platform();
        let runtime_dir = runtime_lib::materialize("device", runtime_lib::device_modules())
            .map_err(io_err(Path::new("avmd runtime cache")))?;
        let strip = StripOptions {
            strip_lines: project.strip_lines,
        };
        let runtime: Vec<DeviceModule> = runtime_lib::device_modules()
            .iter()
            .filter_map(|(name, bytes)| {
                let beam = beam::strip_for_device(bytes, &strip).ok()?;
                let imports = beam::parse(&beam).and_then(|b| beam::imports(&b)).ok()?;
                Some(DeviceModule {
                    name: name.to_string(),
                    beam,
                    imports,
                    calls: Vec::new(),
                    file: PathBuf::from(format!("runtime/src/{name}.erl")),
                })
            })
            .collect();
        let all: Vec<&str> = runtime.iter().map(|m| m.name.as_str()).collect();
        let names: Vec<reach::Names> = runtime
            .iter()
            .map(|m| {
                beam::parse(&m.beam)
                    .map(|b| reach::Names::of(&b, &all))
                    .unwrap_or_default()
            })
            .collect();
        let runtime = runtime
            .into_iter()
            .zip(names)
            .map(|(module, names)| RuntimeModule { module, names })
            .collect();
        let cache = disk_cache::load(&project.build_dir(), project.strip_lines);
        Ok(Engine {
            saved_entries: cache.len(),
            project,
            compiler: Compiler::new(vec![runtime_dir]),
            cache,
            platform,
            runtime,
        })
    }

    pub fn project(&self) -> &Project {
        &self.project
    }

    /// Boots the compile VM ahead of the first build.
    pub fn warm_up(&mut self) -> Result<(), EngineError> {
        Ok(self.compiler.warm_up()?)
    }

    /// The compile VM, for tests that kill it to check it comes back.
    pub fn compiler_mut(&mut self) -> &mut Compiler {
        &mut self.compiler
    }

    /// Builds the bundle, recompiling only changed sources and the includers of changed headers.
    pub fn build(&mut self) -> Result<BuildOutcome, EngineError> {
        let t0 = Instant::now();
        let root = self.project.root.clone();
        let erl_files = files::erl_sources(&root);
        let ex_files = files::ex_sources(&root);
        let mut n_compiled = 0;

        // Forget deleted files.
        let live: HashSet<&PathBuf> = erl_files.iter().chain(ex_files.iter()).collect();
        self.cache.retain(|f, _| live.contains(f));

        let mut hashes: HashMap<PathBuf, [u8; 32]> = HashMap::new();
        let includes = vec![root.join("include"), root.join("src")];
        let mut dirty_erl = Vec::new();
        let mut erl_hashes = Vec::new();
        for file in &erl_files {
            let hash = hash_file(file, &mut hashes)?;
            if !self.fresh(file, hash, &mut hashes) {
                dirty_erl.push(file.clone());
                erl_hashes.push(hash);
            }
        }
        let results = match dirty_erl.len() {
            0 => Vec::new(),
            1 => vec![self.compiler.compile_erl(&dirty_erl[0], &includes)?],
            _ => self.compiler.compile_erl_many(&dirty_erl, &includes)?,
        };
        n_compiled += dirty_erl.len();
        for ((file, hash), result) in dirty_erl.iter().zip(erl_hashes).zip(results) {
            let mut entry = self.entry(hash, result, &mut hashes, 0)?;
            entry.diagnostics.extend(source_warnings(file));
            self.cache.insert(file.clone(), entry);
        }

        let gen = self.compiler.vm_generation();
        let mut dirty_ex = Vec::new();
        let mut ex_hashes = Vec::new();
        for file in &ex_files {
            let hash = hash_file(file, &mut hashes)?;
            if !self.fresh(file, hash, &mut hashes) {
                dirty_ex.push(file.clone());
            }
            ex_hashes.push((file.clone(), hash));
        }
        // Changed .ex files compile against the other modules loaded in the VM; a VM that did not compile
        // them (restarted, or the entries came from the disk cache) has lost them: recompile all.
        if !dirty_ex.is_empty()
            && ex_files
                .iter()
                .any(|f| self.cache.get(f).is_some_and(|e| e.generation != gen))
        {
            dirty_ex = ex_files.clone();
        }
        if !dirty_ex.is_empty() {
            let result = self.compiler.compile_ex_in(&root, &dirty_ex)?;
            let gen = self.compiler.vm_generation();
            n_compiled += dirty_ex.len();
            for file in &dirty_ex {
                let hash = ex_hashes
                    .iter()
                    .find(|(f, _)| f == file)
                    .map(|(_, h)| *h)
                    .unwrap_or_default();
                let part = split_ex_result(&result, file);
                let mut entry = self.entry(hash, part, &mut hashes, gen)?;
                entry.diagnostics.extend(source_warnings(file));
                self.cache.insert(file.clone(), entry);
            }
        }

        if n_compiled > 0 || self.cache.len() != self.saved_entries {
            // Best effort: a cache that cannot be written only costs the next process a full compile.
            let _ = disk_cache::save(
                &self.project.build_dir(),
                &mut self.cache,
                self.project.strip_lines,
            );
            self.saved_entries = self.cache.len();
        }

        let mut diagnostics = Vec::new();
        let mut project_modules: Vec<DeviceModule> = Vec::new();
        let mut files: Vec<&PathBuf> = self.cache.keys().collect();
        files.sort();
        for f in files {
            let e = &self.cache[f];
            diagnostics.extend(e.diagnostics.iter().cloned());
            project_modules.extend(e.modules.iter().cloned());
        }
        project_modules.sort_by(|a, b| a.name.cmp(&b.name));
        let n_project = project_modules.len();

        let mut bundle = None;
        let errors = diagnostics.iter().any(|d| d.severity == Severity::Error);
        let exports = (!errors).then(|| module_exports(&project_modules));
        let runtime_names: Vec<&str> = self
            .runtime
            .iter()
            .map(|r| r.module.name.as_str())
            .collect();
        diagnostics.extend(analysis::run(
            &self.project,
            &analysis::Compiled {
                exports: exports.as_ref(),
                runtime: &runtime_names,
            },
        ));
        if !errors {
            bundle = self.pack(project_modules, &mut diagnostics)?;
        }
        let n_modules = bundle.as_ref().map_or(n_project, |b| b.modules.len());
        Ok(BuildOutcome {
            bundle,
            diagnostics,
            n_compiled,
            n_modules,
            duration: t0.elapsed(),
        })
    }

    /// Whether `file`'s cache entry is still good: same content, same included files.
    fn fresh(&self, file: &Path, hash: [u8; 32], hashes: &mut HashMap<PathBuf, [u8; 32]>) -> bool {
        let Some(e) = self.cache.get(file) else {
            return false;
        };
        if !e.ok || e.hash != hash {
            return false;
        }
        e.deps
            .iter()
            .all(|(dep, h)| hash_file(dep, hashes).is_ok_and(|now| now == *h))
    }

    fn entry(
        &self,
        hash: [u8; 32],
        result: CompileResult,
        hashes: &mut HashMap<PathBuf, [u8; 32]>,
        generation: u32,
    ) -> Result<CacheEntry, EngineError> {
        let strip = StripOptions {
            strip_lines: self.project.strip_lines,
        };
        let mut diagnostics = result.diagnostics;
        let mut modules = Vec::new();
        for m in result.modules {
            let prepared = beam::strip_for_device(&m.beam, &strip).and_then(|b| {
                let imports = beam::parse(&b).and_then(|p| beam::imports(&p))?;
                Ok((b, imports))
            });
            match prepared {
                Ok((beam, imports)) => modules.push(DeviceModule {
                    name: m.name,
                    beam,
                    imports,
                    calls: m.calls,
                    file: m.file,
                }),
                Err(e) => diagnostics.push(Diagnostic::error(
                    DiagnosticSource::Compiler,
                    &m.file,
                    format!("module {} cannot be prepared for the device: {e}", m.name),
                )),
            }
        }
        let deps = result
            .deps
            .into_iter()
            .filter_map(|d| hash_file(&d, hashes).ok().map(|h| (d, h)))
            .collect();
        let ok = result.ok && !diagnostics.iter().any(|d| d.severity == Severity::Error);
        Ok(CacheEntry {
            hash,
            deps,
            ok,
            diagnostics,
            modules,
            generation,
            persisted: false,
        })
    }

    /// Gathers what the bundle is made of (reading priv files and extra libraries), assembles it and
    /// writes it: the one write of the bundle per build, then renamed into place so a reader never sees
    /// half a file. `None` (with diagnostics added) when the bundle cannot be made.
    fn pack(
        &self,
        project_modules: Vec<DeviceModule>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Result<Option<Bundle>, EngineError> {
        let p = &self.project;
        let project_file = p.project_file();
        let extra_sections = match read_extra_avms(&p.extra_avms) {
            Ok(s) => s,
            Err(message) => {
                diagnostics.push(Diagnostic::error(
                    DiagnosticSource::Project,
                    &project_file,
                    message,
                ));
                return Ok(None);
            }
        };
        let mut priv_files = read_priv_files(&p.root.join("priv"))?;
        match crate::ota_pub::read(&p.root) {
            Ok(Some(key)) => priv_files.extend(crate::ota_pub::priv_files(
                &key,
                &p.app,
                p.version.as_deref(),
            )),
            Ok(None) => {}
            Err((line, message)) => {
                diagnostics.push(
                    Diagnostic::error(
                        DiagnosticSource::Project,
                        &p.root.join(crate::ota_pub::FILE),
                        format!("OTA public key: {message}"),
                    )
                    .at(line as u32, 1),
                );
                return Ok(None);
            }
        }
        let (bundle, found) = assemble::assemble(assemble::Inputs {
            app: &p.app,
            start_module: &p.start_module,
            platform: self.platform,
            partition_size: p.partition_size,
            bundle_path: p.bundle_path(),
            project_file,
            modules: project_modules,
            runtime: if p.bundle_runtime { &self.runtime } else { &[] },
            all_runtime_modules: p.all_runtime_modules,
            priv_files,
            extra_sections,
        });
        diagnostics.extend(found);
        let Some(bundle) = bundle else {
            return Ok(None);
        };
        let dir = p.build_dir();
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let tmp = dir.join(format!(".{}.avm.tmp", p.app));
        std::fs::write(&tmp, &bundle.bytes).map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, &bundle.path).map_err(io_err(&bundle.path))?;
        Ok(Some(bundle))
    }
}

/// Each module's exported `name/arity` pairs, read from its beam.
fn module_exports(modules: &[DeviceModule]) -> HashMap<String, Vec<(String, u32)>> {
    modules
        .iter()
        .map(|m| {
            let exports = beam::parse(&m.beam)
                .and_then(|b| beam::exports(&b))
                .unwrap_or_default();
            let pairs = exports.into_iter().map(|e| (e.function, e.arity)).collect();
            (m.name.clone(), pairs)
        })
        .collect()
}

/// The files under `priv/` as (path relative to it with `/`, bytes), sorted.
fn read_priv_files(priv_dir: &Path) -> Result<Vec<(String, Vec<u8>)>, EngineError> {
    let mut out = Vec::new();
    for file in files::walk(priv_dir, "") {
        let rel = file
            .strip_prefix(priv_dir)
            .unwrap_or(&file)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let data = std::fs::read(&file).map_err(io_err(&file))?;
        out.push((rel, data));
    }
    Ok(out)
}

/// The sections of the project's extra `.avm` libraries, start flags cleared (one start module per
/// bundle); the message says which library is unreadable.
fn read_extra_avms(avms: &[PathBuf]) -> Result<Vec<Section>, String> {
    let mut out = Vec::new();
    for avm in avms {
        let bytes =
            std::fs::read(avm).map_err(|e| format!("extra library {}: {e}", avm.display()))?;
        let sections = packbeam::read(&bytes)
            .map_err(|e| format!("extra library {} is not a valid .avm: {e}", avm.display()))?;
        out.extend(sections.into_iter().map(|mut s| {
            s.flags &= !FLAG_START;
            s
        }));
    }
    Ok(out)
}

/// The compile cache on disk (`_build/avmd/cache/`), so a new process (another `avmd build`, a restarted
/// `avmd dev`) only recompiles what changed since. `index.json` holds each good entry's hashes, calls and
/// warnings; `<module>.beam` its device beam. Anything missing, unreadable or from another avmd version is
/// simply not loaded.
mod disk_cache {
    use super::{CacheEntry, DeviceModule};
    use crate::beam;
    use crate::compiler::RemoteCall;
    use crate::diagnostic::{Diagnostic, DiagnosticSource};
    use serde_json::{json, Value};
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};

    /// Entries loaded from disk carry this generation: no compile VM holds their Elixir modules.
    pub const FROM_DISK: u32 = u32::MAX;

    fn stamp(strip_lines: bool) -> String {
        format!(
            "avmd {} strip_lines={strip_lines}",
            env!("CARGO_PKG_VERSION")
        )
    }

    fn hex(h: &[u8; 32]) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(s: &str) -> Option<[u8; 32]> {
        let mut out = [0u8; 32];
        if s.len() != 64 {
            return None;
        }
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(out)
    }

    pub fn save(
        build_dir: &Path,
        cache: &mut HashMap<PathBuf, CacheEntry>,
        strip_lines: bool,
    ) -> std::io::Result<()> {
        let dir = build_dir.join("cache");
        std::fs::create_dir_all(&dir)?;
        for e in cache.values_mut().filter(|e| e.ok && !e.persisted) {
            for m in &e.modules {
                std::fs::write(dir.join(format!("{}.beam", m.name)), &m.beam)?;
            }
            e.persisted = true;
        }
        let mut entries = serde_json::Map::new();
        for (file, e) in cache.iter().filter(|(_, e)| e.ok) {
            entries.insert(
                file.display().to_string(),
                json!({
                    "hash": hex(&e.hash),
                    "deps": e.deps.iter().map(|(d, h)| json!([d.display().to_string(), hex(h)])).collect::<Vec<_>>(),
                    "modules": e.modules.iter().map(|m| json!({
                        "name": m.name, "file": m.file.display().to_string(),
                        "calls": m.calls.iter().map(|c| json!({"m": c.module, "f": c.function, "a": c.arity,
                            "file": c.file.display().to_string(), "line": c.line, "column": c.column})).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                    "warnings": e.diagnostics.iter().map(|d| json!({
                        "file": d.file.as_ref().map(|f| f.display().to_string()), "line": d.line,
                        "column": d.column, "message": d.message})).collect::<Vec<_>>(),
                }),
            );
        }
        let index = json!({"stamp": stamp(strip_lines), "entries": entries});
        let tmp = dir.join(".index.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(&index)?)?;
        std::fs::rename(&tmp, dir.join("index.json"))
    }

    pub fn load(build_dir: &Path, strip_lines: bool) -> HashMap<PathBuf, CacheEntry> {
        let dir = build_dir.join("cache");
        let mut out = HashMap::new();
        let Ok(bytes) = std::fs::read(dir.join("index.json")) else {
            return out;
        };
        let Ok(index) = serde_json::from_slice::<Value>(&bytes) else {
            return out;
        };
        // Beams stripped of lines (or made by another avmd) are not what this build wants.
        if index["stamp"].as_str() != Some(stamp(strip_lines).as_str()) {
            return out;
        }
        let Some(entries) = index["entries"].as_object() else {
            return out;
        };
        for (file, e) in entries {
            if let Some(entry) = load_entry(&dir, e) {
                out.insert(PathBuf::from(file), entry);
            }
        }
        out
    }

    fn load_entry(dir: &Path, e: &Value) -> Option<CacheEntry> {
        let hash = unhex(e["hash"].as_str()?)?;
        let mut deps = Vec::new();
        for d in e["deps"].as_array()? {
            deps.push((PathBuf::from(d[0].as_str()?), unhex(d[1].as_str()?)?));
        }
        let mut modules = Vec::new();
        for m in e["modules"].as_array()? {
            let name = m["name"].as_str()?.to_string();
            let beam_bytes = std::fs::read(dir.join(format!("{name}.beam"))).ok()?;
            let parsed = beam::parse(&beam_bytes).ok()?;
            if parsed.module != name {
                return None;
            }
            let imports = beam::imports(&parsed).ok()?;
            let mut calls = Vec::new();
            for c in m["calls"].as_array()? {
                calls.push(RemoteCall {
                    module: c["m"].as_str()?.to_string(),
                    function: c["f"].as_str()?.to_string(),
                    arity: c["a"].as_u64()? as u32,
                    file: PathBuf::from(c["file"].as_str()?),
                    line: c["line"].as_u64()? as u32,
                    column: c["column"].as_u64()? as u32,
                });
            }
            modules.push(DeviceModule {
                name,
                beam: beam_bytes,
                imports,
                calls,
                file: PathBuf::from(m["file"].as_str()?),
            });
        }
        let mut diagnostics = Vec::new();
        for w in e["warnings"].as_array()? {
            let message = w["message"].as_str()?.to_string();
            let d = match w["file"].as_str() {
                Some(f) => Diagnostic::warning(DiagnosticSource::Compiler, Path::new(f), message),
                None => Diagnostic::warning_nowhere(DiagnosticSource::Compiler, message),
            };
            diagnostics.push(d.at(w["line"].as_u64()? as u32, w["column"].as_u64()? as u32));
        }
        Some(CacheEntry {
            hash,
            deps,
            ok: true,
            diagnostics,
            modules,
            generation: FROM_DISK,
            persisted: true,
        })
    }
}

/// What the source text shows that the compiled module does not: socket options AtomVM does not
/// honour in literal option lists (`live::socket_options`, the same warnings the editor shows as you type).
fn source_warnings(file: &Path) -> Vec<Diagnostic> {
    let (Some(lang), Ok(text)) = (syntax::Lang::of(file), std::fs::read_to_string(file)) else {
        return Vec::new();
    };
    live::socket_options(file, &syntax::read(lang, &text))
}

/// The part of a batch Elixir compile that belongs to `file`.
fn split_ex_result(result: &CompileResult, file: &Path) -> CompileResult {
    let diagnostics: Vec<Diagnostic> = result
        .diagnostics
        .iter()
        .filter(|d| d.file.as_deref() == Some(file))
        .cloned()
        .collect();
    let errors = diagnostics.iter().any(|d| d.severity == Severity::Error);
    CompileResult {
        // Another file's error may have stopped this one from compiling: then it is not ok either.
        ok: result.ok || (!errors && result.modules.iter().any(|m| m.file == file)),
        diagnostics,
        modules: result
            .modules
            .iter()
            .filter(|m| m.file == file)
            .cloned()
            .collect(),
        deps: Vec::new(),
    }
}

fn hash_file(path: &Path, memo: &mut HashMap<PathBuf, [u8; 32]>) -> Result<[u8; 32], EngineError> {
    if let Some(h) = memo.get(path) {
        return Ok(*h);
    }
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let h: [u8; 32] = Sha256::digest(&bytes).into();
    memo.insert(path.to_path_buf(), h);
    Ok(h)
}
