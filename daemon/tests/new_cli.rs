//! `avmd new` output builds and runs: an Erlang and an Elixir project are scaffolded by the real binary,
//! built, booted on the host runtime and asked for their page and API answer over real HTTP; the Erlang
//! scaffold's own EUnit test passes.

use avmd_engine::host::{HostConfig, HostRuntime};
use avmd_engine::runner::Runner;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod support;
use support::get;

fn avmd(args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_avmd"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn build_and_serve(dir: &Path, name: &str, host: &mut HostRuntime) {
    let out = avmd(&["build", name, "--json"], dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let bundle = PathBuf::from(v["bundle"].as_str().unwrap());
    host.load_bundle(&bundle).unwrap();
    let port = host
        .wait_for_port(Duration::from_secs(10))
        .expect("listens");
    let page = get(port, "/");
    assert!(
        page.starts_with("HTTP/1.1 200") && page.contains(&format!("<h1>{name}</h1>")),
        "{page}"
    );
    let api = get(port, "/api/hello?name=ada");
    assert!(api.ends_with("{\"hello\":\"ada\"}"), "{api}");
}

#[test]
fn new_projects_build_run_and_test() {
    let dir = std::env::temp_dir().join(format!("avmd-cli-new-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    assert!(avmd(&["new", "shop"], &dir).status.success());
    assert!(avmd(&["new", "shop_ex", "--elixir"], &dir).status.success());
    // Refused: existing directory, bad name.
    assert_eq!(avmd(&["new", "shop"], &dir).status.code(), Some(1));
    assert_eq!(avmd(&["new", "Shop"], &dir).status.code(), Some(1));

    let mut host = HostRuntime::start(HostConfig::default()).unwrap();
    build_and_serve(&dir, "shop", &mut host);
    build_and_serve(&dir, "shop_ex", &mut host);
    host.stop();

    // The scaffold's EUnit test, run the way its README says.
    let p = dir.join("shop");
    let ebin = p.join("_build/test");
    std::fs::create_dir_all(&ebin).unwrap();
    let erlc = Command::new("erlc")
        .arg("-o")
        .arg(&ebin)
        .args(["src/shop_api.erl", "test/shop_api_tests.erl"])
        .current_dir(&p)
        .status()
        .unwrap();
    assert!(erlc.success());
    let eunit = Command::new("erl")
        .args(["-noshell", "-pa"])
        .arg(&ebin)
        .args([
            "-eval",
            "halt(case eunit:test(shop_api_tests) of ok -> 0; _ -> 1 end).",
        ])
        .status()
        .unwrap();
    assert!(eunit.success());
    let _ = std::fs::remove_dir_all(&dir);
}
