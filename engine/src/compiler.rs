//! The resident compile VM: one long-lived `erl -noshell` running `avmd_compile_vm` (engine/erl),
//! driven over stdio with length-prefixed frames. It runs `compile:file/2` for `.erl` files and
//! `Kernel.ParallelCompiler` for `.ex` files and answers with structured diagnostics, the beams, each
//! module's remote calls with their source lines (for the AtomVM compatibility check) and the files a
//! module included (for incremental builds). A VM that dies or hangs is restarted on the next request;
//! a compile error is just a result.

use crate::diagnostic::{Diagnostic, DiagnosticSource};
use crate::runtime_lib;
use crate::vm_link::{Incoming, VmLink};
use serde::Deserialize;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A compile that takes longer than this is taken as a hung VM (a runaway parse transform or macro).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// A reply frame larger than this is a broken VM, not a module.
const MAX_FRAME: usize = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum CompilerError {
    #[error("cannot start the compile VM (`erl`): {0}")]
    Spawn(std::io::Error),
    #[error("the compile VM died: {0}")]
    Died(String),
    #[error("the compile VM sent a malformed reply: {0}")]
    Protocol(String),
    #[error("the compile VM did not answer within {0:?}")]
    Timeout(Duration),
    #[error("Elixir is not installed (no `elixir` on PATH); .ex files cannot be compiled")]
    NoElixir,
}

/// One remote call found in a module's abstract code.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RemoteCall {
    #[serde(rename = "m")]
    pub module: String,
    #[serde(rename = "f")]
    pub function: String,
    #[serde(rename = "a")]
    pub arity: u32,
    pub file: PathBuf,
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone)]
pub struct CompiledModule {
    pub name: String,
    /// The source file that defined it.
    pub file: PathBuf,
    /// The beam as the compiler produced it (with debug info; strip it for devices).
    pub beam: Vec<u8>,
    pub calls: Vec<RemoteCall>,
}

#[derive(Debug, Clone, Default)]
pub struct CompileResult {
    pub ok: bool,
    pub diagnostics: Vec<Diagnostic>,
    pub modules: Vec<CompiledModule>,
    /// Files included while compiling (absolute paths as the preprocessor opened them), source excluded.
    pub deps: Vec<PathBuf>,
}

#[derive(Deserialize)]
struct WireDiag {
    file: PathBuf,
    line: u32,
    column: u32,
    severity: String,
    message: String,
}

#[derive(Deserialize)]
struct WireModule {
    name: String,
    size: usize,
    file: PathBuf,
    calls: Vec<RemoteCall>,
}

#[derive(Deserialize)]
struct WireReply {
    ok: bool,
    #[serde(default)]
    diagnostics: Vec<WireDiag>,
    #[serde(default)]
    modules: Vec<WireModule>,
    #[serde(default)]
    deps: Vec<PathBuf>,
    #[serde(default)]
    error: Option<String>,
    /// For batch requests: one reply per file, in request order (their beams follow in that order).
    #[serde(default)]
    results: Vec<WireReply>,
}

/// A running compile VM. Use [`Compiler`] for the self-restarting wrapper.
struct Vm {
    link: VmLink,
    frames: Receiver<Incoming>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    elixir: bool,
}

impl Vm {
    fn start(code_paths: &[PathBuf]) -> Result<Vm, CompilerError> {
        // The VM writes its frames with the harness's JSON encoder (runtime/host/avmd_wire.erl).
        let mut modules: Vec<(&str, &[u8])> = runtime_lib::vm_modules().to_vec();
        modules.extend(
            runtime_lib::host_modules()
                .iter()
                .filter(|(name, _)| *name == "avmd_wire"),
        );
        let vm_dir = runtime_lib::materialize("vm", &modules).map_err(CompilerError::Spawn)?;
        let mut cmd = Command::new("erl");
        cmd.args(["-noshell", "-noinput", "+Bd", "-pa"])
            .arg(&vm_dir);
        for p in code_paths {
            cmd.arg("-pa").arg(p);
        }
        cmd.args(["-eval", "avmd_compile_vm:main()"]);
        let (tx, frames) = mpsc::channel();
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let tail2 = tail.clone();
        let link = VmLink::spawn(
            cmd,
            MAX_FRAME,
            move |i| {
                let _ = tx.send(i);
            },
            move |line| {
                // Compiler chatter (Elixir prints its own warnings); kept only to explain a dead VM.
                let mut t = tail2.lock().unwrap();
                if t.len() == 20 {
                    t.pop_front();
                }
                t.push_back(line);
            },
        )
        .map_err(CompilerError::Spawn)?;
        let mut vm = Vm {
            link,
            frames,
            stderr_tail: tail,
            elixir: false,
        };
        let reply = vm.request(&["ping"])?;
        if !reply.0.ok {
            return Err(CompilerError::Protocol("ping failed".into()));
        }
        Ok(vm)
    }

