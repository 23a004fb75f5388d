//! The engine on real projects with a real compile VM: bundles come out, only changed modules (and the
//! includers of a changed header) recompile, equal trees give byte-identical bundles, errors are data.

mod build_support;

use avmd_engine::build::Engine;
use avmd_engine::diagnostic::{DiagnosticSource, Severity};
use avmd_engine::host::{HostConfig, HostRuntime};
use avmd_engine::packbeam;
use avmd_engine::project::Project;
use build_support::*;

#[test]
fn incremental_rebuilds_and_determinism() {
    let s = Scratch::new("incr");
    tiny_project(&s);
    let project = Project::discover(s.path()).unwrap();
    let mut engine = Engine::open(project).unwrap();
    // Every bundle this test makes is booted and asked over HTTP.
    let mut host = HostRuntime::start(HostConfig::default()).unwrap();

    let first = engine.build().unwrap();
    assert!(!first.has_errors(), "{:?}", first.diagnostics);
    assert_eq!(first.n_compiled, 2);
    let bundle = first.bundle.clone().expect("bundle");
    assert_eq!(bundle.modules, vec!["tiny_web", "tiny_util"]);
    let bytes = std::fs::read(&bundle.path).unwrap();
    let sections = packbeam::read(&bytes).unwrap();
    assert_eq!(sections[0].name, "tiny_web.beam");
    assert_eq!(
        sections[0].flags,
        packbeam::FLAG_START | packbeam::FLAG_BEAM
    );
    let priv_section = sections
        .iter()
        .find(|s| s.name == "tiny_web/priv/greeting.txt")
        .expect("priv file packed as App/priv/Path");
    assert_eq!(priv_section.data, b"from-priv");
    assert_serves(&mut host, &bundle.path, "hello from-priv v1!");

    // Nothing changed: nothing compiles, same bytes.
    let again = engine.build().unwrap();
    assert_eq!(again.n_compiled, 0);
    assert_eq!(again.bundle.as_ref().unwrap().sha256, bundle.sha256);

    // One module changed: one compile.
    s.write("src/tiny_util.erl", &tiny_util_erl("v2"));
    let one = engine.build().unwrap();
    assert_eq!(one.n_compiled, 1, "{:?}", one.diagnostics);
    assert_ne!(one.bundle.as_ref().unwrap().sha256, bundle.sha256);
    assert_serves(&mut host, &one.bundle.unwrap().path, "hello from-priv v2!");

    // The header changed: both includers recompile.
    s.write("include/tiny.hrl", "-define(SUFFIX, \"?\").\n");
    let hrl = engine.build().unwrap();
    assert_eq!(hrl.n_compiled, 2, "{:?}", hrl.diagnostics);
    assert_serves(
        &mut host,
        &hrl.bundle.as_ref().unwrap().path,
        "hello from-priv v2?",
    );

    // A fresh engine picks up the on-disk cache: nothing to compile, same bytes.
    let sha_warm = hrl.bundle.unwrap().sha256;
    let mut reopened = Engine::open(Project::discover(s.path()).unwrap()).unwrap();
    let cached = reopened.build().unwrap();
    assert_eq!(cached.n_compiled, 0);
    assert_eq!(cached.bundle.unwrap().sha256, sha_warm);

    // Without the cache, a fresh engine compiles everything again, to the same bytes.
    std::fs::remove_dir_all(s.path().join("_build")).unwrap();
    let mut fresh = Engine::open(Project::discover(s.path()).unwrap()).unwrap();
    let cold = fresh.build().unwrap();
    assert_eq!(cold.n_compiled, 2);
    assert_eq!(cold.bundle.unwrap().sha256, sha_warm);

    // The same tree in another directory packs to the same bytes.
    let elsewhere = copy_project(s.path(), "incr-copy");
    let mut other = Engine::open(Project::discover(elsewhere.path()).unwrap()).unwrap();
    let copy = other.build().unwrap().bundle.expect("bundle");
    assert_eq!(copy.sha256, sha_warm);
    assert_serves(&mut host, &copy.path, "hello from-priv v2?");
    host.stop();
}

#[test]
fn compile_errors_and_compat_misses_are_diagnostics() {
    let s = Scratch::new("diag");
    tiny_project(&s);
    let mut engine = Engine::open(Project::discover(s.path()).unwrap()).unwrap();
    let mut host = HostRuntime::start(HostConfig::default()).unwrap();
    let good = engine.build().unwrap().bundle.expect("bundle");
    assert_serves(&mut host, &good.path, "hello from-priv v1!");
    let good_bytes = std::fs::read(engine.project().bundle_path()).unwrap();

    // A syntax error at line 5.
    let broken = s.write(
        "src/tiny_util.erl",
        "-module(tiny_util).\n-export([tag/0]).\n\ntag() ->\n    <<\"v\">> +* 1.\n",
    );
    let out = engine.build().unwrap();
    assert!(out.bundle.is_none());
    let d = out
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
        .expect("an error");
    assert_eq!(d.file.as_deref(), Some(broken.as_path()));
    assert_eq!(d.line, 5, "{d:?}");
    assert!(d.column > 0);
    assert!(d.render().contains(":5:"), "{}", d.render());
    // The last good bundle is left in place.
    assert_eq!(
        std::fs::read(engine.project().bundle_path()).unwrap(),
        good_bytes
    );

    // lists:sum/1 does not exist on AtomVM: reported at its line.
    s.write(
        "src/tiny_util.erl",
        "-module(tiny_util).\n-export([tag/0]).\n\ntag() ->\n    N = lists:sum([1, 2]),\n    integer_to_binary(N).\n",
    );
    let out = engine.build().unwrap();
    assert!(out.bundle.is_none());
    let miss = out
        .diagnostics
        .iter()
        .find(|d| d.source == DiagnosticSource::Compat)
        .expect("a compat diagnostic");
    assert_eq!(
        miss.message,
        "lists:sum/1 is not available on AtomVM (esp32)"
    );
    assert_eq!(miss.line, 5);
    assert_eq!(miss.severity, Severity::Error);
    assert!(miss.file.as_ref().unwrap().ends_with("src/tiny_util.erl"));

    // Fixed again: builds.
    s.write("src/tiny_util.erl", &tiny_util_erl("v3"));
    let fixed = engine.build().unwrap().bundle.expect("bundle");
    assert_serves(&mut host, &fixed.path, "hello from-priv v3!");
    host.stop();
}
