//! The language server proper: LSP messages in, engine builds and route scans out. One engine per
//! project root, each behind its own async mutex so builds (and the diagnostics they publish) of one
//! project happen one at a time and in order; engine calls block, so they run on `spawn_blocking`.

use crate::collect;
use crate::definition::{self, Target};
use crate::to_proto;
use avmd_engine::build::Engine;
use avmd_engine::project::{Project, ProjectError};
use avmd_engine::routes;
use avmd_engine::sites;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower_lsp_server::jsonrpc::{Error as RpcError, Result as RpcResult};
use tower_lsp_server::lsp_types::*;
use tower_lsp_server::{Client, LanguageServer, UriExt};

pub use crate::ext::{RouteInfo, RoutesParams, ROUTES_METHOD};

/// One project the server has found, with its engine once the first build opened it.
struct Workspace {
    project: Project,
    engine: Option<Engine>,
    /// Files that had diagnostics after the last build, so they can be cleared when fixed.
    published: BTreeMap<PathBuf, Uri>,
}

type Shared = Arc<tokio::sync::Mutex<Workspace>>;

pub struct Backend {
    client: Client,
    workspaces: std::sync::Mutex<HashMap<PathBuf, Shared>>,
    /// The folders the client opened (`rootUri`, `workspaceFolders`), looked at once `initialized`.
    roots: std::sync::Mutex<Vec<PathBuf>>,
    /// Project files that failed to parse and got an error diagnostic, with the URI it went to.
    bad_project_files: tokio::sync::Mutex<BTreeMap<PathBuf, Uri>>,
    /// Per project root, the number of the newest build request: a request that is no longer the
    /// newest when its turn comes is dropped, since the newer one builds the same tree after it.
    build_requests: std::sync::Mutex<HashMap<PathBuf, u64>>,
}

/// Saves closer together than this make one build (an editor's "save all", a formatter's rewrite).
const DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(30);

/// `avmd.toml`, `rebar.config` or `mix.exs`: saving one re-reads the project.
fn is_project_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(avmd_engine::project::is_project_file)
}

fn is_source(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "erl" | "hrl" | "ex"))
}

/// What a build produced, ready to publish.
enum Built {
    Files(BTreeMap<PathBuf, Vec<Diagnostic>>),
    Broken(String),
}

impl Workspace {
    /// Opens the engine if needed and builds; an `Err` from the engine means the environment is broken
    /// (no `erl`, unwritable `_build`), which is told to the user rather than shown as diagnostics.
    fn build(&mut self) -> Built {
        if self.engine.is_none() {
            match Engine::open(self.project.clone()) {
                Ok(e) => self.engine = Some(e),
                Err(e) => return Built::Broken(format!("avmd: cannot open the build engine: {e}")),
            }
        }
        let engine = self.engine.as_mut().expect("opened above");
        match engine.build() {
            Ok(outcome) => Built::Files(collect::by_file(&self.project, &outcome.diagnostics)),
            Err(e) => Built::Broken(format!("avmd: the build could not run: {e}")),
        }
    }
}

