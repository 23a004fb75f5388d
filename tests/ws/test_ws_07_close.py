"""Group 7 (Autobahn 7.x): the closing handshake. Valid close codes are echoed and the server closes TCP;
invalid codes, 1-byte bodies and oversized bodies fail with 1002, a non-UTF-8 reason with 1007;
nothing is processed after the client's close frame."""

import struct

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from ws_raw import CLOSE, CONT, PING, TEXT, Raw, frame

VALID = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]
INVALID = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]


def test_7_1_1_echo_then_close(port):
    r = Raw(port)
    r.send_frame(TEXT, b"Hello World!")
    assert r.recv_message() == (TEXT, b"Hello World!")
    r.send_frame(CLOSE, struct.pack("!H", 1000))
    assert r.expect_close(answer=False) == 1000


def test_7_1_2_close_twice(port):
    r = Raw(port)
    r.send(frame(CLOSE, struct.pack("!H", 1000)) + frame(CLOSE, struct.pack("!H", 1000)))
    assert r.expect_close(answer=False) == 1000


@pytest.mark.parametrize(
    "after", [frame(PING, b"ping"), frame(TEXT, b"text")], ids=["7.1.3-ping-after-close", "7.1.4-text-after-close"]
)
def test_nothing_after_close_is_processed(port, after):
    r = Raw(port)
    r.send(frame(CLOSE, struct.pack("!H", 1000)) + after)
    f = r.recv_frame()  # the close reply comes first: no pong, no echo
    assert f[2] == CLOSE and f[3] == struct.pack("!H", 1000)
    r.expect_tcp_close()

def test_7_1_6_large_message_then_close_then_ping(port):
    r = Raw(port)
    big = b"BAsd7&jh23" * 26214  # 262,140 bytes
    r.send(frame(TEXT, big) + frame(CLOSE, struct.pack("!H", 1000)) + frame(PING, b"ping"))
    assert r.recv_message() == (TEXT, big)
    f = r.recv_frame()  # then the close reply, and no pong
    assert f[2] == CLOSE and f[3] == struct.pack("!H", 1000)
    r.expect_tcp_close()


def test_7_1_5_close_inside_fragmented_message(port):
    r = Raw(port)
    r.send(frame(TEXT, b"fragment1", fin=False) + frame(CLOSE, struct.pack("!H", 1000)) + frame(CONT, b"fragment2"))
    f = r.recv_frame()
    assert f[2] == CLOSE and f[3][:2] == struct.pack("!H", 1000)
    r.expect_tcp_close()


def test_7_3_1_empty_close(port):
    r = Raw(port)
    r.send_frame(CLOSE, b"")
    assert r.expect_close(answer=False) is None


def test_7_3_2_one_byte_close_body(port):
    r = Raw(port)
    r.send_frame(CLOSE, b"\x03")
    assert r.expect_close(answer=False) == 1002


@pytest.mark.parametrize("reason", [b"", b"Hello World!", b"*" * 123], ids=["7.3.3-code-only", "7.3.4-reason", "7.3.5-123-bytes"])
def test_close_with_reason(port, reason):
    r = Raw(port)
    r.send_frame(CLOSE, struct.pack("!H", 1000) + reason)
    assert r.expect_close(answer=False) == 1000


def test_7_3_6_close_body_over_125_bytes(port):
    r = Raw(port)
    r.send_frame(CLOSE, struct.pack("!H", 1000) + b"*" * 124)
    assert r.expect_close(answer=False) == 1002


def test_7_5_1_invalid_utf8_reason(port):
    r = Raw(port)
    r.send_frame(CLOSE, struct.pack("!H", 1000) + "κόσμε".encode() + b"\xed\xa0\x80" + b"edited")
    assert r.expect_close(answer=False) == 1007


@pytest.mark.parametrize("code", VALID)
def test_7_7_valid_codes_echoed(port, code):
    r = Raw(port)
    r.send_frame(CLOSE, struct.pack("!H", code))
    assert r.expect_close(answer=False) == code


@pytest.mark.parametrize("code", INVALID)
def test_7_9_invalid_codes(port, code):
    r = Raw(port)
    r.send_frame(CLOSE, struct.pack("!H", code))
    assert r.expect_close(answer=False) == 1002


def test_library_client_close(port):
    with connect(f"ws://127.0.0.1:{port}/echo") as ws:
        ws.send("bye")
        assert ws.recv() == "bye"
        ws.close(code=4321, reason="done")
        assert ws.close_code == 4321  # the server echoed our code (websockets reads the server's close)


@pytest.mark.parametrize("code", [1000, 1001, 4001])
def test_server_initiated_close(port, code):
    r = Raw(port, path="/close")
    r.send_frame(TEXT, b"close %d" % code)
    f = r.recv_frame()
    assert f == (True, 0, CLOSE, struct.pack("!H", code) + b"bye")
    r.send_frame(CLOSE, struct.pack("!H", code))  # the client answers; then the server closes TCP
    r.expect_tcp_close()


def test_server_initiated_close_with_library_client(port):
    with connect(f"ws://127.0.0.1:{port}/close") as ws:
        ws.send("close 4002")
        with pytest.raises(ConnectionClosed):
            ws.recv()
        assert ws.close_code == 4002
        assert ws.close_reason == "bye"
