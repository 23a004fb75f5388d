"""Apps written against atomvm_lib's httpd, served by `avmd run` on host OTP and (AVMD_VM=atomvm) on the
real AtomVM: examples/legacy_httpd (API, WebSocket pushed from another process, streaming upload, static
files, an avmd handler beside them) and tests/legacy/forms_app (every reply form and error atom, modules
of atomvm_lib's API on avmd's own routes). Clients: h11 over a raw socket, curl, websockets.
"""

import asyncio
import json
import os
import pathlib
import socket
import subprocess
import sys
import zlib

import h11
import pytest
import websockets

HERE = pathlib.Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))
import vm_support  # noqa: E402

ROOT = HERE.parents[2]


def boot(tmp_path_factory, source, name):
    where = tmp_path_factory.mktemp(name)
    project = vm_support.copy_project(source, where / name)
    proc, port = vm_support.run_on_vm(project, where / "run.log")
    return proc, port, where / "run.log"


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    proc, port, log = boot(tmp_path_factory, ROOT / "examples" / "legacy_httpd", "legacy_httpd")
    try:
        yield port, log
    finally:
        vm_support.stop(proc)


@pytest.fixture(scope="module")
def forms(tmp_path_factory):
    proc, port, log = boot(tmp_path_factory, HERE.parent / "forms_app", "forms_app")
    try:
        yield port, log
    finally:
        vm_support.stop(proc)


