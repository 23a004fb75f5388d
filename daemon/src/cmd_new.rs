//! `avmd new NAME [--elixir]`: scaffolds a handler project that builds and runs as it is: `avmd.toml`, a
//! start module with routes, a JSON API handler, `priv/www/index.html` and a test of the handler.

use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// The app name (lowercase letters, digits, `_`); also the directory created.
    pub name: String,
    /// Write the modules in Elixir (lib/*.ex) instead of Erlang (src/*.erl).
    #[arg(long)]
    pub elixir: bool,
    /// Where to create the project directory.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    if let Err(why) = check_name(&args.name) {
        eprintln!("avmd: error: {why}");
        return Ok(1);
    }
    let root = args.dir.join(&args.name);
    if root.exists() && std::fs::read_dir(&root)?.next().is_some() {
        eprintln!("avmd: error: {} exists and is not empty", root.display());
        return Ok(1);
    }
    let files = if args.elixir {
        elixir_files(&args.name)
    } else {
        erlang_files(&args.name)
    };
    for (rel, text) in &files {
        write(&root.join(rel), text)?;
    }
    println!("created {} ({} files)", root.display(), files.len());
    println!(
        "  avmd build {0}    # pack {0}/_build/avmd/{1}.avm",
        root.display(),
        args.name
    );
    println!(
        "  avmd run {}      # serve it on http://127.0.0.1:8080/",
        root.display()
    );
    Ok(0)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)?;
    Ok(())
}

/// App names become atoms, module names and file names.
fn check_name(name: &str) -> Result<(), String> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        return Err(format!(
            "{name:?} is not a valid app name: start with a-z, then only a-z, 0-9 and _"
        ));
    }
    if [
        "avmd", "atomvm", "esp", "network", "gpio", "lists", "erlang", "maps",
    ]
    .contains(&name)
        || name.starts_with("httpd_")
        || name.starts_with("avmd_")
    {
        return Err(format!("{name:?} clashes with a module of AtomVM or avmd"));
    }
    Ok(())
}

