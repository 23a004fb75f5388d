//! `avmd lsp` as an editor runs it: the built binary spoken to over stdio with JSON-RPC and
//! Content-Length framing (a tiny client below), on a temporary copy of examples/hello_web. Files are
//! changed on disk and announced with didSave, as an editor does on save; each expected
//! publishDiagnostics is waited for with a bounded read timeout.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

/// How long to wait for any one message; the first build boots the compile VM, so this is generous.
const READ_TIMEOUT: Duration = Duration::from_secs(180);

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        if name == "_build" {
            continue;
        }
        let (src, dst) = (e.path(), to.join(&name));
        if src.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// A scratch copy of the example, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        Scratch::tagged("stdio")
    }

    /// A copy of its own: tests of one binary run at once.
    fn tagged(tag: &str) -> Scratch {
        Scratch::of("hello_web", tag)
    }

    /// A copy of `examples/EXAMPLE` of its own.
    fn of(example: &str, tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("avmd-lsp-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let example = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples")
            .join(example);
        copy_tree(&example, &dir);
        Scratch(dir.canonicalize().unwrap())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

struct Client {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    next_id: i64,
    /// Every message read, for failure reports.
    seen: Vec<Value>,
}

/// Reads one Content-Length framed message; `None` at end of stream.
fn read_message(r: &mut impl BufRead) -> Option<Value> {
    let mut len = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length:") {
            len = v.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; len?];
    r.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

impl Client {
    fn start(cwd: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_avmd"))
            .arg("lsp")
            .current_dir(cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start avmd lsp");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            while let Some(msg) = read_message(&mut stdout) {
                if tx.send(msg).is_err() {
                    break;
                }
            }
        });
        Client {
            child,
            stdin,
            rx,
            next_id: 1,
            seen: Vec::new(),
        }
    }

    /// Started in `root`, with `initialize` (that folder as `rootUri`) and `initialized` done.
    fn initialized(root: &Path) -> Client {
        let mut c = Client::start(root);
        c.request(
            "initialize",
            json!({"processId": null, "rootUri": uri(root), "capabilities": {}}),
        );
        c.notify("initialized", json!({}));
        c
    }

    fn send(&mut self, msg: Value) {
        let body = serde_json::to_vec(&msg).unwrap();
        write!(self.stdin, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
        self.stdin.write_all(&body).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The next message matching `pred`; answers server requests with `null` on the way.
    fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let msg = match self.rx.recv_timeout(READ_TIMEOUT) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no {what} within the read timeout; seen: {:#?}", self.seen)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "the server closed stdout before {what}; seen: {:#?}",
                        self.seen
                    )
                }
            };
            self.seen.push(msg.clone());
            if pred(&msg) {
                return msg;
            }
            if let (Some(id), Some(_)) = (msg.get("id"), msg.get("method")) {
                let id = id.clone();
                self.send(json!({"jsonrpc": "2.0", "id": id, "result": null}));
            }
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let reply = self.wait_for(&format!("reply to {method}"), |m| {
            m.get("id") == Some(&json!(id)) && m.get("method").is_none()
        });
        assert!(reply.get("error").is_none(), "{method} failed: {reply}");
        reply["result"].clone()
    }

    /// The next publishDiagnostics for `file` whose diagnostics satisfy `pred`.
    fn diagnostics(
        &mut self,
        file: &Path,
        what: &str,
        pred: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let u = uri(file);
        let msg = self.wait_for(what, |m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == u.as_str()
                && m["params"]["diagnostics"]
                    .as_array()
                    .is_some_and(|d| pred(d))
        });
        msg["params"]["diagnostics"].as_array().unwrap().clone()
    }

    /// `shutdown` answers null, `exit` ends the process with status 0. Bounded: up to 30 s for the
    /// process to end, then it is killed and the test fails.
    fn shutdown_and_exit(mut self) {
        assert_eq!(self.request("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        drop(self.stdin);
        let mut child = self.child;
        let status = (0..300).find_map(|_| {
            let s = child.try_wait().expect("poll avmd lsp");
            if s.is_none() {
                std::thread::sleep(Duration::from_millis(100));
            }
            s
        });
        let Some(status) = status else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("avmd lsp did not exit after `exit`");
        };
        assert!(status.success(), "avmd lsp exited with {status}");
    }

    fn save(&mut self, file: &Path, text: &str) {
        std::fs::write(file, text).unwrap();
        self.notify(
            "textDocument/didSave",
            json!({"textDocument": {"uri": uri(file)}}),
        );
    }
}

