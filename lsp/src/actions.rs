//! Quick fixes: a call AtomVM lacks rewritten into calls every platform has (the engine's checked
//! `alternatives`) or renamed to the nearest function that exists; and the callbacks a declared
//! behaviour expects, added with their exports. Pure: text and the diagnostics in view in, edits out.

use crate::to_proto;
use avmd_engine::alternatives;
use avmd_engine::compat::{ApiTable, Platform, Suggestion};
use avmd_engine::contract;
use avmd_engine::syntax::{Facts, Lang};
use std::collections::HashMap;
use tower_lsp_server::lsp_types::{
    CodeAction, CodeActionKind, Diagnostic, NumberOrString, Position, Range, TextEdit, Uri,
    WorkspaceEdit,
};

/// The fixes for the diagnostics in `context` and the cursor's `range` of one document.
pub fn fixes(
    uri: &Uri,
    text: &str,
    lang: Lang,
    facts: &Facts,
    range: Range,
    context: &[Diagnostic],
    platform: Platform,
) -> Vec<CodeAction> {
    let mut out = Vec::new();
    if lang == Lang::Erlang {
        for d in context.iter().filter(|d| code(d) == "atomvm-compat") {
            if let Some(a) = call_fix(uri, text, facts, d, platform) {
                out.push(a);
            }
        }
        if let Some(a) = missing_callbacks(uri, text, facts, range, context) {
            out.push(a);
        }
    }
    out
}

fn code(d: &Diagnostic) -> &str {
    match &d.code {
        Some(NumberOrString::String(c)) => c,
        _ => "",
    }
}

// `WorkspaceEdit::changes` is lsp_types' own map keyed by `Uri`, whose hash does not change.
#[allow(clippy::mutable_key_type)]
fn edit(uri: &Uri, edits: Vec<TextEdit>) -> WorkspaceEdit {
    let mut changes = HashMap::new();
    changes.insert(uri.clone(), edits);
    WorkspaceEdit {
        changes: Some(changes),
        ..Default::default()
    }
}

/// The rewrite or rename of the missing call `d` is about.
fn call_fix(
    uri: &Uri,
    text: &str,
    facts: &Facts,
    d: &Diagnostic,
    platform: Platform,
) -> Option<CodeAction> {
    let call = facts
        .calls
        .iter()
        .find(|c| to_proto::span(text, c.span).start == d.range.start)?;
    let (title, range, new_text) = match ApiTable::atomvm().suggest(platform, &call.mfa)? {
        Suggestion::Rewrite(a) if !call.args.is_empty() || a.arity == 0 => {
            let new_text = a.apply(&call.args)?;
            let shown = alternatives::find(&call.mfa)?
                .caveat
                .map_or(String::new(), |c| format!(" ({c})"));
            (
                format!("Replace {} with {new_text}{shown}", call.mfa),
                to_proto::span(text, call.expr),
                new_text,
            )
        }
        Suggestion::Call(m) if m.arity == call.mfa.arity => (
            format!("Change to {m}"),
            to_proto::span(text, call.span),
            format!("{}:{}", m.module, m.function),
        ),
        _ => return None,
    };
    Some(CodeAction {
        title,
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![d.clone()]),
        edit: Some(edit(uri, vec![TextEdit { range, new_text }])),
        is_preferred: Some(true),
        ..Default::default()
    })
}

