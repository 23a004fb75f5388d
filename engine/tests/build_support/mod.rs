//! Shared helpers for the build/compiler/host integration tests: scratch project trees written from
//! strings, and a tiny HTTP/1.1 client over a real socket to 127.0.0.1.
#![allow(dead_code)]

use avmd_engine::runner::Runner;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh empty directory under the system temp dir (removed when the value drops).
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("avmd-test-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The start module of the tiny fixture app: a bare gen_tcp responder (no avmd runtime needed) that
/// listens on the port the host harness hands it via `httpd_overrides`, answers every request with
/// `Greeting` + the priv file `greeting.txt`, and prints a console line when it starts.
pub fn tiny_web_erl(greeting: &str) -> String {
    format!(
        r#"-module(tiny_web).
-export([start/0]).
-include("tiny.hrl").

start() ->
    Port = maps:get(port, application:get_env(avmd, httpd_overrides, #{{}}), 8080),
    {{ok, L}} = gen_tcp:listen(Port, [binary, {{active, false}}, {{reuseaddr, true}}]),
    io:format("tiny_web listening on ~p~n", [Port]),
    accept(L).

accept(L) ->
    {{ok, S}} = gen_tcp:accept(L),
    Pid = spawn(fun() -> serve(S) end),
    ok = gen_tcp:controlling_process(S, Pid),
    Pid ! go,
    accept(L).

serve(S) ->
    receive go -> ok end,
    {{ok, _Req}} = gen_tcp:recv(S, 0, 5000),
    Priv = case atomvm:read_priv(tiny_web, <<"greeting.txt">>) of undefined -> <<"no priv">>; B -> B end,
    Body = [<<"{greeting}">>, <<" ">>, Priv, <<" ">>, tiny_util:tag()],
    Len = integer_to_binary(iolist_size(Body)),
    ok = gen_tcp:send(S, [<<"HTTP/1.1 200 OK\r\ncontent-length: ">>, Len,
                          <<"\r\nconnection: close\r\n\r\n">>, Body]),
    gen_tcp:close(S).
"#
    )
}

pub fn tiny_util_erl(tag: &str) -> String {
    format!(
        "-module(tiny_util).\n-export([tag/0]).\n-include(\"tiny.hrl\").\n\ntag() -> <<\"{tag}\", ?SUFFIX>>.\n"
    )
}

/// Writes the tiny fixture project into `s`.
pub fn tiny_project(s: &Scratch) {
    s.write(
        "avmd.toml",
        "name = \"tiny_web\"\nstart = \"tiny_web\"\nprofile = \"esp32\"\nbundle_runtime = false\n",
    );
    s.write("include/tiny.hrl", "-define(SUFFIX, \"!\").\n");
    s.write("src/tiny_web.erl", &tiny_web_erl("hello"));
    s.write("src/tiny_util.erl", &tiny_util_erl("v1"));
    s.write("priv/greeting.txt", "from-priv");
}

/// GET `path` from 127.0.0.1:`port`; (status, body). Bounded by socket timeouts.
pub fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.set_write_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// Retries `http_get` while the app is still binding (bounded: 50 tries, 100 ms apart).
pub fn http_get_retry(port: u16, path: &str) -> (u16, String) {
    let mut last = None;
    for _ in 0..50 {
        match http_get(port, path) {
            Ok(r) => return r,
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("GET {path} on port {port} failed: {last:?}");
}

/// Copies a project tree (without `_build`) into a scratch dir, so tests never write into the repo.
pub fn copy_project(from: &Path, name: &str) -> Scratch {
    let s = Scratch::new(name);
    copy_dir(from, s.path());
    s
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        if e.file_name() == "_build" {
            continue;
        }
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// The repository's `examples/hello_web`.
pub fn hello_web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hello_web")
}

/// Boots `bundle` in `host` and checks the tiny app answers `GET /` with `expected`.
pub fn assert_serves(host: &mut avmd_engine::host::HostRuntime, bundle: &Path, expected: &str) {
    host.load_bundle(bundle).unwrap();
    let port = host
        .wait_for_port(Duration::from_secs(10))
        .expect("the app listens");
    let (status, body) = http_get_retry(port, "/");
    assert_eq!((status, body.as_str()), (200, expected));
}
