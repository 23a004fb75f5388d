"""Group 0: the opening handshake (RFC 6455 4.1, 4.2), with the `websockets` client and raw requests."""

import base64
import os

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from ws_raw import Raw, http_request

KEY = base64.b64encode(os.urandom(16)).decode()


def request(path="/echo", **over):
    headers = {
        "Host": "127.0.0.1",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": KEY,
        "Sec-WebSocket-Version": "13",
    }
    method = over.pop("method", "GET")
    for name, value in over.items():
        name = name.replace("_", "-")
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    extra = "Content-Length: 0\r\n" if method == "POST" else ""
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def test_library_client_connects_and_echoes(port):
    with connect(f"ws://127.0.0.1:{port}/echo") as ws:
        ws.send("hello")
        assert ws.recv() == "hello"
        # websockets offers permessage-deflate; the server negotiates no extension (RFC 6455 9.1)
        assert "Sec-WebSocket-Extensions" not in ws.response.headers


def test_accept_key_and_headers(port):
    r = Raw(port)  # checks 101 and Sec-WebSocket-Accept
    assert r.headers["upgrade"].lower() == "websocket"
    assert "upgrade" in r.headers["connection"].lower()
    r.close()


def test_connection_header_token_list_and_case(port):
    r = Raw(port, headers=["Connection: keep-alive, Upgrade"])
    r.close()


@pytest.mark.parametrize(
    "offered,chosen",
    [(["superchat", "chat"], "superchat"), (["chat"], "chat"), (["mqtt", "chat"], "chat"), (["mqtt"], None)],
)
def test_subprotocol_negotiation(port, offered, chosen):
    with connect(f"ws://127.0.0.1:{port}/proto", subprotocols=offered) as ws:
        assert ws.subprotocol == chosen
        ws.send("x")
        assert ws.recv() == "x"


def test_no_subprotocol_header_unless_offered(port):
    r = Raw(port, path="/proto")
    assert "sec-websocket-protocol" not in r.headers
    r.close()


@pytest.mark.parametrize(
    "over",
    [
        {"Sec-WebSocket-Key": None},
        {"Sec-WebSocket-Key": base64.b64encode(b"short").decode()},
        {"Sec-WebSocket-Key": "not base64 at all!!!!!!!"},
        {"Upgrade": None},
        {"Upgrade": "h2c"},
        {"Connection": None},
        {"Connection": "keep-alive"},
        {"Sec-WebSocket-Version": None},
        {"method": "POST"},
    ],
    ids=["no-key", "short-key", "bad-base64", "no-upgrade", "wrong-upgrade", "no-connection",
         "connection-without-upgrade", "no-version", "post"],
)
def test_bad_handshake_is_400(port, over):
    status, headers, body = http_request(port, request(**over))
    assert status == 400
    assert body.strip()


@pytest.mark.parametrize("version", ["8", "12", "14"])
def test_wrong_version_is_426_with_supported_version(port, version):
    status, headers, _ = http_request(port, request(Sec_WebSocket_Version=version))
    assert status == 426
    assert headers["sec-websocket-version"] == "13"


def test_library_client_sees_the_refusal(port):
    with pytest.raises(InvalidStatus) as e:
        with connect(f"ws://127.0.0.1:{port}/no-such-route"):
            pass
    assert e.value.response.status_code == 404