/// 0-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> u64 {
    text.lines().position(|l| l.contains(needle)).expect(needle) as u64
}

#[test]
fn lsp_over_stdio_reports_builds_routes_and_conflicts() {
    let scratch = Scratch::new();
    let root = scratch.0.clone();
    let api = root.join("src/hello_web_api.erl");
    let start = root.join("src/hello_web.erl");
    let api_text = std::fs::read_to_string(&api).unwrap();
    let start_text = std::fs::read_to_string(&start).unwrap();

    let mut c = Client::start(&root);
    let init = c.request(
        "initialize",
        json!({
            "processId": null,
            "rootUri": uri(&root),
            "workspaceFolders": [{"uri": uri(&root), "name": "hello_web"}],
            "capabilities": {}
        }),
    );
    assert_eq!(init["serverInfo"]["name"], "avmd");
    assert_eq!(init["capabilities"]["documentSymbolProvider"], true);
    c.notify("initialized", json!({}));

    // The route map of the project, from its start module.
    let routes = c.request("avmd/routes", json!({}));
    let routes = routes.as_array().expect("a list of routes");
    let paths: Vec<&str> = routes.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "/",
            "/api/hello",
            "/api/echo",
            "/api/items/:id",
            "/stream",
            "/upload",
            "/ws/echo",
            "/ws/counter",
            "/*"
        ]
    );
    let hello = &routes[1];
    assert_eq!(hello["handler"], "httpd_api_handler");
    assert_eq!(hello["target"], "hello_web_api");
    assert_eq!(hello["methods"], json!(["GET"]));
    assert_eq!(hello["uri"], uri(&start));
    assert_eq!(
        hello["range"]["start"]["line"],
        line_of(&start_text, "<<\"/api/hello\">>")
    );
    assert!(
        routes[6].get("methods").is_none(),
        "/ws/echo takes any method"
    );

    // The same routes as document symbols of the start module.
    let symbols = c.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": uri(&start)}}),
    );
    let symbols = symbols.as_array().unwrap();
    let route_symbols: Vec<&Value> = symbols.iter().filter(|s| s["kind"] == 20).collect();
    assert_eq!(route_symbols.len(), 9);
    assert_eq!(route_symbols[1]["name"], "/api/hello");
    // ... and its functions, after the routes
    assert!(symbols
        .iter()
        .any(|s| s["kind"] == 12 && s["name"] == "routes/0"));
    // Every module has symbols: the API handler's callback, marked as one.
    let api_symbols = c.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": uri(&api)}}),
    );
    let handle_api = api_symbols
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "handle_api/4")
        .unwrap_or_else(|| panic!("{api_symbols}"));
    assert_eq!(handle_api["detail"], "callback of httpd_api_handler");

    // Go to definition: a route's handler module, and a local call.
    let hello_line = line_of(&start_text, "<<\"/api/hello\">>");
    let col = start_text
        .lines()
        .nth(hello_line as usize)
        .unwrap()
        .find("hello_web_api")
        .unwrap();
    let loc = c.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": uri(&start)}, "position": {"line": hello_line, "character": col + 3}}),
    );
    assert_eq!(loc["uri"], uri(&api));
    assert_eq!(
        loc["range"]["start"]["line"],
        line_of(&api_text, "-module(hello_web_api)")
    );
    let routes_call = line_of(&start_text, "routes => routes()");
    let col = start_text
        .lines()
        .nth(routes_call as usize)
        .unwrap()
        .find("routes()")
        .unwrap();
    let loc = c.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": uri(&start)}, "position": {"line": routes_call, "character": col + 1}}),
    );
    assert_eq!(loc["uri"], uri(&start));
    assert_eq!(
        loc["range"]["start"]["line"],
        start_text
            .lines()
            .position(|l| l.starts_with("routes() ->"))
            .unwrap() as u64
    );

    // Code lenses: the routes that reach a handler module, at its `-module` line.
    let lenses = c.request(
        "textDocument/codeLens",
        json!({"textDocument": {"uri": uri(&api)}}),
    );
    let titles: Vec<&str> = lenses
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["command"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "route: GET /api/hello",
            "route: POST /api/echo",
            "route: GET|PUT|DELETE /api/items/:id"
        ]
    );
    assert_eq!(
        lenses[0]["range"]["start"]["line"],
        line_of(&api_text, "-module(hello_web_api)")
    );

    // (a) A syntax error: an error at its 0-based line.
    let broken_line = api_text.lines().count() as u64 + 1;
    c.save(&api, &format!("{api_text}\nbroken( -> ok.\n"));
    let d = c.diagnostics(&api, "the syntax error", |d| !d.is_empty());
    assert!(
        d.iter()
            .any(|d| d["severity"] == 1 && d["range"]["start"]["line"] == broken_line),
        "{d:#?}"
    );

    // (b) A call AtomVM does not have: an atomvm-compat diagnostic at the call's line.
    let sum_text = format!(
        "{}\ntotal(L) -> lists:sum(L).\n",
        api_text.replace(
            "-export([handle_api/4]).",
            "-export([handle_api/4, total/1])."
        )
    );
    let sum_line = line_of(&sum_text, "lists:sum");
    c.save(&api, &sum_text);
    let d = c.diagnostics(&api, "the lists:sum/1 miss", |d| {
        d.iter().any(|d| d["source"] == "atomvm-compat")
    });
    let miss = d.iter().find(|d| d["source"] == "atomvm-compat").unwrap();
    assert_eq!(miss["range"]["start"]["line"], sum_line, "{miss:#?}");
    assert!(
        miss["message"].as_str().unwrap().contains("lists:sum"),
        "{miss:#?}"
    );

    // (c) Fixed: the file's diagnostics are cleared.
    c.save(&api, &api_text);
    c.diagnostics(&api, "cleared diagnostics", |d| d.is_empty());

    // A route declared twice with an overlapping method: a warning at the second.
    let dup = "        {<<\"/api/hello\">>, hello_web_stream, #{methods => [<<\"GET\">>]}},\n";
    let anchor = "        {<<\"/stream\">>";
    let conflict_text = start_text.replacen(anchor, &format!("{dup}{anchor}"), 1);
    let dup_line = conflict_text
        .lines()
        .position(|l| l.contains("<<\"/api/hello\">>, hello_web_stream"))
        .unwrap() as u64;
    c.save(&start, &conflict_text);
    let d = c.diagnostics(&start, "the route conflict", |d| {
        d.iter().any(|d| d["code"] == "route-conflict")
    });
    let w = d.iter().find(|d| d["code"] == "route-conflict").unwrap();
    assert_eq!(w["severity"], 2);
    assert_eq!(w["range"]["start"]["line"], dup_line);
    assert_eq!(
        w["relatedInformation"][0]["location"]["range"]["start"]["line"],
        line_of(&start_text, "<<\"/api/hello\">>")
    );
    c.save(&start, &start_text);
    c.diagnostics(&start, "the conflict cleared", |d| d.is_empty());

    // A handler module that lost a callback: a warning at the route that reaches it.
    let ws = root.join("src/echo_ws.erl");
    let ws_text = std::fs::read_to_string(&ws).unwrap();
    let lost = ws_text.replace("ws_handle/2, ws_info/2]", "ws_handle/2]");
    assert_ne!(lost, ws_text, "echo_ws exports changed; update this test");
    c.save(&ws, &lost);
    let d = c.diagnostics(&start, "the handler contract miss", |d| {
        d.iter().any(|d| d["code"] == "handler-contract")
    });
    let w = d.iter().find(|d| d["code"] == "handler-contract").unwrap();
    assert_eq!(
        w["range"]["start"]["line"],
        line_of(&start_text, "<<\"/ws/echo\">>")
    );
    assert!(
        w["message"].as_str().unwrap().contains("ws_info/2"),
        "{w:#?}"
    );
    c.save(&ws, &ws_text);
    c.diagnostics(&start, "the contract miss cleared", |d| d.is_empty());

    // A project file that does not parse: an error on it, cleared once it is fixed.
    let toml = root.join("avmd.toml");
    let toml_text = std::fs::read_to_string(&toml).unwrap();
    c.save(&toml, "name = \n");
    let d = c.diagnostics(&toml, "the avmd.toml error", |d| !d.is_empty());
    assert_eq!(d[0]["severity"], 1, "{d:#?}");
    assert_eq!(d[0]["code"], "project", "{d:#?}");
    c.save(&toml, &toml_text);
    c.diagnostics(&toml, "the avmd.toml error cleared", |d| d.is_empty());

    // A clean shutdown: `shutdown` answers null, `exit` ends the process with status 0.
    c.shutdown_and_exit();
}

