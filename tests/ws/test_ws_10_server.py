"""Group 10: the server side around the protocol — messages pushed from other Erlang processes (ws_info),
many concurrent connections, the cap on concurrent WebSockets (503 before upgrading), the idle ping and
timeout, and clients that vanish mid-frame."""

import struct
import threading
import time

import pytest
from websockets.sync.client import connect

from ws_raw import CLOSE, PING, PONG, TEXT, Raw, frame, http_request


def test_push_from_another_process(port):
    with connect(f"ws://127.0.0.1:{port}/push") as ws:
        ws.send("burst 200")
        assert [ws.recv() for _ in range(200)] == [str(i) for i in range(1, 201)]


def test_push_interleaved_with_echo(port):
    with connect(f"ws://127.0.0.1:{port}/push") as ws:
        ws.send("burst 50")
        ws.send("echo me")
        got = [ws.recv() for _ in range(51)]
        assert "echo me" in got
        assert [g for g in got if g != "echo me"] == [str(i) for i in range(1, 51)]


def test_concurrent_connections(port):
    errors = []

    def client(n):
        try:
            with connect(f"ws://127.0.0.1:{port}/echo") as ws:
                for i in range(20):
                    ws.send(f"{n}-{i}")
                    assert ws.recv() == f"{n}-{i}"
        except Exception as e:  # collected and reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert not any(t.is_alive() for t in threads)


def upgrade_request(port):
    return (f"GET /echo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()


def test_cap_on_concurrent_websockets(ws_ports):
    cap_port = ws_ports[2]  # max_ws_connections => 2
    a, b = Raw(cap_port), Raw(cap_port)
    status, _, body = http_request(cap_port, upgrade_request(cap_port))
    assert status == 503
    assert body.strip()
    # plain HTTP-level refusal does not disturb the open ones
    for r in (a, b):
        r.send_frame(TEXT, b"still here")
        assert r.recv_message() == (TEXT, b"still here")
    a.send_frame(CLOSE, struct.pack("!H", 1000))
    assert a.expect_close(answer=False) == 1000
    # the slot is freed when a's connection process has exited; that follows its TCP close closely,
    # so retry a bounded number of times
    for _ in range(100):
        try:
            c = Raw(cap_port)
            break
        except AssertionError:  # 503 while the slot is still held
            time.sleep(0.05)
    else:
        pytest.fail("the WebSocket slot was never released")
    c.send_frame(TEXT, b"third")
    assert c.recv_message() == (TEXT, b"third")
    c.close()
    b.close()


def test_idle_connection_gets_a_ping_then_a_close(ws_ports):
    idle_port = ws_ports[1]  # ws_idle_timeout => 300 ms
    r = Raw(idle_port)
    assert r.recv_frame() == (True, 0, PING, b"")
    assert r.expect_close() == 1001


def test_idle_connection_kept_by_pongs(ws_ports):
    idle_port = ws_ports[1]
    r = Raw(idle_port)
    for _ in range(3):  # three idle periods, each answered
        assert r.recv_frame() == (True, 0, PING, b"")
        r.send_frame(PONG, b"")
    r.send_frame(TEXT, b"alive")
    # another ping may come first if this machine is slow; it is answered like the others
    while True:
        f = r.recv_frame()
        if f[2] != PING:
            break
        r.send_frame(PONG, b"")
    assert f == (True, 0, TEXT, b"alive")
    r.close()


def test_library_client_stays_connected_through_idle_pings(ws_ports):
    idle_port = ws_ports[1]
    with connect(f"ws://127.0.0.1:{idle_port}/echo") as ws:
        time.sleep(1.0)  # a few idle periods: websockets answers the pings in the background
        ws.send("still open")
        assert ws.recv() == "still open"


@pytest.mark.parametrize("cut", [1, 5, 20])
def test_client_vanishing_mid_frame(port, cut):
    r = Raw(port)
    r.send(frame(TEXT, b"x" * 100)[:cut])
    r.close()
    # the server is unaffected
    with connect(f"ws://127.0.0.1:{port}/echo") as ws:
        ws.send("ok")
        assert ws.recv() == "ok"
