//! Definition sites: where a project defines a module and a function, for go-to-definition in every
//! client. Lines are 1-based, like every position the engine gives. Pure apart from `module_file`,
//! which lists the project's sources.

use std::path::{Path, PathBuf};

/// The project source (`src/**/*.erl`) that defines module `module`.
pub fn module_file(root: &Path, module: &str) -> Option<PathBuf> {
    crate::files::erl_sources(root)
        .into_iter()
        .find(|f| f.file_stem().is_some_and(|s| s == module))
}

/// 1-based line of the `-module(...)` attribute (1 when there is none).
pub fn module_line(text: &str) -> u32 {
    text.lines()
        .position(|l| l.trim_start().starts_with("-module("))
        .unwrap_or(0) as u32
        + 1
}

/// 1-based line of the first clause of `fun` (a line starting with `fun(`).
pub fn function_line(text: &str, fun: &str) -> Option<u32> {
    let head = format!("{fun}(");
    text.lines()
        .position(|l| l.starts_with(&head))
        .map(|i| i as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_definitions() {
        let text = "%% doc\n-module(m).\n-export([f/1]).\n\nf(X) ->\n    g(X).\nf2() -> ok.\n";
        assert_eq!(module_line(text), 2);
        assert_eq!(function_line(text, "f"), Some(5));
        assert_eq!(function_line(text, "f2"), Some(7));
        assert_eq!(function_line(text, "h"), None);
        assert_eq!(module_line("no attribute"), 1);
    }
}
