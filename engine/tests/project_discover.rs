//! Project discovery from avmd.toml, rebar.config (+ src/*.app.src) and mix.exs, and clear errors for
//! broken project files.

mod build_support;

use avmd_engine::project::{Project, ProjectError, ProjectKind, DEFAULT_PARTITION_SIZE};
use build_support::Scratch;

#[test]
fn avmd_toml_with_defaults_and_all_keys() {
    let s = Scratch::new("proj-toml");
    s.write("avmd.toml", "name = \"blink\"\n");
    let p = Project::discover(s.path()).unwrap();
    assert_eq!(
        (
            p.app.as_str(),
            p.start_module.as_str(),
            p.profile.as_str(),
            p.kind
        ),
        ("blink", "blink", "esp32", ProjectKind::Avmd)
    );
    assert_eq!(p.partition_size, DEFAULT_PARTITION_SIZE);
    assert!(p.bundle_runtime && !p.strip_lines);
    assert_eq!(p.bundle_path(), p.root.join("_build/avmd/blink.avm"));

    s.write(
        "avmd.toml",
        "name = \"blink\"\nstart = \"Elixir.Blink\"\nprofile = \"pico_w\"\npartition_size = 524288\n\
         extra_avms = [\"libs/x.avm\"]\nbundle_runtime = false\nstrip_lines = true\n",
    );
    // A file inside the project finds it too.
    let file = s.write("src/blink.erl", "-module(blink).\n");
    let p = Project::discover(&file).unwrap();
    assert_eq!(p.start_module, "Elixir.Blink");
    assert_eq!(p.profile, avmd_engine::profile::Profile::PicoW);
    assert_eq!(p.partition_size, 524288);
    assert_eq!(p.extra_avms, vec![p.root.join("libs/x.avm")]);
    assert!(!p.bundle_runtime && p.strip_lines);
}

#[test]
fn broken_avmd_toml_is_a_clear_error() {
    for (text, needle) in [
        ("name = \"Blink\"\n", "lowercase"),
        (
            "name = \"blink\"\nprofile = \"esp8266\"\n",
            "profile \"esp8266\" is not one of",
        ),
        ("name = \"blink\"\nstrat = \"x\"\n", "unknown field `strat`"),
        (
            "name = \"blink\"\npartition_size = 0\n",
            "partition_size must be > 0",
        ),
        ("start = \"x\"\n", "missing field `name`"),
        ("name = \n", "avmd.toml"),
    ] {
        let s = Scratch::new("proj-bad");
        s.write("avmd.toml", text);
        let err = Project::discover(s.path()).unwrap_err();
        assert!(matches!(err, ProjectError::Invalid { .. }), "{text}: {err}");
        assert!(err.to_string().contains(needle), "{text}: {err}");
    }
    let s = Scratch::new("proj-none");
    assert!(matches!(
        Project::discover(s.path()),
        Err(ProjectError::NotFound(_))
    ));
}

#[test]
fn a_toml_error_keeps_its_line() {
    for (text, line) in [
        ("# c\nname = \"blink\"\nprofile = \n", 3),
        ("name = \"blink\"\n\nstrat = \"x\"\n", 3),
        ("name = \"blink\"\npartition_size = \"big\"\n", 2),
    ] {
        let s = Scratch::new("proj-line");
        s.write("avmd.toml", text);
        match Project::discover(s.path()).unwrap_err() {
            ProjectError::Invalid { line: got, .. } => assert_eq!(got, line, "{text}"),
            other => panic!("{text}: {other}"),
        }
        let err = Project::discover(s.path()).unwrap_err().to_string();
        assert!(err.contains(&format!("avmd.toml:{line}: ")), "{err}");
    }
}

#[test]
fn rebar_and_mix_projects() {
    let s = Scratch::new("proj-rebar");
    s.write(
        "rebar.config",
        "{erl_opts, [debug_info]}.\n{atomvm_rebar3_plugin, [{packbeam, [{start, blinky_main}]}]}.\n",
    );
    s.write(
        "src/blinky.app.src",
        "{application, blinky, [{vsn, \"0.1.0\"}]}.\n",
    );
    let p = Project::discover(s.path()).unwrap();
    assert_eq!(
        (p.app.as_str(), p.start_module.as_str(), p.kind),
        ("blinky", "blinky_main", ProjectKind::Rebar)
    );

    let s = Scratch::new("proj-mix");
    s.write(
        "mix.exs",
        "defmodule Blinky.MixProject do\n  use Mix.Project\n  def project do\n    [app: :blinky_ex, version: \"0.1.0\",\n     atomvm: [start: Blinky.Main, flash_offset: 0x250000]]\n  end\nend\n",
    );
    let p = Project::discover(s.path()).unwrap();
    assert_eq!(
        (p.app.as_str(), p.start_module.as_str(), p.kind),
        ("blinky_ex", "Elixir.Blinky.Main", ProjectKind::Mix)
    );
}
