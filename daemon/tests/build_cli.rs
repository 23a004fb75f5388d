//! `avmd build` as a user runs it: the real binary on projects scaffolded by `avmd new`, text and JSON
//! output, a broken module reported as file:line:col with exit 1, a directory without a project refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn avmd(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_avmd"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run avmd")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("avmd-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn build_text_json_and_errors() {
    let dir = scratch("build");
    assert!(avmd(&["new", "demo"], &dir).status.success());
    let project = dir.join("demo");

    let out = avmd(&["build", "demo"], &dir);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("demo/_build/avmd/demo.avm"), "{text}");
    assert!(
        text.contains("% of the 1048576 byte app partition"),
        "{text}"
    );
    let sha_line = text
        .lines()
        .find(|l| l.starts_with("sha256 "))
        .expect("sha256 line");
    assert_eq!(sha_line.len(), "sha256 ".len() + 64);

    let out = avmd(&["build", "--json"], &project);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["sha256"].as_str().unwrap(), &sha_line["sha256 ".len()..]);
    assert!(v["size"].as_u64().unwrap() > 0);
    assert!(v["bundle"].as_str().unwrap().ends_with("demo.avm"));
    assert!(v["diagnostics"].as_array().unwrap().is_empty());

    // A syntax error: exit 1, file:line:col: error: message, and in JSON too.
    std::fs::write(
        project.join("src/demo_api.erl"),
        "-module(demo_api).\n-export([handle_api/4]).\n\nhandle_api(_, _, _, _) ->\n    {ok, }.\n",
    )
    .unwrap();
    let out = avmd(&["build", "demo"], &dir);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.contains("src/demo_api.erl:5:") && l.contains(": error: ")),
        "{text}"
    );
    let out = avmd(&["build", "demo", "--json"], &dir);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["bundle"].is_null());
    let d = &v["diagnostics"][0];
    assert_eq!(
        (d["line"].as_u64(), d["severity"].as_str()),
        (Some(5), Some("error"))
    );

    // No project here.
    let empty = scratch("empty");
    let out = avmd(&["build"], &empty);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no avmd.toml, rebar.config or mix.exs"));

    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&empty);
}