/// `hello_web` → `HelloWeb`.
fn camel(name: &str) -> String {
    name.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn fill(template: &str, name: &str) -> String {
    template
        .replace("{{name}}", name)
        .replace("{{Module}}", &camel(name))
}

fn erlang_files(name: &str) -> Vec<(String, String)> {
    vec![
        ("avmd.toml".into(), fill(TOML_ERL, name)),
        (format!("src/{name}.erl"), fill(START_ERL, name)),
        (format!("src/{name}_api.erl"), fill(API_ERL, name)),
        (format!("test/{name}_api_tests.erl"), fill(TEST_ERL, name)),
        ("priv/www/index.html".into(), fill(INDEX_HTML, name)),
        ("README.md".into(), fill(README_ERL, name)),
        (".gitignore".into(), "_build/\n".into()),
    ]
}

fn elixir_files(name: &str) -> Vec<(String, String)> {
    vec![
        ("avmd.toml".into(), fill(TOML_EX, name)),
        (format!("lib/{name}.ex"), fill(START_EX, name)),
        (format!("lib/{name}/api.ex"), fill(API_EX, name)),
        (format!("test/{name}_api_test.exs"), fill(TEST_EX, name)),
        ("priv/www/index.html".into(), fill(INDEX_HTML, name)),
        ("README.md".into(), fill(README_EX, name)),
        (".gitignore".into(), "_build/\n".into()),
    ]
}

const TOML_ERL: &str = r#"# avmd project file; see docs/building.md.
name = "{{name}}"
start = "{{name}}"
profile = "esp32"
partition_size = 1048576
"#;

const TOML_EX: &str = r#"# avmd project file; see docs/building.md.
name = "{{name}}"
start = "Elixir.{{Module}}"
profile = "esp32"
partition_size = 1048576
"#;

const START_ERL: &str = r#"%% @doc Process: the start module. AtomVM calls start/0 at boot; it starts the HTTP server and never
%% returns (the VM stops when start/0 returns). `avmd run` moves the port through httpd_overrides.
-module({{name}}).
-export([start/0, routes/0]).

-spec start() -> no_return().
start() ->
    Config = #{port => 8080, profile => esp32, routes => routes()},
    case httpd_server:start(Config) of
        {ok, Server} ->
            io:format("{{name}} listening on port ~p~n", [httpd_server:port(Server)]),
            wait_forever();
        {error, Reason} ->
            erlang:error({{{name}}_start, Reason})
    end.

%% @doc The routes: the page, one JSON endpoint, and any other file under priv/www.
-spec routes() -> [{binary(), module(), term()}].
routes() ->
    Static = #{app => {{name}}, dir => <<"www">>, methods => [<<"GET">>]},
    [
        {<<"/">>, httpd_static, Static},
        {<<"/api/hello">>, httpd_api_handler, #{handler => {{name}}_api, methods => [<<"GET">>]}},
        {<<"/*">>, httpd_static, Static}
    ].

wait_forever() ->
    receive
        _ -> wait_forever()
    end.
"#;

const API_ERL: &str = r#"%% @doc Pure: the JSON API, dispatched by httpd_api_handler. GET /api/hello?name=X → {"hello":"X"}.
-module({{name}}_api).
-behaviour(httpd_api_handler).
-export([handle_api/4]).

-spec handle_api(binary(), map(), term(), map()) -> {ok, term()} | {error, 100..999, binary()}.
handle_api(<<"GET">>, _Bindings, _Json, Req) ->
    Name = case lists:keyfind(<<"name">>, 1, maps:get(query, Req, [])) of
               {_, Value} -> Value;
               false -> <<"world">>
           end,
    {ok, #{<<"hello">> => Name}};
handle_api(_Method, _Bindings, _Json, _Req) ->
    {error, 405, <<"only GET">>}.
"#;

const TEST_ERL: &str = r#"%% EUnit tests of the API handler (pure, so no server is needed); see README.md to run them.
-module({{name}}_api_tests).
-include_lib("eunit/include/eunit.hrl").

hello_by_name_test() ->
    Req = #{query => [{<<"name">>, <<"ada">>}]},
    ?assertEqual({ok, #{<<"hello">> => <<"ada">>}}, {{name}}_api:handle_api(<<"GET">>, #{}, undefined, Req)).

hello_default_test() ->
    ?assertEqual({ok, #{<<"hello">> => <<"world">>}}, {{name}}_api:handle_api(<<"GET">>, #{}, undefined, #{})).

other_methods_test() ->
    ?assertMatch({error, 405, _}, {{name}}_api:handle_api(<<"POST">>, #{}, undefined, #{})).
"#;

const START_EX: &str = r#"defmodule {{Module}} do
  @moduledoc """
  The start module. AtomVM calls start/0 at boot; it starts the HTTP server and never returns
  (the VM stops when start/0 returns). `avmd run` moves the port through httpd_overrides.
  """

  def start do
    case :httpd_server.start(%{port: 8080, profile: :esp32, routes: routes()}) do
      {:ok, server} ->
        :io.format(~c"{{name}} listening on port ~p~n", [:httpd_server.port(server)])
        wait_forever()

      {:error, reason} ->
        :erlang.error({:start_failed, reason})
    end
  end

  @doc "The routes: the page, one JSON endpoint, and any other file under priv/www."
  def routes do
    static = %{app: :{{name}}, dir: "www", methods: ["GET"]}

    [
      {"/", :httpd_static, static},
      {"/api/hello", :httpd_api_handler, %{handler: {{Module}}.Api, methods: ["GET"]}},
      {"/*", :httpd_static, static}
    ]
  end

  defp wait_forever do
    receive do
      _ -> wait_forever()
    end
  end
end
"#;

const API_EX: &str = r#"defmodule {{Module}}.Api do
  @moduledoc "The JSON API, dispatched by httpd_api_handler. GET /api/hello?name=X → {\"hello\":\"X\"}."

  def handle_api("GET", _bindings, _json, req) do
    name =
      case :lists.keyfind("name", 1, :maps.get(:query, req, [])) do
        {_, value} -> value
        false -> "world"
      end

    {:ok, %{"hello" => name}}
  end

  def handle_api(_method, _bindings, _json, _req), do: {:error, 405, "only GET"}
end
"#;

const TEST_EX: &str = r#"# ExUnit tests of the API handler (pure, so no server is needed); see README.md to run them.
ExUnit.start()

defmodule {{Module}}.ApiTest do
  use ExUnit.Case

  test "greets by name" do
    req = %{query: [{"name", "ada"}]}
    assert {{Module}}.Api.handle_api("GET", %{}, :undefined, req) == {:ok, %{"hello" => "ada"}}
  end

  test "greets the world by default" do
    assert {{Module}}.Api.handle_api("GET", %{}, :undefined, %{}) == {:ok, %{"hello" => "world"}}
  end
end
"#;

const INDEX_HTML: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{name}}</title></head>
<body>
  <h1>{{name}}</h1>
  <p>Served by AtomVM. <button id="hello">Ask the API</button> <span id="answer"></span></p>
  <script>
    document.getElementById("hello").onclick = async () => {
      const r = await fetch("/api/hello?name=browser");
      document.getElementById("answer").textContent = JSON.stringify(await r.json());
    };
  </script>
</body>
</html>
"#;

const README_ERL: &str = r#"# {{name}}

An AtomVM web app made with `avmd new`.

    avmd build .    # compile and pack _build/avmd/{{name}}.avm
    avmd run .      # serve it on http://127.0.0.1:8080/ the way a device would
    avmd dev .      # rebuild and reload on every save

Test the API handler:

    mkdir -p _build/test && erlc -o _build/test src/{{name}}_api.erl test/{{name}}_api_tests.erl
    erl -noshell -pa _build/test -eval 'halt(case eunit:test({{name}}_api_tests) of ok -> 0; _ -> 1 end).'
"#;

const README_EX: &str = r#"# {{name}}

An AtomVM web app in Elixir made with `avmd new --elixir`.

    avmd build .    # compile and pack _build/avmd/{{name}}.avm
    avmd run .      # serve it on http://127.0.0.1:8080/ the way a device would
    avmd dev .      # rebuild and reload on every save

Test the API handler:

    elixir -r lib/{{name}}/api.ex test/{{name}}_api_test.exs
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_camel_case() {
        assert!(check_name("demo_app").is_ok());
        assert!(check_name("Demo").is_err());
        assert!(check_name("httpd_thing").is_err());
        assert_eq!(camel("demo_app2"), "DemoApp2");
    }
}
