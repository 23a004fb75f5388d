//! The language server proper: LSP messages in, engine builds, live checks and route scans out. One
//! engine per project root, each behind its own async mutex so builds (and the diagnostics they
//! publish) of one project happen one at a time and in order; engine calls block, so they run on
//! `spawn_blocking`. Typing is checked on the unsaved text (`documents`), without the engine's lock,
//! so a long build never holds up the diagnostics of a keystroke.

use crate::collect;
use crate::definition::{self, Target};
use crate::documents::{self, Context};
use crate::ext::{commands, BuildStatus, BUILD_STATUS_METHOD};
use crate::{actions, completion, hover, lens, symbols, to_proto};
use avmd_engine::build::Engine;
use avmd_engine::diagnostic::Severity;
use avmd_engine::project::{Project, ProjectError};
use avmd_engine::routes;
use avmd_engine::sites;
use avmd_engine::syntax::Lang;
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
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

/// The `avmd/buildStatus` notification type.
enum BuildStatusNotification {}

impl notification::Notification for BuildStatusNotification {
    type Params = BuildStatus;
    const METHOD: &'static str = BUILD_STATUS_METHOD;
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
    /// Open documents and their unsaved text.
    docs: documents::Store,
    /// The last build's diagnostics of each file, merged with the live ones while it is edited.
    built: std::sync::Mutex<HashMap<PathBuf, Vec<Diagnostic>>>,
    /// Per project root, what the live checks need (platform, present modules).
    contexts: std::sync::Mutex<HashMap<PathBuf, Arc<Context>>>,
    /// Per file, the project root it belongs to (`None`: no project), found once.
    file_roots: std::sync::Mutex<HashMap<PathBuf, Option<PathBuf>>>,
    /// Where `avmd dev` serves the app, for `open in browser` lenses (`initializationOptions.devUrl`).
    dev_url: std::sync::Mutex<String>,
}

/// Keystrokes closer together than this are checked once (the check itself takes well under 1 ms).
const LIVE_DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(8);

/// `avmd dev`'s default address.
const DEFAULT_DEV_URL: &str = "http://127.0.0.1:8080";

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
    Files(BTreeMap<PathBuf, Vec<Diagnostic>>, Summary),
    Broken(String),
}

