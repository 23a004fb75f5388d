"""`avmd dev` end to end: real binary, real erl, real sockets on 127.0.0.1, a temp copy of
examples/hello_web. Edits are made the two ways editors save (in place, temp file + rename)."""

import gzip
import http.client
import json
import os
import signal
import socket
import struct
import subprocess
import threading

from dev_support import Dev, get_json, http_get, poll, rewrite, rewrite_by_rename

HELLO = '{ok, #{<<"hello">> => httpd_handler:query(<<"name">>, Req, <<"world">>)}};'


def api_src(project):
    return project / "src" / "hello_web_api.erl"


def test_serves_then_serves_each_save_in_place_and_by_rename(dev):
    status, _, body = http_get(dev.app + "/api/hello?name=x")
    assert (status, json.loads(body)) == (200, {"hello": "x"})

    rewrite(api_src(dev.project), HELLO, HELLO.replace('<<"hello">>', '<<"in_place">>'))
    dev.wait_body("/api/hello?name=x", b'{"in_place":"x"}')

    rewrite_by_rename(api_src(dev.project), '<<"in_place">>', '<<"renamed">>')
    dev.wait_body("/api/hello?name=x", b'{"renamed":"x"}')

    builds = get_json(dev.api + "/api/builds")["builds"]
    assert [b["result"] for b in builds[:2]] == ["ok", "ok"]
    assert "src/hello_web_api.erl" in builds[0]["trigger"]


def test_a_syntax_error_keeps_the_old_body_and_is_reported_with_its_line(dev):
    src = api_src(dev.project)
    lines = src.read_text().splitlines()
    broken_line = next(i for i, l in enumerate(lines, 1) if HELLO in l)
    rewrite(src, HELLO, HELLO.replace("}};", "};"))  # unbalanced: a syntax error on that line

    def reported():
        d = get_json(dev.api + "/api/diagnostics")
        errs = [x for x in d["diagnostics"] if x["severity"] == "error"]
        return errs if d["result"] == "failed" and errs else None
    errs = poll("the syntax error in /api/diagnostics", reported)
    assert any(e["file"].endswith("src/hello_web_api.erl") and e["line"] == broken_line for e in errs), errs

    status, _, body = http_get(dev.app + "/api/hello?name=x")
    assert (status, json.loads(body)) == (200, {"hello": "x"}), "the last good bundle keeps serving"
    s = get_json(dev.api + "/api/status")
    assert s["phase"] == "failed" and s["last_good_build"]["result"] == "ok"
    assert "hello_web_api.erl:%d" % broken_line in dev.output()

    rewrite(src, HELLO.replace("}};", "};"), HELLO.replace('<<"hello">>', '<<"fixed">>'))
    dev.wait_body("/api/hello?name=x", b'{"fixed":"x"}')
    # The new app serves while load_bundle is still returning; the build record follows a moment later.
    poll("the fixed build recorded as ok", lambda: get_json(dev.api + "/api/diagnostics")["result"] == "ok")


