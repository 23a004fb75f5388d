//! Completion from what the device has: after `m:` (Elixir `:m.`) the functions of `m` that exist on
//! the project's platform, or a project module's exports; module names from what AtomVM ships and the
//! project; inside a route's options map or `httpd_server:start/1`'s config, the runtime's documented
//! keys. Everything else is left to the general Erlang server. Pure: line text in, items out.

use avmd_engine::beam::Mfa;
use avmd_engine::compat::{ApiTable, Platform};
use avmd_engine::config_keys;
use avmd_engine::syntax::Lang;
use tower_lsp_server::lsp_types::{
    CompletionItem, CompletionItemKind, CompletionItemLabelDetails, Documentation, InsertTextFormat,
};

/// Looks up the exports of one of the project's modules.
pub type ExportsOf<'a> = dyn Fn(&str) -> Option<Vec<(String, u32)>> + 'a;

/// What completion knows of the project.
pub struct Project<'a> {
    pub platform: Platform,
    /// The project's own module names.
    pub modules: &'a [String],
    /// The exports of one of the project's modules (read only when asked: one file, not all).
    pub exports: &'a ExportsOf<'a>,
}

/// What the text before the cursor asks for.
#[derive(Debug, PartialEq, Eq)]
enum Want {
    /// Functions of a module, by prefix.
    Functions { module: String, prefix: String },
    /// Module names, by prefix.
    Modules { prefix: String },
    /// Map keys of the runtime's config (server or route options), by prefix.
    Keys {
        keys: &'static [(&'static str, &'static str)],
        prefix: String,
    },
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '@'
}

/// The identifier that ends `s`, and what is before it.
fn trailing_name(s: &str) -> (&str, &str) {
    let start = s
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_name_char(*c))
        .last()
        .map_or(s.len(), |(i, _)| i);
    (&s[..start], &s[start..])
}

/// Whether the cursor sits in a string or comment of this (Erlang or Elixir) line prefix.
fn in_string_or_comment(line: &str, lang: Lang) -> bool {
    let comment = match lang {
        Lang::Erlang => '%',
        Lang::Elixir => '#',
    };
    let mut in_str = false;
    let mut prev = ' ';
    for c in line.chars() {
        match c {
            '"' if prev != '\\' && prev != '$' => in_str = !in_str,
            c if c == comment && !in_str && !(lang == Lang::Elixir && prev == '%') => return true,
            _ => {}
        }
        prev = c;
    }
    in_str
}

/// What `before` (the document up to the cursor) asks for, if anything this server answers.
fn want(before: &str, lang: Lang) -> Option<Want> {
    let line = before.rsplit('\n').next().unwrap_or(before);
    if in_string_or_comment(line, lang) {
        return None;
    }
    let (head, prefix) = trailing_name(line);
    match lang {
        Lang::Erlang => {
            if let Some(h) = head.strip_suffix(':') {
                let (h2, module) = trailing_name(h);
                let first = module.chars().next()?;
                if first.is_ascii_lowercase() && !h2.ends_with(['?', ':', '#']) {
                    return Some(Want::Functions {
                        module: module.to_string(),
                        prefix: prefix.to_string(),
                    });
                }
                return None;
            }
            let before_name = &before[..before.len() - prefix.len()];
            if let Some(keys) = map_keys(before, before_name) {
                return Some(Want::Keys {
                    keys,
                    prefix: prefix.to_string(),
                });
            }
            let prev = head.trim_end().chars().last();
            let at_expr = matches!(
                prev,
                None | Some('(' | ',' | '[' | '{' | '=' | '>' | '|' | ';')
            );
            let lower = prefix
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase());
            // a module at the start of an expression, not an attribute, macro, record or function head
            if lower && at_expr && !head.trim_start().is_empty() && !head.ends_with(['?', '#', '-'])
            {
                return Some(Want::Modules {
                    prefix: prefix.to_string(),
                });
            }
            None
        }
        Lang::Elixir => {
            if let Some(h) = head.strip_suffix('.') {
                let (h2, module) = trailing_name(h);
                if h2.ends_with(':') && module.chars().next()?.is_ascii_lowercase() {
                    return Some(Want::Functions {
                        module: module.to_string(),
                        prefix: prefix.to_string(),
                    });
                }
                // `Enum.` → Elixir.Enum, when AtomVM ships it
                let alias_start = h
                    .char_indices()
                    .rev()
                    .take_while(|(_, c)| is_name_char(*c) || *c == '.')
                    .last()
                    .map_or(h.len(), |(i, _)| i);
                let alias = &h[alias_start..];
                if alias.chars().next()?.is_ascii_uppercase() {
                    return Some(Want::Functions {
                        module: format!("Elixir.{alias}"),
                        prefix: prefix.to_string(),
                    });
                }
                return None;
            }
            if head.ends_with(':') && !head.ends_with("::") {
                return Some(Want::Modules {
                    prefix: prefix.to_string(),
                });
            }
            None
        }
    }
}

