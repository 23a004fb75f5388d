//! The server's extensions to LSP, in one place: the custom request `avmd/routes` (its method name,
//! params and result entries), the notification `avmd/buildStatus` and the commands its lenses carry.
//! The VS Code extension mirrors these shapes once
//! (`vscode-extension/src/lsp_ext.ts`); docs/lsp.md documents them.

use serde::{Deserialize, Serialize};
use tower_lsp_server::lsp_types::{Range, Uri};

/// The custom request that lists a workspace's routes.
pub const ROUTES_METHOD: &str = "avmd/routes";

/// `avmd/routes` params: `{}` for every project, or `{"uri": ...}` for the project holding that file.
#[derive(Debug, Default, Deserialize)]
pub struct RoutesParams {
    #[serde(default)]
    pub uri: Option<Uri>,
}

/// One entry of the `avmd/routes` result.
#[derive(Debug, Serialize, Deserialize)]
pub struct RouteInfo {
    pub path: String,
    pub handler: String,
    /// `handler => Mod` of the generic handlers (`httpd_api_handler`, `httpd_ws_handler`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub target: Option<String>,
    /// Absent when the route takes any method.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub methods: Option<Vec<String>>,
    pub uri: Uri,
    pub range: Range,
}

/// The notification the server sends when a project's build starts and when it ends.
pub const BUILD_STATUS_METHOD: &str = "avmd/buildStatus";

/// `avmd/buildStatus` params: one project's build state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BuildStatus {
    /// The project root, as a file URI.
    pub root: Uri,
    /// `building`, `ok` (a bundle was made), `error` (diagnostics say why) or `broken` (the build
    /// could not run: no `erl`, an unwritable `_build`; `lastError` says what).
    pub state: String,
    pub errors: u32,
    pub warnings: u32,
    /// Of the bundle just made (`ok` only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub size: Option<u64>,
    /// The app partition the bundle must fit in.
    pub partition_size: u64,
    /// The first error's message, when there is one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last_error: Option<String>,
    /// Milliseconds the build took (0 while `building`).
    pub duration_ms: u64,
}

/// Commands the server's code lenses carry and `workspace/executeCommand` runs; each answers with a
/// `window/showDocument` request, so any client that shows documents can follow them.
pub mod commands {
    /// `[uri, range]`: show a route's tuple in the route table.
    pub const SHOW_ROUTE: &str = "avmd.showRoute";
    /// `[module]`: open a handler module at its `-module` line.
    pub const OPEN_HANDLER: &str = "avmd.openHandler";
    /// `[url]`: open a route of the running `avmd dev` app in the browser.
    pub const OPEN_IN_BROWSER: &str = "avmd.openInBrowser";
    pub const ALL: [&str; 3] = [SHOW_ROUTE, OPEN_HANDLER, OPEN_IN_BROWSER];
}
