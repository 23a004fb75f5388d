"""Every kind of request to hello_web with Python's h11 as the client: h11 raises on any response
that is not valid HTTP/1.1, so each test also checks the server's framing. Includes pipelined
requests, 100-continue, chunked both ways, HEAD, HTTP/1.0 and the error statuses."""

import json
import socket
import time

import h11
import pytest

from http_raw import raw_exchange


class Client:
    """One h11 client connection; every read is bounded by the socket timeout."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5.0)
        self.conn = h11.Connection(our_role=h11.CLIENT)

    def close(self):
        self.sock.close()

    def send(self, *events):
        data = b"".join(self.conn.send(e) or b"" for e in events)
        if data:
            self.sock.sendall(data)

    def pretend_sent(self, *events):
        """Advances h11's state as if these events were sent (their bytes went out raw earlier)."""
        for e in events:
            self.conn.send(e)

    def next_event(self):
        for _ in range(10000):  # bounded: each turn either returns an event or reads from the socket
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            self.conn.receive_data(self.sock.recv(65536))
        raise AssertionError("no event")

    def response(self):
        """(Response or InformationalResponse, body) of the next complete response."""
        head = self.next_event()
        if isinstance(head, h11.InformationalResponse):
            return head, b""
        assert isinstance(head, h11.Response), head
        body = []
        while True:
            event = self.next_event()
            if isinstance(event, h11.Data):
                body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return head, b"".join(body)
            else:
                raise AssertionError(event)

    def next_cycle(self):
        self.conn.start_next_cycle()


def req(method, target, headers=(), version="1.1"):
    return h11.Request(method=method, target=target, headers=[("host", "t"), *headers], http_version=version)


def hdr(response, name):
    for n, v in response.headers:
        if n == name.encode():
            return v.decode()
    return None


@pytest.fixture
def client(port):
    c = Client(port)
    yield c
    c.close()


def test_get_api(client):
    client.send(req("GET", "/api/hello?name=h11"), h11.EndOfMessage())
    resp, body = client.response()
    assert resp.status_code == 200 and json.loads(body) == {"hello": "h11"}


def test_keep_alive_serves_many_requests(client):
    for i in range(10):
        if i:
            client.next_cycle()
        client.send(req("GET", f"/api/items/{i + 1}"), h11.EndOfMessage())
        resp, body = client.response()
        assert resp.status_code == 200 and json.loads(body)["id"] == i + 1


def test_pipelined_requests_come_back_in_order(client):
    targets = ["/api/items/1", "/api/hello?name=p", "/stream", "/api/items/2"]
    raw = b"".join(f"GET {t} HTTP/1.1\r\nhost: t\r\n\r\n".encode() for t in targets)
    client.sock.sendall(raw)
    bodies = []
    for i, t in enumerate(targets):
        if i:
            client.next_cycle()
        client.pretend_sent(req("GET", t), h11.EndOfMessage())
        resp, body = client.response()
        assert resp.status_code == 200
        bodies.append(body)
    assert json.loads(bodies[0])["id"] == 1
    assert json.loads(bodies[1]) == {"hello": "p"}
    assert bodies[2].endswith(b"done\n")
    assert json.loads(bodies[3])["id"] == 2


def test_head_has_no_body(client):
    client.send(req("HEAD", "/"), h11.EndOfMessage())
    resp, body = client.response()
    assert resp.status_code == 200 and body == b""
    client.next_cycle()
    client.send(req("GET", "/api/hello"), h11.EndOfMessage())
    assert client.response()[0].status_code == 200


def test_chunked_request_and_chunked_reply(client):
    client.send(req("POST", "/upload", [("transfer-encoding", "chunked")]),
                h11.Data(data=b"a" * 5000), h11.Data(data=b"b" * 3000), h11.EndOfMessage())
    resp, body = client.response()
    assert resp.status_code == 200 and json.loads(body) == {"bytes": 8000, "pieces": 2}
    client.next_cycle()
    client.send(req("GET", "/stream"), h11.EndOfMessage())
    resp, body = client.response()
    assert hdr(resp, "transfer-encoding") == "chunked"
    assert body.count(b"piece") == 5


def test_expect_100_continue(client):
    payload = json.dumps({"x": 1}).encode()
    client.send(req("POST", "/api/echo", [("expect", "100-continue"), ("content-length", str(len(payload))),
                                           ("content-type", "application/json")]))
    interim, _ = client.response()
    assert isinstance(interim, h11.InformationalResponse) and interim.status_code == 100
    client.send(h11.Data(data=payload), h11.EndOfMessage())
    resp, body = client.response()
    assert resp.status_code == 200 and json.loads(body) == {"x": 1}


def test_http10_request_gets_a_valid_reply_and_close(client):
    # h11 only writes HTTP/1.1: the 1.0 request goes out raw and h11 reads the reply.
    client.sock.sendall(b"GET /api/hello HTTP/1.0\r\n\r\n")
    client.pretend_sent(req("GET", "/api/hello", [("connection", "close")]), h11.EndOfMessage())
    resp, body = client.response()
    assert resp.status_code == 200 and json.loads(body) == {"hello": "world"}
    assert hdr(resp, "connection") == "close"
    assert isinstance(client.next_event(), h11.ConnectionClosed)


def test_http10_stream_is_close_delimited(client):
    client.sock.sendall(b"GET /stream HTTP/1.0\r\n\r\n")
    client.pretend_sent(req("GET", "/stream", [("connection", "close")]), h11.EndOfMessage())
    resp, body = client.response()
    assert resp.status_code == 200 and hdr(resp, "transfer-encoding") is None
    assert body.endswith(b"done\n")