class Conn:
    """One keep-alive HTTP/1.1 connection driven by h11."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.h = h11.Connection(h11.CLIENT)

    def request(self, method, target, body=b"", headers=()):
        hs = [("host", "t"), *headers]
        if body or method in ("POST", "PUT"):
            hs.append(("content-length", str(len(body))))
        self.sock.sendall(self.h.send(h11.Request(method=method, target=target, headers=hs)))
        if body:
            self.sock.sendall(self.h.send(h11.Data(data=body)))
        self.sock.sendall(self.h.send(h11.EndOfMessage()))
        resp, data = None, b""
        while True:
            ev = self.h.next_event()
            if ev is h11.NEED_DATA:
                self.h.receive_data(self.sock.recv(65536))
            elif isinstance(ev, h11.Response):
                resp = ev
            elif isinstance(ev, h11.Data):
                data += ev.data
            elif isinstance(ev, h11.EndOfMessage):
                headers = {k.decode().lower(): v.decode() for k, v in resp.headers}
                return resp.status_code, headers, data

    def closed_by_server(self):
        """After a response the server promised to close on: the socket reads EOF."""
        self.sock.settimeout(5)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def next_cycle(self):
        self.h.start_next_cycle()

    def close(self):
        self.sock.close()


def get(port, target, **kw):
    c = Conn(port)
    try:
        return c.request("GET", target, **kw)
    finally:
        c.close()


# ---- examples/legacy_httpd ------------------------------------------------------------------------

def test_api_replies_json_text_and_error_atoms(example):
    port, _ = example
    c = Conn(port)
    try:
        status, hs, body = c.request("GET", "/api/system_info")
        assert status == 200 and hs["content-type"] == "application/json", (status, hs, body)
        info = json.loads(body)
        assert info["platform"] in ("generic_unix", "esp32") and info["word_size"] in (4, 8), info
        # an ESP32-only key answers undefined off the device, on host OTP as on AtomVM (not badarg)
        assert info["free_heap"] is None, info
        # the same connection stays open across API replies
        for target, want in [("/api/greet?name=ann", {"greeting": "hello ann"}),
                             ("/api/greet", {"greeting": "hello world"})]:
            c.next_cycle()
            status, _, body = c.request("GET", target)
            assert (status, json.loads(body)) == (200, want)
        c.next_cycle()
        assert c.request("GET", "/api/status")[::2] == (200, b"all good")
    finally:
        c.close()
    assert get(port, "/api/refuse")[0] == 400
    assert get(port, "/api/broken")[0] == 500
    assert get(port, "/api/nope")[0] == 404
    assert get(port, "/api")[0] == 404  # the prefix itself, with an empty suffix


def test_api_gets_the_raw_body_and_title_case_headers(example):
    port, _ = example
    c = Conn(port)
    try:
        status, _, body = c.request("POST", "/api/notes", b"hello", headers=[("content-type", "text/plain")])
        assert (status, json.loads(body)) == (200, {"stored": 5, "type": "text/plain"})
        c.next_cycle()
        assert c.request("DELETE", "/api/notes")[::2] == (200, b"ok")
    finally:
        c.close()


def test_an_avmd_handler_runs_beside_the_atomvm_lib_ones(example):
    port, _ = example
    assert get(port, "/hello?name=x")[::2] == (200, b"hello, x\n")


def test_static_files_come_from_the_priv_root(example):
    port, _ = example
    status, hs, body = get(port, "/")
    assert status == 200 and b"atomvm_lib httpd app" in body and hs["content-type"].startswith("text/html")
    status, hs, body = get(port, "/style.css")
    assert status == 200 and hs["content-type"].startswith("text/css") and b"font-family" in body
    status, hs, _ = get(port, "/app.js", headers=[("if-none-match", get(port, "/app.js")[1]["etag"])])
    assert status == 304
    assert get(port, "/missing.txt")[0] == 404
    assert get(port, "/%2e%2e/rebar.config")[0] == 400


def test_streaming_upload_arrives_in_pieces_with_curl_and_100_continue(example, tmp_path):
    port, _ = example
    data = os.urandom(150_000)
    f = tmp_path / "up.bin"
    f.write_bytes(data)
    out = subprocess.run(["curl", "-sS", "-T", str(f), f"http://127.0.0.1:{port}/upload"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    got = json.loads(out)
    assert got["bytes"] == len(data) and got["crc"] == zlib.crc32(data), got
    assert got["pieces"] > 1, got


def test_websocket_pushes_from_another_process_and_answers(example):
    port, _ = example

    async def run():
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as ws:
            ticks, answers = [], []
            await ws.send("ping")
            await ws.send("count")
            while len(answers) < 2 or len(ticks) < 2:
                m = await asyncio.wait_for(ws.recv(), 20)
                (ticks if m.startswith("{") else answers).append(m)
            assert answers == ["pong", "1"], answers
            assert [json.loads(t)["tick"] for t in ticks[:2]] == [1, 2], ticks
            await ws.send("bye")
            rest = []
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    rest.append(await asyncio.wait_for(ws.recv(), 20))
            assert "bye" in rest, rest
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000

    asyncio.run(run())


def test_the_route_map_and_build_see_atomvm_lib_routes(tmp_path):
    """`avmd build` reads the rebar.config with its atomvm_lib dependency as it is, packs the adapters,
    and the handler-contract check follows atomvm_lib's callbacks (a module lacking one is named)."""
    project = vm_support.copy_project(ROOT / "examples" / "legacy_httpd", tmp_path / "legacy_httpd")
    binary = vm_support.avmd_binary()
    r = subprocess.run([str(binary), "build", str(project)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warning" not in (r.stdout + r.stderr).lower(), r.stdout + r.stderr
    listed = subprocess.run([str(binary), "inspect", str(project / "_build" / "avmd" / "legacy_httpd.avm")],
                            capture_output=True, text=True, timeout=60, check=True).stdout
    for m in ["httpd.beam", "httpd_legacy.beam", "httpd_legacy_ws.beam", "json_encoder.beam",
              "httpd_file_handler.beam", "legacy_api.beam"]:
        assert m in listed, (m, listed)
    # drop a callback: the build names it at the route
    upload = project / "src" / "legacy_upload.erl"
    upload.write_text(upload.read_text().replace("-export([init_handler/2, handle_http_req/2]).",
                                                 "-export([init_handler/2]).\n-compile(nowarn_unused_function)."))
    r = subprocess.run([str(binary), "build", str(project)], capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    assert "legacy_upload does not export handle_http_req/2" in out and "/upload/*" in out, out


# ---- tests/legacy/forms_app ---------------------------------------------------------------------

KEEP, CLOSE = "keep", "close"


@pytest.mark.parametrize("form,status,ctype,body,after", [
    ("reply", 200, "application/octet-stream", b"r", KEEP),
    ("reply_headers", 200, "text/html", b"<b>h</b>", KEEP),
    ("close", 200, None, b"", CLOSE),
    ("close_body", 200, "application/octet-stream", b"cb", CLOSE),
    ("close_headers", 200, "text/plain", b"ch", CLOSE),
    ("not_found", 404, "text/plain", b"Not Found\n", CLOSE),
    ("bad_request", 400, "text/plain", b"Bad Request\n", CLOSE),
    ("internal_server_error", 500, "text/plain", b"Internal Server Error\n", CLOSE),
    ("other_error", 500, "text/plain", b"Internal Server Error\n", CLOSE),
    ("garbage", 500, "text/plain", b"Internal Server Error\n", CLOSE),
    ("noreply", 500, "text/plain", b"Internal Server Error\n", CLOSE),
    ("crash", 500, "text/plain", None, CLOSE),
])
def test_each_reply_form_maps_to_its_status(forms, form, status, ctype, body, after):
    port, _ = forms
    c = Conn(port)
    try:
        got_status, hs, got_body = c.request("GET", f"/forms/{form}")
        assert got_status == status, (form, got_status, hs, got_body)
        if ctype:
            assert hs.get("content-type") == ctype, hs
        if body is not None:
            assert got_body == body
        assert hs["content-length"] == str(len(got_body))  # the true length, whatever the module said
        if after == CLOSE:
            assert hs.get("connection") == "close", hs
            assert c.closed_by_server()
        else:
            assert "connection" not in hs, hs
            c.next_cycle()
            assert c.request("GET", "/forms/reply")[0] == 200
    finally:
        c.close()


def test_reply_headers_are_sent(forms):
    port, _ = forms
    _, hs, _ = get(port, "/forms/reply_headers")
    assert hs["x-form"] == "reply_headers"


def test_the_request_map_is_atomvm_libs(forms):
    port, _ = forms
    c = Conn(port)
    try:
        status, _, body = c.request("PATCH", "/forms/echo?name=a%20b&zz_not_an_atom_q=1", b"xyz",
                                    headers=[("x-custom-thing", "v"), ("accept", "a"), ("accept", "b")])
        assert status == 200, body
        e = json.loads(body)
        assert e["method"] == "patch" and e["path"] == ["forms", "echo"] and e["suffix"] == ["echo"], e
        assert e["uri"] == "/forms/echo?name=a%20b&zz_not_an_atom_q=1", e
        assert e["query"] == {"name": "a b", "zz_not_an_atom_q": "1"}, e
        assert e["atom_keys"] == ["name"], e  # no atom is made from what a client sends
        assert e["headers"]["X-Custom-Thing"] == "v" and e["headers"]["Accept"] == "a, b", e
        assert e["headers"]["Content-Length"] == "3" and e["body"] == "xyz", e
        assert e["config"] == {"greeting": "hi"}, e
        assert e["peer_port"] == c.sock.getsockname()[1], e  # socket:peername/1 works on `socket`
        c.next_cycle()
        status, _, body = c.request("DELETE", "/forms/echo")
        assert status == 200 and json.loads(body)["method"] == "delete"
    finally:
        c.close()


def test_body_pieces_reach_the_module_until_content_length(forms):
    port, _ = forms
    data = os.urandom(40_000)
    status, _, body = Conn(port).request("PUT", "/forms/pieces", data)
    got = json.loads(body)
    assert status == 200 and got["bytes"] == len(data) and got["pieces"] >= 2, got


def test_an_early_answer_ends_the_upload_cleanly(forms):
    port, _ = forms
    c = Conn(port)
    try:
        status, hs, body = c.request("PUT", "/forms/early", os.urandom(200_000))
        assert (status, body) == (200, b"early")
    finally:
        c.close()
    assert get(port, "/forms/reply")[0] == 200  # and the server is fine


def test_atomvm_lib_api_modules_on_avmd_routes(forms):
    port, _ = forms
    status, hs, body = get(port, "/api/thing/7")
    assert (status, json.loads(body)) == (200, {"id": "7"})
    assert get(port, "/api/atom")[::2] == (200, b"yes")
    status, hs, body = get(port, "/api/closing")
    assert (status, json.loads(body), hs.get("connection")) == (200, {"a": 1}, "close")
    assert get(port, "/api/err")[0] == 400
    assert get(port, "/api/weird")[0] == 500
    assert get(port, "/api/none")[0] == 404
    assert get(port, "/ours")[::2] == (200, b"ours\n")