    fn request(&mut self, fields: &[&str]) -> Result<(WireReply, Vec<u8>), CompilerError> {
        if let Err(e) = self.link.send_fields(fields) {
            return Err(self.died(e.to_string()));
        }
        let bytes = match self.frames.recv_timeout(REQUEST_TIMEOUT) {
            Ok(Incoming::Frame(b)) => b,
            Ok(Incoming::Closed(e)) => return Err(self.died(e)),
            Err(RecvTimeoutError::Timeout) => {
                self.link.kill();
                return Err(CompilerError::Timeout(REQUEST_TIMEOUT));
            }
            Err(RecvTimeoutError::Disconnected) => return Err(self.died("stdout closed".into())),
        };
        if bytes.len() < 4 {
            return Err(CompilerError::Protocol("short frame".into()));
        }
        let jlen = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
        if 4 + jlen > bytes.len() {
            return Err(CompilerError::Protocol("JSON length past the frame".into()));
        }
        let reply: WireReply = serde_json::from_slice(&bytes[4..4 + jlen])
            .map_err(|e| CompilerError::Protocol(e.to_string()))?;
        Ok((reply, bytes[4 + jlen..].to_vec()))
    }

    fn died(&mut self, why: String) -> CompilerError {
        self.link.kill();
        let tail: Vec<String> = self.stderr_tail.lock().unwrap().iter().cloned().collect();
        CompilerError::Died(format!("{why}; stderr: {}", tail.join(" | ")))
    }
}

/// The self-restarting compile VM. Starting is lazy: the VM boots on the first compile.
pub struct Compiler {
    vm: Option<Vm>,
    code_paths: Vec<PathBuf>,
    /// How many times a VM was started (1 after the first compile; more means restarts).
    pub starts: u32,
}

impl Compiler {
    /// `code_paths` go on the VM's path (behaviours and parse transforms the sources use, e.g. the runtime).
    pub fn new(code_paths: Vec<PathBuf>) -> Compiler {
        Compiler {
            vm: None,
            code_paths,
            starts: 0,
        }
    }

    fn vm(&mut self) -> Result<&mut Vm, CompilerError> {
        if self.vm.is_none() {
            self.starts += 1;
            self.vm = Some(Vm::start(&self.code_paths)?);
        }
        Ok(self.vm.as_mut().unwrap())
    }

    /// Boots the VM now (so the first build does not pay for it).
    pub fn warm_up(&mut self) -> Result<(), CompilerError> {
        self.vm().map(|_| ())
    }

    /// The OS pid of the running VM, if one is running.
    pub fn vm_pid(&self) -> Option<u32> {
        self.vm.as_ref().map(|vm| vm.link.pid())
    }

    /// How many VMs were started so far; a change means the Elixir modules compiled before are gone.
    pub fn vm_generation(&self) -> u32 {
        self.starts
    }

    /// Sends one request, restarting the VM once if it had died.
    fn call(
        &mut self,
        fields: &[&str],
        elixir: bool,
    ) -> Result<(WireReply, Vec<u8>), CompilerError> {
        for attempt in 0..2 {
            let vm = self.vm()?;
            if elixir && !vm.elixir {
                let paths = elixir_ebin_dirs().ok_or(CompilerError::NoElixir)?;
                let mut req = vec!["elixir_paths".to_string()];
                req.extend(paths.iter().map(|p| p.display().to_string()));
                let refs: Vec<&str> = req.iter().map(String::as_str).collect();
                let (r, _) = vm.request(&refs)?;
                if !r.ok {
                    return Err(CompilerError::NoElixir);
                }
                vm.elixir = true;
            }
            match vm.request(fields) {
                Ok(r) => return Ok(r),
                Err(e @ (CompilerError::Died(_) | CompilerError::Timeout(_))) => {
                    self.vm = None;
                    if attempt == 1 {
                        return Err(e);
                    }
                }
                Err(e) => {
                    self.vm = None;
                    return Err(e);
                }
            }
        }
        unreachable!()
    }