def test_connection_close(client):
    client.send(req("GET", "/api/hello", [("connection", "close")]), h11.EndOfMessage())
    resp, _ = client.response()
    assert hdr(resp, "connection") == "close"
    assert isinstance(client.next_event(), h11.ConnectionClosed)


def test_options_and_405(client):
    client.send(req("OPTIONS", "/api/items/3"), h11.EndOfMessage())
    resp, _ = client.response()
    assert resp.status_code == 204 and "PUT" in hdr(resp, "allow")
    client.next_cycle()
    client.send(req("PATCH", "/api/items/3", [("content-length", "0")]), h11.EndOfMessage())
    resp, _ = client.response()
    assert resp.status_code == 405 and hdr(resp, "allow")


def test_304_is_valid(client):
    client.send(req("GET", "/ws.js"), h11.EndOfMessage())
    resp, _ = client.response()
    etag = hdr(resp, "etag")
    client.next_cycle()
    client.send(req("GET", "/ws.js", [("if-none-match", etag)]), h11.EndOfMessage())
    resp, body = client.response()
    assert resp.status_code == 304 and body == b""


@pytest.mark.parametrize(
    "raw, status",
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),  # no Host
        (b"GET / HTTP/1.1\r\nhost: t\r\nbad header\r\n\r\n", 400),
        (b"BREW / HTTP/1.1\r\nhost: t\r\n\r\n", 501),
        (b"POST /upload HTTP/1.1\r\nhost: t\r\ntransfer-encoding: gzip\r\n\r\n", 501),
        (b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\nhost: t\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nhost: t\r\ncookie: " + b"c" * 5000 + b"\r\n\r\n", 431),
        (b"POST /upload HTTP/1.1\r\nhost: t\r\ncontent-length: 99999999\r\n\r\n", 413),
        (b"GET / HTTP/2.0\r\nhost: t\r\n\r\n", 505),
        # both framings: a request-smuggling vector (RFC 9112 section 6.3), refused and closed
        (b"POST /upload HTTP/1.1\r\nhost: t\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\nabc", 400),
    ],
)
def test_error_responses_are_valid_http11_and_close(port, raw, status):
    c = Client(port)
    try:
        c.sock.sendall(raw)
        c.pretend_sent(req("GET", "/"), h11.EndOfMessage())
        resp, body = c.response()
        assert resp.status_code == status
        assert hdr(resp, "connection") == "close"
        assert body.endswith(b"\n") and body.count(b"\n") == 1
        assert isinstance(c.next_event(), h11.ConnectionClosed)
    finally:
        c.close()


def test_bad_chunked_body_is_400(port):
    out = raw_exchange(port, b"POST /upload HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\nxyz\r\n")
    assert out.startswith(b"HTTP/1.1 400 ")


def test_many_sequential_connections_do_not_exhaust_the_cap(port):
    # The example runs the esp32 profile: at most 5 connections; closed ones must free their slot.
    for _ in range(20):
        c = Client(port)
        c.send(req("GET", "/api/hello", [("connection", "close")]), h11.EndOfMessage())
        assert c.response()[0].status_code == 200
        c.close()


def test_idle_browser_connections_are_evicted_for_a_new_one(port):
    # 5 idle keep-alive connections fill the esp32 profile's cap; a sixth client still gets served
    # because the oldest idle one is evicted (after it reported idle, ~1 s).
    idle = []
    try:
        for _ in range(5):
            c = Client(port)
            c.send(req("GET", "/api/hello"), h11.EndOfMessage())
            assert c.response()[0].status_code == 200
            idle.append(c)
        # The idle ones report themselves after ~1 s; until then a newcomer may get 503. Bounded retries.
        statuses = []
        for _ in range(40):
            late = Client(port)
            late.send(req("GET", "/api/hello"), h11.EndOfMessage())
            statuses.append(late.response()[0].status_code)
            late.close()
            if statuses[-1] == 200:
                break
            time.sleep(0.25)
        assert statuses[-1] == 200 and set(statuses) <= {200, 503}
    finally:
        for c in idle:
            c.close()


@pytest.mark.parametrize("per_connection", [1, 100], ids=["connection-close", "keepalive-limit"])
def test_clients_reconnecting_at_the_cap_are_not_refused(port, per_connection):
    # 5 clients fill the esp32 profile's cap of 5. Each connection ends after `per_connection`
    # requests (the client's `connection: close`, or the profile's max_keepalive_requests of 100) and
    # the client reconnects at once. The server closed the old connection before the client reconnects,
    # so the new one must get its slot: a connection frees its slot when it is done.
    import collections
    import threading

    statuses, errors = [], []

    def client():
        try:
            for _ in range(2 if per_connection > 1 else 25):
                c = Client(port)
                for i in range(per_connection):
                    extra = [("connection", "close")] if per_connection == 1 else []
                    c.send(req("GET", "/api/hello", extra), h11.EndOfMessage())
                    resp = c.response()[0]
                    statuses.append(resp.status_code)
                    if i + 1 < per_connection:
                        assert hdr(resp, "connection") != "close", f"closed after {i + 1} requests"
                        c.next_cycle()
                assert isinstance(c.next_event(), h11.ConnectionClosed)
                c.close()
        except Exception as e:  # reported below: a thread's exception would otherwise be lost
            errors.append(repr(e))

    threads = [threading.Thread(target=client) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert set(statuses) == {200}, dict(collections.Counter(statuses))
    assert len(statuses) == 5 * (200 if per_connection > 1 else 25)