impl Backend {
    pub fn new(client: Client) -> Backend {
        Backend {
            client,
            workspaces: std::sync::Mutex::new(HashMap::new()),
            roots: std::sync::Mutex::new(Vec::new()),
            bad_project_files: tokio::sync::Mutex::new(BTreeMap::new()),
            build_requests: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The project holding `path` (a file or directory), found once and remembered by its root.
    fn workspace_for(&self, path: &Path) -> Option<Shared> {
        let project = Project::discover(path).ok()?;
        Some(self.workspace_of(project).0)
    }

    /// The workspace of `project`'s root, made on first sight; `true` when it was new.
    fn workspace_of(&self, project: Project) -> (Shared, bool) {
        let mut map = self.workspaces.lock().unwrap_or_else(|p| p.into_inner());
        let mut new = false;
        let ws = map.entry(project.root.clone()).or_insert_with(|| {
            new = true;
            Arc::new(tokio::sync::Mutex::new(Workspace {
                project,
                engine: None,
                published: BTreeMap::new(),
            }))
        });
        (Arc::clone(ws), new)
    }

    /// Finds the project at `path` and builds it. A project file that does not parse gets an error
    /// diagnostic (cleared once it parses again); with `reread`, a known project takes the new
    /// settings and a fresh engine.
    async fn discover_and_build(&self, path: &Path, reread: bool) {
        let project = match Project::discover(path) {
            Ok(p) => p,
            Err(ProjectError::Invalid {
                path,
                line,
                message,
            }) => {
                let line = line.max(1);
                let Some(uri) = Uri::from_file_path(&path) else {
                    return;
                };
                let d = to_proto::diagnostic(
                    &avmd_engine::diagnostic::Diagnostic::error(
                        avmd_engine::diagnostic::DiagnosticSource::Project,
                        &path,
                        message,
                    )
                    .at(line, 1),
                    collect::Sources::default().line(&path, line),
                );
                self.client
                    .publish_diagnostics(uri.clone(), vec![d], None)
                    .await;
                self.bad_project_files.lock().await.insert(path, uri);
                return;
            }
            Err(_) => return,
        };
        let cleared = self
            .bad_project_files
            .lock()
            .await
            .remove(&project.project_file());
        if let Some(uri) = cleared {
            self.client.publish_diagnostics(uri, Vec::new(), None).await;
        }
        let root = project.root.clone();
        let (ws, new) = self.workspace_of(project.clone());
        if reread && !new {
            let mut guard = ws.lock().await;
            if guard.project != project {
                guard.project = project;
                guard.engine = None;
            }
        }
        let ticket = self.request_build(&root);
        tokio::time::sleep(DEBOUNCE).await;
        if self.is_newest(&root, ticket) {
            self.build_and_publish(ws, Some((root, ticket))).await;
        }
    }

    fn request_build(&self, root: &Path) -> u64 {
        let mut map = self
            .build_requests
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let n = map.entry(root.to_path_buf()).or_insert(0);
        *n += 1;
        *n
    }

    fn is_newest(&self, root: &Path, ticket: u64) -> bool {
        let map = self
            .build_requests
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        map.get(root).copied() == Some(ticket)
    }

    fn all_workspaces(&self) -> Vec<Shared> {
        let map = self.workspaces.lock().unwrap_or_else(|p| p.into_inner());
        let mut roots: Vec<&PathBuf> = map.keys().collect();
        roots.sort();
        roots.into_iter().map(|r| Arc::clone(&map[r])).collect()
    }

    /// Builds one project and publishes its diagnostics: every file that has some, and an empty list
    /// for each file that had some after the previous build and has none now.
    async fn build_and_publish(&self, ws: Shared, ticket: Option<(PathBuf, u64)>) {
        let guard = ws.lock_owned().await;
        // Waited behind a build while newer saves came in: the newest request builds instead.
        if let Some((root, n)) = &ticket {
            if !self.is_newest(root, *n) {
                return;
            }
        }
        let joined = tokio::task::spawn_blocking(move || {
            let mut guard = guard;
            let built = guard.build();
            (guard, built)
        })
        .await;
        let (mut guard, built) = match joined {
            Ok(v) => v,
            Err(e) => {
                self.client
                    .show_message(MessageType::ERROR, format!("avmd: the build panicked: {e}"))
                    .await;
                return;
            }
        };
        let files = match built {
            Built::Files(f) => f,
            Built::Broken(msg) => {
                self.client.show_message(MessageType::ERROR, msg).await;
                return;
            }
        };
        let mut now = BTreeMap::new();
        for (path, diags) in files {
            let Some(uri) = guard
                .published
                .get(&path)
                .cloned()
                .or_else(|| Uri::from_file_path(&path))
            else {
                continue;
            };
            self.client
                .publish_diagnostics(uri.clone(), diags, None)
                .await;
            now.insert(path, uri);
        }
        for (path, uri) in std::mem::take(&mut guard.published) {
            if !now.contains_key(&path) {
                self.client.publish_diagnostics(uri, Vec::new(), None).await;
            }
        }
        guard.published = now;
    }

    async fn on_file(&self, uri: &Uri) {
        let Some(path) = uri.to_file_path().map(|p| p.into_owned()) else {
            return;
        };
        let reread = is_project_file(&path);
        if reread || is_source(&path) {
            self.discover_and_build(&path, reread).await;
        }
    }

    /// `avmd/routes`: the route map of every project (or of the one holding `uri`).
    pub async fn routes(&self, params: RoutesParams) -> RpcResult<Vec<RouteInfo>> {
        // Roots, not locked workspaces: a build in progress must not hold up the route map.
        let roots: Vec<PathBuf> = match params.uri {
            Some(uri) => {
                let path = uri
                    .to_file_path()
                    .ok_or_else(|| RpcError::invalid_params("uri is not a file URI"))?
                    .into_owned();
                // Remembered, so later `{}` requests include this project too.
                let _ = self.workspace_for(&path);
                vec![path]
            }
            None => {
                let map = self.workspaces.lock().unwrap_or_else(|p| p.into_inner());
                let mut roots: Vec<PathBuf> = map.keys().cloned().collect();
                roots.sort();
                roots
            }
        };
        tokio::task::spawn_blocking(move || roots.iter().flat_map(|r| route_infos(r)).collect())
            .await
            .map_err(|_| RpcError::internal_error())
    }
}

/// Where the name at `pos` in `file` is defined, among the project's own sources (blocking: reads files).
fn find_definition(file: &Path, pos: Position) -> Option<Location> {
    let mut sources = collect::Sources::default();
    let line = sources.line(file, pos.line + 1)?.to_string();
    let target = definition::target_at(&line, pos.character)?;
    let module_file = |m: &str| sites::module_file(&Project::discover(file).ok()?.root, m);
    // 1-based lines from the engine; LSP's are 0-based
    let (target_file, name, line) = match target {
        Target::Module(m) => {
            let f = module_file(&m)?;
            let l = sites::module_line(sources.text(&f)?);
            (f, m, l - 1)
        }
        Target::Remote(m, fun) => {
            let f = module_file(&m)?;
            let l = sites::function_line(sources.text(&f)?, &fun)?;
            (f, fun, l - 1)
        }
        Target::Local(fun) => {
            let l = sites::function_line(sources.text(file)?, &fun)?;
            (file.to_path_buf(), fun, l - 1)
        }
    };
    let uri = Uri::from_file_path(&target_file)?;
    let width = name.encode_utf16().count() as u32;
    let start = match sources.line(&target_file, line + 1) {
        Some(t) if t.trim_start().starts_with("-module(") => {
            to_proto::utf16_offset(t, t.find(&name).map_or(0, |b| t[..b].chars().count()))
        }
        _ => 0,
    };
    Some(Location::new(
        uri,
        Range::new(
            Position::new(line, start),
            Position::new(line, start + width),
        ),
    ))
}

/// The `avmd/routes` entries of the project at (or above) `path` (blocking: reads its sources).
fn route_infos(path: &Path) -> Vec<RouteInfo> {
    let Ok(project) = Project::discover(path) else {
        return Vec::new();
    };
    let Some((file, found)) = routes::scan_project(&project.root, &project.start_module) else {
        return Vec::new();
    };
    let Some(uri) = Uri::from_file_path(&file) else {
        return Vec::new();
    };
    let mut sources = collect::Sources::default();
    found
        .into_iter()
        .map(|r| RouteInfo {
            range: to_proto::route_range(&r, sources.line(&file, r.line)),
            path: r.path,
            handler: r.handler,
            target: r.target,
            methods: (!r.methods.is_empty()).then_some(r.methods),
            uri: uri.clone(),
        })
        .collect()
}

/// The route lenses of one module file (blocking: reads the project's sources).
fn find_lenses(file: &Path) -> Vec<CodeLens> {
    let Some(module) = file.file_stem().and_then(|s| s.to_str()) else {
        return Vec::new();
    };
    let Ok(project) = Project::discover(file) else {
        return Vec::new();
    };
    let Some((_, found)) = routes::scan_project(&project.root, &project.start_module) else {
        return Vec::new();
    };
    let titles = crate::lens::titles(module, &found);
    if titles.is_empty() {
        return Vec::new();
    }
    let mut sources = collect::Sources::default();
    let line = sources.text(file).map_or(1, sites::module_line);
    let range = to_proto::range_at(line, 0, sources.line(file, line));
    titles
        .into_iter()
        .map(|title| CodeLens {
            range,
            // A title-only lens: editors show it as text; there is nothing to run.
            command: Some(Command::new(title, String::new(), None)),
            data: None,
        })
        .collect()
}

/// A document symbol per route tuple in `text` (name: the path; detail: handler and methods).
pub fn route_symbols(path: &Path, text: &str) -> Vec<DocumentSymbol> {
    let lines: Vec<&str> = text.lines().collect();
    routes::scan_file(path, text)
        .into_iter()
        .map(|r| {
            let range =
                to_proto::route_range(&r, lines.get((r.line as usize).wrapping_sub(1)).copied());
            let handler = match &r.target {
                Some(t) => format!("{} → {t}", r.handler),
                None => r.handler.clone(),
            };
            let methods = if r.methods.is_empty() {
                "any method".to_string()
            } else {
                r.methods.join(", ")
            };
            #[allow(deprecated)] // `deprecated` is a required field of the struct
            DocumentSymbol {
                name: r.path.clone(),
                detail: Some(format!("{handler} ({methods})")),
                kind: SymbolKind::KEY,
                tags: None,
                deprecated: None,
                range,
                selection_range: range,
                children: None,
            }
        })
        .collect()
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> RpcResult<InitializeResult> {
        let mut roots: Vec<PathBuf> = params
            .workspace_folders
            .iter()
            .flatten()
            .filter_map(|f| f.uri.to_file_path().map(|p| p.into_owned()))
            .collect();
        #[allow(deprecated)] // rootUri is deprecated but still what many clients send
        if let Some(uri) = &params.root_uri {
            if let Some(p) = uri.to_file_path() {
                roots.push(p.into_owned());
            }
        }
        // Known from the start, so `avmd/routes` answers even before the first build is done.
        for root in &roots {
            let _ = self.workspace_for(root);
        }
        *self.roots.lock().unwrap_or_else(|p| p.into_inner()) = roots;
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::NONE),
                        save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                        ..Default::default()
                    },
                )),
                document_symbol_provider: Some(OneOf::Left(true)),
                definition_provider: Some(OneOf::Left(true)),
                code_lens_provider: Some(CodeLensOptions {
                    resolve_provider: Some(false),
                }),
                ..Default::default()
            },
            server_info: Some(ServerInfo {
                name: "avmd".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        // The first build of each project, so problems show before anything is saved.
        let roots = std::mem::take(&mut *self.roots.lock().unwrap_or_else(|p| p.into_inner()));
        for root in roots {
            self.discover_and_build(&root, false).await;
        }
    }

    async fn shutdown(&self) -> RpcResult<()> {
        // Dropping the engines stops their compile VMs.
        let all = self.all_workspaces();
        for ws in all {
            ws.lock().await.engine = None;
        }
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        self.on_file(&params.text_document.uri).await;
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        self.on_file(&params.text_document.uri).await;
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> RpcResult<Option<GotoDefinitionResponse>> {
        let at = params.text_document_position_params;
        let Some(path) = at.text_document.uri.to_file_path().map(|p| p.into_owned()) else {
            return Ok(None);
        };
        let found = tokio::task::spawn_blocking(move || find_definition(&path, at.position))
            .await
            .map_err(|_| RpcError::internal_error())?;
        Ok(found.map(GotoDefinitionResponse::Scalar))
    }

    async fn code_lens(&self, params: CodeLensParams) -> RpcResult<Option<Vec<CodeLens>>> {
        let Some(path) = erl_file(&params.text_document.uri) else {
            return Ok(None);
        };
        let lenses = tokio::task::spawn_blocking(move || find_lenses(&path))
            .await
            .map_err(|_| RpcError::internal_error())?;
        Ok(Some(lenses))
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> RpcResult<Option<DocumentSymbolResponse>> {
        let Some(path) = route_source_file(&params.text_document.uri) else {
            return Ok(None);
        };
        let symbols = tokio::task::spawn_blocking(move || {
            let mut s = collect::Sources::default();
            s.text(&path).map(|t| route_symbols(&path, t))
        })
        .await
        .map_err(|_| RpcError::internal_error())?;
        Ok(symbols.map(DocumentSymbolResponse::Nested))
    }
}

/// The path of an Erlang source file a request is about; `None` for other files and non-file URIs
/// (route lenses and symbols exist only for `.erl` modules).
fn erl_file(uri: &Uri) -> Option<PathBuf> {
    let path = uri.to_file_path()?.into_owned();
    (path.extension()? == "erl").then_some(path)
}

/// The path of a source file that may list routes (`.erl`, or `.ex` in an Elixir project).
fn route_source_file(uri: &Uri) -> Option<PathBuf> {
    let path = uri.to_file_path()?.into_owned();
    matches!(path.extension()?.to_str()?, "erl" | "ex").then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_symbols_name_paths_and_describe_handlers() {
        let text = "r() ->\n  [{<<\"/ws\">>, httpd_ws_handler, #{handler => echo_ws}},\n   {<<\"/x\">>, x_h, #{methods => [<<\"GET\">>]}}].\n";
        let s = route_symbols(Path::new("r.erl"), text);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "/ws");
        assert_eq!(
            s[0].detail.as_deref(),
            Some("httpd_ws_handler → echo_ws (any method)")
        );
        assert_eq!(s[0].range.start, Position::new(1, 3));
        assert_eq!(s[1].detail.as_deref(), Some("x_h (GET)"));
    }

    #[test]
    fn only_source_files_trigger_builds() {
        for p in ["a.erl", "a.hrl", "lib/a.ex"] {
            assert!(is_source(Path::new(p)), "{p}");
        }
        for p in ["a.txt", "README", "priv/www/index.html", "mix.exs"] {
            assert!(!is_source(Path::new(p)), "{p}");
        }
    }
}