def read_sse_until(url, event, out, ready):
    """Reads an SSE stream until `event` arrives; appends (event, data) pairs to `out`."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.request("GET", "/" + url.split("/", 3)[3], headers={"Accept": "text/event-stream"})
    resp = conn.getresponse()
    out.append(("status", resp.status))
    out.append(("cors", resp.getheader("access-control-allow-origin")))
    name = None
    for _ in range(10000):  # bounded; each line arrives or the socket times out
        line = resp.fp.readline().decode()
        if not line:
            break
        line = line.rstrip("\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            out.append((name, line[6:]))
            if name == "hello":
                ready.set()
            if name == event:
                break
    conn.close()


def test_html_carries_the_live_reload_script_and_the_channel_fires(dev):
    status, headers, body = http_get(dev.app + "/")
    tag = b'<script src="http://127.0.0.1:%d/livereload.js"' % dev.dash
    assert status == 200 and tag in body and body.rindex(tag) < body.lower().rindex(b"</body>")
    # The example serves index.html.gz to gzip clients: the script is injected all the same.
    status, headers, body = http_get(dev.app + "/", {"Accept-Encoding": "gzip"})
    plain = gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body
    assert status == 200 and tag in plain
    assert int(headers["content-length"]) == len(body)
    status, headers, js = http_get(dev.api + "/livereload.js")
    assert status == 200 and b"/api/livereload" in js and b"location.reload" in js

    events, ready = [], threading.Event()
    t = threading.Thread(target=read_sse_until,
                         args=(dev.api + "/api/livereload", "reload", events, ready), daemon=True)
    t.start()
    assert ready.wait(30), events
    rewrite(api_src(dev.project), HELLO, HELLO.replace('<<"hello">>', '<<"reloaded">>'))
    t.join(60)
    assert ("status", 200) in events and ("cors", "*") in events
    reloads = [json.loads(d) for n, d in events if n == "reload"]
    assert reloads and len(reloads[0]["sha256"]) == 64, events
    status, _, body = http_get(dev.app + "/api/hello?name=x")
    assert json.loads(body) == {"reloaded": "x"}


def test_the_json_api_serves_routes_console_and_events(dev):
    routes = get_json(dev.api + "/api/routes")
    assert routes["file"] == "src/hello_web.erl"
    by_path = {r["path"]: r for r in routes["routes"]}
    assert by_path["/api/hello"]["target"] == "hello_web_api" and by_path["/api/hello"]["methods"] == ["GET"]
    assert by_path["/ws/echo"]["handler"] == "httpd_ws_handler"
    console = poll("the app's start line on the console",
                   lambda: [l for l in get_json(dev.api + "/api/console")["lines"]
                            if "listening on port %d" % dev.port in l["text"]])
    assert console[0]["stream"] == "stdout"
    status = get_json(dev.api + "/api/status")
    assert status["project"]["app"] == "hello_web" and status["app_port"] == dev.port
    assert status["project"]["profile"] == "esp32"
    assert http_get(dev.api + "/api/nope")[0] == 404


def pack_avm(sections):
    """A minimal .avm writer (FACTS.md, "The .avm (packbeam) format"): [(name, flags, bytes)]."""
    pad = lambda b: b + b"\0" * (-len(b) % 4)
    out = b"#!/usr/bin/env AtomVM\n\0\0"
    for name, flags, data in sections:
        body = pad(name.encode() + b"\0") + pad(data)
        out += struct.pack(">III", 12 + len(body), flags, 0) + body
    return out + struct.pack(">III", 0, 0, 0) + b"end\0"


def test_project_calls_the_device_lacks_are_build_errors_with_their_line(dev):
    # lists:sum/1 exists on OTP but not on AtomVM: in the project's own code the build catches it.
    src = api_src(dev.project)
    line = next(i for i, l in enumerate(src.read_text().splitlines(), 1) if HELLO in l)
    rewrite(src, HELLO, '{ok, #{<<"sum">> => lists:sum([1, 2]), <<"q">> => httpd_handler:query(<<"name">>, Req, <<"w">>)}};')

    def reported():
        d = get_json(dev.api + "/api/diagnostics")
        return [x for x in d["diagnostics"] if "lists:sum/1 is not available on AtomVM (esp32)" in x["message"]]
    diags = poll("the compat error", reported)
    assert diags[0]["line"] == line and diags[0]["severity"] == "error", diags
    assert json.loads(http_get(dev.app + "/api/hello?name=x")[2]) == {"hello": "x"}


def test_library_calls_the_device_lacks_fail_with_undef(avmd_bin, project, tmp_path):
    # A prebuilt library (an extra .avm) calling lists:sum/1: the build only warns (not the user's
    # code), and in dev the call fails with undef at run time, as on the device.
    libs = project / "libs"
    libs.mkdir()
    (libs / "mathlib.erl").write_text("-module(mathlib).\n-export([total/1]).\ntotal(L) -> lists:sum(L).\n")
    subprocess.run(["erlc", "-o", str(libs), str(libs / "mathlib.erl")], check=True)
    (libs / "mathlib.avm").write_bytes(pack_avm([("mathlib.beam", 2, (libs / "mathlib.beam").read_bytes())]))
    with open(project / "avmd.toml", "a") as f:
        f.write('extra_avms = ["libs/mathlib.avm"]\n')
    rewrite(api_src(project), HELLO, '{ok, #{<<"total">> => mathlib:total([1, 2]), <<"q">> => httpd_handler:query(<<"name">>, Req, <<"w">>)}};')
    dev = Dev(avmd_bin, project, tmp_path / "lib.log").start()
    try:
        build = get_json(dev.api + "/api/status")["current_build"]
        assert build["result"] == "ok" and build["poisoned_calls"] == ["lists:sum/1 (in mathlib)"], build
        status, _, _ = http_get(dev.app + "/api/hello?name=x")
        assert status == 500
        poll("the undef on the device console", lambda: [
            l for l in get_json(dev.api + "/api/console")["lines"]
            if "sum$not_on_atomvm_esp32" in l["text"]])
        # The engine's own bundle (what `avmd build` ships) is not touched: no poisoned atom in it.
        assert b"not_on_atomvm" not in (project / "_build" / "avmd" / "hello_web.avm").read_bytes()
    finally:
        dev.stop()


def test_history_survives_kill_9_and_a_restart(avmd_bin, project, tmp_path):
    first = Dev(avmd_bin, project, tmp_path / "first.log").start()
    rewrite(api_src(project), HELLO, HELLO.replace('<<"hello">>', '<<"before_kill">>'))
    first.wait_body("/api/hello?name=x", b"before_kill")
    before = poll("two builds in the history",
                  lambda: (lambda b: b if len(b) >= 2 else None)(get_json(first.api + "/api/builds")["builds"]))
    first.stop(signal.SIGKILL)

    second = Dev(avmd_bin, project, tmp_path / "second.log").start()
    try:
        after = get_json(second.api + "/api/builds")["builds"]
        ids = [b["id"] for b in after]
        assert all(b["id"] in ids for b in before), (before, after)
        assert after[0]["id"] > before[0]["id"] and after[0]["trigger"] == "start"
        second.wait_body("/api/hello?name=x", b"before_kill")
    finally:
        second.stop()


BIG = """-module(big_handler).
-export([handle/2]).
%% Builds a list of N integers: 2 words per element on the process heap.
handle(Req, _Opts) ->
    N = binary_to_integer(httpd_handler:query(<<"n">>, Req, <<"10">>)),
    {reply, 200, [{<<"content-type">>, <<"text/plain">>}], integer_to_binary(length(lists:seq(1, N)))}.
