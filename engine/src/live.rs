//! The checks that run on text as it is typed, before any save: syntax errors, AtomVM-compatibility
//! misses at each literal call, and socket options AtomVM does not honour. They read the source
//! (`syntax`), not the compiled module, so they see only calls written out as `m:f(...)`; the build on
//! save stays the authority. Pure: facts in, diagnostics out, with the build's own messages so that a
//! miss reads the same before and after the save.

use crate::compat::{ApiTable, Miss, Platform};
use crate::diagnostic::{Diagnostic, DiagnosticSource};
use crate::syntax::{Facts, Span};
use std::path::Path;

/// The diagnostics of one unsaved file. `present` says whether a module is the project's own (or a
/// library bundled with it): calls into those are never misses.
pub fn check(
    file: &Path,
    facts: &Facts,
    platform: Platform,
    present: &dyn Fn(&str) -> bool,
) -> Vec<Diagnostic> {
    let table = ApiTable::atomvm();
    let mut out: Vec<Diagnostic> = facts
        .errors
        .iter()
        .map(|e| {
            at(
                Diagnostic::error(DiagnosticSource::Syntax, file, &e.message),
                e.span,
            )
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    for call in &facts.calls {
        let m = call.mfa.module.as_str();
        // An Elixir alias that AtomVM does not ship may be the project's own `alias`: not judged.
        let judged = !m.starts_with("Elixir.") || table.has_module(platform, m);
        if !judged || present(m) || table.has(platform, &call.mfa) {
            continue;
        }
        if !seen.insert((call.mfa.clone(), call.span.line, call.span.column)) {
            continue;
        }
        let miss = Miss {
            module: facts.module.clone().unwrap_or_default(),
            call: call.mfa.clone(),
            platform,
            module_absent: !table.has_module(platform, m),
        };
        out.push(at(
            Diagnostic::error(DiagnosticSource::Compat, file, miss.message()),
            call.span,
        ));
    }
    out.extend(socket_options(file, facts));
    out
}

/// The socket-option warnings of one file (also what the build reports for it).
pub fn socket_options(file: &Path, facts: &Facts) -> Vec<Diagnostic> {
    facts
        .socket_options
        .iter()
        .map(|o| {
            at(
                Diagnostic::warning(DiagnosticSource::Compat, file, &o.message),
                o.span,
            )
        })
        .collect()
}

fn at(d: Diagnostic, span: Span) -> Diagnostic {
    d.at(span.line, span.column).spanning(span.width().max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Severity;
    use crate::syntax::{read, Lang};

    fn live(text: &str, lang: Lang) -> Vec<Diagnostic> {
        let facts = read(lang, text);
        check(Path::new("a.erl"), &facts, Platform::Esp32, &|m| {
            m == "mine"
        })
    }

    #[test]
    fn a_missing_call_reads_as_the_build_says_it() {
        let d = live(
            "-module(a).\nf() -> lists:sum([1]), lists:map(fun(X) -> X end, []), mine:x().\n",
            Lang::Erlang,
        );
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(
            d[0].message,
            "lists:sum/1 is not available on AtomVM (esp32)"
        );
        assert_eq!((d[0].line, d[0].column, d[0].span), (2, 8, 9));
        assert_eq!(d[0].source, DiagnosticSource::Compat);
    }

    #[test]
    fn absent_modules_syntax_errors_and_options() {
        let d = live(
            "-module(a).\nf() -> re:run(<<>>, \"x\"), gen_tcp:listen(1, [{active, once}]).\ng() -> (.\n",
            Lang::Erlang,
        );
        let kinds: Vec<(DiagnosticSource, Severity, u32)> =
            d.iter().map(|x| (x.source, x.severity, x.line)).collect();
        assert!(
            kinds.contains(&(DiagnosticSource::Syntax, Severity::Error, 3)),
            "{d:?}"
        );
        assert!(d
            .iter()
            .any(|x| x.message.contains("the module re does not exist")));
        assert!(kinds.contains(&(DiagnosticSource::Compat, Severity::Warning, 2)));
    }

    #[test]
    fn elixir_aliases_atomvm_does_not_ship_are_left_alone() {
        let d = live(
            "defmodule A do\n  def f(x), do: {MyApp.Util.go(x), :lists.sum(x), Enum.map(x, & &1)}\nend\n",
            Lang::Elixir,
        );
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].message.starts_with("lists:sum/1"));
    }
}