    /// Compiles one `.erl` file with `include_dirs` on the include path.
    pub fn compile_erl(
        &mut self,
        file: &Path,
        include_dirs: &[PathBuf],
    ) -> Result<CompileResult, CompilerError> {
        let mut fields = vec![file.display().to_string()];
        fields.extend(include_dirs.iter().map(|d| d.display().to_string()));
        if let Some(bad) = fields.iter().find(|f| !crate::vm_link::field_ok(f)) {
            return Ok(unusable_path(file, bad));
        }
        let mut req = vec!["erl"];
        req.extend(fields.iter().map(String::as_str));
        let (reply, bins) = self.call(&req, false)?;
        decode(reply, bins)
    }

    /// Compiles many `.erl` files in one request; the VM compiles them in parallel. One result per file,
    /// in `files` order.
    pub fn compile_erl_many(
        &mut self,
        files: &[PathBuf],
        include_dirs: &[PathBuf],
    ) -> Result<Vec<CompileResult>, CompilerError> {
        if files.is_empty() {
            return Ok(Vec::new());
        }
        let includes: Vec<String> = include_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        if let Some(bad) = includes
            .iter()
            .chain(&names)
            .find(|f| !crate::vm_link::field_ok(f))
        {
            return Ok(files.iter().map(|f| unusable_path(f, bad)).collect());
        }
        let n = includes.len().to_string();
        let mut req = vec!["erls", n.as_str()];
        req.extend(includes.iter().map(String::as_str));
        req.extend(names.iter().map(String::as_str));
        let (reply, bins) = self.call(&req, false)?;
        if reply.results.len() != files.len() {
            return Err(CompilerError::Protocol(format!(
                "{} results for {} files",
                reply.results.len(),
                files.len()
            )));
        }
        let mut out = Vec::with_capacity(files.len());
        let mut off = 0usize;
        for r in reply.results {
            let size: usize = r.modules.iter().map(|m| m.size).sum();
            let end = off
                .checked_add(size)
                .filter(|e| *e <= bins.len())
                .ok_or_else(|| CompilerError::Protocol("beam sizes exceed the frame".into()))?;
            out.push(decode(r, bins[off..end].to_vec())?);
            off = end;
        }
        Ok(out)
    }

    /// Compiles `.ex` files together (Kernel.ParallelCompiler resolves their mutual dependencies).
    pub fn compile_ex(&mut self, files: &[PathBuf]) -> Result<CompileResult, CompilerError> {
        self.compile_ex_impl(None, files)
    }

    /// Like `compile_ex`, compiling with paths relative to `root` (the project), so the beams' Line
    /// chunks do not depend on where the project sits. Diagnostics and module files stay absolute.
    pub fn compile_ex_in(
        &mut self,
        root: &Path,
        files: &[PathBuf],
    ) -> Result<CompileResult, CompilerError> {
        self.compile_ex_impl(Some(root), files)
    }

    fn compile_ex_impl(
        &mut self,
        root: Option<&Path>,
        files: &[PathBuf],
    ) -> Result<CompileResult, CompilerError> {
        let mut fields: Vec<String> = root.iter().map(|r| r.display().to_string()).collect();
        fields.extend(files.iter().map(|f| f.display().to_string()));
        if let Some(bad) = fields.iter().find(|f| !crate::vm_link::field_ok(f)) {
            return Ok(unusable_path(&files[0], bad));
        }
        let mut req = vec![if root.is_some() { "exin" } else { "ex" }];
        req.extend(fields.iter().map(String::as_str));
        let (reply, bins) = self.call(&req, true)?;
        decode(reply, bins)
    }
}