/// The keys to offer when the cursor is at a key of an unclosed `#{` that is a route's options map
/// (`{<<"/path">>, Handler, #{`) or `httpd_server:start(#{`.
fn map_keys(before: &str, head: &str) -> Option<&'static [(&'static str, &'static str)]> {
    let at_key = matches!(head.trim_end().chars().last(), Some('{' | ','));
    if !at_key {
        return None;
    }
    // The innermost unclosed `#{`, within the last few thousand bytes.
    let window_start = before.len().saturating_sub(4000);
    let window_start = (window_start..=before.len()).find(|i| before.is_char_boundary(*i))?;
    let window = &before[window_start..];
    let mut depth = 0i32;
    let mut open = None;
    let bytes = window.as_bytes();
    for i in (0..bytes.len()).rev() {
        match bytes[i] {
            b'}' | b']' | b')' => depth += 1,
            b'{' | b'[' | b'(' => {
                if depth == 0 {
                    if bytes[i] == b'{' && i > 0 && bytes[i - 1] == b'#' {
                        open = Some(i - 1);
                    }
                    break;
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    let lead = window[..open?].trim_end();
    if lead.ends_with("start(") || lead.ends_with("start_link(") {
        return Some(config_keys::SERVER);
    }
    // `{<<"/x">>, handler,` just before: a route's options
    let lead = lead.strip_suffix(',')?.trim_end();
    let (before_handler, handler) = trailing_name(lead);
    if handler.is_empty() {
        return None;
    }
    let before_handler = before_handler.trim_end().strip_suffix(',')?.trim_end();
    if before_handler.ends_with("\">>") && before_handler.contains("{<<\"/") {
        return Some(config_keys::ROUTE);
    }
    None
}

/// The completion items at the end of `before` (the document's text up to the cursor).
pub fn items(before: &str, lang: Lang, project: &Project) -> Vec<CompletionItem> {
    let Some(w) = want(before, lang) else {
        return Vec::new();
    };
    let table = ApiTable::atomvm();
    match w {
        Want::Functions { module, prefix } => {
            let own = project
                .modules
                .contains(&module)
                .then(|| (project.exports)(&module))
                .flatten();
            let functions: Vec<(String, u32, String)> = match own {
                Some(exports) => exports
                    .iter()
                    .map(|(f, a)| (f.clone(), *a, "this project".to_string()))
                    .collect(),
                None => table
                    .functions(project.platform, &module)
                    .into_iter()
                    .map(|(f, a)| {
                        let mfa = Mfa::new(&module, &f, a);
                        let provider = table
                            .provider(project.platform, &mfa)
                            .map(|p| p.describe())
                            .unwrap_or_default();
                        (f, a, provider)
                    })
                    .collect(),
            };
            functions
                .into_iter()
                .filter(|(f, _, _)| f.starts_with(&prefix))
                .map(|(f, a, provider)| function_item(&module, f, a, provider, project.platform))
                .collect()
        }
        Want::Modules { prefix } => {
            let mut names: Vec<(String, &str)> = table
                .modules(project.platform)
                .into_iter()
                .filter(|m| !m.starts_with("Elixir."))
                .map(|m| (m.to_string(), "AtomVM"))
                .collect();
            names.extend(project.modules.iter().map(|m| (m.clone(), "this project")));
            names.sort();
            names.dedup_by(|a, b| a.0 == b.0);
            names
                .into_iter()
                .filter(|(m, _)| m.starts_with(&prefix))
                .map(|(m, from)| CompletionItem {
                    label: m,
                    kind: Some(CompletionItemKind::MODULE),
                    detail: Some(format!("module ({from})")),
                    ..Default::default()
                })
                .collect()
        }
        Want::Keys { keys, prefix } => keys
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(k, doc)| CompletionItem {
                label: k.to_string(),
                kind: Some(CompletionItemKind::PROPERTY),
                detail: Some("avmd runtime key".to_string()),
                documentation: Some(Documentation::String(doc.to_string())),
                insert_text: Some(format!("{k} => ")),
                ..Default::default()
            })
            .collect(),
    }
}

/// `name/arity` with where it comes from and which platforms have it.
fn function_item(
    module: &str,
    f: String,
    a: u32,
    provider: String,
    platform: Platform,
) -> CompletionItem {
    let table = ApiTable::atomvm();
    let mfa = Mfa::new(module, &f, a);
    let on: Vec<&str> = Platform::ALL
        .iter()
        .filter(|p| table.has(**p, &mfa))
        .map(|p| p.as_str())
        .collect();
    let availability = if on.is_empty() {
        format!("{provider}; {platform}")
    } else {
        format!("{provider}; on {}", on.join(", "))
    };
    CompletionItem {
        label: format!("{f}/{a}"),
        kind: Some(CompletionItemKind::FUNCTION),
        label_details: Some(CompletionItemLabelDetails {
            detail: None,
            description: Some(provider),
        }),
        detail: Some(availability),
        filter_text: Some(f.clone()),
        sort_text: Some(format!("{f}/{a:03}")),
        insert_text: Some(f),
        insert_text_format: Some(InsertTextFormat::PLAIN_TEXT),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(before: &str, lang: Lang) -> Vec<String> {
        let modules = ["mine".to_string()];
        let exports = |m: &str| (m == "mine").then(|| vec![("go".to_string(), 1)]);
        let p = Project {
            platform: Platform::Esp32,
            modules: &modules,
            exports: &exports,
        };
        items(before, lang, &p)
            .into_iter()
            .map(|i| i.label)
            .collect()
    }

    #[test]
    fn after_a_module_only_what_the_platform_has() {
        let l = labels("f(L) ->\n    lists:", Lang::Erlang);
        assert!(
            l.contains(&"map/2".to_string()) && l.contains(&"foldl/3".to_string()),
            "{l:?}"
        );
        assert!(
            !l.iter().any(|x| x.starts_with("sum/")),
            "lists:sum is not on esp32"
        );
        let l = labels("f() -> lists:ma", Lang::Erlang);
        assert!(
            l.iter().all(|x| x.starts_with("ma")) && !l.is_empty(),
            "{l:?}"
        );
        assert_eq!(labels("f() -> mine:", Lang::Erlang), ["go/1"]);
        assert!(labels("f() -> re:", Lang::Erlang).is_empty());
        assert!(labels("f() -> ?MODULE:", Lang::Erlang).is_empty());
    }

    #[test]
    fn strings_and_comments_complete_nothing() {
        assert!(labels("f() -> \"lists:", Lang::Erlang).is_empty());
        assert!(labels("% lists:", Lang::Erlang).is_empty());
    }

    #[test]
    fn modules_complete_from_atomvm_and_the_project() {
        let l = labels("f() -> gen_s", Lang::Erlang);
        assert!(l.contains(&"gen_server".to_string()), "{l:?}");
        assert_eq!(labels("f() -> mi", Lang::Erlang), ["mine"]);
        assert!(labels("-behaviour(gen_s", Lang::Erlang).contains(&"gen_server".to_string()));
        assert!(
            labels("gen_s", Lang::Erlang).is_empty(),
            "a function head, not an expression"
        );
    }

    #[test]
    fn route_options_and_server_config_complete_their_keys() {
        let l = labels("r() -> [{<<\"/x\">>, httpd_api_handler, #{", Lang::Erlang);
        assert_eq!(l, ["methods", "handler", "app", "dir"]);
        let l = labels(
            "r() -> [{<<\"/x\">>, httpd_api_handler, #{handler => x, me",
            Lang::Erlang,
        );
        assert_eq!(l, ["methods"]);
        let l = labels(
            "s() -> httpd_server:start(#{port => 80,\n    max_c",
            Lang::Erlang,
        );
        assert_eq!(l, ["max_connections"]);
        assert!(labels("f() -> #{", Lang::Erlang).is_empty());
    }

    #[test]
    fn elixir_erlang_modules_and_shipped_aliases() {
        let l = labels("def f(x), do: :lists.", Lang::Elixir);
        assert!(l.contains(&"map/2".to_string()) && !l.iter().any(|x| x.starts_with("sum/")));
        let l = labels("def f(x), do: Enum.", Lang::Elixir);
        assert!(l.contains(&"map/2".to_string()), "{l:?}");
        assert!(labels("def f(x), do: :gen_s", Lang::Elixir).contains(&"gen_server".to_string()));
    }
}
