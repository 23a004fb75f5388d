//! Hovers that only an AtomVM-aware server can give: on a remote call, whether each device platform
//! has it and what provides it (BIF, NIF, library), with the nearest thing that exists where it is
//! missing; on a route entry, its methods, path, handler and the callbacks the handler must export.
//! Calls into the project's own modules are left to the general Erlang server (ELP, erlang_ls). Pure.

use avmd_engine::beam::Mfa;
use avmd_engine::compat::{ApiTable, Platform, Suggestion};
use avmd_engine::contract;
use avmd_engine::routes::{self, Route};
use avmd_engine::syntax::Facts;
use std::fmt::Write;
use std::path::Path;

/// The hover text (Markdown) at 1-based `line`/`column` of a text whose facts are `facts`.
pub fn at(
    path: &Path,
    text: &str,
    facts: &Facts,
    line: u32,
    column: u32,
    platform: Platform,
    present: &dyn Fn(&str) -> bool,
) -> Option<String> {
    if let Some(call) = facts.calls.iter().find(|c| c.span.contains(line, column)) {
        if present(&call.mfa.module) {
            return None;
        }
        return Some(call_markdown(&call.mfa, platform));
    }
    let found = routes::scan_file(path, text);
    let route = found
        .iter()
        .find(|r| r.line == line && column >= r.column)?;
    Some(route_markdown(route))
}

/// The platform table of one call.
pub fn call_markdown(mfa: &Mfa, platform: Platform) -> String {
    let table = ApiTable::atomvm();
    let mut s = String::new();
    let here = table.provider(platform, mfa);
    let _ = match &here {
        Some(_) => writeln!(s, "**{mfa}** is available on AtomVM ({platform})\n"),
        None => writeln!(s, "**{mfa}** is **not available** on AtomVM ({platform})\n"),
    };
    let _ = writeln!(s, "| platform | {mfa} |\n|---|---|");
    for p in Platform::ALL {
        let cell = match table.provider(p, mfa) {
            Some(provider) => format!("✓ {}", provider.describe()),
            None if !table.has_module(p, &mfa.module) => format!("✗ no module {}", mfa.module),
            None => "✗ missing".to_string(),
        };
        let mark = if p == platform { " (project)" } else { "" };
        let _ = writeln!(s, "| {p}{mark} | {cell} |");
    }
    if here.is_none() {
        if let Some(suggestion) = table.suggest(platform, mfa) {
            let _ = match suggestion {
                Suggestion::Rewrite(a) => write!(s, "\nInstead: `{}`", a.example()),
                Suggestion::Call(m) => write!(s, "\nInstead: nearest that exists: {m}"),
            };
        }
    }
    s
}

/// A route's methods, path and handler, and the callbacks its module must export.
pub fn route_markdown(r: &Route) -> String {
    let methods = if r.methods.is_empty() {
        "any method".to_string()
    } else {
        r.methods.join(", ")
    };
    let mut s = format!("**{methods} {}** → `{}`", r.path, r.handler);
    if let Some(t) = &r.target {
        let _ = write!(s, " → `{t}`");
    }
    if let Some((module, contracts)) = contract::required(r) {
        let sets: Vec<String> = contracts
            .iter()
            .map(|c| {
                c.iter()
                    .map(|(f, a)| format!("`{f}/{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect();
        let _ = write!(
            s,
            "\n\n`{module}` must export {} (or atomvm_lib's {})",
            sets[0],
            sets[1..].join(" or ")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use avmd_engine::syntax::{read, Lang};

    fn hover(text: &str, line: u32, column: u32) -> Option<String> {
        let facts = read(Lang::Erlang, text);
        at(
            Path::new("a.erl"),
            text,
            &facts,
            line,
            column,
            Platform::Esp32,
            &|m| m == "mine",
        )
    }

    #[test]
    fn a_missing_call_shows_every_platform_and_what_to_use() {
        let text = "-module(a).\nf(L) -> lists:sum(L).\n";
        let h = hover(text, 2, 12).unwrap();
        assert!(
            h.contains("**lists:sum/1** is **not available** on AtomVM (esp32)"),
            "{h}"
        );
        assert!(h.contains("| esp32 (project) | ✗ missing |"), "{h}");
        assert!(
            h.contains("Instead: `lists:foldl(fun(X, Acc) -> X + Acc end, 0, List)`"),
            "{h}"
        );
    }

    #[test]
    fn a_present_call_says_what_provides_it() {
        let h = hover(
            "f(L) -> lists:map(fun id/1, L), erlang:length(L), esp:restart().\n",
            1,
            11,
        )
        .unwrap();
        assert!(h.contains("| esp32 (project) | ✓ estdlib library |"), "{h}");
        let h = hover("f(L) -> erlang:length(L), esp:restart().\n", 1, 12).unwrap();
        assert!(h.contains("✓ BIF (C core)"), "{h}");
        let h = hover("f(L) -> esp:restart().\n", 1, 10).unwrap();
        assert!(h.contains("| rp2 | ✗ no module esp |"), "{h}");
    }

    #[test]
    fn own_modules_and_plain_code_have_no_hover() {
        assert!(hover("f() -> mine:x().\n", 1, 9).is_none());
        assert!(hover("f() -> ok.\n", 1, 2).is_none());
    }

    #[test]
    fn a_route_entry_shows_its_handler_contract() {
        let text = "r() -> [{<<\"/api/x\">>, httpd_api_handler, #{handler => x_api, methods => [<<\"GET\">>]}}].\n";
        let h = hover(text, 1, 12).unwrap();
        assert!(
            h.starts_with("**GET /api/x** → `httpd_api_handler` → `x_api`"),
            "{h}"
        );
        assert!(
            h.contains(
                "`x_api` must export `handle_api/4` (or atomvm_lib's `handle_api_request/4`)"
            ),
            "{h}"
        );
    }
}
