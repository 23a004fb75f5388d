"""Group 2 (Autobahn 2.x): pings are answered with pongs carrying the same payload; pongs are ignored."""

import pytest

from ws_raw import PING, PONG, TEXT, Raw, frame


@pytest.mark.parametrize(
    "payload",
    [b"", b"Hello, world!", bytes([0x00, 0xFF, 0xFE, 0xFD, 0xFC, 0xFB, 0x00, 0xFF]), b"\xfe" * 125],
    ids=["2.1-empty", "2.2-text", "2.3-binary", "2.4-125-bytes"],
)
def test_ping_gets_pong(port, payload):
    r = Raw(port)
    r.send_frame(PING, payload)
    assert r.recv_frame() == (True, 0, PONG, payload)
    r.close()


def test_2_5_ping_126_bytes_is_a_protocol_error(port):
    r = Raw(port)
    r.send_frame(PING, b"\xfe" * 126)
    assert r.expect_close() == 1002


def test_2_6_ping_125_bytes_chopped(port):
    r = Raw(port)
    r.send_frame(PING, b"\xfe" * 125, chop=1)
    assert r.recv_frame() == (True, 0, PONG, b"\xfe" * 125)
    r.close()


@pytest.mark.parametrize("payload", [b"", b"unsolicited pong payload"], ids=["2.7-empty", "2.8-payload"])
def test_unsolicited_pong_is_ignored(port, payload):
    r = Raw(port)
    r.send_frame(PONG, payload)
    r.send_frame(TEXT, b"after pong")
    assert r.recv_frame() == (True, 0, TEXT, b"after pong")  # nothing came before the echo
    r.close()


def test_2_9_pong_then_ping(port):
    r = Raw(port)
    r.send_frame(PONG, b"unsolicited")
    r.send_frame(PING, b"ping payload")
    assert r.recv_frame() == (True, 0, PONG, b"ping payload")
    r.close()


@pytest.mark.parametrize("chop", [None, 1], ids=["2.10-ten-pings", "2.11-ten-pings-chopped"])
def test_ten_pings(port, chop):
    r = Raw(port)
    r.send(b"".join(frame(PING, b"payload-%d" % i) for i in range(10)), chop=chop)
    for i in range(10):
        assert r.recv_frame() == (True, 0, PONG, b"payload-%d" % i)
    r.close()