/// A build's outcome in brief, for `avmd/buildStatus` and the live checks.
struct Summary {
    errors: u32,
    warnings: u32,
    bundle: Option<(String, u64)>,
    partition_size: u64,
    last_error: Option<String>,
    duration_ms: u64,
    /// The bundle's modules (project, runtime, libraries): present for the live check.
    modules: Vec<String>,
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
            Ok(outcome) => {
                let count = |s: Severity| {
                    outcome
                        .diagnostics
                        .iter()
                        .filter(|d| d.severity == s)
                        .count() as u32
                };
                let summary = Summary {
                    errors: count(Severity::Error),
                    warnings: count(Severity::Warning),
                    bundle: outcome.bundle.as_ref().map(|b| (b.sha256.clone(), b.size)),
                    partition_size: self.project.partition_size,
                    last_error: outcome
                        .diagnostics
                        .iter()
                        .find(|d| d.severity == Severity::Error)
                        .map(|d| d.message.clone()),
                    duration_ms: outcome.duration.as_millis() as u64,
                    modules: outcome
                        .bundle
                        .as_ref()
                        .map(|b| b.modules.clone())
                        .unwrap_or_default(),
                };
                Built::Files(
                    collect::by_file(&self.project, &outcome.diagnostics),
                    summary,
                )
            }
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
            docs: documents::Store::default(),
            built: std::sync::Mutex::new(HashMap::new()),
            contexts: std::sync::Mutex::new(HashMap::new()),
            file_roots: std::sync::Mutex::new(HashMap::new()),
            dev_url: std::sync::Mutex::new(DEFAULT_DEV_URL.to_string()),
        }
    }

    /// The project root of `path`, found once per file.
    fn root_of(&self, path: &Path) -> Option<PathBuf> {
        let mut map = self.file_roots.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(path.to_path_buf())
            .or_insert_with(|| Project::discover(path).ok().map(|p| p.root))
            .clone()
    }

    /// What the live checks of files under `root` need, made on first use and renewed by builds.
    fn context(&self, root: &Path) -> Arc<Context> {
        if let Some(c) = self
            .contexts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(root)
        {
            return Arc::clone(c);
        }
        let cx = Arc::new(initial_context(root));
        self.contexts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(root.to_path_buf(), Arc::clone(&cx));
        cx
    }

    /// What to show for `path` now: the build's diagnostics, merged with the live ones while edited.
    fn current_diagnostics(&self, path: &Path) -> Vec<Diagnostic> {
        let built = self
            .built
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(path)
            .cloned()
            .unwrap_or_default();
        match (self.docs.get(path), self.root_of(path)) {
            (Some(doc), Some(root)) if doc.dirty => {
                let cx = self.context(&root);
                documents::merge(documents::live_diagnostics(path, &doc.text, &cx), &built)
            }
            _ => built,
        }
    }

    async fn send_status(&self, status: BuildStatus) {
        self.client
            .send_notification::<BuildStatusNotification>(status)
            .await;
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
    /// for each file that had some after the previous build and has none now. `avmd/buildStatus`
    /// goes out when the build starts and when it ends.
    async fn build_and_publish(&self, ws: Shared, ticket: Option<(PathBuf, u64)>) {
        let guard = ws.lock_owned().await;
        // Waited behind a build while newer saves came in: the newest request builds instead.
        if let Some((root, n)) = &ticket {
            if !self.is_newest(root, *n) {
                return;
            }
        }
        let root = guard.project.root.clone();
        let Some(root_uri) = Uri::from_file_path(&root) else {
            return;
        };
        let partition_size = guard.project.partition_size;
        let status = |state: &str| BuildStatus {
            root: root_uri.clone(),
            state: state.to_string(),
            errors: 0,
            warnings: 0,
            sha256: None,
            size: None,
            partition_size,
            last_error: None,
            duration_ms: 0,
        };
        self.send_status(status("building")).await;
        let joined = tokio::task::spawn_blocking(move || {
            let mut guard = guard;
            let built = guard.build();
            (guard, built)
        })
        .await;
        let (mut guard, built) = match joined {
            Ok(v) => v,
            Err(e) => {
                let msg = format!("avmd: the build panicked: {e}");
                self.client.show_message(MessageType::ERROR, &msg).await;
                self.send_status(BuildStatus {
                    last_error: Some(msg),
                    ..status("broken")
                })
                .await;
                return;
            }
        };
        let (files, summary) = match built {
            Built::Files(f, s) => (f, s),
            Built::Broken(msg) => {
                self.client.show_message(MessageType::ERROR, &msg).await;
                self.send_status(BuildStatus {
                    last_error: Some(msg),
                    ..status("broken")
                })
                .await;
                return;
            }
        };
        if !summary.modules.is_empty() {
            let mut cx = (*self.context(&root)).clone();
            cx.present.extend(summary.modules.iter().cloned());
            self.contexts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(root.clone(), Arc::new(cx));
        }
        let mut now = BTreeMap::new();
        {
            let mut built = self.built.lock().unwrap_or_else(|p| p.into_inner());
            for path in guard.published.keys() {
                built.remove(path);
            }
            for (path, diags) in files {
                let Some(uri) = guard
                    .published
                    .get(&path)
                    .cloned()
                    .or_else(|| Uri::from_file_path(&path))
                else {
                    continue;
                };
                built.insert(path.clone(), diags);
                now.insert(path, uri);
            }
        }
        for (path, uri) in &now {
            let diags = self.current_diagnostics(path);
            self.client
                .publish_diagnostics(uri.clone(), diags, None)
                .await;
        }
        for (path, uri) in std::mem::take(&mut guard.published) {
            if !now.contains_key(&path) {
                let diags = self.current_diagnostics(&path);
                self.client.publish_diagnostics(uri, diags, None).await;
            }
        }
        guard.published = now;
        drop(guard);
        let state = if summary.bundle.is_some() {
            "ok"
        } else {
            "error"
        };
        self.send_status(BuildStatus {
            errors: summary.errors,
            warnings: summary.warnings,
            sha256: summary.bundle.as_ref().map(|b| b.0.clone()),
            size: summary.bundle.as_ref().map(|b| b.1),
            partition_size: summary.partition_size,
            last_error: summary.last_error,
            duration_ms: summary.duration_ms,
            ..status(state)
        })
        .await;
    }

    /// A change to an open document: its live diagnostics, once the keystrokes pause.
    async fn on_change(&self, uri: Uri, path: PathBuf, text: String) {
        let generation = self.docs.change(&path, text);
        tokio::time::sleep(LIVE_DEBOUNCE).await;
        if !self.docs.is_newest(&path, generation) {
            return; // a newer change checks instead
        }
        let diags = self.current_diagnostics(&path);
        if self.docs.is_newest(&path, generation) {
            self.client.publish_diagnostics(uri, diags, None).await;
        }
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

/// A project's route table: the project at (or above) `path`, the file its routes are in (with its
/// URI) and the routes (blocking: reads its sources).
fn route_table(path: &Path) -> Option<(Project, PathBuf, Uri, Vec<routes::Route>)> {
    let project = Project::discover(path).ok()?;
    let (file, found) = routes::scan_project(&project.root, &project.start_module)?;
    let uri = Uri::from_file_path(&file)?;
    Some((project, file, uri, found))
}

/// The `avmd/routes` entries of the project at (or above) `path` (blocking: reads its sources).
fn route_infos(path: &Path) -> Vec<RouteInfo> {
    let Some((_, file, uri, found)) = route_table(path) else {
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

/// The route lenses of one module file (blocking: reads the project's sources): at a handler's
/// `-module` line the routes that reach it; above each route of the route table, `open handler` and,
/// where a browser can GET it, `open in browser`.
fn find_lenses(file: &Path, dev_url: &str) -> Vec<CodeLens> {
    let Some(module) = file.file_stem().and_then(|s| s.to_str()) else {
        return Vec::new();
    };
    let Some((_, table_file, table_uri, found)) = route_table(file) else {
        return Vec::new();
    };
    let mut sources = collect::Sources::default();
    let mut out = Vec::new();
    let titles = lens::titles(module, &found);
    if !titles.is_empty() {
        let line = sources.text(file).map_or(1, sites::module_line);
        let range = to_proto::range_at(line, 0, sources.line(file, line));
        for (title, i) in titles {
            let r = &found[i];
            let target = to_proto::route_range(r, sources.line(&table_file, r.line));
            out.push(CodeLens {
                range,
                command: Some(Command::new(
                    title,
                    commands::SHOW_ROUTE.to_string(),
                    Some(vec![json!(table_uri), json!(target)]),
                )),
                data: None,
            });
        }
    }
    if same_file(file, &table_file) {
        for r in &found {
            let range = to_proto::route_range(r, sources.line(&table_file, r.line));
            let handler = lens::handler_module(r).to_string();
            out.push(CodeLens {
                range,
                command: Some(Command::new(
                    format!("open {handler}"),
                    commands::OPEN_HANDLER.to_string(),
                    Some(vec![json!(handler), json!(table_uri)]),
                )),
                data: None,
            });
            if let Some(path) = lens::browser_path(r) {
                let url = format!("{}{path}", dev_url.trim_end_matches('/'));
                out.push(CodeLens {
                    range,
                    command: Some(Command::new(
                        "open in browser".to_string(),
                        commands::OPEN_IN_BROWSER.to_string(),
                        Some(vec![json!(url)]),
                    )),
                    data: None,
                });
            }
        }
    }
    out
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || a.canonicalize().ok() == b.canonicalize().ok()
}

/// The live-check context of a project before its first build: its platform, and as present the
/// runtime's modules and the project's own (by file name).
fn initial_context(root: &Path) -> Context {
    let platform = Project::discover(root)
        .map(|p| p.profile.platform())
        .unwrap_or(avmd_engine::compat::Platform::Esp32);
    let mut present: HashSet<String> = avmd_engine::runtime_lib::device_modules()
        .iter()
        .map(|(m, _)| m.to_string())
        .collect();
    present.extend(project_modules(root));
    Context { platform, present }
}

/// The project's Erlang module names, from its source file names.
fn project_modules(root: &Path) -> Vec<String> {
    avmd_engine::files::erl_sources(root)
        .iter()
        .filter_map(|f| f.file_stem()?.to_str().map(str::to_string))
        .collect()
}

/// The workspace symbols of one project matching `query`: its routes and handler modules.
fn project_symbols(root: &Path, query: &str) -> Vec<SymbolInformation> {
    let Some((project, file, uri, found)) = route_table(root) else {
        return Vec::new();
    };
    let mut sources = collect::Sources::default();
    let mut out: Vec<SymbolInformation> = found
        .iter()
        .map(|r| {
            let range = to_proto::route_range(r, sources.line(&file, r.line));
            symbols::route_info(r, &uri, range)
        })
        .filter(|s| symbols::matches(query, &s.name))
        .collect();
    let mut handlers: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &found {
        *handlers.entry(lens::handler_module(r)).or_default() += 1;
    }
    for (module, n) in handlers {
        if !symbols::matches(query, module) {
            continue;
        }
        let Some(f) = sites::module_file(&project.root, module) else {
            continue; // a runtime handler (httpd_static, ...)
        };
        let Some(muri) = Uri::from_file_path(&f) else {
            continue;
        };
        let line = sources.text(&f).map_or(1, sites::module_line);
        let range = to_proto::range_at(line, 0, sources.line(&f, line));
        out.push(symbols::module_info(module, &muri, range, n));
    }
    out
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
        if let Some(url) = params
            .initialization_options
            .as_ref()
            .and_then(|o| o.get("devUrl"))
            .and_then(|u| u.as_str())
        {
            *self.dev_url.lock().unwrap_or_else(|p| p.into_inner()) = url.to_string();
        }
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        // Whole texts: modules are small, and a full text cannot drift out of step.
                        change: Some(TextDocumentSyncKind::FULL),
                        save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                        ..Default::default()
                    },
                )),
                document_symbol_provider: Some(OneOf::Left(true)),
                workspace_symbol_provider: Some(OneOf::Left(true)),
                definition_provider: Some(OneOf::Left(true)),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(vec![":".into(), ".".into()]),
                    ..Default::default()
                }),
                code_action_provider: Some(CodeActionProviderCapability::Options(
                    CodeActionOptions {
                        code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                        ..Default::default()
                    },
                )),
                code_lens_provider: Some(CodeLensOptions {
                    resolve_provider: Some(false),
                }),
                execute_command_provider: Some(ExecuteCommandOptions {
                    commands: commands::ALL.iter().map(|c| c.to_string()).collect(),
                    ..Default::default()
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
        let doc = params.text_document;
        if let Some(path) = doc.uri.to_file_path().map(|p| p.into_owned()) {
            self.docs.open(&path, doc.text);
        }
        self.on_file(&doc.uri).await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri;
        let Some(path) = uri.to_file_path().map(|p| p.into_owned()) else {
            return;
        };
        // Full sync: the last change is the whole text.
        let Some(change) = params.content_changes.into_iter().last() else {
            return;
        };
        if Lang::of(&path).is_some() {
            self.on_change(uri, path, change.text).await;
        } else {
            self.docs.change(&path, change.text);
        }
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        if let Some(path) = params.text_document.uri.to_file_path() {
            self.docs.saved(&path, params.text);
        }
        self.on_file(&params.text_document.uri).await;
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        if let Some(path) = uri.to_file_path().map(|p| p.into_owned()) {
            let was_dirty = self.docs.get(&path).is_some_and(|d| d.dirty);
            self.docs.close(&path);
            if was_dirty {
                // Closed without saving: back to what the build said of the file on disk.
                let diags = self.current_diagnostics(&path);
                self.client.publish_diagnostics(uri, diags, None).await;
            }
        }
    }

    async fn hover(&self, params: HoverParams) -> RpcResult<Option<Hover>> {
        let at = params.text_document_position_params;
        let Some(path) = at.text_document.uri.to_file_path().map(|p| p.into_owned()) else {
            return Ok(None);
        };
        let (Some(text), Some(root)) = (self.docs.text(&path), self.root_of(&path)) else {
            return Ok(None);
        };
        let Some((_, facts)) = documents::facts(&path, &text) else {
            return Ok(None);
        };
        let cx = self.context(&root);
        let (line, column) = to_proto::from_position(&text, at.position);
        let present = |m: &str| cx.present.contains(m);
        let md = hover::at(&path, &text, &facts, line, column, cx.platform, &present);
        Ok(md.map(|value| Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value,
            }),
            range: None,
        }))
    }

    async fn completion(&self, params: CompletionParams) -> RpcResult<Option<CompletionResponse>> {
        let at = params.text_document_position;
        let Some(path) = at.text_document.uri.to_file_path().map(|p| p.into_owned()) else {
            return Ok(None);
        };
        let (Some(lang), Some(text), Some(root)) =
            (Lang::of(&path), self.docs.text(&path), self.root_of(&path))
        else {
            return Ok(None);
        };
        let cx = self.context(&root);
        let before = text_before(&text, at.position);
        let modules = project_modules(&root);
        let exports = |m: &str| {
            let f = sites::module_file(&root, m)?;
            let t = self.docs.text(&f)?;
            let (_, facts) = documents::facts(&f, &t)?;
            Some(facts.exports)
        };
        let project = completion::Project {
            platform: cx.platform,
            modules: &modules,
            exports: &exports,
        };
        let items = completion::items(before, lang, &project);
        Ok((!items.is_empty()).then_some(CompletionResponse::Array(items)))
    }

    async fn code_action(&self, params: CodeActionParams) -> RpcResult<Option<CodeActionResponse>> {
        let uri = params.text_document.uri;
        let Some(path) = uri.to_file_path().map(|p| p.into_owned()) else {
            return Ok(None);
        };
        let (Some(text), Some(root)) = (self.docs.text(&path), self.root_of(&path)) else {
            return Ok(None);
        };
        let Some((lang, facts)) = documents::facts(&path, &text) else {
            return Ok(None);
        };
        let cx = self.context(&root);
        let found = actions::fixes(
            &uri,
            &text,
            lang,
            &facts,
            params.range,
            &params.context.diagnostics,
            cx.platform,
        );
        Ok(Some(
            found
                .into_iter()
                .map(CodeActionOrCommand::CodeAction)
                .collect(),
        ))
    }

    async fn symbol(
        &self,
        params: WorkspaceSymbolParams,
    ) -> RpcResult<Option<OneOf<Vec<SymbolInformation>, Vec<WorkspaceSymbol>>>> {
        let roots: Vec<PathBuf> = {
            let map = self.workspaces.lock().unwrap_or_else(|p| p.into_inner());
            let mut r: Vec<PathBuf> = map.keys().cloned().collect();
            r.sort();
            r
        };
        let query = params.query;
        let found = tokio::task::spawn_blocking(move || {
            roots
                .iter()
                .flat_map(|r| project_symbols(r, &query))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|_| RpcError::internal_error())?;
        Ok(Some(OneOf::Left(found)))
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> RpcResult<Option<LSPAny>> {
        let show = crate::commands::show_document(&params.command, &params.arguments)
            .map_err(RpcError::invalid_params)?;
        let shown = self.client.show_document(show).await.unwrap_or(false);
        Ok(Some(json!(shown)))
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
        let dev_url = self
            .dev_url
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let lenses = tokio::task::spawn_blocking(move || find_lenses(&path, &dev_url))
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
        let text = self.docs.text(&path);
        let symbols = tokio::task::spawn_blocking(move || {
            let text = text?;
            match documents::facts(&path, &text) {
                Some((_, facts)) => Some(symbols::document(&path, &text, &facts)),
                None => Some(symbols::routes(&path, &text)),
            }
        })
        .await
        .map_err(|_| RpcError::internal_error())?;
        Ok(symbols.map(DocumentSymbolResponse::Nested))
    }
}

/// The document's text from its start up to `pos`.
fn text_before(text: &str, pos: Position) -> &str {
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if i as u32 == pos.line {
            let mut units = 0u32;
            for (b, c) in line.char_indices() {
                if units >= pos.character || c == '\n' {
                    return &text[..offset + b];
                }
                units += c.len_utf16() as u32;
            }
            return &text[..offset + line.len()];
        }
        offset += line.len();
    }
    text
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
    fn only_source_files_trigger_builds() {
        for p in ["a.erl", "a.hrl", "lib/a.ex"] {
            assert!(is_source(Path::new(p)), "{p}");
        }
        for p in ["a.txt", "README", "priv/www/index.html", "mix.exs"] {
            assert!(!is_source(Path::new(p)), "{p}");
        }
    }
}
