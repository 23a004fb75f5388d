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

/// Only the runtime modules an app reaches ship: the scaffold (static files and a JSON API) leaves
/// WebSocket and the middleware out and says so; naming `httpd_ws_handler` brings WebSocket in;
/// `runtime_modules = "all"` ships everything; an unknown value is refused.
#[test]
fn only_the_runtime_modules_the_app_reaches_ship() {
    let dir = scratch("reach");
    assert!(avmd(&["new", "shop"], &dir).status.success());
    let project = dir.join("shop");
    let build = |dir: &Path| -> serde_json::Value {
        let out = avmd(&["build", "shop", "--json"], dir);
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let names = |v: &serde_json::Value, key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().to_string())
            .collect()
    };

    let used = build(&dir);
    let modules = names(&used, "modules");
    let unused = names(&used, "runtime_unused");
    for m in [
        "httpd_server",
        "httpd_conn",
        "httpd_static",
        "httpd_api_handler",
        "httpd_json",
    ] {
        assert!(modules.contains(&m.to_string()), "{m} ships: {modules:?}");
    }
    for m in ["httpd_ws_conn", "httpd_ws_frame", "httpd_mw_cors"] {
        assert!(
            !modules.contains(&m.to_string()),
            "{m} left out: {modules:?}"
        );
        assert!(unused.contains(&m.to_string()), "{m} listed: {unused:?}");
    }
    assert!(
        used["diagnostics"].as_array().unwrap().is_empty(),
        "leaving modules out is not a compat warning: {used}"
    );
    let text = String::from_utf8_lossy(&avmd(&["build", "shop"], &dir).stdout).into_owned();
    assert!(
        text.contains("left out (runtime modules the app does not use)"),
        "{text}"
    );

    // A WebSocket route brings the WebSocket modules in.
    let start = project.join("src/shop.erl");
    let src = std::fs::read_to_string(&start).unwrap();
    let ws_route = "{<<\"/ws\">>, httpd_ws_handler, #{handler => shop_api}},\n        ";
    let at = src.find("{<<\"/api/hello\">>").expect("the hello route");
    std::fs::write(&start, format!("{}{ws_route}{}", &src[..at], &src[at..])).unwrap();
    let with_ws = names(&build(&dir), "modules");
    for m in ["httpd_ws_handler", "httpd_ws_conn", "httpd_ws_frame"] {
        assert!(with_ws.contains(&m.to_string()), "{m} ships: {with_ws:?}");
    }

    let toml = project.join("avmd.toml");
    let base = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, format!("{base}\nruntime_modules = \"all\"\n")).unwrap();
    let all = build(&dir);
    assert!(names(&all, "runtime_unused").is_empty(), "{all}");
    assert!(names(&all, "modules").contains(&"httpd_mw_cors".to_string()));

    std::fs::write(&toml, format!("{base}\nruntime_modules = \"some\"\n")).unwrap();
    let bad = avmd(&["build", "shop"], &dir);
    assert!(!bad.status.success());
    let err =
        String::from_utf8_lossy(&bad.stderr).into_owned() + &String::from_utf8_lossy(&bad.stdout);
    assert!(err.contains("runtime_modules = \"some\""), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `AVMD_PROFILE` checks the project as another board: an ESP32-only call builds for esp32 and is
/// refused for pico_w, and an unknown profile is named.
#[test]
fn avmd_profile_checks_the_project_as_another_board() {
    let dir = scratch("profile");
    assert!(avmd(&["new", "board"], &dir).status.success());
    let project = dir.join("board");
    let start = project.join("src/board.erl");
    let text = std::fs::read_to_string(&start).unwrap();
    let with_esp =
        text.replacen("-export([", "-export([restart/0, ", 1) + "\nrestart() -> esp:restart().\n";
    std::fs::write(&start, with_esp).unwrap();
    let run = |profile: &str| {
        Command::new(env!("CARGO_BIN_EXE_avmd"))
            .args(["build", "board"])
            .env("AVMD_PROFILE", profile)
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let esp32 = run("");
    assert!(
        esp32.status.success(),
        "{}",
        String::from_utf8_lossy(&esp32.stdout)
    );
    let pico = run("pico_w");
    let out =
        String::from_utf8_lossy(&pico.stdout).to_string() + &String::from_utf8_lossy(&pico.stderr);
    assert!(!pico.status.success());
    assert!(
        out.contains("esp:restart/0 is not available on AtomVM (rp2)"),
        "{out}"
    );
    let bad = run("z80");
    let out =
        String::from_utf8_lossy(&bad.stdout).to_string() + &String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && out.contains("AVMD_PROFILE: profile \"z80\" is not one of esp32"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
