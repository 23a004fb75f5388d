//! The host runtime with a real `erl`: bundles built by the engine boot from their own bytes and answer
//! HTTP on 127.0.0.1, reload without restarting the VM, and a crashing app or a bad bundle is reported
//! while the harness keeps serving the next bundle.

mod build_support;

use avmd_engine::build::Engine;
use avmd_engine::host::{ConsoleLine, ConsoleStream, HostConfig, HostRuntime};
use avmd_engine::project::Project;
use avmd_engine::runner::Runner;
use build_support::*;
use std::sync::mpsc::Receiver;
use std::time::Duration;

/// Waits (bounded) for a console line containing `needle`.
fn expect_line(rx: &Receiver<ConsoleLine>, needle: &str) -> ConsoleLine {
    let mut seen = Vec::new();
    for _ in 0..100 {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(l) if l.text.contains(needle) => return l,
            Ok(l) => seen.push(l),
            Err(_) => {}
        }
    }
    panic!("no console line with {needle:?}; saw {seen:?}");
}

#[test]
fn boots_reloads_and_survives_bad_apps() {
    let s = Scratch::new("host");
    tiny_project(&s);
    let mut engine = Engine::open(Project::discover(s.path()).unwrap()).unwrap();
    let bundle = engine.build().unwrap().bundle.expect("bundle");

    let mut host = HostRuntime::start(HostConfig {
        profile: Some(avmd_engine::profile::Profile::Esp32),
        ..Default::default()
    })
    .unwrap();
    let console = host.subscribe();
    host.load_bundle(&bundle.path).unwrap();
    let port = host
        .wait_for_port(Duration::from_secs(10))
        .expect("the app listens");
    assert_eq!(port, host.assigned_port());
    let line = expect_line(&console, "tiny_web listening on");
    assert_eq!(line.stream, ConsoleStream::Stdout);
    let (status, body) = http_get_retry(port, "/");
    assert_eq!(status, 200);
    assert_eq!(body, "hello from-priv v1!");

    // A new bundle replaces the app in the same VM.
    s.write("src/tiny_web.erl", &tiny_web_erl("bonjour"));
    let bundle2 = engine.build().unwrap().bundle.expect("bundle");
    host.load_bundle(&bundle2.path).unwrap();
    let port2 = host.wait_for_port(Duration::from_secs(10)).unwrap();
    assert_eq!(http_get_retry(port2, "/").1, "bonjour from-priv v1!");
    // (Builds overwrite _build/avmd/tiny_web.avm: keep this good one aside.)
    let good = s.path().join("good.avm");
    std::fs::copy(&bundle2.path, &good).unwrap();

    // start/0 raising: reported as a crash line; the harness lives on.
    s.write(
        "src/tiny_web.erl",
        "-module(tiny_web).\n-export([start/0]).\nstart() -> erlang:error(boom_on_start).\n",
    );
    let bad = engine.build().unwrap().bundle.expect("bundle");
    host.load_bundle(&bad.path).unwrap();
    let crash = expect_line(&console, "boom_on_start");
    assert_eq!(crash.stream, ConsoleStream::Crash);

    // Not a bundle at all: an error, not a dead harness.
    let junk = s.write("junk.avm", "this is not an avm");
    let err = host.load_bundle(&junk).unwrap_err();
    assert!(err.to_string().contains("not an AtomVM bundle"), "{err}");
    assert!(host.is_running());

    // And the good bundle boots again in the same VM.
    host.load_bundle(&good).unwrap();
    let port3 = host.wait_for_port(Duration::from_secs(10)).unwrap();
    assert_eq!(http_get_retry(port3, "/").1, "bonjour from-priv v1!");
    host.stop();
}
