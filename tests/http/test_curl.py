"""hello_web through curl, an independent client: GET, HEAD, POST JSON, uploads, gzip and 304."""

import gzip
import json
import subprocess
import time

import pytest


def curl(*args, data=None):
    """Runs curl; returns (status, headers dict with lowercase names, body bytes)."""
    out = subprocess.run(
        ["curl", "-sS", "--max-time", "20", "-D", "-", *args],
        input=data,
        capture_output=True,
        check=True,
    ).stdout
    head, _, body = out.partition(b"\r\n\r\n")
    while head.startswith(b"HTTP/1.1 100"):  # an interim 100 Continue precedes the real head
        head, _, body = body.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def test_index_is_sent_gzipped_to_a_client_that_accepts_gzip(base):
    status, headers, body = curl("-H", "Accept-Encoding: gzip", base + "/")
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert headers["vary"] == "accept-encoding"
    assert headers["content-type"].startswith("text/html")
    assert b"Hello from the device" in gzip.decompress(body)


def test_index_is_sent_plain_without_accept_encoding(base):
    status, headers, body = curl(base + "/")
    assert status == 200
    assert "content-encoding" not in headers
    assert b"Hello from the device" in body
    assert int(headers["content-length"]) == len(body)


def test_compressed_flag_gets_the_same_page(base):
    plain = curl(base + "/")[2]
    status, _, body = curl("--compressed", base + "/")
    assert status == 200 and body == plain


def test_if_none_match_gives_304(base):
    _, headers, _ = curl(base + "/ws.js")
    etag = headers["etag"]
    status, headers2, body = curl("-H", f"If-None-Match: {etag}", base + "/ws.js")
    assert status == 304 and body == b"" and headers2["etag"] == etag


def test_head_has_the_length_and_no_body(base):
    status, headers, body = curl("-I", "-o", "/dev/null", base + "/ws.js")
    assert status == 200
    assert int(headers["content-length"]) > 0
    assert body == b""


def test_hello_api(base):
    status, headers, body = curl(base + "/api/hello?name=Ada%20L")
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"hello": "Ada L"}


def test_echo_api_echoes_json(base):
    doc = {"a": [1, 2.5, True, None, "ü"], "b": {"c": "d"}}
    status, _, body = curl("-H", "Content-Type: application/json", "--data-binary", "@-", base + "/api/echo",
                           data=json.dumps(doc).encode())
    assert status == 200 and json.loads(body) == doc


def test_echo_api_refuses_bad_json_with_400(base):
    status, _, body = curl("--data-binary", "{nope", base + "/api/echo")
    assert status == 400 and "error" in json.loads(body)


def test_items_api(base):
    status, _, body = curl(base + "/api/items/7")
    assert status == 200 and json.loads(body) == {"id": 7, "name": "item 7"}
    assert curl(base + "/api/items/1000")[0] == 404
    assert curl("-X", "DELETE", base + "/api/items/7")[0] == 204


def test_stream_arrives_chunked(base):
    status, headers, body = curl("--raw", base + "/stream")
    assert status == 200 and headers["transfer-encoding"] == "chunked"
    decoded = curl(base + "/stream")[2]
    assert decoded == b"piece 1\npiece 2\npiece 3\npiece 4\npiece 5\ndone\n"


@pytest.mark.parametrize("size", [0, 1, 4096, 1_000_000])
def test_upload_is_counted_in_pieces(base, size):
    status, _, body = curl("-H", "Content-Type: application/octet-stream", "--data-binary", "@-",
                           base + "/upload", data=b"u" * size)
    assert status == 200
    result = json.loads(body)
    assert result["bytes"] == size
    assert result["pieces"] == -(-size // 4096)


def test_chunked_upload_is_counted(base):
    status, _, body = curl("-H", "Transfer-Encoding: chunked", "--data-binary", "@-", base + "/upload",
                           data=b"c" * 10000)
    assert status == 200 and json.loads(body)["bytes"] == 10000


def test_upload_over_max_body_is_413(base):
    # the example runs the esp32 profile: max_body 1 MiB
    status, _, _ = curl("-H", "Expect:", "--data-binary", "@-", base + "/upload", data=b"x" * (1048576 + 1))
    assert status == 413


def test_unknown_path_404_and_wrong_method_405(base):
    assert curl(base + "/no/such/file.txt")[0] == 404
    status, headers, _ = curl("-X", "POST", base + "/stream")
    assert status == 405 and "GET" in headers["allow"]


def test_security_headers_are_on_every_response(base):
    for path in ["/", "/api/hello", "/nope"]:
        headers = curl(base + path)[1]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"


def test_access_log_lines_are_printed(hello_web, base):
    curl(base + "/api/hello?name=logcheck")
    _, log = hello_web
    for _ in range(50):  # bounded: the line crosses a pipe (and avmd's console, on AtomVM)
        if "GET /api/hello?name=logcheck 200" in log.read_text(errors="replace"):
            break
        time.sleep(0.1)
    assert "GET /api/hello?name=logcheck 200" in log.read_text(errors="replace")
