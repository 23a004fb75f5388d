//! The server's extensions to LSP, in one place: the custom request `avmd/routes` (its method name,
//! params and result entries). The VS Code extension mirrors these shapes once
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