#[test]
fn lsp_outside_a_project_answers_and_does_not_crash() {
    let dir = std::env::temp_dir().join(format!("avmd-lsp-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.canonicalize().unwrap();
    let scratch = Scratch(dir.clone());
    let mut c = Client::initialized(&dir);
    // Saves of files outside any project, of other schemes and of missing files are ignored.
    c.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": "untitled:Untitled-1"}}),
    );
    c.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": uri(&dir.join("nowhere/x.erl"))}}),
    );
    assert_eq!(c.request("avmd/routes", json!({})), json!([]));
    let missing = uri(&dir.join("missing.erl"));
    let def = c.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": missing}, "position": {"line": 0, "character": 0}}),
    );
    assert_eq!(def, Value::Null);
    let syms = c.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": missing}}),
    );
    assert_eq!(syms, Value::Null);
    // Bad params get a JSON-RPC error, not a crash; the server keeps answering.
    let id = c.next_id;
    c.next_id += 1;
    c.send(json!({"jsonrpc": "2.0", "id": id, "method": "avmd/routes", "params": {"uri": 42}}));
    let reply = c.wait_for("the invalid-params error", |m| {
        m.get("id") == Some(&json!(id))
    });
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    // Malformed frames (bad JSON, `{}`, invalid UTF-8, a header without a length) are dropped; the
    // session goes on and the next request is answered.
    for raw in [
        b"Content-Length: 9\r\n\r\n{not json".to_vec(),
        b"Content-Length: 2\r\n\r\n{}".to_vec(),
        b"Content-Length: 2\r\n\r\n\xff\xfe".to_vec(),
        b"X-No-Length: yes\r\n\r\n".to_vec(),
    ] {
        c.stdin.write_all(&raw).unwrap();
    }
    c.stdin.flush().unwrap();
    assert_eq!(c.request("avmd/routes", json!({})), json!([]));
    c.shutdown_and_exit();
    drop(scratch);
}

