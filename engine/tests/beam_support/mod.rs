//! Helpers shared by the bundle-layer integration tests: a self-cleaning scratch directory and real
//! `erlc` compiles of small modules (real OTP beams, not hand-made bytes).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A scratch directory under the system temp dir, removed on drop.
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "avmd-bundle-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create scratch dir");
        Scratch { path }
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Compiles `source` (the text of `module.erl`) with the real `erlc` into `dir` and returns the beam.
/// `+deterministic` keeps the source path out of the `Line` chunk, as a reproducible build must.
pub fn erlc(dir: &Path, module: &str, source: &str) -> Vec<u8> {
    let src = dir.join(format!("{module}.erl"));
    std::fs::write(&src, source).expect("write .erl");
    let out = Command::new("erlc")
        .arg("+deterministic")
        .arg("-o")
        .arg(dir)
        .arg(&src)
        .output()
        .expect("erlc must be installed (Debian erlang) to run these tests");
    assert!(
        out.status.success(),
        "erlc {module}.erl failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(dir.join(format!("{module}.beam"))).expect("read .beam")
}

/// Runs `erl -noshell -eval EXPR` in `dir` and returns (success, stdout+stderr).
pub fn erl_eval(dir: &Path, expr: &str) -> (bool, String) {
    let out = Command::new("erl")
        .current_dir(dir)
        .args(["-noshell", "-eval", expr, "-s", "init", "stop"])
        .output()
        .expect("erl must be installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A module with literals (so OTP writes a compressed `LitT`), a `start/0`, and a call AtomVM lacks.
pub const LIT_MODULE: &str = r#"-module(lit).
-export([start/0, big/0, s/1]).
start() -> io:format("~p~n", [big()]).
big() -> [{a, <<"hello">>, "a string literal", 1.5, #{k => v}}, lists:seq(1, 3)].
s(L) -> lists:sum(L).
"#;