/// "Add missing httpd_ws_handler callbacks", offered on the `-behaviour` or `-module` line, or with a
/// handler-contract warning in view.
fn missing_callbacks(
    uri: &Uri,
    text: &str,
    facts: &Facts,
    range: Range,
    context: &[Diagnostic],
) -> Option<CodeAction> {
    let cursor_line = range.start.line + 1;
    let on_header = facts.behaviours.iter().any(|(_, s)| s.line == cursor_line)
        || text
            .lines()
            .nth(range.start.line as usize)
            .is_some_and(|l| l.trim_start().starts_with("-module("));
    let contract_warning = context.iter().any(|d| code(d) == "handler-contract");
    if !on_header && !contract_warning {
        return None;
    }
    let mut names = Vec::new();
    let mut code_blocks = Vec::new();
    let mut behaviours = Vec::new();
    for (b, _) in &facts.behaviours {
        let Some(stubs) = contract::behaviour_callbacks(b) else {
            continue;
        };
        let missing: Vec<_> = stubs
            .iter()
            .filter(|s| {
                !facts
                    .functions
                    .iter()
                    .any(|f| f.name == s.name && f.arity == s.arity)
            })
            .collect();
        if missing.is_empty() {
            continue;
        }
        behaviours.push(b.clone());
        for s in missing {
            names.push(format!("{}/{}", s.name, s.arity));
            code_blocks.push(s.code);
        }
    }
    if names.is_empty() {
        return None;
    }
    let lines = text.lines().count() as u32;
    let end = Position::new(lines, 0);
    let sep = if text.ends_with('\n') || text.is_empty() {
        ""
    } else {
        "\n"
    };
    let mut edits = vec![TextEdit {
        range: Range::new(end, end),
        new_text: format!("{sep}\n{}\n", code_blocks.join("\n\n")),
    }];
    if !facts.export_all {
        // After the last -export, or after the -behaviour line: a module may have several exports.
        let after = facts
            .export_line
            .or_else(|| facts.behaviours.last().map(|(_, s)| s.line))
            .unwrap_or(1);
        let at = Position::new(after, 0);
        edits.push(TextEdit {
            range: Range::new(at, at),
            new_text: format!("-export([{}]).\n", names.join(", ")),
        });
    }
    Some(CodeAction {
        title: format!(
            "Add missing {} callbacks: {}",
            behaviours.join(", "),
            names.join(", ")
        ),
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(
            context
                .iter()
                .filter(|d| code(d) == "handler-contract")
                .cloned()
                .collect(),
        ),
        edit: Some(edit(uri, edits)),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use avmd_engine::syntax::read;
    use std::str::FromStr;

    fn uri() -> Uri {
        Uri::from_str("file:///p/src/a.erl").unwrap()
    }

    fn diag(line: u32, character: u32, code: &str) -> Diagnostic {
        Diagnostic {
            range: Range::new(
                Position::new(line, character),
                Position::new(line, character + 9),
            ),
            code: Some(NumberOrString::String(code.into())),
            ..Default::default()
        }
    }

    /// The fixes offered for an `atomvm-compat` diagnostic at 0-based `line`/`character` of `text`.
    fn fixes_at(text: &str, line: u32, character: u32) -> Vec<CodeAction> {
        let facts = read(Lang::Erlang, text);
        let d = diag(line, character, "atomvm-compat");
        fixes(
            &uri(),
            text,
            Lang::Erlang,
            &facts,
            d.range,
            std::slice::from_ref(&d),
            Platform::Esp32,
        )
    }

    fn edits(a: &CodeAction) -> Vec<TextEdit> {
        a.edit.as_ref().unwrap().changes.as_ref().unwrap()[&uri()].clone()
    }

    #[test]
    fn a_missing_call_is_rewritten_with_its_arguments() {
        let text = "-module(a).\nf(L) ->\n    lists:sum([X * 2 || X <- L]).\n";
        let a = fixes_at(text, 2, 4);
        assert_eq!(a.len(), 1);
        let e = &edits(&a[0])[0];
        assert_eq!(
            e.new_text,
            "lists:foldl(fun(X, Acc) -> X + Acc end, 0, [X * 2 || X <- L])"
        );
        assert_eq!(
            e.range,
            Range::new(Position::new(2, 4), Position::new(2, 32))
        );
        assert!(a[0]
            .title
            .starts_with("Replace lists:sum/1 with lists:foldl("));
    }

    #[test]
    fn a_typo_becomes_the_function_that_exists() {
        let text = "f(L) -> lists:revers(L).\n";
        let a = fixes_at(text, 0, 8);
        assert_eq!(a[0].title, "Change to lists:reverse/1");
        assert_eq!(edits(&a[0])[0].new_text, "lists:reverse");
    }

    #[test]
    fn missing_callbacks_are_added_and_exported() {
        let text = "-module(w).\n-behaviour(httpd_ws_handler).\n-export([ws_init/2]).\nws_init(_, _) -> {ok, 0}.\n";
        let facts = read(Lang::Erlang, text);
        let at = Range::new(Position::new(1, 3), Position::new(1, 3));
        let a = fixes(&uri(), text, Lang::Erlang, &facts, at, &[], Platform::Esp32);
        assert_eq!(a.len(), 1);
        assert_eq!(
            a[0].title,
            "Add missing httpd_ws_handler callbacks: ws_handle/2, ws_info/2"
        );
        let e = edits(&a[0]);
        assert!(e[0].new_text.contains("ws_handle({text, Text}, State) ->"));
        assert_eq!(e[1].new_text, "-export([ws_handle/2, ws_info/2]).\n");
        assert_eq!(e[1].range.start, Position::new(3, 0));
        // the fixed text defines everything: no action any more
        let fixed = format!("{text}{}", e[0].new_text);
        let facts = read(Lang::Erlang, &fixed);
        assert!(facts.errors.is_empty());
        assert!(fixes(
            &uri(),
            &fixed,
            Lang::Erlang,
            &facts,
            at,
            &[],
            Platform::Esp32
        )
        .is_empty());
        // elsewhere in the file, nothing is offered
        let body = Range::new(Position::new(3, 2), Position::new(3, 2));
        assert!(fixes(
            &uri(),
            text,
            Lang::Erlang,
            &read(Lang::Erlang, text),
            body,
            &[],
            Platform::Esp32
        )
        .is_empty());
    }
}