/// An Elixir project (`avmd new --elixir`): the route map, symbols and conflicts come from `lib/*.ex`,
/// and Elixir handler modules are not reported missing.
#[test]
fn lsp_reads_routes_from_elixir_sources() {
    let dir = std::env::temp_dir().join(format!("avmd-lsp-elixir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let scratch = Scratch(dir.canonicalize().unwrap());
    let made = Command::new(env!("CARGO_BIN_EXE_avmd"))
        .args(["new", "shop_ex", "--elixir"])
        .current_dir(&scratch.0)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let root = scratch.0.join("shop_ex");
    let start = root.join("lib/shop_ex.ex");
    let start_text = std::fs::read_to_string(&start).unwrap();

    let mut c = Client::initialized(&root);

    let routes = c.request("avmd/routes", json!({}));
    let routes = routes.as_array().expect("a list of routes");
    let paths: Vec<&str> = routes.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["/", "/api/hello", "/*"]);
    assert_eq!(routes[1]["handler"], "httpd_api_handler");
    assert_eq!(routes[1]["target"], "Elixir.ShopEx.Api");
    assert_eq!(routes[1]["methods"], json!(["GET"]));
    assert_eq!(routes[1]["uri"], uri(&start));
    assert_eq!(
        routes[1]["range"]["start"]["line"],
        line_of(&start_text, "{\"/api/hello\"")
    );

    let symbols = c.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": uri(&start)}}),
    );
    let routes_only = symbols
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == 20)
        .count();
    assert_eq!(routes_only, 3, "{symbols}");
    assert!(
        symbols
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "routes/0"),
        "{symbols}"
    );

    // The same route twice: a conflict warning at the second, in the .ex file; no contract warning
    // for the Elixir handler module.
    let hello =
        "      {\"/api/hello\", :httpd_api_handler, %{handler: ShopEx.Api, methods: [\"GET\"]}},\n";
    assert!(start_text.contains(hello), "{start_text}");
    let doubled = start_text.replacen(hello, &format!("{hello}{hello}"), 1);
    c.save(&start, &doubled);
    let second = line_of(&doubled, "{\"/api/hello\"") + 1;
    let diags = c.diagnostics(&start, "a route conflict in the .ex file", |d| {
        d.iter().any(|x| x["code"] == "route-conflict")
    });
    let conflict = diags
        .iter()
        .find(|x| x["code"] == "route-conflict")
        .unwrap();
    assert_eq!(conflict["range"]["start"]["line"], second, "{diags:#?}");
    assert!(
        !diags.iter().any(|x| x["code"] == "handler-contract"),
        "{diags:#?}"
    );
    c.shutdown_and_exit();
}