fn unusable_path(file: &Path, bad: &str) -> CompileResult {
    CompileResult {
        ok: false,
        diagnostics: vec![Diagnostic::error(
            DiagnosticSource::Compiler,
            file,
            format!("path {bad:?} holds a tab or newline; rename it"),
        )],
        ..Default::default()
    }
}

fn decode(reply: WireReply, bins: Vec<u8>) -> Result<CompileResult, CompilerError> {
    if let Some(e) = reply.error {
        return Err(CompilerError::Protocol(e));
    }
    let mut off = 0usize;
    let mut modules = Vec::new();
    for m in reply.modules {
        let end = off
            .checked_add(m.size)
            .filter(|e| *e <= bins.len())
            .ok_or_else(|| CompilerError::Protocol("beam sizes exceed the frame".into()))?;
        modules.push(CompiledModule {
            name: m.name,
            file: m.file,
            beam: bins[off..end].to_vec(),
            calls: m.calls,
        });
        off = end;
    }
    let diagnostics = reply
        .diagnostics
        .into_iter()
        .map(|d| {
            let message = d.message.trim_end().to_string();
            if d.severity == "error" {
                Diagnostic::error(DiagnosticSource::Compiler, &d.file, message)
            } else {
                Diagnostic::warning(DiagnosticSource::Compiler, &d.file, message)
            }
            .at(d.line, d.column)
        })
        .collect();
    Ok(CompileResult {
        ok: reply.ok,
        diagnostics,
        modules,
        deps: reply.deps,
    })
}

/// Elixir's `lib/*/ebin` directories: beside the real path of `elixir` on PATH (Debian:
/// /usr/lib/elixir/lib), else asked from `elixir` itself.
pub fn elixir_ebin_dirs() -> Option<Vec<PathBuf>> {
    static DIRS: std::sync::OnceLock<Option<Vec<PathBuf>>> = std::sync::OnceLock::new();
    DIRS.get_or_init(|| {
        let path = std::env::var_os("PATH")?;
        let exe = std::env::split_paths(&path)
            .map(|d| d.join("elixir"))
            .find(|p| p.is_file())?;
        let real = exe.canonicalize().ok()?;
        let lib = real.parent()?.parent()?.join("lib");
        let from_dir = |lib: &Path| -> Option<Vec<PathBuf>> {
            let mut dirs: Vec<PathBuf> = std::fs::read_dir(lib)
                .ok()?
                .filter_map(|e| e.ok().map(|e| e.path().join("ebin")))
                .filter(|p| p.is_dir())
                .collect();
            dirs.sort();
            (!dirs.is_empty()).then_some(dirs)
        };
        from_dir(&lib).or_else(|| {
            let out = Command::new(&exe)
                .args(["-e", "IO.puts :code.lib_dir(:elixir)"])
                .output()
                .ok()?;
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            from_dir(dir.parent()?)
        })
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Severity;

    fn reply(json: &str) -> WireReply {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn decode_splits_beams_by_size() {
        let r = reply(
            r#"{"ok":true,"deps":["/p/include/a.hrl"],"diagnostics":[{"file":"/p/src/a.erl","line":3,
            "column":5,"severity":"warning","message":"variable 'X' is unused\n"}],
            "modules":[{"name":"a","size":3,"file":"/p/src/a.erl","calls":[]},
                       {"name":"b","size":2,"file":"/p/src/a.erl","calls":[]}]}"#,
        );
        let out = decode(r, b"AAABB".to_vec()).unwrap();
        assert_eq!(out.modules[0].beam, b"AAA");
        assert_eq!(out.modules[1].beam, b"BB");
        assert_eq!(out.diagnostics[0].severity, Severity::Warning);
        assert_eq!(out.diagnostics[0].message, "variable 'X' is unused");
        assert_eq!(out.deps, vec![PathBuf::from("/p/include/a.hrl")]);
    }

    #[test]
    fn decode_rejects_sizes_past_the_frame() {
        let r = reply(r#"{"ok":true,"modules":[{"name":"a","size":9,"file":"a.erl","calls":[]}]}"#);
        assert!(matches!(
            decode(r, b"AAA".to_vec()),
            Err(CompilerError::Protocol(_))
        ));
    }
}
