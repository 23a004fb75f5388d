//! The one walk over a project's source trees: `src/**/*.erl`, `lib/**/*.ex`, `priv/**`. Hidden entries
//! and `_build` are skipped; results are sorted, so every caller sees the same files in the same order.

use std::path::{Path, PathBuf};

/// Files under `dir` (recursively) ending in `.ext` (any file when `ext` is empty), sorted.
pub fn walk(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            let path = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() && name != "_build" => stack.push(path),
                Ok(t)
                    if t.is_file()
                        && (ext.is_empty() || path.extension().is_some_and(|x| x == ext)) =>
                {
                    out.push(path)
                }
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// The project's Erlang sources, `root/src/**/*.erl`.
pub fn erl_sources(root: &Path) -> Vec<PathBuf> {
    walk(&root.join("src"), "erl")
}

/// The project's Elixir sources, `root/lib/**/*.ex`.
pub fn ex_sources(root: &Path) -> Vec<PathBuf> {
    walk(&root.join("lib"), "ex")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_sorted_skipping_hidden_and_build_dirs() {
        let d = std::env::temp_dir().join(format!("avmd-files-{}", std::process::id()));
        for f in [
            "src/b.erl",
            "src/a/c.erl",
            "src/.hidden/x.erl",
            "src/_build/y.erl",
            "src/n.txt",
        ] {
            let p = d.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let got: Vec<String> = erl_sources(&d)
            .iter()
            .map(|p| p.strip_prefix(&d).unwrap().display().to_string())
            .collect();
        assert_eq!(got, ["src/a/c.erl", "src/b.erl"]);
        assert_eq!(walk(&d.join("src"), "").len(), 3);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