#[test]
fn lsp_maps_atomvm_lib_routes_and_checks_their_contracts() {
    let scratch = Scratch::of("legacy_httpd", "legacy");
    let root = scratch.0.clone();
    let start = root.join("src/legacy_httpd.erl");
    let start_text = std::fs::read_to_string(&start).unwrap();
    let mut c = Client::initialized(&root);

    let routes = c.request("avmd/routes", json!({}));
    let routes = routes.as_array().expect("a list of routes");
    let got: Vec<(&str, &str)> = routes
        .iter()
        .map(|r| (r["path"].as_str().unwrap(), r["handler"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("/api/*", "httpd_api_handler"),
            ("/ws/*", "httpd_ws_handler"),
            ("/upload/*", "legacy_upload"),
            ("/hello/*", "hello_avmd"),
            ("/*", "httpd_file_handler"),
        ]
    );
    assert_eq!(routes[0]["target"], "legacy_api");
    assert_eq!(
        routes[2]["range"]["start"]["line"],
        line_of(&start_text, "{[<<\"upload\">>]")
    );

    // The upload handler loses handle_http_req/2: a contract warning at its route in the start module.
    let upload = root.join("src/legacy_upload.erl");
    let text = std::fs::read_to_string(&upload).unwrap().replace(
        "-export([init_handler/2, handle_http_req/2]).",
        "-export([init_handler/2]).\n-compile(nowarn_unused_function).",
    );
    c.save(&upload, &text);
    let diags = c.diagnostics(&start, "a handler-contract warning", |d| {
        d.iter().any(|x| x["code"] == "handler-contract")
    });
    let w = diags
        .iter()
        .find(|x| x["code"] == "handler-contract")
        .unwrap();
    assert!(
        w["message"]
            .as_str()
            .unwrap()
            .contains("legacy_upload does not export handle_http_req/2"),
        "{w}"
    );
    assert_eq!(
        w["range"]["start"]["line"],
        line_of(&start_text, "{[<<\"upload\">>]")
    );
    c.shutdown_and_exit();
}

/// Five saves in a burst make one build (two at most on a loaded machine), not five.
#[test]
fn a_burst_of_saves_builds_once() {
    let scratch = Scratch::tagged("burst");
    let root = scratch.0.clone();
    let api = root.join("src/hello_web_api.erl");
    let text = std::fs::read_to_string(&api).unwrap();
    let mut c = Client::initialized(&root);
    // A missing call gives the file a diagnostic on every build that sees it.
    let broken = text.replacen("-export([", "-export([sum/1, ", 1) + "\nsum(L) -> lists:sum(L).\n";
    c.save(&api, &broken);
    c.diagnostics(&api, "the first build's diagnostic", |d| !d.is_empty());
    let u = uri(&api);
    let publishes = |c: &mut Client, wait: Duration| -> usize {
        std::iter::from_fn(|| c.rx.recv_timeout(wait).ok())
            .filter(|m| {
                m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == u.as_str()
            })
            .count()
    };
    // Let the start-up build and the first save settle (either may build twice on a slow machine).
    publishes(&mut c, Duration::from_secs(2));
    for i in 0..5 {
        c.save(&api, &format!("{broken}\n%% save {i}\n"));
    }
    // One build for the burst, two when the machine is slow enough to split it; five without the
    // debounce and coalescing.
    let n = publishes(&mut c, Duration::from_secs(5));
    assert!((1..=2).contains(&n), "{n} builds for a burst of 5 saves");
    c.shutdown_and_exit();
    drop(scratch);
}
