//! The example project end to end: built by the engine with the embedded runtime library, booted by the
//! host runtime from its bundle, answering HTTP on 127.0.0.1.

mod build_support;

use avmd_engine::build::Engine;
use avmd_engine::diagnostic::Severity;
use avmd_engine::host::{HostConfig, HostRuntime};
use avmd_engine::project::Project;
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
        profile: Some("esp32".into()),
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
