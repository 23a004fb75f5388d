//! `workspace/executeCommand` for the commands the lenses carry (`ext::commands`): each becomes a
//! `window/showDocument` request, which VS Code, Neovim and other clients follow. Pure: command and
//! arguments in, the request's params out (or the reason they are wrong).

use crate::ext::commands;
use avmd_engine::project::Project;
use avmd_engine::sites;
use serde_json::Value;
use std::str::FromStr;
use tower_lsp_server::lsp_types::{Position, Range, ShowDocumentParams, Uri};
use tower_lsp_server::UriExt;

pub fn show_document(command: &str, args: &[Value]) -> Result<ShowDocumentParams, String> {
    let arg = |i: usize| {
        args.get(i)
            .ok_or_else(|| format!("{command}: argument {} is missing", i + 1))
    };
    let uri_arg = |v: &Value| -> Result<Uri, String> {
        let s = v
            .as_str()
            .ok_or_else(|| format!("{command}: a URI must be a string"))?;
        Uri::from_str(s).map_err(|e| format!("{command}: {s:?} is not a URI: {e}"))
    };
    match command {
        commands::SHOW_ROUTE => {
            let uri = uri_arg(arg(0)?)?;
            let range: Range = serde_json::from_value(arg(1)?.clone())
                .map_err(|e| format!("{command}: the second argument is not a range: {e}"))?;
            Ok(ShowDocumentParams {
                uri,
                external: None,
                take_focus: Some(true),
                selection: Some(range),
            })
        }
        commands::OPEN_HANDLER => {
            let module = arg(0)?
                .as_str()
                .ok_or_else(|| format!("{command}: the module must be a string"))?;
            let from = uri_arg(arg(1)?)?;
            let path = from
                .to_file_path()
                .ok_or_else(|| format!("{command}: {} is not a file", from.as_str()))?;
            let project = Project::discover(&path).map_err(|e| format!("{command}: {e}"))?;
            let file = sites::module_file(&project.root, module).ok_or_else(|| {
                format!("{command}: {module} is not a module of this project (a runtime handler?)")
            })?;
            let line = std::fs::read_to_string(&file).map_or(1, |t| sites::module_line(&t)) - 1;
            let uri = Uri::from_file_path(&file)
                .ok_or_else(|| format!("{command}: no URI for {}", file.display()))?;
            let at = Position::new(line, 0);
            Ok(ShowDocumentParams {
                uri,
                external: None,
                take_focus: Some(true),
                selection: Some(Range::new(at, at)),
            })
        }
        commands::OPEN_IN_BROWSER => {
            let uri = uri_arg(arg(0)?)?;
            if !matches!(uri.scheme().map(|s| s.as_str()), Some("http" | "https")) {
                return Err(format!(
                    "{command}: only http(s) addresses are opened, not {}",
                    uri.as_str()
                ));
            }
            Ok(ShowDocumentParams {
                uri,
                external: Some(true),
                take_focus: None,
                selection: None,
            })
        }
        other => Err(format!("unknown command {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lens_commands_become_show_document_requests() {
        let r = json!({"start": {"line": 3, "character": 8}, "end": {"line": 3, "character": 20}});
        let p = show_document(commands::SHOW_ROUTE, &[json!("file:///p/src/app.erl"), r]).unwrap();
        assert_eq!(p.uri.as_str(), "file:///p/src/app.erl");
        assert_eq!(p.selection.unwrap().start, Position::new(3, 8));
        let p = show_document(
            commands::OPEN_IN_BROWSER,
            &[json!("http://127.0.0.1:8080/api/hello")],
        )
        .unwrap();
        assert_eq!(p.external, Some(true));
    }

    #[test]
    fn bad_arguments_are_refused_with_the_reason() {
        assert!(show_document(commands::SHOW_ROUTE, &[])
            .unwrap_err()
            .contains("argument 1 is missing"));
        assert!(
            show_document(commands::OPEN_IN_BROWSER, &[json!("file:///etc/passwd")])
                .unwrap_err()
                .contains("only http(s)")
        );
        assert!(show_document("avmd.nothing", &[])
            .unwrap_err()
            .contains("unknown command"));
        assert!(show_document(commands::OPEN_HANDLER, &[json!(1), json!("file:///x")]).is_err());
    }
}
