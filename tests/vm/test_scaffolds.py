"""What `avmd new` writes boots on the real AtomVM and serves its page and API, Erlang and Elixir alike.

Always runs on AtomVM (tests/run.sh runs this directory in its atomvm stage): on host OTP the same
scaffolds are covered by tests/dev. Clients are curl and Python's http.client on 127.0.0.1.
"""

import http.client
import json
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import vm_support  # noqa: E402


@pytest.fixture(scope="module", params=["erlang", "elixir"])
def scaffold(request, tmp_path_factory):
    """(language, port, log) of a fresh `avmd new` project served by `avmd run --vm atomvm`."""
    where = tmp_path_factory.mktemp(f"scaffold_{request.param}")
    name = f"{request.param}_app"
    flags = ["--elixir"] if request.param == "elixir" else []
    subprocess.run([str(vm_support.avmd_binary()), "new", name, "--dir", str(where), *flags],
                   check=True, capture_output=True)
    log = where / "run.log"
    proc, port = vm_support.run_on_atomvm(where / name, log)
    try:
        yield request.param, port, log
    finally:
        vm_support.stop(proc)


def get(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), resp.read()
    finally:
        conn.close()


def test_the_api_answers_json(scaffold):
    _lang, port, _log = scaffold
    status, headers, body = get(port, "/api/hello?name=vm")
    assert status == 200, body
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body) == {"hello": "vm"}


def test_the_index_page_is_served(scaffold):
    _lang, port, _log = scaffold
    status, headers, body = get(port, "/")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert b"<html" in body.lower() or b"<!doctype" in body.lower()


def test_a_wrong_method_is_405_with_allow_and_a_reason(scaffold):
    _lang, port, _log = scaffold
    out = subprocess.run(["curl", "-sS", "-i", "-X", "DELETE", f"http://127.0.0.1:{port}/api/hello"],
                         capture_output=True, timeout=20)
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 405 "), out
    assert b"\r\nallow: GET" in head
    assert body.strip(), "a 4xx carries its reason"


def test_keep_alive_serves_many_requests_on_one_connection(scaffold):
    _lang, port, _log = scaffold
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for i in range(20):
            conn.request("GET", f"/api/hello?name=n{i}")
            resp = conn.getresponse()
            assert resp.status == 200
            assert json.loads(resp.read()) == {"hello": f"n{i}"}
    finally:
        conn.close()


def test_nothing_crashed(scaffold):
    _lang, port, log = scaffold
    assert get(port, "/api/hello")[0] == 200
    text = log.read_text(errors="replace")
    assert "crashed" not in text and "CRASH" not in text, text
