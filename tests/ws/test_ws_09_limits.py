"""Group 9 (Autobahn 9.x, scaled to the configured limit): large messages up to max_ws_message (1 MiB in
the fixture) are echoed whole, single-frame and fragmented; one byte more fails with 1009, decided on the
declared length before the payload is read."""

import struct

import pytest
from websockets.sync.client import connect

from ws_raw import BINARY, CONT, TEXT, Raw, frame

LIMIT = 1048576


@pytest.mark.parametrize("size", [65536, 262144, LIMIT], ids=["64K", "256K", "1M-limit"])
@pytest.mark.parametrize("kind", ["text", "binary"])
def test_large_message_echo(port, size, kind):
    msg = "*" * size if kind == "text" else bytes(i % 251 for i in range(size))
    with connect(f"ws://127.0.0.1:{port}/echo", max_size=None) as ws:
        ws.send(msg)
        assert ws.recv() == msg


@pytest.mark.parametrize("frag", [65536, 4096], ids=["64K-fragments", "4K-fragments"])
def test_limit_sized_message_in_fragments(port, frag):
    payload = bytes(i % 253 for i in range(LIMIT))
    r = Raw(port)
    data = b"".join(frame(BINARY if i == 0 else CONT, payload[i:i + frag], fin=(i + frag >= LIMIT))
                    for i in range(0, LIMIT, frag))
    r.send(data)
    assert r.recv_message() == (BINARY, payload)
    r.close()


@pytest.mark.parametrize("opcode", [TEXT, BINARY])
def test_one_byte_over_the_limit(port, opcode):
    r = Raw(port)
    r.send(frame(opcode, b"*" * (LIMIT + 1)), refused_ok=True)
    assert r.expect_close() == 1009


def test_fragments_adding_up_past_the_limit(port):
    r = Raw(port)
    half = b"*" * (LIMIT // 2)
    r.send(frame(TEXT, half, fin=False) + frame(CONT, half, fin=False) + frame(CONT, b"!"), refused_ok=True)
    assert r.expect_close() == 1009


def test_declared_length_is_checked_before_reading(port):
    """Only the header of a 2^40-byte frame is sent; the server must answer 1009 without waiting for it."""
    r = Raw(port)
    r.send(bytes([0x82, 0x80 | 127]) + struct.pack("!Q", 1 << 40) + b"\x01\x02\x03\x04")
    assert r.expect_close() == 1009


def test_64_bit_length_with_top_bit_set(port):
    r = Raw(port)
    r.send(bytes([0x82, 0x80 | 127]) + struct.pack("!Q", 1 << 63) + b"\x01\x02\x03\x04")
    assert r.expect_close() == 1002


def test_unmasked_client_frame(port):
    r = Raw(port)
    r.send_frame(TEXT, b"not masked", mask=False)
    assert r.expect_close() == 1002


def test_many_messages_in_one_write(port):
    r = Raw(port)
    r.send(b"".join(frame(TEXT, b"msg %d" % i) for i in range(1000)))
    for i in range(1000):
        assert r.recv_message() == (TEXT, b"msg %d" % i)
    r.close()
