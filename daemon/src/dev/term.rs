//! What `avmd dev` prints on the terminal (stdout): one line per build with its diagnostics under
//! it, the device console prefixed so it stands apart, and warnings. Plain text, no colours, so that
//! it reads the same in a terminal, a log file and a test's captured output.

use std::io::Write;

use super::state::{BuildView, DiagnosticView};
use crate::history::BuildResult;

/// `HH:MM:SS` (UTC) of a Unix time in milliseconds.
pub fn clock(ms: i64) -> String {
    let s = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

fn out(line: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{line}");
    let _ = o.flush();
}

/// The one-line summary of a build, e.g.
/// `[10:02:03] build ok in 48 ms (1 compiled / 14 modules), bundle 51234 bytes sha256 1a2b3c4d5e6f: reloaded`.
pub fn build_line(b: &BuildView, serving: bool) -> String {
    let head = format!(
        "[{}] build {} in {} ms ({} compiled / {} modules)",
        clock(b.record.started_at_ms),
        b.record.result.as_str(),
        b.record.duration_ms,
        b.record.n_compiled,
        b.record.n_modules
    );
    match b.record.result {
        BuildResult::Ok => format!(
            "{head}, bundle {} bytes sha256 {}: reloaded",
            b.record.bundle_size.unwrap_or(0),
            b.record
                .bundle_sha256
                .as_deref()
                .map(|s| &s[..s.len().min(12)])
                .unwrap_or("?")
        ),
        BuildResult::Unchanged => format!("{head}: the bundle did not change, still serving"),
        _ => format!(
            "{head}: {} error(s), {} warning(s); {}",
            b.record.n_errors,
            b.record.n_warnings,
            if serving {
                "the last good bundle keeps serving"
            } else {
                "nothing is serving yet"
            }
        ),
    }
}

pub fn build(b: &BuildView, diagnostics: &[DiagnosticView], serving: bool) {
    let mut text = build_line(b, serving);
    for d in diagnostics {
        text.push_str("\n  ");
        text.push_str(&d.rendered);
    }
    for c in &b.poisoned_calls {
        text.push_str(&format!(
            "\n  note: {c} fails with undef in dev, as it would on the device"
        ));
    }
    if let Some(e) = &b.load_error {
        if !diagnostics.iter().any(|d| &d.message == e) {
            text.push_str(&format!("\n  error: {e}"));
        }
    }
    out(&text);
}

pub fn console(stream: &str, text: &str) {
    let tag = if stream == "crash" {
        "device!"
    } else {
        "device"
    };
    out(&format!("{tag} | {text}"));
}

pub fn warning(text: &str) {
    out(&format!("warning: {text}"));
    tracing::warn!("{text}");
}

pub fn info(text: &str) {
    out(text);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(result: &str) -> BuildView {
        let mut view = BuildView::starting("src/a.erl", 3_723_000); // 01:02:03 UTC on 1970-01-01
        let r = &mut view.record;
        r.id = 3;
        r.duration_ms = 48;
        r.result = BuildResult::parse(result);
        r.bundle_sha256 = Some("1a2b3c4d5e6f7a8b".into());
        r.bundle_size = Some(51234);
        r.n_errors = u32::from(result != "ok");
        r.n_compiled = 1;
        r.n_modules = 14;
        view
    }

    #[test]
    fn build_lines_say_what_happened() {
        assert_eq!(
            build_line(&view("ok"), true),
            "[01:02:03] build ok in 48 ms (1 compiled / 14 modules), bundle 51234 bytes sha256 1a2b3c4d5e6f: reloaded"
        );
        assert!(build_line(&view("failed"), true)
            .ends_with("1 error(s), 0 warning(s); the last good bundle keeps serving"));
        assert!(build_line(&view("failed"), false).ends_with("nothing is serving yet"));
    }
}
