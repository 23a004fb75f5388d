//! The example project end to end: built by the engine with the embedded runtime library, booted by the
//! host runtime from its bundle, answering HTTP on 127.0.0.1.

mod build_support;

use avmd_engine::build::Engine;
use avmd_engine::diagnostic::Severity;
use avmd_engine::host::{HostConfig, HostRuntime};
use avmd_engine::project::Project;
use avmd_engine::runner::Runner;
use build_support::*;
use std::time::Duration;

#[test]
fn hello_web_builds_boots_and_answers() {
    let s = copy_project(&hello_web_dir(), "hello");
    let project = Project::discover(s.path()).unwrap();
    assert_eq!(project.app, "hello_web");
    let mut engine = Engine::open(project).unwrap();
    let out = engine.build().unwrap();
    let errors: Vec<String> = out
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.render())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let bundle = out.bundle.expect("bundle");
    assert_eq!(bundle.modules[0], "hello_web");
    assert!(bundle.modules.iter().any(|m| m == "httpd_server"));
    assert!(bundle.size < bundle.partition_size);

    let mut host = HostRuntime::start(HostConfig {
        profile: Some(avmd_engine::profile::Profile::Esp32),
        ..Default::default()
    })
    .unwrap();
    host.load_bundle(&bundle.path).unwrap();
    let port = host
        .wait_for_port(Duration::from_secs(10))
        .expect("hello_web listens");
    let (status, body) = http_get_retry(port, "/");
    assert_eq!(status, 200);
    assert!(
        body.contains("<html") || body.contains("<!doctype") || body.contains("<!DOCTYPE"),
        "{body}"
    );
    let (status, body) = http_get_retry(port, "/api/hello?name=x");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains('x'), "{body}");
    host.stop();
}

/// `strip_lines = true` drops the Line tables and the `line` instructions from every module, the
/// runtime's included: the bundle gets smaller and still boots and serves (OTP's loader accepts it as
/// AtomVM's does).
#[test]
fn hello_web_without_line_info_is_smaller_and_still_serves() {
    let s = copy_project(&hello_web_dir(), "hello_nolines");
    let with_lines = Engine::open(Project::discover(s.path()).unwrap())
        .unwrap()
        .build()
        .unwrap()
        .bundle
        .expect("bundle")
        .size;
    let toml = s.path().join("avmd.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, format!("{text}\nstrip_lines = true\n")).unwrap();
    let project = Project::discover(s.path()).unwrap();
    assert!(project.strip_lines);
    let bundle = Engine::open(project)
        .unwrap()
        .build()
        .unwrap()
        .bundle
        .expect("bundle");
    assert!(bundle.size < with_lines, "{} !< {with_lines}", bundle.size);
    let avm = std::fs::read(&bundle.path).unwrap();
    for section in avmd_engine::packbeam::read(&avm).unwrap() {
        if section.name.ends_with(".beam") {
            let beam = avmd_engine::beam::parse(&section.data).unwrap();
            assert!(beam.chunk(b"Line").is_none(), "{}", section.name);
            let code = &beam.chunk(b"Code").unwrap().data;
            let (_, lines) = avmd_engine::code::strip_line_instructions(code).unwrap();
            assert_eq!(lines, 0, "{} still has line instructions", section.name);
        }
    }

    let mut host = HostRuntime::start(HostConfig::default()).unwrap();
    host.load_bundle(&bundle.path).unwrap();
    let port = host
        .wait_for_port(Duration::from_secs(10))
        .expect("hello_web listens");
    let (status, body) = http_get_retry(port, "/api/hello?name=lines");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("lines"), "{body}");
    host.stop();
}
