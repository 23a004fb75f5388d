//! Engine values → LSP wire types. Pure: the engine counts lines and columns from 1 in characters
//! (as Erlang's compiler does); LSP counts from 0 in UTF-16 code units, the default position encoding
//! (LSP 3.17 "Position"), so a column is converted against the text of its line when we have it.

use avmd_engine::diagnostic::{Diagnostic, DiagnosticSource, Related, Severity};
use avmd_engine::routes::Route;
use tower_lsp_server::lsp_types::{self as lsp, NumberOrString, Position, Range};
use tower_lsp_server::UriExt;

/// The `source` an editor shows next to a diagnostic: AtomVM API misses are told apart from the rest.
pub fn source(src: DiagnosticSource) -> &'static str {
    match src {
        DiagnosticSource::Compat => "atomvm-compat",
        DiagnosticSource::Syntax => "syntax",
        DiagnosticSource::Compiler
        | DiagnosticSource::Size
        | DiagnosticSource::Project
        | DiagnosticSource::RouteConflict
        | DiagnosticSource::HandlerContract => "avmd",
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
        range: span_range(d.line, d.column, d.span, line_text),
        severity: Some(severity(d.severity)),
        code: Some(NumberOrString::String(d.source.as_str().to_string())),
        source: Some(source(d.source).to_string()),
        message: d.message.clone(),
        ..Default::default()
    }
}

/// `span` characters from a 1-based `line`/`column`; a zero span is [`range_at`]'s token rule.
pub fn span_range(line: u32, column: u32, span: u32, line_text: Option<&str>) -> Range {
    if span == 0 || column == 0 {
        return range_at(line, column, line_text);
    }
    let l = line.saturating_sub(1);
    let first = (column - 1) as usize;
    let (start, end) = match line_text {
        Some(t) => (
            utf16_offset(t, first),
            utf16_offset(t, first + span as usize),
        ),
        None => (first as u32, first as u32 + span),
    };
    Range::new(Position::new(l, start), Position::new(l, end.max(start)))
}

/// An LSP position in `text` as the engine's 1-based line and character column.
pub fn from_position(text: &str, pos: Position) -> (u32, u32) {
    let line = text.lines().nth(pos.line as usize).unwrap_or("");
    let mut units = 0u32;
    let mut chars = 0u32;
    for c in line.chars() {
        if units >= pos.character {
            break;
        }
        units += c.len_utf16() as u32;
        chars += 1;
    }
    (pos.line + 1, chars + 1)
}

/// An engine span (1-based lines, character columns) of `text` as an LSP range.
pub fn span(text: &str, s: avmd_engine::syntax::Span) -> Range {
    let at = |line: u32, column: u32| {
        let t = text
            .lines()
            .nth(line.saturating_sub(1) as usize)
            .unwrap_or("");
        Position::new(
            line.saturating_sub(1),
            utf16_offset(t, column.saturating_sub(1) as usize),
        )
    };
    Range::new(at(s.line, s.column), at(s.end_line, s.end_column))
}

/// A diagnostic's second location as LSP related information (None when the path is no URI).
pub fn related(r: &Related, line_text: Option<&str>) -> Option<lsp::DiagnosticRelatedInformation> {
    Some(lsp::DiagnosticRelatedInformation {
        location: lsp::Location::new(
            lsp::Uri::from_file_path(&r.file)?,
            span_range(r.line, r.column, r.span, line_text),
        ),
        message: r.message.clone(),
    })
}

/// The range of a route tuple's head, `{<<"/path">>`, which is where an editor points at a route.
pub fn route_range(route: &Route, line_text: Option<&str>) -> Range {
    span_range(route.line, route.column, route.head_span(), line_text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(line: u32, column: u32) -> Diagnostic {
        Diagnostic::error(
            DiagnosticSource::Compat,
            std::path::Path::new("a.erl"),
            "lists:sum/1 is not available on AtomVM",
        )
        .at(line, column)
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
            head: 17,
        };
        let r = route_range(&route, Some("        {<<\"/api/hello\">>, h, #{}},"));
        assert_eq!(r, Range::new(Position::new(3, 8), Position::new(3, 25)));
    }
}
