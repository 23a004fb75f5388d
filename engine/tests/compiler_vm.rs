//! The resident compile VM with real erl/elixir: diagnostics at the right line for .erl and .ex files,
//! remote calls with lines, and a VM killed from outside comes back on the next request.

mod build_support;

use avmd_engine::compiler::Compiler;
use avmd_engine::diagnostic::Severity;
use build_support::*;

#[test]
fn erl_diagnostics_calls_and_restart() {
    let s = Scratch::new("cvm");
    let file = s.write(
        "src/m.erl",
        "-module(m).\n-export([f/1]).\n\nf(X) ->\n    Unused = 1,\n    lists:sum(X).\n",
    );
    let mut c = Compiler::new(Vec::new());
    let r = c.compile_erl(&file, &[]).unwrap();
    assert!(r.ok);
    assert_eq!(r.modules.len(), 1);
    assert_eq!(r.modules[0].name, "m");
    let w = &r.diagnostics[0];
    assert_eq!(
        (w.severity, w.line, w.column),
        (Severity::Warning, 5, 5),
        "{w:?}"
    );
    assert!(w.message.contains("Unused"), "{}", w.message);
    let call = r.modules[0]
        .calls
        .iter()
        .find(|c| c.module == "lists" && c.function == "sum")
        .expect("the remote call is reported");
    assert_eq!(
        (call.arity, call.line, call.file.as_path()),
        (1, 6, file.as_path())
    );

    // Kill the VM behind the compiler's back: the next compile starts a new one.
    let pid = c.vm_pid().expect("running");
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let bad = s.write("src/bad.erl", "-module(bad).\n-export([g/0]).\ng() -> ok\n");
    let r = c.compile_erl(&bad, &[]).unwrap();
    assert!(!r.ok);
    assert_eq!(c.vm_generation(), 2);
    let e = r
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
        .unwrap();
    assert_eq!(e.file.as_deref(), Some(bad.as_path()));
    assert!(e.line == 3 || e.line == 4, "{e:?}");
}

#[test]
fn elixir_diagnostics_at_the_right_line() {
    let s = Scratch::new("cvm-ex");
    let good = s.write(
        "lib/tiny_ex.ex",
        "defmodule TinyEx do\n  def start do\n    Enum.sum([1, 2])\n  end\nend\n",
    );
    let broken = s.write(
        "lib/broken_ex.ex",
        "defmodule BrokenEx do\n  def f(x) do\n    x +\n  end\n\n  def g, do: undefined_fun_here()\nend\n",
    );
    let mut c = Compiler::new(Vec::new());
    let r = c.compile_ex(std::slice::from_ref(&good)).unwrap();
    assert!(r.ok, "{:?}", r.diagnostics);
    assert_eq!(r.modules[0].name, "Elixir.TinyEx");
    let call = r.modules[0]
        .calls
        .iter()
        .find(|c| c.module == "Elixir.Enum" && c.function == "sum")
        .expect("Enum.sum/1 call");
    assert_eq!(call.line, 3);

    let r = c.compile_ex(std::slice::from_ref(&broken)).unwrap();
    assert!(!r.ok);
    let e = r
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
        .expect("an error diagnostic");
    assert_eq!(e.file.as_deref(), Some(broken.as_path()));
    assert!((3..=4).contains(&e.line), "{e:?}");

    // Recompiling the good file in the same VM is clean (no "redefining module" noise).
    let r = c.compile_ex(std::slice::from_ref(&good)).unwrap();
    assert!(r.ok && r.diagnostics.is_empty(), "{:?}", r.diagnostics);
}