"""


def test_the_profiles_heap_limit_stands_for_device_ram(avmd_bin, project, tmp_path):
    (project / "src" / "big_handler.erl").write_text(BIG)
    rewrite(project / "src" / "hello_web.erl", '{<<"/stream">>', '{<<"/big">>, big_handler, #{}},\n        {<<"/stream">>')
    dev = Dev(avmd_bin, project, tmp_path / "heap.log").start()
    try:
        status, _, body = http_get(dev.app + "/big?n=1000")
        assert (status, body) == (200, b"1000")
        # 1M elements = 2M words, far past esp32's 65536-word limit: the process is killed.
        try:
            status = http_get(dev.app + "/big?n=1000000")[0]
        except (ConnectionError, http.client.HTTPException, OSError):
            status = None  # killed mid-request: the connection just closes, as on a device
        assert status != 200
        poll("the heap-limit kill on the console", lambda: [
            l for l in get_json(dev.api + "/api/console")["lines"] if "maximum heap size reached" in l["text"]])
        assert http_get(dev.app + "/big?n=10")[2] == b"10", "the server survives"
    finally:
        dev.stop()


def test_editing_the_project_file_reopens_the_project(dev):
    toml = dev.project / "avmd.toml"
    good = toml.read_text()
    toml.write_text(good + "\nthis is not toml = = =\n")

    def failed():
        d = get_json(dev.api + "/api/diagnostics")
        return d["diagnostics"] if d["result"] == "failed" else None
    diags = poll("the project file error", failed)
    assert any(d["source"] == "project" and "avmd.toml" in d["message"] for d in diags), diags
    assert http_get(dev.app + "/api/hello?name=x")[0] == 200, "the last good bundle keeps serving"

    toml.write_text(good.replace('profile = "esp32"', 'profile = "pico_w"'))
    poll("the new profile", lambda: get_json(dev.api + "/api/status")["project"]["profile"] == "pico_w"
         and get_json(dev.api + "/api/status")["phase"] == "ok")
    dev.wait_body("/api/hello?name=x", b'{"hello":"x"}')


def test_the_projects_profile_caps_connections(avmd_bin, project, tmp_path):
    # The example asks for esp32 (5 connections) itself; the project's profile pico_w (4) must win,
    # through the host overrides, as the board's limits would.
    toml = project / "avmd.toml"
    toml.write_text(toml.read_text().replace('profile = "esp32"', 'profile = "pico_w"'))
    dev = Dev(avmd_bin, project, tmp_path / "cap.log").start()
    held = []
    try:
        # Four connections in the middle of a request head: busy, so not evictable as idle ones.
        for _ in range(4):
            s = socket.create_connection(("127.0.0.1", dev.port), timeout=30)
            s.sendall(b"GET /api/hello HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            held.append(s)
        fifth = socket.create_connection(("127.0.0.1", dev.port), timeout=30)
        fifth.sendall(b"GET /api/hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = fifth.recv(4096)
        fifth.close()
        assert answer.startswith(b"HTTP/1.1 503"), answer
        # The held ones are still being served once they finish their heads.
        held[0].sendall(b"\r\n")
        assert held[0].recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        for s in held:
            s.close()
        dev.stop()


def descendants(pid):
    """Every process below `pid` (from /proc: the children each thread has forked)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except FileNotFoundError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children") as f:
                    kids = [int(k) for k in f.read().split()]
            except FileNotFoundError:
                continue
            found += kids
            todo += kids
    return found


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def test_the_erl_children_end_when_the_daemon_is_killed(avmd_bin, project, tmp_path):
    d = Dev(avmd_bin, project, tmp_path / "dev.log").start()
    kids = []
    try:
        http_get(d.app + "/api/hello?name=x")  # the app is up: host VM and compile VM both started
        kids = [p for p in descendants(d.proc.pid) if alive(p)]
        assert kids, "avmd dev runs its compile VM and host runtime as child processes"
        os.kill(d.proc.pid, signal.SIGKILL)  # only the daemon: no chance to clean up
        d.proc.wait(timeout=20)
        poll("every erl child gone once its stdin pipe closed",
             lambda: not [p for p in kids if alive(p)], wait=30)
    finally:
        for p in kids:
            if alive(p):
                os.kill(p, signal.SIGKILL)
        d.stop(signal.SIGKILL)
