"""Group 3 (Autobahn 3.x): no extension is negotiated, so any RSV bit fails the connection with 1002."""

from ws_raw import BINARY, CLOSE, PING, TEXT, Raw, frame


def test_3_1_rsv1_text(port):
    r = Raw(port)
    r.send_frame(TEXT, b"Hello, world!", rsv=1)
    assert r.expect_close() == 1002


def test_3_2_valid_then_rsv2_text(port):
    r = Raw(port)
    r.send_frame(TEXT, b"Hello, world!")
    r.send_frame(TEXT, b"Hello, world!", rsv=2)
    r.send_frame(PING, b"")
    assert r.recv_frame() == (True, 0, TEXT, b"Hello, world!")
    assert r.expect_close() == 1002  # and no pong for the ping after the bad frame


def test_3_3_same_in_one_write(port):
    r = Raw(port)
    r.send(frame(TEXT, b"Hello, world!") + frame(TEXT, b"Hello, world!", rsv=3) + frame(PING))
    assert r.recv_frame() == (True, 0, TEXT, b"Hello, world!")
    assert r.expect_close() == 1002


def test_3_4_same_chopped(port):
    r = Raw(port)
    r.send(frame(TEXT, b"Hello, world!") + frame(TEXT, b"Hello, world!", rsv=4) + frame(PING), chop=1)
    assert r.recv_frame() == (True, 0, TEXT, b"Hello, world!")
    assert r.expect_close() == 1002


def test_3_5_rsv5_binary(port):
    r = Raw(port)
    r.send_frame(BINARY, bytes(range(8)), rsv=5)
    assert r.expect_close() == 1002


def test_3_6_rsv6_ping(port):
    r = Raw(port)
    r.send_frame(PING, b"Hello, world!", rsv=6)
    assert r.expect_close() == 1002


def test_3_7_rsv7_close(port):
    r = Raw(port)
    r.send_frame(CLOSE, b"\x03\xe8", rsv=7)
    assert r.expect_close(answer=False) == 1002
