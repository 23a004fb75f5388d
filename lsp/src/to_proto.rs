//! Engine values → LSP wire types. Pure: the engine counts lines and columns from 1 in characters
//! (as Erlang's compiler does); LSP counts from 0 in UTF-16 code units, the default position encoding
//! (LSP 3.17 "Position"), so a column is converted against the text of its line when we have it.

use avmd_engine::diagnostic::{Diagnostic, DiagnosticSource, Severity};
use avmd_engine::routes::Route;
use tower_lsp_server::lsp_types::{self as lsp, NumberOrString, Position, Range};

/// The `source` an editor shows next to a diagnostic: AtomVM API misses are told apart from the rest.
pub fn source(src: DiagnosticSource) -> &'static str {
    match src {
        DiagnosticSource::Compat => "atomvm-compat",
        DiagnosticSource::Compiler | DiagnosticSource::Size | DiagnosticSource::Project => "avmd",
    }
}

pub fn severity(s: Severity) -> lsp::DiagnosticSeverity {
    match s {
        Severity::Error => lsp::DiagnosticSeverity::ERROR,
        Severity::Warning => lsp::DiagnosticSeverity::WARNING,
        Severity::Info => lsp::DiagnosticSeverity::INFORMATION,
    }
}

/// UTF-16 offset of the character at 0-based char index `chars` in `line` (clamped to the line end).
pub fn utf16_offset(line: &str, chars: usize) -> u32 {
    line.chars().take(chars).map(char::len_utf16).sum::<usize>() as u32
}

fn utf16_len(s: &str) -> u32 {
    s.encode_utf16().count() as u32
}

/// Characters that continue a token an editor should underline (`lists:sum`, `'quoted atom'` aside).
fn is_token_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '@' | ':' | '.')
}

/// The range to underline for a 1-based `line`/`column` (0 = unknown). A known column underlines the
/// token starting there (at least one character); an unknown column underlines the whole line.
pub fn range_at(line: u32, column: u32, line_text: Option<&str>) -> Range {
    let l = line.saturating_sub(1);
    let text = line_text.unwrap_or("").trim_end_matches(['\r', '\n']);
    if column == 0 {
        return Range::new(Position::new(l, 0), Position::new(l, utf16_len(text)));
    }
    let start_chars = (column - 1) as usize;
    let rest: Vec<char> = text.chars().skip(start_chars).collect();
    let token = rest.iter().take_while(|c| is_token_char(**c)).count();
    let len = if token == 0 { rest.len().min(1) } else { token };
    let start = utf16_offset(text, start_chars);
    let end = utf16_offset(text, start_chars + len);
    Range::new(Position::new(l, start), Position::new(l, end))
}

/// One engine diagnostic as LSP sends it. `line_text` is the text of the diagnostic's line, if known.
pub fn diagnostic(d: &Diagnostic, line_text: Option<&str>) -> lsp::Diagnostic {
    lsp::Diagnostic {
        range: range_at(d.line, d.column, line_text),
        severity: Some(severity(d.severity)),
        code: Some(NumberOrString::String(d.source.as_str().to_string())),
        source: Some(source(d.source).to_string()),
        message: d.message.clone(),
        ..Default::default()
    }
}

/// The range of a route tuple's head, `{<<"/path">>`, which is where an editor points at a route.
pub fn route_range(route: &Route, line_text: Option<&str>) -> Range {
    let l = route.line.saturating_sub(1);
    let start = match line_text {
        Some(t) => utf16_offset(t, route.column.saturating_sub(1) as usize),
        None => route.column.saturating_sub(1),
    };
    let head = utf16_len("{<<\"") + utf16_len(&route.path) + utf16_len("\">>");
    Range::new(Position::new(l, start), Position::new(l, start + head))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(line: u32, column: u32) -> Diagnostic {
        Diagnostic {
            file: None,
            line,
            column,
            severity: Severity::Error,
            source: DiagnosticSource::Compat,
            message: "lists:sum/1 is not available on AtomVM".into(),
        }
    }

    #[test]
    fn one_based_line_and_column_become_zero_based() {
        let d = diagnostic(&diag(3, 5), Some("    lists:sum(L)."));
        assert_eq!(d.range.start, Position::new(2, 4));
        assert_eq!(d.range.end, Position::new(2, 13));
        assert_eq!(d.source.as_deref(), Some("atomvm-compat"));
        assert_eq!(d.severity, Some(lsp::DiagnosticSeverity::ERROR));
    }

    #[test]
    fn columns_are_counted_in_utf16_units() {
        // "é" is one char and one UTF-16 unit, "𝄞" one char and two units.
        let r = range_at(1, 4, Some("𝄞é x"));
        assert_eq!(r.start, Position::new(0, 4));
        assert_eq!(r.end, Position::new(0, 5));
    }

    #[test]
    fn unknown_line_or_column_underlines_the_whole_line() {
        assert_eq!(
            range_at(0, 0, None),
            Range::new(Position::new(0, 0), Position::new(0, 0))
        );
        assert_eq!(
            range_at(2, 0, Some("foo() -> ok.\n")),
            Range::new(Position::new(1, 0), Position::new(1, 12))
        );
    }

    #[test]
    fn punctuation_and_columns_past_the_end_stay_on_the_line() {
        assert_eq!(range_at(1, 3, Some("a, )")).end, Position::new(0, 3));
        let r = range_at(1, 40, Some("short"));
        assert_eq!((r.start, r.end), (Position::new(0, 5), Position::new(0, 5)));
    }

    #[test]
    fn a_route_range_covers_the_tuple_head() {
        let route = Route {
            path: "/api/hello".into(),
            handler: "h".into(),
            target: None,
            methods: vec![],
            line: 4,
            column: 9,
        };
        let r = route_range(&route, Some("        {<<\"/api/hello\">>, h, #{}},"));
        assert_eq!(r, Range::new(Position::new(3, 8), Position::new(3, 25)));
    }
}
