//! An Elixir project through the engine: a compile error in a .ex file is a diagnostic at its line, the
//! fixed project builds, its bundle boots on the host runtime and answers HTTP, and a changed .ex file
//! rebuilds after the engine was reopened from the disk cache.

mod build_support;

use avmd_engine::build::Engine;
use avmd_engine::diagnostic::Severity;
use avmd_engine::host::{HostConfig, HostRuntime};
use avmd_engine::project::Project;
use build_support::*;

const START: &str = r#"defmodule TinyEx do
  def start do
    port = :maps.get(:port, :application.get_env(:avmd, :httpd_overrides, %{}), 8080)
    {:ok, l} = :gen_tcp.listen(port, [:binary, {:active, false}, {:reuseaddr, true}])
    accept(l)
  end

  defp accept(l) do
    {:ok, s} = :gen_tcp.accept(l)
    {:ok, _} = :gen_tcp.recv(s, 0, 5000)
    body = TinyEx.Text.greeting()
    len = :erlang.integer_to_binary(:erlang.iolist_size(body))
    :ok = :gen_tcp.send(s, ["HTTP/1.1 200 OK\r\ncontent-length: ", len, "\r\nconnection: close\r\n\r\n", body])
    :gen_tcp.close(s)
    accept(l)
  end
end
"#;

fn text_module(greeting: &str) -> String {
    format!("defmodule TinyEx.Text do\n  def greeting, do: \"{greeting}\"\nend\n")
}

#[test]
fn elixir_project_errors_builds_and_serves() {
    let s = Scratch::new("ex");
    s.write(
        "avmd.toml",
        "name = \"tiny_ex\"\nstart = \"Elixir.TinyEx\"\nbundle_runtime = false\n",
    );
    s.write("lib/tiny_ex.ex", START);
    let text = s.write(
        "lib/tiny_ex/text.ex",
        "defmodule TinyEx.Text do\n  def greeting do\n    missing + 1\n  end\nend\n",
    );
    let mut engine = Engine::open(Project::discover(s.path()).unwrap()).unwrap();
    let out = engine.build().unwrap();
    assert!(out.bundle.is_none());
    let e = out
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
        .expect("an error");
    assert_eq!(e.file.as_deref(), Some(text.as_path()));
    assert_eq!(e.line, 3, "{e:?}");
    assert!(e.message.contains("undefined function missing/0"), "{e:?}");
    assert!(!e.message.contains("parallel_compiler"), "{e:?}");

    s.write("lib/tiny_ex/text.ex", &text_module("hi from elixir"));
    let out = engine.build().unwrap();
    assert!(!out.has_errors(), "{:?}", out.diagnostics);
    let bundle = out.bundle.expect("bundle");
    assert_eq!(bundle.modules, vec!["Elixir.TinyEx", "Elixir.TinyEx.Text"]);
    let mut host = HostRuntime::start(HostConfig::default()).unwrap();
    assert_serves(&mut host, &bundle.path, "hi from elixir");

    // A new engine (disk cache, a new VM without the old modules) rebuilds after a change.
    drop(engine);
    s.write("lib/tiny_ex/text.ex", &text_module("hi again"));
    let mut engine = Engine::open(Project::discover(s.path()).unwrap()).unwrap();
    let out = engine.build().unwrap();
    assert!(!out.has_errors(), "{:?}", out.diagnostics);
    let bundle = out.bundle.unwrap();
    assert_serves(&mut host, &bundle.path, "hi again");

    // The same tree elsewhere packs to the same bytes (paths in the beams are project-relative).
    let elsewhere = copy_project(s.path(), "ex-copy");
    let mut other = Engine::open(Project::discover(elsewhere.path()).unwrap()).unwrap();
    let copy = other.build().unwrap().bundle.expect("bundle");
    assert_eq!(copy.sha256, bundle.sha256);
    assert_serves(&mut host, &copy.path, "hi again");
    host.stop();
}
