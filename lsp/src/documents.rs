//! The documents the editor has open, with their unsaved text, and the diagnostics of that text as it is
//! typed: the engine's `live` checks (syntax, AtomVM calls, socket options) merged with what the last
//! build said about the file. Pure but for the store's mutex: text in, LSP diagnostics out.

use crate::to_proto;
use avmd_engine::compat::Platform;
use avmd_engine::live;
use avmd_engine::syntax::{self, Facts, Lang};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use tower_lsp_server::lsp_types as lsp;

/// One open document.
#[derive(Debug, Clone)]
pub struct Doc {
    pub text: String,
    /// Changed since it was opened or last saved: its diagnostics are the live ones.
    pub dirty: bool,
    /// Bumped on every change, so a check that waited past a newer keystroke is dropped.
    pub generation: u64,
}

/// What the live check needs to know of a document's project.
#[derive(Debug, Clone)]
pub struct Context {
    pub platform: Platform,
    /// The project's modules, the runtime's and those of bundled libraries: calls into them are fine.
    pub present: HashSet<String>,
}

/// Open documents by path.
#[derive(Default)]
pub struct Store(std::sync::Mutex<HashMap<PathBuf, Doc>>);

impl Store {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Doc>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn open(&self, path: &Path, text: String) {
        self.map().insert(
            path.to_path_buf(),
            Doc {
                text,
                dirty: false,
                generation: 0,
            },
        );
    }

    /// The new full text; returns its generation.
    pub fn change(&self, path: &Path, text: String) -> u64 {
        let mut map = self.map();
        let doc = map.entry(path.to_path_buf()).or_insert(Doc {
            text: String::new(),
            dirty: true,
            generation: 0,
        });
        doc.text = text;
        doc.dirty = true;
        doc.generation += 1;
        doc.generation
    }

    /// Saved: the file on disk is the document again (with its text, when the client sent it).
    pub fn saved(&self, path: &Path, text: Option<String>) {
        if let Some(doc) = self.map().get_mut(path) {
            if let Some(t) = text {
                doc.text = t;
            }
            doc.dirty = false;
        }
    }

    pub fn close(&self, path: &Path) {
        self.map().remove(path);
    }

    pub fn get(&self, path: &Path) -> Option<Doc> {
        self.map().get(path).cloned()
    }

    pub fn is_newest(&self, path: &Path, generation: u64) -> bool {
        self.map()
            .get(path)
            .is_some_and(|d| d.generation == generation)
    }

    /// The text of `path`: the editor's when it is open, else the file's.
    pub fn text(&self, path: &Path) -> Option<String> {
        match self.get(path) {
            Some(d) => Some(d.text),
            None => std::fs::read_to_string(path).ok(),
        }
    }
}

/// The facts of a text, when its file is a language the engine reads.
pub fn facts(path: &Path, text: &str) -> Option<(Lang, Facts)> {
    let lang = Lang::of(path)?;
    Some((lang, syntax::read(lang, text)))
}

/// The live diagnostics of `text`, as LSP sends them.
pub fn live_diagnostics(path: &Path, text: &str, cx: &Context) -> Vec<lsp::Diagnostic> {
    let Some((_, facts)) = facts(path, text) else {
        return Vec::new();
    };
    let present = |m: &str| cx.present.contains(m);
    live::check(path, &facts, cx.platform, &present)
        .iter()
        .map(|d| {
            let line = text.lines().nth(d.line.saturating_sub(1) as usize);
            to_proto::diagnostic(d, line)
        })
        .collect()
}

/// What to show for a file being edited: the live findings, plus the last build's findings that the
/// live checks do not redo (the compiler's other errors and warnings, route and contract checks),
/// which keep their saved positions until the next save.
pub fn merge(live: Vec<lsp::Diagnostic>, built: &[lsp::Diagnostic]) -> Vec<lsp::Diagnostic> {
    let mut out: Vec<lsp::Diagnostic> = built.iter().filter(|d| !redone_live(d)).cloned().collect();
    out.extend(live);
    out
}

/// A build finding the live checks make again on the unsaved text (so the build's copy is stale).
fn redone_live(d: &lsp::Diagnostic) -> bool {
    let code = match &d.code {
        Some(lsp::NumberOrString::String(c)) => c.as_str(),
        _ => "",
    };
    code == "atomvm-compat" || (code == "compiler" && d.message.starts_with("syntax error"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx() -> Context {
        Context {
            platform: Platform::Esp32,
            present: ["mine".to_string()].into_iter().collect(),
        }
    }

    #[test]
    fn typed_text_is_checked_as_it_stands() {
        let d = live_diagnostics(
            Path::new("a.erl"),
            "-module(a).\nf() ->\n    lists:sum([1]) + mine:x().\n",
            &cx(),
        );
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].message,
            "lists:sum/1 is not available on AtomVM (esp32)"
        );
        assert_eq!(d[0].range.start, lsp::Position::new(2, 4));
        assert_eq!(d[0].range.end, lsp::Position::new(2, 13));
        assert!(live_diagnostics(Path::new("README.md"), "lists:sum(x)", &cx()).is_empty());
    }

    #[test]
    fn the_builds_stale_compat_and_syntax_findings_give_way() {
        let built = |code: &str, message: &str| lsp::Diagnostic {
            code: Some(lsp::NumberOrString::String(code.into())),
            message: message.into(),
            ..Default::default()
        };
        let kept = merge(
            vec![built("syntax", "syntax error before: )")],
            &[
                built(
                    "atomvm-compat",
                    "lists:sum/1 is not available on AtomVM (esp32)",
                ),
                built("compiler", "syntax error before: '.'"),
                built("compiler", "function foo/0 undefined"),
                built("route-conflict", "..."),
            ],
        );
        let msgs: Vec<&str> = kept.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            msgs,
            ["function foo/0 undefined", "...", "syntax error before: )"]
        );
    }

    #[test]
    fn a_check_that_waited_past_a_newer_change_is_stale() {
        let s = Store::default();
        let p = Path::new("/x/a.erl");
        s.open(p, "a".into());
        let g1 = s.change(p, "ab".into());
        let g2 = s.change(p, "abc".into());
        assert!(!s.is_newest(p, g1) && s.is_newest(p, g2));
        assert!(s.get(p).unwrap().dirty);
        s.saved(p, None);
        assert!(!s.get(p).unwrap().dirty);
        assert_eq!(s.text(p).as_deref(), Some("abc"));
    }
}
